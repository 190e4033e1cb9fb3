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

import numpy as np

from ..cel.labels import bounding_box
from ..cel.paint import ink_over, over, paint_cel, srgb_to_linear, unpremultiply
from ..errors import FrameError, SpecError
from ..io.frames import read_image, read_rgb, write_exr, write_png
from ..io.sequence import FrameSequence
from ..palette import Palette, load_palette
from ..progress import RunContext
from ..spec import ColorSettings, JobSpec, OutputSettings, resolve_path
from .base import FrameOutputs, JobResult, write_manifest
from .ink import MatteSource, read_tone
from .roto import add_common_options, common_settings

log = logging.getLogger("inkpaint.finish")

PNG_LAYERS = ("colour", "ink", "tone")


def layer_pattern(pattern: str, layer: str) -> str:
    """Sibling sequence of a layer: ``cel/shot.####.png`` -> ``cel/shot.colour.####.png``."""
    seq = FrameSequence.parse(pattern)
    token = pattern[len(seq.prefix) : len(pattern) - len(seq.suffix)]
    prefix = seq.prefix
    sep = "" if prefix == "" or prefix.endswith(("/", ".", "_", "-")) else "."
    return f"{prefix}{sep}{layer}.{token}{seq.suffix}"


@dataclasses.dataclass
class FinishJob(JobSpec):
    """Paint flat cels.

    Attributes:
        mattes: matte EXR pattern (roto output).
        palette: colour design sheet YAML (inkpaint design sheet or BasicPBC ``colorbook.yml``).
        output: composite pattern (``.exr`` or ``.png``).
        tones: shade output pattern; ``None`` paints every part in its normal colour.
        ink: ink output pattern (``ink.A``); ``None`` paints no lines.
        over: background: an image sequence pattern or one still image; ``None`` leaves the cel transparent.
        frames: frame range; ``None`` = every matte frame on disk.
        layers: also write the colour, ink and tone layers.
        color: colour management of the background.
        output_options: compression and overwrite.
    """

    TYPE = "finish"

    mattes: str
    palette: str
    output: str
    tones: str | None = None
    ink: str | None = None
    over: str | None = None
    frames: str | None = None
    layers: bool = True
    color: ColorSettings = dataclasses.field(default_factory=ColorSettings)
    output_options: OutputSettings = dataclasses.field(default_factory=OutputSettings)

    def validate(self) -> None:
        FrameSequence.parse(self.mattes, what="mattes")
        FrameSequence.parse(self.output, what="output")
        if self.tones:
            FrameSequence.parse(self.tones, what="tones")
        if self.ink:
            FrameSequence.parse(self.ink, what="ink")
        if not self.output.lower().endswith((".exr", ".png")):
            raise SpecError("output", f"'{self.output}' must end in .exr or .png")
        if not self.palette:
            raise SpecError("palette", "is required: a design sheet YAML or a BasicPBC colorbook.yml")


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


def read_ink(path: str, frame: int, size: tuple[int, int]) -> np.ndarray:
    """The ``ink.A`` channel of an ink frame (or the alpha/darkness of a line-art PNG), ``(H, W)`` float32."""
    img = read_image(path, frame=frame)
    if (img.width, img.height) != tuple(size):
        raise FrameError(f"ink is {img.width}x{img.height} but the mattes are {size[0]}x{size[1]}", frame=frame, path=path)
    if "ink.A" in img.channels:
        return img.channel("ink.A")
    if path.lower().endswith(".png") and img.pixels.shape[2] >= 3:
        return 1.0 - img.pixels[..., :3].mean(axis=2)
    raise FrameError(f"has no 'ink.A' channel (expected the ink output); channels present: {', '.join(img.channels)}", frame=frame, path=path)


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
    comp = ink_over(colour, alpha, tuple(ink_c))  # type: ignore[arg-type]
    if background is not None:
        bg = srgb_to_linear(background) if linear else background.astype(np.float32)
        comp = over(comp, bg)
    return CelFrame(comp, colour)


def run(job: FinishJob, ctx: RunContext) -> JobResult:
    """Run a finish job. Resumable: frames already written by the same job are skipped."""
    t0 = time.perf_counter()
    job.validate()
    palette = load_palette(resolve_path(job, job.palette))
    mattes_pattern = resolve_path(job, job.mattes)
    frames = FrameSequence.parse(mattes_pattern, what="mattes").resolve_frames(job.frames)
    mattes = MatteSource(mattes_pattern, frames, what="mattes")
    palette.check_parts(mattes.names, what=f"mattes '{mattes.path(frames[0])}'")
    tone_seq = FrameSequence.parse(resolve_path(job, job.tones), what="tones") if job.tones else None
    ink_seq = FrameSequence.parse(resolve_path(job, job.ink), what="ink") if job.ink else None
    for seq in (tone_seq, ink_seq):
        if seq is not None:
            seq.resolve_frames(frames)
    bg = Background(resolve_path(job, job.over), job.color, mattes) if job.over else None
    out_pattern = resolve_path(job, job.output)
    png = out_pattern.lower().endswith(".png")
    job_hash = job.job_hash()
    out = FrameOutputs(out_pattern, job_hash, overwrite=job.output_options.overwrite, what="output")
    done = out.prepare(frames)
    layer_outs: dict[str, FrameOutputs] = {}
    if png and job.layers:
        for layer in PNG_LAYERS:
            lo = FrameOutputs(layer_pattern(out_pattern, layer), job_hash, overwrite=job.output_options.overwrite, what=f"{layer} layer")
            done &= lo.prepare(frames)
            layer_outs[layer] = lo
    todo = [f for f in frames if f not in done]
    lut = palette.tone_lut(mattes.names)
    lut_lin = srgb_to_linear(lut)
    ctx.report("finish", 0, len(todo), message=f"{len(done)} frame(s) already done" if done else "")
    written: list[int] = []
    empty: list[int] = []
    for f in todo:
        ctx.check_cancel()
        labels = mattes.labels(f)
        if not labels.any():
            empty.append(f)
        tone = read_tone(tone_seq.path(f), f, mattes.size) if tone_seq is not None else None
        if tone is not None:
            tone = np.where(labels > 0, tone, 0).astype(np.uint8)
        ink = read_ink(ink_seq.path(f), f, mattes.size) if ink_seq is not None else None
        background = bg.rgb(f) if bg is not None else None
        cel = render_cel(labels, tone, ink, palette, mattes.names, linear=not png, background=background, lut=lut if png else lut_lin)
        meta = out.metadata(f, {"inkpaint:parts": ",".join(mattes.names), "inkpaint:palette": palette.source})
        tone_codes = tone if tone is not None else np.where(labels > 0, 1, 0).astype(np.uint8)
        ink_a = ink if ink is not None else np.zeros(labels.shape, np.float32)
        if png:
            # layers first, the composite last: the composite's presence marks the frame complete
            if job.layers:
                write_png(layer_outs["colour"].path(f), cel.colour, metadata=meta)
                ink_rgba = np.zeros(labels.shape + (4,), np.uint8)
                ink_rgba[..., :3] = palette.ink
                ink_rgba[..., 3] = np.clip(np.rint(ink_a * 255), 0, 255).astype(np.uint8)
                write_png(layer_outs["ink"].path(f), ink_rgba, metadata=meta)
                write_png(layer_outs["tone"].path(f), tone_codes, metadata=meta)
            straight = unpremultiply(cel.composite)
            write_png(out.path(f), np.clip(np.rint(straight * 255), 0, 255).astype(np.uint8), metadata=meta)
        else:
            comp = cel.composite
            channels = {"R": comp[..., 0], "G": comp[..., 1], "B": comp[..., 2], "A": comp[..., 3]}
            if job.layers:
                col = cel.colour
                channels.update({"colour.R": col[..., 0], "colour.G": col[..., 1], "colour.B": col[..., 2], "colour.A": col[..., 3]})
                channels["ink.A"] = ink_a
                channels["tone"] = tone_codes.astype(np.float32)
            write_exr(out.path(f), channels, metadata={**meta, "oiio:ColorSpace": "lin_rec709_scene"}, compression=job.output_options.compression)
        written.append(f)
        ctx.report("finish", len(written), len(todo), frame=f)
    if empty:
        log.warning("finish: %d frame(s) have empty mattes; their cels are empty (first: frame %d)", len(empty), empty[0])
    outputs = {"cel": out_pattern, **{k: v.pattern for k, v in layer_outs.items()}}
    result = JobResult(
        "finish", job_hash, outputs, frames, written, sorted(done),
        summary={"parts": mattes.names, "palette": palette.source, "empty_frames": empty, "seconds": round(time.perf_counter() - t0, 3)},
    )
    result.manifest = write_manifest(job, result, out_pattern)
    return result


def add_cli(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("finish", help="paint flat cels from mattes, tones, ink and a colour design sheet")
    p.add_argument("--mattes", required=True, help="matte EXR pattern from roto")
    p.add_argument("--tones", help="tone EXR pattern from shade (default: every part in its normal colour)")
    p.add_argument("--ink", help="ink EXR pattern from ink (default: no lines)")
    p.add_argument("--palette", required=True, help="design sheet YAML or BasicPBC colorbook.yml")
    p.add_argument("--out", required=True, help="cel pattern: .exr (composite + colour/ink/tone layers) or .png")
    p.add_argument("--over", help="background image or sequence to composite the cel over")
    p.add_argument("--no-layers", action="store_true", help="write only the composite")
    p.add_argument("--frames", help="frame range (default: every matte frame on disk)")
    add_common_options(p)
    p.set_defaults(make_job=_job_from_args)


def _abs(path: str | None) -> str | None:
    return os.path.abspath(path) if path else None


def _job_from_args(args: argparse.Namespace) -> FinishJob:
    color, output = common_settings(args)
    job = FinishJob(
        mattes=os.path.abspath(args.mattes),
        palette=os.path.abspath(args.palette),
        output=os.path.abspath(args.out),
        tones=_abs(args.tones),
        ink=_abs(args.ink),
        over=_abs(args.over),
        frames=args.frames,
        layers=not args.no_layers,
        color=color,
        output_options=output,
    )
    job.validate()
    return job


__all__ = ["FinishJob", "JOB", "run", "add_cli", "render_cel", "CelFrame", "layer_pattern", "read_ink"]
