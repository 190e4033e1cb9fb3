"""Outline geometry for Mask splines: coordinate mapping, resampling, frame-to-frame correspondence, handles.

Pure numpy (no bpy), so it runs inside Blender and in plain tests alike.

Coordinate systems:

- *engine pixels*: the contours JSON of :mod:`inkpaint.contours`; continuous pixels, origin at the top-left corner,
  the image spans ``0..width`` x ``0..height``.
- *frame coordinates*: Blender's normalised clip coordinates (what ``ED_clip_mouse_pos`` returns and what point
  prompts are stored in); ``0..1`` across the frame on both axes, origin at the bottom-left.
- *mask coordinates*: what ``MaskSplinePoint.co`` holds. Blender normalises masks to a square on the longer side
  of the (pixel-aspect corrected) frame, centred: for a landscape frame ``x = u`` and
  ``y = (v - 0.5) * h_eff / w + 0.5`` (``BKE_mask_coord_from_frame``); the rasteriser applies the inverse.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np


def effective_frame_size(width: int, height: int, aspect: tuple[float, float] = (1.0, 1.0)) -> tuple[float, float]:
    """The frame size Blender's mask mapping uses: the height scaled by ``aspect_y / aspect_x``.

    Args:
        width: clip width in pixels.
        height: clip height in pixels.
        aspect: the clip's pixel aspect, ``MovieClip.display_aspect`` (x, y).
    """
    ax, ay = float(aspect[0]), float(aspect[1])
    return float(width), float(height) * (ay / ax)


def frame_to_mask(uv: np.ndarray, width: int, height: int, aspect: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """Frame coordinates ``(N, 2)`` (0..1, bottom-left origin) to mask coordinates ``(N, 2)``."""
    uv = np.asarray(uv, np.float64).reshape(-1, 2)
    fw, fh = effective_frame_size(width, height, aspect)
    out = uv.copy()
    if fw > fh:
        out[:, 1] = (uv[:, 1] - 0.5) * (fh / fw) + 0.5
    elif fw < fh:
        out[:, 0] = (uv[:, 0] - 0.5) * (fw / fh) + 0.5
    return out


def mask_to_frame(co: np.ndarray, width: int, height: int, aspect: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """Inverse of :func:`frame_to_mask`."""
    co = np.asarray(co, np.float64).reshape(-1, 2)
    fw, fh = effective_frame_size(width, height, aspect)
    out = co.copy()
    if fw > fh:
        out[:, 1] = (co[:, 1] - 0.5) / (fh / fw) + 0.5
    elif fw < fh:
        out[:, 0] = (co[:, 0] - 0.5) / (fw / fh) + 0.5
    return out


def pixels_to_frame(points: np.ndarray, width: int, height: int) -> np.ndarray:
    """Engine pixels ``(N, 2)`` (top-left origin) to frame coordinates ``(N, 2)`` (0..1, bottom-left origin)."""
    p = np.asarray(points, np.float64).reshape(-1, 2)
    return np.stack([p[:, 0] / width, 1.0 - p[:, 1] / height], axis=1)


def frame_to_pixels(uv: np.ndarray, width: int, height: int) -> np.ndarray:
    """Frame coordinates ``(N, 2)`` to engine pixels ``(N, 2)``."""
    p = np.asarray(uv, np.float64).reshape(-1, 2)
    return np.stack([p[:, 0] * width, (1.0 - p[:, 1]) * height], axis=1)


def pixels_to_mask(points: np.ndarray, width: int, height: int, aspect: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """Engine pixels ``(N, 2)`` straight to mask coordinates ``(N, 2)``."""
    return frame_to_mask(pixels_to_frame(points, width, height), width, height, aspect)


def polygon_area(points: np.ndarray) -> float:
    """Signed shoelace area of a closed polygon ``(N, 2)`` (positive = counter-clockwise in a y-up system)."""
    p = np.asarray(points, np.float64)
    x, y = p[:, 0], p[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def resample_closed(points: np.ndarray, n: int) -> np.ndarray:
    """``n`` points spaced evenly by arc length along a closed polygon ``(M, 2)``, starting at its first vertex."""
    p = np.asarray(points, np.float64).reshape(-1, 2)
    if len(p) == 0:
        raise ValueError("cannot resample an empty outline")
    closed = np.vstack([p, p[:1]])
    seg = np.hypot(*np.diff(closed, axis=0).T)
    total = float(seg.sum())
    if total <= 0:
        return np.repeat(p[:1], n, axis=0)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    t = np.linspace(0.0, total, n, endpoint=False)
    x = np.interp(t, cum, closed[:, 0])
    y = np.interp(t, cum, closed[:, 1])
    return np.stack([x, y], axis=1)


def align_cyclic(reference: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Rotate the closed ring ``points`` (same length as ``reference``) to best match ``reference`` point by point.

    Both rings must run the same way round (the engine writes every outer outline counter-clockwise on screen and
    resampling keeps the direction), so only the starting point is searched: all ``N`` shifts, least squares.
    """
    n = len(points)
    if n != len(reference) or n == 0:
        return points
    # d[s] = sum_i |ref_i - pts_{i+s}|^2, computed for every shift at once
    idx = (np.arange(n)[None, :] + np.arange(n)[:, None]) % n
    d = ((points[idx] - reference[None]) ** 2).sum(axis=(1, 2))
    return np.roll(points, -int(np.argmin(d)), axis=0)


def smooth_handles(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bezier handles that make a closed Catmull-Rom curve through ``points`` ``(N, 2)``.

    Returns:
        ``(left, right)`` handle positions, each ``(N, 2)``; left and right are collinear through the point
        (Blender's ``ALIGNED`` handle type keeps them so when the artist edits).
    """
    tangent = (np.roll(points, -1, axis=0) - np.roll(points, 1, axis=0)) / 6.0
    return points - tangent, points + tangent


@dataclasses.dataclass
class SplineTrack:
    """One Mask spline through the shot: the same number of points on every frame.

    Attributes:
        hole: True when it cuts a hole. The layer fills holes (Blender's ``use_fill_holes``: where splines
            overlap, the count of splines covering a pixel decides, odd = inside), so an outer outline, a hole
            inside it and an island inside that hole all come out right on every frame.
        frames: frame -> resampled points ``(N, 2)`` in engine pixels. Frames where the outline is absent hold a
            tiny ring *parked outside the frame* (:data:`PARK_AT`): it can neither draw nor punch a hole anywhere
            in the picture. (Not a single point: a spline whose points and handles all coincide breaks Blender's
            mask rasteriser for the whole layer; and not a ring at the outline's last centroid, which, inside the
            body, cuts most of the body out when the layer fills holes.)
        error: the largest distance (pixels) from an engine outline vertex to the resampled outline, over the
            shot: what the point count costs in fidelity.
    """

    hole: bool
    frames: dict[int, np.ndarray] = dataclasses.field(default_factory=dict)
    error: float = 0.0

    @property
    def points(self) -> int:
        """Points per frame of this spline."""
        return len(next(iter(self.frames.values()))) if self.frames else 0


ABSENT_RING_RADIUS = 4.0
"""Radius in pixels of the ring an absent outline shrinks to (small, but not degenerate: Blender's rasteriser
mishandles tiny splines)."""
PARK_AT = (-32.0, -32.0)
"""Where (engine pixels, top-left origin: above and left of the frame) absent outlines are parked; spline ``k``
sits ``PARK_STEP * k`` further left, so parked rings never overlap each other."""
PARK_STEP = 12.0
EDGE_OFFSET = 0.5
"""The engine's outlines run through the centres of the matte's boundary pixels; the Mask moves them this many
pixels outward (holes: inward), onto the pixels' outer edges, so the rasterised Mask covers the matte's pixels."""
POINT_STEPS = (8, 12, 16, 24, 32, 48, 64, 96, 128, 160, 192, 256)
"""Point counts tried, fewest first, by the adaptive simplification."""


def _unit_ring(n: int) -> np.ndarray:
    ang = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    return np.stack([np.cos(ang), np.sin(ang)], axis=1)


def grow(points: np.ndarray, distance: float, hole: bool) -> np.ndarray:
    """Move a closed outline ``(N, 2)`` ``distance`` pixels along its vertex normals, away from the inside of the
    matte: outward for an outer outline, into the hole for a hole (whatever the winding)."""
    p = np.asarray(points, np.float64)
    if distance == 0 or len(p) < 3:
        return p
    tangent = np.roll(p, -1, axis=0) - np.roll(p, 1, axis=0)
    normal = np.stack([tangent[:, 1], -tangent[:, 0]], axis=1)
    normal /= np.maximum(np.hypot(normal[:, 0], normal[:, 1]), 1e-12)[:, None]
    # pick the side that enlarges |area| (outer) or shrinks it (hole)
    area = polygon_area(p)
    larger = abs(polygon_area(p + distance * normal)) > abs(area)
    sign = 1.0 if larger != hole else -1.0
    out = p + sign * distance * normal
    grown = polygon_area(out)
    if np.sign(grown) != np.sign(area) or abs(grown) < 0.5 * abs(area):
        return p  # a hole too thin to shrink (it would turn inside out, which Blender's rasteriser fills wildly)
    return out


def outline_error(outline: np.ndarray, ring: np.ndarray) -> float:
    """Largest distance (pixels) from a vertex of ``outline`` ``(M, 2)`` to the closed polyline ``ring`` ``(N, 2)``."""
    a = ring
    b = np.roll(ring, -1, axis=0)
    ab = b - a
    denom = np.maximum((ab ** 2).sum(axis=1), 1e-12)
    ap = outline[:, None, :] - a[None, :, :]
    t = np.clip((ap * ab[None]).sum(axis=2) / denom[None], 0.0, 1.0)
    closest = a[None] + t[..., None] * ab[None]
    d = np.hypot(*(outline[:, None, :] - closest).transpose(2, 0, 1))
    return float(d.min(axis=1).max()) if len(outline) else 0.0


def adaptive_points(outlines: Sequence[np.ndarray], tolerance: float, lo: int, hi: int) -> tuple[int, float]:
    """The fewest points (from :data:`POINT_STEPS`, within ``lo..hi``) that follow every outline of a spline to
    within ``tolerance`` pixels, and the error it leaves (``hi`` points when none is that close).

    Smooth outlines get few points (easy to edit); detailed ones as many as they need.
    """
    steps = [n for n in POINT_STEPS if lo <= n <= hi] or [hi]
    if steps[-1] != hi:
        steps.append(hi)
    err = 0.0
    for n in steps:
        err = max(outline_error(o, resample_closed(o, n)) for o in outlines)
        if err <= tolerance:
            return n, err
    return steps[-1], err


def track_outlines(
    per_frame: Mapping[int, Sequence[Mapping[str, object]]],
    *,
    max_splines: int = 32,
    points: int = 0,
    min_points: int = 8,
    max_points: int = 192,
    tolerance: float = 0.75,
    min_area: float = 16.0,
    edge_offset: float = EDGE_OFFSET,
    size_ratio: float = 6.0,
) -> list[SplineTrack]:
    """Turn per-frame outlines (variable counts and vertex numbers) into splines with stable point counts.

    Outlines are matched to the previous frame's splines by centroid distance (outers to outers, holes to holes);
    each spline keeps its point count over the shot and its points are rotated to follow the previous frame, so
    the keyframed points move smoothly instead of sliding around the outline.

    Args:
        per_frame: frame -> outlines as in the contours JSON (``points`` in pixels, ``hole``, ``area``).
        max_splines: most splines per object; the smallest outlines beyond it are dropped.
        points: points per spline; 0 picks per spline, adaptively: the fewest that keep every frame's outline
            within ``tolerance`` pixels (``min_points..max_points``, see :func:`adaptive_points`).
        tolerance: adaptive simplification's largest allowed distance, pixels.
        min_area: outlines smaller than this many square pixels are dropped (specks; Blender's mask rasteriser
            fills splines this small wildly, cutting far more than their area: measured on DAVIS hockey).
        edge_offset: pixels each outline moves away from the matte's inside (:data:`EDGE_OFFSET`, :func:`grow`).
        size_ratio: an outline only continues a spline whose last outline was at most this many times larger or
            smaller (a speck beside a big hole starts a spline of its own, with few points).

    Returns:
        The splines, outers first.
    """
    frames = sorted(per_frame)
    tracks: list[SplineTrack] = []
    raw: list[dict[int, np.ndarray]] = []
    centroids: list[np.ndarray] = []
    areas: list[float] = []
    scale = 1.0
    for f in frames:
        outlines = [o for o in per_frame[f] if len(o.get("points", [])) >= 3]  # type: ignore[arg-type]
        outlines = [o for o in outlines if abs(float(o.get("area", min_area))) >= min_area]  # type: ignore[arg-type]
        if not outlines:
            continue
        outlines.sort(key=lambda o: (bool(o.get("hole")), -abs(float(o.get("area", 0.0)))))  # type: ignore[arg-type]
        used: set[int] = set()
        for o in outlines:
            pts = np.asarray(o["points"], np.float64).reshape(-1, 2)
            c = pts.mean(axis=0)
            scale = max(scale, float(np.ptp(pts, axis=0).max()))
            hole = bool(o.get("hole"))
            area = max(abs(float(o.get("area", 0.0))), 1.0)  # type: ignore[arg-type]
            best, best_d = -1, np.inf
            for i, tr in enumerate(tracks):
                if i in used or tr.hole != hole:
                    continue
                if max(area / areas[i], areas[i] / area) > size_ratio:
                    continue  # a speck is not the big hole it sits near: it gets its own spline (and few points)
                d = float(np.hypot(*(centroids[i] - c)))
                if d < best_d:
                    best, best_d = i, d
            if best < 0 or best_d > scale:
                if len(tracks) >= max_splines:
                    continue
                tracks.append(SplineTrack(hole))
                raw.append({})
                centroids.append(c)
                areas.append(area)
                best = len(tracks) - 1
            used.add(best)
            raw[best][f] = pts
            centroids[best] = c
            areas[best] = area
    for k, (tr, frames_pts) in enumerate(zip(tracks, raw)):
        park = np.asarray(PARK_AT, np.float64) - np.array([PARK_STEP * k, 0.0])
        if edge_offset:
            frames_pts = {f: grow(p, edge_offset, tr.hole) for f, p in frames_pts.items()}
        if points:
            n = points
            tr.error = max(outline_error(p, resample_closed(p, n)) for p in frames_pts.values())
        else:
            n, tr.error = adaptive_points(list(frames_pts.values()), tolerance, min_points, max_points)
        prev: np.ndarray | None = None
        for f in frames:
            if f in frames_pts:
                ring = resample_closed(frames_pts[f], n)
                if prev is not None:
                    ring = align_cyclic(prev, ring)
                prev = ring
                tr.frames[f] = ring
            else:
                tr.frames[f] = park[None] + ABSENT_RING_RADIUS * _unit_ring(n)
    return tracks


def keyframe_arrays(
    track: SplineTrack, to_mask: Callable[[np.ndarray], np.ndarray], frame_map: Mapping[int, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Arrays for keyframing one spline.

    Args:
        track: the spline.
        to_mask: engine pixels ``(N, 2)`` -> mask coordinates ``(N, 2)``.
        frame_map: engine frame -> scene frame.

    Returns:
        ``(scene_frames (F,), co (F, N, 2), handle_left (F, N, 2), handle_right (F, N, 2))`` in mask coordinates.
    """
    frames = sorted(track.frames)
    co = np.stack([to_mask(track.frames[f]) for f in frames])
    left, right = zip(*(smooth_handles(c) for c in co))
    return np.asarray([frame_map[f] for f in frames], np.float64), co, np.stack(left), np.stack(right)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boolean masks (1.0 when both are empty)."""
    a = np.asarray(a, bool)
    b = np.asarray(b, bool)
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def parse_keyframes(text: str) -> list[tuple[int, str]]:
    """Parse ``"0=key/0000.png, 24=key/0024.png"`` into ``[(0, "key/0000.png"), (24, ...)]``."""
    out: list[tuple[int, str]] = []
    for part in (p.strip() for p in text.replace(";", ",").split(",")):
        if not part:
            continue
        frame, sep, path = part.partition("=")
        if not sep or not path.strip():
            raise ValueError(f"keyframe {part!r} must be FRAME=PATH")
        try:
            out.append((int(frame.strip()), path.strip()))
        except ValueError:
            raise ValueError(f"keyframe {part!r}: {frame.strip()!r} is not a frame number") from None
    return out


def unique(seq: Iterable[str]) -> list[str]:
    """Items in first-seen order without repeats."""
    seen: dict[str, None] = {}
    for s in seq:
        seen.setdefault(s, None)
    return list(seen)
