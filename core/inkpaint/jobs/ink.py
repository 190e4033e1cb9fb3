"""The ink job: line art from part mattes (moved from ``inkpaint.ops.ink``, which re-exports it and runs it)."""

from __future__ import annotations

import dataclasses

from .errors import SpecError
from .frames import FrameSequence
from .spec import JobSpec, OutputSettings


@dataclasses.dataclass
class InkJob(JobSpec):
    """Draw line art from part mattes.

    Attributes:
        mattes: matte EXR pattern (roto output, ``<part>.A`` channels).
        output: output pattern (``.exr``: ``ink.A``, ``ink_hard.A`` [, ``trace.A``]; ``.png``: black lines on white).
        frames: frame range; ``None`` = every matte frame on disk.
        width: line width in pixels.
        width_reference: image height the width is given at (e.g. 1080); ``None`` = pixels of this frame.
        silhouette: draw the outline against the outside.
        inner: draw lines where two parts meet.
        tones: optional shade output pattern; when given, tone boundaries are drawn too (into ``ink.A`` and
            ``trace.A``).
        tone_width: width of tone lines (default: ``width``).
        smooth: part boundaries are smoothed with this Gaussian sigma (px) and inked at sub-pixel precision, so a
            stair-stepped matte gives a smooth line (0: lines on the pixel boundaries, as before).
        parts: only these parts (default: all).
        output_options: compression and overwrite.
    """

    TYPE = "ink"

    mattes: str
    output: str
    frames: str | None = None
    width: float = 2.0
    width_reference: int | None = None
    silhouette: bool = True
    inner: bool = True
    tones: str | None = None
    tone_width: float | None = None
    smooth: float = 1.0
    parts: list[str] | None = None
    output_options: OutputSettings = dataclasses.field(default_factory=OutputSettings)

    def validate(self) -> None:
        FrameSequence.parse(self.mattes, what="mattes")
        FrameSequence.parse(self.output, what="output")
        if self.tones:
            FrameSequence.parse(self.tones, what="tones")
        if not self.width > 0:
            raise SpecError("width", f"must be > 0 px, got {self.width}")
        if self.tone_width is not None and not self.tone_width > 0:
            raise SpecError("tone_width", f"must be > 0 px, got {self.tone_width}")
        if not self.smooth >= 0:
            raise SpecError("smooth", f"must be >= 0 px (0 = lines on the pixel boundaries), got {self.smooth}")
        if self.width_reference is not None and self.width_reference <= 0:
            raise SpecError("width_reference", f"must be a positive image height, got {self.width_reference}")
        if not (self.silhouette or self.inner or self.tones):
            raise SpecError("silhouette", "nothing to draw: silhouette, inner and tone lines are all off")
        if not self.output.lower().endswith((".exr", ".png")):
            raise SpecError("output", f"'{self.output}' must end in .exr or .png")



JOB = InkJob

__all__ = ["InkJob"]
