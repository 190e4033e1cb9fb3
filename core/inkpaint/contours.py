"""Simplified object outlines from mattes, for editable Roto shapes (Nuke) and Mask splines (Blender).

JSON layout of one frame (written atomically)::

    {"frame": 1001, "width": 1920, "height": 1080, "origin": "top-left", "units": "pixels",
     "job_hash": "...", "objects": {"dancer": [{"points": [[x, y], ...], "hole": false, "area": 1234.0}, ...]}}

Coordinates are continuous pixel coordinates: the image spans ``0..width`` x ``0..height`` with the origin at the
top-left corner, so the centre of pixel ``(i, j)`` is ``(i + 0.5, j + 0.5)``. Outlines run through the centres of the
matte's edge pixels (``> 0.5``), simplified with Douglas-Peucker to ``tolerance`` pixels. Outer outlines come first
(largest first), counter-clockwise as seen on screen; holes follow, clockwise. Nuke's origin is bottom-left
(``y_nuke = height - y``); Blender masks use ``x / width, 1 - y / height`` (the adapters convert).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import cv2
import numpy as np

from .io.atomic import atomic_write_text


def mask_contours(matte: np.ndarray, tolerance: float = 1.0, min_area: float = 4.0) -> list[dict[str, Any]]:
    """Outlines of a matte's inside (``> 0.5``), simplified with Douglas-Peucker.

    Args:
        matte: ``(H, W)`` float in 0..1 or bool.
        tolerance: maximum deviation of the simplified outline, in pixels.
        min_area: outlines enclosing less area (pixels²) are dropped.

    Returns:
        A list of ``{"points": [[x, y], ...], "hole": bool, "area": float}``, outer outlines before their holes,
        points in continuous pixel coordinates, top-left origin, counter-clockwise for outers as seen on screen.
    """
    if matte.ndim != 2:
        raise ValueError(f"mask_contours expects (H, W), got {matte.shape}")
    binary = (np.asarray(matte) > 0.5).astype(np.uint8)
    if not binary.any():
        return []
    contours, hierarchy = cv2.findContours(binary, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    out: list[dict[str, Any]] = []
    if hierarchy is None:
        return out
    for c, h in zip(contours, hierarchy[0]):
        area = float(abs(cv2.contourArea(c)))
        if area < min_area:
            continue
        approx = cv2.approxPolyDP(c, tolerance, True) if tolerance > 0 else c
        if len(approx) < 3:
            continue
        pts = approx.reshape(-1, 2).astype(np.float64) + 0.5
        hole = bool(h[3] >= 0)
        # Orientation as seen on screen (y down): outers counter-clockwise (negative shoelace sum in these
        # coordinates), holes clockwise. Enforced rather than trusted to OpenCV's tracing order.
        x, y = pts[:, 0], pts[:, 1]
        signed = float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))
        if (signed > 0) != hole:
            pts = pts[::-1]
        out.append({"points": np.round(pts, 3).tolist(), "hole": hole, "area": area})
    out.sort(key=lambda d: (d["hole"], -d["area"]))
    return out


def write_contours(
    path: str,
    mattes: Mapping[str, np.ndarray],
    frame: int,
    size: tuple[int, int],
    tolerance: float,
    metadata: Mapping[str, Any] | None = None,
) -> None:
    """Write one frame's outlines for every object as JSON (see module docstring), atomically."""
    w, h = size
    payload: dict[str, Any] = {
        "frame": int(frame),
        "width": int(w),
        "height": int(h),
        "origin": "top-left",
        "units": "pixels",
        "job_hash": (metadata or {}).get("inkpaint:job_hash", ""),
        "objects": {name: mask_contours(m, tolerance) for name, m in mattes.items()},
    }
    atomic_write_text(path, json.dumps(payload) + "\n")


def read_contours(path: str) -> dict[str, Any]:
    """Read one frame's outline JSON."""
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)
