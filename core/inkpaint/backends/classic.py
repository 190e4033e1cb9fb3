"""The embedded default roto backend: OpenCV only, no learned weights. Precision first.

- Keyframes: a mask prompt is taken as is; a box and/or points seed GrabCut (positive points are sure foreground,
  negative points sure background; its k-means start is seeded, so a prompt always gives the same mask). Several objects on one keyframe are made exclusive in one labelling
  (:func:`exclusive_keyframe`): contested pixels go by colour likelihood and distance to each object's clicks, and
  clicks are hard constraints (a positive click of A is A, a negative click of A is not A).
- Propagation (:meth:`ClassicBackend.propagate`): dense DIS optical flow (fixed flow resolution, forward and
  backward) warps each object's signed distance; near the edge the object's own similarity motion replaces the
  flow where it explains the colours better (background appearing from behind the object, background motion
  spilling onto its edge); a fitted object motion that jumps to the background's is a slip onto the background or
  an occluder, and the object keeps its previous displacement (``slip_guard``). Each object scores every pixel near it: the warped shape prior
  (softer where forward-backward flow disagrees, saturating inside so evidence can give a leaked region back),
  colour log-likelihood ratios (keyframe and running models against the local background ring) and a motion term
  (does the pixel move like the object near it or like the background near it? only reliable flow may vouch for the
  object, ``vouch_reliable``). Growth outside the warped shape
  pays ``growth_cost`` (colour there: the mean of the keyframe and running models, ``growth_colour``): growth is
  earned by evidence beyond a fixed cost, not taken from colour similarity with the background alone. Objects and background compete in one argmax over the edge-aware
  smoothed scores. Guards then cap growth per frame, drop detached blobs nothing supports and hold the warped
  shape when the result no longer resembles it.
- Confidence per object and frame (:class:`FrameEvidence`): agreement with the warped shape, flow consistency on
  the edge and colour-model agreement, carried so that it recovers slowly; running colour models learn only from
  confident frames.
- Logits are signed distances to the mask edge in pixels, so mattes get a one-pixel anti-aliased edge. Plates with a
  side over ``max_side`` are tracked at a reduced size and the distances scaled back.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np

from ..cvcompat import dis_optical_flow, flow_calc, grab_cut_with_mask
from ..progress import RunContext
from .base import FrameMasks, FrameSource, Keyframe, RotoBackend, RotoRequest, plan_tracks

DEFAULTS: dict[str, Any] = {
    "band": 12,            # half-width in pixels of the refinement band around the warped edge (at 854 px wide)
    "grabcut_iters": 0,    # kept for spec compatibility; propagation uses the multi-label argmax (no GrabCut)
    "flow_preset": "medium",
    "flow_scale": 0.5,     # optical flow resolution as a fraction of an 854-px-wide plate (larger plates: same flow size)
    "prior_sigma": 3.0,    # softness in pixels of the warped shape prior (grows where the flow is unreliable)
    "colour_weight": 1.0,  # weight of the colour log-likelihood ratio against the shape prior
    "motion_weight": 1.0,  # weight of the motion log-likelihood ratio (moves like the object vs like its background)
    "growth_cost": 2.0,    # score a pixel outside the warped shape must earn before it joins the object
    "growth_cap": 0.15,    # at most this share of the warped area may be added per frame (best-scored pixels first)
    "interior_prior": 4.0, # the warped shape prior saturates here inside the object: colour + motion can outvote it
    "hold_iou": 0.5,       # a result with IoU below this against the warped shape is rejected: the warp is held
    "model_update": 0.1,   # rate at which the running colour models follow the object (confident frames only)
    "memory_decay": 0.85,  # per frame fading of the object's remembered extent (carried by its own affine motion)
    "memory_weight": 1.0,  # shape-prior strength of the remembered extent where the flow-warped mask lost it
    "max_side": 1280,      # plates with a longer side are tracked at this size (mattes scaled back); 0: full size
    "smooth": 2,           # radius in pixels (at 854 px wide) of the edge-aware (guided) filter on the scores; 0: off
    "growth_colour": "mean",  # colour evidence for growth: "mean" of keyframe and running models, or "both" must agree
    "motion_clip": 3.0,    # the motion log-likelihood ratio is clipped to +-this
    "regrow": 0,           # 1: an object smaller than its own motion predicts pays less to grow (off: costs precision)
    "object_motion": 1,    # 1: near the edge, the object's own motion replaces the dense flow where it explains the colours better
    "vouch_reliable": 1.5, # the motion term may vouch for the object only where the flow's forward-backward error is below this (px at 854 wide); 0: everywhere
    "memory_return": 1,    # 1: a part coming back where the object's memory says it was pays growth only as far as the memory faded
    "memory_shift": 1,     # 1: the memory moves by the object's displacement only (no scale/rotation extrapolated to hidden parts)
    "detached_memory": 1,  # 1: detached pieces are kept only where the object's memory (carried by its own motion) is
    "edge_geometry": 1,    # 1: near the edge, where the flow fails forward-backward, the object's own motion decides; 0: only if it explains the colours at least as well
    "slip_guard": 1,       # 1: a fitted motion that jumps to the background's is a slip: the object keeps its previous motion
}


def create_backend(options: dict[str, Any]) -> "ClassicBackend":
    unknown = set(options) - set(DEFAULTS) - {"device", "model"}
    if unknown:
        from ..errors import SpecError

        raise SpecError(f"backend_options.{sorted(unknown)[0]}", f"unknown option for the classic backend; known: {', '.join(DEFAULTS)}")
    return ClassicBackend({**DEFAULTS, **options})


def signed_distance(mask: np.ndarray) -> np.ndarray:
    """Signed distance to the edge of ``mask`` in pixels: positive inside, negative outside. ``(H, W)`` float32."""
    m = mask.astype(np.uint8)
    if not m.any():
        return np.full(mask.shape, -100.0, np.float32)
    if m.all():
        return np.full(mask.shape, 100.0, np.float32)
    inside = cv2.distanceTransform(m, cv2.DIST_L2, 3)
    outside = cv2.distanceTransform(1 - m, cv2.DIST_L2, 3)
    return (inside - outside).astype(np.float32) + np.where(m > 0, -0.5, 0.5).astype(np.float32)


def _to_u8(rgb: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)[..., ::-1])  # BGR for OpenCV


def grabcut_keyframe(image: np.ndarray, kf: Keyframe, iters: int = 5) -> np.ndarray:
    """Segment one object on a keyframe from its prompts.

    - A mask alone is taken as is; a mask with clicks or a box is refined by GrabCut around it.
    - A box: outside is background; a strip along the inside of the box edges (12 % of its short side) is
      *probably* background, so colours that only occur inside the box near its edges (a river bank, the sky)
      teach the background model too.
    - Positive points are sure foreground; the colours around them (a disk of 5 % of the box size) seed the
      object's colour model: pixels in the box whose colour is likelier outside the box than around the clicks
      start as probable background. Negative points are sure background.
    - The result keeps only the connected parts that contain a positive point (or touch the mask prompt). With a
      box, pieces the box says belong to the object are taken in too (:func:`span_box`: the object touches every
      side of a tight box), less the background seen through them (:func:`see_through`), so the thin, unclicked
      parts of an object (a bike under its rider) are not dropped with the background GrabCut cut them off by.

    Args:
        image: ``(H, W, 3)`` float32 RGB in 0..1.
        kf: the object's prompts on this frame.
        iters: GrabCut iterations.

    Returns:
        ``(H, W)`` bool mask.
    """
    h, w = image.shape[:2]
    if kf.mask is not None and kf.box is None and len(kf.points) == 0:
        return kf.mask.copy()
    img = _to_u8(image)
    gc = np.full((h, w), cv2.GC_BGD, np.uint8)
    if kf.mask is not None:
        gc[:] = cv2.GC_PR_BGD
        gc[kf.mask] = cv2.GC_PR_FGD
        gc[cv2.erode(kf.mask.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0] = cv2.GC_FGD
    box = kf.box
    pos = kf.positive_points
    if box is None and len(pos):
        # No box: a generous box around the positive points.
        x0, y0 = pos.min(axis=0)
        x1, y1 = pos.max(axis=0)
        pad = 0.25 * max(x1 - x0, y1 - y0, 0.15 * max(w, h)) + 10
        box = (max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad))
    if box is not None and kf.mask is None:
        bx0, by0, bx1, by1 = (int(round(v)) for v in box)
        bx0, by0, bx1, by1 = max(0, bx0), max(0, by0), min(w, bx1), min(h, by1)
        gc[by0:by1, bx0:bx1] = cv2.GC_PR_BGD
        strip = max(2, int(round(0.12 * min(bx1 - bx0, by1 - by0))))
        gc[by0 + strip : by1 - strip, bx0 + strip : bx1 - strip] = cv2.GC_PR_FGD
        if len(pos):
            # Colours around the clicks versus colours outside the box (8 levels per channel).
            q = (img >> 5).astype(np.int32)
            idx = (q[..., 0] << 6) | (q[..., 1] << 3) | q[..., 2]
            near = np.zeros((h, w), np.uint8)
            rad = max(3, int(0.05 * max(bx1 - bx0, by1 - by0)))
            for x, y in pos:
                cv2.circle(near, (int(x), int(y)), rad, 1, -1)
            in_box = np.zeros((h, w), bool)
            in_box[by0:by1, bx0:bx1] = True
            fg = np.bincount(idx[near > 0], minlength=512) + 0.5
            bg = np.bincount(idx[~in_box], minlength=512) + 0.5
            llr = np.log(fg / fg.sum()) - np.log(bg / bg.sum())
            gc[in_box & (gc == cv2.GC_PR_FGD) & (llr[idx] < 0)] = cv2.GC_PR_BGD
    r = max(2, int(round(0.006 * max(w, h))))
    for x, y in pos:
        cv2.circle(gc, (int(x), int(y)), r, int(cv2.GC_FGD), -1)
    for x, y in kf.negative_points:
        cv2.circle(gc, (int(x), int(y)), r, int(cv2.GC_BGD), -1)
    if not (gc == cv2.GC_PR_FGD).any() and not (gc == cv2.GC_FGD).any():
        return np.zeros((h, w), bool)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    # GrabCut starts its colour models with k-means from OpenCV's global random state: seeded here, the same prompt
    # gives the same mask in every process (farm chunks, reruns); unseeded, one DAVIS keyframe varied J 0.68-0.84.
    cv2.setRNGSeed(0)
    try:
        grab_cut_with_mask(img, gc, bgd, fgd, iters)
    except cv2.error:
        pass  # degenerate colour models (e.g. a flat image): keep the prompt's own region
    out = (gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(out.astype(np.uint8), connectivity=8)
    if n > 2 and (len(pos) or kf.mask is not None):
        keep = np.zeros(n, bool)
        for x, y in pos:
            keep[labels[min(h - 1, int(y)), min(w - 1, int(x))]] = True
        if kf.mask is not None:
            keep[np.unique(labels[kf.mask & out])] = True
        keep[0] = False
        if keep.any() and kf.box is not None and kf.mask is None:
            body = keep[labels]
            keep = span_box(labels, stats, keep, (bx0, by0, bx1, by1))
            added = keep[labels] & ~body
            if added.any():
                return body | (added & ~see_through(img, keep[labels], added))
        if keep.any():
            out = keep[labels]
    return out


EDGE_THRESHOLDS = (100, 200)
"""Canny hysteresis thresholds (grey levels of the 8-bit display image) for the image edges :func:`see_through` uses."""


def see_through(img_bgr: np.ndarray, seg: np.ndarray, added: np.ndarray) -> np.ndarray:
    """The pixels of unclicked pieces that are background seen through the object, not the object.

    GrabCut's smoothness fills the gaps of a thin, see-through object (the ground between a bike's wheels and
    inside its frame) with whatever lies behind it. A thin part is set off from the background next to it by an
    image edge; the background seen through it is not: it continues, without an edge, into the background outside
    the segmentation. So the image is cut into regions along its (Canny) edges, and in each region that holds more
    unsegmented pixels than ``added`` pixels, the ``added`` pixels are background. Edge pixels themselves, and
    regions enclosed by edges, stay.

    Args:
        img_bgr: ``(H, W, 3)`` uint8 BGR image.
        seg: ``(H, W)`` bool, the whole segmentation (clicked and added pieces).
        added: ``(H, W)`` bool, the pieces taken in without a click (:func:`span_box`).

    Returns:
        ``(H, W)`` bool, the ``added`` pixels to drop.
    """
    edge = cv2.Canny(cv2.cvtColor(img_bgr, cv2.COLOR_BGR2GRAY), *EDGE_THRESHOLDS) > 0
    n, region = cv2.connectedComponents((~edge).astype(np.uint8), connectivity=4)
    outside = np.bincount(region[~seg & ~edge], minlength=n)
    inside = np.bincount(region[added & ~edge], minlength=n)
    background = outside > inside
    background[0] = False  # label 0 is the edge pixels
    return added & background[region]


SPAN_GAP = 0.05
"""How far (share of the box's long side) a piece may lie from the kept object to be taken in by :func:`span_box`."""

SPAN_MIN_AREA = 0.01
"""The smallest piece (share of the box area) :func:`span_box` takes in."""


def span_box(labels: np.ndarray, stats: np.ndarray, keep: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """Take in the pieces a user's box says belong to the object: a box is drawn tight, so the object touches all its sides.

    GrabCut often splits an object with thin or see-through parts (a bike's frame and wheels under a rider) from
    the clicked body by a few missed pixels; keeping only the pieces that hold a click then drops the rest. While
    some side of the box is not reached by the kept pieces (within 2 % of the box's short side), the nearest
    unkept piece that reaches such a side is added, if it lies within ``SPAN_GAP`` of the box's long side of the
    kept ones and covers at least ``SPAN_MIN_AREA`` of the box. An object that already spans its box is unchanged.

    Args:
        labels: ``(H, W)`` int32 connected-component labels of the segmentation (0 = outside).
        stats: ``(N, 5)`` OpenCV component stats (left, top, width, height, area) for those labels.
        keep: ``(N,)`` bool, the pieces kept so far (those holding a click); not modified.
        box: ``(x0, y0, x1, y1)`` the user's box in pixels, clipped to the image.

    Returns:
        ``(N,)`` bool, the pieces to keep.
    """
    keep = keep.copy()
    bx0, by0, bx1, by1 = box
    bw, bh = bx1 - bx0, by1 - by0
    tol = max(2, int(round(0.02 * min(bw, bh))))
    left, top, width, height, area = (stats[:, i] for i in range(5))
    reach = np.stack([left <= bx0 + tol, top <= by0 + tol, left + width >= bx1 - tol, top + height >= by1 - tol], axis=1)
    reach[0] = False
    big = area >= SPAN_MIN_AREA * bw * bh
    while True:
        missing = ~reach[keep].any(axis=0)
        cand = np.flatnonzero(~keep & big & reach[:, missing].any(axis=1))
        cand = cand[cand > 0]
        if not missing.any() or not len(cand):
            break
        dist = cv2.distanceTransform((~keep[labels]).astype(np.uint8), cv2.DIST_L2, 3)
        gaps = np.array([dist[labels == c].min() for c in cand])
        if gaps.min() > SPAN_GAP * max(bw, bh):
            break
        keep[cand[int(np.argmin(gaps))]] = True
    return keep


COLOUR_BINS = 16
"""Colour histogram bins per channel (16³ = 4096 bins)."""


def colour_index(img_bgr: np.ndarray) -> np.ndarray:
    """Quantised colour of each pixel: ``(H, W)`` int32 bin index in ``0 .. COLOUR_BINS³ - 1``."""
    q = (img_bgr >> 4).astype(np.int32)
    return (q[..., 0] << 8) | (q[..., 1] << 4) | q[..., 2]


def colour_histogram(index: np.ndarray, where: np.ndarray) -> np.ndarray:
    """Normalised histogram ``(COLOUR_BINS³,)`` float64 of the colour bins at ``where``, with a small floor."""
    h = np.bincount(index[where], minlength=COLOUR_BINS**3).astype(np.float64) + 0.5
    return h / h.sum()


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Edge-aware smoothing of ``src`` following the edges of ``guide`` (He et al.'s guided filter).

    Args:
        guide: ``(H, W)`` float32 grey image in 0..1.
        src: ``(H, W)`` float32 values to smooth.
        radius: box radius in pixels.
        eps: regularisation (larger: smoother across weak edges).

    Returns:
        ``(H, W)`` float32.
    """
    k = (2 * radius + 1, 2 * radius + 1)

    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, cv2.CV_32F, k, borderType=cv2.BORDER_REFLECT)

    mean_i, mean_p = box(guide), box(src)
    a = (box(guide * src) - mean_i * mean_p) / (box(guide * guide) - mean_i * mean_i + eps)
    b = mean_p - a * mean_i
    return box(a) * guide + box(b)


def _ellipse(radius: int) -> np.ndarray:
    r = max(1, int(radius))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def exclusive_keyframe(image_bgr: np.ndarray, masks: dict[str, np.ndarray], prompts: dict[str, Keyframe]) -> dict[str, np.ndarray]:
    """One labelling of a keyframe: every pixel belongs to at most one object, and clicks are hard constraints.

    - A pixel claimed by several objects' keyframe segmentations goes to the object with the best score: the log
      likelihood of its colour under the object's colour model (its own uncontested pixels) minus the distance to
      the object's nearest positive click or mask prompt in units of 5 % of the image size. Parts of one colour
      are thus split by where they were clicked; a pixel inside exactly one object's mask prompt stays with it.
    - A negative click of object A (a disk of ``0.006 · max(W, H)`` px, as GrabCut uses) is never A; a positive
      click of A is always A. Negatives are applied first, so another object's positive click on the same spot wins.

    Args:
        image_bgr: ``(H, W, 3)`` uint8 BGR.
        masks: object -> ``(H, W)`` bool segmentation (each made on its own).
        prompts: object -> its prompts on this frame.

    Returns:
        object -> ``(H, W)`` bool, mutually exclusive.
    """
    names = list(masks)
    if not names:
        return {}
    h, w = image_bgr.shape[:2]
    stack = np.stack([masks[n] for n in names])
    count = stack.sum(axis=0)
    label = np.zeros((h, w), np.int32)
    single = count == 1
    for i in range(len(names)):
        label[stack[i] & single] = i + 1
    contested = count > 1
    r = max(2, int(round(0.006 * max(w, h))))
    if contested.any():
        idx = colour_index(image_bgr)
        ci = idx[contested]
        best = np.full(ci.shape, -np.inf)
        pick = np.zeros(ci.shape, np.int32)
        reach = 0.05 * max(w, h)  # distance at which the nearer prompt outweighs a factor e of colour likelihood
        for i, n in enumerate(names):
            own = stack[i] & single
            hist = colour_histogram(idx, own) if own.any() else np.full(COLOUR_BINS**3, 1.0 / COLOUR_BINS**3)
            seeds = np.zeros((h, w), np.uint8)
            for x, y in prompts[n].positive_points:
                cv2.circle(seeds, (int(x), int(y)), r, 1, -1)
            if prompts[n].mask is not None:
                seeds[prompts[n].mask] = 1
            box = prompts[n].box
            if not seeds.any() and box is not None:
                cv2.circle(seeds, (int((box[0] + box[2]) / 2), int((box[1] + box[3]) / 2)), r, 1, -1)
            dist = cv2.distanceTransform(1 - seeds, cv2.DIST_L2, 3)[contested] if seeds.any() else np.zeros(ci.shape, np.float32)
            s = np.where(stack[i][contested], np.log(hist[ci]) - dist / reach, -np.inf)
            prompted = prompts[n].mask
            if prompted is not None:
                s = np.where(prompted[contested], s + 50.0, s)  # the user's own mask outranks colour
            better = s > best
            best = np.where(better, s, best)
            pick = np.where(better, i + 1, pick)
        label[contested] = pick
    for i, n in enumerate(names):
        for x, y in prompts[n].negative_points:
            disk = np.zeros((h, w), np.uint8)
            cv2.circle(disk, (int(x), int(y)), r, 1, -1)
            label[(disk > 0) & (label == i + 1)] = 0
    for i, n in enumerate(names):
        for x, y in prompts[n].positive_points:
            cv2.circle(label, (int(x), int(y)), r, i + 1, -1)
    return {n: label == i + 1 for i, n in enumerate(names)}


@dataclasses.dataclass
class ObjectTrack:
    """What the classic backend carries for one object from frame to frame.

    Attributes:
        sdf: ``(H, W)`` float32 signed distance to the object's edge on the last frame (pixels, > 0 inside).
        fg_key, bg_key: colour histograms of the object and its surroundings on the keyframe (never updated).
        fg_run, bg_run: running colour histograms, updated slowly from confident frames only.
        key_area: the object's area on the keyframe, in pixels.
        memory: ``(H, W)`` float32 in 0..1: where the object was recently, moved with the object's own
            displacement and fading each frame; it carries parts hidden by an occluder (or lost by the flow) so
            that they are found again when they reappear (``memory_return``), and it decides which detached pieces
            stay (``detached_memory``).
        confidence: the carried confidence in 0..1 (1 on the keyframe; drops at once on a doubtful frame and
            recovers by at most ``CONFIDENCE_RECOVERY`` per frame, because errors persist once made).
        expected_area: the keyframe area carried by the object's own similarity motion (its scale factor squared,
            frame by frame): what the area should be if nothing leaked in or was lost.
        size_agreement: 1 while the area is within ``SIZE_TOLERANCE`` of ``expected_area``, falling to 0 at
            ``2 · SIZE_TOLERANCE`` (slow leaks and slow losses, which frame-to-frame evidence cannot see).
        relative_motion: ``(2,)`` the object's last accepted displacement per frame relative to its background's
            (pixels, x and y), or ``None``.
        slip_frames: how many frames in a row the fitted motion was rejected as a slip (:meth:`ClassicBackend._slip_guard`).
    """

    sdf: np.ndarray
    fg_key: np.ndarray
    bg_key: np.ndarray
    fg_run: np.ndarray
    bg_run: np.ndarray
    key_area: int
    memory: np.ndarray | None = None
    confidence: float = 1.0
    expected_area: float = 0.0
    size_agreement: float = 1.0
    relative_motion: np.ndarray | None = None
    slip_frames: int = 0


CONFIDENCE_RECOVERY = 0.15
"""How much the carried confidence of an object may rise per frame."""

SIZE_TOLERANCE = 1.25
"""An object's area may differ from the area its own motion predicts by this factor before confidence drops."""

REGROW_FLOOR = 0.25
"""With ``regrow``, an object below its expected size pays at least this share of ``growth_cost``."""

RIGID_SHARE = 0.5
"""With ``edge_geometry``, the object's motion decides at the edge only if at least this share of the flow vectors it
was fitted to follow it (the object moves as one piece: DAVIS car-shadow median 0.92, scooter-black 0.81; a dancer
0.31, a running dog 0.45; synth_dev "skin" is hands, face and legs moving apart)."""

FIT_TOLERANCE = 1.5
"""Pixels: the object's motion is fitted to flow vectors whose forward-backward error is below this, and a vector is
an inlier of the fitted motion within this distance."""

SLIP_SEPARATION = 4.0
"""The object and its background must have moved at least this far apart per frame (pixels at 854 wide) before a fitted
motion that jumps to the background's is called a slip."""

SLIP_HOLD = 8
"""At most this many frames in a row the object's previous motion replaces a slipped fit."""

PHOTO_MARGIN = 0.02
"""Grey-level error (0..1, box-averaged) by which the object's own motion must beat the dense flow at a pixel."""

UPDATE_CONFIDENCE = 0.6
"""Running colour models learn only from frames at least this confident (a leak must not teach the model)."""


@dataclasses.dataclass
class FrameEvidence:
    """Why the tracker believes (or doubts) one object on one frame; all in 0..1.

    Attributes:
        shape: IoU of the result with the flow-warped previous shape (a jump means refinement or flow failed).
        flow: share of the object's edge band where forward and backward flow agree (within 2 px at 854 wide).
        colour: share of the object's pixels whose colour the object's models prefer over its surroundings.
        held: the refinement was rejected and the warped shape kept.
    """

    shape: float
    flow: float
    colour: float
    held: bool

    @property
    def confidence(self) -> float:
        """``shape term · (0.5 + 0.5 flow) · (0.5 + 0.5 colour)``, halved when held; shape term maps IoU 0.5..0.95
        to 0..1."""
        c = float(np.clip((self.shape - 0.5) / 0.45, 0.0, 1.0)) * (0.5 + 0.5 * self.flow) * (0.5 + 0.5 * self.colour)
        return 0.5 * c if self.held else c


def _object_centre(sdf: np.ndarray) -> np.ndarray | None:
    """``(3,)`` homogeneous ``(x, y, 1)`` mean position of the object (``sdf > 0``) in pixels, or ``None`` when empty."""
    ys, xs = np.nonzero(sdf > 0)
    return np.array([xs.mean(), ys.mean(), 1.0]) if len(xs) else None


def _displacement(transform: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """``(2,)`` how far the ``(2, 3)`` ``transform`` moves ``centre`` (:func:`_object_centre`), pixels."""
    return transform @ centre - centre[:2]


def _translation(d: np.ndarray) -> np.ndarray:
    """The ``(2, 3)`` affine transform that moves every pixel by ``d`` (pixels, x and y)."""
    return np.array([[1.0, 0.0, d[0]], [0.0, 1.0, d[1]]])


class ClassicBackend(RotoBackend):
    """DIS optical flow + colour and motion evidence + one multi-label decision per frame. No learned weights.

    Per frame: the last frame's signed distance of every object is warped by backward DIS flow. Each object gets a
    score on a band around its warped edge: the warped shape prior (``signed distance / sigma``, softer where the
    forward-backward flow disagrees), the colour log-likelihood ratio of its models against its surroundings, and a
    motion term (does the pixel move like the object's nearby pixels or like the nearby background?). Growth
    outside the warped shape pays ``growth_cost``, so growth must be earned. The scores are edge-aware smoothed and all objects plus the
    background (score 0) compete in one argmax. Then per object: detached blobs that touch none of the warped
    object's core (or its memory) are dropped, growth beyond ``growth_cap`` of the area keeps only its
    best-scored pixels, and a result that no longer resembles the warped shape (IoU < ``hold_iou``) is rejected
    for the warped shape (held). Each object reports a confidence (:class:`FrameEvidence`).
    """

    name = "classic"

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        preset = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
                  "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}[options["flow_preset"]]
        self._dis = dis_optical_flow(preset)
        self._grid: tuple[np.ndarray, np.ndarray] | None = None
        self.fit_inliers = 0.0  # share of the vectors the last object-motion fit explained (:meth:`_object_motion`)
        self.evidence: dict[str, FrameEvidence] = {}

    # -- tracking -------------------------------------------------------------------------------------------------

    def track(self, source: FrameSource, request: RotoRequest, ctx: RunContext) -> Iterator[FrameMasks]:
        for tr in plan_tracks(request):
            ctx.check_cancel()
            start_img = source.rgb(tr.start)
            prev_u8 = _to_u8(start_img)
            if tr.seed == "done" and request.load_done is not None:
                known = request.load_done(tr.start)
                masks = {n: np.asarray(known[n], bool) for n in tr.objects}
            else:
                kfs = {n: next(k for k in request.keyframes[n] if k.frame == tr.start) for n in tr.objects}
                masks = {n: grabcut_keyframe(start_img, kf, iters=5) for n, kf in kfs.items()}
                masks = exclusive_keyframe(prev_u8, masks, kfs)
                yield FrameMasks(tr.start, {n: signed_distance(m) for n, m in masks.items()}, {n: 1.0 for n in masks})
            # Plates larger than ``max_side`` are tracked at a reduced working size; the signed distances are
            # scaled back (bilinear, times the size ratio), so the matte edge stays a one-pixel ramp.
            full = (prev_u8.shape[1], prev_u8.shape[0])
            k = min(1.0, float(self.options["max_side"]) / max(full)) if self.options["max_side"] else 1.0
            work = (max(8, int(round(full[0] * k))), max(8, int(round(full[1] * k))))

            def shrink(img: np.ndarray, work: tuple[int, int] = work, full: tuple[int, int] = full) -> np.ndarray:
                return img if work == full else cv2.resize(img, work, interpolation=cv2.INTER_AREA)

            def grow(sdf: np.ndarray, work: tuple[int, int] = work, full: tuple[int, int] = full) -> np.ndarray:
                return sdf if work == full else cv2.resize(sdf, full, interpolation=cv2.INTER_LINEAR) * np.float32(full[0] / work[0])

            if work != full:
                masks = {n: cv2.resize(m.astype(np.float32), work, interpolation=cv2.INTER_AREA) >= 0.5 for n, m in masks.items()}
            prev_u8 = shrink(prev_u8)
            states = {n: self.start_object(prev_u8, m) for n, m in masks.items()}
            for f in tr.frames[1:]:
                ctx.check_cancel()
                cur_u8 = shrink(_to_u8(source.rgb(f)))
                masks = self.propagate(prev_u8, cur_u8, states)
                yield FrameMasks(f, {n: grow(states[n].sdf) for n in masks}, {n: round(states[n].confidence, 4) for n in masks})
                prev_u8 = cur_u8

    def _band_px(self, shape: tuple[int, int]) -> int:
        return max(2, int(round(self.options["band"] * max(shape) / 854)))

    def start_object(self, img_bgr: np.ndarray, mask: np.ndarray) -> ObjectTrack:
        """Colour models and shape of one object on its start frame (``img_bgr`` ``(H, W, 3)`` uint8)."""
        idx = colour_index(img_bgr)
        sdf = signed_distance(mask)
        fg = colour_histogram(idx, mask)
        bg = colour_histogram(idx, self._background_ring(sdf))
        area = int(np.count_nonzero(mask))
        return ObjectTrack(sdf, fg, bg, fg.copy(), bg.copy(), area, expected_area=float(area))

    def _background_ring(self, sdf: np.ndarray, inner: float = 0.0) -> np.ndarray:
        """Pixels outside the object within ``4 * band`` of its edge (the local background)."""
        r = 4 * self._band_px(sdf.shape)
        return (sdf < -inner) & (sdf >= -r)

    def flow(self, prev_bgr: np.ndarray, cur_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Backward sampling maps, flow unreliability and the backward flow.

        The flow is computed at ``flow_scale`` of an 854-px-wide plate: larger plates are scaled down to the same
        flow resolution (objects move the same fraction of the frame; the detail lives in the refinement).

        Returns:
            ``map_x, map_y`` ``(H, W)`` float32: where each pixel of ``cur`` was on ``prev``; ``err`` ``(H, W)``
            float32: forward-backward disagreement in pixels; ``bwd`` and ``fwd`` ``(H, W, 2)`` float32: the
            backward flow (current -> previous) and the forward flow (previous -> current).
        """
        g0 = cv2.cvtColor(prev_bgr, cv2.COLOR_BGR2GRAY)
        g1 = cv2.cvtColor(cur_bgr, cv2.COLOR_BGR2GRAY)
        h, w = g1.shape
        if self._grid is None or self._grid[0].shape != (h, w):
            self._grid = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        gx, gy = self._grid
        scale = float(self.options["flow_scale"]) * min(1.0, 854.0 / max(w, h))
        if 0 < scale < 1:
            size = (max(8, int(round(w * scale))), max(8, int(round(h * scale))))
            s0 = cv2.resize(g0, size, interpolation=cv2.INTER_AREA)
            s1 = cv2.resize(g1, size, interpolation=cv2.INTER_AREA)
            bwd = cv2.resize(flow_calc(self._dis, s1, s0), (w, h), interpolation=cv2.INTER_LINEAR) * np.float32(w / size[0])
            fwd = cv2.resize(flow_calc(self._dis, s0, s1), (w, h), interpolation=cv2.INTER_LINEAR) * np.float32(w / size[0])
        else:
            bwd = flow_calc(self._dis, g1, g0)  # cur -> prev
            fwd = flow_calc(self._dis, g0, g1)  # prev -> cur
        map_x, map_y = gx + bwd[..., 0], gy + bwd[..., 1]
        fwd_at = cv2.remap(fwd, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        err = np.sqrt(((bwd + fwd_at) ** 2).sum(axis=2)).astype(np.float32)
        return map_x, map_y, err, bwd, fwd

    def propagate(self, prev_bgr: np.ndarray, cur_bgr: np.ndarray, states: dict[str, ObjectTrack]) -> dict[str, np.ndarray]:
        """Carry every object from ``prev`` to ``cur`` (``(H, W, 3)`` uint8 BGR) in one labelling.

        Updates ``states`` in place (shape, models, memory, confidence) and ``self.evidence``.

        Returns:
            object -> ``(H, W)`` bool mask on ``cur``; the masks never overlap.
        """
        map_x, map_y, err, bwd, fwd = self.flow(prev_bgr, cur_bgr)
        idx = colour_index(cur_bgr)
        h, w = idx.shape
        scale = max(h, w) / 854
        band = self._band_px((h, w))
        names = list(states)
        o_motion = bool(self.options["object_motion"])
        warped: dict[str, np.ndarray] = {}
        memory: dict[str, np.ndarray] = {}
        held_shape: dict[str, np.ndarray] = {}
        region = np.zeros((h, w), bool)
        photo: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        for n, st in states.items():
            wsd = cv2.remap(st.sdf, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=-100.0)
            transform = self._object_motion(wsd, map_x, map_y, err)
            centre = _object_centre(st.sdf)
            if self.options["slip_guard"]:
                transform = self._slip_guard(st, transform, centre, wsd, bwd, err, scale)
            if transform is not None and o_motion:
                if photo is None:
                    photo = self._photo_inputs(prev_bgr, cur_bgr, map_x, map_y, scale)
                wsd = self._motion_hypotheses(st.sdf, wsd, transform, photo, err, scale)
            warped[n] = wsd
            held_shape[n] = wsd > 0  # (pushing the previous mask forward by the forward flow as a check was tried: it
            # loses objects the camera follows, whose forward flow the moving background dominates)
            memory[n] = self._carry_memory(st, transform, centre, map_x, map_y)
            region |= (wsd > -4.5 * band) | (memory[n] > 0.3)
        out = {n: np.zeros((h, w), bool) for n in names}
        if region.any():
            ys, xs = np.nonzero(region)
            pad = 2
            y0, y1 = max(0, ys.min() - pad), min(h, ys.max() + pad + 1)
            x0, x1 = max(0, xs.min() - pad), min(w, xs.max() + pad + 1)
            sl = (slice(y0, y1), slice(x0, x1))
            bad = np.clip(err[sl] / (2.0 * scale), 0.0, 3.0)  # 0 reliable .. 3 very unreliable
            grey = cv2.cvtColor(np.ascontiguousarray(cur_bgr[sl]), cv2.COLOR_BGR2GRAY).astype(np.float32) / 255.0
            flow_c = bwd[sl]
            scores = [np.zeros(bad.shape, np.float32)]  # the background
            colours = {}
            for n in names:
                sc, colour = self._score(states[n], warped[n][sl], held_shape[n][sl], memory[n][sl], idx[sl], flow_c, err[sl], bad, grey, scale, band)
                scores.append(sc)
                colours[n] = colour
            label = np.argmax(np.stack(scores), axis=0)
            taken = np.zeros(bad.shape, bool)
            held: dict[str, bool] = {}
            subs: dict[str, np.ndarray] = {}
            for i, n in enumerate(names):
                subs[n], held[n] = self._guard(label == i + 1, scores[i + 1], warped[n][sl], held_shape[n][sl], memory[n][sl],
                                               band, scale, free=(label == 0) | (label == i + 1))
            for n in names:  # held shapes may reach into a neighbour's pixels: the neighbour's own label wins there
                sub = subs[n] & ~taken
                taken |= sub
                out[n][sl] = sub
                self.evidence[n] = self._evidence(sub, warped[n][sl], held_shape[n][sl], bad, colours[n], band, held[n])
        else:
            self.evidence = {n: FrameEvidence(0.0, 0.0, 0.0, False) for n in names}
        for n, st in states.items():
            ev = self.evidence[n]
            conf = ev.confidence
            area = int(np.count_nonzero(out[n]))
            if st.expected_area > 0 and area > 0:
                off = abs(np.log(area / st.expected_area))
                st.size_agreement = float(np.clip(2.0 - off / np.log(SIZE_TOLERANCE), 0.0, 1.0))
            elif st.expected_area > 0:
                st.size_agreement = 0.0
            # The running models learn from frame evidence (conf); the reported confidence also asks whether the
            # size still agrees with the object's own motion since the keyframe.
            st.confidence = float(min(conf * st.size_agreement, st.confidence + CONFIDENCE_RECOVERY))
            self._update(idx, out[n], st, learn=conf >= UPDATE_CONFIDENCE)
            solid = (st.sdf > 3.0 * scale).astype(np.float32)  # thin parts are not remembered
            st.memory = np.maximum(solid, float(self.options["memory_decay"]) * memory[n])
        return out

    def _object_motion(self, wsd: np.ndarray, map_x: np.ndarray, map_y: np.ndarray, err: np.ndarray) -> np.ndarray | None:
        """The object's own motion from the previous frame to this one: ``(2, 3)`` similarity, or ``None``.

        Fitted (RANSAC) to reliable flow (forward-backward error < ``FIT_TOLERANCE``) well inside the warped object,
        so the background's motion and the flow errors at the object's edge do not enter it; a vector counts as an
        inlier within the same tolerance (it was 3 px: vectors dragged by an occluder's or the background's flow
        near the object's edge fitted within it and biased the fit).
        """
        ys, xs = np.nonzero((wsd > 2.0) & (err < FIT_TOLERANCE))
        if len(xs) < 30:
            return None
        if len(xs) > 800:
            pick = np.linspace(0, len(xs) - 1, 800).astype(np.int64)
            ys, xs = ys[pick], xs[pick]
        dst = np.stack([xs, ys], axis=1).astype(np.float32)
        src = np.stack([map_x[ys, xs], map_y[ys, xs]], axis=1).astype(np.float32)
        transform, inliers = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=FIT_TOLERANCE)
        self.fit_inliers = float(np.mean(inliers)) if inliers is not None and transform is not None else 0.0
        return transform

    def _slip_guard(self, st: ObjectTrack, transform: np.ndarray | None, centre: np.ndarray | None, wsd: np.ndarray,
                    bwd: np.ndarray, err: np.ndarray, scale: float) -> np.ndarray | None:
        """The object's motion, unless the fit has slipped onto the background or an occluder.

        An object that moves relative to its background (by at least ``SLIP_SEPARATION`` per frame on the last
        accepted frame) does not stop doing so at once. When the similarity fitted to the warped mask suddenly moves
        with the background instead (its motion relative to the background's, the median reliable flow in the
        object's ring, shrinks to less than half the previous relative motion), the mask has most likely slid onto
        the background or onto an occluder passing in front (DAVIS bmx-trees: a tree trunk sweeps across the rider
        and the fit jumps from ~3 px to the trunk's 27 px). The object then keeps its previous motion relative to the
        background (this frame's background displacement plus the previous relative motion; relative, so a shaking
        camera moves both), for at most ``SLIP_HOLD`` frames in a row. The result carries the memory and is the object-motion hypothesis
        at the edge (:meth:`_motion_hypotheses`), so it can pull the shape back onto the object.

        Args:
            transform: ``(2, 3)`` fitted previous -> current similarity or ``None``; centre: the object's centre on
                the previous frame (:func:`_object_centre`); wsd: warped signed distance; bwd: backward flow
                ``(H, W, 2)``; err: forward-backward error.

        Returns:
            ``(2, 3)`` the motion to use, or ``None``.
        """
        if transform is None or centre is None:
            st.slip_frames = 0
            return transform
        d_fit = _displacement(transform, centre)
        ring = (wsd < -1.0) & (wsd > -4.0 * self._band_px(wsd.shape)) & (err < 1.0 * scale)
        if np.count_nonzero(ring) < 30:
            st.slip_frames = 0
            return transform
        d_bg = -np.median(bwd[ring], axis=0)  # backward flow points to the previous frame
        if st.relative_motion is not None and st.slip_frames < SLIP_HOLD:
            sep = float(np.hypot(*st.relative_motion))
            if sep > SLIP_SEPARATION * scale and float(np.hypot(*(d_fit - d_bg))) < 0.5 * sep:
                st.slip_frames += 1
                return _translation(d_bg + st.relative_motion)
        st.slip_frames = 0
        st.relative_motion = d_fit - d_bg
        return transform

    def _photo_inputs(self, prev_bgr: np.ndarray, cur_bgr: np.ndarray, map_x: np.ndarray, map_y: np.ndarray,
                      scale: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Grey previous and current frames (float32 0..1) and the local photometric error of the dense flow.

        The error is ``|cur(p) - prev(p + flow(p))|`` box-averaged over ``(2r+1)²`` pixels (``r`` = 2 at 854 wide).
        """
        g0 = cv2.cvtColor(prev_bgr, cv2.COLOR_BGR2GRAY).astype(np.float32) / 255.0
        g1 = cv2.cvtColor(cur_bgr, cv2.COLOR_BGR2GRAY).astype(np.float32) / 255.0
        k = 2 * max(1, int(round(2 * scale))) + 1
        e_flow = cv2.blur(np.abs(g1 - cv2.remap(g0, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)), (k, k))
        return g0, g1, e_flow

    def _motion_hypotheses(self, sdf: np.ndarray, wsd: np.ndarray, transform: np.ndarray, photo: tuple[np.ndarray, np.ndarray, np.ndarray],
                           err: np.ndarray, scale: float) -> np.ndarray:
        """The previous shape carried by the dense flow or by the object's own motion, per pixel, by evidence.

        Near a moving object the dense flow is wrong on both sides: where the background appears from behind the
        object (disocclusion) the backward flow points into the previous object and drags the shape out over the
        background, and on the side the background slides under it the background's motion spills onto the
        object's edge and cuts it off. The object's own motion (:meth:`_object_motion`) is the other hypothesis:
        a pixel takes the shape it gives where that motion explains the pixel's colour better than the flow does
        (local photometric error lower by ``PHOTO_MARGIN``), or where the flow is inconsistent forward-backward
        (> 2 px at 854 wide). There (``edge_geometry``) no colour can decide: a pixel just uncovered from behind
        the object was hidden on the previous frame, so neither motion explains it; the flow there is DIS filling
        in from the neighbours, the object's motion is fitted to reliable flow, so the geometry of the object's
        own motion decides (with ``edge_geometry`` 0: only where it explains the colour at least as well, a coin
        toss at uncovered pixels).

        Args:
            sdf: ``(H, W)`` previous signed distance; wsd: the same warped by the dense flow.
            transform: ``(2, 3)`` previous -> current similarity of the object.
            photo: :meth:`_photo_inputs`.

        Returns:
            ``(H, W)`` float32 warped signed distance.
        """
        g0, g1, e_flow = photo
        h, w = wsd.shape
        k = 2 * max(1, int(round(2 * scale))) + 1
        w_obj = cv2.warpAffine(sdf, transform, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=-100.0)
        near = (np.minimum(np.abs(wsd), np.abs(w_obj)) < 4.0 * self._band_px((h, w))) & ((wsd > 0) != (w_obj > 0))
        if not near.any():
            return wsd
        e_obj = cv2.blur(np.abs(g1 - cv2.warpAffine(g0, transform, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)), (k, k))
        better = e_obj < e_flow - PHOTO_MARGIN
        inconsistent = err > 2.0 * scale
        if not (self.options["edge_geometry"] and self.fit_inliers >= RIGID_SHARE):
            inconsistent &= e_obj <= e_flow
        use = near & (better | inconsistent)
        return np.where(use, w_obj, wsd).astype(np.float32)

    def _carry_memory(self, st: ObjectTrack, transform: np.ndarray | None, centre: np.ndarray | None, map_x: np.ndarray,
                      map_y: np.ndarray) -> np.ndarray:
        """The object's remembered extent moved onto the current frame by its own motion.

        The motion is :meth:`_object_motion`, so parts hidden by an occluder keep moving with the object, not with the
        occluder; the dense flow carries it when no such motion could be fitted. With ``memory_shift`` the memory
        moves by the transform's displacement of the visible object's centre only: while an occluder hides part of
        the object the similarity is fitted to what remains, and its scale and rotation, extrapolated to the hidden
        side, drift the memory off the object (a 3 % scale error moved a hidden edge 25 px in three frames).
        """
        h, w = map_x.shape
        prev = st.memory if st.memory is not None else (st.sdf > 0).astype(np.float32)
        if transform is not None:
            st.expected_area *= float(abs(np.linalg.det(transform[:, :2])))  # similarity: det = scale squared
            carry = transform
            if self.options["memory_shift"] and centre is not None:
                carry = _translation(_displacement(transform, centre))
            return cv2.warpAffine(prev, carry, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        return cv2.remap(prev, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)

    def _motion(self, sd: np.ndarray, flow: np.ndarray, err: np.ndarray, scale: float, band: int) -> np.ndarray:
        """Motion log-likelihood ratio: does each pixel move like the object near it or like the background?

        The object's and the background's local flow are normalised box means (window ``6 · band``) over reliable
        flow (forward-backward error < 1 px at 854 wide) inside the warped object and in its background ring.
        The ratio ``(|v - v_bg|² - |v - v_obj|²) / 2s²`` (``s`` = 0.5 px at 854 wide + the
        pixel's flow error) is 0 where object and background move alike, so it only speaks where motion separates
        them.

        Returns:
            ``(h, w)`` float32 in -3..3 (> 0: moves like the object).
        """
        reliable = err < 1.0 * scale
        fx, fy = np.ascontiguousarray(flow[..., 0]), np.ascontiguousarray(flow[..., 1])
        inside = (sd > 1.0) & reliable
        wf = inside.astype(np.float32)
        wb = ((sd < -1.0) & (sd > -4.0 * band) & reliable).astype(np.float32)
        k = (6 * band + 1, 6 * band + 1)

        def box(x: np.ndarray) -> np.ndarray:
            return cv2.boxFilter(x, cv2.CV_32F, k, borderType=cv2.BORDER_REFLECT)

        nf, nb = box(wf), box(wb)
        valid = (nf > 0.02) & (nb > 0.02)
        if not valid.any():
            return np.zeros(sd.shape, np.float32)
        of_x, of_y = box(fx * wf) / np.maximum(nf, 1e-6), box(fy * wf) / np.maximum(nf, 1e-6)
        ob_x, ob_y = box(fx * wb) / np.maximum(nb, 1e-6), box(fy * wb) / np.maximum(nb, 1e-6)
        d_obj = (fx - of_x) ** 2 + (fy - of_y) ** 2
        d_bg = (fx - ob_x) ** 2 + (fy - ob_y) ** 2
        s = 0.5 * scale + err
        lim = float(self.options["motion_clip"])
        m = np.clip((d_bg - d_obj) / (2.0 * s * s), -lim, lim)
        vouch = float(self.options["vouch_reliable"])
        if vouch > 0:
            # Where the flow fails its forward-backward check (background appearing from behind the object, blurred
            # or textureless background) DIS fills it in from the neighbours, i.e. from the object: there a flow that
            # agrees with the object is no evidence for the object. (It may still say "moves like the background".)
            m = np.where((err < vouch * scale) | (m < 0), m, 0.0)
        return np.where(valid, m, 0.0).astype(np.float32)

    def _growth_cost(self, st: ObjectTrack) -> float:
        """``growth_cost``; with ``regrow``, lowered for an object smaller than its own motion says it should be.

        ``expected_area`` is the keyframe area carried by the object's similarity motion; an object below it lost
        pixels (a thin part eroded, a limb cut off, an object that came closer than the mask grew) and pays
        ``area / expected_area`` of the cost to grow back (at least ``REGROW_FLOOR`` of it), while its track is
        confident (``UPDATE_CONFIDENCE``): an object that shrank because it is being lost or hidden pays in full
        (ungated, DAVIS libby's false positives rose from 0.15 to 0.23 after the dog went behind a tree).
        """
        cost = float(self.options["growth_cost"])
        if not self.options["regrow"] or st.expected_area <= 0 or st.confidence < UPDATE_CONFIDENCE:
            return cost
        area = float(np.count_nonzero(st.sdf > 0))
        return cost * float(np.clip(area / st.expected_area, REGROW_FLOOR, 1.0))

    def _score(self, st: ObjectTrack, sd: np.ndarray, kept: np.ndarray, mem: np.ndarray, idx: np.ndarray, flow: np.ndarray, err: np.ndarray,
               bad: np.ndarray, grey: np.ndarray, scale: float, band: int) -> tuple[np.ndarray, np.ndarray]:
        """One object's score on a crop (``> 0``: the object beats the background); and its colour term.

        Args:
            sd: warped signed distance (pixels); mem: carried memory (0..1); idx: colour bins; flow: backward flow
                ``(h, w, 2)``; err: forward-backward error (pixels); bad: flow unreliability 0..3; grey: 0..1 guide.
        """
        o = self.options
        reach = band * (1.0 + bad)  # the band widens where the flow disagrees with itself
        # Inside, the whole object is open to evidence (a leaked region deep inside can still be given back); the
        # shape prior saturates at ``interior_prior`` so that colour and motion together can outvote it.
        in_band = (sd > 0) | (np.abs(sd) <= reach) | ((mem > 0.3) & (sd <= 0))
        sigma = o["prior_sigma"] * scale * (1.0 + bad)
        prior = np.clip(sd / sigma, -8.0, o["interior_prior"])
        ck = (np.log(st.fg_key) - np.log(st.bg_key))[idx]
        cr = (np.log(st.fg_run) - np.log(st.bg_run))[idx]
        outside = ~kept
        # Outside the warped shape growth pays ``growth_cost``; its colour evidence is the models' mean as inside
        # (``growth_colour`` "mean"), or only as far as both agree ("both": stricter, but the running background
        # model learns the ring next to the mask, so a part the mask missed soon reads as background and never
        # comes back: DAVIS dog and libby shrank frame by frame).
        grow_c = np.minimum(ck, cr) if o["growth_colour"] == "both" else 0.5 * (ck + cr)
        colour = np.clip(np.where(outside, grow_c, 0.5 * (ck + cr)), -3.0, 3.0).astype(np.float32)
        motion = self._motion(sd, flow, err, scale, band) if o["motion_weight"] > 0 else np.zeros(sd.shape, np.float32)
        # Where the flow lost the object but it was there recently, the memory lifts the prior where colour agrees
        # and motion does not object.
        revive = (mem > 0.3) & (colour > 0.5) & (motion >= 0)
        prior = np.where(revive, np.maximum(prior, o["memory_weight"] * (2.0 * mem - 1.0)), prior)
        cost = self._growth_cost(st) * outside
        if o["memory_return"]:
            # A part coming back where the object's own motion says it was recently (out from behind an occluder)
            # is not growth: it pays the growth cost only as far as the memory has faded.
            cost = np.where(revive, cost * (1.0 - np.clip(mem, 0.0, 1.0)), cost)
        unary = prior + o["colour_weight"] * colour + o["motion_weight"] * motion - cost
        radius = int(round(o["smooth"] * scale))
        if radius > 0:
            unary = guided_filter(grey, unary.astype(np.float32), radius, 1e-3)
        score = np.where(in_band, unary, np.where(sd > 0, 8.0, -8.0)).astype(np.float32)
        return score, colour

    def _guard(self, sub: np.ndarray, score: np.ndarray, sd: np.ndarray, kept: np.ndarray, mem: np.ndarray, band: int, scale: float,
               free: np.ndarray) -> tuple[np.ndarray, bool]:
        """Drift guards on one object's share of the labelling; returns ``(mask, held)``.

        ``kept`` is the warped shape; anything else is growth.

        - Growth beyond ``growth_cap`` of the kept area keeps only its best-scored pixels.
        - Components that touch neither the warped object's core nor its memory are dropped.
        - A result whose IoU with the kept shape is below ``hold_iou`` is replaced by the kept shape (where no
          other object won the pixel): it is likelier a failure than real motion.
        """
        warped = kept
        area_w = max(int(np.count_nonzero(warped)), int(np.count_nonzero(mem > 0.5)))
        if self.options["memory_return"]:
            warped = warped | (sub & (mem > 0.5))  # parts returning where the object was recently are not growth
        grown = sub & ~warped
        cap = int(self.options["growth_cap"] * area_w) + 1
        n_grown = int(np.count_nonzero(grown))
        if n_grown > cap:
            vals = score[grown]
            thr = np.partition(vals, n_grown - cap)[n_grown - cap]
            sub = sub & ~(grown & (score < thr))
        deep = sd > min(band, 3.0 * scale)
        if self.options["detached_memory"]:
            # A detached piece must lie where the object's own motion says the object is (its memory): a piece of
            # background the mask once took in moves with the background, away from the memory, and is dropped;
            # parts of the object split off by a post move with it and stay. The largest piece always stays.
            deep &= mem > 0.5
        core = deep | (mem > 0.6)
        if not core.any():
            core = warped
        n, labels = cv2.connectedComponents(sub.astype(np.uint8), connectivity=8)
        if n > 2:
            keep = np.zeros(n, bool)
            keep[np.unique(labels[core & sub])] = True
            if self.options["detached_memory"]:
                keep[1 + int(np.argmax(np.bincount(labels[sub], minlength=n)[1:]))] = True
            keep[0] = False
            sub = keep[labels]
        if area_w == 0:
            return sub, False
        union = np.count_nonzero(sub | warped)
        iou = np.count_nonzero(sub & warped) / union if union else 1.0
        if iou < self.options["hold_iou"]:
            return warped & free, True
        return sub, False

    def _evidence(self, sub: np.ndarray, sd: np.ndarray, kept: np.ndarray, bad: np.ndarray, colour: np.ndarray, band: int,
                  held: bool) -> FrameEvidence:
        warped = kept
        union = np.count_nonzero(sub | warped)
        shape = float(np.count_nonzero(sub & warped) / union) if union else 1.0
        edge = np.abs(sd) <= band
        flow = float(np.mean(bad[edge] < 1.0)) if edge.any() else 1.0
        col = float(np.mean(colour[sub] > 0)) if sub.any() else 0.0
        if not sub.any() and not warped.any():
            shape = 0.0
        return FrameEvidence(shape, flow, col, held)

    def _update(self, idx: np.ndarray, mask: np.ndarray, st: ObjectTrack, learn: bool = True) -> None:
        st.sdf = signed_distance(mask)
        rate = float(self.options["model_update"])
        if not learn or not mask.any() or rate <= 0:
            return
        sure = st.sdf > 2.0
        ring = self._background_ring(st.sdf, inner=2.0)
        if sure.any():
            st.fg_run = (1 - rate) * st.fg_run + rate * colour_histogram(idx, sure)
        if ring.any():
            st.bg_run = (1 - rate) * st.bg_run + rate * colour_histogram(idx, ring)

    # -- interactive ----------------------------------------------------------------------------------------------

    def segment(self, image: np.ndarray, prompts: dict[str, Keyframe], *, cache_key: str | None = None) -> dict[str, np.ndarray]:
        masks = {name: grabcut_keyframe(image, kf, iters=5) for name, kf in prompts.items()}
        masks = exclusive_keyframe(_to_u8(image), masks, prompts)
        return {name: signed_distance(m) for name, m in masks.items()}
