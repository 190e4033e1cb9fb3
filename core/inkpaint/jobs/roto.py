"""The roto job: named objects with prompts, tracked through a plate (moved from ``inkpaint.ops.roto``, which
re-exports these classes and runs the job)."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal, Optional

from .errors import SpecError
from .frames import FrameSequence, parse_frame_range
from .names import RESERVED_NAMES, check_name, check_unique_names
from .paths import same_pattern as _same_pattern
from .spec import ColorSettings, JobSpec, OutputSettings


def known_backends() -> Optional[set[str]]:
    """The roto backend names this installation knows, or ``None`` without the engine (a host checks no further;
    the worker validates the job again)."""
    try:
        from ..registry import available_backends
    except ImportError:
        return None
    return set(available_backends())


@dataclasses.dataclass
class Prompt:
    """One prompt on one frame. Give any of ``points``, ``box`` and ``mask`` (at least one).

    Attributes:
        frame: the frame it is set on (any frame of the range).
        points: ``[[x, y, label], ...]`` in pixels, top-left origin; label 1 = include, 0 = exclude.
        box: ``[x0, y0, x1, y1]`` in pixels.
        mask: path to a mask image: its alpha when the alpha holds a matte, else its luminance; > 0.5 is inside.
            Relative paths are relative to the prompts file (CLI) or to the job spec file (``inkpaint run``).
    """

    frame: int
    points: list[tuple[float, float, int]] | None = None
    box: tuple[float, float, float, float] | None = None
    mask: str | None = None

    def check(self, path: str) -> None:
        if self.points is None and self.box is None and self.mask is None:
            raise SpecError(path, "a prompt needs at least one of points, box or mask")
        if self.mask is not None and not self.mask.strip():
            raise SpecError(f"{path}.mask", "is an empty path; give a mask image file")
        for i, p in enumerate(self.points or []):
            if p[2] not in (0, 1):
                raise SpecError(f"{path}.points[{i}]", f"label must be 1 (include) or 0 (exclude), got {p[2]}")
        if self.points is not None and not self.points:
            raise SpecError(f"{path}.points", "is empty; give at least one [x, y, label]")
        if self.box is not None:
            x0, y0, x1, y1 = self.box
            if x1 <= x0 or y1 <= y0:
                raise SpecError(f"{path}.box", f"must be [x0, y0, x1, y1] with x1 > x0 and y1 > y0, got {list(self.box)}")


@dataclasses.dataclass
class RotoObject:
    """A named object (or part) and its prompts.

    Attributes:
        name: channel-safe name (letters, digits, underscore; not starting with a digit); becomes layer ``<name>``.
        prompts: prompts on one or more frames.
    """

    name: str
    prompts: list[Prompt]

    def check(self, path: str) -> None:
        check_name(self.name, f"{path}.name")
        if not self.prompts:
            raise SpecError(f"{path}.prompts", f"object {self.name!r} has no prompts")


@dataclasses.dataclass
class RotoJob(JobSpec):
    """Track objects through a plate.

    Attributes:
        input: plate frame pattern (EXR, DPX, TIFF, PNG, JPEG).
        output: matte EXR pattern; must contain a frame token.
        objects: the objects and their prompts.
        frames: frame range (``1001-1100``); ``None`` = every input frame on disk.
        backend: roto backend name (``classic``, ``sam2`` ...).
        backend_options: backend settings (``model``, ``checkpoint``, ``device`` ...).
        direction: ``forward``, ``backward`` or ``both`` from every keyframe.
        contours: also write per-frame outline JSON.
        contours_output: pattern for the contour JSON; default: the output pattern with ``.contours.json``.
        contour_tolerance: Douglas-Peucker tolerance in pixels for simplified outlines.
        cryptomatte: also write a Cryptomatte ``CryptoObject`` layer with a manifest.
        contact_sheet: write ``<prefix>.contact.png`` beside the mattes (plate | parts on frames spread over the
            shot, low-confidence frames flagged).
        qc: also write a per-frame QC overlay sequence ``<prefix>.qc.####.png`` (parts tinted over the plate).
        color: input colour management.
        output_options: compression and overwrite.
    """

    TYPE = "roto"
    HASH_EXCLUDE = JobSpec.HASH_EXCLUDE | {"backend_options.device", "contact_sheet", "qc"}  # QC pictures are not results

    input: str
    output: str
    objects: list[RotoObject]
    frames: str | None = None
    backend: str = "classic"
    backend_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    direction: Literal["forward", "backward", "both"] = "both"
    contours: bool = False
    contours_output: str | None = None
    contour_tolerance: float = 1.0
    cryptomatte: bool = False
    contact_sheet: bool = True
    qc: bool = False
    color: ColorSettings = dataclasses.field(default_factory=ColorSettings)
    output_options: OutputSettings = dataclasses.field(default_factory=OutputSettings)

    def validate(self) -> None:
        if not self.objects:
            raise SpecError("objects", "no objects; give at least one named object with prompts")
        check_unique_names(self.objects)
        FrameSequence.parse(self.input, what="input")
        out_seq = FrameSequence.parse(self.output, what="output")
        if not out_seq.suffix.lower().endswith(".exr"):
            raise SpecError("output", f"'{self.output}' must be an OpenEXR pattern ending in .exr (mattes are EXR)")
        if _same_pattern(self.input, self.output):
            raise SpecError("output", f"'{self.output}' is the input plate pattern; the mattes would replace the plate")
        if self.contours_output:
            c_seq = FrameSequence.parse(self.contours_output, what="contours_output")
            if not c_seq.suffix.lower().endswith(".json"):
                raise SpecError("contours_output", f"'{self.contours_output}' must end in .json")
            if _same_pattern(self.contours_output, self.output) or _same_pattern(self.contours_output, self.input):
                raise SpecError("contours_output", f"'{self.contours_output}' clashes with the input or output pattern")
        if self.frames is not None:
            parse_frame_range(self.frames, what="frames")
        if self.contour_tolerance < 0:
            raise SpecError("contour_tolerance", "must be >= 0")
        backends = known_backends()
        if backends is not None and self.backend not in backends:
            raise SpecError("backend", f"unknown backend {self.backend!r}; known: {', '.join(sorted(backends))}")

    @property
    def contours_pattern(self) -> str:
        if self.contours_output:
            return self.contours_output
        seq = FrameSequence.parse(self.output)
        token = self.output[len(seq.prefix) : len(self.output) - len(seq.suffix)] if self.output.startswith(seq.prefix) else "####"
        stem = seq.suffix.rsplit(".", 1)[0] if "." in seq.suffix else seq.suffix
        return f"{seq.prefix}{token}{stem}.contours.json"



JOB = RotoJob

__all__ = ["Prompt", "RotoObject", "RotoJob", "RESERVED_NAMES", "known_backends"]
