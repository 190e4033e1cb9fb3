"""The embedded default roto backend: OpenCV only, no learned weights.

- Keyframes: a mask prompt is taken as is; a box and/or points seed GrabCut (positive points are sure foreground,
  negative points sure background).
- Propagation: dense DIS optical flow (on grey frames) warps the previous mask onto the next frame; a per-object
  GrabCut on a band around the warped edge then snaps it to the image, with colour models from the keyframe.
- Logits are signed distances to the mask edge in pixels, so mattes get a one-pixel anti-aliased edge.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np

from ..progress import RunContext
from .base import FrameMasks, FrameSource, Keyframe, RotoBackend, RotoRequest, plan_tracks

DEFAULTS: dict[str, Any] = {
    "band": 12,          # half-width in pixels of the refinement band around the warped edge (at 854 px wide)
    "grabcut_iters": 2,  # GrabCut iterations per frame
    "flow_preset": "medium",
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

    Args:
        image: ``(H, W, 3)`` float32 RGB in 0..1.
        kf: the object's prompts on this frame.

    Returns:
        ``(H, W)`` bool mask.
    """
    h, w = image.shape[:2]
    if kf.mask is not None and kf.box is None and len(kf.points) == 0:
        return kf.mask.copy()
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
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        gc[max(0, y0) : min(h, y1), max(0, x0) : min(w, x1)] = cv2.GC_PR_FGD
    r = max(2, int(round(0.006 * max(w, h))))
    for x, y in pos:
        cv2.circle(gc, (int(x), int(y)), r, int(cv2.GC_FGD), -1)
    for x, y in kf.negative_points:
        cv2.circle(gc, (int(x), int(y)), r, int(cv2.GC_BGD), -1)
    if not (gc == cv2.GC_PR_FGD).any() and not (gc == cv2.GC_FGD).any():
        return np.zeros((h, w), bool)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        cv2.grabCut(_to_u8(image), gc, None, bgd, fgd, iters, cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        pass  # degenerate colour models (e.g. a flat image): keep the prompt's own region
    return (gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)


class ClassicBackend(RotoBackend):
    """DIS optical flow + GrabCut band refinement. Stateless between jobs; cheap to create."""

    name = "classic"

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        preset = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
                  "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}[options["flow_preset"]]
        self._dis = cv2.DISOpticalFlow_create(preset)
        self._segment_cache: tuple[str, np.ndarray] | None = None

    # -- tracking -------------------------------------------------------------------------------------------------

    def track(self, source: FrameSource, request: RotoRequest, ctx: RunContext) -> Iterator[FrameMasks]:
        for tr in plan_tracks(request):
            ctx.check_cancel()
            start_img = source.rgb(tr.start)
            if tr.seed == "done" and request.load_done is not None:
                known = request.load_done(tr.start)
                masks = {n: known[n] for n in tr.objects}
            else:
                masks = {}
                for n in tr.objects:
                    kf = next(k for k in request.keyframes[n] if k.frame == tr.start)
                    masks[n] = grabcut_keyframe(start_img, kf, iters=5)
                yield FrameMasks(tr.start, {n: signed_distance(m) for n, m in masks.items()})
            prev_img = start_img
            for f in tr.frames[1:]:
                ctx.check_cancel()
                img = source.rgb(f)
                masks = self.propagate(prev_img, img, masks)
                yield FrameMasks(f, {n: signed_distance(m) for n, m in masks.items()})
                prev_img = img

    def propagate(self, prev: np.ndarray, cur: np.ndarray, masks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Carry each object's mask from ``prev`` to ``cur`` (both ``(H, W, 3)`` float RGB)."""
        g0 = cv2.cvtColor(_to_u8(prev), cv2.COLOR_BGR2GRAY)
        g1 = cv2.cvtColor(_to_u8(cur), cv2.COLOR_BGR2GRAY)
        flow = self._dis.calc(g1, g0, None)  # cur -> prev: sample prev mask at x + flow
        h, w = g1.shape
        gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        mapx, mapy = gx + flow[..., 0], gy + flow[..., 1]
        cur_u8 = _to_u8(cur)
        out = {}
        for name, m in masks.items():
            warped = cv2.remap(m.astype(np.float32), mapx, mapy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT) > 0.5
            out[name] = self._refine(cur_u8, warped)
        return out

    def _refine(self, img_bgr: np.ndarray, warped: np.ndarray) -> np.ndarray:
        if not warped.any():
            return warped
        h, w = warped.shape
        band = max(2, int(round(self.options["band"] * max(h, w) / 854)))
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1))
        m8 = warped.astype(np.uint8)
        sure_fg = cv2.erode(m8, k) > 0
        maybe = cv2.dilate(m8, k) > 0
        ys, xs = np.nonzero(maybe)
        y0, y1 = max(0, ys.min() - band), min(h, ys.max() + band + 1)
        x0, x1 = max(0, xs.min() - band), min(w, xs.max() + band + 1)
        gc = np.full((y1 - y0, x1 - x0), cv2.GC_BGD, np.uint8)
        sub_w = warped[y0:y1, x0:x1]
        gc[maybe[y0:y1, x0:x1]] = cv2.GC_PR_BGD
        gc[sub_w] = cv2.GC_PR_FGD
        gc[sure_fg[y0:y1, x0:x1]] = cv2.GC_FGD
        if not (gc == cv2.GC_BGD).any() or not (gc == cv2.GC_FGD).any():
            return warped
        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        try:
            cv2.grabCut(np.ascontiguousarray(img_bgr[y0:y1, x0:x1]), gc, None, bgd, fgd, int(self.options["grabcut_iters"]), cv2.GC_INIT_WITH_MASK)
        except cv2.error:
            return warped
        out = np.zeros_like(warped)
        out[y0:y1, x0:x1] = (gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)
        return out

    # -- interactive ----------------------------------------------------------------------------------------------

    def segment(self, image: np.ndarray, prompts: dict[str, Keyframe], *, cache_key: str | None = None) -> dict[str, np.ndarray]:
        return {name: signed_distance(grabcut_keyframe(image, kf, iters=5)) for name, kf in prompts.items()}
