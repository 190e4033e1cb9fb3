"""The cel operation: plate + click prompts + palette -> finished cels, every layer kept.

Chains roto -> shade -> ink -> finish (seed 000's whole pipeline) into ``out_dir``::

    out_dir/roto/<shot>.####.exr    part mattes (<part>.A, A)
    out_dir/tone/<shot>.####.exr    tone codes (tone) + <shot>.tonemodel.json
    out_dir/ink/<shot>.####.exr     line art (ink.A, ink_hard.A [, trace.A])
    out_dir/cel/<shot>.####.exr     composite RGBA + colour/ink/tone layers (or .png sequences)

Each stage is its own job (with its own hash, frame metadata and manifest), so a rerun resumes every stage where
it stopped and a changed setting only redoes the stages it affects (a new palette repaints the cels but keeps
mattes, tones and lines). Given existing part mattes (``mattes``: a roto output, or mattes rendered elsewhere with
``<part>.A`` channels), roto is skipped.

Shade, ink and finish run fused, one frame at a time: the mattes and the plate's bounding-box rows are read once
(the next frame's read overlapping this frame's work), tones, lines and the cel are computed from the arrays in
memory, and the three layers are written by a writer thread, each frame exactly as the stand-alone ``shade``,
``ink`` and ``finish`` jobs would write it (same job hashes), so those jobs see them as done. The palette and the
parts must match; that is checked before anything runs.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import contextlib
import dataclasses
import os
import time
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..errors import SpecError
from ..io.sequence import FrameSequence
from ..palette import load_palette
from ..progress import RunContext
from ..spec import ColorSettings, JobSpec, OutputSettings, resolve_path
from ..cel.tones import PartTones
from .base import JobResult, WriteQueue, limit_frames, prefetch, require_output_dir, write_manifest
from ..cel.ink import InkLines
from .ink import InkJob, PartLabels
from .roto import (
    RotoJob,
    RotoObject,
    add_backend_options,
    add_common_options,
    backend_options_from_args,
    common_settings,
    load_prompts,
)
from .shade import ShadeJob, add_tone_options, check_tone_settings, tone_settings_from_args

if TYPE_CHECKING:
    from .finish import FinishStage
    from .ink import InkStage
    from .shade import ShadeStage


@dataclasses.dataclass
class CelJob(JobSpec):
    """Roto, shade, ink and finish a plate in one job.

    Attributes:
        input: plate pattern.
        objects: the parts and their prompts (as in a roto job / prompts file); empty with ``mattes``.
        palette: colour design sheet YAML (or BasicPBC colorbook.yml) naming the same parts.
        out_dir: where every layer is written.
        frames: frame range; ``None`` = every plate frame on disk.
        backend: roto backend (``classic``, ``sam2`` ...).
        backend_options: backend settings.
        direction: roto propagation direction.
        width: ink line width in pixels.
        width_reference: image height the width is given at; ``None`` = pixels of this plate.
        tone_lines: also ink tone boundaries.
        tones: 2, 3 or 4.
        fit_frames: keyframes to fit tones on; ``None`` samples ``fit_samples`` frames.
        fit_samples: frames sampled for the tone fit.
        parts: per-part tone overrides.
        hysteresis: tone hysteresis band.
        min_region: smallest tone region, pixels.
        highlight_sigma: highlight threshold, robust standard deviations above base.
        over: background image or sequence for the composite.
        cel_format: ``exr`` (layers in one multi-layer EXR) or ``png`` (8-bit sequences).
        mattes: existing part mattes (EXR pattern with ``<part>.A`` channels) to use instead of running roto.
        color: plate colour management.
        over_color: how to read ``over`` when it is managed differently from the plate (e.g. a background rendered
            in the working space behind a scene-linear plate); ``None`` = ``color``.
        output_options: compression and overwrite.
    """

    TYPE = "cel"
    HASH_FILES = ("palette",)

    input: str
    objects: list[RotoObject]
    palette: str
    out_dir: str
    frames: str | None = None
    backend: str = "classic"
    backend_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    direction: Literal["forward", "backward", "both"] = "both"
    width: float = 2.0
    width_reference: int | None = None
    tone_lines: bool = False
    tones: int = 2
    fit_frames: str | None = None
    fit_samples: int = 12
    parts: dict[str, PartTones] = dataclasses.field(default_factory=dict)
    hysteresis: float = 0.04
    min_region: int = 24
    highlight_sigma: float = 3.5
    over: str | None = None
    cel_format: Literal["exr", "png"] = "exr"
    mattes: str | None = None
    color: ColorSettings = dataclasses.field(default_factory=ColorSettings)
    over_color: ColorSettings | None = None
    output_options: OutputSettings = dataclasses.field(default_factory=OutputSettings)

    def validate(self) -> None:
        check_tone_settings(self)
        FrameSequence.parse(self.input, what="input")
        if not self.out_dir:
            raise SpecError("out_dir", "is required")
        if not self.width > 0:
            raise SpecError("width", f"must be > 0 px, got {self.width}")
        if self.over_color is not None and self.over is None:
            raise SpecError("over_color", "is only used with over (a background); set over or drop over_color")
        if self.mattes is not None:
            FrameSequence.parse(self.mattes, what="mattes")
            if self.objects:
                raise SpecError("objects", "give either mattes (roto is skipped) or objects with prompts, not both")
        elif not self.objects:
            raise SpecError("objects", "no objects; give the parts and their prompts (or existing mattes)")
        else:
            names = [o.name for o in self.objects]
            unknown = [n for n in self.parts if n not in names]
            if unknown:
                raise SpecError("parts", f"override(s) for {', '.join(unknown)}, which are not among the objects ({', '.join(names)})")
        self.stages()  # validates every stage

    def shot_name(self) -> str:
        seq = FrameSequence.parse(self.input, what="input")
        stem = os.path.basename(seq.prefix).rstrip("._-")
        return stem or "frames"

    def stages(self) -> tuple[RotoJob | None, ShadeJob, InkJob, Any]:
        """The stage jobs this cel job runs (paths inside ``out_dir``); no roto job when ``mattes`` are given."""
        from .finish import FinishJob

        out = self.out_dir
        shot = self.shot_name()
        roto_p = self.mattes if self.mattes is not None else os.path.join(out, "roto", f"{shot}.####.exr")
        tone_p = os.path.join(out, "tone", f"{shot}.####.exr")
        ink_p = os.path.join(out, "ink", f"{shot}.####.exr")
        cel_p = os.path.join(out, "cel", f"{shot}.####.{self.cel_format}")
        oo = self.output_options
        roto = None if self.mattes is not None else RotoJob(
            input=self.input, output=roto_p, objects=self.objects, frames=self.frames, backend=self.backend,
            backend_options=dict(self.backend_options), direction=self.direction, color=self.color, output_options=oo,
        )
        shade = ShadeJob(
            input=self.input, mattes=roto_p, output=tone_p, frames=self.frames, tones=self.tones, fit_frames=self.fit_frames,
            fit_samples=self.fit_samples, parts=dict(self.parts), hysteresis=self.hysteresis, min_region=self.min_region,
            highlight_sigma=self.highlight_sigma, color=self.color, output_options=oo,
        )
        ink = InkJob(
            mattes=roto_p, output=ink_p, frames=self.frames, width=self.width, width_reference=self.width_reference,
            tones=tone_p if self.tone_lines else None, output_options=oo,
        )
        finish = FinishJob(
            mattes=roto_p, palette=self.palette, output=cel_p, tones=tone_p, ink=ink_p, over=self.over, frames=self.frames,
            color=self.over_color if self.over_color is not None else self.color, output_options=oo,
        )
        for j in (roto, shade, ink, finish):
            if j is None:
                continue
            base = getattr(self, "_base_dir", None)
            if base is not None:
                object.__setattr__(j, "_base_dir", base)
            j.validate()
        return roto, shade, ink, finish


JOB = CelJob


def run(job: CelJob, ctx: RunContext) -> JobResult:
    """Run roto (unless mattes are given), then shade, ink and finish fused frame by frame; every stage resumes."""
    from . import roto as roto_op
    from .finish import FinishStage
    from .ink import InkStage
    from .shade import ShadeStage

    t0 = time.perf_counter()
    job.validate()
    palette = load_palette(resolve_path(job, job.palette))
    if job.objects:
        palette.check_parts([o.name for o in job.objects], what="prompts' objects")
    out_dir = require_output_dir(resolve_path(job, job.out_dir))
    roto, shade, ink, finish = job.stages()
    results: dict[str, JobResult] = {}
    if roto is not None:
        ctx.report("cel", 0, 2, message="stage roto")
        with limit_frames(None):  # roto is temporal: a farm chunk's frame limit never splits it (done frames skip)
            results["roto"] = roto_op.run(roto, ctx)
    ctx.check_cancel()
    ctx.report("cel", len(results), len(results) + 1, message="stages shade, ink, finish")
    fin_stage = FinishStage(finish, ctx, layers_in_memory=True)  # first: checks the palette against the mattes before any fitting
    shade_stage = ShadeStage(shade, ctx)
    ink_stage = InkStage(ink, ctx, tones_in_memory=True)
    run_fused(shade_stage, ink_stage, fin_stage, ctx)
    results.update(shade=shade_stage.result(), ink=ink_stage.result(), finish=fin_stage.result())
    ctx.report("cel", len(results), len(results), message="done")
    fin = results["finish"]
    outputs: dict[str, str] = {}
    for stage, r in results.items():  # a name a later stage reuses (PNG cels' ink/tone layers) gets its stage's prefix
        for name, pattern in r.outputs.items():
            outputs[f"{stage}_{name}" if name in outputs else name] = pattern
    result = JobResult(
        "cel", job.job_hash(), outputs, fin.frames, sorted(set(fin.written)), sorted(set(fin.skipped)),
        summary={
            "stages": {k: {"written": len(v.written), "skipped": len(v.skipped), "manifest": v.manifest, "seconds": v.summary.get("seconds")} for k, v in results.items()},
            "parts": fin_stage.mattes.names,
            "seconds": round(time.perf_counter() - t0, 3),
        },
    )
    result.manifest = write_manifest(job, result, os.path.join(str(out_dir), f"{job.shot_name()}.####.cel"))
    return result


FUSED_READERS = 1
FUSED_READ_AHEAD = 2
"""Frames the reader works ahead of the painting (1 reader thread; more readers or writers measured no faster on
2 cores: the pass is CPU-bound)."""
FUSED_WRITERS = 2
FUSED_WRITES_IN_FLIGHT = 2
"""Frames handed to the writers and not yet written: memory stays flat."""


def run_fused(shade: "ShadeStage", ink: "InkStage", finish: "FinishStage", ctx: RunContext) -> list[int]:
    """Shade, ink and finish every frame one of the three stages still has to write, in one pass.

    Per frame: part labels (only the mattes' data window is decoded) and the plate inside their bounding box are
    read by a reader thread up to two frames ahead; tones, lines and the cel are computed in memory; the missing layers are
    written by two writer threads (tone + ink, and the cel), at most two frames in flight so memory stays flat. A
    frame counts as written for a stage once its file is renamed into place, as in the stand-alone jobs.

    Returns:
        The frames processed.
    """
    todo = sorted(set(shade.todo) | set(ink.todo) | set(finish.todo))
    mattes, plate = shade.mattes, shade.plate
    shade_todo, ink_todo, finish_todo = set(shade.todo), set(ink.todo), set(finish.todo)
    tone_lines = ink.tone_seq is not None

    def read(frame: int) -> tuple[PartLabels, np.ndarray | None]:
        parts = mattes.part_labels(frame, ink.margin)
        return parts, (plate.rgb(frame, parts.window) if not parts.empty else None)

    def write_lines(frame: int, parts: PartLabels, tone: np.ndarray, lines: InkLines) -> None:
        if frame in shade_todo:
            shade.write(frame, parts, tone)
        if frame in ink_todo:
            ink.write(frame, parts, lines)

    ctx.report("shade+ink+finish", 0, len(todo))
    done = 0

    def counted(frame: int) -> None:
        nonlocal done
        done += 1
        ctx.report("shade+ink+finish", done, len(todo), frame=frame)

    written = WriteQueue(FUSED_WRITES_IN_FLIGHT, counted)
    with cf.ThreadPoolExecutor(FUSED_READERS, thread_name_prefix="inkpaint-read") as reader, \
            cf.ThreadPoolExecutor(FUSED_WRITERS, thread_name_prefix="inkpaint-write") as writer, \
            contextlib.closing(prefetch(reader, read, todo, FUSED_READ_AHEAD)) as frames_read:
        try:
            for f, (parts, rgb) in frames_read:
                ctx.check_cancel()
                tone = shade.tones(f, parts, rgb)
                lines = ink.draw(parts, tone if tone_lines else None)
                futures = [writer.submit(write_lines, f, parts, tone, lines)]
                if f in finish_todo:
                    cel, window = finish.render(f, parts, tone, lines.alpha)
                    futures.append(writer.submit(finish.write, f, parts, tone, lines.alpha, cel, window))
                written.add(f, futures)
            written.finish()
        except BaseException:
            written.settle()  # the frames already handed to the writers finish (each file whole or not at all)
            raise
    return todo


def add_cli(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("cel", help="roto -> shade -> ink -> finish: finished cels from a plate, click prompts and a palette")
    p.add_argument("input", help="plate pattern, e.g. 'plates/shot.####.exr'")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--prompts", help="prompts JSON file ({\"objects\": [...]}), one object per palette part")
    src.add_argument("--mattes", help="existing part mattes (EXR pattern, <part>.A channels, e.g. a roto output): skip roto")
    p.add_argument("--palette", required=True, help="design sheet YAML or BasicPBC colorbook.yml")
    p.add_argument("--out-dir", required=True, help="folder for roto/, tone/, ink/ and cel/")
    p.add_argument("--frames", help="frame range (default: every plate frame on disk)")
    add_backend_options(p)
    p.add_argument("--width", type=float, default=2.0, help="ink line width in pixels")
    p.add_argument("--width-reference", type=int, help="image height the width is given at")
    p.add_argument("--tone-lines", action="store_true", help="also ink tone boundaries")
    p.add_argument("--over", help="background image or sequence")
    p.add_argument("--over-colorspace", help="colour space of --over when it differs from the plate's --colorspace")
    p.add_argument("--cel-format", choices=["exr", "png"], default="exr", help="cel output format (default exr)")
    add_tone_options(p)
    add_common_options(p)
    p.set_defaults(make_job=_job_from_args)


def _job_from_args(args: argparse.Namespace) -> CelJob:
    color, output = common_settings(args)
    job = CelJob(
        input=os.path.abspath(args.input),
        objects=load_prompts(args.prompts) if args.prompts else [],
        mattes=os.path.abspath(args.mattes) if args.mattes else None,
        palette=os.path.abspath(args.palette),
        out_dir=os.path.abspath(args.out_dir),
        frames=args.frames,
        backend=args.backend,
        backend_options=backend_options_from_args(args),
        direction=args.direction,
        width=args.width,
        width_reference=args.width_reference,
        tone_lines=args.tone_lines,
        **tone_settings_from_args(args),
        over=os.path.abspath(args.over) if args.over else None,
        cel_format=args.cel_format,
        color=color,
        over_color=dataclasses.replace(color, input_colorspace=args.over_colorspace) if args.over_colorspace else None,
        output_options=output,
    )
    job.validate()
    return job
