"""The keyframe's flow composed along a chain (paint/chain.py): a drifted chain is put right by the keyframe's vote."""

import functools

import cv2
import numpy as np
import pytest

from inkpaint.paint.chain import KeyTrack, chained_colours, compose_flows, merge_by_residual
from inkpaint.paint.propagate import METHOD_KEY, METHOD_SECOND, METHOD_VOTE, FrameColours, propagate_colours
from inkpaint.paint.segments import segment_lines


def _frame(dx: int, size: int = 128) -> np.ndarray:
    img = np.ones((size, size, 3), np.float32)
    cv2.rectangle(img, (4, 4), (size - 5, size - 5), (0, 0, 0), 1)
    cv2.rectangle(img, (20 + dx, 40), (44 + dx, 80), (0, 0, 0), 1)
    return img


def _shift(shape: tuple[int, int], dx: float) -> np.ndarray:
    flow = np.zeros(shape + (2,), np.float32)
    flow[..., 0] = dx
    return flow


def test_compose_flows_adds_the_second_flow_where_the_first_lands():
    step = _shift((40, 50), -5.0)
    to_key = np.zeros((40, 50, 2), np.float32)
    to_key[:, :20, 0] = -7.0  # only the left part moved between the keyframe and the middle frame
    out = compose_flows(step, to_key)
    assert out[10, 30, 0] == pytest.approx(-5.0)  # lands at x=25: no further motion
    assert out[10, 22, 0] == pytest.approx(-12.0)  # lands at x=17: -5 then -7
    assert out[10, 22, 1] == pytest.approx(0.0)
    with pytest.raises(ValueError):
        compose_flows(step, to_key[:, :10])


def test_key_track_composes_each_step_back_to_the_keyframe():
    track = KeyTrack()
    assert track.advance(_shift((8, 8), -2.0))[4, 4, 0] == pytest.approx(-2.0)
    assert track.advance(_shift((8, 8), -3.0))[4, 6, 0] == pytest.approx(-5.0)
    assert track.steps == 2


def test_merge_by_residual_takes_the_better_fitting_vote_and_flags_disagreement():
    base = FrameColours(np.array([-1, 3, 3, -1], np.int32), np.array([0, 0.9, 0.9, 0], np.float32),
                        np.full(4, METHOD_VOTE, np.uint8), np.array([0, 0.5, 0.5, 0.5], np.float32))
    other = FrameColours(np.array([1, 4, 4, -1], np.int32), np.ones(4, np.float32),
                         np.full(4, METHOD_VOTE, np.uint8), np.array([0, 0.3, 0.48, 0.1], np.float32))
    out = merge_by_residual(base, other, margin=0.05, disagree_cap=0.6)
    assert out.index.tolist() == [-1, 4, 3, -1]  # 1: fits better by the margin; 2: not by the margin; 3: nothing to take
    assert out.method[1] == METHOD_SECOND and out.confidence[1] == pytest.approx(0.6)


def test_a_chain_that_lost_a_limb_gets_it_back_from_the_keyframe_through_the_composed_flow():
    """Key (box at x=20), frame 1 (+16 px), frame 2 (+32 px). Frame 1 was left with the box unpainted (the chain
    drifted: e.g. the box was hidden there); the direct flow frame 2 -> keyframe lost the 32 px move. The neighbour
    alone leaves frame 2's box unpainted, the direct keyframe vote paints it the wrong colour, and the keyframe's
    vote through the chain's own flows (frame 2 -> 1 -> key) paints it right."""
    key, f1, f2 = (segment_lines(_frame(dx)) for dx in (0, 16, 32))
    idx = np.full(key.n + 1, 2, np.int32)
    idx[key.fill[60, 30]] = 1  # the box
    key_col = FrameColours(idx, np.ones(key.n + 1, np.float32), np.full(key.n + 1, METHOD_KEY, np.uint8))
    drifted = propagate_colours(key, key_col, f1, 3, flow=_shift(f1.shape, -16.0))
    box1, box2 = f1.fill[60, 30 + 16], f2.fill[60, 30 + 32]
    assert drifted.index[box1] == 1
    drifted.index[box1] = -1  # the chain lost it on frame 1

    vote = functools.partial(propagate_colours, target=f2, n_colours=3)
    track = KeyTrack()
    track.advance(_shift(f1.shape, -16.0))  # frame 1 -> key
    step = _shift(f2.shape, -16.0)  # frame 2 -> frame 1
    lost_direct = vote(key, key_col, flow=np.zeros(f2.shape + (2,), np.float32))  # the direct flow missed the move

    neighbour_only = vote(f1, drifted, flow=step)
    assert neighbour_only.index[box2] != 1
    with_direct = merge_by_residual(neighbour_only, lost_direct, 0.05)
    assert with_direct.index[box2] != 1
    out = chained_colours(vote, f2, f1, drifted, key, key_col, track, direct=lambda: lost_direct, step=step)
    assert out.index[box2] == 1
    assert out.residual is not None and out.residual[box2] < 0.2
    # the rest of the frame is as the neighbour painted it
    outer = f2.fill[10, 100]
    assert out.index[outer] == 2 == neighbour_only.index[outer]


def test_first_step_is_the_keyframe_vote_alone():
    key, f1 = segment_lines(_frame(0)), segment_lines(_frame(16))
    key_col = FrameColours(np.full(key.n + 1, 2, np.int32), np.ones(key.n + 1, np.float32),
                           np.full(key.n + 1, METHOD_KEY, np.uint8))
    calls: list[int] = []

    def vote(ref, ref_colours, flow):
        calls.append(1)
        return propagate_colours(ref, ref_colours, f1, 3, flow=flow)

    track = KeyTrack()
    out = chained_colours(vote, f1, key, key_col, key, key_col, track, step=_shift(f1.shape, -16.0))
    assert len(calls) == 1 and track.steps == 1 and (out.index[1:] == 2).all()
