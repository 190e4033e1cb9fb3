"""The keyframe's flow carried along a chain: each chained frame also votes from the keyframe through composed flow.

A chained frame (:mod:`inkpaint.ops.paint`) is coloured from its painted neighbour (flow frame -> neighbour) and
from the keyframe directly (flow frame -> keyframe). Both fail in the same way on clips with big motion:

- the neighbour's colours are only as right as the neighbour, so a limb mispainted once stays mispainted on every
  later frame (the chain's error accumulates);
- the direct flow to a keyframe many drawings away cannot follow a limb swing or a turn (DIS searches a few tens
  of px; the arm moved a hundred).

This module adds a third vote. The small, reliable steps' flows are chained back to the keyframe
(:func:`compose_flows`: ``flow(f -> key) = flow(f -> f-1) + flow(f-1 -> key)`` sampled where the first step lands),
so the keyframe's own (ground-truth) colours are carried through the chain's geometry without passing through the
neighbours' colour decisions. The chain's vote keeps a segment unless the composed vote explains its line art
better by :data:`COMPOSED_RESIDUAL_MARGIN` px of flow residual, or the chain left it unpainted (the rule the direct
keyframe vote already follows). It costs one extra vote per frame and no extra optical flow.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from .propagate import METHOD_SECOND, FrameColours, dense_flow, flow_image
from .segments import Segmentation
from .structure import arbitrate, runner_up_votes

KEY_RESIDUAL_MARGIN = 0.05
"""A chained frame takes the keyframe's direct vote (flow frame -> keyframe) for a segment when that flow's residual
is lower than the chain's by this many px: whichever flow explains the line art better wins, the chain on a near
tie. The keyframe carries ground-truth colours, the neighbour only its own decisions, so a better fit by a little
is enough. Was 0.25. Classic chained segment accuracy on 16 synth_train clips (not synth_dev; two sets of 8, the
second used only to confirm; docs/benchmarks.md, issue-16 section), direct vote alone: 0.25 -> 0.791, 0.1 -> 0.808,
0.05 -> 0.811 (each step down helped on both sets); with the composed vote at the same margin, 0.05 -> 0.813 and
0 -> 0.814."""
DISAGREE_CONFIDENCE = 0.6
"""Confidence cap (under the QC's low-confidence mark) where the chain and a keyframe vote chose different colours."""

COMPOSED_RESIDUAL_MARGIN = 0.05
"""Residual advantage (px) the composed keyframe vote needs to replace the chain's colour: the same rule as the
direct keyframe vote's (:data:`KEY_RESIDUAL_MARGIN`). Measured on the same 16 synth_train clips: with the direct vote
at 0.05, adding the composed vote moves the mean 0.811 -> 0.813 (6 clips up by up to 0.017, 4 down by up to 0.002)."""


def compose_flows(step: np.ndarray, to_key: np.ndarray) -> np.ndarray:
    """Chain two backward flows: ``step`` maps frame f onto frame g, ``to_key`` maps g onto the keyframe.

    Args:
        step: ``(H, W, 2)`` float32 flow f -> g (``f(p) ~ g(p + step(p))``).
        to_key: ``(H, W, 2)`` float32 flow g -> key.

    Returns:
        ``(H, W, 2)`` float32 flow f -> key: ``step(p) + to_key(p + step(p))`` (bilinear; points that land outside
        the frame take the nearest edge's flow).

    Raises:
        ValueError: the flows differ in shape or are not ``(H, W, 2)``.
    """
    if step.shape != to_key.shape or step.ndim != 3 or step.shape[2] != 2:
        raise ValueError(f"flows must both be (H, W, 2); got {step.shape} and {to_key.shape}")
    h, w = step.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    mx = gx + step[..., 0].astype(np.float32)
    my = gy + step[..., 1].astype(np.float32)
    carried = cv2.remap(to_key.astype(np.float32), mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return (step + carried).astype(np.float32)


class KeyTrack:
    """The flow from the chain's current frame back to its keyframe, composed step by step.

    Usage along a chain ``key, f1, f2, ...``: ``track.advance(flow(f1 -> key))``, then
    ``track.advance(flow(f2 -> f1))`` ... each returns the flow from the newest frame to the keyframe.
    """

    def __init__(self) -> None:
        self.flow: np.ndarray | None = None
        self.steps = 0

    def advance(self, step: np.ndarray) -> np.ndarray:
        """Add one step's flow (newest frame -> the previous one). Returns the newest frame -> keyframe flow."""
        self.flow = step.astype(np.float32) if self.flow is None else compose_flows(step, self.flow)
        self.steps += 1
        return self.flow


def merge_by_residual(base: FrameColours, other: FrameColours, margin: float,
                      disagree_cap: float = DISAGREE_CONFIDENCE) -> FrameColours:
    """Per segment, ``other``'s vote where ``base`` left the segment unpainted or ``other``'s flow explains the
    segment's line art better (:func:`~inkpaint.paint.propagate.flow_residual` lower by ``margin`` px).

    Only painted votes of ``other`` are taken, so nothing is guessed. Where ``base`` had painted another colour the
    two sources disagree and the confidence is capped at ``disagree_cap`` (under the QC's low-confidence mark).

    Args:
        base: ``(n + 1,)`` colours to keep by default (the chain's vote).
        other: a second vote for the same segmentation.
        margin: residual advantage (px) ``other`` needs.
        disagree_cap: confidence cap where the two disagree.

    Returns:
        The merged colours; taken segments get status ``painted_second_pass``.
    """
    take = (base.index < 0) & (other.index >= 0)
    if base.residual is not None and other.residual is not None:
        take |= (other.index >= 0) & (other.residual < base.residual - margin)
    take[0] = False
    if not take.any():
        return base
    res = None
    if base.residual is not None and other.residual is not None:
        res = np.where(take, other.residual, base.residual).astype(np.float32)
    disagree = take & (base.index >= 0) & (base.index != other.index)
    conf = np.where(take, other.confidence, base.confidence)
    conf = np.where(disagree, np.minimum(conf, disagree_cap), conf)
    return FrameColours(np.where(take, other.index, base.index).astype(np.int32), conf.astype(np.float32),
                        np.where(take, METHOD_SECOND, base.method).astype(np.uint8), res)


def chained_colours(vote: Callable[..., FrameColours], target: Segmentation, prev: Segmentation,
                    prev_colours: FrameColours, key: Segmentation, key_colours: FrameColours, track: KeyTrack,
                    direct: Callable[[], FrameColours] | None = None, step: np.ndarray | None = None,
                    key_margin: float = KEY_RESIDUAL_MARGIN,
                    composed_margin: float = COMPOSED_RESIDUAL_MARGIN, n_colours: int = 0,
                    tiny: int = 0) -> FrameColours:
    """Colour one chained frame from its painted neighbour and from the keyframe (directly and through the chain).

    Args:
        vote: ``vote(ref, ref_colours, flow=...)`` for this target (``propagate_colours`` or the learned matcher,
            target and settings bound).
        target: the frame to colour.
        prev: the painted neighbour the chain comes from (the keyframe itself on the chain's first step).
        prev_colours: its colours.
        key: the chain's keyframe.
        key_colours: its colours.
        track: the chain's :class:`KeyTrack` (advanced here by one step).
        direct: the keyframe's direct vote (flow target -> keyframe), usually computed in another thread; ``None``
            on the first step (the neighbour is the keyframe) or to skip it.
        step: the ``(H, W, 2)`` flow target -> ``prev`` (else computed with DIS).
        key_margin: residual advantage the direct keyframe vote needs.
        composed_margin: residual advantage the composed keyframe vote needs.
        n_colours: size of the colour table; when given, segments the votes disagree on are arbitrated by the
            keyframe's segment graph (:func:`inkpaint.paint.structure.arbitrate`); on the chain's first step (one
            vote) the alternatives are the vote's runner-up colours of weak segments
            (:func:`~inkpaint.paint.structure.runner_up_votes`); 0 = off.
        tiny: the votes' tiny-segment size (0 = off), re-applied after the arbitration.

    Returns:
        The frame's colours: the neighbour's vote, overridden per segment by :func:`merge_by_residual` with the
        direct, then the composed keyframe vote, then (``n_colours``) by structure where the votes disagree.
    """
    if step is None:
        step = dense_flow(flow_image(target), flow_image(prev))
    to_key = track.advance(step)
    col = vote(prev, prev_colours, flow=step)
    if prev is key:
        if n_colours > 0:  # one vote: its runner-up colours are the alternatives structure picks from
            col = arbitrate(target, col, [col] + runner_up_votes(target, col, key, key_colours, step, n_colours),
                            key, key_colours, n_colours, tiny=tiny)
        return col
    votes = [col]
    if direct is not None:
        votes.append(direct())
        col = merge_by_residual(col, votes[-1], key_margin)
    votes.append(vote(key, key_colours, flow=to_key))
    col = merge_by_residual(col, votes[-1], composed_margin)
    if n_colours > 0:
        col = arbitrate(target, col, votes, key, key_colours, n_colours, tiny=tiny)
    return col
