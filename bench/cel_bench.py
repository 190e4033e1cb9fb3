"""Benchmark: ink + shade + finish at 1920x1080 with 6 parts, inkpaint vs seed 000's "paper way".

    /work/main/.venv/bin/python bench/cel_bench.py [--frames 24] [--size 1920x1080] [--parts 6] [--work DIR]

A shaded 6-part character moving over the frames is written first, not timed: the plate as a full-frame RGB half
EXR (zip), the mattes as inkpaint's roto writes them (``<part>.A`` + ``A``, half, zip, the characters' bounding
box as the EXR data window, as Nuke writes a bbox). Then, side by side in one process:

- **inkpaint cel job** (the product path): ``inkpaint cel PLATE --mattes ... --palette ...`` run in-process: per
  frame the mattes' data window and the plate's bounding-box rows are read (up to two frames ahead, in a thread), tones,
  lines and the cel computed, and the tone, ink and cel EXRs written (writer thread). Reported as the per-frame
  pass (from the job's own progress events) and as the whole job including the once-per-shot tone fit.
- **inkpaint compute only**: the same per-frame work on arrays already in memory.
- **inkpaint as three jobs**: ``shade``, ``ink``, ``finish`` one after another, each reading its inputs from files.
- **paper way**: per frame, ``cv2.kmeans(k=2)`` on L* of each part + ``cv2.Canny`` on each part mask + painting,
  on full frames; compute only, and with the same readers and writers (mattes pasted into full frames, the plate
  read whole, outputs written as bounding-box EXRs like inkpaint's).

Prints fps for each and the ratios.
"""

from __future__ import annotations

import argparse
import dataclasses
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

from inkpaint.cel.labels import bounding_box  # noqa: E402
from inkpaint.cel.paint import srgb_to_linear  # noqa: E402
from inkpaint.io.frames import Window, write_exr  # noqa: E402
from inkpaint.ops.base import run_job  # noqa: E402
from inkpaint.ops.cel import CelJob  # noqa: E402
from inkpaint.ops.finish import FinishJob, FinishStage, finish_frame  # noqa: E402
from inkpaint.ops.ink import InkJob, InkStage  # noqa: E402
from inkpaint.ops.sources import PartLabels  # noqa: E402
from inkpaint.ops.shade import ShadeJob, ShadeStage  # noqa: E402
from inkpaint.palette import Palette, PaletteEntry, save_palette  # noqa: E402
from inkpaint.progress import ProgressEvent, RunContext  # noqa: E402

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
        win = Window.from_slices(bounding_box(taken))  # as the roto op writes them
        write_exr(str(folder / "roto" / f"shot.{f:04d}.exr"), {k: v[win.slices] for k, v in ch.items()},
                  metadata={"inkpaint:objects": ",".join(names)}, window=win, size=(w, h))
    pal = Palette({n: PaletteEntry(n, tuple(int(v) for v in rng.integers(80, 255, 3)), tuple(int(v) for v in rng.integers(0, 80, 3))) for n in names})  # type: ignore[misc]
    save_palette(pal, folder / "palette.yml")
    return {"plate": str(folder / "plate" / "shot.####.exr"), "mattes": str(folder / "roto" / "shot.####.exr"), "palette": str(folder / "palette.yml")}


# ----------------------------------------------------------------------------------------------------------------


def inkpaint_frame(parts: PartLabels, rgb: np.ndarray, shade: ShadeStage, ink: InkStage, finish: FinishStage):  # type: ignore[no-untyped-def]
    """What the cel job computes per frame (no I/O): tones, lines, the cel, on the parts' window."""
    tone = shade.tones(0, parts, rgb)
    lines = ink.draw(parts, None)
    cel, window = finish_frame(parts, tone, lines.alpha, finish.palette, finish.mattes.names, linear=True, lut=finish.lut)
    return tone, lines, cel, window


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
    """The paper way's outputs, written like inkpaint's: the bounding box of what is drawn as the data window."""
    h, w = tone.shape
    box = bounding_box((tone > 0) | (ink_alpha > 0))
    win = Window.from_slices(box) if box is not None else Window(0, 0, 0, 0)
    sl = win.slices
    kw = {"window": win, "size": (w, h)}
    write_exr(str(folder / "ink" / f"shot.{f:04d}.exr"), {"ink.A": ink_alpha[sl], "ink_hard.A": ink_hard[sl].astype(np.float32)}, **kw)
    write_exr(str(folder / "tone" / f"shot.{f:04d}.exr"), {"tone": tone[sl].astype(np.float32)}, **kw)
    c, k = comp[sl], colour[sl]
    write_exr(
        str(folder / "cel" / f"shot.{f:04d}.exr"),
        {"R": c[..., 0], "G": c[..., 1], "B": c[..., 2], "A": c[..., 3],
         "colour.R": k[..., 0], "colour.G": k[..., 1], "colour.B": k[..., 2], "colour.A": k[..., 3]}, **kw,
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--parts", type=int, default=6)
    ap.add_argument("--work", help="work folder (default: a temporary one, removed after)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    try:  # the `inkpaint` command tunes glibc for frame loops in its own process; this process stands for it
        from inkpaint.allocator import tune_allocator
    except ImportError:  # trees before inkpaint/allocator.py (A/B against older commits)
        pass
    else:
        tune_allocator()
    w, h = (int(v) for v in args.size.lower().split("x"))
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="inkpaint-cel-bench-"))
    try:
        t = time.perf_counter()
        s = make_scene(work / "in", args.frames, (w, h), args.parts)
        print(f"scene: {args.frames} frames {w}x{h}, {args.parts} parts, written in {time.perf_counter() - t:.1f}s", file=sys.stderr)
        frames = list(range(1, args.frames + 1))
        res: dict[str, float] = {}

        # 1. the product: the cel job from existing mattes (fused shade + ink + finish), timed by its own events
        marks: list[tuple[float, str, int, float]] = []

        def on_event(ev: ProgressEvent) -> None:
            marks.append((time.perf_counter(), ev.stage, ev.done, time.process_time()))

        # the contact sheet (on by default in the product) is timed on its own below
        job = CelJob(input=s["plate"], objects=[], mattes=s["mattes"], palette=s["palette"], out_dir=str(work / "job"), contact_sheet=False)
        t, c = time.perf_counter(), time.process_time()
        run_job(job, RunContext(on_event))
        res["cel_job_seconds"] = time.perf_counter() - t
        res["cel_job_cpu_ms_per_frame"] = 1000 * (time.process_time() - c) / len(frames)
        loop = [m for m in marks if m[1] == "shade+ink+finish"]
        res["inkpaint_io_fps"] = len(frames) / (loop[-1][0] - loop[0][0])
        # CPU time of the process (all threads) per frame: what other load on the machine changes least
        res["pass_cpu_ms_per_frame"] = 1000 * (loop[-1][3] - loop[0][3]) / len(frames)
        res["cel_job_fps"] = len(frames) / res["cel_job_seconds"]
        fit = [m for m in marks if m[1] == "fit tones"]
        res["fit_seconds"] = fit[-1][0] - t if fit else float("nan")
        # 1b. the cel contact sheet the default job adds (4 frames read back, reduced, drawn, written)
        _, shade_job, _, finish_job = job.stages()
        sheet_shade = ShadeStage(shade_job, RunContext())  # the stored tone model of the same job: no refit
        sheet_finish = FinishStage(finish_job, RunContext())
        t = time.perf_counter()
        sheet_shade.contact_sheet({}, cel_path=sheet_finish.out.path, palette=sheet_finish.palette, path=str(work / "job" / "sheet.png"))
        res["contact_sheet_seconds"] = time.perf_counter() - t
        res["cel_job_with_sheet_fps"] = len(frames) / (res["cel_job_seconds"] + res["contact_sheet_seconds"])

        # 2. compute only, from the same inputs held in memory (stages set up on a throwaway output folder)
        _, shade_job, ink_job, finish_job = dataclasses.replace(job, out_dir=str(work / "mem")).stages()
        shade = ShadeStage(shade_job, RunContext())
        ink = InkStage(ink_job, RunContext(), tones_in_memory=True)
        finish = FinishStage(finish_job, RunContext(), layers_in_memory=True)
        inputs = []
        for f in frames:
            parts = shade.mattes.part_labels(f, ink.margin)
            inputs.append((parts, shade.plate.rgb(f, parts.window)))
        t = time.perf_counter()
        for parts, rgb in inputs:
            inkpaint_frame(parts, rgb, shade, ink, finish)
        res["inkpaint_compute_fps"] = len(frames) / (time.perf_counter() - t)
        del inputs

        # 3. paper way, compute only, on full frames
        lut_u8 = finish.palette.tone_lut(finish.mattes.names)
        full_inputs = [(shade.mattes.mattes(f), shade.plate.rgb(f)) for f in frames]
        t = time.perf_counter()
        for m, rgb in full_inputs:
            paper_frame(m, rgb, lut_u8)
        res["paper_compute_fps"] = len(frames) / (time.perf_counter() - t)
        del full_inputs

        # 4. paper way with the same readers and writers
        for sub in ("ink", "tone", "cel"):
            (work / "io_paper" / sub).mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        for f in frames:
            m, rgb = shade.mattes.mattes(f), shade.plate.rgb(f)
            labels, tone, lines, colour = paper_frame(m, rgb, lut_u8)
            col = srgb_to_linear(colour)
            rgba = np.concatenate([col, (labels > 0)[..., None].astype(np.float32)], axis=2)
            write_outputs(work / "io_paper", f, tone, lines.astype(np.float32), lines, rgba, rgba)
        res["paper_io_fps"] = len(frames) / (time.perf_counter() - t)

        # 5. the three stand-alone jobs, each reading its inputs from files
        jobs_dir = work / "jobs"
        t = time.perf_counter()
        run_job(ShadeJob(input=s["plate"], mattes=s["mattes"], output=str(jobs_dir / "tone" / "shot.####.exr")))
        run_job(InkJob(mattes=s["mattes"], output=str(jobs_dir / "ink" / "shot.####.exr")))
        run_job(FinishJob(mattes=s["mattes"], palette=s["palette"], output=str(jobs_dir / "cel" / "shot.####.exr"),
                          tones=str(jobs_dir / "tone" / "shot.####.exr"), ink=str(jobs_dir / "ink" / "shot.####.exr")))
        res["inkpaint_jobs_fps"] = len(frames) / (time.perf_counter() - t)

        res["ratio_compute"] = res["inkpaint_compute_fps"] / res["paper_compute_fps"]
        res["ratio_io"] = res["inkpaint_io_fps"] / res["paper_io_fps"]
        res["ratio_job"] = res["cel_job_fps"] / res["paper_io_fps"]
        if args.json:
            print(json.dumps(res, indent=2))
        else:
            print(f"{w}x{h}, {args.parts} parts, {len(frames)} frames, {os.cpu_count()} CPUs")
            print(f"  inkpaint cel job, per-frame pass (EXR I/O) : {res['inkpaint_io_fps']:7.1f} fps  ({res['pass_cpu_ms_per_frame']:.1f} CPU ms/frame)")
            print(f"  inkpaint cel job, whole job incl. tone fit ({res['fit_seconds']:.2f} s): {res['cel_job_fps']:7.1f} fps  ({res['cel_job_cpu_ms_per_frame']:.1f} CPU ms/frame)")
            print(f"  ... plus the default contact sheet ({res['contact_sheet_seconds']:.2f} s)  : {res['cel_job_with_sheet_fps']:7.1f} fps")
            print(f"  inkpaint compute only                       : {res['inkpaint_compute_fps']:7.1f} fps")
            print(f"  paper way compute only                      : {res['paper_compute_fps']:7.1f} fps  -> inkpaint {res['ratio_compute']:.1f}x")
            print(f"  paper way with the same EXR I/O             : {res['paper_io_fps']:7.1f} fps  -> inkpaint {res['ratio_io']:.1f}x (whole job {res['ratio_job']:.1f}x)")
            print(f"  inkpaint shade, ink, finish as three jobs   : {res['inkpaint_jobs_fps']:7.1f} fps")
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
