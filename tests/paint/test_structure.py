"""Colour from structure (paint/structure.py): where the votes disagree, the keyframe's segment graph picks."""

import cv2
import numpy as np
import pytest

from inkpaint.paint.chain import KeyTrack, chained_colours
from inkpaint.paint.propagate import METHOD_KEY, METHOD_SECOND, METHOD_VOTE, FrameColours
from inkpaint.paint.segments import Segmentation, segment_lines
from inkpaint.paint.structure import (STRUCTURE_CONFIDENCE, arbitrate, context_histograms, runner_up_votes,
                                      structure_scores)

BG, BODY, EYE, BUTTON = 0, 1, 2, 3
N_COLOURS = 4


def _frame(eye: tuple[int, int], size: int = 160) -> np.ndarray:
    """A body (square) holding a small eye (square) at ``eye``; a button of the eye's size outside, on the paper."""
    img = np.ones((size, size, 3), np.float32)
    cv2.rectangle(img, (2, 2), (size - 3, size - 3), (0, 0, 0), 1)
    cv2.rectangle(img, (20, 20), (100, 100), (0, 0, 0), 1)
    cv2.rectangle(img, eye, (eye[0] + 12, eye[1] + 12), (0, 0, 0), 1)
    cv2.rectangle(img, (120, 30), (132, 42), (0, 0, 0), 1)
    return img


def _colours(seg: Segmentation, eye: tuple[int, int]) -> np.ndarray:
    """``(n + 1,)`` true colour per segment of :func:`_frame`."""
    idx = np.full(seg.n + 1, BG, np.int32)
    idx[0] = -1
    idx[seg.labels[95, 25]] = BODY  # a body pixel no eye position covers
    idx[seg.labels[eye[1] + 6, eye[0] + 6]] = EYE
    idx[seg.labels[36, 126]] = BUTTON
    return idx


def _fc(index: np.ndarray, residual: float = 0.2) -> FrameColours:
    n1 = len(index)
    return FrameColours(index.astype(np.int32), np.ones(n1, np.float32), np.full(n1, METHOD_VOTE, np.uint8),
                        np.full(n1, residual, np.float32))


KEY_EYE, TARGET_EYE = (30, 30), (80, 80)  # the eye moved 50 px across the body: no flow follows it


@pytest.fixture()
def pair() -> tuple[Segmentation, FrameColours, Segmentation, np.ndarray, int]:
    key = segment_lines(_frame(KEY_EYE))
    key_idx = _colours(key, KEY_EYE)
    target = segment_lines(_frame(TARGET_EYE))
    truth = _colours(target, TARGET_EYE)
    eye = int(target.labels[TARGET_EYE[1] + 6, TARGET_EYE[0] + 6])
    kc = FrameColours(key_idx, np.ones(key.n + 1, np.float32), np.full(key.n + 1, METHOD_KEY, np.uint8))
    return key, kc, target, truth, eye


def test_context_is_the_boundary_shared_per_neighbour_colour_and_line_kind(pair):
    key, kc, _, _, _ = pair
    h = context_histograms(key, kc.index, N_COLOURS)
    eye = int(key.labels[KEY_EYE[1] + 6, KEY_EYE[0] + 6])
    button = int(key.labels[36, 126])
    assert h[eye].sum() == pytest.approx(1.0)
    black = 1 * (N_COLOURS + 1)  # LINE_BLACK's block
    assert h[eye, black + BODY + 1] == pytest.approx(1.0)  # all of the eye's boundary is body, across black ink
    assert h[button, black + BG + 1] == pytest.approx(1.0)


def test_a_small_segment_scores_the_colour_of_the_keyframe_segment_in_the_same_place_in_the_graph(pair):
    key, kc, target, truth, eye = pair
    s = structure_scores(target, truth, key, kc.index, N_COLOURS, np.array([eye]))
    assert s[0, EYE] == pytest.approx(1.0)  # inside the body, same size
    assert s[0, BUTTON] == pytest.approx(0.0)  # same size and shape, but on the paper


def test_disagreeing_votes_are_settled_by_structure(pair):
    """The neighbour's vote put the far-moved eye on the button's colour (the flow lost it), the composed keyframe
    vote says eye; the residual rule kept the wrong one. Structure: a segment inside the body is an eye."""
    key, kc, target, truth, eye = pair
    wrong = truth.copy()
    wrong[eye] = BUTTON
    current = _fc(wrong)
    out = arbitrate(target, current, [_fc(wrong), _fc(truth)], key, kc, N_COLOURS)
    assert out.index[eye] == EYE
    assert out.method[eye] == METHOD_SECOND and out.confidence[eye] == pytest.approx(STRUCTURE_CONFIDENCE)
    others = np.arange(target.n + 1) != eye
    assert (out.index[others] == current.index[others]).all()


def test_agreeing_votes_stand_and_a_colour_no_vote_proposed_is_never_painted(pair):
    key, kc, target, truth, eye = pair
    wrong = truth.copy()
    wrong[eye] = BUTTON
    agreed = arbitrate(target, _fc(wrong), [_fc(wrong), _fc(wrong)], key, kc, N_COLOURS)
    assert agreed.index[eye] == BUTTON  # confident (agreeing) votes are not overridden
    bg = wrong.copy()
    bg[eye] = BG
    out = arbitrate(target, _fc(wrong), [_fc(wrong), _fc(bg)], key, kc, N_COLOURS)
    assert out.index[eye] in (BUTTON, BG)  # EYE was never voted


def test_a_small_structural_lead_keeps_the_current_colour(pair):
    key, kc, target, truth, eye = pair
    wrong = truth.copy()
    wrong[eye] = BUTTON
    out = arbitrate(target, _fc(wrong), [_fc(wrong), _fc(truth)], key, kc, N_COLOURS, gap=1.0)
    assert out.index[eye] == BUTTON


def test_the_chain_arbitrates_its_votes_when_given_the_colour_table_size(pair):
    """Through chained_colours: the neighbour and the direct keyframe vote say button, the composed vote says eye
    but fits the line art worse (residual), so the residual rule keeps button; with structure the eye is right."""
    key, kc, target, truth, eye = pair
    wrong = truth.copy()
    wrong[eye] = BUTTON
    prev = segment_lines(_frame((55, 30)))
    prev_col = _fc(_colours(prev, (55, 30)))
    calls = []

    def vote(ref: Segmentation, ref_colours: FrameColours, flow: np.ndarray) -> FrameColours:
        calls.append(ref is key)
        return _fc(wrong, 0.2) if ref is prev else _fc(truth, 0.6)  # the keyframe's flows fit worse

    flow = np.zeros(target.shape + (2,), np.float32)
    plain = chained_colours(vote, target, prev, prev_col, key, kc, KeyTrack(), lambda: _fc(wrong, 0.2), step=flow)
    assert plain.index[eye] == BUTTON
    out = chained_colours(vote, target, prev, prev_col, key, kc, KeyTrack(), lambda: _fc(wrong, 0.2), step=flow,
                          n_colours=N_COLOURS)
    assert out.index[eye] == EYE
    assert (out.index[1:] == truth[1:]).all()


def test_a_pair_picks_among_its_vote_runner_ups_by_structure(pair):
    """One vote (a consecutive pair, the chain's first step): the eye moved half its width, the flow did not follow,
    so its warped pixels are half eye, half body and the vote (confidence 0.5) said body. The runner-up colour (eye)
    is a candidate, and the eye's place in the graph (a small segment inside the body) picks it."""
    key, kc, _, _, _ = pair
    moved = (36, 30)
    target = segment_lines(_frame(moved))
    truth = _colours(target, moved)
    eye = int(target.labels[moved[1] + 6, moved[0] + 6])
    said = truth.copy()
    said[eye] = BODY
    vote_col = _fc(said)
    vote_col.confidence[eye] = 0.5
    flow = np.zeros(target.shape + (2,), np.float32)
    ups = runner_up_votes(target, vote_col, key, kc, flow, N_COLOURS)
    assert {int(u.index[eye]) for u in ups} >= {BODY, EYE}
    others = np.arange(target.n + 1) != eye
    assert all((u.index[others] == said[others]).all() for u in ups)  # confident segments get no alternatives

    def vote(ref: Segmentation, ref_colours: FrameColours, flow: np.ndarray) -> FrameColours:
        return FrameColours(vote_col.index.copy(), vote_col.confidence.copy(), vote_col.method.copy(), vote_col.residual)

    plain = chained_colours(vote, target, key, kc, key, kc, KeyTrack(), step=flow)
    assert plain.index[eye] == BODY
    out = chained_colours(vote, target, key, kc, key, kc, KeyTrack(), step=flow, n_colours=N_COLOURS)
    assert (out.index[1:] == truth[1:]).all()
