"""Ink lines from a part-label image: silhouettes, lines where parts meet, optional tone boundaries.

Lines are centred on region boundaries (the crack between two pixels), half on each side, so a silhouette line
is half outside the character. Width is a real number of pixels: the anti-aliased line covers each pixel by how
much of a ``width``-wide band around the boundary falls on it, measured with a Euclidean distance transform, so
``1.5`` px draws a 1.5 px line and scaling an image by 2 with twice the width gives the same drawing.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from ..cvcompat import compare_scalar
from .labels import bounding_box, region_edges


@dataclasses.dataclass
class InkLines:
    """Line art of one frame.

    Attributes:
        alpha: ``(H, W)`` float32 anti-aliased line coverage in 0..1 (the ``ink.A`` channel).
        hard: ``(H, W)`` bool binary lines (``alpha >= 0.5``): closed curves a paint bucket can fill between.
        trace: ``(H, W)`` float32 coverage of tone-boundary lines alone (colour-trace lines), or ``None`` when
            tone lines were not asked for.
    """

    alpha: np.ndarray
    hard: np.ndarray
    trace: np.ndarray | None = None


def line_coverage(edges: np.ndarray, width: float) -> np.ndarray:
    """Anti-aliased coverage of a ``width``-px line centred on the boundaries marked by ``edges``.

    Args:
        edges: ``(H, W)`` bool, the pixels on both sides of each boundary (:func:`~inkpaint.cel.labels.region_edges`).
        width: line width in pixels (> 0).

    Returns:
        ``(H, W)`` float32 coverage in 0..1.
    """
    if width <= 0:
        raise ValueError(f"line width must be > 0 px, got {width}")
    half = 0.5 * float(width)
    out = np.zeros(edges.shape, np.float32)
    if half <= 1.0:
        # the band fits the two pixel columns beside the boundary: no distance field needed
        out[edges] = half
        return out
    box = bounding_box(edges, margin=int(np.ceil(half)) + 1)
    if box is None:
        return out
    sub = edges[box]
    # distance from each pixel centre to the nearest edge-pixel centre; the boundary is 0.5 px beyond it
    dist = cv2.distanceTransform(np.where(sub, 0, 255).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    out[box] = np.clip(half - dist, 0.0, 1.0)
    return out


SMOOTH_SIGMA = 1.0
"""Default boundary smoothing for :func:`smooth_line_coverage`, pixels (Gaussian sigma)."""


_Z = np.linspace(-6.0, 6.0, 2401)
_PHI = (0.5 * (1.0 + np.vectorize(__import__("math").erf)(_Z / np.sqrt(2.0)))).astype(np.float64)


def smooth_line_coverage(labels: np.ndarray, width: float, sigma: float = SMOOTH_SIGMA) -> np.ndarray:
    """Anti-aliased coverage of ``width``-px lines on *smoothed* part boundaries (silhouettes and where parts meet).

    Each part's mask is blurred (Gaussian, ``sigma`` px) on its bounding box; its boundary is the 0.5 level of that
    field, a sub-pixel curve without the matte's pixel stair-steps. Near a straight edge the field is the normal
    CDF of the signed distance over ``s = sqrt(sigma^2 + 1/12)`` (the blur and the pixel's own box), so the
    distance is ``s * Phi^-1(field)`` (exact for straight edges, close on curves wider than ``sigma``). Coverage is
    ``clip(width / 2 + 0.5 - |distance|, 0, 1)``: a box-filtered band ``width`` px wide centred on the curve, so
    the line is ``width`` px wide at any angle. A boundary between two parts is the 0.5 level of both fields; the
    two draws coincide (the maximum is kept). Wide lines blur more (sigma at least a third of the half width), so
    the field still resolves their outer edge.

    Args:
        labels: ``(H, W)`` uint8 part labels.
        width: line width in pixels (> 0).
        sigma: Gaussian sigma in pixels (> 0).

    Returns:
        ``(H, W)`` float32 coverage in 0..1.
    """
    if width <= 0:
        raise ValueError(f"line width must be > 0 px, got {width}")
    out = np.zeros(labels.shape, np.float32)
    half = 0.5 * float(width) + 0.5
    sigma = max(float(sigma), half / 3.0)
    s = float(np.sqrt(sigma * sigma + 1.0 / 12.0))
    pad = int(np.ceil(half + 3 * sigma)) + 1
    h, w = labels.shape
    k = 2 * int(np.ceil(3 * sigma)) + 1
    # the field in 8 bits and a 256-entry table from field to coverage (distance error under 0.03 px). Coverage
    # only depends on how far the field is from 0 or 255, g = min(f, 255 - f), and grows with g: the maximum
    # over parts is taken on g (uint8) and one gather at the end gives the coverage.
    z = np.interp((np.arange(256) + 0.0) / 255.0, _PHI, _Z)
    lut = np.clip(half - s * np.abs(z), 0.0, 1.0).astype(np.float16).astype(np.float32)
    lut[0] = lut[255] = 0.0
    lut[128:] = lut[127::-1][: 128]  # indexed by g (0..127): symmetric, g = min(f, 255 - f)
    kern = cv2.getGaussianKernel(k, sigma, cv2.CV_32F)  # sepFilter2D: 3x faster than GaussianBlur's exact 8-bit path
    g_max = np.zeros(labels.shape, np.uint8)
    for p in np.flatnonzero(np.bincount(labels.reshape(-1), minlength=2)[1:]) + 1:
        m = compare_scalar(labels, int(p), cv2.CMP_EQ)  # 0 / 255
        x, y, bw, bh = cv2.boundingRect(m)
        y0, y1, x0, x1 = max(y - pad, 0), min(y + bh + pad, h), max(x - pad, 0), min(x + bw + pad, w)
        f = cv2.sepFilter2D(m[y0:y1, x0:x1], -1, kern, kern, borderType=cv2.BORDER_REPLICATE)
        g = cv2.min(f, cv2.bitwise_not(f))  # min(f, 255 - f) in two uint8 passes
        np.maximum(g_max[y0:y1, x0:x1], g, out=g_max[y0:y1, x0:x1])
    np.take(lut, g_max, out=out)
    return out


def draw_ink(
    labels: np.ndarray,
    width: float = 2.0,
    *,
    silhouette: bool = True,
    inner: bool = True,
    tone: np.ndarray | None = None,
    tone_width: float | None = None,
    smooth: float = 0.0,
) -> InkLines:
    """Draw the line art of one frame.

    Args:
        labels: ``(H, W)`` uint8 part labels (0 outside; see :func:`~inkpaint.cel.labels.mattes_to_labels`).
        width: line width in pixels.
        silhouette: draw lines where a part meets the outside.
        inner: draw lines where two parts meet.
        tone: optional ``(H, W)`` uint8 tone codes (the ``tone`` channel); when given, tone boundaries inside a part
            (shadow meets base, highlight meets base ...) are drawn too, into ``alpha`` and into ``trace``.
        tone_width: width of tone lines in pixels (default: ``width``).
        smooth: > 0: silhouettes and part lines follow the part boundaries smoothed with this Gaussian sigma (px)
            at sub-pixel precision (:func:`smooth_line_coverage`), so a stair-stepped matte gives a smooth line;
            0: lines on the pixel boundaries. (Only with ``silhouette`` and ``inner`` both on.)

    Returns:
        The lines (:class:`InkLines`).

    Raises:
        ValueError: ``labels``/``tone`` are not ``(H, W)`` of the same shape, or a width is not positive.
    """
    if labels.ndim != 2:
        raise ValueError(f"labels must be (H, W), got shape {labels.shape}")
    if tone is not None and tone.shape != labels.shape:
        raise ValueError(f"tone has shape {tone.shape}, labels {labels.shape}")
    h, w = labels.shape
    box = bounding_box(labels > 0, margin=int(np.ceil(max(width, tone_width or 0) / 2)) + 2 + (int(np.ceil(3 * smooth)) if smooth > 0 else 0))
    if box is None:
        zeros = np.zeros((h, w), np.float32)
        return InkLines(zeros, np.zeros((h, w), bool), zeros.copy() if tone is not None else None)
    sub = _draw_ink_box(labels[box], width, silhouette, inner, tone[box] if tone is not None else None, tone_width, smooth)
    alpha = np.zeros((h, w), np.float32)
    alpha[box] = sub.alpha
    trace = None
    if sub.trace is not None:
        trace = np.zeros((h, w), np.float32)
        trace[box] = sub.trace
    return InkLines(alpha, alpha >= 0.5, trace)


def _draw_ink_box(labels: np.ndarray, width: float, silhouette: bool, inner: bool, tone: np.ndarray | None, tone_width: float | None, smooth: float = 0.0) -> InkLines:
    if smooth > 0 and silhouette and inner:
        return _with_tone_lines(labels, smooth_line_coverage(labels, width, smooth), tone, tone_width or width)
    part_edges = region_edges(labels)
    if not (silhouette and inner):
        outside = labels == 0
        touches_outside = np.zeros_like(part_edges)
        # an edge pixel is a silhouette pixel when it or a 4-neighbour is outside
        touches_outside |= outside
        touches_outside[:, 1:] |= outside[:, :-1]
        touches_outside[:, :-1] |= outside[:, 1:]
        touches_outside[1:] |= outside[:-1]
        touches_outside[:-1] |= outside[1:]
        if not silhouette:
            part_edges &= ~touches_outside
        if not inner:
            part_edges &= touches_outside
    return _with_tone_lines(labels, line_coverage(part_edges, width), tone, tone_width or width)


def _with_tone_lines(labels: np.ndarray, alpha: np.ndarray, tone: np.ndarray | None, tone_width: float) -> InkLines:
    """Add the tone boundaries inside each part (when ``tone`` is given) to the part lines ``alpha``."""
    trace = None
    if tone is not None:
        key = labels.astype(np.uint16) * 8 + tone.astype(np.uint16)
        tone_edges = region_edges(key) & (labels > 0)
        # keep only boundaries between tones of the same part
        same_part = np.ones_like(tone_edges)
        diff = labels[:, 1:] != labels[:, :-1]
        same_part[:, 1:] &= ~diff
        same_part[:, :-1] &= ~diff
        diff = labels[1:] != labels[:-1]
        same_part[1:] &= ~diff
        same_part[:-1] &= ~diff
        tone_edges &= same_part
        trace = line_coverage(tone_edges, tone_width)
        alpha = np.maximum(alpha, trace)
    return InkLines(alpha, alpha >= 0.5, trace)
