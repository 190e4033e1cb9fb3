"""Benchmark: what the issue-19 write checks cost per frame of the cel pass.

    /work/main/.venv/bin/python bench/write_checks.py [--rounds 60]

1. ``frame_is_complete`` on the files the cel pass writes (1080p frame, 700x800 data window, half, zip; plus an
   OIIO ``dwaa:45`` EXR and a 1080p RGBA PNG of noise, the worst case for the PNG CRC walk): median of 30 calls.
2. Paired A/B in one process: the pass's three EXR writes per frame (tone 1 channel, ink 2, cel 10) with the checks
   on, and with ``frame_is_complete`` stubbed out, alternating every round so that load on a shared machine hits
   both alike. Prints the medians and the median of the per-round differences.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "core"))

import inkpaint.io.frames as frames  # noqa: E402
from inkpaint.io.frames import Window, write_exr, write_png  # noqa: E402
from inkpaint.io.verify import FrameCheck, frame_is_complete  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=60)
    args = ap.parse_args()
    d = tempfile.mkdtemp(prefix="inkpaint-write-checks-")
    rng = np.random.default_rng(0)
    win = Window(600, 200, 700, 800)
    h, w = win.height, win.width
    mask = np.zeros((h, w), np.float16)
    mask[100:700, 100:600] = 1
    names = ("R", "G", "B", "A", "ink.A", "colour.R", "colour.G", "colour.B", "tone.Y", "x.A")
    cel = {c: (mask * rng.random((h, w)).round(1)).astype(np.float16) for c in names}
    tone = {"tone": (mask * 2).astype(np.float16)}
    ink = {"ink.A": mask, "ink_hard.A": mask}

    files = {}
    p = os.path.join(d, "cel.exr")
    write_exr(p, cel, window=win, size=(1920, 1080))
    files["cel EXR, 10 ch half zip, bbox"] = p
    p = os.path.join(d, "ink.exr")
    write_exr(p, ink, window=win, size=(1920, 1080))
    files["ink EXR, 2 ch"] = p
    p = os.path.join(d, "oiio.exr")
    write_exr(p, cel, window=win, size=(1920, 1080), compression="dwaa:45")
    files["cel EXR, dwaa:45 (OIIO)"] = p
    p = os.path.join(d, "noise.png")
    write_png(p, (rng.random((1080, 1920, 4)) * 255).astype(np.uint8))
    files["1080p RGBA PNG of noise"] = p
    for name, p in files.items():
        t = []
        for _ in range(30):
            t0 = time.perf_counter()
            assert frame_is_complete(p)
            t.append(time.perf_counter() - t0)
        print(f"frame_is_complete, {name} ({os.path.getsize(p) / 1e6:.2f} MB): {statistics.median(t) * 1e3:.3f} ms")

    def frame(i: int) -> float:
        t0 = time.perf_counter()
        write_exr(os.path.join(d, f"tone.{i % 4}.exr"), tone, window=win, size=(1920, 1080))
        write_exr(os.path.join(d, f"ink.{i % 4}.exr"), ink, window=win, size=(1920, 1080))
        write_exr(os.path.join(d, f"cel.{i % 4}.exr"), cel, window=win, size=(1920, 1080))
        return time.perf_counter() - t0

    on: list[float] = []
    off: list[float] = []
    ok = FrameCheck(True)
    for i in range(args.rounds):
        frames.frame_is_complete = frame_is_complete  # type: ignore[assignment]
        on.append(frame(i))
        frames.frame_is_complete = lambda p: ok  # type: ignore[assignment]
        off.append(frame(i))
    frames.frame_is_complete = frame_is_complete  # type: ignore[assignment]
    m_on, m_off = statistics.median(on) * 1e3, statistics.median(off) * 1e3
    paired = statistics.median([a - b for a, b in zip(on, off)]) * 1e3
    print(f"3 EXR writes per frame: checks on {m_on:.2f} ms, off {m_off:.2f} ms (median of per-round differences "
          f"{paired:+.2f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
