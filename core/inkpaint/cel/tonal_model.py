"""The learned tone method: the shipped tonal U-Net run on a shot, frame by frame, stabilised along optical flow.

Used by ``shade``/``cel`` with ``method: "learned"``. torch and safetensors are imported only when a
:class:`TonalPredictor` is made, so the classic path never imports them.

Per frame (:meth:`TonalPredictor.predict`):

1. the parts' bounding box (plus :data:`CONTEXT` px) is cut from the plate and scaled to the *working resolution*:
   ``scale = min(1, WORK_HEIGHT / frame height)`` (540 px tall for 1080p; synth frames of 512 px run at 1:1, the
   scale the model was trained at, ±30 %);
2. the U-Net gives 4 logits per working pixel (classes 1..4), turned into probabilities;
3. **stabilisation**: the previous frame's probabilities are warped to this frame along DIS optical flow (current ->
   previous, on the grey working plates) and blended in, ``p = (1 - a) p_now + a p_prev_warped`` with
   ``a = EMA * m``, ``m = exp(-(d / PLATE_TOL)^2)``, where ``d`` is how much the warped previous plate differs from
   this one (zero motion is used instead of the flow where it explains the pixel at least as well: still pixels keep
   what they had); then the previous class gets a head start of ``HYSTERESIS * m`` (hysteresis): where the flow explains
   the pixel the class carries over unless the new evidence is clearly different, where it does not
   (disocclusion, a light change) this frame decides. The blended probabilities are carried to the next frame;
4. **shot colour table** (:class:`ShotColourTable`): per part, the model's material / shadow / highlight probabilities
   are accumulated over the shot so far per plate colour, and the table's answer for the pixel's colour is mixed in
   with weight :data:`TABLE_WEIGHT` (cast vs attached stays the model's split of the shadow). Like the classic fit's
   thresholds "once per shot", a part's colour means the same tone in every frame;
5. the probabilities are upsampled (bilinear) to the frame inside the box and the argmax is taken inside the mattes.

Optionally (``flip=True``) the U-Net also sees the mirrored frame and the two logits are averaged (test-time
augmentation; twice the U-Net time).

:func:`tone_codes` maps the five classes to the ``tone`` channel's codes for ``--tones 2|3|4``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..cvcompat import dis_optical_flow, flow_calc
from ..errors import BackendError, CheckpointError
from .tonal_net import N_CLASSES, TonalNetConfig, build_tonal_unet, tonal_features

log = logging.getLogger("inkpaint.tonal")

WEIGHTS = Path(__file__).resolve().parent.parent / "weights" / "tonal_unet.safetensors"
"""The shipped weights (sidecar ``tonal_unet.json`` beside them records size and SHA-256)."""

REBUILD = (
    "inkpaint train tonal --data ../shared/data/synth_train --out runs/tonal --seed 3 --threads 2 "
    "&& cp runs/tonal/tonal_unet.safetensors runs/tonal/tonal_unet.json core/inkpaint/weights/"
)
"""The command that trains the shipped weights from scratch (defaults of ``inkpaint train tonal``)."""

INSTALL = "pip install 'inkpaint[sam2]'  (or: pip install torch safetensors)"

WORK_HEIGHT = 540
"""Frames taller than this are scaled down to it for the model (the scale synth training frames are seen at)."""

CONTEXT = 16
"""Pixels of plate around the parts' bounding box that the model sees (at the working scale)."""

EMA = 0.6
"""Weight of the flow-warped previous frame where it matches this one (0 = no stabilisation)."""

PLATE_TOL = 0.04
"""Grey-level difference (0..1) at which the warped previous frame's weight has fallen to ``EMA / e``."""

HYSTERESIS = 0.15
"""Head start (in probability) of the class a pixel had in the previous frame, where the flow-warped previous plate
matches (scaled like the EMA weight): a class changes only when the new evidence beats the old by this much."""

FLIP = True
"""Default of :class:`TonalPredictor`'s ``flip`` (test-time mirror averaging)."""

TABLE_WEIGHT = 0.75
"""Weight of the shot's colour table (:class:`ShotColourTable`) against the (stabilised) model in the lit / shadow /
highlight decision (0 = the model alone)."""

TABLE_BITS = 5
"""The colour table's bins: ``2 ** TABLE_BITS`` per display-sRGB channel, read and written trilinearly."""

TABLE_PRIOR = 1.0
"""Weight of the pixel's own model probabilities beside the table's (trilinearly interpolated) counts: a colour seen
rarely in the shot follows the model."""

TONE_MAPS = {
    2: np.array([0, 1, 2, 2, 1], np.uint8),
    3: np.array([0, 1, 2, 2, 3], np.uint8),
    4: np.array([0, 1, 2, 4, 3], np.uint8),
}
"""Tonal class (0 bg, 1 material, 2 attached, 3 cast, 4 highlight) -> ``tone`` code (0 outside, 1 base, 2 shadow,
3 highlight, 4 second shadow) for ``tones`` = 2, 3, 4. With 4 tones, cast shadow is the second shadow."""


def tone_codes(tonal: np.ndarray, tones: int | np.ndarray) -> np.ndarray:
    """``tone`` channel codes from tonal classes.

    Args:
        tonal: ``(H, W)`` uint8 classes 0..4.
        tones: 2, 3 or 4 for every pixel, or an ``(H, W)`` array of them (per-part overrides).

    Returns:
        ``(H, W)`` uint8 codes.
    """
    if np.isscalar(tones) or np.ndim(tones) == 0:
        return TONE_MAPS[int(tones)][tonal]
    out = TONE_MAPS[2][tonal]
    for t in (3, 4):
        sel = tones == t
        if np.any(sel):
            out[sel] = TONE_MAPS[t][tonal[sel]]
    return out


def _require_torch() -> Any:
    try:
        import torch
        import safetensors  # noqa: F401
    except ImportError as exc:
        raise BackendError(f"the learned tone method needs torch and safetensors ({exc.name} is not installed): {INSTALL}; "
                           "the classic method (--method classic) works without them") from exc
    return torch


_CACHE: dict[tuple[str, str], tuple[Any, dict[str, Any]]] = {}
_LOCK = threading.Lock()


def load_network(weights: str | os.PathLike[str] | None = None, device: str = "auto") -> tuple[Any, dict[str, Any], Any]:
    """The verified tonal U-Net in eval mode: ``(module, sidecar record, torch.device)`` (cached per file+device).

    Raises:
        BackendError: torch or safetensors missing (with the install command).
        CheckpointError: weights missing, checksum mismatch (names the file and the training command).
    """
    torch = _require_torch()
    from ..training.package import load_weights
    from ..backends.sam2_video import pick_device

    path = Path(weights) if weights else weights_path()
    dev = pick_device(device)
    key = (str(path), str(dev))
    with _LOCK:
        if key not in _CACHE:
            sd, rec = load_weights(path, REBUILD)
            net = build_tonal_unet(TonalNetConfig.from_dict(rec.get("net", {})))
            try:
                net.load_state_dict(sd)
            except RuntimeError as exc:
                raise CheckpointError(f"model weights '{path}' do not fit the tonal U-Net ({exc}). Rebuild them with `{REBUILD}`.") from exc
            net = net.to(dev).eval()
            if dev.type == "cpu":
                net = net.to(memory_format=torch.channels_last)
            _CACHE[key] = (net, rec)
        net, rec = _CACHE[key]
    return net, rec, dev


def weights_path() -> Path:
    """``$INKPAINT_TONAL_WEIGHTS`` (weights a studio trained on its own renders) if set, else the shipped
    :data:`WEIGHTS`."""
    env = os.environ.get("INKPAINT_TONAL_WEIGHTS")
    return Path(env).expanduser() if env else WEIGHTS


def working_scale(frame_height: int, work_height: int = WORK_HEIGHT) -> float:
    """Scale from frame pixels to model pixels."""
    return min(1.0, work_height / float(frame_height))


@dataclasses.dataclass
class _Prev:
    probs: np.ndarray  # (h, w, 4) float32 over the working canvas box
    grey: np.ndarray  # (h, w) float32
    box: tuple[int, int, int, int]  # y0, x0, y1, x1 in working-canvas pixels


class ShotColourTable:
    """Per part, what the model said about each plate colour so far in the shot: the classic fit's "once per shot",
    learned from the model instead of lightness modes.

    Within one part (one material) the lit / shadow / highlight split is mostly a matter of colour (a linear split
    of RGB separates lit from shadow for 98 % of a part's pixels on synth_train), while the per-frame model errs
    where its context misleads it (near moving limbs, part edges). The table accumulates, per part and colour bin
    (trilinear over ``(2 ** bits + 1) ** 3`` bins), the model's probabilities of the three groups (material,
    shadow = attached + cast, highlight) over every pixel seen so far, and gives back the average for a pixel's
    colour. Identical colours of a part get the same answer in every frame, so still pixels keep their tone and a
    part's shadow edge follows the plate's colour edge. Cast vs attached shadow are not told apart by colour; that
    split stays the model's.

    Args:
        bits: bins per channel ``2 ** bits``.
    """

    def __init__(self, bits: int = TABLE_BITS) -> None:
        self.bits = bits
        self.side = (1 << bits) + 1
        self.bins = self.side ** 3
        self.table = np.zeros((0, 4), np.float64)  # per (part, bin): weight seen, then the sums of the 3 groups

    def _corners(self, rgb: np.ndarray, part: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(8, N)`` table indices and trilinear weights of the 8 bins around each pixel's colour."""
        x = np.clip(rgb.astype(np.float32), 0.0, 1.0) * float(1 << self.bits)
        i0 = np.minimum(x.astype(np.int64), (1 << self.bits) - 1)
        t = x - i0
        base = part.astype(np.int64) * self.bins + (i0[:, 0] * self.side + i0[:, 1]) * self.side + i0[:, 2]
        idx = np.empty((8, len(rgb)), np.int64)
        w = np.empty((8, len(rgb)), np.float32)
        for c in range(8):
            o = ((c >> 2) & 1, (c >> 1) & 1, c & 1)
            idx[c] = base + (o[0] * self.side + o[1]) * self.side + o[2]
            w[c] = (t[:, 0] if o[0] else 1.0 - t[:, 0]) * (t[:, 1] if o[1] else 1.0 - t[:, 1]) * (t[:, 2] if o[2] else 1.0 - t[:, 2])
        return idx, w

    def update_and_read(self, rgb: np.ndarray, part: np.ndarray, groups: np.ndarray, prior: float = TABLE_PRIOR) -> np.ndarray:
        """Add pixels to the table, then read it back for them.

        Args:
            rgb: ``(N, 3)`` display-sRGB colours, float 0..1.
            part: ``(N,)`` part index (> 0).
            groups: ``(N, 3)`` the model's probabilities of material, shadow, highlight.
            prior: weight of each pixel's own ``groups`` in its answer.

        Returns:
            ``(N, 3)`` float32: the table's average for each pixel's part and colour.
        """
        size = (int(part.max()) + 1) * self.bins
        if size > len(self.table):
            self.table = np.concatenate([self.table, np.zeros((size - len(self.table), 4))])
        idx, w = self._corners(rgb, part)
        flat, n = idx.ravel(), len(self.table)
        self.table[:, 0] += np.bincount(flat, w.ravel(), n)
        for g in range(3):
            self.table[:, g + 1] += np.bincount(flat, (w * groups[:, g]).ravel(), n)
        read = np.einsum("kn,knc->nc", w, np.take(self.table, idx, axis=0))  # (N, 4): one 32-byte row per corner
        num = prior * groups.astype(np.float64) + read[:, 1:]
        den = prior + read[:, 0]
        return (num / den[:, None]).astype(np.float32)


class TonalPredictor:
    """Five-class tonal segmentation of a shot's frames, in order, with flow-guided stabilisation.

    Not thread-safe: one predictor per sequence, frames fed in order (a gap or a frame out of order restarts the
    stabilisation).

    Args:
        weights: a ``.safetensors`` file (default: the shipped :data:`WEIGHTS`).
        device: ``auto`` (CUDA, else MPS, else CPU), ``cuda``, ``cuda:N``, ``mps``, ``cpu``.
        stabilise: blend the previous frame's flow-warped probabilities in (see the module docstring).
        flip: average the U-Net's logits of the frame and of its mirror image (test-time augmentation; ``None``: :data:`FLIP`).
        table: mix in the shot's colour table (:class:`ShotColourTable`).
        threads: torch CPU threads (``None``: leave torch's setting).

    Raises:
        BackendError, CheckpointError: see :func:`load_network`.
    """

    def __init__(self, weights: str | os.PathLike[str] | None = None, device: str = "auto", *, stabilise: bool = True, threads: int | None = None,
                 flip: bool | None = None, table: bool = True) -> None:
        self.torch = _require_torch()
        if threads:
            self.torch.set_num_threads(threads)
        self.net, self.record, self.device = load_network(weights, device)
        self.in_channels = int(self.record.get("net", {}).get("in_channels", 5))
        self.stabilise = stabilise
        self.flip = FLIP if flip is None else flip
        self.use_table = table
        self.table = ShotColourTable()
        self._prev: _Prev | None = None
        self._prev_frame: int | None = None
        self._dis = dis_optical_flow(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST) if stabilise else None
        self.seconds = {"model": 0.0, "flow": 0.0, "table": 0.0, "total": 0.0}

    def reset(self) -> None:
        """Start a new shot: forget the previous frame and the shot's colour table."""
        self._prev = None
        self._prev_frame = None
        self.table = ShotColourTable()

    def logits(self, feats: np.ndarray) -> np.ndarray:
        """``(N, 5, h, w)`` features -> ``(N, 4, h, w)`` float32 logits (padded to a multiple of 16 inside)."""
        torch = self.torch
        n, c, h, w = feats.shape
        ph, pw = (-h) % 16, (-w) % 16
        if ph or pw:
            feats = np.pad(feats, ((0, 0), (0, 0), (0, ph), (0, pw)), mode="edge")
        x = torch.from_numpy(np.ascontiguousarray(feats)).to(self.device)
        if self.device.type == "cpu":
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            y = self.net(x)
        return y[:, :, :h, :w].float().cpu().numpy()

    def predict(self, rgb: np.ndarray, parts: np.ndarray, frame: int | None = None, frame_height: int | None = None, offset: tuple[int, int] = (0, 0)) -> np.ndarray:
        """Tonal classes of one frame (or a window of it).

        Args:
            rgb: ``(H, W, 3)`` display-sRGB plate (float 0..1 or uint8) of the window.
            parts: ``(H, W)`` part index of the window (0 outside every part).
            frame: frame number (consecutive numbers are stabilised against each other; ``None`` = no stabilisation).
            frame_height: height of the whole frame (sets the working scale; default: the window's).
            offset: ``(y, x)`` of the window in the frame (so windows of different frames line up).

        Returns:
            ``(H, W)`` uint8 classes 0..4 (0 outside the parts).
        """
        t0 = time.perf_counter()
        H, W = parts.shape
        out = np.zeros((H, W), np.uint8)
        got = self.probabilities(rgb, parts, frame, frame_height, offset)
        if got is not None:
            probs, (y0, x0, y1, x1) = got
            cls = probs.argmax(-1).astype(np.uint8) + 1
            out[y0:y1, x0:x1] = np.where(parts[y0:y1, x0:x1] > 0, cls, 0)
        self.seconds["total"] += time.perf_counter() - t0
        return out

    def probabilities(self, rgb: np.ndarray, parts: np.ndarray, frame: int | None = None, frame_height: int | None = None,
                      offset: tuple[int, int] = (0, 0)) -> tuple[np.ndarray, tuple[int, int, int, int]] | None:
        """The (stabilised) class probabilities of one frame on the parts' box (arguments as :meth:`predict`).

        Returns:
            ``(probs, (y0, x0, y1, x1))``: ``(y1 - y0, x1 - x0, 4)`` float32 probabilities of classes 1..4 on that
            region of the window (window pixels), or ``None`` when the window holds no part.
        """
        H, W = parts.shape
        inside = parts > 0
        if not inside.any():
            self._prev = None  # nothing to carry over (the shot's colour table stays)
            return None
        s = working_scale(frame_height or H)
        ys, xs = np.nonzero(inside.any(axis=1))[0], np.nonzero(inside.any(axis=0))[0]
        m = int(np.ceil(CONTEXT / s))
        # the box is snapped to a grid of 16 working px fixed to the frame, so the U-Net's stride-2 levels see a still
        # object at the same phase in every frame (a box that moved by a pixel would otherwise jitter class edges)
        a = max(1, int(round(16 / s)))
        oy, ox = offset
        y0 = (oy + int(ys[0]) - m) // a * a - oy
        x0 = (ox + int(xs[0]) - m) // a * a - ox
        y1 = y0 + -(-(int(ys[-1]) + 1 + m - y0) // a) * a
        x1 = x0 + -(-(int(xs[-1]) + 1 + m - x0) // a) * a
        pt, pb, pl, pr = max(0, -y0), max(0, y1 - H), max(0, -x0), max(0, x1 - W)
        crop_rgb = rgb[y0 + pt : y1 - pb, x0 + pl : x1 - pr]
        crop_parts = parts[y0 + pt : y1 - pb, x0 + pl : x1 - pr]
        if pt or pb or pl or pr:  # the grid reaches past the window: repeat its edge (parts: none there)
            crop_rgb = np.pad(crop_rgb, ((pt, pb), (pl, pr), (0, 0)), mode="edge")
            crop_parts = np.pad(crop_parts, ((pt, pb), (pl, pr)))
        # working-canvas box (frame coordinates * s)
        wy0, wx0 = int(round((y0 + oy) * s)), int(round((x0 + ox) * s))
        wh, ww = max(1, int(round((y1 - y0) * s))), max(1, int(round((x1 - x0) * s)))
        if s != 1.0:
            crop_rgb_w = cv2.resize(crop_rgb, (ww, wh), interpolation=cv2.INTER_AREA)
            crop_parts_w = cv2.resize(crop_parts, (ww, wh), interpolation=cv2.INTER_NEAREST)
        else:
            crop_rgb_w, crop_parts_w = crop_rgb, crop_parts
        feats = tonal_features(crop_rgb_w, crop_parts_w, channels=self.in_channels)
        t1 = time.perf_counter()
        lg = self.logits(feats[None])[0]  # (4, wh, ww)
        if self.flip:  # test-time augmentation: the mirrored frame's logits, mirrored back, averaged in
            lg = 0.5 * (lg + self.logits(np.ascontiguousarray(feats[None, :, :, ::-1]))[0][:, :, ::-1])
        self.seconds["model"] += time.perf_counter() - t1
        e = np.exp(lg - lg.max(0, keepdims=True))
        probs = np.moveaxis(e / e.sum(0, keepdims=True), 0, -1).astype(np.float32)  # (wh, ww, 4)
        grey = (feats[0] * 0.2126 + feats[1] * 0.7152 + feats[2] * 0.0722) * 0.5 + 0.5
        box = (wy0, wx0, wy0 + wh, wx0 + ww)
        if self.stabilise and frame is not None and self._prev is not None and self._prev_frame == frame - 1:
            t2 = time.perf_counter()
            probs = self._blend(probs, grey.astype(np.float32), box)
            self.seconds["flow"] += time.perf_counter() - t2
        if self.stabilise and frame is not None:
            self._prev = _Prev(probs, grey.astype(np.float32), box)
            self._prev_frame = frame
        if self.use_table and TABLE_WEIGHT > 0:
            t3 = time.perf_counter()
            probs = self._with_table(probs, crop_rgb_w, crop_parts_w)
            self.seconds["table"] += time.perf_counter() - t3
        if s != 1.0 or probs.shape[:2] != (y1 - y0, x1 - x0):
            probs = cv2.resize(probs, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
        probs = probs[pt : y1 - y0 - pb, pl : x1 - x0 - pr]
        return probs, (y0 + pt, x0 + pl, y1 - pb, x1 - pr)

    def _with_table(self, probs: np.ndarray, rgb: np.ndarray, parts: np.ndarray) -> np.ndarray:
        """Mix the shot's colour table into the lit / shadow / highlight split of ``probs`` (``(h, w, 4)``, working
        canvas; ``rgb``, ``parts``: the working plate and part index there)."""
        inside = parts > 0
        p = probs[inside]
        shadow = p[:, 1] + p[:, 2]
        groups = np.stack([p[:, 0], shadow, p[:, 3]], -1)
        col = rgb[inside].astype(np.float32) * (1.0 / 255.0) if rgb.dtype == np.uint8 else rgb[inside]
        mixed = (1.0 - TABLE_WEIGHT) * groups + TABLE_WEIGHT * self.table.update_and_read(col, parts[inside], groups)
        cast = p[:, 2] / np.maximum(shadow, 1e-6)
        out = probs.copy()
        out[inside] = np.stack([mixed[:, 0], mixed[:, 1] * (1.0 - cast), mixed[:, 1] * cast, mixed[:, 2]], -1)
        return out

    def _blend(self, probs: np.ndarray, grey: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        """Blend the flow-warped previous probabilities into ``probs`` (both on the working canvas)."""
        prev, dis = self._prev, self._dis
        assert prev is not None and dis is not None  # only called when stabilising, after a frame
        # previous frame's grey/probs resampled onto this box's canvas (zeros where the previous box did not reach)
        y0, x0, y1, x1 = box
        h, w = y1 - y0, x1 - x0
        py0, px0, py1, px1 = prev.box
        pg = np.zeros((h, w), np.float32)
        pp = np.zeros((h, w, N_CLASSES), np.float32)
        valid = np.zeros((h, w), np.float32)
        iy0, ix0, iy1, ix1 = max(y0, py0), max(x0, px0), min(y1, py1), min(x1, px1)
        if iy1 <= iy0 or ix1 <= ix0:
            return probs
        pg[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0] = prev.grey[iy0 - py0 : iy1 - py0, ix0 - px0 : ix1 - px0]
        pp[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0] = prev.probs[iy0 - py0 : iy1 - py0, ix0 - px0 : ix1 - px0]
        valid[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0] = 1.0
        a8 = np.clip(grey * 255, 0, 255).astype(np.uint8)
        b8 = np.clip(pg * 255, 0, 255).astype(np.uint8)
        flow = flow_calc(dis, a8, b8)  # current -> previous
        gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
        mx, my = gx + flow[..., 0], gy + flow[..., 1]
        wg = cv2.remap(pg, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        wp = cv2.remap(pp, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        wv = cv2.remap(valid, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        d = np.abs(wg - grey)
        # a pixel whose plate did not change where it is keeps what it had there (the flow field is smooth and
        # spreads a moving limb's motion onto still neighbours): zero motion wins where it explains the pixel as well
        d0 = np.abs(pg - grey)
        still = (d0 <= d) & (valid > 0)
        d = np.where(still, d0, d)
        wp = np.where(still[..., None], pp, wp)
        wv = np.where(still, 1.0, wv)
        match = np.exp(-((d / PLATE_TOL) ** 2)) * (wv > 0.999) * (wp.sum(-1) > 0.5)
        a = (EMA * match)[..., None].astype(np.float32)
        out = (1 - a) * probs + a * wp
        if HYSTERESIS > 0:  # the class the pixel had keeps a head start where the flow explains the pixel
            prev_cls = wp.argmax(-1)
            bonus = (HYSTERESIS * match).astype(np.float32)
            np.put_along_axis(out, prev_cls[..., None], np.take_along_axis(out, prev_cls[..., None], -1) + bonus[..., None], -1)
        return out


def predictor_for(device: str = "auto", weights: str | os.PathLike[str] | None = None) -> TonalPredictor:
    """A fresh :class:`TonalPredictor` (the network itself is cached, so this is cheap after the first)."""
    return TonalPredictor(weights, device)


METHODS = ("classic", "learned")
"""Values of the shade/cel job field ``method``."""


def check_method(method: str, field: str = "method") -> None:
    """Raise a :class:`~inkpaint.errors.SpecError` unless ``method`` is ``classic`` or ``learned``."""
    from ..errors import SpecError

    if method not in METHODS:
        raise SpecError(field, f"must be 'classic' (tone fit per shot) or 'learned' (the tonal U-Net); got {method!r}")


class LearnedTones:
    """The learned method as the shade stage uses it: tone codes + the five tonal classes of each frame.

    The stage hands over the parts' window (their bounding box + 1 px); the model was trained seeing the plate
    around the characters, so the plate is re-read here on that window grown by :data:`CONTEXT` working pixels
    (one extra read of a slightly larger window per frame), the same in the ``shade`` and ``cel`` jobs.

    Args:
        names: the mattes' part names (label ``i + 1`` is ``names[i]``).
        tones: the job's tone count (2, 3, 4).
        part_tones: per-part tone counts overriding ``tones`` (``{"hair": 3}``).
        plate: the stage's plate source (``rgb(frame, window)``); ``None``: use the window the stage gives.
        device: torch device name.

    Raises:
        BackendError: torch/safetensors missing (names the install command).
        CheckpointError: weights missing or not matching their checksum (names the file and the rebuild command).
    """

    def __init__(self, names: list[str], tones: int, part_tones: dict[str, int] | None = None, plate: Any = None, device: str = "auto") -> None:
        self.predictor = TonalPredictor(device=device)
        pt = part_tones or {}
        self.tones_lut = np.array([tones] + [int(pt.get(n) or tones) for n in names], np.uint8)
        self.uniform = bool((self.tones_lut == tones).all())
        self.tones = tones
        self.plate = plate
        self._tonal: dict[int, np.ndarray] = {}

    @property
    def weights_sha256(self) -> str:
        return str(self.predictor.record.get("sha256", ""))

    def frame(self, frame: int, parts: Any, rgb: np.ndarray) -> np.ndarray:
        """Tone codes of one frame on ``parts.window`` (a :class:`~inkpaint.ops.sources.PartLabels`; ``rgb``: the plate
        there); the tonal classes are kept for :meth:`pop_tonal`."""
        from ..io.frames import paste

        labels, window, size = parts.labels, parts.window, parts.size
        s = working_scale(size[1])
        if self.plate is not None:
            grown = window.grow(int(np.ceil(CONTEXT / s)) + 1, size)
            big = self.predictor.predict(self.plate.rgb(frame, grown), paste(labels, window, grown), frame=frame, frame_height=size[1], offset=(grown.y, grown.x))
            tonal = paste(big, grown, window)
        else:
            tonal = self.predictor.predict(rgb, labels, frame=frame, frame_height=size[1], offset=(window.y, window.x))
        self._tonal[frame] = tonal
        while len(self._tonal) > 8:  # frames computed but never written (not in this run's todo)
            self._tonal.pop(next(iter(self._tonal)))
        return tone_codes(tonal, self.tones if self.uniform else self.tones_lut[labels])

    def pop_tonal(self, frame: int, shape: tuple[int, int]) -> np.ndarray:
        """The tonal classes :meth:`frame` computed for ``frame`` (zeros of ``shape`` if none)."""
        t = self._tonal.pop(frame, None)
        return np.zeros(shape, np.uint8) if t is None else t
