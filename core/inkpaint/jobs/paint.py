"""The paint job: a line-art sequence painted from keyframes (moved from ``inkpaint.ops.paint``, which re-exports
it and runs the job)."""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Literal

from .errors import SpecError
from .frames import FrameSequence, parse_frame_range
from .spec import JobSpec, OutputSettings

TINY_SEGMENT = 10
"""Default of ``PaintJob.tiny_segments`` (pixels); :mod:`inkpaint.paint.propagate` uses the same constant."""


@dataclasses.dataclass
class PaintKey:
    """One keyframe: its colours from a painted image, paint clicks and/or a per-segment JSON (applied in that order).

    Attributes:
        frame: the line frame it colours (a frame number from the file names).
        image: coloured keyframe image (RGB/RGBA); each segment takes its majority colour (snapped to the palette).
        clicks: ``[[x, y, colour], ...]``: pixel position and a palette index, ``"part/tone"``, ``"part"`` or ``"#rrggbb"``.
        segments_json: ``{"<segment id>": colour}`` or an inkpaint ``.segments.json`` (ids of this job's segmentation).
    """

    frame: int
    image: str | None = None
    clicks: list[list[Any]] | None = None
    segments_json: str | None = None


@dataclasses.dataclass
class PaintRef:
    """A coloured reference of the character in any pose (a design-sheet view or any painted frame); reference mode,
    :mod:`inkpaint.paint.reference`.

    Attributes:
        image: the coloured reference (RGB/RGBA, any size: it is scaled and shifted onto each frame's character).
        line: its line art, the same size as ``image``; ``None`` derives it from the image (dark pixels and colour
            edges, :func:`inkpaint.paint.reference.derive_line_art`).
    """

    image: str
    line: str | None = None


@dataclasses.dataclass
class PaintJob(JobSpec):
    """Paint a line-art sequence from keyframes.

    Attributes:
        input: line-art frame pattern (PNG/TIFF/EXR; RGB, greyscale, RGBA or alpha-only; 8/16-bit).
        output: RGBA fill pattern (``.png`` or ``.exr``).
        keys: the keyframes (at least one, unless ``refs`` are given).
        refs: coloured references of the character in any pose (reference mode): every frame takes colours from
            them and from its painted neighbour; several references (front/back/side views) combine.
        palette: colour design sheet (inkpaint YAML or BasicPBC colorbook); keyframe colours snap to it.
        direction: ``forward`` / ``backward`` from each keyframe, or from the ``nearest`` one.
        frames: frame range; ``None`` = every line frame on disk.
        max_gap: close line breaks up to this many pixels (0 = off).
        speck_size: segments of at most this many pixels merge into a neighbour (0 = off).
        line_threshold: ink threshold on alpha / distance from white (0..1).
        confidence: minimum winning share for a propagated segment; below it the segment stays unpainted.
        line_shading: with a palette, the weight of the colour-line rule (blue line = the part's shadow across
            from its normal colour, red = highlight) against the propagated vote; it also fills unclicked keyframe
            segments from clicked neighbours across colour lines. 0 turns shading from colour lines off.
        tiny_segments: segments of at most this many pixels take the colour of the largest segment they touch at a
            corner, on the frames of a keyframe whose own colours show that rule holds for this line art
            (:func:`inkpaint.paint.propagate.tiny_rule_agreement`); 0 turns it off.
        method: how colours travel between frames: ``learned`` (the inclusion matcher, :mod:`inkpaint.paint.matcher`;
            needs torch and its shipped weights), ``classic`` (flow + inclusion voting), or ``auto`` (learned where
            torch and the weights are present, else classic; the run summary says which and why).
        composite_lines: draw the line layer over the fill in ``output`` too.
        lines_output, labels_output, segments_output, qc_output: per-frame side outputs; ``None`` derives them from
            ``output`` (``####.lines.png``, ``####.labels.png``, ``####.segments.json``, ``####.qc.png``), ``""``
            turns one off.
        output_options: overwrite (compression applies to EXR output).
    """

    TYPE = "paint"
    HASH_FILES = ("palette",)

    input: str
    output: str
    keys: list[PaintKey]
    refs: list[PaintRef] = dataclasses.field(default_factory=list)
    palette: str | None = None
    direction: Literal["forward", "backward", "nearest"] = "nearest"
    frames: str | None = None
    max_gap: int = 0
    speck_size: int = 0
    line_threshold: float = 0.5
    confidence: float = 0.5
    line_shading: float = 3.0
    tiny_segments: int = TINY_SEGMENT
    method: Literal["auto", "learned", "classic"] = "auto"
    composite_lines: bool = False
    lines_output: str | None = None
    labels_output: str | None = None
    segments_output: str | None = None
    qc_output: str | None = None
    output_options: OutputSettings = dataclasses.field(default_factory=OutputSettings)

    def validate(self) -> None:
        FrameSequence.parse(self.input, what="input")
        out = FrameSequence.parse(self.output, what="output")
        if not out.suffix.lower().endswith((".png", ".exr")):
            raise SpecError("output", f"'{self.output}' must end in .png or .exr (RGBA fill)")
        if os.path.abspath(self.output) == os.path.abspath(self.input):
            raise SpecError("output", f"'{self.output}' is the line-art pattern; the fill would replace the line art")
        if not self.keys and not self.refs:
            raise SpecError("keys", "no keyframes and no references; give at least one (--key FRAME=image.png, "
                                    "--click or --ref REF_IMAGE[=REF_LINE])")
        for i, r in enumerate(self.refs):
            if not isinstance(r.image, str) or not r.image:
                raise SpecError(f"refs[{i}].image", "must name the coloured reference image")
            if r.line is not None and (not isinstance(r.line, str) or not r.line):
                raise SpecError(f"refs[{i}].line", "must name the reference's line art, or be null to derive it")
        for i, k in enumerate(self.keys):
            if k.image is None and not k.clicks and k.segments_json is None:
                raise SpecError(f"keys[{i}]", "gives no colours; set image, clicks or segments_json")
            for j, c in enumerate(k.clicks or []):
                if len(c) != 3 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in c[:2]):
                    raise SpecError(f"keys[{i}].clicks[{j}]", f"expected [x, y, colour], got {c!r}")
        frames_seen = [k.frame for k in self.keys]
        dup = sorted({f for f in frames_seen if frames_seen.count(f) > 1})
        if dup:
            raise SpecError("keys", f"frame(s) {dup} are given more than one key entry; merge them into one")
        if self.frames is not None:
            parse_frame_range(self.frames, what="frames")
        if self.max_gap < 0:
            raise SpecError("max_gap", "must be >= 0")
        if self.speck_size < 0:
            raise SpecError("speck_size", "must be >= 0")
        if not 0.0 < self.line_threshold <= 1.0:
            raise SpecError("line_threshold", f"must be in (0, 1], got {self.line_threshold}")
        if not 0.0 <= self.confidence <= 1.0:
            raise SpecError("confidence", f"must be in [0, 1], got {self.confidence}")
        if self.line_shading < 0:
            raise SpecError("line_shading", f"must be >= 0, got {self.line_shading}")
        if self.method not in ("auto", "learned", "classic"):
            raise SpecError("method", f"must be auto, learned or classic, got {self.method!r}")
        if self.tiny_segments < 0:
            raise SpecError("tiny_segments", f"must be >= 0 px, got {self.tiny_segments}")
        for name in ("lines_output", "labels_output", "segments_output", "qc_output"):
            v = getattr(self, name)
            if v:
                FrameSequence.parse(v, what=name)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; ``refs`` only when there are references, so keyframe-only specs (and their job hashes and
        frame provenance) read as they did before reference mode."""
        body = super().to_dict()
        if not body.get("refs"):
            body.pop("refs", None)
        return body

    def side_pattern(self, name: str) -> str | None:
        """The pattern of a side output (``None`` when turned off)."""
        v = getattr(self, f"{name}_output")
        if v == "":
            return None
        if v:
            return v
        base, _ = os.path.splitext(self.output)
        return base + {"lines": ".lines.png", "labels": ".labels.png", "segments": ".segments.json", "qc": ".qc.png"}[name]



JOB = PaintJob

__all__ = ["TINY_SEGMENT", "PaintKey", "PaintRef", "PaintJob"]
