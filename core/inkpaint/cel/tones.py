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
from typing import Any, NamedTuple

import cv2
import numpy as np

from ..cvcompat import compare_scalar
from ..palette import TONE_BASE, TONE_HIGHLIGHT, TONE_OUTSIDE, TONE_SHADOW, TONE_SHADOW2
from .labels import bounding_box

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


def lab_planes(rgb: np.ndarray, chroma: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """CIE L* and the quantised chroma code of display-referred sRGB pixels.

    Args:
        rgb: ``(H, W, 3)`` float32 sRGB in 0..1.
        chroma: also return the chroma code (``False``: ``None``, for models without materials).

    Returns:
        ``(lstar, code)``: ``(H, W)`` float32 L* in 0..100 and ``(H, W)`` uint16 ``(a* + 128) * 256 + (b* + 128)``
        (each rounded and clipped to 0..255: 1 a*b* unit per step), or ``None``.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb must be (H, W, 3), got shape {rgb.shape}")
    lab = cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.float32), cv2.COLOR_RGB2Lab)
    if not chroma:
        return np.asarray(cv2.extractChannel(lab, 0)), None
    lstar, a, b = cv2.split(lab)
    code: np.ndarray = cv2.convertScaleAbs(a, beta=128.0).astype(np.uint16)
    code <<= 8
    code |= np.asarray(cv2.convertScaleAbs(b, beta=128.0), np.uint16)
    return lstar, code


def chroma_feature(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The material feature of a*b*: the hue direction scaled by a soft saturation ``C / (C + CHROMA_C0)``.

    Shading changes a material's lightness and chroma far more than its hue, so materials separate here while a
    material's lit and shaded pixels stay close; greys (low chroma, unreliable hue) all sit near the origin.

    Returns:
        ``(..., 2)`` float32 in the unit disc.
    """
    a = np.asarray(a, np.float32)
    b = np.asarray(b, np.float32)
    c = np.hypot(a, b)
    k = 1.0 / (c + np.float32(CHROMA_C0))
    return np.stack([a * k, b * k], axis=-1)


def _code_ab(code: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    c = np.asarray(code, np.int32)
    return (c >> 8).astype(np.float32) - 128.0, (c & 255).astype(np.float32) - 128.0


def material_index(code: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """The nearest material centre (in :func:`chroma_feature` space) of each chroma code, ``int`` array."""
    x = chroma_feature(*_code_ab(code))
    d = ((x[..., None, :] - np.asarray(centres, np.float32)) ** 2).sum(-1)
    return np.argmin(d, axis=-1)


def feature(lstar: np.ndarray | float) -> np.ndarray:
    """The clustering feature ``log(L* + 2)``."""
    return np.log(np.asarray(lstar, np.float64) + FEATURE_OFFSET)


def _to_lstar(f: float) -> float:
    return float(math.exp(f) - FEATURE_OFFSET)


def _bin_centres() -> np.ndarray:
    edges = np.linspace(_F_LO, _F_HI, N_BINS + 1)
    return 0.5 * (edges[:-1] + edges[1:])


from ..jobs.shade import PartTones  # noqa: E402,F401  (a job field type; lives in inkpaint.jobs)


FIT_METHODS = ("otsu", "tail", "clamped", "dark", "share", "threshold", "pooled", "empty")
"""How a part's base/shadow threshold was chosen (``PartToneModel.method``):

- ``otsu``: the part's lightness has two modes; the 2-means split of its shot histogram (seed 000's k-means, once per shot).
- ``tail``: one mode; split anyway at the darker tail (see :func:`tail_split`), and the result says so.
- ``clamped``: the split would put less than ``min_share`` or more than ``max_share`` (a dip-less split: more than
  :data:`GUESS_MAX_SHARE`) of the part in shadow; moved to the thinnest lightness within those shares.
- ``dark``: a dip-less split would put more than :data:`GUESS_MAX_SHARE` in shadow: the part is mostly one dark
  material, and its shadow is the darker side of its dark class (that class's 2-means split).
- ``share`` / ``threshold``: the user's ``shadow=`` share or ``threshold_l=`` L*.
- ``pooled``: too few pixels to fit; the shot's pooled histogram was used.
- ``empty``: the part is empty on every fitted frame; nothing to split.
"""

MIN_AUTO_SHARE = 0.10
"""The fitted (not user-set) shadow share of a part is at least this (never a silently flat part)..."""
MAX_AUTO_SHARE = 0.90
"""... and at most this (never a whole part in its shadow colour unless asked)."""
TAIL_SIGMA = 3
"""A one-mode part is split this many robust standard deviations of its *lit* side below its median: a
symmetric mode gives ~16 % shadow, a mode with a dark shoulder (the usual form-shadow skew) gives more."""
TAIL_SHARE = 0.1
EXTRA_TONE_MIN_SHARE = 0.02
EXTRA_TONE_SHARE = 0.1
"""With ``tones`` 4, when the second-shadow split leaves under EXTRA_TONE_MIN_SHARE of the shadow side to it, the
darkest 3 x EXTRA_TONE_SHARE of the shadow side is the second shadow. (Highlights are not forced the same way: on
the synthetic sets a forced highlight on parts without one halved the highlight IoU; a part whose highlight rule
asks for a lightness above white is reported instead, :func:`fit_warnings`.)"""
BROAD_RATIO = 2.0
SHARE_WARN_LOW = 0.03
SHARE_WARN_HIGH = 0.85
"""Shot shadow shares outside these bounds are reported as warnings."""
SMOOTH_PER_HEIGHT = 1.0 / 240.0
"""Smoothing radius per unit of ``smoothing`` strength, as a fraction of the frame height: 2 px at 480p, 4-5 px at
1080p (see :func:`smooth_margin`)."""
MIN_REGION_FRAC = 0.01
"""Shadow regions (and holes in them) smaller than this fraction of their part's area in the frame are removed."""
VALLEY = (0.25, 0.75)
"""A two-class split is placed where the part's lightness histogram is thinnest within this span of the way
from the dark class's mean to the light class's (in the feature), not at the midpoint: the shadow/lit boundary of a
surface is where lightness changes fastest, so few pixels sit there, and a threshold where few pixels are keeps
pixels from changing tone between frames (flicker)."""
SPECULAR_SAT_RATIO = 0.5
"""A pixel brighter than its part's median is a specular highlight when its saturation ``C* / (L* + 2)`` is under
this fraction of the median saturation of the part's brighter half (:func:`refit_without_specular`)."""
SPECULAR_MIN_SHARE = 0.03
SPECULAR_MAX_SHARE = 0.2
"""Highlights are left out of a part's 2-tone split only when they are this share of its pixels (fewer: they do not
move the split; more: they are a material, not a highlight)."""
SPECULAR_MIN_SAT = 0.3
"""The part's bright half must be at least this saturated for a desaturated highlight to stand out (greys, whites)."""
SPECULAR_MIN_CHROMA = 8.0
SPECULAR_HUE_R = 0.95
"""The part's other pixels with chroma over :data:`SPECULAR_MIN_CHROMA` must be one hue: mean resultant length of
their hue angles at least this (circular standard deviation ~18 degrees); a part of two hues is left alone."""
INSTANCE_MIN_FRAC = 0.05
"""A connected piece of a part counts as an instance (:func:`fit_instances`) when it is at least this fraction of
the part's area in its frame."""
PIECE_STEP_ROWS = 540
"""Pieces are found on frames subsampled to at most about this many rows (every second pixel at 1080p, every
fourth at 2160p): the instance grouping needs each piece's lightness distribution, not every pixel."""
INSTANCE_MIN_SHARE = 0.15
"""Each of two instance groups must hold at least this fraction of the part's instance pixels."""
INSTANCE_GAP = 0.4
"""Two groups of a part's pieces are fitted apart only when both their dark ends (10th percentile) and their light
ends (90th percentile) of ``log(L* + 2)`` differ by at least this, the same way: a different albedo (two characters'
hair, one matte over two people) scales the whole lightness range, while a piece that is only in shadow (a hand
beside a lit face) shares the other's dark end."""
GUESS_MAX_SHARE = 0.6
"""A split without a dip between its classes (one broad lightness mode, split because its 2-means classes differ
by :data:`BROAD_RATIO`) is a guess: its share is kept within ``MIN_AUTO_SHARE .. GUESS_MAX_SHARE``. A split with a
dip keeps up to :data:`MAX_AUTO_SHARE` (backlit characters are mostly in shadow)."""
DENSITY_SIGMA_BINS = 8.0
"""Gaussian smoothing (histogram bins) of the density the thinnest point is looked for on."""
CHROMA_C0 = 10.0
"""Chroma (CIE a*b* units) at which the material feature is half saturated (see :func:`chroma_feature`)."""
MATERIAL_MIN_SHARE = 0.05
MATERIAL_SSE_RATIO = 0.35
MATERIAL_HUE_GAP = 90.0
"""A part is two materials when the 2-means of its chroma feature leaves each cluster at least
MATERIAL_MIN_SHARE of the part, cuts the feature's spread (sum of squares) to MATERIAL_SSE_RATIO or less, and the
clusters' mean colours differ in hue by MATERIAL_HUE_GAP degrees or more. (Shading moves a material's hue by up to
~60 degrees on the synthetic sets -- a sky-lit shadow turns bluer -- so a smaller gap is one material lit and
shaded, which the lightness split handles.)"""
MATERIAL_SAMPLES = 20000
"""Pixels per part and fitted frame kept for the material fit (an even stride over the part)."""


def smooth_radius(height: int, smoothing: float) -> int:
    """The smoothing radius in pixels for a frame ``height`` px high at strength ``smoothing`` (0 = off)."""
    if smoothing <= 0:
        return 0
    return max(1, int(round(smoothing * height * SMOOTH_PER_HEIGHT)))


SMOOTH_CLIP = 8.0
"""Lightness differences from the threshold are clipped to +-this (L*) before smoothing, so a crease or a glint
counts as one vote, not as a large value that drags its neighbourhood."""


def _smooth_within_parts(labels: np.ndarray, values: np.ndarray, radius: int) -> np.ndarray:
    """``values`` averaged over each pixel's neighbourhood within its *own* part (normalised box filter of radius
    ``radius``: cost independent of the radius), 0 outside the parts.

    Each part is filtered on its own bounding box (values and weights as one 2-channel image, one filter call per
    part), so neither the background nor a neighbouring part bleeds in: a dark sleeve next to a light hand leaves
    the hand's edge alone.
    """
    out = np.zeros(values.shape, np.float32)
    if radius <= 0:
        np.copyto(out, values, where=labels > 0)
        return out
    k = (2 * radius + 1, 2 * radius + 1)
    h, w = labels.shape
    for p in np.flatnonzero(np.bincount(labels.reshape(-1), minlength=2)[1:]) + 1:
        m = labels == p
        x, y, bw, bh = cv2.boundingRect(m.view(np.uint8))
        y0, y1, x0, x1 = max(y - radius, 0), min(y + bh + radius, h), max(x - radius, 0), min(x + bw + radius, w)
        mb = m[y0:y1, x0:x1]
        two = np.empty((y1 - y0, x1 - x0, 2), np.float32)
        two[..., 1] = mb
        np.multiply(values[y0:y1, x0:x1], two[..., 1], out=two[..., 0])
        sm = cv2.blur(two, k, borderType=cv2.BORDER_CONSTANT)
        np.copyto(out[y0:y1, x0:x1], sm[..., 0] / np.maximum(sm[..., 1], np.float32(1e-6)), where=mb)
    return out


def smooth_margin(labels: np.ndarray, lstar: np.ndarray, thresholds: np.ndarray, radius: int) -> np.ndarray:
    """Each pixel's ``L* - threshold of its part``, clipped to +-:data:`SMOOTH_CLIP` and averaged over its
    neighbourhood within its own part (:func:`_smooth_within_parts`); negative is shadow.

    Texture, noise and thin creases average out and shadows become regions with smooth edges that stop at the
    part's boundary. (:func:`assign_tones` uses :func:`shadow_within_parts`, the same decision without the
    normalisation.)

    Args:
        labels: ``(H, W)`` uint8 part labels (0 outside).
        lstar: ``(H, W)`` float32 L*.
        thresholds: ``(P + 1,)`` float32 per-label shadow thresholds (L*).
        radius: box radius in pixels (0: no smoothing).

    Returns:
        ``(H, W)`` float32 margin in L* units (0 outside).
    """
    d = lstar - np.take(thresholds, labels)
    np.clip(d, -SMOOTH_CLIP, SMOOTH_CLIP, out=d)
    return _smooth_within_parts(labels, d, radius)


def shadow_within_parts(
    labels: np.ndarray,
    lstar: np.ndarray,
    thresholds: np.ndarray,
    radius: int,
    limit: np.ndarray | None = None,
    chroma: np.ndarray | None = None,
    luts: dict[int, np.ndarray] | None = None,
    instances: dict[int, tuple[np.ndarray, np.ndarray]] | None = None,
) -> np.ndarray:
    """Shadow pixels, part by part on each part's bounding box: where :func:`smooth_margin` is negative (computed
    as the sign of the box *sum* of the clipped margins over the part, which the normalisation does not change),
    then shadow islands and base holes smaller than the part's ``limit`` removed (4-connected, within the part).

    Args:
        labels: ``(H, W)`` uint8 part labels (0 outside).
        lstar: ``(H, W)`` float32 L*.
        thresholds: ``(P + 1,)`` float32 per-label shadow thresholds (L*).
        radius: box radius in pixels (0: no smoothing).
        limit: ``(P + 1,)`` smallest region kept per part, pixels (``None``: no cleanup).
        chroma: ``(H, W)`` uint16 chroma codes (:func:`lab_planes`), for the parts in ``luts``.
        luts: label -> ``(65536,)`` float32 threshold per chroma code (a part of several materials, see
            :meth:`ToneModel.tables`); such a part's pixels are split with their material's threshold.
        instances: label -> ``(centres, thresholds)`` of a part fitted per instance group
            (:func:`fit_instances`): each 8-connected piece of the part takes the threshold of the group whose
            centre is nearest the piece's mean ``log(L* + 2)``.

    Returns:
        ``(H, W)`` bool.
    """
    out = np.zeros(labels.shape, bool)
    k = (2 * radius + 1, 2 * radius + 1)
    h, w = labels.shape
    clip = np.float32(SMOOTH_CLIP)
    for p in np.flatnonzero(np.bincount(labels.reshape(-1), minlength=2)[1:]) + 1:
        m8 = compare_scalar(labels, int(p), cv2.CMP_EQ)  # 0 / 255
        x, y, bw, bh = cv2.boundingRect(m8)
        y0, y1, x0, x1 = max(y - radius, 0), min(y + bh + radius, h), max(x - radius, 0), min(x + bw + radius, w)
        mb8 = m8[y0:y1, x0:x1]
        # the clipped margins on this part's box only (no whole-window temporaries)
        if instances is not None and int(p) in instances:
            lb = lstar[y0:y1, x0:x1]
            db = lb - _piece_thresholds(mb8, lb, *instances[int(p)])
        elif luts is not None and chroma is not None and int(p) in luts:
            db = lstar[y0:y1, x0:x1] - np.take(luts[int(p)], chroma[y0:y1, x0:x1])
        else:
            db = lstar[y0:y1, x0:x1] - np.float32(thresholds[p])
        np.clip(db, -clip, clip, out=db)
        if radius > 0:
            db[mb8 == 0] = 0
            db = cv2.boxFilter(db, -1, k, normalize=False, borderType=cv2.BORDER_CONSTANT)
        sp = cv2.bitwise_and(compare_scalar(db, 0.0, cv2.CMP_LT), mb8) > 0
        lim = 0.0 if limit is None else float(limit[p])
        if lim > 1:
            mb = mb8 > 0
            sp &= ~_remove_small(sp, lim, connectivity=4)
            sp |= _remove_small(mb & ~sp, lim, connectivity=4)
        out[y0:y1, x0:x1] |= sp
    return out


def _pieces(mask8: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """8-connected pieces of a 0/255 mask: ``(count incl. background, (H, W) int32 ids, (count,) pixel counts)``."""
    n, cc, stats, _ = cv2.connectedComponentsWithStats(mask8, connectivity=8, ltype=cv2.CV_32S)
    return n, cc, stats[:, cv2.CC_STAT_AREA]


def _piece_means(mask8: np.ndarray, lstar: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(ids, per-piece mean log(L* + 2), per-piece pixel counts)`` of a part's pieces (index 0 = outside)."""
    n, cc, area = _pieces(mask8)
    f = np.log(np.maximum(lstar, 0.0) + np.float32(FEATURE_OFFSET)).astype(np.float64)
    sums = np.bincount(cc.reshape(-1), weights=f.reshape(-1), minlength=n)
    return cc, sums / np.maximum(area, 1), area


def _piece_thresholds(mask8: np.ndarray, lstar: np.ndarray, centres: np.ndarray, shadows: np.ndarray) -> np.ndarray:
    """``(H, W)`` float32: at each pixel of ``mask8``, the shadow threshold of the instance group whose centre is
    nearest the mean of the pixel's piece (:func:`_piece_means`)."""
    cc, means, _ = _piece_means(mask8, lstar)
    pick = np.argmin(np.abs(means[:, None] - centres[None, :].astype(np.float64)), axis=1)
    return np.take(shadows.astype(np.float32)[pick], cc)


def smooth_lightness(labels: np.ndarray, lstar: np.ndarray, radius: int) -> np.ndarray:
    """L* averaged over each pixel's neighbourhood inside the parts (normalised box filter applied twice), 0 outside.

    What the fit's quantiles (``shadow=`` shares, the tail split) are taken on, so a share asked for is the share
    of *regions* the frames get, not of scattered dark pixels that the cleanup would then remove.
    """
    return _smooth_within_parts(labels, lstar.astype(np.float32, copy=False), radius)


@dataclasses.dataclass
class PartToneModel:
    """The fitted tone split of one part (all thresholds in L*).

    Attributes:
        name: the part.
        tones: 2, 3 or 4.
        shadow: below this L* is shadow (the chosen threshold).
        shadow2: below this is the second shadow (``tones=4``), else ``None``.
        highlight: above this is highlight (``tones>=3``), else ``None``.
        base_centre: mean L* of the base side.
        shadow_centre: mean L* of the shadow side.
        samples: pixels the fit saw.
        pooled: the part had too few samples and uses the shot's pooled fit.
        single_mode: the part's lightness has one mode (it was split at its darker tail).
        share: fraction of the part's fitted pixels below ``shadow`` (0..1).
        method: how ``shadow`` was chosen, one of :data:`FIT_METHODS`.
        scale_px: the part's typical size, sqrt of its mean area per fitted frame, pixels.
        materials: when the part is two materials (:func:`fit_materials`), one entry each: ``centre`` (its
            :func:`chroma_feature` centre), ``ab`` (its mean a*, b*), ``weight`` (its fraction of the part),
            ``shadow`` (its own base/shadow threshold, L*), ``share`` (its fitted shadow share) and ``method``;
            each pixel is split with its material's threshold (the nearest centre), so a dark material is not all
            shadow. Empty: one material, ``shadow`` for every pixel.
        instances: when the part's connected pieces fall into two groups of clearly different lightness range
            (:func:`fit_instances`: e.g. one part name over two characters), one entry each: ``centre`` (the
            group's mean ``log(L* + 2)``), ``weight``, ``shadow``, ``share`` and ``method``; each frame's pieces
            take the threshold of the group whose centre is nearest their mean. Empty: not split.
        specular: the share of the part's sampled pixels left out of its 2-tone split as specular highlights
            (:func:`refit_without_specular`); 0: none were.
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
    share: float = float("nan")
    method: str = "otsu"
    scale_px: float = 0.0
    materials: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    instances: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    specular: float = 0.0


@dataclasses.dataclass
class ToneModel:
    """Tone thresholds of a shot, one :class:`PartToneModel` per part.

    Attributes:
        parts: per-part models, in label order (label ``i + 1`` is ``parts[i]``).
        hysteresis: kept for old model files; per-frame smoothing replaced the hysteresis band (unused).
        min_region: smallest tone region kept, pixels (a floor under ``min_region_frac``).
        fitted_on: frames the histograms were pooled from.
        smoothing: smoothing strength (0 = none, 1 = default, 2 = twice the radius).
        smooth_px: the smoothing radius this gave on this shot (:func:`smooth_radius`), pixels at the plate's
            resolution; the histograms were fitted on lightness smoothed the same way.
        min_region_frac: regions smaller than this fraction of their part's area in the frame are removed.
    """

    parts: list[PartToneModel]
    hysteresis: float = 0.04
    min_region: int = 24
    fitted_on: list[int] = dataclasses.field(default_factory=list)
    smoothing: float = 1.0
    smooth_px: int = 0
    min_region_frac: float = MIN_REGION_FRAC

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.parts]

    @property
    def has_materials(self) -> bool:
        """Whether a part is split per material (its frames then need their chroma codes)."""
        return any(len(p.materials) > 1 for p in self.parts)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ToneModel":
        fields = {f.name for f in dataclasses.fields(PartToneModel)}

        def part(p: dict[str, Any]) -> PartToneModel:
            # unknown keys dropped; a null share (NaN written as JSON null) read back as NaN
            kwargs: dict[str, Any] = {k: (float("nan") if k == "share" and v is None else v) for k, v in p.items() if k in fields}
            return PartToneModel(**kwargs)

        return cls(
            parts=[part(p) for p in data["parts"]],
            hysteresis=float(data.get("hysteresis", 0.04)),
            min_region=int(data.get("min_region", 24)),
            fitted_on=list(data.get("fitted_on", [])),
            smoothing=float(data.get("smoothing", 1.0)),
            smooth_px=int(data.get("smooth_px", 0)),
            min_region_frac=float(data.get("min_region_frac", MIN_REGION_FRAC)),
        )

    def tables(self) -> dict[str, np.ndarray]:
        """Per-label threshold tables (index 0 = outside), float32 L*, for one-gather classification.

        Returns:
            ``{"mid", "shadow2", "highlight"}``: ``(P + 1,)`` arrays; ``mid`` is the base/shadow threshold (0 for
            the outside, which is masked anyway); absent tones use -inf/+inf.
        """
        n = len(self.parts) + 1
        mid = np.zeros(n, np.float32)
        s2 = np.full(n, -np.inf, np.float32)
        hl = np.full(n, np.inf, np.float32)
        for i, p in enumerate(self.parts, start=1):
            mid[i] = p.shadow
            if p.shadow2 is not None:
                s2[i] = p.shadow2
            if p.highlight is not None:
                hl[i] = p.highlight
        out: dict[str, np.ndarray] = {"mid": mid, "shadow2": s2, "highlight": hl}
        ins = [i for i, p in enumerate(self.parts, start=1) if len(p.instances) > 1]
        if ins:
            out["instance_parts"] = np.array(ins, np.int64)
            out["instance_centres"] = np.array([[g["centre"] for g in self.parts[i - 1].instances] for i in ins], np.float32)
            out["instance_shadow"] = np.array([[g["shadow"] for g in self.parts[i - 1].instances] for i in ins], np.float32)
        mat = [i for i, p in enumerate(self.parts, start=1) if len(p.materials) > 1]
        if mat:
            # per chroma code (65536 a*b* cells) the threshold of the nearest material, one row per such part
            codes = np.arange(65536, dtype=np.int32)
            luts = np.empty((len(mat), 65536), np.float32)
            for r, i in enumerate(mat):
                ms = self.parts[i - 1].materials
                idx = material_index(codes, np.array([m["centre"] for m in ms], np.float32))
                luts[r] = np.array([m["shadow"] for m in ms], np.float32)[idx]
            out["material_parts"] = np.array(mat, np.int64)
            out["material_lut"] = luts
        return out


class Piece(NamedTuple):
    """One 8-connected piece of a part on one fitted frame (:attr:`ToneHistograms.pieces`, :func:`fit_instances`)."""

    mean_log: float  #: mean ``log(L* + 2)`` of its pixels
    pixels: int  #: its area in pixels (on the sampled rows)
    hist: np.ndarray  #: ``(N_BINS,)`` L* histogram
    smooth_hist: np.ndarray  #: ``(N_BINS,)`` smoothed L* histogram
    grad_sums: np.ndarray  #: ``(N_BINS,)`` sum of interior ``|grad L*|`` per L* bin
    grad_counts: np.ndarray  #: ``(N_BINS,)`` interior pixels per L* bin
    frame: int  #: which fitted frame (the order frames were added in)


class ToneHistograms:
    """Pools per-part lightness histograms over the frames a shot is fitted on.

    Args:
        n_parts: number of parts (labels ``1..n_parts``).
        smooth_px: the smoothing radius (:func:`smooth_radius`) the frames will be classified with (recorded in the
            model; the histograms count raw L*).
    """

    def __init__(self, n_parts: int, smooth_px: int = 0) -> None:
        self.n_parts = n_parts
        self.smooth_px = smooth_px
        self.counts = np.zeros((n_parts + 1, N_BINS), np.int64)
        self.smooth_counts = np.zeros((n_parts + 1, N_BINS), np.int64)
        """Histograms of the smoothed lightness (:func:`smooth_lightness` at ``smooth_px``): shares are taken here."""
        self.frames: list[int] = []
        self.present = np.zeros(n_parts + 1, np.int64)
        """Fitted frames each part appears on."""
        self.grad_sums = np.zeros((n_parts + 1, N_BINS), np.float64)
        self.grad_counts = np.zeros((n_parts + 1, N_BINS), np.int64)
        """Per lightness bin, the sum of ``|grad L*|`` and the count of the part's *interior* pixels (every pixel of
        their 5 x 5 neighbourhood in the same part, so a part's outline adds nothing): the mean lightness gradient at
        each lightness, which :func:`fit_part` uses to find the shadow terminator."""
        self.samples: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]] = {}
        """label -> per frame ``(chroma code, L*, smoothed L*, |grad L*| or NaN off the interior)`` of up to
        :data:`MATERIAL_SAMPLES` of its pixels (when frames are added with their chroma codes): what
        :func:`fit_materials` clusters."""
        self.pieces: dict[int, list[Piece]] = {}
        """label -> per fitted frame its pieces (8-connected, at least :data:`INSTANCE_MIN_FRAC` of the part): what
        :func:`fit_instances` groups."""
        self._added = 0  # frames added so far: the frame index of the pieces

    def add(self, labels: np.ndarray, lstar: np.ndarray, frame: int | None = None, chroma: np.ndarray | None = None) -> None:
        """Add one frame.

        Args:
            labels: ``(H, W)`` uint8 part labels.
            lstar: ``(H, W)`` float32 L* (:func:`lightness`).
            frame: the frame number (recorded in the model).
            chroma: ``(H, W)`` uint16 chroma codes (:func:`lab_planes`); without them no part is split into
                materials.
        """
        if labels.shape != lstar.shape:
            raise ValueError(f"labels {labels.shape} and lightness {lstar.shape} differ in shape")
        inside = labels > 0
        lab = labels[inside].astype(np.int64) * N_BINS
        n = (self.n_parts + 1) * N_BINS

        def hist(values: np.ndarray) -> np.ndarray:
            return np.bincount(lab + _bins(values), minlength=n).reshape(self.n_parts + 1, N_BINS)

        l_in = lstar[inside]
        key = lab + _bins(l_in)
        c = np.bincount(key, minlength=n).reshape(self.n_parts + 1, N_BINS)
        self.counts += c
        gmap, same = _gradient_maps(labels, lstar) if inside.any() else (None, None)
        grad_in, interior_in = (gmap[inside], same[inside] > 0) if gmap is not None and same is not None else \
            (np.zeros(0, np.float32), np.zeros(0, bool))
        k_int = key[interior_in]
        self.grad_sums += np.bincount(k_int, weights=grad_in[interior_in], minlength=n).reshape(self.n_parts + 1, N_BINS)
        self.grad_counts += np.bincount(k_int, minlength=n).reshape(self.n_parts + 1, N_BINS)
        smap = smooth_lightness(labels, lstar, self.smooth_px) if self.smooth_px > 0 else lstar
        ls_in = smap[inside] if self.smooth_px > 0 else l_in
        self.smooth_counts += hist(ls_in) if self.smooth_px > 0 else c
        self.present += c.sum(axis=1) > 0
        if gmap is not None and same is not None:
            self._add_pieces(labels, lstar, smap, gmap, same)
        self._added += 1
        if chroma is not None:
            if chroma.shape != labels.shape:
                raise ValueError(f"labels {labels.shape} and chroma {chroma.shape} differ in shape")
            lab_in = labels[inside]
            order = np.argsort(lab_in, kind="stable")
            bounds = np.searchsorted(lab_in[order], np.arange(1, self.n_parts + 2))
            code_in = chroma[inside]
            for p in range(1, self.n_parts + 1):
                idx = order[bounds[p - 1] : bounds[p]]
                if idx.size:
                    idx = idx[:: -(-idx.size // MATERIAL_SAMPLES)]
                    g = np.where(interior_in[idx], grad_in[idx], np.float32(np.nan))
                    self.samples.setdefault(p, []).append((code_in[idx], l_in[idx], ls_in[idx], g))
        if frame is not None:
            self.frames.append(int(frame))

    def _add_pieces(self, labels: np.ndarray, lstar: np.ndarray, smooth: np.ndarray, grad: np.ndarray, same: np.ndarray) -> None:
        """Record the frame's pieces of each part (see :attr:`pieces`), each part on its own bounding box, on every
        :data:`PIECE_STEP_ROWS`-th row of a taller frame (and column: the pieces' histograms are a sample)."""
        step = max(1, labels.shape[0] // PIECE_STEP_ROWS)
        if step > 1:
            labels, lstar, smooth, grad, same = (np.ascontiguousarray(a[::step, ::step]) for a in (labels, lstar, smooth, grad, same))
        for p in np.flatnonzero(np.bincount(labels.reshape(-1), minlength=self.n_parts + 1)[1:]) + 1:
            m8 = compare_scalar(labels, int(p), cv2.CMP_EQ)
            x, y, bw, bh = cv2.boundingRect(m8)
            box = (slice(y, y + bh), slice(x, x + bw))
            n, cc, area = _pieces(np.ascontiguousarray(m8[box]))
            total = int(area[1:].sum())
            if n < 3 or total < MIN_SAMPLES:
                continue
            big = [j for j in range(1, n) if area[j] >= INSTANCE_MIN_FRAC * total]
            if len(big) < 2:
                continue
            lb, sb, gb, ib = lstar[box], smooth[box], grad[box], same[box] > 0
            for j in big:
                sel = cc == j
                lv = lb[sel]
                b = _bins(lv)
                gi = ib[sel]
                bg = b[gi]
                self.pieces.setdefault(int(p), []).append(Piece(
                    float(np.log(np.maximum(lv, 0.0) + FEATURE_OFFSET).mean()), int(area[j]), np.bincount(b, minlength=N_BINS),
                    np.bincount(_bins(sb[sel]), minlength=N_BINS), np.bincount(bg, weights=gb[sel][gi], minlength=N_BINS),
                    np.bincount(bg, minlength=N_BINS), self._added))

    def part_samples(self, label: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """The pooled ``(chroma codes, L*, smoothed L*, |grad L*|)`` samples of a part, or ``None`` when there are
        none."""
        got = self.samples.get(label)
        if not got:
            return None
        return (np.concatenate([g[0] for g in got]), np.concatenate([g[1] for g in got]), np.concatenate([g[2] for g in got]),
                np.concatenate([g[3] for g in got]))


def _bins(values: np.ndarray) -> np.ndarray:
    """Histogram bin (0..N_BINS-1) of L* values."""
    return np.clip(((feature(values) - _F_LO) / (_F_HI - _F_LO) * N_BINS).astype(np.int64), 0, N_BINS - 1)


_INTERIOR_KERNEL = np.ones((5, 5), np.uint8)


def _gradient_maps(labels: np.ndarray, lstar: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(H, W)`` ``|grad L*|`` (3 x 3 Sobel) and ``(H, W)`` uint8, non-zero where a pixel is interior (its 5 x 5
    neighbourhood all in its part)."""
    l32 = np.ascontiguousarray(lstar, np.float32)
    gm = cv2.magnitude(cv2.Sobel(l32, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(l32, cv2.CV_32F, 0, 1, ksize=3))
    same = cv2.compare(cv2.dilate(labels, _INTERIOR_KERNEL), cv2.erode(labels, _INTERIOR_KERNEL), cv2.CMP_EQ)
    return np.asarray(gm), np.asarray(same)


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


def _quantile(hist: np.ndarray, centres: np.ndarray, q: float) -> float:
    """The ``q`` quantile (0..1) of a histogram, interpolated inside the bin, in the feature."""
    c = np.cumsum(hist.astype(np.float64))
    total = c[-1]
    if total <= 0:
        return float(centres[len(centres) // 2])
    target = q * total
    i = int(np.searchsorted(c, target))
    i = min(max(i, 0), len(centres) - 1)
    width = centres[1] - centres[0]
    prev = c[i - 1] if i > 0 else 0.0
    frac = (target - prev) / max(c[i] - prev, 1e-12)
    return float(centres[i] - 0.5 * width + frac * width)


def _share_below(hist: np.ndarray, f: float) -> float:
    """Fraction of a feature histogram below feature value ``f`` (interpolated inside the bin)."""
    total = float(hist.sum())
    if total <= 0:
        return float("nan")
    pos = (f - _F_LO) / (_F_HI - _F_LO) * N_BINS
    if pos <= 0:
        return 0.0
    if pos >= N_BINS:
        return 1.0
    i = int(pos)
    return float((hist[:i].sum() + (pos - i) * hist[i]) / total)


def _density(hist: np.ndarray, sigma: float = DENSITY_SIGMA_BINS) -> np.ndarray:
    """A histogram smoothed with a Gaussian of ``sigma`` bins (where it is thin or dense)."""
    r = int(3 * sigma)
    x = np.arange(-r, r + 1)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return np.convolve(hist.astype(np.float64), k / k.sum(), mode="same")


def _thinnest(density: np.ndarray, centres: np.ndarray, lo: float, hi: float) -> float:
    """The feature value in ``lo..hi`` where ``density`` is lowest (the midpoint when the span holds < 2 bins)."""
    i0 = int(np.searchsorted(centres, lo))
    i1 = int(np.searchsorted(centres, hi))
    if i1 <= i0 + 1:
        return 0.5 * (lo + hi)
    return float(centres[i0 + int(np.argmin(density[i0:i1]))])


def _steepest(grad_sums: np.ndarray, grad_counts: np.ndarray, centres: np.ndarray, lo: float, hi: float) -> float | None:
    """The feature value in ``lo..hi`` where the mean ``|grad L*|`` of the pixels at that lightness is highest
    (both smoothed like :func:`_density`); ``None`` when no interior pixel lies in the span."""
    i0 = int(np.searchsorted(centres, lo))
    i1 = int(np.searchsorted(centres, hi))
    if i1 <= i0 + 1 or grad_counts[i0:i1].sum() <= 0:
        return None
    mean = _density(grad_sums) / np.maximum(_density(grad_counts), 1e-9)
    return float(centres[i0 + int(np.argmax(mean[i0:i1]))])


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


def tail_split(hist: np.ndarray, centres: np.ndarray | None = None, sigmas: float | None = None) -> float:
    """Threshold (in the feature) for a one-mode part: where its darker tail leaves the mode.

    The lit side of the mode (above its peak) shows how much the part varies without shading; mirrored, it is
    what the dark side would hold with no shadow at all. The split is ``sigmas`` of that spread below the peak:
    what lies further down is the dark tail a symmetric mode would not have (the callers keep a minimum share).

    Args:
        hist: ``(N_BINS,)`` counts of ``log(L* + 2)``.
        centres: bin centres (default :func:`_bin_centres`).
        sigmas: distance below the peak, in robust standard deviations of the lit side (default :data:`TAIL_SIGMA`).
    """
    centres = _bin_centres() if centres is None else centres
    sigmas = TAIL_SIGMA if sigmas is None else sigmas
    r = 12
    x = np.arange(-r, r + 1)
    kern = np.exp(-0.5 * (x / 4.0) ** 2)
    hs = np.convolve(hist.astype(np.float64), kern / kern.sum(), mode="same")
    peak = int(np.argmax(hs))
    lit = hist.astype(np.float64).copy()
    lit[:peak] = 0
    if lit.sum() <= 0:
        return float(centres[peak])
    q = _quantile(lit, centres, 0.6827)
    sigma = max(q - float(centres[peak]), 2 * (_F_HI - _F_LO) / N_BINS)
    return float(centres[peak]) - sigmas * sigma


def fit_part(
    hist: np.ndarray,
    tones: int,
    *,
    smooth_hist: np.ndarray | None = None,
    shadow_share: float | None = None,
    threshold_l: float | None = None,
    bias: float = 0.0,
    highlight_sigma: float = 3.5,
    min_share: float = MIN_AUTO_SHARE,
    max_share: float = MAX_AUTO_SHARE,
    grad: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, Any]:
    """Fit one part's thresholds from its pooled feature histogram.

    Every part is split (seed 000's promise): two lightness modes -> the 2-means split; one mode -> the darker
    tail (:func:`tail_split`); a fitted share outside ``min_share..max_share`` is moved to that bound. A user
    threshold (``threshold_l``) or share (``shadow_share``) replaces the fit.

    Args:
        hist: ``(N_BINS,)`` counts of ``log(L* + 2)``.
        tones: 2, 3 or 4.
        smooth_hist: the same of the smoothed lightness the frames are classified on; shares (``shadow_share``,
            the tail split, the clamps and the reported ``share``) are quantiles of it. ``None``: ``hist``.
        shadow_share: target share of the part in shadow (0..1), or ``None``.
        threshold_l: base/shadow threshold in L*, or ``None``. Wins over ``shadow_share``.
        bias: deprecated; added to the threshold, L* units (positive: more shadow).
        highlight_sigma: highlight threshold above the base cluster's median, in robust standard deviations.
        min_share: smallest fitted share (not applied to user settings).
        max_share: largest fitted share (not applied to user settings).
        grad: ``(sums, counts)`` per bin of ``|grad L*|`` over the part's interior pixels
            (:attr:`ToneHistograms.grad_sums`): a two-class split then goes where the mean gradient is highest
            between the classes (the terminator, see :data:`VALLEY`), else where the histogram is thinnest.

    Returns:
        ``PartToneModel`` fields (without ``name``/``pooled``/``scale_px``).
    """
    centres = _bin_centres()
    total = int(hist.sum())
    sh = hist if smooth_hist is None else smooth_hist
    single = False
    if total == 0:
        t = float(feature(50.0))
        method = "empty"
    elif threshold_l is not None:
        t = float(feature(max(float(threshold_l), -FEATURE_OFFSET + 1e-3)))
        method = "threshold"
    elif shadow_share is not None:
        s = float(shadow_share)
        t = _F_LO - 1.0 if s <= 0 else (_F_HI + 1.0 if s >= 1 else _quantile(sh, centres, s))
        method = "share"
    else:
        k, m_lo, m_hi = otsu(hist, centres)
        # one mode and a narrow one: the 2-means split would cut a lit surface in two. A broad histogram whose
        # 2-means classes differ by a factor BROAD_RATIO in (L* + 2) is split there even without a dip.
        unimodal = is_unimodal(hist)
        single = bool(unimodal and not (k > 0 and m_hi - m_lo > math.log(BROAD_RATIO)))
        density = _density(sh)
        lo_share, hi_share = min_share, max_share
        if single:
            t = _quantile(sh, centres, TAIL_SHARE)
            method = "tail"
        else:
            # between the 2-means classes, where lightness changes fastest on the surface (see VALLEY)
            a, b = m_lo + VALLEY[0] * (m_hi - m_lo), m_lo + VALLEY[1] * (m_hi - m_lo)
            steep = _steepest(grad[0], grad[1], centres, a, b) if grad is not None else None
            t = _thinnest(density, centres, a, b) if steep is None else steep
            method = "otsu"
            if unimodal:  # no dip: a guess, kept within the admissible shares
                hi_share = min(max_share, GUESS_MAX_SHARE)
        share = _share_below(sh, t)
        if unimodal and not single and share > hi_share + 1e-3:
            # a dip-less part most of which the split calls shadow is taken to be mostly one dark material (a dark
            # uniform with lighter skin and trims): its shadow is the darker side of that dark class, the class's
            # own 2-means split, when that share is admissible
            dark = hist.copy()
            dark[k:] = 0
            k2, d_lo, d_hi = otsu(dark, centres)
            t2 = 0.5 * (d_lo + d_hi)
            if k2 > 0 and lo_share <= _share_below(sh, t2) <= hi_share:
                t, share, method = t2, _share_below(sh, t2), "dark"
        if share < lo_share - 1e-3 or share > hi_share + 1e-3:
            # into the admissible shares, at the thinnest lightness there (not at the bound: a bound inside a dense
            # mode would make the mode's pixels flicker between tones)
            t = _thinnest(density, centres, _quantile(sh, centres, lo_share), _quantile(sh, centres, hi_share))
            method = "clamped" if method == "otsu" else method
    shadow_l = _to_lstar(t) + bias
    t = float(feature(max(shadow_l, -FEATURE_OFFSET + 1e-6)))
    k = int(np.clip(np.ceil((t - _F_LO) / (_F_HI - _F_LO) * N_BINS - 0.5), 0, N_BINS))
    lo_w, hi_w = hist[:k].astype(np.float64), hist[k:].astype(np.float64)
    m_lo = float((lo_w * centres[:k]).sum() / lo_w.sum()) if lo_w.sum() else t
    m_hi = float((hi_w * centres[k:]).sum() / hi_w.sum()) if hi_w.sum() else t
    out: dict[str, Any] = {
        "tones": tones,
        "shadow": float(shadow_l),
        "shadow2": None,
        "highlight": None,
        "base_centre": _to_lstar(m_hi),
        "shadow_centre": _to_lstar(m_lo),
        "samples": total,
        "single_mode": single,
        "share": _share_below(sh, t) if total else float("nan"),
        "method": method,
    }
    if tones >= 3:
        base = hist.copy()
        base[:k] = 0
        med, sig = _robust_sigma(base, centres)
        if np.isfinite(med):
            t_hl = max(med + highlight_sigma * sig, med + HIGHLIGHT_MIN_RATIO)
            out["highlight"] = _to_lstar(t_hl)
    if tones == 4:
        dark = hist.copy()
        dark[k:] = 0
        k2, d_lo, d_hi = otsu(dark, centres)
        if k2 > 0 and not is_unimodal(dark):
            t2 = 0.5 * (d_lo + d_hi)
        elif dark.sum() > 0:
            t2 = tail_split(dark, centres)  # the second shadow is the shadow's darker tail
        else:
            t2 = float("nan")
        if dark.sum() > 0 and (not np.isfinite(t2) or _share_below(dark, t2) < EXTRA_TONE_MIN_SHARE):
            t2 = _quantile(dark, centres, 3 * EXTRA_TONE_SHARE)  # the darkest part of the shadow side
        out["shadow2"] = _to_lstar(t2) if np.isfinite(t2) else out["shadow_centre"] - 1e-3
    return out


def _sample_hist(values: np.ndarray) -> np.ndarray:
    return np.bincount(_bins(values), minlength=N_BINS)


def fit_materials(codes: np.ndarray, lstar: np.ndarray, smooth_l: np.ndarray, grad: np.ndarray | None = None, highlight_sigma: float = 3.5) -> list[dict[str, Any]]:
    """Split a part into two materials by colour when it clearly is two, and fit each one's base/shadow threshold.

    A part is often several materials: a jacket over a shirt, the whites and irises of eyes, skin and a dark
    uniform. One lightness threshold over the part then calls the darker material "shadow" everywhere. Here the
    part's pixels (pooled over the fitted frames) are clustered in 2 by :func:`chroma_feature` (hue and a soft
    saturation, which shading changes far less than lightness), and the clusters are kept as materials only when
    they are clearly apart (:data:`MATERIAL_MIN_SHARE`, :data:`MATERIAL_SSE_RATIO`, :data:`MATERIAL_HUE_GAP`); each
    material then gets its own :func:`fit_part` split. Fitted once per shot, like the rest of the model.

    Args:
        codes: ``(N,)`` chroma codes of the part's sampled pixels (:func:`lab_planes`).
        lstar: ``(N,)`` their L*.
        smooth_l: ``(N,)`` their smoothed L* (:func:`smooth_lightness`).
        grad: ``(N,)`` their ``|grad L*|``, NaN off the part's interior (see :attr:`ToneHistograms.grad_sums`).
        highlight_sigma: passed to :func:`fit_part`.

    Returns:
        ``PartToneModel.materials`` entries, or ``[]`` (one material).
    """
    n = codes.size
    if n < 4 * MIN_SAMPLES:
        return []
    step = -(-n // MATERIAL_SAMPLES)
    a, b = _code_ab(codes[::step])
    x = np.ascontiguousarray(chroma_feature(a, b), np.float32)
    sse1 = float(((x - x.mean(axis=0)) ** 2).sum())
    if sse1 <= 0:
        return []
    cv2.setRNGSeed(0)
    crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 30, 1e-4)
    sse2, lab, centres = cv2.kmeans(x, 2, None, crit, 3, cv2.KMEANS_PP_CENTERS)
    lab = lab.reshape(-1)
    weights = np.bincount(lab, minlength=2) / lab.size
    if weights.min() < MATERIAL_MIN_SHARE or sse2 > MATERIAL_SSE_RATIO * sse1:
        return []
    ab = [(float(a[lab == j].mean()), float(b[lab == j].mean())) for j in range(2)]
    hues = [math.degrees(math.atan2(v, u)) for u, v in ab]
    if abs((hues[0] - hues[1] + 180.0) % 360.0 - 180.0) < MATERIAL_HUE_GAP:
        return []
    centres = np.round(centres.astype(np.float64), 6).astype(np.float32)  # as stored: the frames use the same
    which = material_index(codes, centres)
    out = []
    for j in range(2):
        sel = which == j
        if int(sel.sum()) < MIN_SAMPLES:
            return []
        g = None
        if grad is not None:
            ok = sel & np.isfinite(grad)
            b = _bins(lstar[ok])
            g = (np.bincount(b, weights=grad[ok], minlength=N_BINS).astype(np.float64), np.bincount(b, minlength=N_BINS))
        fit = fit_part(_sample_hist(lstar[sel]), 2, smooth_hist=_sample_hist(smooth_l[sel]), highlight_sigma=highlight_sigma, grad=g)
        out.append({"centre": [float(c) for c in centres[j]], "ab": [round(v, 2) for v in ab[j]],
                    "weight": round(float(sel.mean()), 4), "shadow": float(fit["shadow"]),
                    "share": float(fit["share"]), "method": str(fit["method"])})
    return out


def fit_instances(pieces: Sequence[Piece], tones: int = 2,
                  highlight_sigma: float = 3.5) -> list[dict[str, Any]]:
    """Split a part's connected pieces into two groups of different lightness range and fit each group apart.

    One part name often covers two characters (both heads' hair, both tops) on one matte: two albedos under two
    lightings, so the part's lightness has two modes that are not lit and shadow, and one split calls the darker
    character all shadow. The pieces the part falls into on the fitted frames (:attr:`ToneHistograms.pieces`) are
    grouped by their mean ``log(L* + 2)`` (the best 2-means of the pooled pieces, pixel-weighted); the groups are
    kept only when each holds :data:`INSTANCE_MIN_SHARE` of the pixels and both the dark and the light ends of
    their lightness differ by :data:`INSTANCE_GAP` the same way (a different albedo, not a piece in shadow), when
    both groups are on at least half of the frames with pieces (side by side, not one piece that moves from shadow
    into light), and when each group on its own has two measured lightness modes (method ``otsu``: its own lit and
    shadow sides). Each group then gets its own :func:`fit_part` base/shadow split; the part's highlight and second
    shadow thresholds stay part-wide.

    Returns:
        ``PartToneModel.instances`` entries (darker group first), or ``[]``.
    """
    if len(pieces) < 2:
        return []
    order = sorted(range(len(pieces)), key=lambda j: pieces[j].mean_log)
    m = np.array([pieces[j].mean_log for j in order])
    w = np.array([pieces[j].pixels for j in order], np.float64)
    best, cut = np.inf, 0
    for k in range(1, len(m)):
        sse = sum(float((ww * (mm - np.average(mm, weights=ww)) ** 2).sum()) for mm, ww in ((m[:k], w[:k]), (m[k:], w[k:])))
        if sse < best:
            best, cut = sse, k
    groups = [order[:cut], order[cut:]]
    if min(w[:cut].sum(), w[cut:].sum()) < INSTANCE_MIN_SHARE * w.sum():
        return []
    # per group: summed L* histogram, smoothed L* histogram, gradient sums and counts
    fields = ("hist", "smooth_hist", "grad_sums", "grad_counts")
    sums: list[list[np.ndarray]] = [[np.sum(np.stack([getattr(pieces[j], f) for j in g]), axis=0) for f in fields] for g in groups]
    centres = _bin_centres()
    lo = [_quantile(h[0], centres, 0.1) for h in sums]
    hi = [_quantile(h[0], centres, 0.9) for h in sums]
    if not (lo[1] - lo[0] >= INSTANCE_GAP and hi[1] - hi[0] >= INSTANCE_GAP):
        return []
    # side by side, not one piece over time (a part that walks from shadow into light): both groups on most frames
    frames = [{pieces[j].frame for j in g} for g in groups]
    if len(frames[0] & frames[1]) < 0.5 * len(frames[0] | frames[1]):
        return []
    fits = [fit_part(h, tones, smooth_hist=sh, highlight_sigma=highlight_sigma, grad=(gs, gc)) for h, sh, gs, gc in sums]
    if any(f["method"] != "otsu" for f in fits):
        return []  # each group must show its own lit and shadow modes; a piece all in shadow is not another albedo
    out = []
    for g, fit in zip(groups, fits):
        out.append({"centre": float(np.average([pieces[j].mean_log for j in g], weights=[pieces[j].pixels for j in g])),
                    "weight": round(float(sum(pieces[j].pixels for j in g) / w.sum()), 4), "shadow": float(fit["shadow"]),
                    "share": float(fit["share"]), "method": str(fit["method"])})
    return out


def refit_without_specular(fit: dict[str, Any], samples: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
                           tones: int = 2, highlight_sigma: float = 3.5) -> dict[str, Any]:
    """Refit a one-material part's base/shadow split without its specular highlights.

    A glossy part (lacquered hair, shiny skin) has a bright, desaturated highlight mode on its lit side; the
    2-means split then separates the highlight from the rest and calls the dimmer lit surface shadow. Specular
    light is the light's colour, not the material's: highlight pixels are brighter than the part's median and
    their saturation ``C* / (L* + 2)`` is under :data:`SPECULAR_SAT_RATIO` of the part's bright half, while
    shading keeps a material's saturation. Interior pixels only (a silhouette's rim mixes with the background).
    When such pixels are :data:`SPECULAR_MIN_SHARE` .. :data:`SPECULAR_MAX_SHARE` of the part, the part's colour
    is saturated enough to tell (:data:`SPECULAR_MIN_SAT`) and is one hue (mean resultant length of the other
    pixels' hues >= :data:`SPECULAR_HUE_R`: in a part of two hues a desaturated pixel may be another material),
    the split is refitted on the part's samples without them.

    Args:
        fit: the part's :func:`fit_part` result.
        samples: the part's ``(chroma codes, L*, smoothed L*, |grad L*| or NaN)`` (:meth:`ToneHistograms.part_samples`).
        tones: passed to :func:`fit_part`.
        highlight_sigma: passed to :func:`fit_part`.

    Returns:
        ``fit`` with ``shadow``, ``share`` and ``method`` refitted and ``specular`` (the share of the sampled pixels
        left out), or ``fit`` unchanged.
    """
    codes, lstar, smooth_l, grad = samples
    if lstar.size < 4 * MIN_SAMPLES:
        return fit
    a, b = _code_ab(codes)
    chroma = np.hypot(a, b)
    sat = chroma / (lstar + FEATURE_OFFSET)
    med_l = float(np.median(lstar))
    ref = float(np.median(sat[lstar >= med_l]))
    if ref < SPECULAR_MIN_SAT:
        return fit
    spec = (lstar > med_l) & (sat < SPECULAR_SAT_RATIO * ref) & np.isfinite(grad)
    share = float(spec.mean())
    if not SPECULAR_MIN_SHARE <= share <= SPECULAR_MAX_SHARE:
        return fit
    keep = ~spec
    coloured = keep & (chroma > SPECULAR_MIN_CHROMA)
    if int(coloured.sum()) < MIN_SAMPLES:
        return fit
    hue = np.arctan2(b[coloured], a[coloured])
    if float(np.hypot(np.cos(hue).mean(), np.sin(hue).mean())) < SPECULAR_HUE_R:
        return fit
    ok = keep & np.isfinite(grad)
    bg = _bins(lstar[ok])
    g = (np.bincount(bg, weights=grad[ok], minlength=N_BINS).astype(np.float64), np.bincount(bg, minlength=N_BINS))
    new = fit_part(_sample_hist(lstar[keep]), tones, smooth_hist=_sample_hist(smooth_l[keep]), highlight_sigma=highlight_sigma, grad=g)
    return {**fit, "shadow": new["shadow"], "share": new["share"], "method": new["method"], "specular": round(share, 4)}


def fit_tone_model(
    histograms: ToneHistograms,
    names: Sequence[str],
    tones: int = 2,
    *,
    overrides: dict[str, PartTones] | None = None,
    shadow: float | None = None,
    hysteresis: float = 0.04,
    min_region: int = 24,
    highlight_sigma: float = 3.5,
    smoothing: float = 1.0,
    min_region_frac: float = MIN_REGION_FRAC,
) -> ToneModel:
    """Fit a shot's :class:`ToneModel` from pooled histograms.

    Args:
        histograms: the pooled per-part histograms.
        names: part names, in label order.
        tones: default tone count, 2..4.
        overrides: per-part :class:`PartTones`.
        shadow: target shadow share (0..1) for every part without its own ``shadow``/``threshold_l``; ``None`` fits.
        hysteresis: kept for old job files (unused).
        min_region: smallest region kept, pixels (floor).
        highlight_sigma: see :func:`fit_part`.
        smoothing: smoothing strength (0 off, 1 default), recorded; the radius is the histograms' ``smooth_px``.
        min_region_frac: smallest region as a fraction of its part's area in the frame.

    Raises:
        ValueError: a tone count outside 2..4, a share outside 0..1, or ``names`` does not match the histograms.
    """
    if len(names) != histograms.n_parts:
        raise ValueError(f"{len(names)} names for {histograms.n_parts} parts")
    if shadow is not None and not 0.0 <= shadow <= 1.0:
        raise ValueError(f"shadow share must be within 0..1, got {shadow}")
    overrides = overrides or {}
    pooled = histograms.counts[1:].sum(axis=0)
    pooled_s = histograms.smooth_counts[1:].sum(axis=0)
    n_frames = max(len(histograms.frames), 1)
    parts = []
    for i, name in enumerate(names, start=1):
        ov = overrides.get(name, PartTones())
        n_tones = ov.tones if ov.tones is not None else tones
        if n_tones not in (2, 3, 4):
            raise ValueError(f"part {name!r}: tones must be 2, 3 or 4, got {n_tones}")
        if ov.shadow is not None and not 0.0 <= ov.shadow <= 1.0:
            raise ValueError(f"part {name!r}: shadow share must be within 0..1, got {ov.shadow}")
        hist = histograms.counts[i]
        n = int(hist.sum())
        use_pooled = bool(0 < n < MIN_SAMPLES and pooled.sum() >= MIN_SAMPLES)
        share = ov.shadow if ov.shadow is not None else shadow
        grad = (histograms.grad_sums[1:].sum(axis=0), histograms.grad_counts[1:].sum(axis=0)) if use_pooled else \
            (histograms.grad_sums[i], histograms.grad_counts[i])
        fit = fit_part(pooled if use_pooled else hist, n_tones,
                       smooth_hist=pooled_s if use_pooled else histograms.smooth_counts[i], shadow_share=share, threshold_l=ov.threshold_l,
                       bias=ov.bias, highlight_sigma=highlight_sigma, grad=grad)
        fit["samples"] = n
        if use_pooled:
            fit["method"] = "pooled" if fit["method"] not in ("share", "threshold") else fit["method"]
        frames_present = max(int(histograms.present[i]), 1)
        materials: list[dict[str, Any]] = []
        instances: list[dict[str, Any]] = []
        samples = histograms.part_samples(i)
        auto = share is None and ov.threshold_l is None and not use_pooled and fit["method"] != "empty"
        if auto:
            instances = fit_instances(histograms.pieces.get(i, []), 2, highlight_sigma)
        if auto and samples is not None and not instances:
            materials = fit_materials(*samples, highlight_sigma=highlight_sigma)  # samples: codes, L*, smoothed L*, grad
        if auto and samples is not None and not instances and not materials and n_tones == 2:
            fit = refit_without_specular(fit, samples, n_tones, highlight_sigma)
        parts.append(PartToneModel(name=name, pooled=use_pooled, scale_px=round(math.sqrt(n / frames_present), 1), materials=materials,
                                   instances=instances, **fit))
    del n_frames
    return ToneModel(parts, hysteresis=hysteresis, min_region=min_region, fitted_on=list(histograms.frames),
                     smoothing=smoothing, smooth_px=histograms.smooth_px, min_region_frac=min_region_frac)


class ToneStats:
    """What the frames got, per part: pixels, pixels per tone, frames where the part is missing.

    Counted on every second pixel of every second row (shares to well under a percent, a quarter of the cost).

    Args:
        n_parts: number of parts (labels ``1..n_parts``).
    """

    STEP = 2

    def __init__(self, n_parts: int) -> None:
        self.n_parts = n_parts
        self.counts = np.zeros((n_parts + 1, 5), np.int64)
        """``[label, tone code]`` pixel counts (subsampled)."""
        self.frames: list[int] = []
        self.missing: dict[int, list[int]] = {i: [] for i in range(1, n_parts + 1)}
        """label -> frames where the part has no pixels."""

    def add(self, frame: int, labels: np.ndarray, tone: np.ndarray) -> None:
        """Count one frame (``labels`` and ``tone`` on the same window; an empty window counts every part missing)."""
        self.frames.append(int(frame))
        st = self.STEP
        if labels.size:
            key = labels[::st, ::st].astype(np.intp) * 5 + np.minimum(tone[::st, ::st], 4)
            c = np.bincount(key.reshape(-1), minlength=(self.n_parts + 1) * 5)[: (self.n_parts + 1) * 5]
            c = c.reshape(self.n_parts + 1, 5)
            present = c.sum(axis=1) > 0
            self.counts += c
        else:
            present = np.zeros(self.n_parts + 1, bool)
        for i in range(1, self.n_parts + 1):
            if not present[i]:
                self.missing[i].append(int(frame))

    def pixels(self, label: int) -> int:
        return int(self.counts[label, 1:].sum())

    def share(self, label: int, codes: tuple[int, ...] = (TONE_SHADOW, TONE_SHADOW2)) -> float:
        """Fraction of the part's pixels over the counted frames with a tone in ``codes`` (nan when never present)."""
        n = self.pixels(label)
        return float(self.counts[label, list(codes)].sum() / n) if n else float("nan")


def fit_warnings(model: ToneModel) -> list[str]:
    """What a person should know about a fitted model, one sentence per part that needs it.

    - a part with one lightness mode, split anyway at its darker tail;
    - a fitted share moved to :data:`MIN_AUTO_SHARE` / :data:`MAX_AUTO_SHARE`;
    - a part empty on every fitted frame;
    - a part asked for highlights that gets none (its highlight rule asks for a lightness above white).
    """
    out: list[str] = []
    for p in model.parts:
        pct = f"{100 * p.share:.0f}%" if np.isfinite(p.share) else "?"
        if p.method == "empty":
            out.append(f"part '{p.name}' is empty on every fitted frame: it has no tones (its frames are left untouched)")
        elif p.method == "tail":
            out.append(
                f"part '{p.name}' has one lightness mode (no visible shadow): split anyway at its darker tail, "
                f"shadow below L* {p.shadow:.1f} ({pct} of it); set --part {p.name}:shadow=S or threshold_l=L to choose"
            )
        if p.tones >= 3 and p.highlight is not None and p.highlight > 100.0 and p.method != "empty":
            out.append(f"part '{p.name}' gets no highlight: none of its pixels stands out above its lit side "
                       f"(the highlight rule asks for L* {p.highlight:.0f})")
        if p.method == "dark":
            out.append(
                f"part '{p.name}' is mostly one dark material (no dip in its lightness, and the 2-means split put most "
                f"of it in shadow): its shadow is the darker side of that material, below L* {p.shadow:.1f} ({pct} of "
                f"it); set --part {p.name}:shadow=S or threshold_l=L to choose"
            )
        if p.method == "clamped":
            out.append(
                f"part '{p.name}': the 2-means split's shadow share was implausible; moved to {pct} of it, the "
                f"thinnest lightness within the admissible shares (shadow below L* {p.shadow:.1f}); set "
                f"--part {p.name}:shadow=S or threshold_l=L to choose"
            )
    return out


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


def _remove_small(mask: np.ndarray, min_area: float, connectivity: int = 8) -> np.ndarray:
    """Pixels of ``mask`` in components (``connectivity`` 4 or 8) smaller than ``min_area``."""
    if min_area <= 1 or not mask.any():
        return np.zeros_like(mask)
    # connectedComponents + bincount: ~3x cheaper than connectedComponentsWithStats, which also computes boxes
    n, comp = cv2.connectedComponents(mask.view(np.uint8), connectivity=connectivity)
    cc = np.asarray(comp, np.int32)
    small = np.bincount(cc.reshape(-1), minlength=n) < min_area
    small[0] = False
    if not small[1:].any():
        return np.zeros_like(mask)
    return np.take(small, cc)


def assign_tones(
    labels: np.ndarray,
    lstar: np.ndarray,
    model: ToneModel,
    tables: dict[str, np.ndarray] | None = None,
    chroma: np.ndarray | None = None,
) -> np.ndarray:
    """Classify every pixel of one frame into tone codes with a shot's fitted model.

    Args:
        labels: ``(H, W)`` uint8 part labels (label ``i + 1`` is ``model.parts[i]``).
        lstar: ``(H, W)`` float32 L* (:func:`lightness`).
        model: the shot's :class:`ToneModel`.
        tables: ``model.tables()``, precomputed (optional, for speed).
        chroma: ``(H, W)`` uint16 chroma codes (:func:`lab_planes`); needed when a part has materials
            (``model.has_materials``), else each such part is split with its single ``shadow`` threshold.

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
    tone[box] = _assign_tones_box(labels[box], lstar[box], model, t, None if chroma is None else chroma[box])
    return tone


def _assign_tones_box(labels: np.ndarray, lstar: np.ndarray, model: ToneModel, t: dict[str, np.ndarray], chroma: np.ndarray | None = None) -> np.ndarray:
    inside = labels > 0
    # morphological cleanup at each part's scale: shadow islands and base holes below a share of the part go
    areas = np.bincount(labels.reshape(-1), minlength=len(model.parts) + 1).astype(np.float32)
    limit = np.maximum(model.min_region_frac * areas, np.minimum(float(model.min_region), 0.1 * areas))
    luts = {int(p): t["material_lut"][r] for r, p in enumerate(t["material_parts"])} if "material_parts" in t else None
    inst = {int(p): (t["instance_centres"][r], t["instance_shadow"][r]) for r, p in enumerate(t["instance_parts"])} \
        if "instance_parts" in t else None
    shadow = shadow_within_parts(labels, lstar, t["mid"], model.smooth_px, limit, chroma, luts, inst)
    tone = np.where(shadow, np.uint8(TONE_SHADOW), inside.view(np.uint8) * np.uint8(TONE_BASE))
    min_region = model.min_region
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
    frames: Iterable[tuple[Any, ...]],
    names: Sequence[str],
    tones: int = 2,
    **kwargs: Any,
) -> ToneModel:
    """Fit a :class:`ToneModel` from ``(frame, labels, lstar[, chroma])`` tuples (convenience over
    :class:`ToneHistograms`; with chroma codes, parts may be split into materials)."""
    frames = list(frames)
    smoothing = float(kwargs.get("smoothing", 1.0))
    height = frames[0][1].shape[0] if frames else 0
    hists = ToneHistograms(len(names), smooth_radius(height, smoothing))
    for frame, labels, lstar, *chroma in frames:
        hists.add(labels, lstar, frame, chroma[0] if chroma else None)
    return fit_tone_model(hists, names, tones, **kwargs)


__all__ = [
    "TONE_OUTSIDE",
    "TONE_BASE",
    "TONE_SHADOW",
    "TONE_HIGHLIGHT",
    "TONE_SHADOW2",
    "FEATURE_OFFSET",
    "lightness",
    "lab_planes",
    "chroma_feature",
    "fit_instances",
    "refit_without_specular",
    "fit_materials",
    "feature",
    "PartTones",
    "PartToneModel",
    "ToneModel",
    "ToneHistograms",
    "otsu",
    "fit_part",
    "fit_tone_model",
    "fit_from_frames",
    "fit_warnings",
    "ToneStats",
    "smooth_radius",
    "smooth_margin",
    "shadow_within_parts",
    "sample_frames",
    "assign_tones",
]
