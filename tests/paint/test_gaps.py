"""Gap closing by extending stroke ends (``gap_mode="ends"``) against the trapped-ball alternative."""

import cv2
import numpy as np
import pytest

from inkpaint.paint.segments import LINE_BLACK, LINE_BLUE, close_line_gaps, segment_lines, thin_lines


def _box(size=64):
    img = np.ones((size, size, 3), np.float32)
    img[8:56, 8] = img[8:56, 55] = 0
    img[8, 8:56] = img[55, 8:56] = 0
    return img


def test_break_in_a_vertical_line_closes_and_bridge_is_invisible():
    img = _box()
    img[8:56, 31:33] = 0  # 2-px wide divider ...
    img[29:33, 31:33] = 1  # ... with a 4-px break
    assert segment_lines(img).n == 2
    seg = segment_lines(img, max_gap=5)
    assert seg.n == 3
    assert seg.lines.bridged is not None and seg.lines.bridged.sum() >= 4
    assert (seg.lines.strength[seg.lines.bridged] == 0).all()  # nothing is drawn into the line layer
    assert seg.fill[20, 20] != seg.fill[20, 45]
    # too wide a break for max_gap stays open
    assert segment_lines(img, max_gap=2).n == 2


def test_diagonal_break_and_colour_line_kind():
    img = _box()
    for i in range(10, 54):
        img[i, i] = (0, 0, 1)  # blue diagonal from corner to corner
    img[30:34, 30:34] = 1  # break it
    assert segment_lines(img).n == 2
    seg = segment_lines(img, max_gap=6)
    assert seg.n == 3
    assert (seg.lines.kind[seg.lines.bridged] == LINE_BLUE).all()


def test_neck_is_not_split_but_trapped_ball_splits_it():
    img = np.ones((64, 96, 3), np.float32)
    # a dumbbell outline: two rooms joined by a 3-px corridor; one closed stroke, so no line ends anywhere
    pts = np.array([(4, 4), (40, 4), (40, 29), (56, 29), (56, 4), (91, 4), (91, 59), (56, 59), (56, 33), (40, 33), (40, 59), (4, 59)])
    cv2.polylines(img, [pts.astype(np.int32)], True, (0, 0, 0), 1)
    assert segment_lines(img).n == 2  # outside + the dumbbell as one segment
    assert segment_lines(img, max_gap=6).n == 2
    assert segment_lines(img, max_gap=6, gap_mode="trapped_ball").n > 2


def test_dangling_stroke_far_from_other_ink_is_left_alone():
    img = _box()
    img[30, 14:30] = 0  # a stroke ending in the middle of the region
    bridges, n = close_line_gaps(img[..., 0] < 0.5, np.where(img[..., 0] < 0.5, LINE_BLACK, 0).astype(np.uint8), 4)
    assert n == 0 and not bridges.any()


def test_thinning_keeps_strokes_connected():
    ink = np.zeros((40, 40), bool)
    ink[10:14, 5:35] = True  # 4-px thick bar
    skel, wp = thin_lines(ink)
    sk = skel.reshape(42, wp)[1:-1, 1:-1]
    assert 0 < sk.sum() < ink.sum() / 2
    assert cv2.connectedComponents(sk.astype(np.uint8), connectivity=8)[0] == 2


def test_bad_gap_mode():
    with pytest.raises(ValueError, match="gap_mode"):
        segment_lines(_box(), max_gap=3, gap_mode="magic")
