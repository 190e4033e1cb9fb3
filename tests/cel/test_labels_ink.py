"""inkpaint.cel.labels and inkpaint.cel.ink: label images, boundaries, anti-aliased and hard lines."""

from __future__ import annotations

import numpy as np
import pytest

from inkpaint.cel.ink import draw_ink, line_coverage
from inkpaint.cel.labels import bounding_box, mattes_to_labels, region_edges


def two_parts(h: int = 40, w: int = 60) -> np.ndarray:
    a = np.zeros((h, w), np.float32)
    b = np.zeros((h, w), np.float32)
    a[10:30, 10:30] = 1
    b[10:30, 30:50] = 1
    return np.stack([a, b])


def test_mattes_to_labels_argmax_and_threshold() -> None:
    m = two_parts()
    m[1, 15:20, 25:35] = 0.9  # overlaps part 0 at 25..29: the higher matte wins
    m[0, 15:20, 25:30] = 0.6
    m[0, 0, 0] = 0.4  # below threshold
    labels = mattes_to_labels(m)
    assert labels.dtype == np.uint8
    assert labels[20, 15] == 1 and labels[20, 40] == 2 and labels[17, 27] == 2 and labels[0, 0] == 0
    with pytest.raises(ValueError):
        mattes_to_labels([np.zeros((4, 4)), np.zeros((4, 5))])
    with pytest.raises(ValueError):
        mattes_to_labels([])


def test_region_edges_both_sides_and_bbox() -> None:
    labels = mattes_to_labels(two_parts())
    e = region_edges(labels)
    assert e[20, 29] and e[20, 30]  # where the parts meet
    assert e[20, 9] and e[20, 10]  # silhouette, both sides
    assert not e[20, 20]
    assert bounding_box(labels > 0) == (slice(10, 30), slice(10, 50))
    assert bounding_box(np.zeros((5, 5), bool)) is None


@pytest.mark.parametrize("width", [1.0, 2.0, 3.0, 5.0])
def test_line_width_is_measured_in_pixels(width: float) -> None:
    labels = np.zeros((40, 80), np.uint8)
    labels[:, 40:] = 1  # one straight vertical boundary between columns 39 and 40
    cov = line_coverage(region_edges(labels), width)
    row = cov[20]
    assert row.sum() == pytest.approx(width, abs=0.05)
    assert row[39] == pytest.approx(row[40])  # centred on the boundary
    assert cov.max() <= 1.0


def test_draw_ink_silhouette_inner_and_tone_lines() -> None:
    labels = mattes_to_labels(two_parts())
    tone = np.where(labels > 0, 1, 0).astype(np.uint8)
    tone[20:30, 10:30] = 2  # a shadow in part 1
    full = draw_ink(labels, 2.0, tone=tone)
    assert full.alpha.dtype == np.float32 and full.hard.dtype == bool
    assert full.alpha[20, 29] == 1 and full.alpha[20, 10] == 1 and full.alpha[20, 9] == 1
    assert full.trace is not None and full.trace[19, 20] == 1 and full.trace[20, 20] == 1
    assert full.trace[20, 29] == 0  # part lines are not tone lines
    no_inner = draw_ink(labels, 2.0, inner=False)
    assert no_inner.alpha[20, 29] == 0 and no_inner.alpha[20, 10] == 1
    no_sil = draw_ink(labels, 2.0, silhouette=False)
    assert no_sil.alpha[20, 29] == 1 and no_sil.alpha[20, 9] == 0
    plain = draw_ink(labels, 2.0)
    assert plain.trace is None and plain.alpha[19, 20] == 0


def test_hard_lines_are_closed() -> None:
    # a disc: the non-line pixels inside and outside must not touch (4- or 8-connected)
    import cv2

    yy, xx = np.mgrid[0:64, 0:64]
    labels = (((xx - 32) ** 2 + (yy - 30) ** 2) < 15**2).astype(np.uint8)
    lines = draw_ink(labels, 1.0)
    free = (~lines.hard).astype(np.uint8)
    n, cc = cv2.connectedComponents(free, connectivity=8)
    inside = set(np.unique(cc[(labels == 1) & ~lines.hard])) - {0}
    outside = set(np.unique(cc[(labels == 0) & ~lines.hard])) - {0}
    assert inside and outside and not (inside & outside)


def test_antialiased_width_independent_of_resolution() -> None:
    yy, xx = np.mgrid[0:100, 0:100]
    small = (((xx - 50) ** 2 + (yy - 50) ** 2) < 30**2).astype(np.uint8)
    yy2, xx2 = np.mgrid[0:200, 0:200]
    big = (((xx2 - 100) ** 2 + (yy2 - 100) ** 2) < 60**2).astype(np.uint8)
    a = draw_ink(small, 2.0).alpha.sum()
    b = draw_ink(big, 4.0).alpha.sum()
    # twice the size, twice the width: 4x the ink area (within 15 %: coverage is measured from the pixel staircase)
    assert b / a == pytest.approx(4.0, rel=0.15)


def test_smooth_lines_follow_the_edge_not_its_stair_steps() -> None:
    """A shallow edge rasterised into pixel stair-steps: with ``smooth`` the line's centre follows the true edge
    (sub-pixel), its width stays ``width`` px at any angle, and the hard lines stay closed."""
    h, w = 120, 200
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    slope, y0 = 0.27, 40.0
    labels = np.zeros((h, w), np.uint8)
    labels[(yy + 0.5) > y0 + slope * (xx + 0.5)] = 1  # pixel centres below the true edge
    cols = slice(40, 160)
    true_y = y0 + slope * (np.arange(w, dtype=np.float32)[cols] + 0.5) - 0.5  # edge in pixel-centre coordinates
    errs = {}
    for smooth in (0.0, 1.0):
        a = draw_ink(labels, 2.0, smooth=smooth).alpha[:, cols]
        centre = (a * yy[:, cols]).sum(axis=0) / a.sum(axis=0)
        errs[smooth] = float(np.abs(centre - true_y).max())
        widths = a.sum(axis=0) * np.cos(np.arctan(slope))
        assert np.abs(widths - 2.0).max() < (0.25 if smooth else 0.3), (smooth, widths.min(), widths.max())
    assert errs[1.0] < 0.25 and errs[1.0] < 0.5 * errs[0.0], errs  # the pixel-boundary line wanders with the steps (~0.5 px)
    hard = draw_ink(labels, 2.0, smooth=1.0).hard
    assert hard[:, 5:195].any(axis=0).all()  # no gaps along the edge
