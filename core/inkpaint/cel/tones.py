"""Tone regions per part: base, shadow, highlight and a second shadow, fitted once per shot.

Seed 000 runs k-means (k=2) on each part of each frame, so the split moves from frame to frame and the tones
flicker. Here the split is fitted **once per shot**: every part's lightness values from a few sampled frames (or
user keyframes) are pooled into a histogram, and the 2-means split of that histogram (Otsu's threshold, which is
the exact 1-D k-means optimum) becomes the part's base/shadow threshold. Every frame is then classified against
the same thresholds, so a pixel whose colour does not change keeps its tone.

The clustering feature is ``log(L* + 2)`` (CIE L*, a perceptual lightness, compressed once more so a shadow's
*ratio* to the lit colour counts rather than its difference: a dark part's shadow is as far from its base as a
bright part's). Since the feature is monotone in L*, thresholds are stored and applied in L* units.

Tone codes (the ``tone`` channel): 0 outside every part, 1 base, 2 shadow, 3 highlight, 4 second shadow.

- ``tones=2``: base/shadow.
- ``tones=3``: adds highlights: base pixels lighter than the base cluster's centre by ``highlight_sigma`` robust
  standard deviations (and at least ``HIGHLIGHT_MIN_RATIO`` in the feature).
- ``tones=4``: highlights plus a second, darker shadow (a 2-means split of the shadow cluster).

Per frame, hysteresis keeps tone regions from chattering: pixels clearly below the threshold (by ``hysteresis``
in the feature) seed shadow regions, pixels within the band join them only when connected to a seed. Then
regions smaller than ``min_region`` pixels are merged into their surroundings, so tones don't speckle.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from typing import Any

import cv2
import numpy as np

from ..palette import TONE_BASE, TONE_HIGHLIGHT, TONE_OUTSIDE, TONE_SHADOW, TONE_SHADOW2
from .labels import bounding_box, region_edges

FEATURE_OFFSET = 2.0
"""The clustering feature is ``log(L* + FEATURE_OFFSET)``."""

N_BINS = 1024
_F_LO = math.log(FEATURE_OFFSET)
_F_HI = math.log(100.0 + FEATURE_OFFSET)
HIGHLIGHT_MIN_RATIO = 0.12
"""A highlight is at least this much above the base centre in the feature (about 13 % lighter in L* + 2)."""
MIN_SAMPLES = 64
"""Parts with fewer sampled pixels than this use the shot's pooled model."""


def lightness(rgb: np.ndarray) -> np.ndarray:
    """CIE L* of display-referred sRGB pixels.

    Args:
        rgb: ``(H, W, 3)`` float32 sRGB in 0..1 (what :func:`inkpaint.io.read_rgb` returns).

    Returns:
        ``(H, W)`` float32 L* in 0..100.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb must be (H, W, 3), got shape {rgb.shape}")
    lab = cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.float32), cv2.COLOR_RGB2Lab)
    return lab[..., 0]


def feature(lstar: np.ndarray | float) -> np.ndarray:
    """The clustering feature ``log(L* + 2)``."""
    return np.log(np.asarray(lstar, np.float64) + FEATURE_OFFSET)


def _to_lstar(f: float) -> float:
    return float(math.exp(f) - FEATURE_OFFSET)


def _bin_centres() -> np.ndarray:
    edges = np.linspace(_F_LO, _F_HI, N_BINS + 1)
    return 0.5 * (edges[:-1] + edges[1:])


from ..jobs.shade import PartTones  # noqa: E402,F401  (a job field type; lives in inkpaint.jobs)


@dataclasses.dataclass
class PartToneModel:
    """The fitted tone split of one part (all thresholds in L*).

    Attributes:
        name: the part.
        tones: 2, 3 or 4.
        shadow: below this is shadow.
        shadow2: below this is the second shadow (``tones=4``), else ``None``.
        highlight: above this is highlight (``tones>=3``), else ``None``.
        base_centre: centre of the base cluster.
        shadow_centre: centre of the shadow cluster.
        samples: pixels the fit saw.
        pooled: the part had too few samples and uses the shot's pooled fit.
        single_mode: the part's lightness has one mode, so it is all base (or all shadow in a mostly shaded shot).
    """

    name: str
    tones: int
    shadow: float
    shadow2: float | None
    highlight: float | None
    base_centre: float
    shadow_centre: float
    samples: int
    pooled: bool = False
    single_mode: bool = False


@dataclasses.dataclass
class ToneModel:
    """Tone thresholds of a shot, one :class:`PartToneModel` per part.

    Attributes:
        parts: per-part models, in label order (label ``i + 1`` is ``parts[i]``).
        hysteresis: half-width of the hysteresis band in the feature (``0.04`` is about 4 % of L* + 2).
        min_region: smallest tone region kept, in pixels.
        fitted_on: frames the histograms were pooled from.
    """

    parts: list[PartToneModel]
    hysteresis: float = 0.04
    min_region: int = 24
    fitted_on: list[int] = dataclasses.field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.parts]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ToneModel":
        return cls(
            parts=[PartToneModel(**p) for p in data["parts"]],
            hysteresis=float(data.get("hysteresis", 0.04)),
            min_region=int(data.get("min_region", 24)),
            fitted_on=list(data.get("fitted_on", [])),
        )

    def tables(self) -> dict[str, np.ndarray]:
        """Per-label threshold tables (index 0 = outside), float32 L*, for one-gather classification.

        Returns:
            ``{"lo", "hi", "mid", "shadow2", "highlight"}``: ``(P + 1,)`` arrays. ``lo``/``hi`` bound the hysteresis
            band just below the shadow threshold ``mid`` (``hi == mid``); absent tones use -inf/+inf.
        """
        n = len(self.parts) + 1
        lo = np.full(n, -np.inf, np.float32)
        hi = np.full(n, -np.inf, np.float32)
        mid = np.full(n, -np.inf, np.float32)
        s2 = np.full(n, -np.inf, np.float32)
        hl = np.full(n, np.inf, np.float32)
        for i, p in enumerate(self.parts, start=1):
            f = float(feature(p.shadow)) if p.shadow > -FEATURE_OFFSET else -np.inf
            mid[i] = p.shadow
            lo[i] = _to_lstar(f - self.hysteresis) if np.isfinite(f) else -np.inf
            hi[i] = p.shadow
            if p.shadow2 is not None:
                s2[i] = p.shadow2
            if p.highlight is not None:
                hl[i] = p.highlight
        return {"lo": lo, "hi": hi, "mid": mid, "shadow2": s2, "highlight": hl}


class ToneHistograms:
    """Pools per-part lightness histograms over the frames a shot is fitted on.

    Args:
        n_parts: number of parts (labels ``1..n_parts``).
    """

    def __init__(self, n_parts: int) -> None:
        self.n_parts = n_parts
        self.counts = np.zeros((n_parts + 1, N_BINS), np.int64)
        self.frames: list[int] = []

    def add(self, labels: np.ndarray, lstar: np.ndarray, frame: int | None = None) -> None:
        """Add one frame.

        Args:
            labels: ``(H, W)`` uint8 part labels.
            lstar: ``(H, W)`` float32 L* (:func:`lightness`).
            frame: the frame number (recorded in the model).
        """
        if labels.shape != lstar.shape:
            raise ValueError(f"labels {labels.shape} and lightness {lstar.shape} differ in shape")
        inside = labels > 0
        f = feature(lstar[inside])
        b = np.clip(((f - _F_LO) / (_F_HI - _F_LO) * N_BINS).astype(np.int64), 0, N_BINS - 1)
        key = labels[inside].astype(np.int64) * N_BINS + b
        self.counts += np.bincount(key, minlength=(self.n_parts + 1) * N_BINS).reshape(self.n_parts + 1, N_BINS)
        if frame is not None:
            self.frames.append(int(frame))


def otsu(hist: np.ndarray, centres: np.ndarray) -> tuple[int, float, float]:
    """The 2-means split of a 1-D histogram (Otsu: maximal between-class variance, the exact k-means optimum).

    Args:
        hist: ``(B,)`` counts.
        centres: ``(B,)`` bin centres.

    Returns:
        ``(k, low_mean, high_mean)``: bins ``< k`` are the low class. ``k`` is 0 when the histogram is empty or
        has one occupied bin.
    """
    w = hist.astype(np.float64)
    total = w.sum()
    if total <= 0:
        return 0, float("nan"), float("nan")
    cw = np.cumsum(w)
    cm = np.cumsum(w * centres)
    w0 = cw[:-1]
    w1 = total - w0
    valid = (w0 > 0) & (w1 > 0)
    if not valid.any():
        m = cm[-1] / total
        return 0, float(m), float(m)
    m0 = np.where(valid, cm[:-1] / np.maximum(w0, 1e-12), 0)
    m1 = np.where(valid, (cm[-1] - cm[:-1]) / np.maximum(w1, 1e-12), 0)
    between = np.where(valid, w0 * w1 * (m0 - m1) ** 2, -1.0)
    i = int(np.argmax(between))
    return i + 1, float(m0[i]), float(m1[i])


def _robust_sigma(hist: np.ndarray, centres: np.ndarray) -> tuple[float, float]:
    """Median and MAD-based standard deviation of a histogram."""
    c = np.cumsum(hist)
    total = c[-1]
    if total <= 0:
        return float("nan"), float("nan")
    med = centres[min(int(np.searchsorted(c, total / 2)), len(centres) - 1)]
    dev = np.abs(centres - med)
    order = np.argsort(dev)
    cd = np.cumsum(hist[order])
    mad = dev[order][min(int(np.searchsorted(cd, total / 2)), len(order) - 1)]
    return float(med), float(1.4826 * max(mad, (_F_HI - _F_LO) / N_BINS))


def fit_part(hist: np.ndarray, tones: int, *, bias: float = 0.0, highlight_sigma: float = 3.5) -> dict[str, Any]:
    """Fit one part's thresholds from its pooled feature histogram.

    Args:
        hist: ``(N_BINS,)`` counts of ``log(L* + 2)``.
        tones: 2, 3 or 4.
        bias: added to the base/shadow threshold, L* units (positive: more shadow).
        highlight_sigma: highlight threshold above the base cluster's median, in robust standard deviations.

    Returns:
        ``PartToneModel`` fields (without ``name``/``pooled``).
    """
    centres = _bin_centres()
    k, m_lo, m_hi = otsu(hist, centres)
    if k == 0:
        m_lo = m_hi = float(np.average(centres, weights=hist)) if hist.sum() else feature(50.0).item()
        t = m_lo - 1e-3  # one cluster: everything is base
    else:
        t = 0.5 * (m_lo + m_hi)  # the 2-means decision boundary: nearest centre wins
    shadow_l = _to_lstar(t) + bias
    out: dict[str, Any] = {
        "tones": tones,
        "shadow": float(shadow_l),
        "shadow2": None,
        "highlight": None,
        "base_centre": _to_lstar(m_hi),
        "shadow_centre": _to_lstar(m_lo),
        "samples": int(hist.sum()),
    }
    k_b = k if k > 0 else 0
    if tones >= 3:
        base = hist.copy()
        base[:k_b] = 0
        med, sig = _robust_sigma(base, centres)
        if np.isfinite(med):
            out["highlight"] = _to_lstar(max(med + highlight_sigma * sig, med + HIGHLIGHT_MIN_RATIO))
    if tones == 4:
        dark = hist.copy()
        dark[k_b:] = 0
        k2, d_lo, d_hi = otsu(dark, centres)
        if k2 > 0:
            out["shadow2"] = _to_lstar(0.5 * (d_lo + d_hi)) + bias
        else:
            out["shadow2"] = out["shadow_centre"] - 1e-3
    return out


def fit_tone_model(
    histograms: ToneHistograms,
    names: Sequence[str],
    tones: int = 2,
    *,
    overrides: dict[str, PartTones] | None = None,
    hysteresis: float = 0.04,
    min_region: int = 24,
    highlight_sigma: float = 3.5,
) -> ToneModel:
    """Fit a shot's :class:`ToneModel` from pooled histograms.

    Args:
        histograms: the pooled per-part histograms.
        names: part names, in label order.
        tones: default tone count, 2..4.
        overrides: per-part :class:`PartTones`.
        hysteresis: hysteresis half-band in the feature.
        min_region: smallest region kept, pixels.
        highlight_sigma: see :func:`fit_part`.

    Raises:
        ValueError: a tone count outside 2..4, or ``names`` does not match the histograms.
    """
    if len(names) != histograms.n_parts:
        raise ValueError(f"{len(names)} names for {histograms.n_parts} parts")
    overrides = overrides or {}
    pooled = histograms.counts[1:].sum(axis=0)
    centres = _bin_centres()
    parts = []
    single: list[int] = []
    split_dark = 0
    split_total = 0
    for i, name in enumerate(names, start=1):
        ov = overrides.get(name, PartTones())
        n_tones = ov.tones if ov.tones is not None else tones
        if n_tones not in (2, 3, 4):
            raise ValueError(f"part {name!r}: tones must be 2, 3 or 4, got {n_tones}")
        hist = histograms.counts[i]
        use_pooled = int(hist.sum()) < MIN_SAMPLES
        fit = fit_part(pooled if use_pooled else hist, n_tones, bias=ov.bias, highlight_sigma=highlight_sigma)
        fit["samples"] = int(hist.sum())
        parts.append(PartToneModel(name=name, pooled=use_pooled, **fit))
        if not use_pooled:
            if is_unimodal(hist):
                single.append(len(parts) - 1)
            else:
                k, _, _ = otsu(hist, centres)
                split_dark += int(hist[:k].sum())
                split_total += int(hist.sum())
    # A part lit (or shaded) all over has one lightness mode; 2-means would cut that mode in two. Such parts take
    # the shot's majority tone, judged on the parts that do show two modes (a backlit shot is mostly shadow).
    majority_shadow = split_total > 0 and split_dark > split_total / 2
    for j in single:
        p = parts[j]
        bias = overrides.get(p.name, PartTones()).bias
        p.single_mode = True
        p.shadow = (101.0 if majority_shadow else -FEATURE_OFFSET) + bias
        if p.shadow2 is not None:
            p.shadow2 = min(p.shadow2, p.shadow_centre)
    return ToneModel(parts, hysteresis=hysteresis, min_region=min_region, fitted_on=list(histograms.frames))


def is_unimodal(hist: np.ndarray, smooth_bins: float = 4.0, dip: float = 0.9) -> bool:
    """Whether a lightness histogram has a single mode: no dip between the peaks of its two Otsu classes.

    Args:
        hist: ``(N_BINS,)`` counts.
        smooth_bins: Gaussian smoothing (bins) before looking for the dip.
        dip: the valley between the two class peaks must fall below ``dip`` times the smaller peak to count.
    """
    k, _, _ = otsu(hist, _bin_centres())
    if k == 0:
        return True
    r = int(3 * smooth_bins)
    x = np.arange(-r, r + 1)
    kern = np.exp(-0.5 * (x / smooth_bins) ** 2)
    hs = np.convolve(hist.astype(np.float64), kern / kern.sum(), mode="same")
    # each class's peak, located on the smoothed histogram restricted to the class's own counts (smoothing the
    # whole histogram would let a tall peak's tail spill over the split and pose as the other class's peak)
    lo_only = np.convolve(np.where(np.arange(hist.size) < k, hist, 0).astype(np.float64), kern / kern.sum(), mode="same")
    hi_only = hs - lo_only
    p_lo = int(np.argmax(lo_only))
    p_hi = int(np.argmax(hi_only))
    if p_hi <= p_lo:
        return True
    smaller = min(hs[p_lo], hs[p_hi])
    if smaller <= 0:
        return True
    return bool(hs[p_lo : p_hi + 1].min() > dip * smaller)


def sample_frames(frames: Sequence[int], count: int) -> list[int]:
    """``count`` frames spread evenly over ``frames`` (all of them when there are fewer)."""
    if count <= 0 or count >= len(frames):
        return list(frames)
    idx = np.linspace(0, len(frames) - 1, count).round().astype(int)
    return sorted({frames[i] for i in idx})


def _remove_small(mask: np.ndarray, min_area: int) -> np.ndarray:
    """Pixels of ``mask`` in 8-connected components smaller than ``min_area``."""
    if min_area <= 1 or not mask.any():
        return np.zeros_like(mask)
    # connectedComponents + bincount: ~3x cheaper than connectedComponentsWithStats, which also computes boxes
    n, comp = cv2.connectedComponents(mask.view(np.uint8), connectivity=8)
    cc = np.asarray(comp, np.int32)
    small = np.bincount(cc.reshape(-1), minlength=n) < min_area
    small[0] = False
    if not small[1:].any():
        return np.zeros_like(mask)
    return np.take(small, cc)


def assign_tones(labels: np.ndarray, lstar: np.ndarray, model: ToneModel, tables: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """Classify every pixel of one frame into tone codes with a shot's fitted model.

    Args:
        labels: ``(H, W)`` uint8 part labels (label ``i + 1`` is ``model.parts[i]``).
        lstar: ``(H, W)`` float32 L* (:func:`lightness`).
        model: the shot's :class:`ToneModel`.
        tables: ``model.tables()``, precomputed (optional, for speed).

    Returns:
        ``(H, W)`` uint8 tone codes: 0 outside, 1 base, 2 shadow, 3 highlight, 4 second shadow.
    """
    if labels.shape != lstar.shape:
        raise ValueError(f"labels {labels.shape} and lightness {lstar.shape} differ in shape")
    if labels.size and int(labels.max()) > len(model.parts):
        raise ValueError(f"labels go up to {int(labels.max())} but the model has {len(model.parts)} parts")
    t = tables or model.tables()
    tone = np.zeros(labels.shape, np.uint8)
    box = bounding_box(labels > 0)
    if box is None:
        return tone
    tone[box] = _assign_tones_box(labels[box], lstar[box], model, t)
    return tone


def _assign_tones_box(labels: np.ndarray, lstar: np.ndarray, model: ToneModel, t: dict[str, np.ndarray]) -> np.ndarray:
    inside = labels > 0
    # np.take: the per-label tables gathered ~3x faster than by fancy indexing
    lo = np.take(t["lo"], labels)
    hi = np.take(t["hi"], labels)
    strong = lstar < lo
    band = (lstar < hi) & ~strong & inside
    if band.any() and strong.any():
        # hysteresis: band pixels are shadow only when connected (within their part) to clearly dark pixels
        edges = region_edges(labels)
        cand = (strong | band) & ~edges
        n, cc = cv2.connectedComponents(cand.view(np.uint8), connectivity=8)
        seeded = np.zeros(n, bool)
        seeded[cc[strong & cand]] = True
        seeded[0] = False
        shadow = strong | (band & np.take(seeded, cc))
        # pixels on part boundaries are not linked across parts: they take the plain threshold
        on_edge = band & edges
        shadow |= on_edge & (lstar < np.take(t["mid"], labels))
    else:
        shadow = strong
    shadow &= inside
    min_region = model.min_region
    if min_region > 1:
        shadow &= ~_remove_small(shadow, min_region)
        base_holes = inside & ~shadow
        shadow |= _remove_small(base_holes, min_region) & (labels > 0)
    tone = np.where(shadow, np.uint8(TONE_SHADOW), inside.view(np.uint8) * np.uint8(TONE_BASE))
    hl_t = t["highlight"]
    if np.isfinite(hl_t).any():
        hl = (tone == TONE_BASE) & (lstar > np.take(hl_t, labels))
        if min_region > 1:
            hl &= ~_remove_small(hl, max(min_region // 4, 2))
        np.putmask(tone, hl, TONE_HIGHLIGHT)
    s2_t = t["shadow2"]
    if np.isfinite(s2_t).any():
        s2 = (tone == TONE_SHADOW) & (lstar < np.take(s2_t, labels))
        if min_region > 1:
            s2 &= ~_remove_small(s2, min_region)
        np.putmask(tone, s2, TONE_SHADOW2)
    return tone


def fit_from_frames(
    frames: Iterable[tuple[int, np.ndarray, np.ndarray]],
    names: Sequence[str],
    tones: int = 2,
    **kwargs: Any,
) -> ToneModel:
    """Fit a :class:`ToneModel` from ``(frame, labels, lstar)`` triples (convenience over :class:`ToneHistograms`)."""
    hists = ToneHistograms(len(names))
    for frame, labels, lstar in frames:
        hists.add(labels, lstar, frame)
    return fit_tone_model(hists, names, tones, **kwargs)


__all__ = [
    "TONE_OUTSIDE",
    "TONE_BASE",
    "TONE_SHADOW",
    "TONE_HIGHLIGHT",
    "TONE_SHADOW2",
    "FEATURE_OFFSET",
    "lightness",
    "feature",
    "PartTones",
    "PartToneModel",
    "ToneModel",
    "ToneHistograms",
    "otsu",
    "fit_part",
    "fit_tone_model",
    "fit_from_frames",
    "sample_frames",
    "assign_tones",
]
