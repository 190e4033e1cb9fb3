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


def draw_ink(
    labels: np.ndarray,
    width: float = 2.0,
    *,
    silhouette: bool = True,
    inner: bool = True,
    tone: np.ndarray | None = None,
    tone_width: float | None = None,
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
    box = bounding_box(labels > 0, margin=int(np.ceil(max(width, tone_width or 0) / 2)) + 2)
    if box is None:
        zeros = np.zeros((h, w), np.float32)
        return InkLines(zeros, np.zeros((h, w), bool), zeros.copy() if tone is not None else None)
    sub = _draw_ink_box(labels[box], width, silhouette, inner, tone[box] if tone is not None else None, tone_width)
    alpha = np.zeros((h, w), np.float32)
    alpha[box] = sub.alpha
    trace = None
    if sub.trace is not None:
        trace = np.zeros((h, w), np.float32)
        trace[box] = sub.trace
    return InkLines(alpha, alpha >= 0.5, trace)


def _draw_ink_box(labels: np.ndarray, width: float, silhouette: bool, inner: bool, tone: np.ndarray | None, tone_width: float | None) -> InkLines:
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
    alpha = line_coverage(part_edges, width)
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
        trace = line_coverage(tone_edges, tone_width or width)
        alpha = np.maximum(alpha, trace)
    return InkLines(alpha, alpha >= 0.5, trace)
