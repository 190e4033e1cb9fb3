"""Per-frame cost of the learned paint matcher against the classical path, at 1920x1920 on this CPU.

    .venv/bin/python bench/paint_matcher_speed.py [--clip ../shared/data/synth_dev/clip_004] [--size 1920] [--repeat 3]

A synth_dev pair (frames 6 -> 7) is scaled up with nearest sampling to ``--size`` (lines get proportionally thicker,
segment counts stay), segmented once; then per repeat: the DIS flow, the classical ``propagate_colours`` (same flow),
and the matcher's extra work (``pair_inputs`` + the network on CPU). Prints the median of each and the machine load
(the shared 2-core box is usually loaded: compare the two paths within one run, not across runs).
Needs torch and the shipped weights (or ``INKPAINT_PAINT_MATCHER``).
"""

from __future__ import annotations

import argparse
import os
import time

import cv2
import numpy as np

from inkpaint.paint.colours import ColourTable, colours_from_image
from inkpaint.paint.matcher import load_matcher, pair_inputs
from inkpaint.paint.propagate import METHOD_KEY, FrameColours, dense_flow, flow_image, propagate_colours
from inkpaint.paint.segments import segment_lines
from inkpaint.paint.shading import ToneModel
from inkpaint.palette import load_palette


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clip", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "synth_dev", "clip_004"))
    ap.add_argument("--size", type=int, default=1920)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    import torch

    torch.set_num_threads(1)

    def rd(name: str, f: int) -> np.ndarray:
        img = cv2.cvtColor(cv2.imread(os.path.join(a.clip, name, f"{f:04d}.png")), cv2.COLOR_BGR2RGB)
        return cv2.resize(img, (a.size, a.size), interpolation=cv2.INTER_NEAREST)

    table = ColourTable.create(load_palette(os.path.join(a.clip, "colorbook.yml")))
    ref = segment_lines(rd("line", 6).astype(np.float32) / 255, ["R", "G", "B"])
    tgt = segment_lines(rd("line", 7).astype(np.float32) / 255, ["R", "G", "B"])
    idx = colours_from_image(ref, rd("gt", 6), table).index.astype(np.int32)
    ref_col = FrameColours(idx, np.ones(len(idx), np.float32), np.full(len(idx), METHOD_KEY, np.uint8))
    m = load_matcher()
    t_flow, t_classic, t_match = [], [], []
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        flow = dense_flow(flow_image(tgt), flow_image(ref))
        t1 = time.perf_counter()
        classic = propagate_colours(ref, ref_col, tgt, len(table), flow=flow, tones=ToneModel.from_table(table))
        t2 = time.perf_counter()
        inputs = pair_inputs(ref, ref_col, tgt, table.rgb, flow, classic)
        t3 = time.perf_counter()
        m.logits(inputs)
        t4 = time.perf_counter()
        t_flow.append(t1 - t0)
        t_classic.append(t2 - t1)
        t_match.append((t3 - t2, t4 - t3))
    med = lambda v: float(np.median(v))  # noqa: E731
    print(f"{a.size}x{a.size}, {tgt.n} target / {ref.n} reference segments, load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores, torch 1 thread")
    print(f"  DIS flow            {med(t_flow):7.3f} s")
    print(f"  classical vote      {med(t_classic):7.3f} s")
    print(f"  matcher inputs      {med([x for x, _ in t_match]):7.3f} s")
    print(f"  matcher network     {med([y for _, y in t_match]):7.3f} s")
    print(f"  learned extra total {med([x + y for x, y in t_match]):7.3f} s per frame")


if __name__ == "__main__":
    main()
