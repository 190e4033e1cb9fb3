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
