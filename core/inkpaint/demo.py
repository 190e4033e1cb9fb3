"""``inkpaint demo``: the roto job on a generated clip with the embedded classic backend (no weights needed)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np

from .errors import SpecError
from .io.atomic import atomic_write_text, ensure_writable_dir
from .io.frames import read_channels, read_rgb, write_exr, write_png
from .io.sequence import FrameSequence
from .ops.base import run_job
from .ops.roto import RotoJob, load_prompts
from .progress import RunContext, TerminalProgress
from .spec import OutputSettings


def make_clip(folder: Path, frames: int = 24, size: tuple[int, int] = (320, 240)) -> tuple[str, str]:
    """Write a scene-linear EXR clip of two moving objects over a textured background, and its prompts file.

    Frames are numbered from 1. Plate frames beyond ``frames`` left by an earlier, longer demo are removed.

    Returns:
        ``(plate pattern, prompts path)``.
    """
    if frames < 2:
        raise SpecError("--frames", f"the demo clip needs at least 2 frames, got {frames}")
    w, h = size
    if w < 64 or h < 48:
        raise SpecError("--size", f"the demo clip needs at least 64x48 pixels, got {w}x{h}")
    sx, sy = w / 320.0, h / 240.0
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    xs, ys = xx / sx, yy / sy  # design coordinates (320x240)
    bg = np.stack([0.18 + 0.05 * np.sin(xs / 17.0), 0.2 + 0.04 * np.cos(ys / 11.0), 0.22 + 0.0 * xs], axis=-1)
    bg += rng.normal(0, 0.01, bg.shape).astype(np.float32)
    plate_dir = folder / "plate"
    plate_dir.mkdir(parents=True, exist_ok=True)
    seq = FrameSequence.parse(str(plate_dir / "demo.####.exr"))
    for old in seq.frames_on_disk():
        if old < 1 or old > frames:
            os.unlink(seq.path(old))
    for f in range(frames):
        t = f / max(frames - 1, 1)
        img = bg.copy()
        cx, cy, r = 80 + 140 * t, 120 + 30 * np.sin(6.28 * t), 38
        ball = (xs - cx) ** 2 + (ys - cy) ** 2 < r * r
        img[ball] = (0.8, 0.15, 0.05)
        # The block drifts up and right; the ball passes below it without covering it.
        bx0, by0 = int(210 + 40 * t), int(40 - 30 * t)
        box = (xs >= bx0) & (xs < bx0 + 60) & (ys >= by0) & (ys < by0 + 50) & ~ball
        img[box] = (0.05, 0.3, 0.7)
        write_exr(seq.path(f + 1), {c: img[..., i] for i, c in enumerate("RGB")})

    def pt(x: float, y: float) -> list[float]:
        return [round(x * sx, 1), round(y * sy, 1)]

    prompts = {
        "objects": [
            {"name": "ball", "prompts": [{"frame": 1, "points": [pt(80, 120) + [1]]}, {"frame": 1, "box": pt(36, 76) + pt(124, 164)}]},
            {"name": "block", "prompts": [{"frame": 1, "box": pt(206, 36) + pt(274, 94)}, {"frame": 1, "points": [pt(240, 65) + [1]]}]},
        ]
    }
    ppath = folder / "prompts.json"
    atomic_write_text(ppath, json.dumps(prompts, indent=2) + "\n")
    return str(plate_dir / "demo.####.exr"), str(ppath)


def contact_sheet(plate: str, mattes: str, frames: list[int], names: list[str], out: str, columns: int = 6) -> None:
    """A PNG grid of frames with each object's matte tinted over the plate."""
    from .io.sequence import FrameSequence

    ps, ms = FrameSequence.parse(plate), FrameSequence.parse(mattes)
    picks = frames if len(frames) <= 2 * columns else [frames[int(i)] for i in np.linspace(0, len(frames) - 1, 2 * columns)]
    tints = np.array([(1.0, 0.2, 0.2), (0.2, 1.0, 0.3), (0.3, 0.5, 1.0), (1.0, 0.9, 0.2), (1.0, 0.3, 1.0), (0.2, 1.0, 1.0)], np.float32)
    tiles = []
    for f in picks:
        rgb = read_rgb(ps.path(f), frame=f)
        ch = read_channels(ms.path(f), [f"{n}.A" for n in names], frame=f)
        for i, n in enumerate(names):
            a = ch[f"{n}.A"][..., None] * 0.55
            rgb = rgb * (1 - a) + tints[i % len(tints)] * a
        tiles.append(rgb)
    while len(tiles) % columns:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.concatenate(tiles[i : i + columns], axis=1) for i in range(0, len(tiles), columns)]
    write_png(out, np.concatenate(rows, axis=0))


def run_demo(out_dir: str, frames: int = 24, quiet: bool = False, size: tuple[int, int] = (320, 240)) -> int:
    """Generate the demo clip in ``out_dir`` (relative to the current folder), roto it, and print where things are.

    A rerun in the same folder resumes (nothing to do when it is complete).
    """
    folder = Path(out_dir).expanduser().resolve()
    ensure_writable_dir(folder)
    plate, prompts = make_clip(folder, frames, size)
    job = RotoJob(
        input=plate,
        output=str(folder / "roto" / "demo.####.exr"),
        objects=load_prompts(prompts),
        frames=f"1-{frames}",
        contours=True,
        output_options=OutputSettings(overwrite=True),
    )
    roto_dir = folder / "roto"
    manifest = roto_dir / "demo.inkpaint.json"
    if roto_dir.is_dir():  # the demo owns its folder: results of a different demo (other --frames/--size) go
        try:
            previous = json.loads(manifest.read_text(encoding="utf-8"))["result"]["job_hash"]
        except (OSError, ValueError, KeyError, TypeError):
            previous = None
        if previous != job.job_hash():
            shutil.rmtree(roto_dir)
    job_path = folder / "roto_job.json"
    job.save(job_path)
    progress = None if quiet else TerminalProgress()
    try:
        result = run_job(job, RunContext(progress=progress))
    finally:
        if progress is not None:
            progress.close()
    sheet = str(folder / "contact_sheet.png")
    names = [o.name for o in job.objects]
    contact_sheet(plate, job.output, result.frames, names, sheet)
    lines = [
        f"inkpaint demo: {len(result.frames)} frames at {size[0]}x{size[1]}, objects {', '.join(names)}, classic backend",
        f"  folder:        {folder}",
        f"  plate:         {plate}",
        f"  prompts:       {prompts}",
        f"  job spec:      {job_path}",
        f"  mattes:        {job.output}  (channels {', '.join(n + '.A' for n in names)}, A)",
        f"  contours:      {result.outputs.get('contours')}",
        f"  manifest:      {result.manifest}",
        f"  contact sheet: {sheet}",
        f"  written {len(result.written)} frame(s), {len(result.skipped)} already done, in {result.summary.get('seconds')} s",
        f"  rerun the job: inkpaint run {job_path}",
    ]
    print("\n".join(lines))
    sys.stdout.flush()
    return 0


__all__ = ["make_clip", "contact_sheet", "run_demo"]
