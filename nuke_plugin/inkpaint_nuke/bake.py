"""Bake to Roto: the engine's per-frame outlines become a Roto node the compositor can edit.

One Bezier shape per island of each object (every outer outline, followed frame to frame by centroid), keyed on
every frame of the range; the Roto node is connected to the plate (the roto node's input) so it takes its format.
Holes are baked too: every hole outline of an object, followed frame to frame the same way, becomes a shape
``<object>_hole`` (``_hole_2`` ...) placed after the object's islands with its blending mode set to minus
(``Shape.getAttributes()`` -> ``AnimAttributes.kBlendingModeAttribute``), so it cuts the islands under it. That is
checked only against the fake nuke (see docs/nuke.md and :data:`HOLE_BLENDING_MODE`: the integer for "minus" comes
from a third-party exporter that reads real shapes, not from Foundry's reference). A Roto shape has the same number of control points on every key, while the engine's
outlines change length from frame to frame, so each frame's outline is resampled to a fixed count by arc length and its starting point rotated to
sit nearest the previous frame's, which keeps the points from swimming round the shape. Tangents are Catmull-Rom
(a smooth spline through the points). Frames where the object is absent hide the shape.

Coordinates: the engine's outlines are top-left-origin pixels; Nuke's are bottom-left (``y = height - y``).
Pure Python (no numpy), as Nuke's Python may not have it.
"""

from __future__ import annotations

import json
import math
import os
import re
from typing import Any

import nuke
import nuke.rotopaint as rp

from . import knobs
from .runner import InkpaintNukeError

Point = tuple[float, float]

HOLE_BLENDING_MODE = 12
"""Value written to a hole shape's ``kBlendingModeAttribute`` for Nuke's subtracting ("minus") blending mode.

Foundry's Python reference (nuke.curvelib.AnimAttributes, Nuke 16.0v4) names the attribute but not its values. The
evidence for 12: the public Nuke-to-Silhouette shape exporter magnoborgo/NukeFXSExporter (NukeFXSExporter.py) reads
real Roto shapes' ``getAttributes().getValue(0, 'bm')`` and maps ``{0: "Add", 12: "Subtract", 13: "Difference",
4: "Max", 5: "Inside"}`` onto Silhouette's modes, so Nuke's subtracting mode reads 12 and a default (over) shape 0.
(That also rules out an alphabetical enum, where over would not be 0.) Not yet checked in a running Nuke
(docs/nuke.md, "verified against the fake only")."""


def read_outlines(pattern: str, frames: tuple[int, int]) -> tuple[dict[int, dict[str, Any]], int]:
    """Load the contour JSON of each frame; returns ``({frame: data}, height)``.

    Raises:
        FileNotFoundError: no contour file was found for any frame.
    """
    from .pixels import PlateSource

    seq = PlateSource(pattern, "", None, False)
    out: dict[int, dict[str, Any]] = {}
    height = 0
    for f in range(frames[0], frames[1] + 1):
        path = seq.path(f)
        if not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        out[f] = data
        height = int(data.get("height", height))
    if not out:
        raise FileNotFoundError(f"no outline files for frames {frames[0]}-{frames[1]} at '{pattern}'; Track first")
    return out, height


def resample(points: list[Point], count: int) -> list[Point]:
    """``count`` points evenly spaced by arc length along the closed polygon ``points``."""
    n = len(points)
    seg = [math.dist(points[i], points[(i + 1) % n]) for i in range(n)]
    total = sum(seg)
    if total <= 0:
        return [points[0]] * count
    out: list[Point] = []
    i, acc = 0, 0.0
    for k in range(count):
        target = total * k / count
        while acc + seg[i] < target and i < n - 1:
            acc += seg[i]
            i += 1
        t = (target - acc) / seg[i] if seg[i] > 0 else 0.0
        a, b = points[i], points[(i + 1) % n]
        out.append((a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t))
    return out


def align(previous: list[Point], current: list[Point]) -> list[Point]:
    """Rotate ``current`` (same length) so its points sit nearest ``previous``'s."""
    n = len(current)
    best, best_err = 0, float("inf")
    for s in range(n):
        err = 0.0
        for k in range(0, n, max(1, n // 32)):
            px, py = previous[k]
            cx, cy = current[(k + s) % n]
            err += (px - cx) ** 2 + (py - cy) ** 2
        if err < best_err:
            best, best_err = s, err
    return current[best:] + current[:best]


def point_count(outlines: list[list[Point]], minimum: int = 16, maximum: int = 128) -> int:
    """Control points per shape: twice the most any frame's simplified outline has (resampling by arc length
    needs the slack to stay close to corners), within bounds."""
    return max(minimum, min(maximum, 2 * max((len(o) for o in outlines), default=minimum)))


def tangents(points: list[Point]) -> list[tuple[Point, Point]]:
    """Catmull-Rom left/right tangent offsets for a closed spline through ``points``."""
    n = len(points)
    out = []
    for i in range(n):
        prev, nxt = points[i - 1], points[(i + 1) % n]
        dx, dy = (nxt[0] - prev[0]) / 6.0, (nxt[1] - prev[1]) / 6.0
        out.append(((-dx, -dy), (dx, dy)))
    return out


def _centroid(points: list[Point]) -> Point:
    return (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))


def island_tracks(frames: dict[int, list[list[Point]]]) -> list[dict[int, list[Point]]]:
    """Split an object's outer outlines (frame -> outlines, largest first) into islands followed over the shot:
    each outline continues the island whose last centroid is nearest (within the object's size), else starts one."""
    tracks: list[dict[int, list[Point]]] = []
    last: list[Point] = []
    scale = 1.0
    for f in sorted(frames):
        used: set[int] = set()
        for pts in frames[f]:
            c = _centroid(pts)
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            scale = max(scale, max(xs) - min(xs), max(ys) - min(ys))
            best, best_d = -1, float("inf")
            for i, lc in enumerate(last):
                d = math.dist(lc, c)
                if i not in used and d < best_d:
                    best, best_d = i, d
            if best < 0 or best_d > scale:
                tracks.append({})
                last.append(c)
                best = len(tracks) - 1
            used.add(best)
            tracks[best][f] = pts
            last[best] = c
    return tracks


def _tracks(data: dict[int, dict[str, Any]], name: str, height: int, holes: bool) -> list[dict[int, list[Point]]]:
    """The object's outer outlines (``holes`` False) or its holes, followed over the shot, resampled and aligned."""
    per_frame: dict[int, list[list[Point]]] = {}
    for f in sorted(data):
        entries = [e for e in data[f].get("objects", {}).get(name, []) if bool(e.get("hole")) == holes and len(e.get("points", [])) >= 3]
        entries.sort(key=lambda e: -float(e.get("area", 0.0)))
        if entries:
            per_frame[f] = [[(float(x), height - float(y)) for x, y in e["points"]] for e in entries]
    out = []
    for raw in island_tracks(per_frame):
        count = point_count(list(raw.values()))
        keyed: dict[int, list[Point]] = {}
        prev: list[Point] | None = None
        for f in sorted(raw):
            cur = resample(raw[f], count)
            if prev is not None:
                cur = align(prev, cur)
            keyed[f] = cur
            prev = cur
        out.append(keyed)
    return out


def object_tracks(data: dict[int, dict[str, Any]], objects: list[str], height: int) -> dict[str, dict[int, list[Point]]]:
    """Per shape: frame -> resampled, aligned outline in Nuke coordinates (frames without it omitted).

    Every outer outline (island) of an object becomes a shape: the object's first island is named after the object,
    further islands ``<object>_2``, ``<object>_3`` ...; then its holes, ``<object>_hole``, ``<object>_hole_2`` ...
    (in that order: a hole comes after the islands it cuts). :func:`is_hole` tells the two apart by name.
    """
    tracks: dict[str, dict[int, list[Point]]] = {}
    for name in objects:
        for k, keyed in enumerate(_tracks(data, name, height, holes=False)):
            tracks[name if k == 0 else f"{name}_{k + 1}"] = keyed
        for k, keyed in enumerate(_tracks(data, name, height, holes=True)):
            tracks[f"{name}_hole" if k == 0 else f"{name}_hole_{k + 1}"] = keyed
    return tracks


def is_hole(shape_name: str, objects: list[str]) -> bool:
    """Whether ``shape_name`` (from :func:`object_tracks`) is a hole of one of ``objects``."""
    return any(re.fullmatch(re.escape(o) + r"_hole(_\d+)?", shape_name) for o in objects)


def bake(node: nuke.Node) -> nuke.Node:
    """Create a Roto node beside ``node`` with one keyed shape per object (main thread only).

    Raises:
        InkpaintNukeError: the node has no tracked results, or they are gone from the cache.
    """
    record = knobs.get_json(node, "inkpaint_results", {})
    if not record:
        raise InkpaintNukeError(f"{node.name()} has no tracked results; Track first")
    frames = (int(record["frames"][0]), int(record["frames"][1]))
    try:
        data, height = read_outlines(str(record["contours"]), frames)
    except FileNotFoundError as exc:
        raise InkpaintNukeError(f"{node.name()}: {exc}") from None
    tracks = object_tracks(data, list(record["objects"]), height)
    parent = node.parent() if hasattr(node, "parent") else nuke.root()
    with parent:
        roto = nuke.nodes.Roto(name=f"{node.name()}_shapes")
        roto.setXYpos(node.xpos() + 120, node.ypos())
        plate = node.input(0)
        if plate is not None:
            roto.setInput(0, plate)  # the Roto node takes the plate's format (and shows over it)
        roto["output"].setValue("alpha")
        curves = roto["curves"]
        assert isinstance(curves, rp.CurveKnob)
        for name, keyed in tracks.items():
            if not keyed:
                continue
            shape = rp.Shape(curves)
            shape.name = name
            count = len(next(iter(keyed.values())))
            for _ in range(count):
                shape.append(rp.ShapeControlPoint(0.0, 0.0))
            for f in sorted(keyed):
                pts = keyed[f]
                for i, ((lx, ly), (rx, ry)) in enumerate(tangents(pts)):
                    cp = shape[i]
                    cp.center.addPositionKey(f, rp.CVec2(pts[i][0], pts[i][1]))
                    cp.leftTangent.addPositionKey(f, rp.CVec2(lx, ly))
                    cp.rightTangent.addPositionKey(f, rp.CVec2(rx, ry))
            for f in range(frames[0], frames[1] + 1):
                shape.setVisible(f, f in keyed)
            if is_hole(name, list(record["objects"])):
                attrs = shape.getAttributes()  # a hole: blending mode minus cuts the islands appended before it
                attrs.set(attrs.kBlendingModeAttribute, HOLE_BLENDING_MODE)
            curves.rootLayer.append(shape)
        curves.changed()
    return roto
