"""Benchmark: ink + shade + finish at 1920x1080 with 6 parts, inkpaint vs seed 000's "paper way".

    /work/main/.venv/bin/python bench/cel_bench.py [--frames 24] [--size 1920x1080] [--parts 6] [--work DIR]

A shaded 6-part character moving over the frames is written first (plate: RGB half EXR; mattes: roto layout,
``<part>.A`` + ``A``, half EXR, zip) - not timed. Then, side by side in one process:

- **inkpaint, compute only**: per frame from in-memory arrays: mattes -> label image, L*, tones with the shot's
  model (fitted once, its time reported and amortised), ink lines, flat cel over ink. Vectorised over a label image.
- **inkpaint, with EXR I/O**: the same, reading plate + mattes EXRs and writing the ink, tone and cel EXRs per
  frame (what ``inkpaint ink``, ``shade`` and ``finish`` write), reads of the next frame overlapped with the
  current frame's work in a thread.
- **inkpaint jobs**: the three operations run as jobs one after another (each reading its own inputs).
- **paper way**: per frame, ``cv2.kmeans(k=2)`` on L* of each part + ``cv2.Canny`` on each part mask + painting,
  compute only and with the same I/O.

Prints fps for each and the ratios.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "core"))

from inkpaint.cel.ink import draw_ink  # noqa: E402
from inkpaint.cel.labels import mattes_to_labels  # noqa: E402
from inkpaint.cel.paint import srgb_to_linear  # noqa: E402
from inkpaint.cel.tones import assign_tones  # noqa: E402
from inkpaint.io.frames import write_exr  # noqa: E402
from inkpaint.ops.base import run_job  # noqa: E402
from inkpaint.ops.finish import FinishJob, render_cel  # noqa: E402
from inkpaint.ops.ink import InkJob, MatteSource  # noqa: E402
from inkpaint.ops.shade import PlateSource, ShadeJob, fit_shot, frame_lightness  # noqa: E402
from inkpaint.palette import Palette, PaletteEntry, save_palette  # noqa: E402
from inkpaint.progress import RunContext  # noqa: E402
from inkpaint.spec import ColorSettings  # noqa: E402

PARTS = ["hair", "face", "torso", "arm_l", "arm_r", "legs", "shoes", "hat"]


def make_scene(folder: Path, frames: int, size: tuple[int, int], n_parts: int) -> dict[str, str]:
    """Write the plate and matte sequences (frames 1..N) and a palette. Returns the patterns."""
    w, h = size
    names = PARTS[:n_parts]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    rng = np.random.default_rng(0)
    albedo = rng.uniform(0.15, 0.8, (n_parts, 3)).astype(np.float32)
    (folder / "plate").mkdir(parents=True, exist_ok=True)
    (folder / "roto").mkdir(parents=True, exist_ok=True)
    for f in range(1, frames + 1):
        cx, cy = w * (0.35 + 0.3 * f / frames), h * 0.5
        # a stack of ellipses (one per part) making up a figure about 45 % of the frame high
        mattes = []
        taken = np.zeros((h, w), bool)
        for i in range(n_parts):
            ox = cx + (i % 3 - 1) * w * 0.06
            oy = cy + (i // 3 - 0.5) * h * 0.22
            rx, ry = w * 0.05, h * 0.12
            m = ((xx - ox) / rx) ** 2 + ((yy - oy) / ry) ** 2 < 1
            m &= ~taken
            taken |= m
            mattes.append(m.astype(np.float32))
        # Lambert-ish shading from a light at the upper left, with a hard terminator (shadow) and sky fill
        shade = np.clip(0.5 + 0.5 * ((cx - xx) / (w * 0.1) + (cy - yy) / (h * 0.3)), 0, 1)
        light = np.where(shade > 0.35, 0.35 + 0.65 * shade, 0.12)
        plate = np.full((h, w, 3), 0.05, np.float32)
        for i, m in enumerate(mattes):
            plate = np.where(m[..., None] > 0, albedo[i] * light[..., None], plate)
        plate += rng.normal(0, 0.003, plate.shape).astype(np.float32)
        write_exr(str(folder / "plate" / f"shot.{f:04d}.exr"), {c: plate[..., k] for k, c in enumerate("RGB")})
        ch = {f"{n}.A": m for n, m in zip(names, mattes)}
        ch["A"] = taken.astype(np.float32)
        write_exr(str(folder / "roto" / f"shot.{f:04d}.exr"), ch, metadata={"inkpaint:objects": ",".join(names)})
    pal = Palette({n: PaletteEntry(n, tuple(int(v) for v in rng.integers(80, 255, 3)), tuple(int(v) for v in rng.integers(0, 80, 3))) for n in names})  # type: ignore[misc]
    save_palette(pal, folder / "palette.yml")
    return {"plate": str(folder / "plate" / "shot.####.exr"), "mattes": str(folder / "roto" / "shot.####.exr"), "palette": str(folder / "palette.yml")}


# ----------------------------------------------------------------------------------------------------------------


def inkpaint_frame(mattes: list[np.ndarray], rgb: np.ndarray, model, tables, palette: Palette, names: list[str], lut: np.ndarray):  # type: ignore[no-untyped-def]
    labels = mattes_to_labels(mattes)
    tone = assign_tones(labels, frame_lightness(rgb, labels), model, tables)
    ink = draw_ink(labels, 2.0)
    cel = render_cel(labels, tone, ink.alpha, palette, names, linear=True, lut=lut)
    return labels, tone, ink, cel


def paper_frame(mattes: list[np.ndarray], rgb: np.ndarray, lut: np.ndarray):  # type: ignore[no-untyped-def]
    """Seed 000: per part, per frame k-means (k=2) on L*, Canny on the part mask, then paint."""
    lstar = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)[..., 0]
    h, w = lstar.shape
    tone = np.zeros((h, w), np.uint8)
    lines = np.zeros((h, w), bool)
    labels = np.zeros((h, w), np.uint8)
    crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 1.0)
    for i, m in enumerate(mattes, start=1):
        mask = m > 0.5
        labels[mask] = i
        v = lstar[mask].reshape(-1, 1)
        if len(v) >= 2:
            _, lab, cen = cv2.kmeans(v, 2, None, crit, 1, cv2.KMEANS_PP_CENTERS)
            tone[mask] = np.where(lab[:, 0] == int(np.argmax(cen[:, 0])), 1, 2)
        lines |= cv2.Canny((mask * 255).astype(np.uint8), 100, 200) > 0
    colour = lut.reshape(-1, 3)[labels.astype(np.intp) * 5 + tone]
    colour[lines] = 0
    return labels, tone, lines, colour


def write_outputs(folder: Path, f: int, tone: np.ndarray, ink_alpha: np.ndarray, ink_hard: np.ndarray, comp: np.ndarray, colour: np.ndarray) -> None:
    write_exr(str(folder / "ink" / f"shot.{f:04d}.exr"), {"ink.A": ink_alpha, "ink_hard.A": ink_hard.astype(np.float32)})
    write_exr(str(folder / "tone" / f"shot.{f:04d}.exr"), {"tone": tone.astype(np.float32)})
    write_exr(
        str(folder / "cel" / f"shot.{f:04d}.exr"),
        {"R": comp[..., 0], "G": comp[..., 1], "B": comp[..., 2], "A": comp[..., 3],
         "colour.R": colour[..., 0], "colour.G": colour[..., 1], "colour.B": colour[..., 2], "colour.A": colour[..., 3]},
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--parts", type=int, default=6)
    ap.add_argument("--work", help="work folder (default: a temporary one, removed after)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.lower().split("x"))
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="inkpaint-cel-bench-"))
    try:
        t = time.perf_counter()
        s = make_scene(work / "in", args.frames, (w, h), args.parts)
        print(f"scene: {args.frames} frames {w}x{h}, {args.parts} parts, written in {time.perf_counter() - t:.1f}s", file=sys.stderr)
        frames = list(range(1, args.frames + 1))
        color = ColorSettings()
        msrc = MatteSource(s["mattes"], frames)
        plate = PlateSource(s["plate"], color, msrc)
        names = msrc.names
        from inkpaint.palette import load_palette

        palette = load_palette(s["palette"])
        lut_u8 = palette.tone_lut(names)
        lut = srgb_to_linear(lut_u8)

        class Opts:
            fit_frames = None
            fit_samples = 12
            tones = 2
            parts: dict = {}
            hysteresis = 0.04
            min_region = 24
            highlight_sigma = 3.5

        t = time.perf_counter()
        model = fit_shot(Opts, plate, msrc, frames, RunContext())
        fit_s = time.perf_counter() - t
        tables = model.tables()

        # in-memory inputs for the compute-only runs
        inputs = [(msrc.mattes(f), plate.rgb(f)) for f in frames]
        res: dict[str, float] = {"fit_seconds": fit_s}

        t = time.perf_counter()
        for m, rgb in inputs:
            inkpaint_frame(m, rgb, model, tables, palette, names, lut)
        res["inkpaint_compute_fps"] = len(frames) / (time.perf_counter() - t)
        t = time.perf_counter()
        for m, rgb in inputs:
            paper_frame(m, rgb, lut_u8)
        res["paper_compute_fps"] = len(frames) / (time.perf_counter() - t)
        del inputs

        for sub in ("ink", "tone", "cel"):
            (work / "io" / sub).mkdir(parents=True, exist_ok=True)
            (work / "io_paper" / sub).mkdir(parents=True, exist_ok=True)

        def read(f: int) -> tuple[list[np.ndarray], np.ndarray]:
            return msrc.mattes(f), plate.rgb(f)

        t = time.perf_counter()
        with cf.ThreadPoolExecutor(max_workers=2) as pool:
            nxt = pool.submit(read, frames[0])
            pending: cf.Future | None = None  # type: ignore[type-arg]
            for i, f in enumerate(frames):
                m, rgb = nxt.result()
                if i + 1 < len(frames):
                    nxt = pool.submit(read, frames[i + 1])
                labels, tone, ink, cel = inkpaint_frame(m, rgb, model, tables, palette, names, lut)
                if pending is not None:
                    pending.result()
                pending = pool.submit(write_outputs, work / "io", f, tone, ink.alpha, ink.hard, cel.composite, cel.colour)
            if pending is not None:
                pending.result()
        res["inkpaint_io_fps"] = len(frames) / (time.perf_counter() - t)

        t = time.perf_counter()
        for f in frames:
            m, rgb = read(f)
            labels, tone, lines, colour = paper_frame(m, rgb, lut_u8)
            col = srgb_to_linear(colour)
            rgba = np.concatenate([col, (labels > 0)[..., None].astype(np.float32)], axis=2)
            write_outputs(work / "io_paper", f, tone, lines.astype(np.float32), lines, rgba, rgba)
        res["paper_io_fps"] = len(frames) / (time.perf_counter() - t)

        jobs_dir = work / "jobs"
        t = time.perf_counter()
        run_job(ShadeJob(input=s["plate"], mattes=s["mattes"], output=str(jobs_dir / "tone" / "shot.####.exr")))
        run_job(InkJob(mattes=s["mattes"], output=str(jobs_dir / "ink" / "shot.####.exr")))
        run_job(FinishJob(mattes=s["mattes"], palette=s["palette"], output=str(jobs_dir / "cel" / "shot.####.exr"),
                          tones=str(jobs_dir / "tone" / "shot.####.exr"), ink=str(jobs_dir / "ink" / "shot.####.exr")))
        res["inkpaint_jobs_fps"] = len(frames) / (time.perf_counter() - t)

        res["ratio_compute"] = res["inkpaint_compute_fps"] / res["paper_compute_fps"]
        res["ratio_io"] = res["inkpaint_io_fps"] / res["paper_io_fps"]
        res["inkpaint_compute_fps_incl_fit"] = len(frames) / (len(frames) / res["inkpaint_compute_fps"] + fit_s)
        if args.json:
            print(json.dumps(res, indent=2))
        else:
            print(f"{w}x{h}, {args.parts} parts, {len(frames)} frames, {os.cpu_count()} CPUs")
            print(f"  tone model fit (once per shot, 12 sampled frames incl. their reads): {fit_s:.2f} s")
            print(f"  inkpaint  compute only : {res['inkpaint_compute_fps']:7.1f} fps  (incl. the fit: {res['inkpaint_compute_fps_incl_fit']:.1f})")
            print(f"  paper way compute only : {res['paper_compute_fps']:7.1f} fps  -> inkpaint {res['ratio_compute']:.1f}x")
            print(f"  inkpaint  with EXR I/O : {res['inkpaint_io_fps']:7.1f} fps  (fused, reads overlapped)")
            print(f"  paper way with EXR I/O : {res['paper_io_fps']:7.1f} fps  -> inkpaint {res['ratio_io']:.1f}x")
            print(f"  inkpaint shade+ink+finish as three jobs: {res['inkpaint_jobs_fps']:.1f} fps")
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
