"""Typed wrappers for the OpenCV calls whose stubs (opencv-python's ``cv2/__init__.pyi``) disagree with what OpenCV
accepts at run time. Each mismatch is handled here once, with the reason, instead of ``# type: ignore`` at every
call site; the rest of the engine calls these and stays checked.

Known mismatches (opencv-python 4.x stubs):

- ``cv2.DISOpticalFlow_create``: the module-level factory exists at run time but is not in the stubs; the stubbed,
  equivalent spelling is the class method ``cv2.DISOpticalFlow.create`` (:func:`dis_optical_flow`).
- ``cv2.compare(src, scalar, op)``: OpenCV takes a number as ``src2``; the stubs require an array
  (:func:`compare_scalar`).
- ``DenseOpticalFlow.calc(I0, I1, None)``: with ``flow=None`` OpenCV allocates the ``(H, W, 2)`` float32 result; the
  stubs require an array (:func:`flow_calc`).
- ``cv2.grabCut(..., rect=None, ..., mode=GC_INIT_WITH_MASK)``: with a mask the rectangle is unused and may be
  ``None``; the stubs require a ``Rect`` (:func:`grab_cut_with_mask`).

Also here, once: the half <-> float32 casts through OpenCV (:func:`to_half`, :func:`to_float32`; F16C SIMD,
bit-identical to numpy's ``astype``, ~5x faster at 1080p), with their two run-time quirks: OpenCV reads an array of
a few values as a scalar (a 1x1 plane comes back 4x1), and its 3- and 4-channel half casts are ~5x slower than the
same values cast as one channel.
"""

from __future__ import annotations

import cv2
import numpy as np


def dis_optical_flow(preset: int = cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST) -> cv2.DISOpticalFlow:
    """A DIS optical-flow object (the same object ``cv2.DISOpticalFlow_create(preset)`` returns)."""
    return cv2.DISOpticalFlow.create(preset)


def flow_calc(flow: cv2.DenseOpticalFlow, i0: np.ndarray, i1: np.ndarray) -> np.ndarray:
    """``flow.calc(i0, i1, None)``: ``(H, W, 2)`` float32 flow such that ``i0(p) ~ i1(p + flow(p))``.

    Args:
        flow: a dense optical-flow object (e.g. :func:`dis_optical_flow`).
        i0, i1: ``(H, W)`` uint8 (or float32 where the method allows) single-channel frames of one size.
    """
    # OpenCV allocates the output when flow is None (no initial flow); the stubs only declare MatLike/UMat.
    return np.asarray(flow.calc(i0, i1, None))  # type: ignore[call-overload]


def compare_scalar(src: np.ndarray, value: float, op: int) -> np.ndarray:
    """``cv2.compare`` of an array with one number: a ``uint8`` array of 0/255, the shape of ``src``.

    Args:
        src: ``(H, W)`` array of a type OpenCV compares (uint8, int32, float32 ...).
        value: the number every pixel is compared with.
        op: ``cv2.CMP_EQ``, ``cv2.CMP_GT`` ...
    """
    # OpenCV accepts a scalar src2 (it broadcasts); the stubs only declare MatLike/UMat.
    return np.asarray(cv2.compare(src, value, op))  # type: ignore[call-overload]


def grab_cut_with_mask(image: np.ndarray, mask: np.ndarray, bgd_model: np.ndarray, fgd_model: np.ndarray, iterations: int) -> None:
    """``cv2.grabCut`` initialised from ``mask`` (``GC_INIT_WITH_MASK``); ``mask`` and the models are updated in place.

    Args:
        image: ``(H, W, 3)`` uint8 BGR.
        mask: ``(H, W)`` uint8 of ``cv2.GC_BGD/FGD/PR_BGD/PR_FGD``.
        bgd_model, fgd_model: ``(1, 65)`` float64 model buffers.
        iterations: GrabCut iterations.
    """
    # With GC_INIT_WITH_MASK the rectangle is ignored and None is what OpenCV's own samples pass; the stubs want a Rect.
    cv2.grabCut(image, mask, None, bgd_model, fgd_model, iterations, cv2.GC_INIT_WITH_MASK)  # type: ignore[call-overload]


CV_CAST_MIN_VALUES = 4096
"""Arrays of fewer values are cast by numpy (:func:`to_half`, :func:`to_float32`): OpenCV would read a tiny array as a
scalar, and for so few values the call costs more than it saves."""


def to_half(a: np.ndarray) -> np.ndarray:
    """``a`` as float16: half input as it is; anything else as float32 first, then cast by OpenCV (values as numpy's
    ``astype``: round to nearest even, NaN stays NaN, beyond 65504 inf).

    Args:
        a: array of any shape; ``(H, W, C)`` is cast as one ``(H, W * C)`` channel (OpenCV's multi-channel half cast
            is ~5x slower).
    """
    if a.dtype == np.float16:
        return a
    a = np.ascontiguousarray(a, dtype=np.float32)
    if a.size < CV_CAST_MIN_VALUES:
        with np.errstate(over="ignore"):  # beyond 65504 becomes inf, silently, as OpenCV's cast does
            return a.astype(np.float16)
    if a.ndim == 3:
        return np.asarray(cv2.multiply(a.reshape(a.shape[0], -1), 1.0, dtype=cv2.CV_16F)).reshape(a.shape)
    return np.asarray(cv2.multiply(a, 1.0, dtype=cv2.CV_16F))


def to_float32(a: np.ndarray) -> np.ndarray:
    """``a`` as float32: half input widened by OpenCV (exact, as ``astype``), anything else by numpy (no copy when
    already float32)."""
    if a.dtype != np.float16:
        return np.asarray(a, dtype=np.float32)
    if a.size < CV_CAST_MIN_VALUES:
        return a.astype(np.float32)
    return np.asarray(cv2.multiply(np.ascontiguousarray(a), 1.0, dtype=cv2.CV_32F))
