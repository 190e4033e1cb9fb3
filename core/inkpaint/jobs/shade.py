"""The shade job: every part split into tone regions (moved from ``inkpaint.ops.shade``, which re-exports it), and
the per-part tone overrides the shade and cel jobs share (moved from ``inkpaint.cel.tones``)."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from .errors import SpecError
from .frames import FrameSequence, parse_frame_range
from .spec import ColorSettings, JobSpec, OutputSettings


@dataclasses.dataclass
class PartTones:
    """Per-part settings (overrides of the job's defaults).

    Attributes:
        tones: 2, 3 or 4 (``None``: the job's).
        shadow: target share of the part in shadow over the shot, 0..1 (``None``: fitted).
        threshold_l: base/shadow threshold in CIE L* (0..100); pixels darker are shadow. Wins over ``shadow``.
        bias: deprecated (kept so old job files load): added to the threshold in L* units, + = more shadow.
    """

    tones: int | None = None
    bias: float = 0.0
    shadow: float | None = None
    threshold_l: float | None = None


@dataclasses.dataclass
class ShadeJob(JobSpec):
    """Split every part into tone regions.

    Attributes:
        input: plate pattern.
        mattes: matte EXR pattern (roto output).
        output: tone EXR pattern (channel ``tone``).
        frames: frame range; ``None`` = every plate frame on disk.
        tones: 2 (base/shadow), 3 (+ highlight) or 4 (+ second shadow).
        fit_frames: frames to fit the tone model on (user keyframes, e.g. ``"1001,1040"``); ``None`` samples
            ``fit_samples`` frames evenly over the range.
        fit_samples: frames sampled for the fit when ``fit_frames`` is not given.
        parts: per-part overrides: ``{"skin": {"shadow": 0.3}, "hair": {"tones": 3, "threshold_l": 35}}``
            (``shadow``: share of the part in shadow over the shot, 0..1; ``threshold_l``: threshold in L*;
            ``bias``: deprecated L* offset, still accepted).
        shadow: target shadow share (0..1) for every part without its own; ``None`` fits each part.
        smoothing: strength of the lightness smoothing within each part before thresholding (0 off, 1 default:
            radius = frame height / 240 px).
        contact_sheet: write ``<prefix>.contact.png`` (plate | parts | tones on frames spread over the shot).
        hysteresis: unused (kept so old job files load; smoothing replaced the hysteresis band).
        min_region: smallest tone region kept, in pixels (a floor; regions under 1% of their part also go).
        highlight_sigma: highlight threshold above the base cluster, robust standard deviations.
        model: a tone-model JSON from an earlier shade run to apply instead of fitting.
        method: ``classic`` (per-part thresholds fitted once per shot) or ``learned`` (the tonal U-Net, issue 15:
            also writes a ``tonal`` channel with the five classes; needs torch).
        color: input colour management for the plate.
        output_options: compression and overwrite.
    """

    TYPE = "shade"
    HASH_EXCLUDE = JobSpec.HASH_EXCLUDE | {"contact_sheet"}  # a QC picture, not part of the results

    input: str
    mattes: str
    output: str
    frames: str | None = None
    tones: int = 2
    fit_frames: str | None = None
    fit_samples: int = 12
    parts: dict[str, PartTones] = dataclasses.field(default_factory=dict)
    hysteresis: float = 0.04
    min_region: int = 24
    highlight_sigma: float = 3.5
    model: str | None = None
    method: Literal["classic", "learned"] = "classic"
    shadow: float | None = None
    smoothing: float = 1.0
    contact_sheet: bool = True
    color: ColorSettings = dataclasses.field(default_factory=ColorSettings)
    output_options: OutputSettings = dataclasses.field(default_factory=OutputSettings)

    def validate(self) -> None:
        check_tone_settings(self)
        FrameSequence.parse(self.input, what="input")
        FrameSequence.parse(self.mattes, what="mattes")
        FrameSequence.parse(self.output, what="output")
        if not self.output.lower().endswith(".exr"):
            raise SpecError("output", f"'{self.output}' must be an .exr pattern (the tone channel is data)")


def check_tone_settings(job: Any, prefix: str = "") -> None:
    """Validate the tone fields shared by the shade and cel jobs (``tones``, ``parts``, ``fit_*`` ...)."""
    if getattr(job, "method", "classic") not in ("classic", "learned"):
        raise SpecError(f"{prefix}method", f"must be 'classic' (tone fit per shot) or 'learned' (the tonal U-Net); got {job.method!r}")
    if job.tones not in (2, 3, 4):
        raise SpecError(f"{prefix}tones", f"must be 2 (base/shadow), 3 (+ highlight) or 4 (+ second shadow) (--tones); got {job.tones}")
    for name, ov in job.parts.items():
        if ov.tones is not None and ov.tones not in (2, 3, 4):
            raise SpecError(f"{prefix}parts.{name}.tones", f"must be 2, 3 or 4 (--part {name}:tones=N); got {ov.tones}")
        if ov.shadow is not None and not 0.0 <= ov.shadow <= 1.0:
            raise SpecError(f"{prefix}parts.{name}.shadow", f"must be a share of the part within 0..1 (--part {name}:shadow=0.3); got {ov.shadow}")
        if ov.threshold_l is not None and not 0.0 <= ov.threshold_l <= 100.0:
            raise SpecError(f"{prefix}parts.{name}.threshold_l", f"must be a CIE L* within 0..100 (--part {name}:threshold_l=45); got {ov.threshold_l}")
    shadow = getattr(job, "shadow", None)
    if shadow is not None and not 0.0 <= shadow <= 1.0:
        raise SpecError(f"{prefix}shadow", f"must be a share within 0..1 (--shadow 0.3); got {shadow}")
    if getattr(job, "smoothing", 1.0) < 0:
        raise SpecError(f"{prefix}smoothing", f"must be >= 0 (--smoothing; 0 = off, 1 = default); got {job.smoothing}")
    if job.fit_samples < 1:
        raise SpecError(f"{prefix}fit_samples", f"must be >= 1, got {job.fit_samples}")
    if job.fit_frames:
        parse_frame_range(job.fit_frames)
    if job.hysteresis < 0:
        raise SpecError(f"{prefix}hysteresis", f"must be >= 0, got {job.hysteresis}")
    if job.min_region < 0:
        raise SpecError(f"{prefix}min_region", f"must be >= 0, got {job.min_region}")
    if job.highlight_sigma <= 0:
        raise SpecError(f"{prefix}highlight_sigma", f"must be > 0, got {job.highlight_sigma}")



JOB = ShadeJob

__all__ = ["PartTones", "ShadeJob", "check_tone_settings"]
