"""Segmentation speed at 1920x1920: inkpaint.paint.segment_lines vs a plain cv2.connectedComponentsWithStats baseline.

    .venv/bin/python bench/paint_segments.py [--image ../shared/data/basicpbc_demo/laughing_girl/line/0000.png]
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from inkpaint.io.frames import read_image
from inkpaint.paint.segments import segment_lines


def _best(fn, repeat: int = 5) -> float:
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return min(ts)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--image", default="../shared/data/basicpbc_demo/laughing_girl/line/0000.png")
    ap.add_argument("--size", type=int, default=1920)
    a = ap.parse_args()
    img = read_image(a.image)
    px = cv2.resize(img.pixels, (a.size, a.size), interpolation=cv2.INTER_NEAREST)
    base = _best(lambda: cv2.connectedComponentsWithStats(((px[..., -1] if "A" in img.channels else px.min(-1)) < 0.5).astype(np.uint8), connectivity=4))
    print(f"{a.size}x{a.size}  baseline cv2.connectedComponentsWithStats only: {base:.3f} s")
    for kw in ({}, {"max_gap": 3}, {"max_gap": 3, "gap_mode": "trapped_ball"}, {"speck_size": 8},
               {"max_gap": 3, "speck_size": 8}):
        t = _best(lambda kw=kw: segment_lines(px, img.channels, **kw))
        print(f"  segment_lines {kw or 'defaults'}: {t:.3f} s  ({t / base:.1f}x baseline)")


if __name__ == "__main__":
    main()
