"""``inkpaint demo``: the whole product on a small generated shot, with no downloaded weights.

Two demos, each a run of the real jobs (built here, run through :func:`inkpaint.ops.base.run_job`, saved as job
specs that ``inkpaint run`` reruns):

- **Rotoscope to cels** (``--what cel``; seed 000): a scene-linear EXR plate of a figure of six parts (hair, head,
  torso, left and right arm, legs; ellipsoids and capsules, Lambert-shaded by a light from the upper left, swaying
  and drifting) over a textured wall; on frame 1 a box and a few clicks per part (``prompts.json``: include clicks
  on the part, exclude clicks on the other parts inside its box); the ``cel`` job runs roto (classic
  backend) -> shade -> ink -> finish with a small design sheet (``palette.yml``) and composites the cels over the
  clean plate (``plate/background.exr``). ``--what roto`` runs only the roto stage.
- **Paint bucket** (``--what paint``; seed 002): line art of the same figure (black part lines, a blue shadow line,
  a 3 px gap in the left leg's outline), frame 1 painted by hand (``line/key.0001.png``); the ``paint`` job carries its colours
  through the shot and writes the QC overlays.

Everything lands in ``--out-dir`` (default ``./inkpaint-demo``)::

    .inkpaint-demo            ownership marker: the demo made this folder
    plate/demo.####.exr       plate (scene-linear)       plate/background.exr   clean plate
    prompts.json palette.yml  the clicks and the design sheet
    roto/ tone/ ink/ cel/     the cel job's stages (demo.####.exr each)
    line/demo.####.png        line art                   line/key.0001.png      the painted keyframe
    paint/demo.####.png       painted frames (+ .lines.png, .labels.png, .segments.json, .qc.png)
    jobs/*.json               the job specs: ``inkpaint run jobs/<stage>.json`` reruns a stage
    contact_sheet.png         one picture of it all (columns plate | parts | ink | tones | cel | line art | painted | QC)

Folder safety: the demo writes only into a folder it made. A missing or empty folder gets the marker file first;
a non-empty folder without the marker is refused (nothing in it is touched). In its own folder a rerun resumes
(same jobs: nothing to redo) or replaces its own earlier results (other ``--frames``/``--size``): the jobs run
with ``overwrite`` and the demo's own frame files outside the new range are removed one by one. It never removes
a folder.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from . import __version__
from .errors import OutputError, SpecError
from .io.atomic import atomic_write_text, ensure_writable_dir
from .io.frames import read_channels, read_image, read_rgb, write_exr, write_png
from .io.sequence import FrameSequence
from .ops.base import JobResult, run_job
from .progress import RunContext, TerminalProgress
from .qc.contact_sheet import ContactSheet, part_tint, pick_frames, tint_parts, wrap_words
from .spec import JobSpec, OutputSettings, replace

MARKER = ".inkpaint-demo"
"""File the demo writes first into a folder it creates (or finds empty); without it a non-empty folder is refused."""

SHEET_NAME = "contact_sheet.png"
WHAT = ("roto", "cel", "paint", "all")

PARTS = ("hair", "head", "torso", "arm_l", "arm_r", "legs")
"""The figure's parts, in palette / prompts order (also the order of their tints on the contact sheet)."""

PALETTE: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {
    "hair": ((112, 74, 160), (68, 44, 116)),
    "head": ((252, 218, 196), (222, 164, 158)),
    "torso": ((232, 92, 84), (170, 52, 76)),
    "arm_l": ((246, 206, 180), (212, 150, 146)),
    "arm_r": ((246, 206, 180), (212, 150, 146)),
    "legs": ((74, 98, 172), (44, 58, 120)),
}
"""Design sheet: part -> (normal, shadow), 8-bit sRGB. The plate's albedos are the normal colours."""

LIGHT = np.array([-0.8, -0.4, 0.45], np.float32) / np.linalg.norm([-0.8, -0.4, 0.45])
"""Direction towards the light (x right, y down, z towards the camera): upper left, in front."""

SHADOW_LAMBERT = 0.22
"""Lambert term under which the line art's toon shadow starts (where its blue line is drawn)."""

GAP_RADIUS = 1.5
"""Radius in pixels of the hole left in the line art's left-leg outline (the paint job's ``max_gap`` of 4 closes it;
without it the leg and the paper are one segment)."""

_DESIGN = (320.0, 240.0)  # the figure is laid out in these coordinates and scaled to the clip size


# ------------------------------------------------------------------------------------------------------------------
# the generated figure


def _ellipsoid(xs: np.ndarray, ys: np.ndarray, c: tuple[float, float], a: float, b: float, ang: float) -> tuple[np.ndarray, np.ndarray]:
    """Mask and unit normals of an ellipsoid seen along z (semi-axes ``a`` across, ``b`` along, depth ``min(a, b)``)."""
    ca, sa = math.cos(ang), math.sin(ang)
    dx, dy = xs - c[0], ys - c[1]
    u, v = ca * dx + sa * dy, -sa * dx + ca * dy
    r2 = (u / a) ** 2 + (v / b) ** 2
    z = np.sqrt(np.clip(1.0 - r2, 0.0, 1.0))
    nu, nv, nz = u / a**2, v / b**2, z / min(a, b)
    n = np.stack([ca * nu - sa * nv, sa * nu + ca * nv, nz], -1)
    n /= np.linalg.norm(n, axis=-1, keepdims=True) + 1e-9
    return r2 < 1.0, n


def _capsule(xs: np.ndarray, ys: np.ndarray, p0: tuple[float, float], p1: tuple[float, float], r: float) -> tuple[np.ndarray, np.ndarray]:
    """Mask and unit normals of a capsule (a limb) of radius ``r`` from ``p0`` to ``p1``."""
    px, py = p1[0] - p0[0], p1[1] - p0[1]
    t = np.clip(((xs - p0[0]) * px + (ys - p0[1]) * py) / (px * px + py * py), 0.0, 1.0)
    qx, qy = xs - (p0[0] + t * px), ys - (p0[1] + t * py)
    d2 = qx * qx + qy * qy
    z = np.sqrt(np.clip(r * r - d2, 0.0, None))
    return d2 < r * r, np.stack([qx, qy, z], -1) / r


def render_figure(
    t: float, size: tuple[int, int], supersample: int = 1, anchors: dict[str, list[tuple[float, float]]] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The figure at time ``t`` (0..1 over the clip): part labels and surface normals.

    Parts are drawn back to front (legs, torso, arms, head, hair). The figure sways about its hips, swings its arms
    and drifts to the right.

    Args:
        t: time in the clip, 0..1.
        size: clip ``(width, height)``.
        supersample: samples per pixel along each axis (the plate is rendered at 2 and area-filtered).
        anchors: if given, filled with points well inside each part's pieces (clip pixels, top-left origin), where
            the demo's prompts click.

    Returns:
        ``(labels, normals)``: ``(H*s, W*s)`` uint8 (0 background, ``1 + PARTS.index(part)``) and
        ``(H*s, W*s, 3)`` float32 unit normals.
    """
    w, h = size
    ss = supersample
    yy, xx = np.mgrid[0 : h * ss, 0 : w * ss].astype(np.float32)
    xs = (xx + 0.5) / ss * (_DESIGN[0] / w)  # design coordinates of the pixel centres
    ys = (yy + 0.5) / ss * (_DESIGN[1] / h)
    labels = np.zeros(xs.shape, np.uint8)
    normals = np.zeros(xs.shape + (3,), np.float32)
    normals[..., 2] = 1.0

    def put(part: str, shape: tuple[np.ndarray, np.ndarray], *points: tuple[float, float]) -> None:
        if anchors is not None:
            anchors.setdefault(part, []).extend((x * w / _DESIGN[0], y * h / _DESIGN[1]) for x, y in points)
        m, n = shape
        labels[m] = PARTS.index(part) + 1
        normals[m] = n[m]

    ph = 2.0 * math.pi * t
    shift = 24.0 * t  # drifts right
    sway = 0.10 * math.sin(ph)
    hip = (160.0 + shift, 152.0)
    ca, sa = math.cos(sway), math.sin(sway)

    def body(x: float, y: float) -> tuple[float, float]:  # a point of the upper body, swayed about the hips
        dx, dy = x + shift - hip[0], y - hip[1]
        return hip[0] + ca * dx - sa * dy, hip[1] + sa * dx + ca * dy

    for side in (-1, 1):
        foot = (160.0 + 0.6 * shift + 13 * side + 4 * math.sin(ph + side), 226.0)
        top = (hip[0] + 9 * side, hip[1] - 4)
        put("legs", _capsule(xs, ys, top, foot, 9.5), _along(top, foot, 0.3), _along(top, foot, 0.75))
    put("torso", _ellipsoid(xs, ys, body(160, 116), 25, 40, sway), body(160, 116), body(147, 120), body(173, 120),
        body(160, 92), body(160, 140))
    for side in (-1, 1):
        shoulder = body(160 + 22 * side, 88)
        ang = sway + side * (0.18 + 0.12 * math.sin(ph + 0.7 * side))
        hand = (shoulder[0] + 62 * math.sin(ang), shoulder[1] + 62 * math.cos(ang))
        put("arm_l" if side < 0 else "arm_r", _capsule(xs, ys, shoulder, hand, 7.5), _along(shoulder, hand, 0.55), _along(shoulder, hand, 0.9))
    head = body(160, 56)
    put("head", _ellipsoid(xs, ys, head, 18, 22, sway), body(160, 64), body(150, 62), body(170, 62))
    cap_m, cap_n = _ellipsoid(xs, ys, body(160, 48), 21, 19, sway)
    u = ca * (xs - head[0]) + sa * (ys - head[1])  # head-local coordinates
    v = -sa * (xs - head[0]) + ca * (ys - head[1])
    put("hair", (cap_m & (v < -4 + 5 * np.cos(u / 5.0)), cap_n), body(160, 40), body(147, 44), body(173, 44))  # a cap with a wavy fringe
    return labels, normals


def _along(p0: tuple[float, float], p1: tuple[float, float], f: float) -> tuple[float, float]:
    return p0[0] + f * (p1[0] - p0[0]), p0[1] + f * (p1[1] - p0[1])


def _background(size: tuple[int, int]) -> np.ndarray:
    """The clean plate: a planked wall over a tiled floor, with grain. ``(H, W, 3)`` float32 scene-linear."""
    w, h = size
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    xs, ys = xx * (_DESIGN[0] / w), yy * (_DESIGN[1] / h)
    grain = np.sin(xs / 9.0)
    wall = np.stack([0.16 + 0.03 * grain, 0.20 + 0.03 * grain, 0.22 + 0.02 * np.cos(ys / 23.0)], -1)
    wall += (np.floor(xs / 26.0) % 2)[..., None] * np.array([0.02, 0.015, 0.0], np.float32)
    tiles = (0.8 + 0.2 * (np.floor(xs / 20.0 + ys / 8.0) % 2))[..., None]
    floor = np.array([0.25, 0.2, 0.15], np.float32) * tiles
    bg = np.where((ys > 205)[..., None], floor, wall)
    bg *= (1.0 - 0.35 * ((xs - 160.0) / 320.0) ** 2)[..., None]  # vignette
    bg += rng.normal(0.0, 0.006, bg.shape)
    return np.clip(bg, 0.0, None).astype(np.float32)


def _srgb_to_linear(rgb8: Sequence[int]) -> np.ndarray:
    c = np.asarray(rgb8, np.float64) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).astype(np.float32)


def _unchanged(path: str, pixels: np.ndarray, scale: float = 1.0) -> bool:
    """Whether ``path`` already holds exactly these pixels (times ``scale``: 255 for 8-bit) (an earlier run's same input: it is not rewritten, so
    jobs that track their inputs' file times, like paint, see nothing new and resume)."""
    if not os.path.isfile(path):
        return False
    try:
        old = read_image(path).pixels
    except Exception:
        return False
    if scale != 1.0:
        old = np.rint(old * scale)
    return old.shape == pixels.shape and bool(np.array_equal(old, pixels))


_LINEAR_TAG = {"oiio:ColorSpace": "lin_rec709_scene"}
"""The demo's plates are Linear Rec.709 values: tagged, so ``auto`` does not read them in an ACES config's
scene_linear role (ACEScg)."""


def _write_exr_input(path: str, rgb: np.ndarray) -> None:
    """Write a scene-linear RGB EXR (half) unless the file already holds the same pixels."""
    half = rgb.astype(np.float16).astype(np.float32)
    if not _unchanged(path, half):
        write_exr(path, {c: rgb[..., k] for k, c in enumerate("RGB")}, metadata=_LINEAR_TAG)


def _write_png_input(path: str, rgb8: np.ndarray) -> None:
    """Write an 8-bit RGB PNG unless the file already holds the same pixels."""
    if not _unchanged(path, rgb8, 255.0):
        write_png(path, rgb8)


def _write_text_input(path: Path, text: str) -> None:
    try:
        if path.read_text(encoding="utf-8") == text:
            return
    except OSError:
        pass
    atomic_write_text(path, text)


def _times(frames: int) -> list[float]:
    return [i / max(frames - 1, 1) for i in range(frames)]


def make_plate(folder: Path, frames: int, size: tuple[int, int]) -> tuple[str, str]:
    """Write the plate (``plate/demo.####.exr``, frames 1..``frames``, scene-linear RGB) and the clean plate.

    The figure is rendered at 2x2 samples per pixel and area-filtered (anti-aliased edges); shading is Lambert from
    :data:`LIGHT` plus ambient, so each part has a lit side and a soft shadow side for the tones to find.

    Returns:
        ``(plate pattern, background path)``.
    """
    w, h = size
    bg = _background(size)
    albedo = np.zeros((len(PARTS) + 1, 3), np.float32)
    for i, p in enumerate(PARTS):
        albedo[i + 1] = _srgb_to_linear(PALETTE[p][0])
    pattern = str(folder / "plate" / "demo.####.exr")
    seq = FrameSequence.parse(pattern)
    for i, t in enumerate(_times(frames)):
        labels, normals = render_figure(t, size, supersample=2)
        light = 0.2 + 0.9 * np.clip(normals @ LIGHT, 0.0, 1.0)
        fig = cv2.resize(albedo[labels] * light[..., None], (w, h), interpolation=cv2.INTER_AREA)
        cover = cv2.resize((labels > 0).astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)[..., None]
        img = fig + bg * (1.0 - cover)
        _write_exr_input(seq.path(i + 1), img)
    background = str(folder / "plate" / "background.exr")
    _write_exr_input(background, bg)
    return pattern, background


def make_prompts(folder: Path, size: tuple[int, int]) -> str:
    """Write ``prompts.json``: on frame 1, a box around each part, include clicks spread over it, and exclude clicks
    where another part's include clicks fall inside the box (as a user would prompt).

    Clicks sit on the visible pixel (2 px inside the part) nearest each anchor point :func:`render_figure` gives
    (centre and sides of the torso, head and hair; two points along each limb); the box is the part's bounding box
    with a few pixels to spare. The arms are two parts: one box around both arms would hold the whole torso, which
    the classic backend's GrabCut keyframe then takes for arm.
    """
    anchors: dict[str, list[tuple[float, float]]] = {}
    labels, _ = render_figure(0.0, size, anchors=anchors)
    w, h = size
    pad = max(3, round(0.015 * w))
    centres: list[list[tuple[int, int]]] = []
    boxes = []
    for i, part in enumerate(PARTS):
        m = (labels == i + 1).astype(np.uint8)
        ys, xs = np.nonzero(m)
        boxes.append([max(0, int(xs.min()) - pad), max(0, int(ys.min()) - pad), min(w, int(xs.max()) + 1 + pad), min(h, int(ys.max()) + 1 + pad)])
        inner = cv2.distanceTransform(m, cv2.DIST_L2, 3) >= 2.0  # clicks stay 2 px inside the part's visible pixels
        iy, ix = np.nonzero(inner if inner.any() else m)
        pts = []
        for ax, ay in anchors[part]:  # the visible pixel nearest each anchor
            k = int(np.argmin((ix - ax) ** 2 + (iy - ay) ** 2))
            if (int(ix[k]), int(iy[k])) not in pts:
                pts.append((int(ix[k]), int(iy[k])))
        centres.append(pts)
    objects = []
    for i, part in enumerate(PARTS):
        x0, y0, x1, y1 = boxes[i]
        points = [[x, y, 1] for x, y in centres[i]]
        points += [[x, y, 0] for j in range(len(PARTS)) if j != i for x, y in centres[j] if x0 <= x < x1 and y0 <= y < y1]
        objects.append({"name": part, "prompts": [{"frame": 1, "box": boxes[i], "points": points}]})
    path = folder / "prompts.json"
    _write_text_input(path, json.dumps({"objects": objects}, indent=2) + "\n")
    return str(path)


def make_palette(folder: Path) -> str:
    """Write the design sheet ``palette.yml`` (inkpaint palette format: a normal and a shadow colour per part)."""
    lines = [
        "# inkpaint demo design sheet: per part a normal (lit) and a shadow colour, 8-bit sRGB (docs/cel.md)",
        "inkpaint_palette: 1",
        "ink: [36, 24, 40]",
        "parts:",
    ]
    for part in PARTS:
        normal, shadow = PALETTE[part]
        lines.append(f"  {part}: {{normal: {list(normal)}, shadow: {list(shadow)}}}")
    path = folder / "palette.yml"
    _write_text_input(path, "\n".join(lines) + "\n")
    return str(path)


def _toon(t: float, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Part labels and a hard toon shadow (``True`` where the Lambert term is under :data:`SHADOW_LAMBERT`)."""
    labels, normals = render_figure(t, size)
    return labels, (labels > 0) & ((normals @ LIGHT) < SHADOW_LAMBERT)


def _edges(a: np.ndarray) -> np.ndarray:
    """Pixels with a 4-neighbour of another value (both sides of every boundary: 2 px lines that always close)."""
    e = np.zeros(a.shape, bool)
    d = a[1:, :] != a[:-1, :]
    e[1:, :] |= d
    e[:-1, :] |= d
    d = a[:, 1:] != a[:, :-1]
    e[:, 1:] |= d
    e[:, :-1] |= d
    return e


def make_line_art(folder: Path, frames: int, size: tuple[int, int]) -> tuple[str, str, np.ndarray]:
    """Write the paint demo's line art (``line/demo.####.png``) and its hand-painted keyframe (``line/key.0001.png``).

    Black lines where the part changes (the silhouette included), blue lines (0, 0, 255) where the toon shadow
    starts, on white; a 3 px gap half-way down the left leg's outline (``max_gap`` closes it). The keyframe is frame 1
    filled with the design sheet's colours (normal / shadow per part), white paper.

    Returns:
        ``(line pattern, keyframe path, key colours)``; key colours ``(K, 3)`` uint8, the paper included.
    """
    pattern = str(folder / "line" / "demo.####.png")
    seq = FrameSequence.parse(pattern)
    lut = np.full((len(PARTS) + 1, 2, 3), 255, np.uint8)
    for i, p in enumerate(PARTS):
        lut[i + 1, 0], lut[i + 1, 1] = PALETTE[p]
    key = ""
    for i, t in enumerate(_times(frames)):
        labels, shadow = _toon(t, size)
        black = _edges(labels)
        blue = _edges(shadow.astype(np.uint8) + 2 * labels) & ~black
        legs = PARTS.index("legs") + 1
        ys, xs = np.nonzero(black & (labels == legs) & (np.roll(labels, 2, axis=1) == 0))  # the legs' left outline
        if len(xs):  # the artist's unclosed stroke: the outline left open half-way down the left leg
            k = int(np.argmin(np.abs(ys - (ys.min() + ys.max()) / 2) + 100 * (xs > np.median(xs))))
            yy, xx = np.ogrid[: black.shape[0], : black.shape[1]]
            black &= (yy - ys[k]) ** 2 + (xx - (xs[k] - 0.5)) ** 2 > GAP_RADIUS**2
        img = np.full(labels.shape + (3,), 255, np.uint8)
        img[blue] = (0, 0, 255)
        img[black] = (0, 0, 0)
        _write_png_input(seq.path(i + 1), img)
        if i == 0:
            key = str(folder / "line" / "key.0001.png")
            _write_png_input(key, lut[labels, shadow.astype(np.intp)])
    return pattern, key, np.unique(lut.reshape(-1, 3), axis=0)


def make_clip(folder: Path, frames: int = 24, size: tuple[int, int] = (320, 240)) -> tuple[str, str]:
    """Write a scene-linear EXR clip of two moving objects (``ball``, ``block``) over a textured background, and its
    prompts file: the small roto clip the tests use (the demo itself uses :func:`make_plate`).

    Frames are numbered from 1 (``folder/plate/demo.####.exr``); only those frames and ``folder/prompts.json`` are
    written, nothing is removed.

    Returns:
        ``(plate pattern, prompts path)``.
    """
    if frames < 2:
        raise SpecError("--frames", f"the demo clip needs at least 2 frames, got {frames}")
    w, h = size
    if w < 64 or h < 48:
        raise SpecError("--size", f"the demo clip needs at least 64x48 pixels, got {w}x{h}")
    sx, sy = w / 320.0, h / 240.0
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    xs, ys = xx / sx, yy / sy  # design coordinates (320x240)
    bg = np.stack([0.18 + 0.05 * np.sin(xs / 17.0), 0.2 + 0.04 * np.cos(ys / 11.0), 0.22 + 0.0 * xs], axis=-1)
    bg += rng.normal(0, 0.01, bg.shape).astype(np.float32)
    plate_dir = folder / "plate"
    plate_dir.mkdir(parents=True, exist_ok=True)
    seq = FrameSequence.parse(str(plate_dir / "demo.####.exr"))
    for f in range(frames):
        t = f / max(frames - 1, 1)
        img = bg.copy()
        cx, cy, r = 80 + 140 * t, 120 + 30 * np.sin(6.28 * t), 38
        ball = (xs - cx) ** 2 + (ys - cy) ** 2 < r * r
        img[ball] = (0.8, 0.15, 0.05)
        # The block drifts up and right; the ball passes below it without covering it.
        bx0, by0 = int(210 + 40 * t), int(40 - 30 * t)
        box = (xs >= bx0) & (xs < bx0 + 60) & (ys >= by0) & (ys < by0 + 50) & ~ball
        img[box] = (0.05, 0.3, 0.7)
        write_exr(seq.path(f + 1), {c: img[..., i] for i, c in enumerate("RGB")}, metadata=_LINEAR_TAG)

    def pt(x: float, y: float) -> list[float]:
        return [round(x * sx, 1), round(y * sy, 1)]

    prompts = {
        "objects": [
            {"name": "ball", "prompts": [{"frame": 1, "points": [pt(80, 120) + [1]]}, {"frame": 1, "box": pt(36, 76) + pt(124, 164)}]},
            {"name": "block", "prompts": [{"frame": 1, "box": pt(206, 36) + pt(274, 94)}, {"frame": 1, "points": [pt(240, 65) + [1]]}]},
        ]
    }
    ppath = folder / "prompts.json"
    atomic_write_text(ppath, json.dumps(prompts, indent=2) + "\n")
    return str(plate_dir / "demo.####.exr"), str(ppath)


# ------------------------------------------------------------------------------------------------------------------
# the folder


def claim_folder(folder: Path) -> None:
    """Make ``folder`` the demo's: create it (or take it when empty) and write the marker first.

    Raises:
        OutputError: ``folder`` is not empty and has no marker (not the demo's: nothing is written or removed), or
            it is a file or a symbolic link.
    """
    if folder.is_symlink():
        raise OutputError(f"--out-dir '{folder}' is a symbolic link; give the demo a real folder")
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"--out-dir '{folder}' is a file, not a folder")
    marker = folder / MARKER
    if marker.is_file() and not marker.is_symlink():
        return
    if folder.is_dir() and any(folder.iterdir()):
        raise OutputError(
            f"--out-dir '{folder}' is not empty and was not made by inkpaint demo (no {MARKER} file in it); the demo "
            "writes only into a new or empty folder and never clears one. Give another --out-dir."
        )
    ensure_writable_dir(folder)
    atomic_write_text(marker, json.dumps({"made_by": "inkpaint demo", "version": __version__}) + "\n")


_FRAME_IN_NAME = re.compile(r"(?:^|\.)(\d{4,})\.")


def remove_stale_frames(folder: Path, frames: int) -> list[Path]:
    """In the demo's own folder, remove its frame files numbered outside ``1..frames`` (left by a longer demo).

    Only regular files directly inside the demo's stage folders whose names carry a frame number are touched;
    symbolic links and folders never are.

    Returns:
        The files removed.
    """
    if not (folder / MARKER).is_file():
        raise OutputError(f"'{folder}' is not the demo's folder (no {MARKER}); nothing is removed")
    removed = []
    for sub in ("plate", "roto", "tone", "ink", "cel", "line", "paint"):
        d = folder / sub
        if d.is_symlink() or not d.is_dir():
            continue
        for entry in d.iterdir():
            m = _FRAME_IN_NAME.search(entry.name)
            if m is None or 1 <= int(m.group(1)) <= frames or entry.is_symlink() or not entry.is_file():
                continue
            entry.unlink()
            removed.append(entry)
    return removed


# ------------------------------------------------------------------------------------------------------------------
# running


@dataclasses.dataclass
class DemoRun:
    """What one demo run made: the inputs, the jobs, their results and timings (seconds by stage)."""

    folder: Path
    frames: int
    size: tuple[int, int]
    what: str
    plate: str = ""
    background: str = ""
    prompts: str = ""
    palette: str = ""
    line: str = ""
    key: str = ""
    key_colours: np.ndarray | None = None
    jobs: dict[str, str] = dataclasses.field(default_factory=dict)
    results: dict[str, JobResult] = dataclasses.field(default_factory=dict)
    stage_jobs: dict[str, JobSpec] = dataclasses.field(default_factory=dict)
    timings: dict[str, float] = dataclasses.field(default_factory=dict)
    started: float = dataclasses.field(default_factory=time.perf_counter)
    scores: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def cel_parts(self) -> bool:
        return self.what in ("cel", "all")

    @property
    def roto(self) -> bool:
        return self.what in ("roto", "cel", "all")

    @property
    def paint(self) -> bool:
        return self.what in ("paint", "all")


def _save(run: DemoRun, name: str, job: JobSpec) -> None:
    """Save a job spec as ``jobs/<name>.json`` (with ``overwrite`` off, as a user would run it)."""
    path = run.folder / "jobs" / f"{name}.json"
    path.parent.mkdir(exist_ok=True)
    oo = getattr(job, "output_options", None)
    saved = replace(job, output_options=replace(oo, overwrite=False)) if oo is not None else job
    saved.save(path)
    run.jobs[name] = str(path)
    run.stage_jobs[name] = job


def _run(job: JobSpec, quiet: bool) -> JobResult:
    """Run a job as the CLI does: through ``run_job``, with the CLI's progress bars."""
    progress = None if quiet else TerminalProgress()
    try:
        return run_job(job, RunContext(progress=progress))
    finally:
        if progress is not None:
            progress.close()


def _timed(run: DemoRun, stage: str, fn: Callable[[], Any]) -> Any:
    t0 = time.perf_counter()
    try:
        return fn()
    finally:
        run.timings[stage] = round(time.perf_counter() - t0, 2)


def run_demo(
    out_dir: str,
    frames: int = 12,
    quiet: bool = False,
    size: tuple[int, int] = (320, 240),
    what: str = "all",
) -> int:
    """Generate the demo shot in ``out_dir`` (relative to the current folder), run the jobs, draw the contact sheet,
    and print where everything is (the contact sheet's path last).

    Args:
        out_dir: the demo's folder (see :func:`claim_folder`).
        frames: clip length (>= 2).
        quiet: no progress bars.
        size: clip ``(width, height)`` (>= 96x72).
        what: ``roto``, ``cel``, ``paint`` or ``all``.

    Raises:
        SpecError: bad ``frames``/``size``/``what``.
        OutputError: ``out_dir`` is not the demo's (see :func:`claim_folder`).
    """
    from .ops.cel import CelJob
    from .ops.paint import PaintJob, PaintKey
    from .ops.roto import load_prompts

    if what not in WHAT:
        raise SpecError("--what", f"expected one of {', '.join(WHAT)}, got {what!r}")
    if frames < 2:
        raise SpecError("--frames", f"the demo clip needs at least 2 frames, got {frames}")
    w, h = size
    if w < 96 or h < 72:
        raise SpecError("--size", f"the demo clip needs at least 96x72 pixels, got {w}x{h}")
    folder = Path(out_dir).expanduser().absolute()
    run = DemoRun(folder, frames, size, what)
    claim_folder(folder)
    removed = remove_stale_frames(folder, frames)
    overwrite = OutputSettings(overwrite=True)  # the demo's own folder: its earlier results are its own to replace
    rng = f"1-{frames}"

    if run.roto:
        def inputs() -> None:
            run.plate, run.background = make_plate(folder, frames, size)
            run.prompts = make_prompts(folder, size)
            run.palette = make_palette(folder)

        _timed(run, "plate", inputs)
        cel = CelJob(
            input=run.plate, objects=load_prompts(run.prompts), palette=run.palette, out_dir=str(folder), frames=rng,
            over=run.background, output_options=overwrite,
        )
        roto, shade, ink, finish = cel.stages()
        assert roto is not None
        _save(run, "roto", roto)
        if run.cel_parts:
            _save(run, "shade", shade)
            _save(run, "ink", ink)
            _save(run, "finish", finish)
            _save(run, "cel", cel)
            res = _timed(run, "cel", lambda: _run(cel, quiet))
            run.results["cel"] = res
            for stage, info in res.summary.get("stages", {}).items():
                if info.get("seconds") is not None:
                    run.timings[stage] = round(float(info["seconds"]), 2)
        else:
            run.results["roto"] = _timed(run, "roto", lambda: _run(roto, quiet))
    if run.paint:
        def line_art() -> None:
            run.line, run.key, run.key_colours = make_line_art(folder, frames, size)
            if not run.palette:
                run.palette = make_palette(folder)

        _timed(run, "line art", line_art)
        paint = PaintJob(
            input=run.line, output=str(folder / "paint" / "demo.####.png"), keys=[PaintKey(frame=1, image=run.key)],
            palette=run.palette, frames=rng, max_gap=4, output_options=overwrite,
        )
        _save(run, "paint", paint)
        run.results["paint"] = _timed(run, "paint", lambda: _run(paint, quiet))

    run.scores = _timed(run, "scoring", lambda: score(run))
    sheet_path = str(folder / SHEET_NAME)
    _timed(run, "sheet", lambda: _write_sheet(build_sheet(run), sheet_path, run))
    run.timings["total"] = round(time.perf_counter() - run.started, 2)
    _print_summary(run, sheet_path, removed)
    return 0


# ------------------------------------------------------------------------------------------------------------------
# the contact sheet


def _stage_pattern(run: DemoRun, stage: str) -> str:
    job = run.stage_jobs[stage]
    return str(getattr(job, "output"))  # noqa: B009 - every stage job has `output`; JobSpec (the dict's type) does not


def _part_labels(mattes: dict[str, np.ndarray]) -> np.ndarray:
    """``(H, W)`` int: 1 + index of the part with the largest matte value where it is >= 0.5, else 0."""
    stack = np.stack([mattes[f"{p}.A"] for p in PARTS])
    lab = np.argmax(stack, axis=0) + 1
    lab[stack.max(axis=0) < 0.5] = 0
    return lab


def _tone_image(labels: np.ndarray, tone: np.ndarray) -> np.ndarray:
    """Tone regions in each part's tint: base as is, shadow darker, highlight lighter, outside dark grey."""
    tints = np.concatenate([np.full((1, 3), 0.12, np.float32), np.stack([part_tint(i) for i in range(len(PARTS))])])
    scale = np.array([1.0, 0.9, 0.42, 1.0, 0.25], np.float32)[np.clip(tone.astype(np.intp), 0, 4)]
    img = tints[labels] * scale[..., None]
    hi = tone.astype(np.intp) == 3
    img[hi] = 0.5 * img[hi] + 0.5
    img[labels == 0] = 0.12
    return img


def _caption(img: np.ndarray, lines: Sequence[str], *, top: bool = False) -> np.ndarray:
    """Text on a dark band at the bottom (or top) of a cell image."""
    out = np.array(img, np.float32, copy=True)
    h = out.shape[0]
    band = 15 * len(lines) + 4
    y0 = 0 if top else h - band
    out[y0 : y0 + band] *= 0.35
    u8 = np.ascontiguousarray(np.rint(np.clip(out, 0, 1) * 255).astype(np.uint8))
    for k, text in enumerate(lines):
        cv2.putText(u8, text, (4, y0 + 14 + 15 * k), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (240, 240, 240), 1, cv2.LINE_AA)
    return u8.astype(np.float32) / 255.0


def _clicks_image(run: DemoRun) -> np.ndarray:
    """Frame 1 of the plate with the prompts' clicks drawn as dots in each part's tint."""
    img = read_rgb(FrameSequence.parse(run.plate).path(1), frame=1)
    u8 = np.ascontiguousarray(np.rint(img * 255).astype(np.uint8))
    objects = json.loads(Path(run.prompts).read_text(encoding="utf-8"))["objects"]
    for i, obj in enumerate(objects):
        colour = tuple(int(round(255 * c)) for c in part_tint(i))
        for pr in obj["prompts"]:
            if pr.get("box"):
                x0, y0, x1, y1 = (int(v) for v in pr["box"])
                cv2.rectangle(u8, (x0, y0), (x1 - 1, y1 - 1), colour, 1)
            for x, y, label in pr.get("points", []):
                if label:
                    cv2.circle(u8, (int(x), int(y)), 4, (0, 0, 0), -1, cv2.LINE_AA)
                    cv2.circle(u8, (int(x), int(y)), 3, colour, -1, cv2.LINE_AA)
    return _caption(u8.astype(np.float32) / 255.0, ["input: a box and clicks per part", "(prompts.json, frame 1)"])


def _palette_image(run: DemoRun) -> np.ndarray:
    """The design sheet as swatches: one row per part, its normal and shadow colours."""
    w, h = run.size
    img = np.full((h, w, 3), 0.12, np.float32)
    u8 = np.ascontiguousarray(np.rint(img * 255).astype(np.uint8))
    cv2.putText(u8, "design sheet (palette.yml)", (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (240, 240, 240), 1, cv2.LINE_AA)
    cv2.putText(u8, "normal  shadow", (w // 2 - 4, 34), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (200, 200, 200), 1, cv2.LINE_AA)
    row_h = max(12, (h - 44) // len(PARTS))
    sw = max(16, (w - (w // 2)) // 2 - 6)
    for i, part in enumerate(PARTS):
        y = 40 + i * row_h
        tint = tuple(int(round(255 * c)) for c in part_tint(i))
        cv2.rectangle(u8, (6, y + 2), (14, y + row_h - 4), tint, -1)
        cv2.putText(u8, part, (20, y + row_h // 2 + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (240, 240, 240), 1, cv2.LINE_AA)
        for k, colour in enumerate(PALETTE[part]):
            x = w // 2 - 4 + k * (sw + 4)
            cv2.rectangle(u8, (x, y + 1), (x + sw, y + row_h - 3), tuple(int(c) for c in colour), -1)
    return u8.astype(np.float32) / 255.0


COLUMN_NOTES: dict[str, tuple[str, str]] = {
    "parts (roto)": ("roto", "one matte per part (EXR channels <part>.A), tracked through the shot from the frame-1 "
                     "prompts by the classic backend (no weights)"),
    "ink": ("ink", "lines drawn from the mattes where parts meet and at the silhouette (ink.A), as wide at any "
            "resolution"),
    "tones (shade)": ("shade", "each part split into base and shadow by lightness in the plate; thresholds fitted "
                      "once per shot, so tones do not flicker"),
    "painted": ("paint", "each frame's line-enclosed segments filled with the keyframe's colours, carried by optical "
                "flow; the blue line keeps shadow apart; max_gap closes the gap in the left leg's outline"),
    "QC": ("QC overlay", "the fill over the lines; yellow: low confidence (look here first); magenta stripes: left "
           "unpainted ({unpainted} here)"),
}
"""Short notes on what each column shows, drawn in the sheet's first row where the column has no input to show."""


def _note_image(size: tuple[int, int], title: str, body: str) -> np.ndarray:
    """A dark cell with a title and a wrapped note (the sheet's first row)."""
    w, h = size
    u8 = np.full((h, w, 3), 31, np.uint8)
    cv2.putText(u8, title, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (240, 240, 240), 1, cv2.LINE_AA)
    per_line = max(12, int(w / 7.6))
    lines = wrap_words(body, per_line)
    for k, line in enumerate(lines):
        y = 46 + 18 * k
        if y > h - 4:
            break
        cv2.putText(u8, line, (8, y), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (205, 205, 205), 1, cv2.LINE_AA)
    return u8.astype(np.float32) / 255.0


def _over_white(path: str, frame: int) -> np.ndarray:
    """An RGBA (or RGB) PNG composited over white paper, ``(H, W, 3)``."""
    img = read_image(path, frame=frame)
    px = img.pixels
    if px.shape[2] >= 4:
        a = px[..., 3:4]
        return px[..., :3] * a + (1.0 - a)  # straight alpha
    return px[..., :3]


def _painted_image(run: DemoRun, frame: int) -> np.ndarray:
    """The painted fill over white with the paint job's line layer on top."""
    job = run.stage_jobs["paint"]
    fill = _over_white(FrameSequence.parse(job.output).path(frame), frame)  # type: ignore[attr-defined]
    lines_pat = job.side_pattern("lines")  # type: ignore[attr-defined]
    if lines_pat:
        p = FrameSequence.parse(lines_pat).path(frame)
        if os.path.exists(p):
            li = read_image(p, frame=frame).pixels
            if li.shape[2] >= 4:
                a = li[..., 3:4]
                fill = fill * (1.0 - a) + li[..., :3] * a
            else:
                fill = fill * li[..., :3]
    return fill


def sheet_columns(what: str) -> list[str]:
    """The contact sheet's columns for ``--what``."""
    cols: list[str] = []
    if what in ("roto", "cel", "all"):
        cols += ["plate", "parts (roto)"]
    if what in ("cel", "all"):
        cols += ["ink", "tones (shade)", "cel (finish)"]
    if what in ("paint", "all"):
        cols += ["line art", "painted", "QC"]
    return cols


def build_sheet(run: DemoRun, rows: int = 4) -> ContactSheet:
    """The demo's contact sheet: an inputs row, then ``rows`` frames, timings and rerun commands underneath.

    Columns: plate | parts | ink | tones | cel (rotoscope to cels) and line art | painted | QC (paint bucket), as
    far as ``run.what`` goes. Cells are the clip's size (``cell_width`` = its width), so flat colours keep their
    exact values on the sheet.
    """
    cols = sheet_columns(run.what)
    title = {
        "all": "inkpaint demo: rotoscope to cels (plate > parts > ink > tones > cel) and paint bucket (line art > painted > QC)",
        "cel": "inkpaint demo: rotoscope to cels (plate > parts > ink > tones > cel)",
        "roto": "inkpaint demo: rotoscope (plate > parts)",
        "paint": "inkpaint demo: paint bucket (line art > painted > QC)",
    }[run.what]
    sheet = ContactSheet(title, cols, cell_width=run.size[0])
    idx = {c: i for i, c in enumerate(cols)}

    inputs: list[np.ndarray | None] = [None] * len(cols)
    if run.roto:
        inputs[idx["plate"]] = _clicks_image(run)
    if run.cel_parts:
        inputs[idx["cel (finish)"]] = _palette_image(run)
    if run.paint:
        key = read_rgb(run.key)
        inputs[idx["line art"]] = _caption(key, ["input: frame 1 painted", "by hand (line/key.0001.png)"])
    paint_summary = run.results["paint"].summary if "paint" in run.results else {}
    for name, (note_title, note) in COLUMN_NOTES.items():
        if name in idx and inputs[idx[name]] is None:
            inputs[idx[name]] = _note_image(run.size, note_title, note.format(unpainted=paint_summary.get("unpainted_segments", 0)))
    sheet.add(inputs, "start here")

    frames = pick_frames(range(1, run.frames + 1), rows)
    per_frame = paint_summary.get("per_frame", {})
    for f in frames:
        cells: list[np.ndarray | None] = [None] * len(cols)
        flag = None
        if run.roto:
            plate = read_rgb(FrameSequence.parse(run.plate).path(f), frame=f)
            mattes = read_channels(FrameSequence.parse(_stage_pattern(run, "roto")).path(f), [f"{p}.A" for p in PARTS], frame=f)
            cells[idx["plate"]] = plate
            cells[idx["parts (roto)"]] = tint_parts(plate, [mattes[f"{p}.A"] for p in PARTS])
            if run.cel_parts:
                ink = read_channels(FrameSequence.parse(_stage_pattern(run, "ink")).path(f), ["ink.A"], frame=f)["ink.A"]
                cells[idx["ink"]] = np.repeat(1.0 - np.clip(ink, 0, 1)[..., None], 3, axis=2)
                tone = read_channels(FrameSequence.parse(_stage_pattern(run, "shade")).path(f), ["tone"], frame=f)["tone"]
                cells[idx["tones (shade)"]] = _tone_image(_part_labels(mattes), np.rint(tone))
                cells[idx["cel (finish)"]] = read_rgb(FrameSequence.parse(_stage_pattern(run, "finish")).path(f), frame=f)
        if run.paint:
            job = run.stage_jobs["paint"]
            cells[idx["line art"]] = read_rgb(FrameSequence.parse(job.input).path(f), frame=f)  # type: ignore[attr-defined]
            cells[idx["painted"]] = _painted_image(run, f)
            qc = job.side_pattern("qc")  # type: ignore[attr-defined]
            if qc:
                cells[idx["QC"]] = read_rgb(FrameSequence.parse(qc).path(f), frame=f)
            counts = per_frame.get(str(f), {})
            if counts.get("unpainted"):
                flag = f"{counts['unpainted']} unpainted segment(s)"
        sheet.add(cells, f"frame {f}" + (" key" if run.paint and f == 1 else ""), flag)
    x_end = sheet.cell_box(0, len(cols) - 1)[0] + sheet.geometry()[0]
    per_line = max(40, int((x_end - 16) / 7.2))  # characters of the footer's font (Hershey, scale 0.4) that fit
    sheet.footer = [part for line in _footer(run) for part in _wrap(line, per_line)]
    return sheet


def _wrap(line: str, width: int) -> list[str]:
    """A footer line cut at word boundaries into lines of at most ``width`` characters (continuations indented)."""
    indent = line[: len(line) - len(line.lstrip(" "))]
    out: list[str] = []
    cur = indent
    for word in line.split():
        if cur.strip() and len(cur) + 1 + len(word) > width:
            out.append(cur)
            cur = indent + "    " + word
        else:
            cur = f"{cur} {word}" if cur.strip() else cur + word
    out.append(cur)
    return out


def _write_sheet(sheet: ContactSheet, path: str, run: DemoRun) -> None:
    """Write the sheet PNG and, beside it, ``contact_sheet.json``: its columns, per row the label and every cell's
    ``[x0, y0, w, h]`` box in the PNG (from :meth:`ContactSheet.cell_box`), the timings and the scores (:func:`score`),
    for tools and tests."""
    sheet.write(path)
    layout = {
        "image": os.path.basename(path),
        "columns": sheet.columns,
        "rows": [{"label": row.label, "cells": [list(sheet.cell_box(i, j)) for j in range(len(sheet.columns))]}
                 for i, row in enumerate(sheet.rows)],
        "timings": run.timings,
        "scores": run.scores,
    }
    atomic_write_text(os.path.splitext(path)[0] + ".json", json.dumps(layout, indent=1) + "\n")


def score(run: DemoRun) -> dict[str, Any]:
    """The results checked against the generator's own truth (the figure's part labels and toon shading).

    Returns:
        ``roto_iou``: part -> mean IoU over the frames of its matte (> 0.5) with the rendered part (pixel centres);
        ``paint_accuracy``: share of the figure's pixels off the lines whose painted colour is the one the hand-painted
        keyframe gives them (normal or shadow of their part), over every frame but the keyframe.
    """
    out: dict[str, Any] = {}
    times = _times(run.frames)
    if "cel" in run.results or "roto" in run.results:
        seq = FrameSequence.parse(_stage_pattern(run, "roto"))
        iou: dict[str, list[float]] = {p: [] for p in PARTS}
        for f, t in enumerate(times, start=1):
            labels, _ = render_figure(t, run.size)
            mattes = read_channels(seq.path(f), [f"{p}.A" for p in PARTS], frame=f)
            for i, part in enumerate(PARTS):
                m, g = mattes[f"{part}.A"] > 0.5, labels == i + 1
                union = int((m | g).sum())
                iou[part].append(float((m & g).sum()) / union if union else 1.0)
        out["roto_iou"] = {p: round(float(np.mean(v)), 3) for p, v in iou.items()}
    if "paint" in run.results:
        job = run.stage_jobs["paint"]
        fill_seq = FrameSequence.parse(job.output)  # type: ignore[attr-defined]
        line_seq = FrameSequence.parse(job.input)  # type: ignore[attr-defined]
        lut = np.zeros((len(PARTS) + 1, 2, 3), np.int32)
        for i, p in enumerate(PARTS):
            lut[i + 1, 0], lut[i + 1, 1] = PALETTE[p]
        right = total = 0
        for f, t in list(enumerate(times, start=1))[1:]:
            labels, shadow = _toon(t, run.size)
            ink = read_image(line_seq.path(f), frame=f).pixels[..., :3].min(axis=2) < 0.5
            where = (labels > 0) & ~ink
            px = np.rint(read_image(fill_seq.path(f), frame=f).pixels * 255).astype(np.int32)
            want = lut[labels, shadow.astype(np.intp)]
            ok = (px[..., 3] > 0) & (px[..., :3] == want).all(axis=2)
            right += int((ok & where).sum())
            total += int(where.sum())
        out["paint_accuracy"] = round(right / total, 4) if total else None
    return out


def _scores_line(run: DemoRun) -> str | None:
    parts = []
    if "roto_iou" in run.scores:
        iou = run.scores["roto_iou"]
        parts.append(f"roto IoU per part (mean over frames) {', '.join(f'{p} {v:.2f}' for p, v in iou.items())}")
    if run.scores.get("paint_accuracy") is not None:
        parts.append(f"paint: {100 * run.scores['paint_accuracy']:.1f} % of the figure's pixels off the lines painted the "
                     "keyframe's colour for them (frames after the keyframe)")
    return "Checked against the generator's own truth: " + "; ".join(parts) + "." if parts else None


def _resumed(run: DemoRun, name: str) -> str:
    """`` (already done)`` for a job of this run that had nothing left to write (a rerun resumed it)."""
    res = run.results.get(name)
    return " (already done)" if res is not None and not res.written and res.skipped else ""


def _footer(run: DemoRun) -> list[str]:
    t = run.timings
    lines = []
    if run.cel_parts:
        lines.append("Rotoscope to cels: a box and clicks per part on frame 1 -> roto mattes (classic backend, no weights) -> ink lines and "
                     "base/shadow tones (fitted once per shot) -> flat cels in the design sheet's colours, over the clean plate.")
    elif run.roto:
        lines.append("Rotoscope: a box and clicks per part on frame 1 -> per-part mattes tracked through the shot (classic backend, no weights).")
    if run.paint:
        lines.append("Paint bucket: line art (black part lines, a blue shadow line, a 3 px gap in the left leg's outline) and one painted keyframe -> every frame "
                     "painted with the keyframe's colours. QC: yellow = low confidence, magenta stripes = unpainted.")
    checked = _scores_line(run)
    if checked:
        lines.append(checked)
    parts = []
    if "plate" in t:
        parts.append(f"making the plate {t['plate']:.1f} s")
    if "cel" in t:
        fused = " / ".join(f"{k} {t[k]:.1f}" for k in ("shade", "ink", "finish") if k in t)
        parts.append(f"cel job {t['cel']:.1f} s (roto {t.get('roto', 0):.1f} s, then {fused} s fused in one pass)" + _resumed(run, "cel"))
    elif "roto" in t:
        parts.append(f"roto {t['roto']:.1f} s" + _resumed(run, "roto"))
    for k in ("line art", "paint"):
        if k in t:
            parts.append(f"{'making the line art' if k == 'line art' else k} {t[k]:.1f} s" + _resumed(run, k))
    lines.append(f"Timings ({run.frames} frames, {run.size[0]}x{run.size[1]}, {os.cpu_count()} CPUs): " + " | ".join(parts)
                 + f" | total {time.perf_counter() - run.started:.1f} s before drawing this sheet")
    lines.append(f"Rerun a stage from its saved job spec (in {run.folder}):")
    cmds = [f"inkpaint run jobs/{name}.json" for name in run.jobs]
    lines.append("    " + "  |  ".join(cmds))
    return lines


def _output_path(res: JobResult, path: str) -> str:
    """An output path of a job result, absolute (manifests may hold paths relative to themselves)."""
    if os.path.isabs(path) or not res.manifest:
        return path
    return os.path.join(os.path.dirname(res.manifest), path)


def _print_summary(run: DemoRun, sheet: str, removed: list[Path]) -> None:
    w, h = run.size
    lines = [f"inkpaint demo ({run.what}): {run.frames} frames at {w}x{h}, parts {', '.join(PARTS)}, classic roto backend",
             f"  folder:        {run.folder}"]
    if removed:
        lines.append(f"  removed {len(removed)} frame file(s) of an earlier, longer demo run in this folder")
    if run.roto:
        lines += [f"  plate:         {run.plate}", f"  background:    {run.background}", f"  prompts:       {run.prompts}",
                  f"  palette:       {run.palette}", f"  mattes:        {_stage_pattern(run, 'roto')}"]
    if run.cel_parts:
        lines += [f"  tones:         {_stage_pattern(run, 'shade')}", f"  ink:           {_stage_pattern(run, 'ink')}",
                  f"  cels:          {_stage_pattern(run, 'finish')}"]
    if run.paint:
        job = run.stage_jobs["paint"]
        lines += [f"  line art:      {run.line}", f"  keyframe:      {run.key}", f"  painted:       {job.output}",  # type: ignore[attr-defined]
                  f"  QC overlays:   {job.side_pattern('qc')}"]  # type: ignore[attr-defined]
    for name, res in run.results.items():
        lines.append(f"  {name}: written {len(res.written)} frame(s), {len(res.skipped)} already done, in {run.timings.get(name, 0):.1f} s")
    own = [str(Path(_output_path(res, v)))  # the jobs' own QC sheets (e.g. the cel job's), as the real commands write them
           for res in run.results.values() for k, v in res.outputs.items() if "contact" in k and isinstance(v, str)]
    if own:
        lines.append(f"  the jobs' own contact sheets: {', '.join(own)}")
    for name, path in run.jobs.items():
        lines.append(f"  rerun {name + ':':<8} inkpaint run {path}")
    checked = _scores_line(run)
    if checked:
        lines.append(f"  {checked}")
    lines.append(f"  total {run.timings.get('total', 0):.1f} s")
    lines.append(f"contact sheet: {sheet}")
    print("\n".join(lines))
    sys.stdout.flush()


__all__ = ["MARKER", "PALETTE", "PARTS", "SHEET_NAME", "DemoRun", "build_sheet", "claim_folder", "make_clip", "make_line_art",
           "make_palette", "make_plate", "make_prompts", "remove_stale_frames", "render_figure", "run_demo", "score", "sheet_columns"]
