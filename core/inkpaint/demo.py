"""``inkpaint demo``: the roto job on a generated clip with the embedded classic backend (no weights needed)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

from .io.frames import read_channels, read_rgb, write_exr, write_png
from .ops.base import run_job
from .ops.roto import RotoJob, load_prompts
from .progress import RunContext, TerminalProgress


def make_clip(folder: Path, frames: int = 24, size: tuple[int, int] = (320, 240)) -> tuple[str, str]:
    """Write a scene-linear EXR clip of two moving objects over a textured background, and its prompts file.

    Returns:
        ``(plate pattern, prompts path)``.
    """
    w, h = size
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    bg = np.stack([0.18 + 0.05 * np.sin(xx / 17.0), 0.2 + 0.04 * np.cos(yy / 11.0), 0.22 + 0.0 * xx], axis=-1)
    bg += rng.normal(0, 0.01, bg.shape).astype(np.float32)
    plate_dir = folder / "plate"
    plate_dir.mkdir(parents=True, exist_ok=True)
    for f in range(frames):
        t = f / max(frames - 1, 1)
        img = bg.copy()
        cx, cy, r = 80 + 140 * t, 120 + 30 * np.sin(6.28 * t), 38
        ball = (xx - cx) ** 2 + (yy - cy) ** 2 < r * r
        img[ball] = (0.8, 0.15, 0.05)
        bx0, by0 = int(210 - 90 * t), int(40 + 20 * t)
        box = (xx >= bx0) & (xx < bx0 + 60) & (yy >= by0) & (yy < by0 + 50) & ~ball
        img[box] = (0.05, 0.3, 0.7)
        write_exr(str(plate_dir / f"demo.{f + 1:04d}.exr"), {c: img[..., i] for i, c in enumerate("RGB")})
    prompts = {
        "objects": [
            {"name": "ball", "prompts": [{"frame": 1, "points": [[80, 120, 1]]}, {"frame": 1, "box": [36, 76, 124, 164]}]},
            {"name": "block", "prompts": [{"frame": 1, "box": [206, 36, 274, 94]}, {"frame": 1, "points": [[240, 65, 1]]}]},
        ]
    }
    ppath = folder / "prompts.json"
    ppath.write_text(json.dumps(prompts, indent=2) + "\n")
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


def run_demo(out_dir: str, frames: int = 24, quiet: bool = False) -> int:
    folder = Path(out_dir).resolve()
    plate, prompts = make_clip(folder, frames)
    job = RotoJob(
        input=plate,
        output=str(folder / "roto" / "demo.####.exr"),
        objects=load_prompts(prompts),
        contours=True,
        output_options=__import__("inkpaint.spec", fromlist=["OutputSettings"]).OutputSettings(overwrite=True),
    )
    job.save(folder / "roto_job.json")
    result = run_job(job, RunContext(progress=None if quiet else TerminalProgress()))
    sheet = str(folder / "contact_sheet.png")
    contact_sheet(plate, job.output, result.frames, [o.name for o in job.objects], sheet)
    print(f"plate:         {plate}")
    print(f"prompts:       {prompts}")
    print(f"job spec:      {folder / 'roto_job.json'}  (rerun with: inkpaint run {folder / 'roto_job.json'})")
    print(f"mattes:        {job.output}  (channels ball.A, block.A, A)")
    print(f"contours:      {result.outputs.get('contours')}")
    print(f"contact sheet: {sheet}")
    print(f"frames:        {len(result.frames)} written in {result.summary.get('seconds')} s")
    sys.stdout.flush()
    return 0


__all__ = ["make_clip", "contact_sheet", "run_demo"]
_ = os
