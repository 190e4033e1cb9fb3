"""Colour from structure: where a frame's votes disagree, the segment graph of the keyframe picks the colour.

A chained frame (:mod:`inkpaint.paint.chain`) has up to three votes per segment: from its painted neighbour, from
the keyframe's direct flow and from the keyframe through the chain's composed flow. On big motion (a limb swing, a
head turn) the flows fail on the small segments first (an eye highlight, a piece of sclera, a hair-shadow piece):
the votes disagree and the residual rule picks among them by how well each flow fits the line art, which on a small
segment says little. What survives that motion is the segment's place in the drawing's graph: an eye highlight is a
small segment bounded by iris across black lines, a hair-shadow piece a segment bounded by hair across a blue
(shadow) line and by skin across a black one (seed 002's inclusion idea, as relations between segments).

So each segment gets a *context*: how its boundary is shared among its neighbours' colours, per line kind
(:func:`context_histograms`: shared line length per ``(neighbour colour, line kind)``, normalised; neighbours of at
most :data:`TINY` px are left out, their colours only follow their corners). A target segment is compared with every
painted keyframe segment by histogram intersection of the two contexts times an area term
(:func:`structure_scores`); each colour scores its best-matching keyframe segment. Where the votes disagree,
:func:`arbitrate` gives the segment the voted colour with the best structural score, and keeps the current colour on
a tie. It never paints a colour no vote proposed, and it does nothing where the votes agree, so confident votes
stand.

How it was chosen (synth_train only, never synth_dev; docs/benchmarks.md, issue 16): first as a post-hoc arbiter
over cached chain votes on 16 synth_train a clips (the keyframe's GT colours as the reference, classic votes,
segments over 10 px where the three votes disagree): the residual rule was right on 1618 of 2974 such segments, the
structural pick on 1738; without the line kinds in the context fewer (1147 against 1192 at <= 200 px); the
flow-carried position as a further term (exp(-distance / 32..128 px)) did not help. In the chain itself a small
structural lead flips right colours too, and the chain carries them: hence :data:`STRUCTURE_GAP`.
"""

from __future__ import annotations

import numpy as np

from .propagate import METHOD_SECOND, FrameColours, inclusion_votes, paint_tiny_segments, warp_index
from .segments import Segmentation
from .shading import LineAdjacency, line_adjacency

TINY = 10
"""Neighbours of at most this many px do not count in a context (slivers at line junctions; their colour follows a
corner neighbour, :func:`~inkpaint.paint.propagate.paint_tiny_segments`), and such segments are not arbitrated
(the tiny-segment pass re-colours them after the arbitration)."""
N_KINDS = 5
"""Line kinds (``segments.LINE_*``: none, black, red, blue, green)."""
AREA_SCALE = 1.0
"""Area term ``exp(-|log(area_t / area_r)| / AREA_SCALE)``: a keyframe segment half or twice the size scores 0.5x."""
STRUCTURE_GAP = 0.2
"""How much better (in score, 0..1) the structural pick must match than the current colour to replace it. Chosen on
4 synth_train a clips (006, 011, 012, 015), classic chained segment accuracy, in-chain (fixes carry to later frames):
without arbitration 0.890; gap 0: 0.890 (a/clip_006 0.962 -> 0.948: near ties flip right colours and the chain
carries them); gap 0.2: 0.899 (no clip down); gap 0.2 on segments <= 200 px only: 0.897. Confirmed on 20 other
synth_train clips (a 000-005, 007-010, 013, 014, b 000-007): 0.751 -> 0.766 at 0.15 and 0.2, 0.762 at 0.3; at 0.2, 19
of 20 clips up, one down by 0.001."""
STRUCTURE_CONFIDENCE = 0.6
"""Confidence cap of an arbitrated segment: its votes disagreed, so QC shows it (under the 0.75 mark)."""
RUNNER_UP_SHARE = 0.1
"""A colour covering at least this share of a weak segment's flow-warped pixels is a candidate besides the vote's own
pick (:func:`runner_up_votes`)."""
RUNNER_UP_CONFIDENCE = 0.75
"""Segments whose vote confidence is under this (the QC's low-confidence mark), or whose voted colour covers less
than this share of their flow-warped pixels, are weak: their runner-up colours are candidates. (The share test matters
for the learned matcher, whose probabilities are over-confident; classic consecutive segment accuracy on 12
synth_train clips 0.8772 without it, 0.8776 with it.)"""
RUNNER_UP_RANKS = 3
"""How many of a weak segment's most-voted colours are candidates."""
CHUNK = 256
"""Target segments scored per block (bounds the ``(block, reference segments, context columns)`` array)."""


def context_histograms(seg: Segmentation, index: np.ndarray, n_colours: int,
                       adj: LineAdjacency | None = None) -> np.ndarray:
    """Each segment's boundary shared among its neighbours' colours, per line kind.

    Args:
        seg: the segmentation.
        index: ``(n + 1,)`` colour index per segment, ``-1`` unpainted (counted as a colour of its own).
        n_colours: size of the colour table.
        adj: ``line_adjacency(seg)`` if already computed.

    Returns:
        ``(n + 1, (n_colours + 1) * N_KINDS)`` float64; row ``i``, column ``kind * (n_colours + 1) + index + 1`` is the
        share of segment ``i``'s line boundary (with neighbours over :data:`TINY` px) shared with a neighbour of that
        colour across a line of that kind. Rows sum to 1 (0 for a segment with no such neighbour).
    """
    adj = adj if adj is not None else line_adjacency(seg)
    k1 = n_colours + 1
    h = np.zeros((seg.n + 1, k1 * N_KINDS))
    big = seg.area > TINY
    for x, y in ((adj.a, adj.b), (adj.b, adj.a)):
        m = big[y]
        col = np.clip(index[y[m]], -1, n_colours - 1) + 1 + k1 * np.clip(adj.kind[m].astype(np.int64), 0, N_KINDS - 1)
        np.add.at(h, (x[m], col), adj.weight[m])
    return h / np.maximum(h.sum(1, keepdims=True), 1e-12)


def structure_scores(target: Segmentation, index: np.ndarray, ref: Segmentation, ref_index: np.ndarray,
                     n_colours: int, segments: np.ndarray) -> np.ndarray:
    """How well each colour's keyframe segments match the given target segments in context and area.

    Args:
        target: the target segmentation.
        index: ``(n + 1,)`` the target's current colours (the contexts are built from them).
        ref: the reference (keyframe) segmentation.
        ref_index: ``(m + 1,)`` its colours.
        n_colours: size of the colour table.
        segments: ``(T,)`` target segment ids to score.

    Returns:
        ``(T, n_colours)`` float64 in 0..1: per colour, the best ``intersection(context_t, context_r) * area term``
        over the reference segments ``r`` of that colour (over :data:`TINY` px); 0 where the reference has none.
    """
    out = np.zeros((len(segments), n_colours))
    refs = np.flatnonzero((ref.area > TINY) & (ref_index >= 0))
    refs = refs[refs > 0]
    if not len(segments) or not len(refs):
        return out
    ht = context_histograms(target, index, n_colours)[segments]
    hr = context_histograms(ref, ref_index, n_colours)[refs]
    cols = np.flatnonzero(ht.any(0))  # only columns the targets have can intersect
    ht, hr = ht[:, cols], hr[:, cols]
    log_ar = np.log(np.maximum(ref.area[refs], 1).astype(np.float64))
    rcol = ref_index[refs]
    for s in range(0, len(segments), CHUNK):
        t = segments[s: s + CHUNK]
        inter = np.minimum(ht[s: s + CHUNK, None, :], hr[None, :, :]).sum(2)
        la = np.abs(np.log(np.maximum(target.area[t], 1).astype(np.float64))[:, None] - log_ar[None, :])
        sc = inter * np.exp(-la / AREA_SCALE)
        best = np.zeros((len(t), n_colours))
        for j in range(sc.shape[1]):  # per reference segment, its colour's running max
            np.maximum(best[:, rcol[j]], sc[:, j], out=best[:, rcol[j]])
        out[s: s + CHUNK] = best
    return out


def arbitrate(target: Segmentation, colours: FrameColours, votes: list[FrameColours], ref: Segmentation,
              ref_colours: FrameColours, n_colours: int, tiny: int = 0,
              cap: float = STRUCTURE_CONFIDENCE, gap: float = STRUCTURE_GAP, max_area: int = 0) -> FrameColours:
    """Where ``votes`` disagree on a segment, give it the voted colour whose keyframe segments match its context best.

    Args:
        target: the frame's segmentation.
        colours: its colours after the usual merge (kept where the votes agree or on a structural tie).
        votes: the frame's votes (e.g. neighbour, direct keyframe, composed keyframe), same segmentation.
        ref: the keyframe's segmentation (its colours are the truth the structure is read from).
        ref_colours: the keyframe's colours.
        n_colours: size of the colour table.
        tiny: the tiny-segment pass's size (0 = off): segments of at most this many px are re-coloured from their
            corner neighbours after the arbitration, as the vote did.
        cap: confidence cap of a changed segment.
        gap: score advantage the structural pick needs over the current colour (:data:`STRUCTURE_GAP`).
        max_area: only segments of at most this many px are arbitrated; 0 = any size.

    Returns:
        New colours; changed segments get method ``painted_second_pass`` and confidence at most ``cap``.
    """
    if len(votes) < 2 or target.n == 0:
        return colours
    cand = np.stack([colours.index] + [v.index for v in votes])
    disagree = ((cand != cand[0]) & (cand >= 0)).any(0) & (target.area > TINY)
    if max_area > 0:
        disagree &= target.area <= max_area
    disagree[0] = False
    segs = np.flatnonzero(disagree)
    if not len(segs):
        return colours
    scores = structure_scores(target, colours.index, ref, ref_colours.index, n_colours, segs)
    c = cand[:, segs]
    s = np.where(c >= 0, scores[np.arange(len(segs))[None, :], np.clip(c, 0, None)], -1.0)
    best = s.argmax(0)
    pick = c[best, np.arange(len(segs))]
    take = s[best, np.arange(len(segs))] > s[0] + gap  # strictly better than the current colour
    if not take.any():
        return colours
    t = segs[take]
    index = colours.index.copy()
    index[t] = pick[take]
    conf = colours.confidence.copy()
    conf[t] = np.minimum(conf[t], cap)
    method = colours.method.copy()
    method[t] = METHOD_SECOND
    out = FrameColours(index.astype(np.int32), conf.astype(np.float32), method.astype(np.uint8), colours.residual)
    if tiny > 0:
        out = paint_tiny_segments(target, out, tiny)
    return out


def runner_up_votes(target: Segmentation, colours: FrameColours, ref: Segmentation, ref_colours: FrameColours,
                    flow: np.ndarray, n_colours: int, min_share: float = RUNNER_UP_SHARE,
                    weak: float = RUNNER_UP_CONFIDENCE, ranks: int = RUNNER_UP_RANKS) -> list[FrameColours]:
    """The colours a vote nearly chose, as extra votes for :func:`arbitrate` (a pair has only one vote).

    Args:
        target: the frame's segmentation.
        colours: its vote from ``ref`` (:func:`~inkpaint.paint.propagate.propagate_colours` or the matcher).
        ref: the reference frame's segmentation.
        ref_colours: its colours.
        flow: ``(H, W, 2)`` target -> reference flow the vote used.
        n_colours: size of the colour table.
        min_share: a colour needs this share of the segment's warped pixels.
        weak: only segments with a confidence under this, or whose voted colour covers less than this share of
            their warped pixels, get candidates.
        ranks: how many of the most-voted colours.

    Returns:
        ``ranks`` colourings, the ``r``-th holding each weak segment's ``r``-th most-voted colour where it reaches
        ``min_share``, else the vote's own colour.
    """
    warped = warp_index(ref_colours.pixel_index(ref), flow)
    v = inclusion_votes(target.labels, target.n, warped, n_colours)[:, 1:]
    share = v / np.maximum(v.sum(1, keepdims=True), 1)
    rows = np.arange(target.n + 1)
    own = share[rows, np.clip(colours.index, 0, n_colours - 1)]
    # weak: low confidence, or the vote's colour covers little of the warped pixels (a matcher's probability can be
    # confident where the flow is not)
    is_weak = ((colours.confidence < weak) | (own < weak)) & (target.area > TINY)
    is_weak[0] = False
    order = np.argsort(-share, axis=1, kind="stable")
    out = []
    for r in range(min(ranks, n_colours)):
        c = order[:, r]
        ok = is_weak & (share[rows, c] >= min_share)
        out.append(FrameColours(np.where(ok, c, colours.index).astype(np.int32), colours.confidence, colours.method,
                                colours.residual))
    return out
