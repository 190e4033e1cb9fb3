"""Part mattes -> one part-label image, region boundaries and the bounding box of the character.

Everything downstream (ink, tones, paint) works on one ``uint8`` label image instead of one pass per part:
label 0 is outside every part, label ``i + 1`` is part ``i``.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

MAX_PARTS = 254
"""Parts that fit a ``uint8`` label image (0 is outside; 255 is kept free)."""


def check_mattes(mattes: Sequence[np.ndarray] | np.ndarray) -> tuple[int, int]:
    """Check a stack of part mattes and return its ``(H, W)``.

    Args:
        mattes: ``P`` arrays of shape ``(H, W)`` (or one ``(P, H, W)`` array), coverage 0..1.

    Raises:
        ValueError: no mattes, mismatched shapes, not 2-D, or more than :data:`MAX_PARTS` parts.
    """
    if len(mattes) == 0:
        raise ValueError("no part mattes given")
    if len(mattes) > MAX_PARTS:
        raise ValueError(f"{len(mattes)} parts; at most {MAX_PARTS} are supported")
    shape = np.shape(mattes[0])
    if len(shape) != 2:
        raise ValueError(f"mattes must be (H, W) arrays, got shape {shape}")
    for i, m in enumerate(mattes):
        if np.shape(m) != shape:
            raise ValueError(f"matte {i} has shape {np.shape(m)}, expected {shape} like matte 0")
    return int(shape[0]), int(shape[1])


def mattes_to_labels(mattes: Sequence[np.ndarray] | np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Give every pixel to the part whose matte is highest there, when that matte is above ``threshold``.

    Args:
        mattes: ``P`` part mattes, each ``(H, W)`` float coverage in 0..1 (roto mattes never overlap; overlapping
            mattes are resolved by the larger value, the first part on ties).
        threshold: coverage a pixel needs to belong to a part.

    Returns:
        ``(H, W)`` uint8 labels: 0 outside, ``i + 1`` for ``mattes[i]``.
    """
    h, w = check_mattes(mattes)
    labels = np.zeros((h, w), np.uint8)
    best = np.full((h, w), np.float32(threshold), np.float32)
    for i, m in enumerate(mattes):
        m32 = np.asarray(m, np.float32)
        win = cv2.compare(m32, best, cv2.CMP_GT)  # uint8 0/255, multithreaded
        if not cv2.countNonZero(win):
            continue
        np.copyto(labels, np.uint8(i + 1), where=win != 0)
        cv2.max(best, m32, dst=best)
    return labels


def bounding_box(mask: np.ndarray, margin: int = 0) -> tuple[slice, slice] | None:
    """Bounding box of the nonzero pixels of ``mask`` ``(H, W)``, grown by ``margin`` px and clipped to the image.

    Returns:
        ``(rows, cols)`` slices, or ``None`` when the mask is empty.
    """
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask[rows[0] : rows[-1] + 1].any(axis=0))
    h, w = mask.shape
    r0, r1 = max(int(rows[0]) - margin, 0), min(int(rows[-1]) + 1 + margin, h)
    c0, c1 = max(int(cols[0]) - margin, 0), min(int(cols[-1]) + 1 + margin, w)
    return slice(r0, r1), slice(c0, c1)


def region_edges(key: np.ndarray) -> np.ndarray:
    """Pixels with a 4-neighbour of a different value, on both sides of every boundary.

    Args:
        key: ``(H, W)`` integer region image (part labels, or labels combined with tones).

    Returns:
        ``(H, W)`` bool; boundary pixels of the image border are not marked (the frame edge is no boundary).
    """
    if key.ndim != 2:
        raise ValueError(f"key must be (H, W), got shape {key.shape}")
    e = np.zeros(key.shape, bool)
    dx = key[:, 1:] != key[:, :-1]
    e[:, 1:] |= dx
    e[:, :-1] |= dx
    dy = key[1:] != key[:-1]
    e[1:] |= dy
    e[:-1] |= dy
    return e
