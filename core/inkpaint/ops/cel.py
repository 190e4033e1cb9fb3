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
from typing import TYPE_CHECKING, Any

import numpy as np

from ..io.sequence import FrameSequence
from ..palette import load_palette
from ..progress import RunContext
from ..spec import replace, resolve_path
from .base import JobResult, WriteQueue, frame_limit, limit_frames, prefetch, require_output_dir, write_manifest
from ..cel.ink import InkLines
from .sources import PartLabels
from .cli_options import add_backend_options, add_common_options, backend_options_from_args, common_settings
from .roto import RotoJob, load_prompts
from .job_options import FieldOption, add_field_options, job_kwargs
from .shade import add_tone_options, tone_settings_from_args
from ..jobs.cel import CelJob  # noqa: F401  (job class lives in inkpaint.jobs)

if TYPE_CHECKING:
    from .finish import FinishStage
    from .ink import InkStage
    from .shade import ShadeStage


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
        chunk = frame_limit()
        if chunk:  # a farm render chunk: roto (temporal) is the fit step's job; the chunk only reads its mattes
            with limit_frames(_complete_roto_frames(roto)):  # shared lock with the other chunks, nothing to write
                results["roto"] = roto_op.run(replace(roto, contact_sheet=False), ctx)  # not in the hash
        else:
            with limit_frames(None):  # the whole shot, never split (done frames skip)
                results["roto"] = roto_op.run(roto, ctx)
    ctx.check_cancel()
    ctx.report("cel", len(results), len(results) + 1, message="stages shade, ink, finish")
    fin_stage = FinishStage(finish, ctx, layers_in_memory=True)  # first: checks the palette against the mattes before any fitting
    shade_stage = ShadeStage(shade, ctx)
    ink_stage = InkStage(ink, ctx, tones_in_memory=True)
    run_fused(shade_stage, ink_stage, fin_stage, ctx)
    results.update(shade=shade_stage.result(), ink=ink_stage.result(), finish=fin_stage.result())
    figures, warnings, sheet = cel_report(job, shade_stage, fin_stage, str(out_dir))
    ctx.report("cel", len(results), len(results), message="done")
    fin = results["finish"]
    outputs: dict[str, str] = {}
    for stage, r in results.items():  # a name a later stage reuses (PNG cels' ink/tone layers) gets its stage's prefix
        for name, pattern in r.outputs.items():
            outputs[f"{stage}_{name}" if name in outputs else name] = pattern
    if sheet:
        outputs["contact_sheet"] = sheet
    result = JobResult(
        "cel", job.job_hash(), outputs, fin.frames, sorted(set(fin.written)), sorted(set(fin.skipped)),
        summary={
            "stages": {k: {"written": len(v.written), "skipped": len(v.skipped), "manifest": v.manifest, "seconds": v.summary.get("seconds")} for k, v in results.items()},
            "parts": fin_stage.mattes.names,
            "tones": figures,
            "line_width_px": round(ink_stage.width, 3),  # at the output resolution (after width_reference)
            "warnings": warnings,
            "contact_sheet": sheet,
            "seconds": round(time.perf_counter() - t0, 3),
        },
    )
    result.manifest = write_manifest(job, result, os.path.join(str(out_dir), f"{job.shot_name()}.####.cel"))
    return result


def cel_report(job: CelJob, shade: "ShadeStage", finish: "FinishStage", out_dir: str) -> tuple[dict[str, Any], list[str], str | None]:
    """Per-part tone figures, warnings (the shade stage's plus palette entries never used, each logged once) and
    the contact sheet ``out_dir/<shot>.contact.png`` (plate | parts | tones | cel, a palette row first)."""
    from . import tone_qc

    figures, warnings = shade.finish_report()
    names = shade.mattes.names
    tones: dict[str, int] = {n: int(job.parts[n].tones or job.tones) if n in job.parts else job.tones for n in names}
    warnings = list(warnings) + tone_qc.report(tone_qc.palette_warnings(finish.palette, shade.stats, names, tones))
    shade.warnings = warnings
    sheet = None
    if job.contact_sheet and frame_limit() is None:  # a farm chunk draws no sheet: finalize draws the whole shot's
        sheet = shade.contact_sheet(figures, cel_path=finish.out.path, palette=finish.palette,
                                    path=os.path.join(out_dir, f"{job.shot_name()}.contact.png"))
    return figures, warnings, sheet


def _complete_roto_frames(roto: RotoJob) -> list[int]:
    """The roto stage's frames, checked complete (a farm chunk renders from them and must not track).

    Raises:
        InkpaintError: frames are missing or from another job, naming the first; run the fit step first.
    """
    from ..errors import InkpaintError
    from .base import FrameOutputs

    frames = FrameSequence.parse(resolve_path(roto, roto.input), what="input").resolve_frames(roto.frames)
    out = FrameOutputs(resolve_path(roto, roto.output), roto.job_hash())
    missing = [f for f in frames if out.frame_hash(f) != out.job_hash]
    if missing:
        raise InkpaintError(
            f"the cel job's roto stage has {len(missing)} frame(s) not tracked yet (first: '{out.path(missing[0])}'); "
            "roto runs over the whole shot in the fit step (`inkpaint run job.json --fit-only`) before chunks render"
        )
    return frames


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

    def read(frame: int) -> tuple[PartLabels, np.ndarray | None, tuple[np.ndarray, np.ndarray | None] | None]:
        hit = shade.lab_from_fit(frame, ink.margin)  # a frame the tone fit read: its labels and L* are kept
        if hit is not None:
            return hit[0], None, hit[1]
        parts = mattes.part_labels(frame, ink.margin)
        return parts, (plate.rgb(frame, parts.window) if not parts.empty else None), None

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
            for f, (parts, rgb, lab) in frames_read:
                ctx.check_cancel()
                tone = shade.tones(f, parts, rgb, lab)
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


CLI_INPUT = [FieldOption("input", positional=True, path=True, help="plate pattern, e.g. 'plates/shot.####.exr'")]
CLI_OPTIONS = [
    FieldOption("palette", path=True, help="design sheet YAML or BasicPBC colorbook.yml"),
    FieldOption("out_dir", path=True, help="folder for roto/, tone/, ink/ and cel/"),
    FieldOption("frames", help="frame range (default: every plate frame on disk)"),
]
CLI_INK_OPTIONS = [
    FieldOption("width", help="ink line width in pixels"),
    FieldOption("width_reference", help="image height the width is given at"),
    FieldOption("tone_lines", help="also ink tone boundaries"),
    FieldOption("smooth_lines", metavar="SIGMA", default_help="1; 0: on the pixel boundaries",
                help="ink the part boundaries smoothed with this Gaussian sigma (px), at sub-pixel precision"),
    FieldOption("over", path=True, help="background image or sequence"),
]
CLI_FORMAT = [FieldOption("cel_format", help="cel output format")]
"""The ``inkpaint cel`` options taken from :class:`CelJob`'s fields (see :mod:`inkpaint.ops.job_options`); the
prompts/mattes choice, the backend, ``--over-colorspace`` and the tone options (:func:`add_tone_options`) are added
around them."""


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("cel", help="roto -> shade -> ink -> finish: finished cels from a plate, click prompts and a palette")
    add_field_options(p, CelJob, CLI_INPUT)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--prompts", help="prompts JSON file ({\"objects\": [...]}), one object per palette part")
    src.add_argument("--mattes", help="existing part mattes (EXR pattern, <part>.A channels, e.g. a roto output): skip roto")
    add_field_options(p, CelJob, CLI_OPTIONS)
    add_backend_options(p)
    add_field_options(p, CelJob, CLI_INK_OPTIONS)
    p.add_argument("--over-colorspace", help="colour space of --over when it differs from the plate's --colorspace")
    add_field_options(p, CelJob, CLI_FORMAT)
    add_tone_options(p)
    add_common_options(p)
    p.set_defaults(make_job=_job_from_args)


def _job_from_args(args: argparse.Namespace) -> CelJob:
    color, output = common_settings(args)
    fields = CLI_INPUT + CLI_OPTIONS + CLI_INK_OPTIONS + CLI_FORMAT
    job = CelJob(
        **job_kwargs(args, CelJob, fields),
        objects=load_prompts(args.prompts) if args.prompts else [],
        mattes=os.path.abspath(args.mattes) if args.mattes else None,
        backend=args.backend,
        backend_options=backend_options_from_args(args),
        direction=args.direction,
        **tone_settings_from_args(args),
        color=color,
        over_color=dataclasses.replace(color, input_colorspace=args.over_colorspace) if args.over_colorspace else None,
        output_options=output,
    )
    job.validate()
    return job
