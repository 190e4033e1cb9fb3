"""A line that splits one reference region (an opening mouth) marks the new piece for QC instead of hiding it."""

import cv2
import numpy as np

from inkpaint.paint.propagate import (METHOD_KEY, METHOD_NEW, NEW_REGION_CONFIDENCE, RESIDUAL_CONFIDENCE, FrameColours,
                                      new_regions, propagate_colours)
from inkpaint.paint.segments import segment_lines


def _face(mouth: bool, size=96):
    img = np.ones((size, size, 3), np.float32)
    cv2.rectangle(img, (10, 10), (85, 85), (0, 0, 0), 1)
    if mouth:
        cv2.ellipse(img, (48, 60), (14, 8), 0, 0, 360, (0, 0, 0), 1)
    return img


def _key(seg):
    idx = np.full(seg.n + 1, 1, np.int32)
    idx[seg.fill[2, 2]] = 0  # outside = background
    return FrameColours(idx, np.ones(seg.n + 1, np.float32), np.full(seg.n + 1, METHOD_KEY, np.uint8))


def test_opening_mouth_is_painted_but_marked_new():
    ref, tgt = segment_lines(_face(False)), segment_lines(_face(True))
    assert (ref.n, tgt.n) == (2, 3)
    out = propagate_colours(ref, _key(ref), tgt, 2, flow=np.zeros(tgt.shape + (2,), np.float32))  # no motion
    mouth = tgt.fill[60, 48]
    assert out.index[mouth] == 1  # still painted with the face colour (no guess hidden, none removed) ...
    assert out.method[mouth] == METHOD_NEW and out.confidence[mouth] <= NEW_REGION_CONFIDENCE  # ... but flagged
    face = tgt.fill[20, 20]
    # the face keeps its colour and is not new; the mouth's new lines cover much of this small face, so its flow
    # residual may cap it at RESIDUAL_CONFIDENCE (on laughing_girl's open mouth the face stays above 0.75)
    assert out.method[face] != METHOD_NEW and out.index[face] == 1 and out.confidence[face] >= RESIDUAL_CONFIDENCE


def test_mouth_present_in_both_frames_is_not_new():
    ref, tgt = segment_lines(_face(True)), segment_lines(_face(True))
    flow = np.zeros(tgt.shape + (2,), np.float32)
    idx = np.full(tgt.n + 1, 1, np.int32)
    assert not new_regions(ref, tgt, flow, idx).any()
