#!/usr/bin/env python3
"""Throughput and peak memory of the classic roto backend through the real roto job (incl. plate read, EXR write).

A synthetic plate (textured background, one moving disc) is written as JPEG; the job tracks one object from a
frame-0 mask prompt, forward. ``fps`` runs at 854x480 and 1920x1080 in this process and prints wall-clock fps and
frames per CPU-second (the machine's load does not change the latter much); ``memory`` runs each clip
length in its own subprocess and prints peak RSS (``ru_maxrss``) and the ratio long/short.

    python bench/roto_classic_speed.py fps --frames 40
    python bench/roto_classic_speed.py memory --lengths 50 500
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "core"))


def make_clip(folder: Path, n: int, w: int, h: int) -> tuple[str, str]:
    """JPEG plate ``plate.%04d.jpg`` and a frame-0 mask PNG; returns (plate pattern, mask path)."""
    import cv2

    from inkpaint.io.frames import write_png

    folder.mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([0.4 + 0.2 * np.sin(xx / 23), 0.45 + 0.2 * np.cos(yy / 19), 0.35 + 0.15 * np.sin((xx + yy) / 37)], -1)
    r = 0.15 * h
    for i in range(n):
        cx = w * (0.3 + 0.4 * (0.5 + 0.5 * np.sin(i * 0.05)))
        cy = h * (0.5 + 0.1 * np.cos(i * 0.07))
        inside = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
        img = base.copy()
        img[inside] = (0.8, 0.3, 0.2)
        cv2.imwrite(str(folder / f"plate.{i:04d}.jpg"), np.clip(img[..., ::-1] * 255 + 0.5, 0, 255).astype(np.uint8),
                    [cv2.IMWRITE_JPEG_QUALITY, 92])
        if i == 0:
            write_png(str(folder / "mask.png"), (inside * 255).astype(np.uint8))
    return str(folder / "plate.%04d.jpg"), str(folder / "mask.png")


def run_clip(plate: str, mask: str, out: str) -> tuple[float, int, float]:
    """Run the roto job; returns (wall seconds, frames, CPU seconds of this process, all threads)."""
    from inkpaint.ops.base import run_job
    from inkpaint.ops.roto import Prompt, RotoJob, RotoObject
    from inkpaint.progress import RunContext

    job = RotoJob(input=plate, output=out, objects=[RotoObject("obj", [Prompt(frame=0, mask=mask)])], direction="forward")
    t0, c0 = time.perf_counter(), time.process_time()
    res = run_job(job, RunContext())
    return time.perf_counter() - t0, len(res.frames), time.process_time() - c0


def cmd_fps(args: argparse.Namespace) -> None:
    for size in args.sizes:
        w, h = (int(v) for v in size.split("x"))
        with tempfile.TemporaryDirectory() as tmp:
            plate, mask = make_clip(Path(tmp) / "clip", args.frames, w, h)
            secs, n, cpu = run_clip(plate, mask, str(Path(tmp) / "out" / "m.####.exr"))
            print(f"{w}x{h}: {n} frames in {secs:.2f} s = {n / secs:.2f} fps (one object, JPEG read + EXR write + contact "
                  f"sheet included); CPU {cpu:.2f} s = {n / cpu:.2f} frames per CPU-second (load {os.getloadavg()[0]:.1f})")


def cmd_memory(args: argparse.Namespace) -> None:
    peaks = {}
    for n in args.lengths:
        r = subprocess.run([sys.executable, __file__, "_one", "--frames", str(n), "--size", args.size], capture_output=True, text=True)
        if r.returncode:
            sys.exit(r.stderr)
        d = json.loads(r.stdout.strip().splitlines()[-1])
        peaks[n] = d["peak_mib"]
        print(f"{n:5d} frames: peak RSS {d['peak_mib']:.0f} MiB, {d['seconds']:.1f} s ({n / d['seconds']:.2f} fps)")
    lo, hi = min(peaks), max(peaks)
    print(f"peak RSS ratio {hi}/{lo} frames: {peaks[hi] / peaks[lo]:.3f}")


def cmd_one(args: argparse.Namespace) -> None:
    w, h = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        plate, mask = make_clip(Path(tmp) / "clip", args.frames, w, h)
        secs, n, _ = run_clip(plate, mask, str(Path(tmp) / "out" / "m.####.exr"))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"frames": n, "seconds": secs, "peak_mib": peak}))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("fps")
    p.add_argument("--frames", type=int, default=40)
    p.add_argument("--sizes", nargs="+", default=["854x480", "1920x1080"])
    p.set_defaults(fn=cmd_fps)
    p = sub.add_parser("memory")
    p.add_argument("--lengths", type=int, nargs="+", default=[50, 500])
    p.add_argument("--size", default="854x480")
    p.set_defaults(fn=cmd_memory)
    p = sub.add_parser("_one")
    p.add_argument("--frames", type=int, required=True)
    p.add_argument("--size", default="854x480")
    p.set_defaults(fn=cmd_one)
    args = ap.parse_args()
    args.fn(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
