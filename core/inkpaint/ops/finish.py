"""The finish operation: flat painted cels from mattes, tones, ink and a colour design sheet.

Every pixel of a part gets the exact palette colour of its part and tone (no blending inside regions); the ink
line goes on top; optionally the cel is composited over a background.

Output per frame:

- **EXR** (scene-linear, premultiplied, like every EXR): ``R, G, B, A`` the composite, plus the layers kept
  separately: ``colour.R/G/B/A`` (the flat paint, no ink), ``ink.A`` (the line) and ``tone`` (tone codes).
  Palette colours are converted from sRGB with the exact sRGB curve, so converting back gives the palette values.
- **PNG** (8-bit sRGB, straight alpha): the composite at ``--out`` and the layers as sibling sequences
  ``<name>.colour.####.png``, ``<name>.ink.####.png`` (black lines with alpha) and ``<name>.tone.####.png`` (codes).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import time
from typing import Any

import numpy as np

from ..cel.labels import bounding_box
from ..cel.paint import ink_over, over, paint_cel, srgb_to_linear, unpremultiply
from ..errors import FrameError, SpecError
from ..io.frames import Window, paste, read_rgb, write_png
from ..io.sequence import FrameSequence
from ..palette import Palette, load_palette
from ..progress import RunContext
from ..spec import ColorSettings, OutputSettings, resolve_path
from .base import FrameOutputs, JobResult, run_frames, write_manifest, write_window_exr
from .sources import MatteSource, PartLabels, read_layer, read_tone
from .cli_options import add_common_options, common_settings
from .job_options import FieldOption, add_field_options, job_kwargs
from ..jobs.finish import FinishJob  # noqa: F401  (job class lives in inkpaint.jobs)
from ..jobs.paths import layer_pattern  # noqa: F401

log = logging.getLogger("inkpaint.finish")

PNG_LAYERS = ("colour", "ink", "tone")


JOB = FinishJob


class Background:
    """A background sequence or still, read in the display working space and checked against the mattes' size."""

    def __init__(self, source: str, color: ColorSettings, mattes: MatteSource) -> None:
        try:
            self.seq: FrameSequence | None = FrameSequence.parse(source, what="over")
        except SpecError:
            self.seq = None
        self.source = source
        self.color = color
        self.mattes = mattes
        self._still: np.ndarray | None = None
        if self.seq is None and not os.path.isfile(source):
            raise SpecError("over", f"background '{source}' does not exist (give an image or a sequence pattern)")

    def rgb(self, frame: int) -> np.ndarray:
        """``(H, W, 3)`` float32 display sRGB 0..1."""
        if self.seq is None:
            if self._still is None:
                self._still = read_rgb(self.source, self.color, frame=None)
                self.mattes.check_size((self._still.shape[1], self._still.shape[0]), "background", self.source, frame)
            return self._still
        path = self.seq.path(frame)
        rgb = read_rgb(path, self.color, frame=frame)
        self.mattes.check_size((rgb.shape[1], rgb.shape[0]), "background", path, frame)
        return rgb


def read_ink(path: str, frame: int, size: tuple[int, int]) -> tuple[np.ndarray, Window]:
    """The line coverage of an ink frame: its ``ink.A`` channel (or the darkness of a line-art PNG).

    Returns:
        ``(h, w)`` float32 coverage and the window of the frame it covers: the bounding box of the lines.

    Raises:
        FrameError: unreadable, no ``ink.A`` channel, or a size other than ``size``.
    """
    png = path.lower().endswith(".png")
    img = read_layer(path, frame, size, None if png else ["ink.A"], "data", "ink", "the ink output")
    assert img.window is not None
    if not png:
        alpha = img.pixels[..., 0]
    elif img.pixels.shape[2] >= 3:
        alpha = 1.0 - img.pixels[..., :3].mean(axis=2)
    else:
        raise FrameError(f"is not line art (black lines on white RGB); channels present: {', '.join(img.channels)}", frame=frame, path=path)
    box = bounding_box(alpha > 0)
    if box is None:
        return np.zeros((0, 0), np.float32), Window(0, 0, 0, 0)
    return np.ascontiguousarray(alpha[box]), Window.from_slices(box, within=img.window)


@dataclasses.dataclass
class CelFrame:
    """One finished frame.

    Attributes:
        composite: ``(H, W, 4)`` float32 premultiplied RGBA (linear for EXR, sRGB for PNG).
        colour: ``(H, W, 4)`` flat paint, straight alpha (float32 linear for EXR, uint8 sRGB for PNG).
    """

    composite: np.ndarray
    colour: np.ndarray


def render_cel(
    labels: np.ndarray,
    tone: np.ndarray | None,
    ink_alpha: np.ndarray | None,
    palette: Palette,
    names: list[str],
    *,
    linear: bool,
    background: np.ndarray | None = None,
    lut: np.ndarray | None = None,
) -> CelFrame:
    """Paint one frame (array in, arrays out; shared by finish, cel and the benchmark).

    Args:
        labels: ``(H, W)`` uint8 part labels.
        tone: ``(H, W)`` uint8 tone codes, or ``None`` (all base).
        ink_alpha: ``(H, W)`` float32 line coverage, or ``None``.
        palette: the design sheet.
        names: part names in label order.
        linear: paint in scene-linear floats (EXR) rather than 8-bit sRGB (PNG).
        background: ``(H, W, 3)`` float32 display sRGB 0..1 to composite over, or ``None``.
        lut: precomputed colour lut (``palette.tone_lut(names)``, linearised when ``linear``).
    """
    if lut is None:
        lut = palette.tone_lut(names)
        if linear:
            lut = srgb_to_linear(lut)
    # paint only the bounding box of the parts and their lines; outside it the cel is empty (or the background)
    h, w = labels.shape
    region = labels > 0
    if ink_alpha is not None:
        region = region | (ink_alpha > 0)
    box = bounding_box(region)
    if box is not None and (box[0].stop - box[0].start) * (box[1].stop - box[1].start) * 2 >= h * w:
        # mostly parts already (a window around them): painting the rest too is cheaper than cropping and pasting
        return _render_box(labels, tone, ink_alpha, palette, linear, background, lut)
    colour_full = np.zeros((h, w, 4), lut.dtype)
    if background is not None:
        comp_full = np.ones((h, w, 4), np.float32)
        comp_full[..., :3] = srgb_to_linear(background) if linear else background
    else:
        comp_full = np.zeros((h, w, 4), np.float32)
    if box is None:
        return CelFrame(comp_full, colour_full)
    sub = _render_box(
        labels[box], tone[box] if tone is not None else None, ink_alpha[box] if ink_alpha is not None else None,
        palette, linear, background[box] if background is not None else None, lut,
    )
    comp_full[box] = sub.composite
    colour_full[box] = sub.colour
    return CelFrame(comp_full, colour_full)


def _render_box(labels: np.ndarray, tone: np.ndarray | None, ink_alpha: np.ndarray | None, palette: Palette, linear: bool, background: np.ndarray | None, lut: np.ndarray) -> CelFrame:
    if tone is None:
        tone = np.where(labels > 0, 1, 0).astype(np.uint8)
    colour = paint_cel(labels, tone, lut)
    ink = np.asarray(palette.ink, np.uint8)
    ink_c = srgb_to_linear(ink) if linear else ink
    alpha = ink_alpha if ink_alpha is not None else np.zeros(labels.shape, np.float32)
    comp = ink_over(colour, alpha, tuple(ink_c), binary_alpha=True)
    if background is not None:
        bg = srgb_to_linear(background) if linear else background.astype(np.float32)
        comp = over(comp, bg)
    return CelFrame(comp, colour)


def finish_frame(
    parts: PartLabels,
    tone: np.ndarray | None,
    ink: np.ndarray | None,
    palette: Palette,
    names: list[str],
    *,
    linear: bool,
    lut: np.ndarray,
    background: np.ndarray | None = None,
) -> tuple[CelFrame, Window]:
    """Paint one frame inside ``parts.window`` (``tone`` and ``ink`` are that window too, or ``None``).

    With a ``background`` (``(H, W, 3)`` display sRGB, the whole frame) the composite covers the whole frame, so
    the returned window is the whole frame; otherwise it is ``parts.window``.

    Returns:
        The cel and the window of the frame it covers.
    """
    window = parts.window
    if tone is not None:
        tone = np.where(parts.labels > 0, tone, 0).astype(np.uint8)
    if background is None:
        return render_cel(parts.labels, tone, ink, palette, names, linear=linear, lut=lut), window
    full = Window.full(parts.size)
    sub = render_cel(parts.labels, tone, ink, palette, names, linear=linear, lut=lut, background=background[window.slices])
    comp = np.ones((full.height, full.width, 4), np.float32)
    comp[..., :3] = srgb_to_linear(background) if linear else background
    comp[window.slices] = sub.composite
    return CelFrame(comp, paste(sub.colour, window, full)), full


def write_cel_frame(
    path: str,
    cel: CelFrame,
    tone: np.ndarray | None,
    ink: np.ndarray | None,
    parts: PartLabels,
    window: Window,
    options: OutputSettings,
    metadata: dict[str, Any],
    *,
    layers: dict[str, str] | None,
    ink_rgb: tuple[int, int, int],
) -> None:
    """Write one finished frame covering ``window``: the composite EXR with its layers, or the PNGs.

    Args:
        tone, ink: the tone codes and line coverage on ``parts.window`` (``None``: all base / no lines).
        layers: EXR: ``{}`` to add the colour/ink/tone layers, ``None`` for the composite alone; PNG: layer name ->
            path of its sibling PNG (written first; the composite last marks the frame complete).
    """
    labels = parts.within(window)
    tone_codes = paste(tone, parts.window, window) if tone is not None else np.where(labels > 0, 1, 0).astype(np.uint8)
    tone_codes = np.where(labels > 0, tone_codes, 0).astype(np.uint8)
    ink_a = paste(ink, parts.window, window) if ink is not None else np.zeros(labels.shape, np.float32)
    if path.lower().endswith(".png"):
        full = Window.full(parts.size)
        if layers:
            write_png(layers["colour"], paste(cel.colour, window, full), metadata=metadata)
            ink_rgba = np.zeros((full.height, full.width, 4), np.uint8)
            ink_rgba[..., :3] = ink_rgb
            ink_rgba[..., 3] = np.clip(np.rint(paste(ink_a, window, full) * 255), 0, 255).astype(np.uint8)
            write_png(layers["ink"], ink_rgba, metadata=metadata)
            write_png(layers["tone"], paste(tone_codes, window, full), metadata=metadata)
        straight = unpremultiply(paste(cel.composite, window, full))
        write_png(path, np.clip(np.rint(straight * 255), 0, 255).astype(np.uint8), metadata=metadata)
        return
    comp = cel.composite
    channels = {"R": comp[..., 0], "G": comp[..., 1], "B": comp[..., 2], "A": comp[..., 3]}
    if layers is not None:
        col = cel.colour
        channels.update({"colour.R": col[..., 0], "colour.G": col[..., 1], "colour.B": col[..., 2], "colour.A": col[..., 3]})
        channels["ink.A"] = ink_a
        channels["tone"] = tone_codes.astype(np.float16)
    write_window_exr(path, channels, window, parts.size, options, metadata={**metadata, "oiio:ColorSpace": "lin_rec709_scene"})


class FinishStage:
    """A finish job set up to paint frames: its inputs checked, outputs prepared, palette and LUTs loaded.

    :func:`run` drives it frame by frame from files; the cel job drives it from the arrays its other stages
    computed, so both write the same frames.
    """

    def __init__(self, job: FinishJob, ctx: RunContext, *, layers_in_memory: bool = False) -> None:
        """Set up ``job``; ``layers_in_memory``: the tones and lines will be handed to :meth:`paint` (the cel job),
        so their files need not exist yet."""
        job.validate()
        self.job = job
        self.palette = load_palette(resolve_path(job, job.palette))
        mattes_pattern = resolve_path(job, job.mattes)
        self.frames = FrameSequence.parse(mattes_pattern, what="mattes").resolve_frames(job.frames)
        self.mattes = MatteSource(mattes_pattern, self.frames, what="mattes")
        self.palette.check_parts(self.mattes.names, what=f"mattes '{self.mattes.path(self.frames[0])}'")
        self.tone_seq = FrameSequence.parse(resolve_path(job, job.tones), what="tones") if job.tones else None
        self.ink_seq = FrameSequence.parse(resolve_path(job, job.ink), what="ink") if job.ink else None
        for seq in (self.tone_seq, self.ink_seq):
            if seq is not None and not layers_in_memory:
                seq.resolve_frames(self.frames)
        self.background = Background(resolve_path(job, job.over), job.resolve_color(job.color), self.mattes) if job.over else None
        self.out_pattern = resolve_path(job, job.output)
        self.png = self.out_pattern.lower().endswith(".png")
        self.job_hash = job.job_hash()
        overwrite = job.output_options.overwrite
        self.out = FrameOutputs(self.out_pattern, self.job_hash, overwrite=overwrite, what="output")
        done = self.out.prepare(self.frames)
        self.layer_outs: dict[str, FrameOutputs] = {}
        if self.png and job.layers:
            for layer in PNG_LAYERS:
                lo = FrameOutputs(layer_pattern(self.out_pattern, layer), self.job_hash, overwrite=overwrite, what=f"{layer} layer")
                done &= lo.prepare(self.frames)
                self.layer_outs[layer] = lo
        self.done = done
        self.todo = [f for f in self.frames if f not in done]
        lut = self.palette.tone_lut(self.mattes.names)
        self.lut = lut if self.png else srgb_to_linear(lut)
        self.written: list[int] = []
        self.empty: list[int] = []
        self.t0 = time.perf_counter()

    def paint(self, frame: int, parts: PartLabels, tone: np.ndarray | None, ink: np.ndarray | None) -> None:
        """Paint and write ``frame`` from its part labels, tones and line coverage (both on ``parts.window``)."""
        cel, window = self.render(frame, parts, tone, ink)
        self.write(frame, parts, tone, ink, cel, window)

    def render(self, frame: int, parts: PartLabels, tone: np.ndarray | None, ink: np.ndarray | None) -> tuple[CelFrame, Window]:
        """The cel of ``frame`` and the window it covers (see :func:`finish_frame`)."""
        background = self.background.rgb(frame) if self.background is not None else None
        return finish_frame(parts, tone, ink, self.palette, self.mattes.names, linear=not self.png, lut=self.lut, background=background)

    def write(self, frame: int, parts: PartLabels, tone: np.ndarray | None, ink: np.ndarray | None, cel: CelFrame, window: Window) -> None:
        """Write ``frame``'s cel (from :meth:`render`) with its layers."""
        if parts.empty:
            self.empty.append(frame)
        meta = self.out.metadata(frame, {"inkpaint:parts": ",".join(self.mattes.names), "inkpaint:palette": self.palette.source})
        if self.png:
            layers: dict[str, str] | None = {k: v.path(frame) for k, v in self.layer_outs.items()}
        else:
            layers = {} if self.job.layers else None
        write_cel_frame(
            self.out.path(frame), cel, tone, ink, parts, window, self.job.output_options, meta, layers=layers, ink_rgb=self.palette.ink,
        )
        self.written.append(frame)

    def paint_from_files(self, frame: int) -> None:
        """Read ``frame``'s mattes, tones and ink, then :meth:`paint` it."""
        ink, ink_win = read_ink(self.ink_seq.path(frame), frame, self.mattes.size) if self.ink_seq is not None else (None, None)
        parts = self.mattes.part_labels(frame)
        if ink_win is not None and not ink_win.empty:
            # the lines reach beyond the parts (half the line width): paint the union of both boxes
            window = parts.window.union(ink_win)
            parts = PartLabels(parts.within(window), window, parts.size)
        tone = read_tone(self.tone_seq.path(frame), frame, self.mattes.size, parts.window) if self.tone_seq is not None and not parts.empty else None
        ink_crop = paste(ink, ink_win, parts.window) if ink is not None and ink_win is not None else None
        self.paint(frame, parts, tone, ink_crop)

    def result(self) -> JobResult:
        if self.empty:
            log.warning("finish: %d frame(s) have empty mattes; their cels are empty (first: frame %d)", len(self.empty), self.empty[0])
        outputs = {"cel": self.out_pattern, **{k: v.pattern for k, v in self.layer_outs.items()}}
        result = JobResult(
            "finish", self.job_hash, outputs, self.frames, sorted(self.written), sorted(self.done),
            summary={"parts": self.mattes.names, "palette": self.palette.source, "empty_frames": self.empty,
                     "seconds": round(time.perf_counter() - self.t0, 3)},
        )
        result.manifest = write_manifest(self.job, result, self.out_pattern)
        return result


def run(job: FinishJob, ctx: RunContext) -> JobResult:
    """Run a finish job. Resumable: frames already written by the same job are skipped."""
    stage = FinishStage(job, ctx)
    run_frames(ctx, "finish", stage.todo, stage.done, stage.written, stage.paint_from_files)
    return stage.result()


CLI_OPTIONS = [
    FieldOption("mattes", path=True),
    FieldOption("tones", path=True, help="tone EXR pattern from shade (default: every part in its normal colour)"),
    FieldOption("ink", path=True, help="ink EXR pattern from ink (default: no lines)"),
    FieldOption("palette", path=True),
    FieldOption("output", flag="--out", path=True, help="cel pattern: .exr (composite + colour/ink/tone layers) or .png"),
    FieldOption("over", path=True, help="background image or sequence to composite the cel over"),
    FieldOption("layers", flag="--no-layers", help="write only the composite"),
    FieldOption("frames"),
]
"""The ``inkpaint finish`` options, typed and defaulted from :class:`FinishJob`'s fields (:mod:`.job_options`)."""


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("finish", help="paint flat cels from mattes, tones, ink and a colour design sheet")
    add_field_options(p, FinishJob, CLI_OPTIONS)
    add_common_options(p)
    p.set_defaults(make_job=_job_from_args)


def _job_from_args(args: argparse.Namespace) -> FinishJob:
    color, output = common_settings(args)
    job = FinishJob(**job_kwargs(args, FinishJob, CLI_OPTIONS), color=color, output_options=output)
    job.validate()
    return job


__all__ = ["FinishJob", "FinishStage", "JOB", "run", "add_cli", "render_cel", "finish_frame", "write_cel_frame", "CelFrame", "layer_pattern", "read_ink"]
