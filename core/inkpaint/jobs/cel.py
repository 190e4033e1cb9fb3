"""The cel job: roto, shade, ink and finish a plate in one job (moved from ``inkpaint.ops.cel``, which re-exports
it and runs the stages fused)."""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Literal

from .errors import SpecError
from .finish import FinishJob
from .frames import FrameSequence
from .ink import InkJob
from .roto import RotoJob, RotoObject
from .shade import PartTones, ShadeJob, check_tone_settings
from .spec import ColorSettings, JobSpec, OutputSettings


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
        smooth_lines: ink part boundaries smoothed with this Gaussian sigma (px), sub-pixel (0: pixel boundaries).
        tones: 2, 3 or 4.
        fit_frames: keyframes to fit tones on; ``None`` samples ``fit_samples`` frames.
        fit_samples: frames sampled for the tone fit.
        parts: per-part tone overrides.
        hysteresis: tone hysteresis band.
        min_region: smallest tone region, pixels.
        highlight_sigma: highlight threshold, robust standard deviations above base.
        method: tone method, ``classic`` or ``learned`` (see :class:`ShadeJob`).
        shadow: target shadow share (0..1) for every part without its own (see :class:`ShadeJob`).
        smoothing: tone smoothing strength (see :class:`ShadeJob`).
        contact_sheet: write ``out_dir/<shot>.contact.png`` (plate | parts | tones | cel, palette row).
        over: background image or sequence for the composite.
        cel_format: ``exr`` (layers in one multi-layer EXR) or ``png`` (8-bit sequences).
        mattes: existing part mattes (EXR pattern with ``<part>.A`` channels) to use instead of running roto.
        color: plate colour management.
        over_color: how to read ``over`` when it is managed differently from the plate (e.g. a background rendered
            in the working space behind a scene-linear plate); ``None`` = ``color``.
        output_options: compression and overwrite.
    """

    TYPE = "cel"
    HASH_EXCLUDE = JobSpec.HASH_EXCLUDE | {"contact_sheet"}  # a QC picture, not part of the results
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
    smooth_lines: float = 1.0
    tones: int = 2
    fit_frames: str | None = None
    fit_samples: int = 12
    parts: dict[str, PartTones] = dataclasses.field(default_factory=dict)
    hysteresis: float = 0.04
    min_region: int = 24
    highlight_sigma: float = 3.5
    method: Literal["classic", "learned"] = "classic"
    shadow: float | None = None
    smoothing: float = 1.0
    contact_sheet: bool = True
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
            highlight_sigma=self.highlight_sigma, method=self.method, shadow=self.shadow, smoothing=self.smoothing,
            contact_sheet=False, color=self.color, output_options=oo,
        )
        ink = InkJob(
            mattes=roto_p, output=ink_p, frames=self.frames, width=self.width, width_reference=self.width_reference,
            tones=tone_p if self.tone_lines else None, smooth=self.smooth_lines, output_options=oo,
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

__all__ = ["CelJob"]
