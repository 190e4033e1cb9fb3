"""Reference mode building blocks (inkpaint.paint.reference): derived line art, alignment, resampling, combining."""

import cv2
import numpy as np
import pytest

from inkpaint.errors import FrameError, SpecError
from inkpaint.jobs.paint import PaintJob, PaintKey, PaintRef
from inkpaint.paint.colours import UNPAINTED
from inkpaint.paint.propagate import METHOD_NEW, METHOD_VOTE, FrameColours
from inkpaint.paint.reference import (Alignment, Source, align, combine_votes, derive_line_art, merge_neighbour,
                                      parse_ref, segment_majority, warp_source)
from inkpaint.paint.segments import segment_lines

SKIN, SHIRT, HAIR = (240, 200, 180), (115, 156, 150), (60, 40, 30)


def _character(size, cx, cy, s, *, lines):
    """A box body (two halves) and a round head; line art (``lines``) or flat colours."""
    img = np.full((size, size, 3), 255, np.uint8)
    x0, x1, y0, y1 = int(cx - 20 * s), int(cx + 20 * s), int(cy - 25 * s), int(cy + 25 * s)
    head = (int(cx), int(y0 - 16 * s))
    if lines:
        cv2.rectangle(img, (x0, y0), (x1, y1), (0, 0, 0), 1, cv2.LINE_8)
        cv2.line(img, (int(cx), y0), (int(cx), y1), (0, 0, 0), 1, cv2.LINE_8)
        cv2.circle(img, head, int(14 * s), (0, 0, 0), 1, cv2.LINE_8)
    else:
        cv2.rectangle(img, (x0, y0), (int(cx), y1), SKIN, -1)
        cv2.rectangle(img, (int(cx), y0), (x1, y1), SHIRT, -1)
        cv2.circle(img, head, int(14 * s), HAIR, -1, cv2.LINE_8)
    return img


def test_derived_line_art_closes_every_colour_region():
    col = _character(96, 48, 56, 1.0, lines=False)
    line = derive_line_art(col)
    seg = segment_lines(line, ["R", "G", "B"])
    assert seg.n >= 4  # background, two halves, head
    for i in range(1, seg.n + 1):
        assert len(np.unique(col[seg.labels == i].reshape(-1, 3), axis=0)) == 1, f"segment {i} mixes colours"


def test_derived_line_art_keeps_dark_lines_and_alpha_edges():
    rgba = np.zeros((20, 20, 4), np.uint8)
    rgba[5:15, 5:15] = (200, 100, 50, 255)  # opaque square on transparent
    rgba[10, 5:15, :3] = 10  # a drawn dark line inside it
    ink = derive_line_art(rgba)[..., 0] == 0
    assert ink[10, 8] and ink[4, 8] and not ink[7, 8]


def test_align_recovers_scale_and_place():
    ref = segment_lines(_character(256, 128, 140, 2.0, lines=True), ["R", "G", "B"]).lines.ink
    tgt = segment_lines(_character(128, 60, 70, 1.0, lines=True), ["R", "G", "B"]).lines.ink
    a = align(ref, tgt)
    assert a.scale == pytest.approx(0.5, rel=0.08)
    assert a.scale * 128 + a.shift[0] == pytest.approx(60, abs=3)
    same = align(tgt, tgt)
    assert same.identity and same.name == "frame"


def test_align_refuses_far_scales():
    ref = np.zeros((8, 8), bool)
    ref[2:6, 3] = True
    tgt = np.zeros((256, 256), bool)
    tgt[50:200, 100] = True
    with pytest.raises(FrameError, match="beyond"):
        align(ref, tgt, what="tiny.png")


def test_warp_source_min_pools_lines_when_shrinking():
    col = _character(256, 128, 140, 2.0, lines=False)
    seg = segment_lines(derive_line_art(col), ["R", "G", "B"])
    idx = np.arange(seg.n + 1, dtype=np.int32) % 4
    src = Source(FrameColours(idx, np.ones(seg.n + 1, np.float32), np.ones(seg.n + 1, np.uint8)).pixel_index(seg),
                 derive_line_art(col), seg, FrameColours(idx, np.ones(seg.n + 1, np.float32), np.ones(seg.n + 1, np.uint8)))
    index, line = warp_source(src, Alignment(0.3, (10.0, 5.0), "test", 0.0), (96, 96))
    small = segment_lines(line, ["R", "G", "B"])
    assert small.n == seg.n  # every region survives the 0.3x shrink: lines stay closed
    maj = segment_majority(small, index, 4)
    assert (maj[1:] >= 0).all()


def _fc(index, conf, method, residual=None):
    return FrameColours(np.array(index, np.int32), np.array(conf, np.float32), np.array(method, np.uint8),
                        None if residual is None else np.array(residual, np.float32))


def test_combine_prefers_painted_then_known_regions_then_confidence():
    a = _fc([-1, 1, 2, UNPAINTED], [0, 0.9, 0.4, 0], [0, METHOD_VOTE, METHOD_NEW, 0])
    b = _fc([-1, 3, 4, 5], [0, 0.6, 0.3, 0.7], [0, METHOD_VOTE, METHOD_VOTE, METHOD_VOTE])
    out = combine_votes([a, b])
    assert out.index.tolist() == [-1, 1, 4, 5]


def test_merge_neighbour_takes_references_only_where_the_neighbour_is_missing_new_or_worse():
    near = _fc([-1, 1, UNPAINTED, 2, 3], [0, 1, 0, 0.5, 1], [0, 2, 0, METHOD_NEW, 2], [0, 0.2, 0.2, 0.2, 2.0])
    refs = _fc([-1, 4, 4, 4, 4], [0, 1, 1, 1, 1], [0, 2, 2, 2, 2], [0, 0.2, 0.2, 0.2, 0.3])
    out = merge_neighbour(near, refs)
    assert out.index.tolist() == [-1, 1, 4, 4, 4]
    assert out.confidence[4] <= 0.6  # taken against a painted neighbour: shown low-confidence


def test_parse_ref_and_spec_round_trip():
    assert parse_ref("a.png") == ("a.png", None)
    assert parse_ref("a.png=b.png") == ("a.png", "b.png")
    with pytest.raises(SpecError, match="--ref"):
        parse_ref("a.png=")
    job = PaintJob(input="l/####.png", output="o/####.png", keys=[], refs=[PaintRef("front.png"), PaintRef("back.png", "back_line.png")])
    job.validate()
    again = PaintJob.from_dict(job.to_dict())
    assert again == job and again.refs[1].line == "back_line.png"
    plain = PaintJob(input="l/####.png", output="o/####.png", keys=[PaintKey(0, image="k.png")])
    assert "refs" not in plain.to_dict()  # keyframe-only specs (and their hashes) read as before
    with pytest.raises(SpecError, match="no keyframes and no references"):
        PaintJob(input="l/####.png", output="o/####.png", keys=[]).validate()
