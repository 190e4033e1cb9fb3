"""The embedded default roto backend: OpenCV only, no learned weights.

- Keyframes: a mask prompt is taken as is; a box and/or points seed GrabCut (positive points are sure foreground,
  negative points sure background).
- Propagation: dense DIS optical flow (half resolution, forward and backward) warps the previous frame's signed
  distance; a per-object unary on a band around the warped edge combines that shape prior (softer, and the band
  wider, where forward-backward flow disagrees) with colour-histogram models (keyframe + slowly updated running
  model, local background ring), smoothed by a guided filter; optional GrabCut on the band (``grabcut_iters``).
  Drift guards drop components not connected to the warped object and keep the warp when the area jumps; a fading
  amodal memory moved by the object's own similarity motion revives parts lost to occlusion or flow failure.
- Logits are signed distances to the mask edge in pixels, so mattes get a one-pixel anti-aliased edge.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np

from ..progress import RunContext
from .base import FrameMasks, FrameSource, Keyframe, RotoBackend, RotoRequest, plan_tracks

DEFAULTS: dict[str, Any] = {
    "band": 12,            # half-width in pixels of the refinement band around the warped edge (at 854 px wide)
    "grabcut_iters": 0,    # GrabCut iterations per frame in the band (0: unary + guided filter only; measured better)
    "flow_preset": "medium",
    "flow_scale": 0.5,     # optical flow is computed at this fraction of the plate resolution (speed)
    "prior_sigma": 3.0,    # softness in pixels of the warped shape prior (grows where the flow is unreliable)
    "colour_weight": 1.0,  # weight of the colour log-likelihood ratio against the shape prior
    "model_update": 0.1,
    "memory_decay": 0.85,  # per frame fading of the object's remembered extent (carried by its own affine motion)
    "memory_weight": 1.0,  # shape-prior strength of the remembered extent where the flow-warped mask lost it
    "smooth": 2,           # radius in pixels (at 854 px wide) of the edge-aware (guided) filter on the unary; 0: off   # rate at which the running colour models follow the tracked object (keyframe models stay)
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
    - The result keeps only the connected parts that contain a positive point (or touch the mask prompt).

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
    try:
        cv2.grabCut(img, gc, None, bgd, fgd, iters, cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        pass  # degenerate colour models (e.g. a flat image): keep the prompt's own region
    out = (gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)
    n, labels = cv2.connectedComponents(out.astype(np.uint8), connectivity=8)
    if n > 2 and (len(pos) or kf.mask is not None):
        keep = np.zeros(n, bool)
        for x, y in pos:
            keep[labels[min(h - 1, int(y)), min(w - 1, int(x))]] = True
        if kf.mask is not None:
            keep[np.unique(labels[kf.mask & out])] = True
        keep[0] = False
        if keep.any():
            out = keep[labels]
    return out


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


@dataclasses.dataclass
class ObjectTrack:
    """What the classic backend carries for one object from frame to frame.

    Attributes:
        sdf: ``(H, W)`` float32 signed distance to the object's edge on the last frame (pixels, > 0 inside).
        fg_key, bg_key: colour histograms of the object and its surroundings on the keyframe (never updated).
        fg_run, bg_run: running colour histograms, updated slowly from confident pixels of tracked frames.
        key_area: the object's area on the keyframe, in pixels.
        memory: ``(H, W)`` float32 in 0..1: where the object was recently, moved with the object's own affine
            motion and fading each frame; it carries parts hidden by an occluder (or lost by the flow) so that
            they are found again when they reappear.
    """

    sdf: np.ndarray
    fg_key: np.ndarray
    bg_key: np.ndarray
    fg_run: np.ndarray
    bg_run: np.ndarray
    key_area: int
    memory: np.ndarray | None = None


class ClassicBackend(RotoBackend):
    """DIS optical flow + colour models + GrabCut band refinement. Cheap to create; no state between jobs.

    Per frame and object: the last frame's signed distance is warped by backward DIS flow; forward-backward flow
    disagreement marks unreliable flow and widens the band and softens the prior there. Inside the band, a unary
    combines the warped shape prior (``signed distance / sigma``) with the colour log-likelihood ratio of the
    object's histogram models (keyframe and running, local background ring). GrabCut on the band (its graph cut
    with contrast-sensitive smoothness, initialised from that unary; confident pixels fixed) gives the label.
    Drift guards drop components not connected to the warped object and fall back to the warp when the area
    jumps.
    """

    name = "classic"

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        preset = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
                  "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}[options["flow_preset"]]
        self._dis = cv2.DISOpticalFlow_create(preset)
        self._grid: tuple[np.ndarray, np.ndarray] | None = None

    # -- tracking -------------------------------------------------------------------------------------------------

    def track(self, source: FrameSource, request: RotoRequest, ctx: RunContext) -> Iterator[FrameMasks]:
        for tr in plan_tracks(request):
            ctx.check_cancel()
            start_img = source.rgb(tr.start)
            if tr.seed == "done" and request.load_done is not None:
                known = request.load_done(tr.start)
                masks = {n: np.asarray(known[n], bool) for n in tr.objects}
            else:
                masks = {}
                for n in tr.objects:
                    kf = next(k for k in request.keyframes[n] if k.frame == tr.start)
                    masks[n] = grabcut_keyframe(start_img, kf, iters=5)
                yield FrameMasks(tr.start, {n: signed_distance(m) for n, m in masks.items()})
            prev_u8 = _to_u8(start_img)
            states = {n: self.start_object(prev_u8, m) for n, m in masks.items()}
            for f in tr.frames[1:]:
                ctx.check_cancel()
                cur_u8 = _to_u8(source.rgb(f))
                masks = self.propagate(prev_u8, cur_u8, states)
                yield FrameMasks(f, {n: states[n].sdf for n in masks})
                prev_u8 = cur_u8

    def _band_px(self, shape: tuple[int, int]) -> int:
        return max(2, int(round(self.options["band"] * max(shape) / 854)))

    def start_object(self, img_bgr: np.ndarray, mask: np.ndarray) -> ObjectTrack:
        """Colour models and shape of one object on its start frame (``img_bgr`` ``(H, W, 3)`` uint8)."""
        idx = colour_index(img_bgr)
        sdf = signed_distance(mask)
        fg = colour_histogram(idx, mask)
        bg = colour_histogram(idx, self._background_ring(sdf))
        return ObjectTrack(sdf, fg, bg, fg.copy(), bg.copy(), int(np.count_nonzero(mask)))

    def _background_ring(self, sdf: np.ndarray, inner: float = 0.0) -> np.ndarray:
        """Pixels outside the object within ``4 * band`` of its edge (the local background)."""
        r = 4 * self._band_px(sdf.shape)
        return (sdf < -inner) & (sdf >= -r)

    def flow(self, prev_bgr: np.ndarray, cur_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Backward sampling maps and flow unreliability.

        Returns:
            ``map_x, map_y`` ``(H, W)`` float32: where each pixel of ``cur`` was on ``prev``; ``err`` ``(H, W)``
            float32: forward-backward disagreement in pixels.
        """
        g0 = cv2.cvtColor(prev_bgr, cv2.COLOR_BGR2GRAY)
        g1 = cv2.cvtColor(cur_bgr, cv2.COLOR_BGR2GRAY)
        h, w = g1.shape
        if self._grid is None or self._grid[0].shape != (h, w):
            self._grid = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        gx, gy = self._grid
        scale = float(self.options["flow_scale"])
        if 0 < scale < 1:
            size = (max(8, int(round(w * scale))), max(8, int(round(h * scale))))
            s0 = cv2.resize(g0, size, interpolation=cv2.INTER_AREA)
            s1 = cv2.resize(g1, size, interpolation=cv2.INTER_AREA)
            bwd = cv2.resize(self._dis.calc(s1, s0, None), (w, h), interpolation=cv2.INTER_LINEAR) * np.float32(w / size[0])
            fwd = cv2.resize(self._dis.calc(s0, s1, None), (w, h), interpolation=cv2.INTER_LINEAR) * np.float32(w / size[0])
        else:
            bwd = self._dis.calc(g1, g0, None)  # cur -> prev
            fwd = self._dis.calc(g0, g1, None)  # prev -> cur
        map_x, map_y = gx + bwd[..., 0], gy + bwd[..., 1]
        fwd_at = cv2.remap(fwd, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        err = np.sqrt(((bwd + fwd_at) ** 2).sum(axis=2)).astype(np.float32)
        return map_x, map_y, err

    def propagate(self, prev_bgr: np.ndarray, cur_bgr: np.ndarray, states: dict[str, ObjectTrack]) -> dict[str, np.ndarray]:
        """Carry each object from ``prev`` to ``cur`` (``(H, W, 3)`` uint8 BGR); updates ``states`` in place.

        Returns:
            object -> ``(H, W)`` bool mask on ``cur``.
        """
        map_x, map_y, err = self.flow(prev_bgr, cur_bgr)
        idx = colour_index(cur_bgr)
        out = {}
        for name, st in states.items():
            wsd = cv2.remap(st.sdf, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=-100.0)
            memory = self._carry_memory(st, wsd, map_x, map_y, err)
            mask = self._refine(cur_bgr, idx, wsd, err, st, memory)
            self._update(idx, mask, st)
            solid = (st.sdf > 3.0 * max(mask.shape) / 854).astype(np.float32)  # thin parts are not remembered
            st.memory = np.maximum(solid, float(self.options["memory_decay"]) * memory)
            out[name] = mask
        return out

    def _carry_memory(self, st: ObjectTrack, wsd: np.ndarray, map_x: np.ndarray, map_y: np.ndarray, err: np.ndarray) -> np.ndarray:
        """The object's remembered extent moved onto the current frame by its own motion.

        The motion is a similarity transform (RANSAC) fitted to reliable flow (low forward-backward error) inside
        the warped object, so parts hidden behind an occluder keep moving with the object, not with the occluder.
        Falls back to the dense flow when too few reliable pixels remain.
        """
        h, w = wsd.shape
        prev = st.memory if st.memory is not None else (st.sdf > 0).astype(np.float32)
        ys, xs = np.nonzero((wsd > 2.0) & (err < 1.5))
        transform = None
        if len(xs) >= 30:
            if len(xs) > 800:
                pick = np.linspace(0, len(xs) - 1, 800).astype(np.int64)
                ys, xs = ys[pick], xs[pick]
            dst = np.stack([xs, ys], axis=1).astype(np.float32)
            src = np.stack([map_x[ys, xs], map_y[ys, xs]], axis=1).astype(np.float32)
            transform, _ = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=3.0)
        if transform is not None:
            return cv2.warpAffine(prev, transform, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        return cv2.remap(prev, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)

    def _refine(self, img_bgr: np.ndarray, idx: np.ndarray, wsd: np.ndarray, err: np.ndarray, st: ObjectTrack,
                memory: np.ndarray | None = None) -> np.ndarray:
        warped = wsd > 0
        if memory is None:
            memory = np.zeros(wsd.shape, np.float32)
        remembered = (memory > 0.3) & ~warped
        if not warped.any() and not remembered.any():
            return warped
        h, w = warped.shape
        band = self._band_px((h, w))
        scale = max(h, w) / 854
        bad = np.clip(err / (2.0 * scale), 0.0, 3.0)  # 0 reliable .. 3 very unreliable
        reach = band * (1.0 + bad)  # the band widens where the flow disagrees with itself
        in_band = (np.abs(wsd) <= reach) | remembered
        ys, xs = np.nonzero(in_band | warped)
        pad = 2
        y0, y1 = max(0, ys.min() - pad), min(h, ys.max() + pad + 1)
        x0, x1 = max(0, xs.min() - pad), min(w, xs.max() + pad + 1)
        sl = (slice(y0, y1), slice(x0, x1))
        sd, bd, ib, mem = wsd[sl], bad[sl], in_band[sl], memory[sl]
        # Unary: shape prior (signed distance, softer where flow is unreliable) + colour log-likelihood ratio.
        sigma = self.options["prior_sigma"] * scale * (1.0 + bd)
        prior = np.clip(sd / sigma, -8.0, 8.0)
        fg = 0.5 * (st.fg_key + st.fg_run)
        bg = 0.5 * (st.bg_key + st.bg_run)
        llr = np.log(fg) - np.log(bg)
        colour = np.clip(llr[idx[sl]], -3.0, 3.0).astype(np.float32)
        # Where the flow lost the object but it was there recently, the memory lifts the prior where colour agrees.
        prior = np.where((mem > 0.3) & (colour > 0.5), np.maximum(prior, self.options["memory_weight"] * (2.0 * mem - 1.0)), prior)
        unary = prior + self.options["colour_weight"] * colour
        radius = int(round(self.options["smooth"] * scale))
        if radius > 0:
            grey = cv2.cvtColor(np.ascontiguousarray(img_bgr[sl]), cv2.COLOR_BGR2GRAY).astype(np.float32) / 255.0
            unary = guided_filter(grey, unary.astype(np.float32), radius, 1e-3)
        gc = np.where(sd > 0, cv2.GC_FGD, cv2.GC_BGD).astype(np.uint8)
        gc[ib & (unary > 0)] = cv2.GC_PR_FGD
        gc[ib & (unary <= 0)] = cv2.GC_PR_BGD
        gc[ib & (unary > 6)] = cv2.GC_FGD
        gc[ib & (unary < -6)] = cv2.GC_BGD
        iters = int(self.options["grabcut_iters"])
        has = [(gc == v).any() for v in (cv2.GC_BGD, cv2.GC_FGD)]
        if iters > 0 and all(has) and ((gc == cv2.GC_PR_FGD) | (gc == cv2.GC_PR_BGD)).any():
            bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
            try:
                cv2.grabCut(np.ascontiguousarray(img_bgr[sl]), gc, None, bgd, fgd, iters, cv2.GC_INIT_WITH_MASK)
            except cv2.error:
                pass
        sub = (gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)
        # Drift guards: keep only components that overlap the warped object's core.
        core = (sd > min(band, 3.0 * scale)) | (mem > 0.6)
        if not core.any():
            core = sd > 0
        n, labels = cv2.connectedComponents(sub.astype(np.uint8), connectivity=8)
        if n > 2:
            keep = np.zeros(n, bool)
            keep[np.unique(labels[core & sub])] = True
            keep[0] = False
            sub = keep[labels]
        area_w = max(np.count_nonzero(sd > 0), np.count_nonzero(mem > 0.5))
        area = np.count_nonzero(sub)
        if area_w > 0 and not (0.6 * area_w <= area <= 1.6 * area_w):
            sub = sd > 0  # a jump in area is more likely a refinement failure than real motion: keep the warp
        out = np.zeros((h, w), bool)
        out[sl] = sub
        return out

    def _update(self, idx: np.ndarray, mask: np.ndarray, st: ObjectTrack) -> None:
        st.sdf = signed_distance(mask)
        rate = float(self.options["model_update"])
        if not mask.any() or rate <= 0:
            return
        sure = st.sdf > 2.0
        ring = self._background_ring(st.sdf, inner=2.0)
        if sure.any():
            st.fg_run = (1 - rate) * st.fg_run + rate * colour_histogram(idx, sure)
        if ring.any():
            st.bg_run = (1 - rate) * st.bg_run + rate * colour_histogram(idx, ring)

    # -- interactive ----------------------------------------------------------------------------------------------

    def segment(self, image: np.ndarray, prompts: dict[str, Keyframe], *, cache_key: str | None = None) -> dict[str, np.ndarray]:
        return {name: signed_distance(grabcut_keyframe(image, kf, iters=5)) for name, kf in prompts.items()}
