"""Learned inclusion matching (seed 002) on top of the classical warped vote.

For each target segment the matcher gives the probability that it is *included* in each candidate reference segment,
plus a dustbin ("not in the reference": a new region). Colours follow from the reference segment's colour: the
probability of colour c is the summed probability of the candidates painted c.

Pipeline per target frame (:func:`propagate_learned`):

1. The classical path (:func:`inkpaint.paint.propagate.propagate_colours`) runs first with the same DIS flow; its
   result is both the fallback and a feature (seed 002: the warped colours are an input of the matcher).
2. :func:`pair_inputs` builds, at a working resolution (:data:`WORK` px on the longer side, line art area-averaged
   so thin lines never vanish), two 5-plane images: line ink, RGB colours (the reference's own; for the target the
   flow-warped reference colours) and a target flag; per segment its geometry; per target segment ``K`` candidate
   reference segments (largest warped overlap first, then the nearest to its flow-carried centroid) with pair
   features (overlap share, the classical colour vote share of the candidate's colour, carried distance, area
   ratio, "is the classical pick", background flag), plus one slot holding the classical colour itself.
3. The network (:func:`build_matcher`): a small CNN on both images, features mean-pooled per segment (segments too
   small for the working resolution take the feature at their centroid), segment geometry added, one round of
   cross-attention from target to reference segments and one self-attention round among target segments, then a
   pair MLP scores each candidate; a dustbin logit per target segment.
4. :func:`decide`: per target segment the colour of highest summed probability and that probability as its
   confidence; where the dustbin wins, the segment keeps that colour but is marked a new region (confidence capped
   at :data:`~inkpaint.paint.propagate.NEW_REGION_CONFIDENCE`), so QC shows it.

torch is imported inside functions only; numpy/OpenCV work does not need it.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .colours import UNPAINTED
from .propagate import (METHOD_NEW, METHOD_NONE, METHOD_SECOND, METHOD_VOTE, NEW_REGION_CONFIDENCE, FrameColours,
                        dense_flow, flow_image, propagate_colours, warp_index)
from .segments import Segmentation

WORK = 192
"""Working resolution of the CNN (longer side, px)."""
K = 10
"""Candidate reference segments per target segment."""
N_PAIR = 7
N_TGT = 7
N_REF = 4
WEIGHTS = Path(__file__).resolve().parent.parent / "weights" / "paint_matcher.safetensors"
"""The shipped weights (sidecar ``paint_matcher.json`` beside them records size and SHA-256)."""
WEIGHTS_ENV = "INKPAINT_PAINT_MATCHER"
"""Environment variable naming other matcher weights (a training run's output) instead of the shipped ones."""
TRAIN_COMMAND = ("inkpaint train paint --data ../shared/data/synth_train --out runs/paint_matcher "
                 "(then copy runs/paint_matcher/paint_matcher.* to core/inkpaint/weights/)")


@dataclasses.dataclass
class MatcherConfig:
    """Network size. Attributes: ``width`` CNN channels, ``dim`` segment token size, ``heads`` attention heads."""

    width: int = 24
    dim: int = 48
    heads: int = 4

    def to_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class PairInputs:
    """Everything the network sees for one (reference, target) pair; numpy, shapes in the field docs.

    Attributes:
        images: ``(2, 5, h, w)`` float32: [reference, target] x [ink, R, G, B, is-target].
        ref_pool: ``(h, w)`` int32 reference segment id per working pixel (0 = none).
        tgt_pool: ``(h, w)`` int32 target segment id per working pixel.
        ref_centre: ``(nr + 1, 2)`` int32 working-pixel (x, y) of each reference segment's centroid.
        tgt_centre: ``(nt + 1, 2)`` int32 the same for the target.
        ref_geo: ``(nr + 1, N_REF)`` float32 per reference segment geometry.
        tgt_geo: ``(nt + 1, N_TGT)`` float32 per target segment geometry + classical result.
        cand: ``(nt + 1, K + 1)`` int64 candidate reference segment ids (row 0 unused); the last slot is the
            classical colour itself (reference id 0).
        cand_valid: ``(nt + 1, K + 1)`` bool (candidate exists and is painted).
        cand_colour: ``(nt + 1, K + 1)`` int64 colour index of each candidate (-1 where invalid).
        pair: ``(nt + 1, K + 1, N_PAIR)`` float32 pair features.
    """

    images: np.ndarray
    ref_pool: np.ndarray
    tgt_pool: np.ndarray
    ref_centre: np.ndarray
    tgt_centre: np.ndarray
    ref_geo: np.ndarray
    tgt_geo: np.ndarray
    cand: np.ndarray
    cand_valid: np.ndarray
    cand_colour: np.ndarray
    pair: np.ndarray


def _work_size(shape: tuple[int, int], work: int = WORK) -> tuple[int, int]:
    h, w = shape
    s = work / float(max(h, w))
    return max(8, int(round(w * s))), max(8, int(round(h * s)))


def _image(seg: Segmentation, rgb: np.ndarray, is_target: float, size: tuple[int, int]) -> np.ndarray:
    ink = cv2.resize(seg.lines.ink.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    col = cv2.resize(rgb.astype(np.float32) / 255.0, size, interpolation=cv2.INTER_AREA)
    flag = np.full(ink.shape, is_target, np.float32)
    return np.concatenate([ink[None], col.transpose(2, 0, 1), flag[None]], 0)


def _pool_map(seg: Segmentation, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    pool = cv2.resize(seg.fill.astype(np.float32), size, interpolation=cv2.INTER_NEAREST).astype(np.int32)
    h, w = seg.shape
    cx = np.clip(np.floor(seg.centroid[:, 0] * size[0] / w), 0, size[0] - 1)
    cy = np.clip(np.floor(seg.centroid[:, 1] * size[1] / h), 0, size[1] - 1)
    return pool, np.stack([cx, cy], 1).astype(np.int32)


def _pixels(seg: Segmentation, colours: FrameColours, table_rgb: np.ndarray) -> np.ndarray:
    idx = colours.pixel_index(seg)
    rgb = table_rgb[np.clip(idx, 0, None)].astype(np.uint8)
    rgb[idx < 0] = 128
    return rgb


def pair_inputs(ref: Segmentation, ref_colours: FrameColours, target: Segmentation, table_rgb: np.ndarray,
                flow: np.ndarray, classic: FrameColours, k: int = K) -> PairInputs:
    """The matcher's inputs for one pair (numpy only).

    Args:
        ref: reference segmentation.
        ref_colours: its colours (indices into ``table_rgb``).
        target: target segmentation (same size).
        table_rgb: ``(C, 3)`` uint8 colour table.
        flow: ``(H, W, 2)`` target -> reference flow.
        classic: the classical result for the target (same flow).
        k: candidates per target segment.

    Returns:
        :class:`PairInputs`.
    """
    h, w = target.shape
    size = _work_size((h, w))
    nt, nr = target.n, ref.n
    n_col = len(table_rgb)
    # images: reference colours, and the reference colours warped onto the target
    ref_pix = ref_colours.pixel_index(ref)
    ref_rgb = _pixels(ref, ref_colours, table_rgb)
    warped_idx = warp_index(ref_pix, flow)
    wrgb = table_rgb[np.clip(warped_idx, 0, None)].astype(np.uint8)
    wrgb[warped_idx < 0] = 128
    images = np.stack([_image(ref, ref_rgb, 0.0, size), _image(target, wrgb, 1.0, size)])
    ref_pool, ref_centre = _pool_map(ref, size)
    tgt_pool, tgt_centre = _pool_map(target, size)
    a_t = np.maximum(target.area, 1).astype(np.float64)
    a_r = np.maximum(ref.area, 1).astype(np.float64)
    ref_col = ref_colours.index.astype(np.int64)
    # per segment geometry
    ref_geo = np.zeros((nr + 1, N_REF), np.float32)
    ref_geo[:, 0] = np.log(a_r / (h * w)) / 10.0 + 1.0
    ref_geo[:, 1] = ref.centroid[:, 0] / w
    ref_geo[:, 2] = ref.centroid[:, 1] / h
    ref_geo[:, 3] = ref_col < 0
    tgt_geo = np.zeros((nt + 1, N_TGT), np.float32)
    tgt_geo[:, 0] = np.log(a_t / (h * w)) / 10.0 + 1.0
    tgt_geo[:, 1] = target.centroid[:, 0] / w
    tgt_geo[:, 2] = target.centroid[:, 1] / h
    tgt_geo[:, 3] = classic.confidence
    tgt_geo[:, 4] = np.minimum(classic.residual if classic.residual is not None else 0.0, 4.0) / 2.0
    tgt_geo[:, 5] = classic.method == METHOD_NEW
    tgt_geo[:, 6] = classic.index < 0
    # overlap of each target segment with the reference segments its pixels warp from
    tl = target.labels.reshape(-1)
    src = warp_index(ref.fill, flow).reshape(-1)
    m = (tl > 0) & (src > 0)
    key, cnt = np.unique(tl[m].astype(np.int64) * (nr + 1) + src[m], return_counts=True)
    ov = np.zeros((nt + 1, nr + 1), np.float32)
    ov[key // (nr + 1), key % (nr + 1)] = cnt / a_t[key // (nr + 1)]
    # classical colour vote share per (target segment, colour)
    wi = warped_idx.reshape(-1)
    mm = (tl > 0) & (wi >= 0)
    cv = np.bincount(tl[mm].astype(np.int64) * n_col + np.minimum(wi[mm], n_col - 1), minlength=(nt + 1) * n_col)
    cshare = (cv.reshape(nt + 1, n_col) / a_t[:, None]).astype(np.float32)
    # flow-carried centroids and distances to every reference centroid
    fx = np.bincount(tl, weights=flow[..., 0].reshape(-1), minlength=nt + 1)[: nt + 1]
    fy = np.bincount(tl, weights=flow[..., 1].reshape(-1), minlength=nt + 1)[: nt + 1]
    cx = target.centroid[:, 0] + fx / a_t
    cy = target.centroid[:, 1] + fy / a_t
    d = np.hypot(cx[:, None] - ref.centroid[None, :, 0], cy[:, None] - ref.centroid[None, :, 1])
    dn = (d / (np.sqrt(a_t)[:, None] + 2.0)).astype(np.float32)
    rank = dn / 1000.0 - ov  # overlap first, then distance
    rank[:, 0] = np.inf
    kk = min(k, nr)
    cand = np.zeros((nt + 1, k), np.int64)
    valid = np.zeros((nt + 1, k), bool)
    if kk > 0:
        part = np.argpartition(rank, kk - 1, axis=1)[:, :kk] if kk < nr + 1 else np.argsort(rank, 1)[:, :kk]
        order = np.take_along_axis(rank, part, 1).argsort(1)
        cand[:, :kk] = np.take_along_axis(part, order, 1)
        valid[:, :kk] = cand[:, :kk] > 0
    ccol = np.where(valid, ref_col[cand], -1)
    valid &= ccol >= 0
    ccol = np.where(valid, ccol, -1)
    rows = np.arange(nt + 1)[:, None]
    pair = np.zeros((nt + 1, k, N_PAIR), np.float32)
    pair[..., 0] = ov[rows, cand]
    pair[..., 1] = np.where(valid, cshare[rows, np.clip(ccol, 0, None)], 0.0)
    pair[..., 2] = np.minimum(dn[rows, cand], 20.0) / 5.0
    pair[..., 3] = np.log(a_r[cand] / a_t[:, None]) / 3.0
    pair[..., 4] = (ccol == classic.index[:, None]) & valid
    pair[..., 5] = ccol == 0
    pair[..., 6] = np.arange(k)[None, :] / k
    pair[~valid] = 0.0
    # one more slot: the classical colour itself (it may come from the colour-line rule, which no single reference
    # segment carries), so the matcher can always keep the classical answer
    cc = classic.index.astype(np.int64)
    cvalid = cc >= 0
    cpair = np.zeros((nt + 1, 1, N_PAIR), np.float32)
    cpair[:, 0, 1] = np.where(cvalid, cshare[np.arange(nt + 1), np.clip(cc, 0, None)], 0.0)
    cpair[:, 0, 4] = cvalid
    cpair[:, 0, 5] = cc == 0
    cpair[:, 0, 6] = np.where(cvalid, 1.5, 0.0)
    cand = np.concatenate([cand, np.zeros((nt + 1, 1), np.int64)], 1)
    valid = np.concatenate([valid, cvalid[:, None]], 1)
    ccol = np.concatenate([ccol, np.where(cvalid, cc, -1)[:, None]], 1)
    pair = np.concatenate([pair, cpair], 1)
    return PairInputs(images, ref_pool, tgt_pool, ref_centre, tgt_centre, ref_geo, tgt_geo, cand, valid, ccol, pair)


def build_matcher(config: MatcherConfig | None = None) -> Any:
    """The matcher network (``torch.nn.Module``); ``forward(PairInputs-as-tensors) -> (nt + 1, K + 1)`` logits
    (last column = dustbin). See the module docstring."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    cfg = config or MatcherConfig()

    class Matcher(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            c = cfg.width
            self.config = cfg
            self.cnn = nn.Sequential(
                nn.Conv2d(5, c, 3, padding=1), nn.ReLU(),
                nn.Conv2d(c, c, 3, stride=2, padding=1), nn.ReLU(),
                nn.Conv2d(c, 2 * c, 3, padding=1), nn.ReLU(),
                nn.Conv2d(2 * c, 2 * c, 3, stride=2, padding=1), nn.ReLU(),
                nn.Conv2d(2 * c, 2 * c, 3, padding=2, dilation=2), nn.ReLU(),
                nn.Conv2d(2 * c, cfg.dim, 3, padding=4, dilation=4),
            )
            d = cfg.dim
            self.ref_in = nn.Linear(d + N_REF, d)
            self.tgt_in = nn.Linear(d + N_TGT, d)
            self.cross = nn.MultiheadAttention(d, cfg.heads, batch_first=True)
            self.self_attn = nn.MultiheadAttention(d, cfg.heads, batch_first=True)
            self.norm1, self.norm2, self.norm3 = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
            self.ffn = nn.Sequential(nn.Linear(d, 2 * d), nn.ReLU(), nn.Linear(2 * d, d))
            self.pair_mlp = nn.Sequential(nn.Linear(3 * d + N_PAIR, 2 * d), nn.ReLU(), nn.Linear(2 * d, d), nn.ReLU(), nn.Linear(d, 1))
            self.dustbin = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, 1))
            # a linear path from the pair features, started at "trust the classical pick and the colour vote", so
            # training begins at the classical result and learns where to depart from it
            self.pair_lin = nn.Linear(N_PAIR, 1)
            with torch.no_grad():
                self.pair_lin.weight.zero_()
                self.pair_lin.weight[0, 4] = 4.0
                self.pair_lin.weight[0, 1] = 2.0
                self.pair_lin.weight[0, 0] = 1.0
                self.pair_lin.bias.zero_()
                self.dustbin[-1].bias.fill_(-4.0)  # type: ignore[operator]

        @staticmethod
        def _pool(feat: Any, pool: Any, centre: Any, n1: int) -> Any:
            c = feat.shape[0]
            flat = feat.reshape(c, -1).t()
            idx = pool.reshape(-1)
            s = torch.zeros(n1, c, dtype=feat.dtype).index_add_(0, idx, flat)
            cnt = torch.zeros(n1, dtype=feat.dtype).index_add_(0, idx, torch.ones_like(idx, dtype=feat.dtype))
            at_c = feat[:, centre[:, 1], centre[:, 0]].t()
            return torch.where(cnt[:, None] > 0, s / cnt.clamp(min=1)[:, None], at_c)

        def forward(self, x: dict[str, Any]) -> Any:
            feats = self.cnn(x["images"])
            feats = F.interpolate(feats, size=x["images"].shape[-2:], mode="bilinear", align_corners=False)
            nr1, nt1 = x["ref_geo"].shape[0], x["tgt_geo"].shape[0]
            r = self._pool(feats[0], x["ref_pool"], x["ref_centre"], nr1)
            t = self._pool(feats[1], x["tgt_pool"], x["tgt_centre"], nt1)
            r = self.ref_in(torch.cat([r, x["ref_geo"]], 1))
            t = self.tgt_in(torch.cat([t, x["tgt_geo"]], 1))
            a, _ = self.cross(self.norm1(t)[None], self.norm1(r)[None], self.norm1(r)[None], need_weights=False)
            t = t + a[0]
            tn = self.norm2(t)[None]
            a, _ = self.self_attn(tn, tn, tn, need_weights=False)
            t = t + a[0]
            t = t + self.ffn(self.norm3(t))
            rc = r[x["cand"]]  # (nt1, K, d)
            tk = t[:, None, :].expand_as(rc)
            logit = self.pair_mlp(torch.cat([tk, rc, tk * rc, x["pair"]], -1))[..., 0] + self.pair_lin(x["pair"])[..., 0]
            logit = logit.masked_fill(~x["cand_valid"], -1e4)
            return torch.cat([logit, self.dustbin(t)], 1)

    return Matcher()


def to_tensors(p: PairInputs, device: Any = "cpu") -> dict[str, Any]:
    """:class:`PairInputs` as the dict of tensors ``forward`` takes."""
    import torch

    out = {}
    for f in dataclasses.fields(p):
        v = getattr(p, f.name)
        t = torch.from_numpy(np.ascontiguousarray(v))
        if f.name in ("ref_pool", "tgt_pool", "ref_centre", "tgt_centre"):
            t = t.long()
        out[f.name] = t.to(device)
    return out


def colour_probabilities(logits: np.ndarray, cand_colour: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per target segment: best colour, its summed probability, and the dustbin probability.

    Args:
        logits: ``(nt + 1, K + 1)`` network output.
        cand_colour: ``(nt + 1, K)`` candidate colours (-1 invalid).

    Returns:
        ``(colour (nt+1,) int32 (-1 when no valid candidate), probability (nt+1,), dustbin (nt+1,))``.
    """
    z = logits - logits.max(1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(1, keepdims=True)
    pc = p[:, :-1] * (cand_colour >= 0)
    same = (cand_colour[:, :, None] == cand_colour[:, None, :]) & (cand_colour[:, :, None] >= 0)
    summed = (same * pc[:, None, :]).sum(2)
    best = summed.argmax(1)
    rows = np.arange(len(best))
    colour = np.where(summed[rows, best] > 0, cand_colour[rows, best], UNPAINTED).astype(np.int32)
    return colour, summed[rows, best].astype(np.float32), p[:, -1].astype(np.float32)


def decide(logits: np.ndarray, inputs: PairInputs, classic: FrameColours) -> FrameColours:
    """The target's colours from the matcher's logits (see the module docstring)."""
    colour, prob, dust = colour_probabilities(logits, inputs.cand_colour)
    index = np.where(colour >= 0, colour, classic.index).astype(np.int32)
    conf = np.where(colour >= 0, prob, classic.confidence).astype(np.float32)
    method = np.where(index == classic.index, classic.method, METHOD_SECOND)
    method = np.where((index >= 0) & (method == METHOD_NONE), METHOD_VOTE, method)
    new = (dust > prob) & (index >= 0)
    method = np.where(new, METHOD_NEW, method).astype(np.uint8)
    conf = np.where(new, np.minimum(conf, NEW_REGION_CONFIDENCE), conf).astype(np.float32)
    index[0], conf[0], method[0] = UNPAINTED, 0.0, METHOD_NONE
    return FrameColours(index, conf, method, classic.residual)


class LoadedMatcher:
    """A matcher network with its shipped weights (verified), ready for inference on CPU/GPU.

    Attributes:
        model: the network in eval mode.
        record: the weights' sidecar record (model card data).
    """

    def __init__(self, model: Any, record: dict[str, Any]) -> None:
        self.model = model
        self.record = record

    def logits(self, inputs: PairInputs) -> np.ndarray:
        import torch

        with torch.no_grad():
            return self.model(to_tensors(inputs)).numpy()


_CACHE: dict[str, LoadedMatcher] = {}


def weights_path(path: str | os.PathLike[str] | None = None) -> Path:
    """``path``, else ``$INKPAINT_PAINT_MATCHER``, else the shipped :data:`WEIGHTS`."""
    return Path(path or os.environ.get(WEIGHTS_ENV) or WEIGHTS)


def torch_problem() -> str | None:
    """Why the learned matcher cannot run here (torch/safetensors missing), or ``None``."""
    for mod, pip in (("torch", "torch"), ("safetensors", "safetensors")):
        try:
            __import__(mod)
        except ImportError:
            return f"{mod} is not installed (pip install {pip}, or pip install 'inkpaint[sam2]')"
    return None


def weights_problem(path: str | os.PathLike[str] | None = None) -> str | None:
    """Why the shipped weights cannot be used (missing file or sidecar), or ``None``; checksums are checked on load."""
    p = weights_path(path)
    if not p.is_file():
        return f"the matcher weights '{p}' are missing (rebuild: {TRAIN_COMMAND})"
    if not p.with_suffix(".json").is_file():
        return f"the matcher weights '{p}' have no sidecar '{p.with_suffix('.json')}' (rebuild: {TRAIN_COMMAND})"
    return None


def load_matcher(path: str | os.PathLike[str] | None = None) -> LoadedMatcher:
    """Load (once per process) and verify the matcher weights.

    Raises:
        BackendError: torch/safetensors missing (names the install command).
        CheckpointError: weights missing, truncated or corrupted (names the file and the training command).
    """
    from ..errors import BackendError
    from ..training.package import load_weights

    p = str(weights_path(path).resolve())
    if p in _CACHE:
        return _CACHE[p]
    why = torch_problem()
    if why:
        raise BackendError(f"the learned paint matcher needs torch: {why}; or use --method classic")
    sd, rec = load_weights(p, TRAIN_COMMAND)
    model = build_matcher(MatcherConfig(**rec.get("net", {})))
    model.load_state_dict(sd)
    model.eval()
    _CACHE[p] = LoadedMatcher(model, rec)
    return _CACHE[p]


UNPAINT_BELOW_CONFIDENCE = False
"""Leave segments whose matcher probability is under the job's ``confidence`` unpainted (as the classical vote does
with its share). Off: the matcher's probabilities spread over the K + 1 slots, and on held-out synth_train clips
unpainting under 0.5 cost 0.5 pt of Acc (painted fraction 0.995 -> 0.990); such segments are painted and shown
low-confidence (yellow) in QC instead."""
KEEP_CLASSIC_ABOVE = 1.0
"""Classical colours at or above this confidence are kept and the matcher decides only the others (1.0 = the matcher
decides every segment; ``INKPAINT_MATCHER_KEEP_ABOVE`` overrides it for experiments)."""


def propagate_learned(ref: Segmentation, ref_colours: FrameColours, target: Segmentation, n_colours: int, *,
                      matcher: LoadedMatcher, table_rgb: np.ndarray, flow: np.ndarray | None = None,
                      **classic_kwargs: Any) -> FrameColours:
    """Colour ``target`` from ``ref`` with the learned matcher (same arguments as ``propagate_colours`` plus the
    loaded ``matcher`` and the colour table's ``(C, 3)`` RGB)."""
    if ref.shape != target.shape:
        raise ValueError(f"reference is {ref.shape[1]}x{ref.shape[0]}, target {target.shape[1]}x{target.shape[0]}")
    if flow is None and target.n:
        flow = dense_flow(flow_image(target), flow_image(ref))
    classic = propagate_colours(ref, ref_colours, target, n_colours, flow=flow, **classic_kwargs)
    if target.n == 0 or ref.n == 0:
        return classic
    inputs = pair_inputs(ref, ref_colours, target, table_rgb[:n_colours], flow, classic)  # type: ignore[arg-type]
    out = decide(matcher.logits(inputs), inputs, classic)
    keep_above = float(os.environ.get("INKPAINT_MATCHER_KEEP_ABOVE", KEEP_CLASSIC_ABOVE))
    if keep_above < 1.0:  # confident classical colours stay; the matcher decides the rest
        keep = (classic.index >= 0) & (classic.confidence >= keep_above)
        out = FrameColours(np.where(keep, classic.index, out.index).astype(np.int32),
                           np.where(keep, classic.confidence, out.confidence).astype(np.float32),
                           np.where(keep, classic.method, out.method).astype(np.uint8), classic.residual)
    if UNPAINT_BELOW_CONFIDENCE:
        low = (out.confidence < classic_kwargs.get("confidence", 0.5)) & (out.method != METHOD_NEW)
        low[0] = False
        out.index[low] = UNPAINTED
        out.method[low] = METHOD_NONE
    return out


LEARNED_IS_DEFAULT = False
"""Whether ``method="auto"`` picks the learned matcher when torch and the weights are present. Set from the synth_dev
measurement in docs/benchmarks.md: run 1 ties the classical path consecutive (Acc 0.9086 vs 0.9081) and loses chained
(0.8239 vs 0.8321), so ``auto`` stays classic until a model beats it."""


@dataclasses.dataclass
class PaintMethod:
    """The propagation a paint job uses.

    Attributes:
        used: ``"learned"`` or ``"classic"``.
        why: one sentence: why this one (for the log, the CLI and the run summary).
        matcher: the loaded matcher (learned only).
        fallback: ``auto`` wanted the learned matcher but torch or the weights are missing (logged as a warning).
    """

    used: str
    why: str
    matcher: LoadedMatcher | None = None
    fallback: bool = False

    def vote_function(self, table_rgb: np.ndarray) -> Any:
        """A callable with :func:`~inkpaint.paint.propagate.propagate_colours`' signature."""
        if self.matcher is None:
            return propagate_colours
        import functools

        return functools.partial(propagate_learned, matcher=self.matcher, table_rgb=table_rgb)


def select_method(method: str, weights: str | os.PathLike[str] | None = None) -> PaintMethod:
    """Resolve ``auto`` / ``learned`` / ``classic``.

    ``auto``: the learned matcher when torch, safetensors and the shipped weights are present (and
    :data:`LEARNED_IS_DEFAULT`), else the classical path, with the reason. ``learned``: the matcher or a clear error.

    Raises:
        BackendError: ``learned`` without torch (names the install command).
        CheckpointError: ``learned`` (or ``auto``) with missing/corrupted weights (names the file and the command).
    """
    if method == "classic":
        return PaintMethod("classic", "--method classic was asked for")
    if method == "learned":
        m = load_matcher(weights)
        return PaintMethod("learned", f"--method learned: matcher weights '{weights_path(weights)}' (sha256 {m.record.get('sha256', '')[:12]})", m)
    why = torch_problem() or weights_problem(weights)
    if why:
        return PaintMethod("classic", f"classical propagation: the learned matcher is unavailable ({why})", fallback=True)
    if not LEARNED_IS_DEFAULT:
        return PaintMethod("classic", "classical propagation: the shipped learned matcher does not beat it on synth_dev "
                                      "yet (docs/benchmarks.md), so auto uses classic; ask for --method learned")
    m = load_matcher(weights)
    return PaintMethod("learned", f"learned matcher (torch and weights '{weights_path(weights)}' present)", m)
