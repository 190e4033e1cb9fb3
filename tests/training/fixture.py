"""A tiny clip folder in the synth format (plate/tone/parts/label), made with numpy + OpenCV."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def make_clip(folder: Path, frames: int = 3, size: int = 64, shift: int = 0) -> Path:
    """One clip: a lit disc (part 1) and a box (part 2) on grey; left half of the disc in attached shadow, a cast
    shadow band on the box, a small highlight on the disc. Returns the clip folder."""
    for m in ("plate", "tone", "parts", "label"):
        (folder / m).mkdir(parents=True, exist_ok=True)
    (folder / "parts.json").write_text('{"0": "background", "1": "skin", "2": "top"}')
    (folder / "meta.json").write_text('{"frames": %d, "size": %d}' % (frames, size))
    yy, xx = np.mgrid[0:size, 0:size]
    for f in range(frames):
        cx = size // 3 + f + shift
        disc = (yy - size // 2) ** 2 + (xx - cx) ** 2 < (size // 5) ** 2
        box = (yy > size // 2) & (yy < size - 4) & (xx > size // 2 + 6) & (xx < size - 4)
        parts = np.where(disc, 1, np.where(box, 2, 0)).astype(np.uint8)
        tone = np.zeros((size, size), np.uint8)
        tone[parts > 0] = 1
        tone[disc & (xx < cx)] = 2
        tone[box & (xx < size // 2 + 14)] = 3
        tone[disc & ((yy - size // 2 + 3) ** 2 + (xx - cx - 4) ** 2 < 4)] = 4
        base = np.array([[200, 200, 200], [60, 160, 220], [220, 120, 60]], np.float32)[parts]
        shade = np.array([1.0, 1.0, 0.45, 0.35, 1.3], np.float32)[tone]
        plate = np.clip(base * shade[..., None], 0, 255).astype(np.uint8)
        cv2.imwrite(str(folder / "plate" / f"{f:04d}.png"), cv2.cvtColor(plate, cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(folder / "tone" / f"{f:04d}.png"), tone)
        cv2.imwrite(str(folder / "parts" / f"{f:04d}.png"), parts)
        cv2.imwrite(str(folder / "label" / f"{f:04d}.png"), parts)
    return folder


def make_dataset(root: Path, clips: int = 3) -> Path:
    for i in range(clips):
        make_clip(root / f"clip_{i:03d}", shift=i * 2)
    return root
