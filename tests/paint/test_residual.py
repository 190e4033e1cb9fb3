"""The flow residual: low where the flow explains the target's line art, high where it lost the motion."""

import cv2
import numpy as np

from inkpaint.paint.propagate import dense_flow, flow_image, flow_residual
from inkpaint.paint.segments import segment_lines


def _frame(dx: int, size: int = 128) -> np.ndarray:
    img = np.ones((size, size, 3), np.float32)
    cv2.rectangle(img, (4, 4), (size - 5, size - 5), (0, 0, 0), 1)
    cv2.rectangle(img, (30 + dx, 40), (60 + dx, 80), (0, 0, 0), 1)
    return img


def test_residual_is_low_for_the_right_flow_and_high_for_a_wrong_one():
    ref, tgt = segment_lines(_frame(0)), segment_lines(_frame(12))
    box = tgt.fill[60, 45 + 12]
    right = np.zeros(tgt.shape + (2,), np.float32)
    right[..., 0] = -12.0  # target(p) = reference(p - 12 px in x)
    wrong = np.zeros(tgt.shape + (2,), np.float32)
    r_right, r_wrong = flow_residual(tgt, ref, right), flow_residual(tgt, ref, wrong)
    assert r_right.shape == (tgt.n + 1,)
    assert r_right[box] < 0.2 < 1.0 < r_wrong[box]
    dis = flow_residual(tgt, ref, dense_flow(flow_image(tgt), flow_image(ref)))
    assert dis[box] < r_wrong[box]


def test_a_segment_the_flow_lost_keeps_its_vote_but_is_low_confidence():
    from inkpaint.paint.propagate import METHOD_KEY, RESIDUAL_CONFIDENCE, FrameColours, propagate_colours

    ref, tgt = segment_lines(_frame(0)), segment_lines(_frame(12))
    idx = np.full(ref.n + 1, 2, np.int32)
    idx[ref.fill[60, 45]] = 1
    ref_col = FrameColours(idx, np.ones(ref.n + 1, np.float32), np.full(ref.n + 1, METHOD_KEY, np.uint8))
    box = tgt.fill[60, 45 + 12]
    good = np.zeros(tgt.shape + (2,), np.float32)
    good[..., 0] = -12.0
    ok = propagate_colours(ref, ref_col, tgt, 3, flow=good)
    assert ok.index[box] == 1 and ok.confidence[box] > 0.9 and ok.residual is not None
    lost = propagate_colours(ref, ref_col, tgt, 3, flow=np.zeros(tgt.shape + (2,), np.float32))
    assert lost.index[box] >= 0 and lost.confidence[box] <= RESIDUAL_CONFIDENCE  # painted, but flagged for QC
