"""A small shaded test scene on disk: plate, roto-style mattes and a palette (shared by the cel and ops tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inkpaint.io.frames import write_exr

PALETTE = """\
inkpaint_palette: 1
ink: [10, 5, 20]
parts:
  body:
    normal: [200, 120, 80]
    shadow: [120, 60, 40]
    highlight: [255, 220, 200]
  head:
    normal: [240, 210, 190]
    shadow: [[180, 140, 130], [120, 90, 80]]
"""


def scene_arrays(frame: int, size: tuple[int, int] = (96, 72)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One frame: ``(body matte, head matte, plate RGB linear)``; the left of each part is lit, the right shaded."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    dx = frame * 2.0
    body = ((xx - 20 - dx) ** 2 / 22**2 + (yy - 48) ** 2 / 18**2 < 1).astype(np.float32)
    head = (((xx - 40 - dx) ** 2 + (yy - 22) ** 2) < 14**2).astype(np.float32) * (1 - body)
    plate = np.full((h, w, 3), 0.05, np.float32)
    lit_body = np.array([0.6, 0.25, 0.1], np.float32)
    lit_head = np.array([0.8, 0.6, 0.5], np.float32)
    for m, col, cx in ((body, lit_body, 20 + dx), (head, lit_head, 40 + dx)):
        shade = np.where(xx < cx, 1.0, 0.18).astype(np.float32)
        plate = np.where(m[..., None] > 0, col * shade[..., None], plate)
    return body, head, plate


def write_scene(folder: Path, frames: int = 4, size: tuple[int, int] = (96, 72), empty: tuple[int, ...] = ()) -> dict[str, str]:
    """Write plate (EXR, linear), mattes (``body.A``, ``head.A``, ``A``) and ``palette.yml``; frames from 1."""
    folder.mkdir(parents=True, exist_ok=True)
    for f in range(1, frames + 1):
        body, head, plate = scene_arrays(f, size)
        if f in empty:
            body, head = np.zeros_like(body), np.zeros_like(head)
        write_exr(str(folder / f"plate.{f:04d}.exr"), {c: plate[..., i] for i, c in enumerate("RGB")})
        write_exr(
            str(folder / f"roto.{f:04d}.exr"),
            {"body.A": body, "head.A": head, "A": np.maximum(body, head)},
            metadata={"inkpaint:objects": "body,head"},
        )
    (folder / "palette.yml").write_text(PALETTE)
    return {
        "plate": str(folder / "plate.####.exr"),
        "mattes": str(folder / "roto.####.exr"),
        "palette": str(folder / "palette.yml"),
    }
