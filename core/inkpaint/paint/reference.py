"""Reference mode: colour line art from coloured reference images of the character in any pose (seeds 001/002).

A reference is a painted image of the character (a design-sheet view, or any painted frame), with or without its
own line art. It acts like a keyframe that may be far away: another pose, another size, another place in the frame.
Per target frame (:meth:`ReferenceSet.vote`):

1. **Line art of the reference** (:func:`derive_line_art`, when none is given): a pixel is ink when it is dark
   and thin (``max(R, G, B) <`` :data:`DARK` of 255 and not inside a dark area that survives a
   :data:`THICK` px opening: drawn lines composited over the paint, not black hair), or when its colour differs
   from its right or lower neighbour by more than :data:`EDGE_STEP` (8-bit, any channel, alpha included): a colour
   edge.
   Marking one side of every colour change closes every region for a 4-connected flood fill, so each derived
   segment holds one colour.
2. **Reference colours per segment**: the reference's segments (its own line art, segmented with the job's
   settings) take their majority colour (:func:`inkpaint.paint.colours.colours_from_image`), snapped to the palette;
   the snap distance is reported (:attr:`Reference.snap`), as for keyframes.
3. **Alignment** (:func:`alignments`): the reference is mapped onto the target frame by a uniform scale and a
   shift. Candidates: fit the whole frame (identity for same-size frames), and fit the character's bounding box
   (the ink's, robust percentiles) by its height, width or area, anchored at the box's centre, top or bottom,
   ranked by how close the warped line art lies to the target's (symmetric chamfer distance at a working size), so
   a reference drawn smaller/larger or elsewhere in the frame lands on the character. Scales outside
   ``1/MAX_SCALE .. MAX_SCALE`` are an error naming the file and both sizes.
4. **Consistent resampling** (:func:`warp_source`): the reference's colour index is warped with nearest
   neighbour, its line art with a min-pool (darkest pixel, so lines stay lines when shrinking; colour lines keep
   their colour) before the nearest warp; outside the reference is ink. The warped line art is segmented with the
   job's settings and each segment takes the majority warped colour.
5. **Matching** (:func:`source_vote`): the job's propagation (classic flow + inclusion voting with its
   segment-level second pass, or the learned inclusion matcher) runs from the aligned reference to the target,
   under the frame fit and the :data:`REF_FITS` best box fits; per segment the best vote wins. The alignment
   removes the character's global scale and shift (its place relative to its bounding box is what is matched), so
   what is left for the flow is the pose change; segments the flow does not explain fall to the second pass /
   matcher, which score reference segments by overlap, area ratio and flow-carried position, with painted
   neighbours' colours (adjacency) breaking ties.
6. **Several references** (:func:`combine_votes`): per target segment, the reference whose vote is best: painted
   over unpainted, a region the reference has over a new region (one its line art lacks), then the higher
   confidence. A segment visible only in the second reference takes its colour from there.
7. **Colour lines are inside parts** (:func:`no_background_across_colour_lines`, with a palette): by the
   colour-trace convention a blue/red line separates two tones of one part, never a part from the background. A far
   reference's flow often lands a target segment on reference background (the character moved or turned); where
   such a segment meets a colour line (and does not reach the frame's edge, as the open background does) it is
   repainted from its neighbours across colour lines with the tone model
   (:func:`inkpaint.paint.shading.shade_from_lines`), and tiny segments follow again.
8. **Neighbour** (:func:`merge_neighbour`): a frame painted after another in the shot uses both: the painted
   neighbour's vote, and the references' where the neighbour left a segment unpainted or new, or where the
   reference's flow explains the segment's line art better (lower flow residual by a margin).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import cv2
import numpy as np

from ..errors import FrameError, SpecError
from .colours import ColourTable, colours_from_image, rgba8
from .propagate import (METHOD_KEY, METHOD_LINES, METHOD_NEW, METHOD_NONE, METHOD_SECOND, TINY_SEGMENT, FrameColours,
                        paint_tiny_segments, tiny_rule_agreement, tiny_rule_holds)
from .segments import LINE_BLUE, LINE_RED, Segmentation, segment_lines
from .shading import ToneModel, line_adjacency, shade_from_lines

DARK = 64
"""A reference pixel darker than this (8-bit, every channel) is a drawn line when its line art is derived."""
THICK = 5
"""Dark areas that hold a ``THICK`` x ``THICK`` square are paint (dark hair), not drawn lines."""
EDGE_STEP = 8
"""Colour step (8-bit, any channel) between neighbouring reference pixels that makes a colour edge. Low, because paint
close to the paper is common (laughing_girl's blouse is (233, 243, 245) on white: at 24 it joined the background);
noise only adds small segments, each still taking its majority colour."""
MAX_SCALE = 8.0
"""Largest scale (either way) between a reference and the line art; beyond it the reference is refused."""
WORK_SIDE = 256
"""Longer side (px) of the alignment's working size."""
CHAMFER_CAP = 16.0
"""Distances (working px) are capped at this in the alignment score."""
REF_FITS = 2
"""Bounding-box fits voted per reference besides the frame fit (:func:`source_vote`); a painted neighbour in the shot
gets one, only where it beats the frame fit (it is near; each fit costs a flow and a segmentation)."""
NEIGHBOUR_MARGIN = 0.25
"""Flow-residual advantage (px) a reference's vote needs over the painted neighbour's to replace it."""
DISAGREE_CONFIDENCE = 0.6
"""Confidence cap where the neighbour and the reference disagree and the reference's colour is taken."""


@dataclasses.dataclass
class SnapReport:
    """How far a reference's colours were from the palette.

    Attributes:
        segments: reference segments whose colour is not in the palette (snapped to the nearest entry).
        max_distance: largest snap distance, 8-bit RGB units.
        mean_distance: mean snap distance over those segments.
        worst: ``"#rrggbb -> part/tone"`` of the largest snap.
    """

    segments: int
    max_distance: float
    mean_distance: float
    worst: str


@dataclasses.dataclass
class Reference:
    """One loaded reference.

    Attributes:
        image: the reference image's path.
        line_path: its line art's path (``None``: derived, :func:`derive_line_art`).
        rgba: ``(H, W, 4)`` uint8 colours as read (alpha 0 = background).
        source: the reference as a matching source: its per-pixel colour index (each segment's majority colour,
            snapped, spread under its lines), line art, segmentation and colours.
        snap: palette snap report (``None``: every colour was in the palette, or no palette).
        tiny_rule: :func:`~inkpaint.paint.propagate.tiny_rule_agreement` on the reference's own colours
            ``(agreement, evidence)``: whether its line art closes corners the way the tiny-segment pass assumes.
    """

    image: str
    line_path: str | None
    rgba: np.ndarray
    source: "Source"
    snap: SnapReport | None = None
    tiny_rule: tuple[float, int] = (0.0, 0)

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` px."""
        return int(self.rgba.shape[1]), int(self.rgba.shape[0])


@dataclasses.dataclass
class Source:
    """A painted frame to match from, at its own size: a reference, or a painted neighbour in the shot.

    Attributes:
        index: ``(H, W)`` int32 colour index per pixel (-1 unpainted, 0 background), lines included.
        line: ``(H, W, 3)`` float32 0..1 line art (white paper; colour lines keep their colour).
        seg: its segmentation (reused when the alignment is the identity).
        colours: its segments' colours.
    """

    index: np.ndarray
    line: np.ndarray
    seg: Segmentation
    colours: FrameColours

    @property
    def ink(self) -> np.ndarray:
        return self.seg.lines.ink

    @classmethod
    def from_frame(cls, seg: Segmentation, colours: FrameColours) -> "Source":
        """A painted frame of the shot as a source."""
        ink = seg.lines.ink[..., None]
        line = np.where(ink, seg.lines.color, 1.0).astype(np.float32)
        return cls(colours.pixel_index(seg), line, seg, colours)


@dataclasses.dataclass
class Alignment:
    """A reference -> target mapping: ``target = scale * reference + (tx, ty)`` (pixel centres).

    Attributes:
        scale: uniform scale.
        shift: ``(tx, ty)`` px in the target frame.
        name: which candidate won (``frame``, ``bbox-height-centre`` ...).
        chamfer: its symmetric chamfer distance, working px (lower = closer).
    """

    scale: float
    shift: tuple[float, float]
    name: str
    chamfer: float

    def matrix(self) -> np.ndarray:
        """``(2, 3)`` float64 affine reference -> target."""
        return np.array([[self.scale, 0.0, self.shift[0]], [0.0, self.scale, self.shift[1]]], np.float64)

    @property
    def identity(self) -> bool:
        return abs(self.scale - 1.0) < 1e-9 and abs(self.shift[0]) < 1e-9 and abs(self.shift[1]) < 1e-9


def derive_line_art(rgba: np.ndarray, dark: int = DARK, step: int = EDGE_STEP) -> np.ndarray:
    """Line art of a coloured image: dark pixels and colour edges (see the module docstring, step 1).

    Args:
        rgba: ``(H, W, 3|4)`` uint8.
        dark: pixels with every channel under this are ink (unless inside a dark area at least :data:`THICK` px
            across).
        step: a channel difference above this to the right or lower neighbour makes the pixel ink.

    Returns:
        ``(H, W, 3)`` float32 0..1: black ink on white.
    """
    a = rgba.astype(np.int16)
    if a.shape[2] == 3:
        a = np.dstack([a, np.full(a.shape[:2], 255, np.int16)])
    a[..., :3] = np.where(a[..., 3:4] < 128, 255, a[..., :3])  # transparent = white paper
    a[..., 3] = np.where(a[..., 3] < 128, 0, 255)
    dark_px = np.asarray((a[..., :3] < dark).all(-1), np.uint8)
    fill = cv2.morphologyEx(dark_px, cv2.MORPH_OPEN, np.ones((THICK, THICK), np.uint8)) > 0
    ink = (dark_px > 0) & ~fill
    right = np.zeros(ink.shape, bool)
    right[:, :-1] = (np.abs(a[:, :-1] - a[:, 1:]) > step).any(-1)
    down = np.zeros(ink.shape, bool)
    down[:-1] = (np.abs(a[:-1] - a[1:]) > step).any(-1)
    ink |= right | down
    return np.repeat(np.where(ink, 0.0, 1.0).astype(np.float32)[..., None], 3, -1)


def ink_bbox(ink: np.ndarray, q: float = 0.5) -> tuple[float, float, float, float] | None:
    """Robust bounding box ``(x0, y0, x1, y1)`` of the ink (``q`` / ``100 - q`` percentiles), ``None`` when blank."""
    ys, xs = np.nonzero(ink)
    if len(xs) < 4:
        return None
    x0, x1 = np.percentile(xs, [q, 100 - q])
    y0, y1 = np.percentile(ys, [q, 100 - q])
    return float(x0), float(y0), float(x1) + 1.0, float(y1) + 1.0


def _capped_distance(ink: np.ndarray) -> np.ndarray:
    d = cv2.distanceTransform((~ink).astype(np.uint8), cv2.DIST_L2, 3)
    return np.minimum(d, CHAMFER_CAP).astype(np.float32)


def _shrink_ink(ink: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Ink at a smaller ``(w, h)``, a working pixel inked when any ink falls in it."""
    return cv2.resize(ink.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0


def _candidates(rb: tuple[float, float, float, float], tb: tuple[float, float, float, float],
                ref_size: tuple[int, int], tgt_size: tuple[int, int]) -> list[tuple[str, float, float, float]]:
    (rw, rh), (tw, th) = ref_size, tgt_size
    out = []
    s = min(tw / rw, th / rh)
    out.append(("frame", s, (tw - s * rw) / 2.0, (th - s * rh) / 2.0))
    bw_r, bh_r = max(rb[2] - rb[0], 1.0), max(rb[3] - rb[1], 1.0)
    bw_t, bh_t = max(tb[2] - tb[0], 1.0), max(tb[3] - tb[1], 1.0)
    for sname, s in (("height", bh_t / bh_r), ("width", bw_t / bw_r), ("area", float(np.sqrt(bw_t * bh_t / (bw_r * bh_r))))):
        cx_r, cx_t = (rb[0] + rb[2]) / 2.0, (tb[0] + tb[2]) / 2.0
        tx = cx_t - s * cx_r
        for aname, yr, yt in (("centre", (rb[1] + rb[3]) / 2.0, (tb[1] + tb[3]) / 2.0), ("top", rb[1], tb[1]), ("bottom", rb[3], tb[3])):
            out.append((f"bbox-{sname}-{aname}", s, tx, yt - s * yr))
    return out


def align(ref_ink: np.ndarray, target_ink: np.ndarray, *, what: str = "reference") -> Alignment:
    """The scale + shift that lays the reference's line art onto the target's (module docstring, step 3): the best
    of :func:`alignments`."""
    return alignments(ref_ink, target_ink, what=what)[0]


def alignments(ref_ink: np.ndarray, target_ink: np.ndarray, *, what: str = "reference") -> list[Alignment]:
    """Every candidate scale + shift laying the reference's line art onto the target's, best (lowest chamfer) first.

    Args:
        ref_ink: ``(Hr, Wr)`` bool reference ink.
        target_ink: ``(Ht, Wt)`` bool target ink.
        what: names the reference in errors.

    Returns:
        :class:`Alignment` candidates sorted by chamfer distance (only the frame fit when either has no ink).

    Raises:
        FrameError: the scale is beyond :data:`MAX_SCALE` either way.
    """
    (hr, wr), (ht, wt) = ref_ink.shape, target_ink.shape
    rb, tb = ink_bbox(ref_ink), ink_bbox(target_ink)
    cands = _candidates(rb, tb, (wr, hr), (wt, ht)) if rb is not None and tb is not None else \
        _candidates((0, 0, wr, hr), (0, 0, wt, ht), (wr, hr), (wt, ht))[:1]
    frame_scale = cands[0][1]
    if not 1.0 / MAX_SCALE <= frame_scale <= MAX_SCALE:
        raise FrameError(f"the reference is {wr}x{hr} and the line art {wt}x{ht}: a scale of {frame_scale:.3g} is beyond "
                         f"1/{MAX_SCALE:g}..{MAX_SCALE:g}; resize the reference to about the line art's size", path=what)
    k = WORK_SIDE / float(max(ht, wt))
    size = (max(8, int(round(wt * k))), max(8, int(round(ht * k))))
    t_small = _shrink_ink(target_ink, size)
    t_dist = _capped_distance(t_small)
    found: list[Alignment] = []
    for name, s, tx, ty in cands:
        if not 1.0 / MAX_SCALE <= s <= MAX_SCALE:
            continue
        m = np.array([[s * k, 0.0, tx * k], [0.0, s * k, ty * k]], np.float64)
        src: np.ndarray = ref_ink.astype(np.uint8)
        pool = int(np.ceil(1.0 / (s * k)))
        if pool > 1:
            src = cv2.dilate(src, np.ones((pool, pool), np.uint8))
        w_ink = cv2.warpAffine(src, m, size, flags=cv2.INTER_NEAREST, borderValue=0) > 0
        if not w_ink.any() or not t_small.any():
            score = float(CHAMFER_CAP)
        else:
            score = 0.5 * (float(t_dist[w_ink].mean()) + float(_capped_distance(w_ink)[t_small].mean()))
        found.append(Alignment(float(s), (float(tx), float(ty)), name, score))
    return sorted(found, key=lambda a: a.chamfer)  # stable: the frame fit first among equals


def warp_source(src: Source, alignment: Alignment, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """A source resampled into a target frame of ``shape`` ``(H, W)``: its colour index nearest-neighbour, its line
    art min-pooled (darkest pixel per ``ceil(1/scale)`` window, so lines survive shrinking) then nearest. Outside the
    source: ink (so regions the source cut at its frame edge stay apart instead of joining through a blank band:
    laughing_girl's blouse, hair tails and background became one segment), colour index -1 (nothing known).

    Returns:
        ``(index (H, W) int32, line (H, W, 3) float32)``.
    """
    h, w = shape
    m = alignment.matrix()
    index = cv2.warpAffine(src.index.astype(np.float32), m, (w, h), flags=cv2.INTER_NEAREST,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=-1.0).astype(np.int32)
    line = src.line
    pool = int(np.ceil(1.0 / alignment.scale - 1e-6))
    if pool > 1:
        line = cv2.erode(line, np.ones((pool, pool), np.uint8))
    line = cv2.warpAffine(line, m, (w, h), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=(0.0, 0.0, 0.0))
    return index, line


def segment_majority(seg: Segmentation, index: np.ndarray, n_colours: int) -> np.ndarray:
    """``(n + 1,)`` int32 each segment's most frequent colour in a per-pixel ``index`` map over its ``labels``
    pixels (-1 where it has none)."""
    lab = seg.labels.reshape(-1).astype(np.int64)
    idx = index.reshape(-1).astype(np.int64)
    m = (lab > 0) & (idx >= 0)
    k = n_colours
    counts = np.bincount(lab[m] * k + np.minimum(idx[m], k - 1), minlength=(seg.n + 1) * k).reshape(seg.n + 1, k)
    out = counts.argmax(1).astype(np.int32)
    out[counts.max(1) == 0] = -1
    out[0] = -1
    return out


def _line_rgb(pixels: np.ndarray, channels: list[str]) -> np.ndarray:
    """Line art as ``(H, W, 3)`` float32 on white (alpha-only / RGBA art composited over white)."""
    names = [c.split(".")[-1].upper() for c in channels]
    a = pixels[..., names.index("A")] if "A" in names else None
    if all(k in names for k in "RGB"):
        rgb = np.stack([pixels[..., names.index(k)] for k in "RGB"], -1)
    elif names == ["A"]:
        rgb = np.zeros(pixels.shape[:2] + (3,), np.float32)
    else:
        rgb = np.repeat(pixels[..., :1], 3, -1)
    if a is not None:
        rgb = rgb * a[..., None] + (1.0 - a[..., None]) if names != ["A"] else np.repeat((1.0 - a)[..., None], 3, -1)
    return np.clip(rgb, 0.0, 1.0).astype(np.float32)


def load_reference(image: str, line: str | None, table: ColourTable, *, threshold: float = 0.5, max_gap: int = 0,
                   speck_size: int = 0, tiny: int = TINY_SEGMENT) -> Reference:
    """Read a reference (and its line art, or derive it) and report its palette snap.

    Args:
        image: coloured reference (RGB/RGBA, any size).
        line: its line art, the same size (``None``: :func:`derive_line_art`).
        table: the job's colour table (without a palette, the reference's colours are added to it).
        threshold, max_gap, speck_size: the job's segmentation settings.
        tiny: the job's tiny-segment size (for :attr:`Reference.tiny_rule`).

    Raises:
        FrameError: unreadable files, line art of another size than the image, no ink at all.
    """
    from ..io.frames import read_image

    img = read_image(image)
    rgba = rgba8(img.pixels, img.channels)
    if line:
        li = read_image(line)
        if li.pixels.shape[:2] != rgba.shape[:2]:
            raise FrameError(f"the reference's line art is {li.pixels.shape[1]}x{li.pixels.shape[0]} but its image "
                             f"'{image}' is {rgba.shape[1]}x{rgba.shape[0]}; they must match pixel for pixel", path=line)
        line_rgb = _line_rgb(li.pixels, li.channels)
    else:
        line_rgb = derive_line_art(rgba)
    seg = segment_lines(line_rgb, ["R", "G", "B"], threshold=threshold, max_gap=max_gap, speck_size=speck_size)
    if seg.n == 0 or not seg.lines.ink.any():
        raise FrameError("the reference has no line art (no ink and no colour edges): nothing to match", path=line or image)
    kc = colours_from_image(seg, rgba, table)
    rcol = FrameColours(kc.index.astype(np.int32), np.where(kc.index >= 0, 1.0, 0.0).astype(np.float32),
                        np.where(kc.index >= 0, METHOD_KEY, METHOD_NONE).astype(np.uint8))
    snap = None
    far = kc.distance > 0
    if far.any():
        ids = np.flatnonzero(far)
        worst = int(ids[np.argmax(kc.distance[ids])])
        ys, xs = np.nonzero(seg.labels == worst)
        src = "#%02x%02x%02x" % tuple(int(v) for v in rgba[ys[0], xs[0], :3]) if len(xs) else "?"
        snap = SnapReport(len(ids), round(float(kc.distance[worst]), 2), round(float(kc.distance[ids].mean()), 2),
                          f"{src} -> {table.names[int(kc.index[worst])]}")
    tiny_rule = tiny_rule_agreement(seg, rcol, tiny, same_rgb=table.rgb_ids())
    return Reference(image, line, rgba, Source(rcol.pixel_index(seg), line_rgb, seg, rcol), snap, tiny_rule)


Vote = Callable[[Segmentation, FrameColours], FrameColours]
"""``vote(reference segmentation, reference colours) -> target colours`` (the job's propagation, bound to a target)."""


@dataclasses.dataclass
class ReferenceVote:
    """One reference's result on one target frame.

    Attributes:
        colours: the target's colours voted from this reference.
        alignment: how the reference was laid onto the target.
    """

    colours: FrameColours
    alignment: Alignment


def source_vote(src: Source, target: Segmentation, n_colours: int, vote: Vote, *, threshold: float = 0.5,
                max_gap: int = 0, speck_size: int = 0, what: str = "reference", fits: int = 1) -> ReferenceVote:
    """Align a source onto ``target``, segment and colour it there (each warped segment takes the majority of the
    warped colour index), and vote the target's colours from it.

    Several hypotheses are voted: the whole-frame fit (the identity for frames of one size: a character that kept its
    place) and the ``fits`` best bounding-box fits (:func:`alignments`; for ``fits=1`` only when it beats the frame
    fit). Per segment the better vote wins (:func:`combine_votes`; on equal rank the frame fit, listed first), so a
    character that moved is matched after the global move is removed, and one whose box changed only because a limb
    swung is not pulled off by a box fit. synth_dev reference mode, clip_000: best fit alone 0.361 Acc, identity
    alone 0.443, both 0.459 (a residual tie-break instead of frame-first: 0.426); mean over the 6 clips with 1 / 2 /
    3 box fits for the reference: 0.708 / 0.712 / 0.714 (:data:`REF_FITS`)."""
    cands = alignments(src.ink, target.lines.ink, what=what)
    boxes = [a for a in cands if a.name != "frame"]
    if fits <= 1:
        boxes = [cands[0]] if cands[0].name != "frame" else []
    hyps = [a for a in cands if a.name == "frame"] + boxes[:fits]
    votes = []
    for al in hyps:
        if al.identity and src.seg.shape == target.shape:
            votes.append(vote(src.seg, src.colours))
            continue
        index, line = warp_source(src, al, target.shape)
        rseg = segment_lines(line, ["R", "G", "B"], threshold=threshold, max_gap=max_gap, speck_size=speck_size)
        idx = segment_majority(rseg, index, n_colours)
        rcol = FrameColours(idx, np.where(idx >= 0, 1.0, 0.0).astype(np.float32),
                            np.where(idx >= 0, METHOD_KEY, METHOD_NONE).astype(np.uint8))
        votes.append(vote(rseg, rcol))
    return ReferenceVote(combine_votes(votes), cands[0])


def no_background_across_colour_lines(seg: Segmentation, colours: FrameColours, tones: ToneModel | None,
                                      tiny: int = 0) -> FrameColours:
    """Segments voted background that share a colour (blue/red) line with another segment and do not reach the
    frame's edge take the tone the colour line implies from their painted neighbours across colour lines (module
    docstring, step 7). The open background reaches the frame's edge, and its edges can be dominated by a colour line
    where one ends on the silhouette, so segments at the frame's edge are left as voted.

    A segment whose colour line leads to no painted neighbour stays as voted. Changed segments get status
    ``painted_colour_lines`` and the confidence of a colour-line fill, capped at :data:`DISAGREE_CONFIDENCE` (the
    vote said otherwise, so QC shows them).

    Args:
        seg: the target segmentation.
        colours: its voted colours.
        tones: the palette's tone model (``None``: returned unchanged).
        tiny: the tiny-segment size in use (0 = off); tiny segments follow their corner neighbours again after.

    Returns:
        The corrected colours.
    """
    if tones is None or seg.n < 2:
        return colours
    adj = line_adjacency(seg)
    coloured = (adj.kind == LINE_BLUE) | (adj.kind == LINE_RED)
    if not coloured.any():
        return colours
    on_line = np.zeros(seg.n + 1, bool)
    on_line[adj.a[coloured]] = True
    on_line[adj.b[coloured]] = True
    lab = seg.labels
    border = np.zeros(seg.n + 1, bool)
    border[np.unique(np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]]))] = True
    suspect = on_line & ~border & (colours.index == 0)
    suspect[0] = False
    if not suspect.any():
        return colours
    trial = np.where(suspect, -1, colours.index).astype(np.int32)
    filled = shade_from_lines(seg, trial, tones, adj)
    fixed = suspect & (filled > 0)
    if not fixed.any():
        return colours
    index = np.where(fixed, filled, colours.index).astype(np.int32)
    conf = np.where(fixed, np.minimum(colours.confidence, DISAGREE_CONFIDENCE), colours.confidence).astype(np.float32)
    method = np.where(fixed, METHOD_LINES, colours.method).astype(np.uint8)
    out = FrameColours(index, conf, method, colours.residual)
    return paint_tiny_segments(seg, out, tiny) if tiny > 0 else out


def _rank(c: FrameColours) -> np.ndarray:
    """Per segment: higher = a better vote (painted, not a new region, then confidence)."""
    return ((c.index >= 0) * 4.0 + (c.method != METHOD_NEW) * 2.0 + c.confidence).astype(np.float64)


def combine_votes(votes: list[FrameColours]) -> FrameColours:
    """Per target segment, the best of several references' votes (module docstring, step 6)."""
    if len(votes) == 1:
        return votes[0]
    rank = np.stack([_rank(v) for v in votes])
    best = rank.argmax(0)
    pick = lambda name: np.choose(best, [getattr(v, name) for v in votes])  # noqa: E731
    res = None
    if all(v.residual is not None for v in votes):
        res = pick("residual").astype(np.float32)
    return FrameColours(pick("index").astype(np.int32), pick("confidence").astype(np.float32),
                        pick("method").astype(np.uint8), res)


def merge_neighbour(neighbour: FrameColours, refs: FrameColours, margin: float = NEIGHBOUR_MARGIN) -> FrameColours:
    """The painted neighbour's vote, with the references' where it is missing or worse (module docstring, step 7)."""
    take = (refs.index >= 0) & ((neighbour.index < 0) | ((neighbour.method == METHOD_NEW) & (refs.method != METHOD_NEW)))
    if neighbour.residual is not None and refs.residual is not None:
        take |= (refs.index >= 0) & (refs.method != METHOD_NEW) & (refs.residual < neighbour.residual - margin)
    take[0] = False
    if not take.any():
        return neighbour
    disagree = take & (neighbour.index >= 0) & (neighbour.index != refs.index)
    conf = np.where(take, refs.confidence, neighbour.confidence)
    conf = np.where(disagree, np.minimum(conf, DISAGREE_CONFIDENCE), conf)
    res = None
    if neighbour.residual is not None and refs.residual is not None:
        res = np.where(take, refs.residual, neighbour.residual).astype(np.float32)
    return FrameColours(np.where(take, refs.index, neighbour.index).astype(np.int32), conf.astype(np.float32),
                        np.where(take, np.where(refs.method == METHOD_KEY, METHOD_SECOND, refs.method), neighbour.method).astype(np.uint8),
                        res)


@dataclasses.dataclass
class ReferenceSet:
    """The job's references, loaded once.

    Attributes:
        refs: the loaded references, in the job's order.
        threshold, max_gap, speck_size: the job's segmentation settings (references are segmented alike).
    """

    refs: list[Reference]
    threshold: float = 0.5
    max_gap: int = 0
    speck_size: int = 0

    @classmethod
    def load(cls, pairs: list[tuple[str, str | None]], table: ColourTable, *, threshold: float = 0.5, max_gap: int = 0,
             speck_size: int = 0, tiny: int = TINY_SEGMENT) -> "ReferenceSet":
        """Load ``(image, line or None)`` pairs (see :func:`load_reference`)."""
        refs = [load_reference(i, li, table, threshold=threshold, max_gap=max_gap, speck_size=speck_size, tiny=tiny)
                for i, li in pairs]
        return cls(refs, threshold, max_gap, speck_size)

    def tiny_rule_holds(self) -> bool:
        """Whether the tiny-segment pass may run on frames painted from the references: it holds on every reference
        that gives evidence (:func:`~inkpaint.paint.propagate.tiny_rule_holds`), and on at least one."""
        judged = [r.tiny_rule for r in self.refs if r.tiny_rule[1] > 0]
        return bool(judged) and all(tiny_rule_holds(a, n) for a, n in judged)

    def vote(self, target: Segmentation, table: ColourTable, vote: Vote, tones: ToneModel | None = None,
             tiny: int = 0) -> tuple[FrameColours, list[Alignment]]:
        """The target's colours from every reference, combined (and, with ``tones``, no background across colour
        lines: :func:`no_background_across_colour_lines`); and each reference's alignment."""
        got = [source_vote(r.source, target, len(table), vote, threshold=self.threshold, max_gap=self.max_gap,
                           speck_size=self.speck_size, what=r.image, fits=REF_FITS) for r in self.refs]
        combined = no_background_across_colour_lines(target, combine_votes([g.colours for g in got]), tones, tiny)
        return combined, [g.alignment for g in got]

    def colour(self, target: Segmentation, table: ColourTable, vote: Vote,
               neighbour: tuple[Segmentation, FrameColours] | None, tones: ToneModel | None = None,
               tiny: int = 0) -> FrameColours:
        """A target frame's colours from the references and (when given) its painted neighbour ``(seg, colours)``;
        ``tones``/``tiny`` as for :meth:`vote`."""
        from_refs, _ = self.vote(target, table, vote, tones, tiny)
        if neighbour is None:
            return from_refs
        near = source_vote(Source.from_frame(*neighbour), target, len(table), vote, threshold=self.threshold,
                           max_gap=self.max_gap, speck_size=self.speck_size, what="the painted neighbour")
        return merge_neighbour(no_background_across_colour_lines(target, near.colours, tones, tiny), from_refs)

    def warnings(self) -> list[str]:
        """One line per reference whose colours were snapped to the palette."""
        out = []
        for r in self.refs:
            if r.snap is not None:
                out.append(f"reference '{r.image}': {r.snap.segments} segment(s) have colours not in the palette, snapped "
                           f"to the nearest entry (largest distance {r.snap.max_distance:.1f} in 8-bit RGB, {r.snap.worst})")
        return out

    def summary(self) -> list[dict[str, object]]:
        """Per reference: files, size, whether its line art was derived, its palette snap."""
        return [{"image": r.image, "line": r.line_path, "line_derived": r.line_path is None, "size": list(r.size),
                 "snapped": dataclasses.asdict(r.snap) if r.snap is not None else None} for r in self.refs]


def parse_ref(text: str) -> tuple[str, str | None]:
    """``REF_IMAGE[=REF_LINE]`` -> ``(image, line or None)``.

    Raises:
        SpecError: an empty part.
    """
    image, sep, line = text.partition("=")
    if not image or (sep and not line):
        raise SpecError("--ref", f"expected REF_IMAGE or REF_IMAGE=REF_LINE, got {text!r}")
    return image, (line or None)


__all__ = ["alignments", "Alignment", "Reference", "ReferenceSet", "ReferenceVote", "SnapReport", "Source", "align", "combine_votes",
           "derive_line_art", "ink_bbox", "load_reference", "merge_neighbour", "no_background_across_colour_lines", "parse_ref", "segment_majority",
           "source_vote", "warp_source"]
