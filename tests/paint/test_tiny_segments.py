"""Tiny segments at line junctions follow the larger segment they touch corner to corner (second pass)."""

import numpy as np

from inkpaint.paint.propagate import (METHOD_SECOND, METHOD_VOTE, FrameColours, diagonal_contacts, paint_tiny_segments,
                                      propagate_colours)
from inkpaint.paint.segments import segment_lines


def _art() -> np.ndarray:
    """White canvas, a vertical black stroke splitting it; a 1-px chip of the left side boxed in by ink at the
    stroke's elbow (touching the left region only at a corner), and a closed 2x2 dot far from everything."""
    img = np.ones((20, 20, 3), np.float32)
    img[:, 10] = 0  # the stroke
    img[4:7, 4:7] = 0
    img[5, 5] = 1  # the chip at (5, 5), boxed in by its 4 neighbours; corners (4,4)... are ink too
    img[4, 4] = 1  # ... but one corner opens onto the left region
    img[4, 5] = 0
    img[14:18, 14:18] = 0
    img[15:17, 15:17] = 1  # a closed dot on the right: no corner contact
    return img


def test_diagonal_contacts_and_the_chip_follows_its_corner_neighbour():
    seg = segment_lines(_art())
    chip, left, right, dot = seg.labels[5, 5], seg.labels[1, 1], seg.labels[1, 15], seg.labels[15, 15]
    assert len({chip, left, right, dot}) == 4 and seg.area[chip] == 1 and seg.area[dot] == 4
    e = diagonal_contacts(seg)
    pairs = {(int(a), int(b)) for a, b, _ in e}
    assert (chip, left) in pairs and (left, chip) in pairs
    assert not any(dot in p for p in pairs) and (left, right) not in pairs
    idx = np.full(seg.n + 1, 2, np.int32)
    idx[left], idx[chip], idx[dot] = 1, 3, 3  # the vote got the chip wrong
    conf = np.full(seg.n + 1, 0.9, np.float32)
    conf[left] = 0.8
    col = FrameColours(idx, conf, np.full(seg.n + 1, METHOD_VOTE, np.uint8))
    out = paint_tiny_segments(seg, col, tiny=10)
    assert out.index[chip] == 1 and out.method[chip] == METHOD_SECOND and out.confidence[chip] == np.float32(0.8)
    assert out.index[dot] == 3 and out.method[dot] == METHOD_VOTE  # no corner contact: keeps its vote
    assert out.index[left] == 1 and out.index[right] == 2
    assert paint_tiny_segments(seg, col, tiny=0) is col  # off


def test_tiny_chains_resolve_through_tiny_neighbours_and_unpainted_sources_give_nothing():
    seg = segment_lines(_art())
    chip, left = seg.labels[5, 5], seg.labels[1, 1]
    idx = np.full(seg.n + 1, 2, np.int32)
    idx[left] = -1  # the big neighbour is unpainted: nothing to follow
    col = FrameColours(idx, np.ones(seg.n + 1, np.float32), np.full(seg.n + 1, METHOD_VOTE, np.uint8))
    assert paint_tiny_segments(seg, col).index[chip] == 2


def test_propagate_runs_the_tiny_pass_and_can_turn_it_off():
    seg = segment_lines(_art())
    chip, left = seg.labels[5, 5], seg.labels[1, 1]
    ref_idx = np.zeros(seg.n + 1, np.int32)
    ref_idx[left], ref_idx[chip] = 1, 2  # the reference has the chip another colour: the vote copies that
    ref = FrameColours(ref_idx, np.ones(seg.n + 1, np.float32), np.ones(seg.n + 1, np.uint8))
    flow = np.zeros(seg.shape + (2,), np.float32)
    assert propagate_colours(seg, ref, seg, 3, flow=flow, tiny=0).index[chip] == 2
    assert propagate_colours(seg, ref, seg, 3, flow=flow).index[chip] == 1


def _chips(n: int) -> np.ndarray:
    """``n`` one-pixel chips down the left half, each boxed in by ink but open at its top-left corner."""
    img = np.ones((4 * n + 4, 20, 3), np.float32)
    img[:, 10] = 0
    for r in range(n):
        y = 2 + 4 * r
        img[y - 1 : y + 2, 4:7] = 0
        img[y, 5] = 1
        img[y - 1, 4] = 1
    return img


def test_the_rule_is_calibrated_on_the_keyframe_colours():
    from inkpaint.paint.propagate import tiny_rule_agreement

    seg = segment_lines(_chips(10))
    left = seg.labels[0, 0]
    chips = [seg.labels[2 + 4 * r, 5] for r in range(10)]
    assert all(seg.area[c] == 1 for c in chips)
    idx = np.full(seg.n + 1, 2, np.int32)
    idx[left] = 1
    idx[chips] = 1  # painted like the region at their corner: the rule holds for this art
    key = FrameColours(idx, np.ones(seg.n + 1, np.float32), np.ones(seg.n + 1, np.uint8))
    assert tiny_rule_agreement(seg, key) == (1.0, 10)
    idx2 = idx.copy()
    idx2[chips[:4]] = 3  # the painter gave four chips their own colour: 60 % agreement, the rule is not used
    agree, n = tiny_rule_agreement(seg, FrameColours(idx2, key.confidence, key.method))
    assert n == 10 and abs(agree - 0.6) < 1e-9
    assert tiny_rule_agreement(seg, key, tiny=0) == (0.0, 0)


def test_the_rule_is_used_only_with_enough_agreeing_evidence():
    from inkpaint.paint.propagate import TINY_AGREEMENT, TINY_MIN_EVIDENCE, tiny_rule_holds

    assert tiny_rule_holds(1.0, 10)
    assert tiny_rule_holds(TINY_AGREEMENT, TINY_MIN_EVIDENCE)
    assert not tiny_rule_holds(0.6, 10)  # the painter's own tiny colours disagree
    assert not tiny_rule_holds(1.0, TINY_MIN_EVIDENCE - 1)  # too few tiny segments to tell
    assert not tiny_rule_holds(0.0, 0)
