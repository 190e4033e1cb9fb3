"""The ink operation: line art from part mattes.

Reads the roto output (one ``<part>.A`` channel per part, looked up by name) and writes per frame:

- EXR: ``ink.A`` (anti-aliased line coverage), ``ink_hard.A`` (binary lines, closed curves for paint-bucket
  fills) and, with tone lines, ``trace.A`` (tone boundaries alone, the colour-trace lines).
- PNG: black line art on white (the hard lines), the form paint-bucket tools read.

Lines are centred on part boundaries (silhouette and where parts meet) and ``width`` px wide; ``width_reference``
makes the width resolution-independent (the width is given at that image height and scales with the frame).
:class:`MatteSource`, the matte reader the shade, finish and cel operations share, lives in :mod:`.sources`
(re-exported here).
"""

from __future__ import annotations

import argparse
import logging
import time
from typing import Any

import numpy as np

from ..cel.ink import InkLines, draw_ink
from ..io.frames import Window, paste, write_png
from ..io.sequence import FrameSequence
from ..progress import RunContext
from ..spec import OutputSettings, resolve_path
from .base import FrameOutputs, JobResult, run_frames, write_manifest, write_window_exr
from .job_options import FieldOption, add_field_options, job_kwargs
from .cli_options import add_common_options, common_settings
from .sources import NON_PART_LAYERS as NON_PART_LAYERS  # moved to .sources; re-exported
from .sources import MatteSource as MatteSource
from .sources import PartLabels as PartLabels
from .sources import read_layer as read_layer
from .sources import read_tone as read_tone
from ..jobs.ink import InkJob  # noqa: F401  (job class lives in inkpaint.jobs)

log = logging.getLogger("inkpaint.ink")


def ink_margin(width: float, tone_width: float | None = None, smooth: float = 0.0) -> int:
    """Pixels a line of these widths reaches beyond the parts' bounding box (plus 2 for the boundary pixels, plus
    the smoothing's reach)."""
    return int(np.ceil(max(width, tone_width or 0.0) / 2)) + 2 + int(np.ceil(3 * smooth))


def line_width(width: float, reference: int | None, height: int) -> float:
    """The width in pixels for a frame ``height`` px high (``width`` is given at ``reference`` px, if set)."""
    return float(width) * (height / reference if reference else 1.0)


JOB = InkJob


class InkStage:
    """An ink job set up to draw frames: inputs checked, outputs prepared, widths resolved.

    :func:`run` drives it from files; the cel job drives it with the labels and tones it already has.
    """

    def __init__(self, job: InkJob, ctx: RunContext, *, tones_in_memory: bool = False) -> None:
        """Set up ``job``; ``tones_in_memory``: the tones will be handed to :meth:`draw` (the cel job), so their
        files need not exist yet."""
        self.t0 = time.perf_counter()
        job.validate()
        self.job = job
        mattes_pattern = resolve_path(job, job.mattes)
        self.out_pattern = resolve_path(job, job.output)
        self.frames = FrameSequence.parse(mattes_pattern, what="mattes").resolve_frames(job.frames)
        self.mattes = MatteSource(mattes_pattern, self.frames, what="mattes", parts=job.parts)
        self.tone_seq = FrameSequence.parse(resolve_path(job, job.tones), what="tones") if job.tones else None
        if self.tone_seq is not None and not tones_in_memory:
            self.tone_seq.resolve_frames(self.frames)
        self.job_hash = job.job_hash()
        self.out = FrameOutputs(self.out_pattern, self.job_hash, overwrite=job.output_options.overwrite, what="output")
        self.done = self.out.prepare(self.frames)
        self.todo = [f for f in self.frames if f not in self.done]
        h = self.mattes.size[1]
        self.width = line_width(job.width, job.width_reference, h)
        self.tone_width = line_width(job.tone_width, job.width_reference, h) if job.tone_width else None
        self.margin = ink_margin(self.width, self.tone_width, getattr(job, "smooth", 0.0))
        """How far the lines reach beyond the parts' bounding box."""
        self.written: list[int] = []
        self.empty: list[int] = []

    def draw(self, parts: PartLabels, tone: np.ndarray | None) -> InkLines:
        """The lines on ``parts.window`` (which must hold :attr:`margin` px around the parts)."""
        return draw_ink(parts.labels, self.width, silhouette=self.job.silhouette, inner=self.job.inner, tone=tone, tone_width=self.tone_width,
                        smooth=getattr(self.job, "smooth", 0.0))

    def write(self, frame: int, parts: PartLabels, lines: InkLines) -> None:
        if parts.empty:
            self.empty.append(frame)
        meta = self.out.metadata(frame, {"inkpaint:parts": ",".join(self.mattes.names), "inkpaint:ink_width": self.width})
        write_ink_frame(self.out.path(frame), lines, parts.window, self.mattes.size, self.job.output_options, meta, with_trace=self.tone_seq is not None)
        self.written.append(frame)

    def result(self) -> JobResult:
        if self.empty:
            log.warning("ink: %d frame(s) have empty mattes and got empty line layers (first: frame %d)", len(self.empty), self.empty[0])
        result = JobResult(
            "ink", self.job_hash, {"ink": self.out_pattern}, self.frames, sorted(self.written), sorted(self.done),
            summary={"parts": self.mattes.names, "width_px": self.width, "empty_frames": self.empty, "seconds": round(time.perf_counter() - self.t0, 3)},
        )
        result.manifest = write_manifest(self.job, result, self.out_pattern)
        return result


def run(job: InkJob, ctx: RunContext) -> JobResult:
    """Run an ink job. Resumable: frames already written by the same job are skipped."""
    stage = InkStage(job, ctx)

    def ink_one(f: int) -> None:
        parts = stage.mattes.part_labels(f, stage.margin)
        tone = None
        if stage.tone_seq is not None and not parts.empty:
            tone = read_tone(stage.tone_seq.path(f), f, stage.mattes.size, parts.window)
        stage.write(f, parts, stage.draw(parts, tone))

    run_frames(ctx, "ink", stage.todo, stage.done, stage.written, ink_one)
    return stage.result()


def write_ink_frame(
    path: str, lines: InkLines, window: Window, size: tuple[int, int], options: OutputSettings, metadata: dict[str, Any], *, with_trace: bool = False
) -> None:
    """Write one frame of line art covering ``window`` of the frame.

    EXR: ``ink.A``, ``ink_hard.A`` (and ``trace.A`` with tone lines); PNG: black lines on white, the whole frame.
    """
    if path.lower().endswith(".png"):
        art = np.where(paste(lines.hard, window, Window.full(size)), 0, 255).astype(np.uint8)
        write_png(path, np.repeat(art[..., None], 3, axis=2), metadata=metadata)
        return
    channels: dict[str, np.ndarray] = {"ink.A": lines.alpha, "ink_hard.A": lines.hard.astype(np.float16)}
    if with_trace:
        channels["trace.A"] = lines.trace if lines.trace is not None else np.zeros_like(lines.alpha)
    write_window_exr(path, channels, window, size, options, metadata=metadata)


CLI_OPTIONS = [
    FieldOption("mattes", path=True, help="matte EXR pattern from roto, e.g. 'roto/shot.####.exr'"),
    FieldOption("output", flag="--out", path=True),
    FieldOption("width"),
    FieldOption("width_reference"),
    FieldOption("tones", path=True),
    FieldOption("tone_width"),
    FieldOption("smooth", flag="--smooth-lines", metavar="SIGMA"),
    FieldOption("silhouette", flag="--no-silhouette", help="don't draw the outline against the outside"),
    FieldOption("inner", flag="--no-inner", help="don't draw lines where parts meet"),
    FieldOption("parts", names=True, help="only these parts, comma-separated"),
    FieldOption("frames"),
]
"""The ``inkpaint ink`` options: types, defaults and help come from :class:`InkJob`'s fields (see
:mod:`inkpaint.ops.job_options`)."""


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ink", help="draw line art (silhouettes, part lines, optional tone lines) from part mattes")
    add_field_options(p, InkJob, CLI_OPTIONS)
    add_common_options(p)
    p.set_defaults(make_job=_job_from_args)


def _job_from_args(args: argparse.Namespace) -> InkJob:
    _, output = common_settings(args)
    job = InkJob(**job_kwargs(args, InkJob, CLI_OPTIONS), output_options=output)
    job.validate()
    return job


__all__ = ["InkJob", "InkStage", "JOB", "run", "add_cli", "MatteSource", "PartLabels", "read_tone", "line_width", "ink_margin", "write_ink_frame", "NON_PART_LAYERS"]

_ = Any
