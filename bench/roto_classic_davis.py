#!/usr/bin/env python3
"""The classic roto backend on DAVIS-2016 (semi-supervised protocol), with two baselines in the same run.

Each sequence runs the real roto job (``RotoJob`` + ``run_job``: JPEG plate through OIIO/OCIO, EXR mattes written
and read back) with the ``classic`` backend, forward from frame 0, prompted by

- ``mask``: the frame-0 ground-truth mask (a mask prompt file), and
- ``clicks``: a box (the mask's bounding box) plus three positive points derived from the frame-0 mask (interior
  points spread apart: each maximises min(distance to the mask edge, distance to the points already chosen)).

Baselines, scored on the same frames: ``static`` (the frame-0 mask on every frame) and ``dis_warp`` (the mask warped
frame to frame with OpenCV DIS flow, preset medium, no refinement). Scores are DAVIS J, F and J&F
(``inkpaint.metrics.roto``; first and last frames excluded), per sequence and mean over sequences.

    python bench/roto_classic_davis.py                      # all sequences, both prompts, both baselines
    python bench/roto_classic_davis.py --jobs 2 --sequences dog,libby --modes mask
    python bench/roto_classic_davis.py --backend-options '{"band": 16}' --json scores.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "core"))

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "davis2016"
MODES = ("mask", "clicks", "static", "dis_warp")


def click_prompts(mask: np.ndarray, n_points: int = 3) -> tuple[list[float], list[list[float]]]:
    """A box and ``n_points`` positive points derived from a mask (what a user would click).

    Returns:
        ``([x0, y0, x1, y1], [[x, y, 1], ...])`` in pixels, top-left origin.
    """
    import cv2

    ys, xs = np.nonzero(mask)
    box = [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)]
    inside = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5)
    score = inside.copy()
    points: list[list[float]] = []
    for _ in range(n_points):
        y, x = np.unravel_index(int(np.argmax(score)), score.shape)
        points.append([float(x), float(y), 1.0])
        seed = np.ones(mask.shape, np.uint8)
        seed[y, x] = 0
        away = cv2.distanceTransform(seed, cv2.DIST_L2, 5)
        score = np.minimum(score, away)
    return box, points


def _gt_path(data: Path, seq: str, frame: int) -> str:
    return str(data / "Annotations" / "480p" / seq / f"{frame:05d}.png")


def run_roto(data: Path, seq: str, mode: str, work: Path, options: dict[str, Any]) -> tuple[str, float, int]:
    """Run the roto job on one sequence; returns (output pattern, seconds, frames)."""
    from inkpaint.metrics.roto import read_gt_mask
    from inkpaint.ops.base import run_job
    from inkpaint.ops.roto import Prompt, RotoJob, RotoObject
    from inkpaint.progress import RunContext

    plate = str(data / "JPEGImages" / "480p" / seq / "%05d.jpg")
    if mode == "mask":
        prompts = [Prompt(frame=0, mask=_gt_path(data, seq, 0))]
    else:
        box, points = click_prompts(read_gt_mask(_gt_path(data, seq, 0)))
        prompts = [Prompt(frame=0, box=tuple(box), points=[tuple(p) for p in points])]  # type: ignore[arg-type, misc]
    out = str(work / seq / mode / "matte.####.exr")
    job = RotoJob(input=plate, output=out, objects=[RotoObject("fg", prompts)], backend="classic",
                  backend_options=dict(options), direction="forward")
    t0 = time.perf_counter()
    result = run_job(job, RunContext())
    return out, time.perf_counter() - t0, len(getattr(result, "frames", []) or [])


def baseline_masks(data: Path, seq: str, mode: str) -> dict[int, np.ndarray]:
    """Predicted masks of a baseline for every frame of a sequence."""
    import cv2

    from inkpaint.metrics.roto import read_gt_mask

    frames = sorted(int(p.stem) for p in (data / "JPEGImages" / "480p" / seq).glob("*.jpg"))
    m0 = read_gt_mask(_gt_path(data, seq, frames[0]))
    if mode == "static":
        return {f: m0 for f in frames}
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    out = {frames[0]: m0}
    prev = cv2.imread(str(data / "JPEGImages" / "480p" / seq / f"{frames[0]:05d}.jpg"), cv2.IMREAD_GRAYSCALE)
    h, w = prev.shape
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    m = m0
    for f in frames[1:]:
        cur = cv2.imread(str(data / "JPEGImages" / "480p" / seq / f"{f:05d}.jpg"), cv2.IMREAD_GRAYSCALE)
        flow = dis.calc(cur, prev, None)  # cur -> prev: sample the previous mask at x + flow
        m = cv2.remap(m.astype(np.float32), gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR) > 0.5
        out[f] = m
        prev = cur
    return out


def score_sequence(args: tuple[str, str, str, str, dict[str, Any]]) -> dict[str, Any]:
    """Worker: one (sequence, mode). Returns J, F, J&F, seconds and frames."""
    data_s, seq, mode, work_s, options = args
    data, work = Path(data_s), Path(work_s)
    import cv2

    cv2.setNumThreads(1)
    from inkpaint.metrics.roto import evaluate_sequence, read_gt_mask, score_masks, scored_frames

    gt = str(data / "Annotations" / "480p" / seq / "%05d.png")
    t0 = time.perf_counter()
    if mode in ("mask", "clicks"):
        out, secs, _ = run_roto(data, seq, mode, work, options)
        s = evaluate_sequence(out.replace("####", "####"), gt, channel="A", name=seq)
    else:
        masks = baseline_masks(data, seq, mode)
        secs = time.perf_counter() - t0
        keep = scored_frames(list(masks))
        s = score_masks(((f, masks[f], read_gt_mask(_gt_path(data, seq, f))) for f in keep), seq)
    n = len(list((data / "JPEGImages" / "480p" / seq).glob("*.jpg")))
    return {"sequence": seq, "mode": mode, "J": s.j_mean, "F": s.f_mean, "J&F": s.jf, "FP": s.fp_mean, "seconds": secs,
            "frames": n, "per_frame_J": s.j, "per_frame_F": s.f, "per_frame_FP": s.fp}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA), help="DAVIS-2016 root (JPEGImages/480p, Annotations/480p)")
    ap.add_argument("--sequences", help="comma-separated sequence names (default: every folder in Annotations/480p)")
    ap.add_argument("--modes", default=",".join(MODES), help=f"comma-separated subset of {','.join(MODES)}")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel worker processes (default: cores)")
    ap.add_argument("--backend-options", default="{}", help="JSON object of classic backend options")
    ap.add_argument("--out-dir", help="keep the mattes here (default: a temporary folder, deleted)")
    ap.add_argument("--json", help="also write all scores (with per-frame J/F) to this file")
    args = ap.parse_args()

    data = Path(args.data)
    seqs = [s for s in (args.sequences or "").split(",") if s] or sorted(p.name for p in (data / "Annotations" / "480p").iterdir() if p.is_dir())
    modes = [m for m in args.modes.split(",") if m]
    bad = [m for m in modes if m not in MODES]
    if bad:
        ap.error(f"unknown mode {bad[0]!r}; known: {', '.join(MODES)}")
    options = json.loads(args.backend_options)
    tmp = None if args.out_dir else tempfile.TemporaryDirectory(prefix="inkpaint-davis-")
    work = Path(args.out_dir or tmp.name)  # type: ignore[union-attr]
    # Longest jobs first so the pool finishes together.
    tasks = [(str(data), s, m, str(work), options) for m in modes for s in seqs]
    tasks.sort(key=lambda t: (t[2] in ("static", "dis_warp"), -len(list((data / "JPEGImages" / "480p" / t[1]).glob("*.jpg")))))
    t0 = time.perf_counter()
    if args.jobs > 1:
        with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
            rows = pool.map(score_sequence, tasks, chunksize=1)
    else:
        rows = [score_sequence(t) for t in tasks]
    wall = time.perf_counter() - t0
    if tmp is not None:
        tmp.cleanup()

    print(f"DAVIS-2016 480p, {len(seqs)} sequences, classic options {json.dumps(options)}; J/F/J&F (first and last frames not scored)")
    print(f"{'sequence':<16}" + "".join(f"  {m + ' J':>11} {'F':>6} {'J&F':>6} {'FP':>5}" for m in modes))
    by = {(r["sequence"], r["mode"]): r for r in rows}
    for s in seqs:
        print(f"{s:<16}" + "".join(f"  {by[s, m]['J']:11.3f} {by[s, m]['F']:6.3f} {by[s, m]['J&F']:6.3f} {by[s, m]['FP']:5.2f}" for m in modes))
    means = {m: {k: float(np.mean([by[s, m][k] for s in seqs])) for k in ("J", "F", "J&F", "FP")} for m in modes}
    print(f"{'mean':<16}" + "".join(f"  {means[m]['J']:11.3f} {means[m]['F']:6.3f} {means[m]['J&F']:6.3f} {means[m]['FP']:5.2f}" for m in modes))
    for m in modes:
        low = [s for s in seqs if by[s, m]["J&F"] < 0.40]
        print(f"{m}: min J&F {min(by[s, m]['J&F'] for s in seqs):.3f}" + (f"; below 0.40: {', '.join(low)}" if low else ""))
    for m in modes:
        if m in ("mask", "clicks"):
            secs = sum(by[s, m]["seconds"] for s in seqs)
            frames = sum(by[s, m]["frames"] for s in seqs)
            print(f"roto job ({m}): {frames} frames in {secs:.1f} s of worker time = {frames / secs:.2f} fps per process (incl. JPEG read, EXR write)")
    print(f"wall time {wall:.1f} s with {args.jobs} worker process(es)")
    if args.json:
        Path(args.json).write_text(json.dumps({"options": options, "rows": rows, "means": means, "wall_s": wall}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
