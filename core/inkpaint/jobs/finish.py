"""The finish job: flat cels painted from mattes, tones, lines and a palette (moved from ``inkpaint.ops.finish``,
which re-exports it and runs it)."""

from __future__ import annotations

import dataclasses

from .errors import SpecError
from .frames import FrameSequence
from .spec import ColorSettings, JobSpec, OutputSettings


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
    HASH_FILES = ("palette",)

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

__all__ = ["FinishJob"]
