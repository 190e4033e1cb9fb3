"""The add-on's outline geometry (pure numpy, imported from blender_addon/ by path; no bpy needed)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

_spec = importlib.util.spec_from_file_location("inkpaint_blender_geometry", Path(__file__).resolve().parents[2] / "blender_addon" / "geometry.py")
geometry = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
sys.modules[_spec.name] = geometry  # type: ignore[union-attr]
_spec.loader.exec_module(geometry)  # type: ignore[union-attr]


def blender_coord_from_frame(co: np.ndarray, frame_size: tuple[float, float]) -> np.ndarray:
    """Blender's BKE_mask_coord_from_frame, transcribed from mask.cc, as the reference."""
    out = np.array(co, np.float64)
    fw, fh = frame_size
    if fw < fh:
        out[:, 0] = (co[:, 0] - 0.5) * (fw / fh) + 0.5
    elif fw > fh:
        out[:, 1] = (co[:, 1] - 0.5) * (fh / fw) + 0.5
    return out


@pytest.mark.parametrize("size,aspect", [((854, 480), (1, 1)), ((480, 854), (1, 1)), ((512, 512), (1, 1)), ((720, 576), (1.0926, 1)), ((1000, 500), (1, 2))])
def test_pixels_to_mask_matches_blender(size, aspect) -> None:  # type: ignore[no-untyped-def]
    w, h = size
    px = np.array([[0, 0], [w, h], [w / 2, h / 2], [w * 0.25, h * 0.9]], np.float64)
    uv = geometry.pixels_to_frame(px, w, h)
    np.testing.assert_allclose(uv[0], [0, 1])
    np.testing.assert_allclose(uv[1], [1, 0])
    ref = blender_coord_from_frame(uv, (w, h * aspect[1] / aspect[0]))
    np.testing.assert_allclose(geometry.pixels_to_mask(px, w, h, aspect), ref)
    np.testing.assert_allclose(geometry.mask_to_frame(ref, w, h, aspect), uv, atol=1e-12)
    np.testing.assert_allclose(geometry.frame_to_pixels(uv, w, h), px, atol=1e-9)


def test_landscape_frame_fits_the_unit_square_on_x() -> None:
    co = geometry.pixels_to_mask(np.array([[0, 0], [854, 480]]), 854, 480)
    assert co[0, 0] == 0 and co[1, 0] == 1
    assert co[0, 1] == pytest.approx(0.5 + 0.5 * 480 / 854) and co[1, 1] == pytest.approx(0.5 - 0.5 * 480 / 854)


def test_resample_and_align_keep_points_in_step() -> None:
    t = np.linspace(0, 2 * np.pi, 50, endpoint=False)
    ring = np.stack([100 + 40 * np.cos(t), 80 + 20 * np.sin(t)], 1)
    a = geometry.resample_closed(ring, 32)
    assert a.shape == (32, 2)
    moved = np.roll(a, 7, axis=0) + 1.0
    aligned = geometry.align_cyclic(a, moved)
    np.testing.assert_allclose(aligned, a + 1.0)


def test_track_outlines_stable_counts_and_collapse_when_missing() -> None:
    sq = lambda x, y, s: {"points": [[x, y], [x + s, y], [x + s, y + s], [x, y + s]], "hole": False, "area": float(s * s)}  # noqa: E731
    per_frame = {
        1: [sq(10, 10, 50), sq(200, 10, 30)],
        2: [sq(12, 10, 50)],  # the small one vanishes
        3: [sq(205, 12, 30), sq(14, 10, 50)],  # and comes back, listed in the other order
    }
    tracks = geometry.track_outlines(per_frame, points=16)
    assert len(tracks) == 2
    big, small = tracks
    assert all(v.shape == (16, 2) for t in tracks for v in t.frames.values())
    ring = small.frames[2]  # absent on frame 2: shrunk to a tiny ring that renders nothing, parked off the frame...
    assert np.allclose(ring, ring.mean(axis=0), atol=2 * geometry.ABSENT_RING_RADIUS)
    assert (ring.mean(axis=0) < 0).all()  # (never inside the body, where it would cut a hole)
    # ...but not to one repeated point: a spline whose points all coincide breaks Blender's rasteriser
    assert len(np.unique(np.round(ring / geometry.ABSENT_RING_RADIUS, 3), axis=0)) == 16
    assert abs(big.frames[3].mean(0)[0] - (14 + 25)) < 1.5 and abs(small.frames[3].mean(0)[0] - (205 + 15)) < 1.5


def test_adaptive_points_fewer_on_smooth_outlines() -> None:
    t = np.linspace(0, 2 * np.pi, 400, endpoint=False)
    circle = np.stack([200 + 100 * np.cos(t), 200 + 100 * np.sin(t)], 1)
    star = np.stack([200 + (100 + 30 * np.sign(np.sin(12 * t))) * np.cos(t), 200 + (100 + 30 * np.sign(np.sin(12 * t))) * np.sin(t)], 1)
    outline = lambda p: {"points": p.tolist(), "hole": False, "area": 1e4}  # noqa: E731
    (smooth,) = geometry.track_outlines({1: [outline(circle)], 2: [outline(circle + 3)]})
    (spiky,) = geometry.track_outlines({1: [outline(star)]})
    assert smooth.points < spiky.points and smooth.error <= 0.75
    assert geometry.outline_error(circle, geometry.resample_closed(circle, smooth.points)) == pytest.approx(smooth.error, abs=0.5)


def test_holes_and_islands_keep_their_kind() -> None:
    sq = lambda x, y, s, hole=False: {"points": [[x, y], [x + s, y], [x + s, y + s], [x, y + s]], "hole": hole, "area": float(s * s)}  # noqa: E731
    per_frame = {1: [sq(0, 0, 100), sq(30, 30, 40, True), sq(40, 40, 10)], 2: [sq(0, 0, 100)]}
    tracks = geometry.track_outlines(per_frame, points=8)
    assert [t.hole for t in tracks] == [False, False, True]
    assert all((t.frames[2].mean(axis=0) < 0).all() for t in tracks[1:])  # gone on frame 2: parked off the frame


def test_parse_keyframes() -> None:
    assert geometry.parse_keyframes("0=a.png, 24=b/c.png") == [(0, "a.png"), (24, "b/c.png")]
    with pytest.raises(ValueError, match="FRAME=PATH"):
        geometry.parse_keyframes("0:a.png")
