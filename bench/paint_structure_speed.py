"""Per-frame CPU cost of the structural arbitration (paint/structure.py) against the rest of a chained frame.

    nice -n 10 .venv/bin/python bench/paint_structure_speed.py [--clip ../shared/data/basicpbc_demo/smoke_explosion]

On a real 1000x1000 hand-drawn clip (keyframe 26, painted backward, as in docs/benchmarks.md; or laughing_girl, 1600x1600,
``--key 0 --step 1``), frames 25 and 24 are coloured as the paint job colours them: frame 25 is the chain's first step (one vote; the runner-up colours of weak
segments are the alternatives), frame 24 a chained step (neighbour, direct and composed keyframe votes). Per repeat,
CPU time (``time.process_time``, one OpenCV thread) of the DIS flow, one classical vote, and the structural part
(``runner_up_votes`` + ``arbitrate`` on frame 25; ``arbitrate`` on frame 24). Prints the medians.
"""

from __future__ import annotations

import argparse
import functools
import os
import time

import cv2
import numpy as np

from inkpaint.paint.chain import compose_flows, merge_by_residual
from inkpaint.paint.colours import ColourTable, colours_from_image
from inkpaint.paint.propagate import METHOD_KEY, FrameColours, dense_flow, flow_image, propagate_colours
from inkpaint.paint.segments import segment_lines
from inkpaint.paint.structure import arbitrate, runner_up_votes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clip", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "basicpbc_demo",
                                                   "smoke_explosion"))
    ap.add_argument("--key", type=int, default=26)
    ap.add_argument("--step", type=int, default=-1, help="-1: frames key-1, key-2 (backward); 1: key+1, key+2")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    cv2.setNumThreads(1)

    digits = len(os.path.splitext(sorted(os.listdir(os.path.join(a.clip, "line")))[0])[0])

    def line(f: int) -> np.ndarray:
        img = cv2.cvtColor(cv2.imread(os.path.join(a.clip, "line", f"{f:0{digits}d}.png")), cv2.COLOR_BGR2RGB)
        return img.astype(np.float32) / 255.0

    k, f1, f2 = a.key, a.key + a.step, a.key + 2 * a.step
    segs = {f: segment_lines(line(f)) for f in (k, f1, f2)}
    table = ColourTable.create()
    gt = cv2.cvtColor(cv2.imread(os.path.join(a.clip, "gt", f"{k:0{digits}d}.png"), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGRA2RGBA)
    kidx = colours_from_image(segs[k], gt, table).index
    kcol = FrameColours(kidx.astype(np.int32), np.ones(len(kidx), np.float32), np.full(len(kidx), METHOD_KEY, np.uint8))
    n_colours = len(table.rgb)
    images = {f: flow_image(s) for f, s in segs.items()}
    times: dict[str, list[float]] = {"DIS flow": [], "classic vote": [], "structure, first step": [],
                                     "structure, chained step": []}

    def timed(name: str, fn: functools.partial) -> object:  # type: ignore[type-arg]
        t0 = time.process_time()
        out = fn()
        times[name].append(time.process_time() - t0)
        return out

    for _ in range(a.repeat):
        step1 = timed("DIS flow", functools.partial(dense_flow, images[f1], images[k]))
        vote1 = functools.partial(propagate_colours, target=segs[f1], n_colours=n_colours)
        c1 = timed("classic vote", functools.partial(vote1, segs[k], kcol, flow=step1))
        assert isinstance(c1, FrameColours)
        t0 = time.process_time()
        c1 = arbitrate(segs[f1], c1, [c1] + runner_up_votes(segs[f1], c1, segs[k], kcol, step1, n_colours), segs[k], kcol,
                       n_colours)
        times["structure, first step"].append(time.process_time() - t0)
        step2 = dense_flow(images[f2], images[f1])
        direct = dense_flow(images[f2], images[k])
        vote2 = functools.partial(propagate_colours, target=segs[f2], n_colours=n_colours)
        votes = [vote2(segs[f1], c1, flow=step2), vote2(segs[k], kcol, flow=direct),
                 vote2(segs[k], kcol, flow=compose_flows(step2, step1))]
        col = merge_by_residual(merge_by_residual(votes[0], votes[1], 0.05), votes[2], 0.05)
        t0 = time.process_time()
        arbitrate(segs[f2], col, votes, segs[k], kcol, n_colours)
        times["structure, chained step"].append(time.process_time() - t0)
    print(f"{a.clip}: frames {k} -> {f1} -> {f2}, {segs[f1].shape[1]}x{segs[f1].shape[0]}, "
          f"{segs[f1].n} / {segs[f2].n} segments, {n_colours} colours, load {os.getloadavg()[0]:.1f}")
    for name, v in times.items():
        print(f"  {name}: {np.median(v) * 1000:.0f} ms CPU (median of {len(v)})")


if __name__ == "__main__":
    main()
