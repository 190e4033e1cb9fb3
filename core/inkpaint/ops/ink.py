"""The ink operation: line art from part mattes.

Reads the roto output (one ``<part>.A`` channel per part, looked up by name) and writes per frame:

- EXR: ``ink.A`` (anti-aliased line coverage), ``ink_hard.A`` (binary lines, closed curves for paint-bucket
  fills) and, with tone lines, ``trace.A`` (tone boundaries alone, the colour-trace lines).
- PNG: black line art on white (the hard lines), the form paint-bucket tools read.

Lines are centred on part boundaries (silhouette and where parts meet) and ``width`` px wide; ``width_reference``
makes the width resolution-independent (the width is given at that image height and scales with the frame).
This module also holds :class:`MatteSource`, the matte reader the shade, finish and cel operations share.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import time
from typing import Any

import numpy as np

from ..cel.ink import InkLines, draw_ink
from ..cel.labels import MAX_PARTS, bounding_box, mattes_to_labels
from ..errors import FrameError, MissingChannelError, SpecError
from ..io.frames import ImageData, Window, paste, read_attributes, read_image, write_png
from ..io.sequence import FrameSequence
from ..progress import RunContext
from ..spec import OutputSettings, resolve_path
from .base import FrameOutputs, JobResult, run_frames, write_manifest, write_window_exr
from .job_options import FieldOption, add_field_options, job_kwargs
from .roto import add_common_options, common_settings
from ..jobs.ink import InkJob  # noqa: F401  (job class lives in inkpaint.jobs)

log = logging.getLogger("inkpaint.ink")

NON_PART_LAYERS = frozenset({"ink", "ink_hard", "trace", "colour", "tone", "rgba", "composite"})
"""``<layer>.A`` channels that are never part mattes."""


class MatteSource:
    """Part mattes read by channel name from an EXR sequence (the roto output), turned into label images.

    Parts are the ``<part>.A`` channels of the first frame (minus Cryptomatte and inkpaint's own layers), in the
    order of the roto header ``inkpaint:objects`` when present, else sorted by name.

    Args:
        pattern: matte pattern (``roto/shot.####.exr``).
        frames: frames to read.
        what: option/field named in errors.
        parts: use only these parts (each must exist).

    Raises:
        FrameError: the first frame is unreadable or holds no ``<part>.A`` channel.
        SpecError: a requested part is absent.
    """

    def __init__(self, pattern: str, frames: list[int], *, what: str = "--mattes", parts: list[str] | None = None) -> None:
        self.seq = FrameSequence.parse(pattern, what=what)
        self.what = what
        first = self.seq.path(frames[0])
        attrs = read_attributes(first, frames[0])
        channels = [str(c) for c in attrs["channelnames"]]
        found = [c[:-2] for c in channels if c.endswith(".A") and c[:-2] not in NON_PART_LAYERS and not c.startswith("Crypto")]
        if not found:
            raise FrameError(
                f"has no part matte channels ('<part>.A'); channels present: {', '.join(channels)}. "
                f"{what} must be the roto output",
                frame=frames[0],
                path=first,
            )
        order = attrs.get("inkpaint:objects")
        if isinstance(order, str) and order:
            ordered = [n for n in order.split(",") if n in found]
            names = ordered + sorted(n for n in found if n not in ordered)
        else:
            names = sorted(found)
        if parts:
            missing = [p for p in parts if p not in names]
            if missing:
                raise SpecError("parts", f"part(s) {', '.join(missing)} not in the mattes '{first}'; it has {', '.join(names)}")
            names = [n for n in names if n in parts]
        if len(names) > MAX_PARTS:
            raise FrameError(f"has {len(names)} parts; at most {MAX_PARTS} are supported", frame=frames[0], path=first)
        self.names = names
        self.size = (int(attrs["width"]), int(attrs["height"]))

    def path(self, frame: int) -> str:
        return self.seq.path(frame)

    def mattes(self, frame: int) -> list[np.ndarray]:
        """The part mattes of ``frame``, ``(H, W)`` float32 each, in :attr:`names` order.

        Raises:
            FrameError: unreadable, resolution differs from the first frame, or a part channel is missing.
        """
        img = self._read(frame)
        full = Window.full(self.size)
        return [paste(plane, img.window or full, full) for plane in img.pixels]

    def _read(self, frame: int) -> ImageData:
        """The part channels of ``frame`` in the file's data window, checked against the first frame's size, as
        ``(P, h, w)`` planes (OpenCV works on contiguous planes)."""
        return read_layer(
            self.path(frame), frame, self.size, [f"{n}.A" for n in self.names], "data", "mattes",
            f"the parts of the first frame: {', '.join(self.names)}", against="the first matte frame is", planar=True,
        )

    def labels(self, frame: int) -> np.ndarray:
        """``(H, W)`` uint8 part labels of ``frame`` (0 outside, ``i + 1`` for ``names[i]``)."""
        return self.part_labels(frame).full()

    def part_labels(self, frame: int, margin: int = 0) -> "PartLabels":
        """The part labels of ``frame`` inside the parts' bounding box grown by ``margin`` px.

        Only the matte file's data window is decoded, so bounding-box mattes (inkpaint's roto output, Nuke
        renders) read in a fraction of a full frame's time.

        Raises:
            FrameError: unreadable, resolution differs from the first frame, or a part channel is missing.
        """
        img = self._read(frame)
        assert img.window is not None
        planes = img.pixels
        labels = mattes_to_labels(planes) if planes.size else np.zeros((img.window.height, img.window.width), np.uint8)
        box = bounding_box(labels > 0)
        if box is None:
            return PartLabels(np.zeros((0, 0), np.uint8), Window(0, 0, 0, 0), self.size)
        window = Window.from_slices(box, within=img.window).grow(margin, self.size)
        return PartLabels(paste(labels, img.window, window), window, self.size)

    def check_size(self, size: tuple[int, int], other: str, other_path: str, frame: int) -> None:
        """Raise a :class:`FrameError` naming both files when ``size`` differs from the mattes'."""
        if tuple(size) != tuple(self.size):
            raise FrameError(
                f"the mattes are {self.size[0]}x{self.size[1]} ('{self.path(frame)}') but the {other} is "
                f"{size[0]}x{size[1]} ('{other_path}'); they must have the same resolution",
                frame=frame,
            )


@dataclasses.dataclass
class PartLabels:
    """The part labels of one frame, inside a window of it (zero outside the window).

    Attributes:
        labels: ``(window.height, window.width)`` uint8: 0 outside every part, ``i + 1`` for part ``i``.
        window: where ``labels`` sit in the frame; empty when the frame has no part pixels.
        size: the frame's ``(width, height)``.
    """

    labels: np.ndarray
    window: Window
    size: tuple[int, int]

    @property
    def empty(self) -> bool:
        return self.window.empty

    def full(self) -> np.ndarray:
        """``(H, W)`` uint8 labels of the whole frame."""
        return paste(self.labels, self.window, Window.full(self.size))

    def within(self, window: Window) -> np.ndarray:
        """The labels re-framed onto ``window`` (zeros where the parts' window doesn't reach)."""
        return paste(self.labels, self.window, window)


def read_tone(path: str, frame: int, size: tuple[int, int], window: Window | None = None) -> np.ndarray:
    """Read the ``tone`` channel of a shade output frame as uint8 codes.

    Args:
        window: the region wanted (``None``: the whole frame ``(H, W)``).

    Raises:
        FrameError: unreadable, no ``tone`` channel, or a size other than ``size``.
    """
    img = read_layer(path, frame, size, ["tone"], window, "tones", "the shade output")
    return np.clip(np.rint(img.pixels[..., 0]), 0, 4).astype(np.uint8)


def read_layer(
    path: str,
    frame: int,
    size: tuple[int, int],
    channels: list[str] | None,
    window: Window | str | None,
    what: str,
    expected: str,
    *,
    against: str = "the mattes are",
    planar: bool = False,
) -> ImageData:
    """Read channels of a layer frame (mattes, tones, ink ...) and check it has the frame ``size``.

    Args:
        what: the layer as named in errors (``"tones"``).
        expected: what the file should be (``"the shade output"``), named when a channel is missing.
        against: what ``size`` is, as named in the size error.
        planar: read ``(C, h, w)`` planes (:func:`inkpaint.io.frames.read_image`).

    Raises:
        FrameError: unreadable, a channel missing, or another size (names the frame and file).
    """
    try:
        img = read_image(path, frame=frame, channels=channels, window=window, planar=planar)
    except MissingChannelError as exc:
        raise MissingChannelError(f"{exc.reason} (expected {expected})", frame=frame, path=path) from None
    if img.frame_size != tuple(size):
        w, h = img.frame_size
        raise FrameError(f"{what} {'is' if what == 'ink' else 'are'} {w}x{h} but {against} {size[0]}x{size[1]}", frame=frame, path=path)
    return img


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
