"""Benchmark: EXR pixels through OpenEXR's own codec (``inkpaint.io.exr``) vs OpenImageIO's EXR plugin.

    /work/main/.venv/bin/python bench/exr_codec.py [--repeat 12] [--size 1920x1080]

The files are the ones the cel pass reads and writes per frame, at 1080p: a full-frame RGB half plate (zip) read
for the characters' bounding-box rows (~47 % of the frame); bounding-box mattes (6 parts + ``A``, half, zip) read
whole; and a 10-channel cel layer EXR (composite, colour, ink, tone; half, zip) written for that box. Each is run
through ``inkpaint.io.frames.read_image`` / ``write_exr`` with ``INKPAINT_EXR_CODEC=openexr`` and ``=oiio``,
side by side in one process, and timed as process CPU (every thread of the codecs counts) and wall time.
Prints milliseconds per file, ns per channel value, and the OIIO / OpenEXR ratio.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "core"))

from inkpaint.io import exr  # noqa: E402
from inkpaint.io.frames import Window, read_image, write_exr  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=12)
    ap.add_argument("--size", default="1920x1080")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.lower().split("x"))
    rng = np.random.default_rng(0)
    box = Window(int(w * 0.25), int(h * 0.27), int(w * 0.22), int(h * 0.47))
    with tempfile.TemporaryDirectory(prefix="inkpaint-exr-bench-") as tmp:
        plate = os.path.join(tmp, "plate.exr")
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        grad = (xx / w + yy / h) * 0.5
        write_exr(plate, {c: (grad * k + rng.normal(0, 0.003, (h, w))).astype(np.float32) for k, c in zip((0.9, 0.6, 0.3), "RGB")})
        mattes = os.path.join(tmp, "mattes.exr")
        bh, bw = box.height, box.width
        cy, cx = np.mgrid[0:bh, 0:bw]
        parts = {f"part{i}.A": (((cx - bw * (0.2 + 0.12 * i)) / (bw * 0.12)) ** 2 + ((cy - bh / 2) / (bh * 0.4)) ** 2 < 1).astype(np.float32) for i in range(6)}
        parts["A"] = np.clip(sum(parts.values()), 0, 1)  # type: ignore[arg-type]
        write_exr(mattes, parts, window=box, size=(w, h))
        flat = np.repeat(rng.uniform(0, 1, (bh, 1)), bw, axis=1).astype(np.float32)
        cel = {n: flat for n in ("R", "G", "B", "A", "colour.R", "colour.G", "colour.B", "colour.A", "ink.A", "tone")}
        rows = Window(0, box.y, w, box.height)
        cases = [
            ("read plate rows (RGB)", lambda: read_image(plate, window=rows, channels=["R", "G", "B"]), 3 * rows.width * rows.height),
            ("read bbox mattes (7 ch)", lambda: read_image(mattes, window="data"), 7 * bw * bh),
            ("write cel layers (10 ch)", lambda: write_exr(os.path.join(tmp, "cel.exr"), cel, window=box, size=(w, h)), 10 * bw * bh),
        ]
        print(f"{w}x{h}, box {bw}x{bh}, {args.repeat} repeats, {os.cpu_count()} CPUs")
        for label, fn, values in cases:
            res = {}
            for codec in ("openexr", "oiio"):
                os.environ[exr.CODEC_ENV] = codec
                fn()
                c0, t0 = time.process_time(), time.perf_counter()
                for _ in range(args.repeat):
                    fn()
                res[codec] = ((time.process_time() - c0) / args.repeat, (time.perf_counter() - t0) / args.repeat)
            o, i = res["openexr"], res["oiio"]
            print(f"  {label:26s} OpenEXR {o[0] * 1e3:6.2f} ms CPU ({o[0] / values * 1e9:4.1f} ns/value), wall {o[1] * 1e3:6.2f}"
                  f" | OIIO {i[0] * 1e3:6.2f} ms CPU ({i[0] / values * 1e9:4.1f} ns/value), wall {i[1] * 1e3:6.2f}"
                  f" | OIIO/OpenEXR CPU {i[0] / o[0]:.2f}x")
        os.environ.pop(exr.CODEC_ENV, None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
