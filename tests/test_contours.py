"""Object outlines for Roto shapes and Mask splines (inkpaint.contours)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from inkpaint.contours import mask_contours, read_contours, write_contours


def _shoelace(points: list[list[float]]) -> float:
    p = np.asarray(points)
    x, y = p[:, 0], p[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def test_square_with_a_hole_orientation_and_coordinates() -> None:
    m = np.zeros((40, 60), np.float32)
    m[10:30, 20:50] = 1.0  # 30 x 20 pixels, columns 20..49, rows 10..29
    m[15:25, 30:40] = 0.0
    outer, hole = mask_contours(m, tolerance=0.5, min_area=1)
    assert outer["hole"] is False and hole["hole"] is True
    xs, ys = np.asarray(outer["points"])[:, 0], np.asarray(outer["points"])[:, 1]
    # Through the centres of the edge pixels: x 20.5..49.5, y 10.5..29.5, top-left origin.
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (20.5, 49.5, 10.5, 29.5)
    assert len(outer["points"]) == 4  # a rectangle simplifies to its corners
    assert _shoelace(outer["points"]) < 0  # counter-clockwise on screen (y down)
    assert _shoelace(hole["points"]) > 0  # clockwise on screen


def test_small_islands_dropped_and_empty_mattes() -> None:
    m = np.zeros((20, 20), np.float32)
    m[2, 2] = 1.0
    m[8:16, 8:16] = 0.9
    out = mask_contours(m, tolerance=1.0, min_area=4)
    assert len(out) == 1 and out[0]["area"] > 40
    assert mask_contours(np.zeros((5, 5)), 1.0) == []


def test_tolerance_simplifies_a_circle() -> None:
    yy, xx = np.mgrid[0:200, 0:200]
    disc = ((xx - 100) ** 2 + (yy - 100) ** 2 < 80**2).astype(np.float32)
    fine = mask_contours(disc, tolerance=0.25)[0]["points"]
    coarse = mask_contours(disc, tolerance=3.0)[0]["points"]
    assert len(coarse) < len(fine) / 2 and len(coarse) >= 8
    r = np.hypot(np.asarray(coarse)[:, 0] - 100, np.asarray(coarse)[:, 1] - 100)
    assert np.all(np.abs(r - 80) < 4)


def test_written_json_layout(tmp_path: Path) -> None:
    m = np.zeros((10, 12), np.float32)
    m[2:8, 3:9] = 1
    path = tmp_path / "s.0007.contours.json"
    write_contours(str(path), {"dancer": m, "hair": np.zeros_like(m)}, 7, (12, 10), 1.0, {"inkpaint:job_hash": "h1"})
    data = read_contours(str(path))
    assert data == json.loads(path.read_text())
    assert (data["frame"], data["width"], data["height"], data["origin"], data["units"], data["job_hash"]) == (
        7, 12, 10, "top-left", "pixels", "h1")
    assert data["objects"]["hair"] == [] and data["objects"]["dancer"][0]["hole"] is False
