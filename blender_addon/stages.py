"""The Shade and Paint sections' operators: ink + shade + finish on the roto mattes, and the paint bucket.

Both run engine jobs on the worker (as one chain of requests) and load the results as image sequences wired into
the clip's Inkpaint compositor tree.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import bpy
from bpy.props import EnumProperty, FloatProperty, IntProperty, StringProperty

from . import clip_source, compositor, jobs, results
from .geometry import parse_keyframes
from .operators import UNSET, _RunOperator


def _abs(path: str) -> str:
    return os.path.normpath(bpy.path.abspath(path)) if path else ""


class INKPAINT_OT_shade(_RunOperator, bpy.types.Operator):
    """Ink lines, tone regions and flat cels from the last roto mattes (ink -> shade -> finish on the engine); the
    cels are loaded as an image sequence and wired into the compositor"""

    bl_idname = "inkpaint.shade"
    bl_label = "Ink, Shade and Finish"
    bl_options = {"REGISTER"}

    palette: StringProperty(name="Palette", subtype="FILE_PATH", description="Colour design sheet YAML (default: panel)", default="")  # type: ignore[valid-type]
    tones: IntProperty(name="Tones", description="2-4 (0 = panel)", default=0, min=0, max=4)  # type: ignore[valid-type]
    ink_width: FloatProperty(name="Line width", description="Pixels (-1 = panel)", default=-1.0)  # type: ignore[valid-type]
    over_clip: EnumProperty(name="Over the clip", items=[("PANEL", "Panel", ""), ("ON", "On", ""), ("OFF", "Off", "")], default="PANEL")  # type: ignore[valid-type]
    overwrite: EnumProperty(name="Overwrite", items=[("PANEL", "Panel", ""), ("ON", "On", ""), ("OFF", "Off", "")], default="PANEL")  # type: ignore[valid-type]

    def prepare(self, context: bpy.types.Context, clip: bpy.types.MovieClip) -> tuple[str, dict[str, Any], str, Callable[[dict[str, Any]], str]]:
        s = clip.inkpaint
        mattes = s.mattes_pattern
        if not mattes:
            raise jobs.JobBuildError(f"clip '{clip.name}' has no roto mattes yet: run Track first")
        palette = _abs(self.palette or s.palette)
        if not palette:
            raise jobs.JobBuildError("choose a palette (colour design sheet YAML) in the Shade section")
        if not os.path.isfile(palette):
            raise jobs.JobBuildError(f"palette '{palette}' does not exist")
        tones = self.tones or s.tones
        width = s.ink_width if self.ink_width < 0 else self.ink_width
        tri = {"PANEL": None, "ON": True, "OFF": False}
        over = s.finish_over_clip if tri[self.over_clip] is None else bool(tri[self.over_clip])
        overwrite = s.overwrite if tri[self.overwrite] is None else bool(tri[self.overwrite])
        plate = clip_source.Plate(s.plate_pattern, s.plate_first_file, s.plate_first_scene, False, int(clip.size[0]), int(clip.size[1]))
        chain = build_shade_chain(s.plate_pattern, mattes, palette, tones, width, over, overwrite, jobs.work_dir(clip))
        clip_name = clip.name

        def apply(result: dict[str, Any]) -> str:
            c = bpy.data.movieclips[clip_name]
            final = result["results"][-1]
            frames = [int(f) for f in final.get("frames", [])]
            cel = final["outputs"].get("cel") or final["outputs"].get("output") or next(iter(final["outputs"].values()))
            summ = results.apply_sequence(bpy.context, c, cel, frames, plate, "cel", "cels", -450, over)
            return f"cels on {summ['frames']} frame(s): image '{summ['image']}', compositor '{summ['tree']}'"

        return "run", {"chain": chain}, "ink/shade/finish", apply


def build_shade_chain(plate: str, mattes: str, palette: str, tones: int, width: float, over: bool, overwrite: bool, work: str) -> list[dict[str, Any]]:
    """The ink, shade and finish jobs (the engine's CLI contract: ``inkpaint ink|shade|finish``)."""
    seq = os.path.basename(mattes)
    ink = os.path.join(work, "ink", seq)
    tone = os.path.join(work, "tone", seq)
    cel = os.path.join(work, "cel", seq)
    # Blender 5.0 loads an EXR's data window as the whole image (display window ignored): ask for full frames
    opts = {"overwrite": overwrite, "data_window": "full"}
    return [
        {"schema_version": 1, "type": "ink", "mattes": mattes, "output": ink, "width": float(width), "output_options": opts},
        {"schema_version": 1, "type": "shade", "input": plate, "mattes": mattes, "tones": int(tones), "output": tone, "output_options": opts},
        {
            "schema_version": 1, "type": "finish", "mattes": mattes, "tones": tone, "ink": ink, "palette": palette, "output": cel,
            "over": plate if over else None, "output_options": opts,
        },
    ]


class INKPAINT_OT_paint(_RunOperator, bpy.types.Operator):
    """Paint bucket: fill line-art frames from coloured keyframes and carry the colours through the shot; the fill is
    loaded as an image sequence wired into the compositor, the QC overlays as a second image beside it"""

    bl_idname = "inkpaint.paint"
    bl_label = "Paint Bucket"
    bl_options = {"REGISTER"}

    lines: StringProperty(name="Line art", subtype="FILE_PATH", description="Line-art pattern or one of its files (default: panel)", default="")  # type: ignore[valid-type]
    keys: StringProperty(name="Keyframes", description="FRAME=PATH, comma-separated; a painted image, or a .json segment->colour file (default: panel)", default="")  # type: ignore[valid-type]
    palette: StringProperty(name="Palette", subtype="FILE_PATH", default="")  # type: ignore[valid-type]
    direction: StringProperty(name="Direction", description="nearest, forward or backward (default: panel)", default="")  # type: ignore[valid-type]
    frames: StringProperty(name="Frames", description="Line-art file frame range, e.g. 1-24 (default: every frame on disk)", default="")  # type: ignore[valid-type]
    max_gap: IntProperty(name="Close gaps", description="Pixels (-1 = panel)", default=-1, min=-1)  # type: ignore[valid-type]
    speck_size: IntProperty(name="Merge specks", description="Pixels (-1 = panel)", default=-1, min=-1)  # type: ignore[valid-type]
    line_threshold: FloatProperty(name="Line threshold", description="0..1 (-1 = panel)", default=-1.0)  # type: ignore[valid-type]
    confidence: FloatProperty(name="Confidence", description="0..1 (-1 = panel)", default=-1.0)  # type: ignore[valid-type]
    composite_lines: EnumProperty(name="Lines over fill", items=[("PANEL", "Panel", ""), ("ON", "On", ""), ("OFF", "Off", "")], default="PANEL")  # type: ignore[valid-type]
    first_scene_frame: IntProperty(name="First scene frame", description="Scene frame of the first line-art frame (default: the clip's start)", default=UNSET)  # type: ignore[valid-type]
    overwrite: EnumProperty(name="Overwrite", items=[("PANEL", "Panel", ""), ("ON", "On", ""), ("OFF", "Off", "")], default="PANEL")  # type: ignore[valid-type]

    def prepare(self, context: bpy.types.Context, clip: bpy.types.MovieClip) -> tuple[str, dict[str, Any], str, Callable[[dict[str, Any]], str]]:
        s = clip.inkpaint
        lines = _abs(self.lines or s.paint_lines)
        if not lines:
            raise jobs.JobBuildError("choose the line-art frames in the Paint section")
        if "#" not in lines and "%" not in lines:
            seq = clip_source.sequence_pattern(lines)
            if seq is None:
                raise jobs.JobBuildError(f"line art '{lines}' is not a numbered frame (e.g. line/0001.png)")
            lines = seq[0]
        try:
            keys = parse_keyframes(self.keys or s.paint_keys)
        except ValueError as exc:
            raise jobs.JobBuildError(str(exc)) from None
        if not keys:
            raise jobs.JobBuildError("give at least one coloured keyframe as FRAME=PATH")
        tri = {"PANEL": None, "ON": True, "OFF": False}
        overwrite = s.overwrite if tri[self.overwrite] is None else bool(tri[self.overwrite])
        composite = s.paint_composite_lines if tri[self.composite_lines] is None else bool(tri[self.composite_lines])
        palette = _abs(self.palette or s.paint_palette)
        if palette and not os.path.isfile(palette):
            raise jobs.JobBuildError(f"palette '{palette}' does not exist")
        name = os.path.splitext(os.path.basename(lines))[0] + ".png"
        out = os.path.join(jobs.work_dir(clip), "paint", name)
        job = build_paint_job(
            lines, [(f, _abs(p)) for f, p in keys], palette, self.direction or s.paint_direction, out, overwrite,
            frames=self.frames or None,
            max_gap=s.paint_max_gap if self.max_gap < 0 else self.max_gap,
            speck_size=s.paint_speck_size if self.speck_size < 0 else self.speck_size,
            line_threshold=s.paint_line_threshold if self.line_threshold < 0 else self.line_threshold,
            confidence=s.paint_confidence if self.confidence < 0 else self.confidence,
            composite_lines=composite,
        )
        first_scene = clip_source.clip_scene_range(clip)[0] if self.first_scene_frame == UNSET else self.first_scene_frame
        clip_name = clip.name

        def apply(result: dict[str, Any]) -> str:
            c = bpy.data.movieclips[clip_name]
            frames = sorted(int(f) for f in result.get("frames", []))
            plate = clip_source.Plate(lines, frames[0], first_scene, False, int(c.size[0]), int(c.size[1]))
            outputs = result["outputs"]
            painted = outputs["fill"]
            summ = results.apply_sequence(bpy.context, c, painted, frames, plate, "paint", "paint", -800, False)
            c.inkpaint.paint_pattern = painted
            qc = outputs.get("qc") or ""
            c.inkpaint.paint_qc_pattern = qc
            if qc:
                qc_img = compositor.load_sequence(qc, frames[0], plate.scene_frame(frames[0]), len(frames), f"{c.name} paint QC", False)
                tree, _ = compositor.clip_tree(bpy.context.scene, c)
                compositor.image_node(tree, "paint_qc", qc_img, (-600, -1100), "paint QC (unpainted magenta, unsure yellow)")
            summary = result.get("summary", {})
            unpainted = int(summary.get("unpainted_segments") or 0)
            extra = f", {unpainted} unpainted segment(s) on frame(s) {summary.get('frames_with_unpainted')} (see the QC image)" if unpainted else ""
            return f"painted {summ['frames']} frame(s): image '{summ['image']}'{extra}"

        return "run", {"job": job}, "paint", apply


def build_paint_job(lines: str, keys: list[tuple[int, str]], palette: str, direction: str, output: str, overwrite: bool, *,
                    frames: str | None = None, max_gap: int = 0, speck_size: int = 0, line_threshold: float = 0.5,
                    confidence: float = 0.5, composite_lines: bool = False) -> dict[str, Any]:
    """The engine's ``PaintJob`` (``inkpaint paint LINES --key F=PATH --out OUT``): one key entry per frame, a
    ``.json`` key file as ``segments_json``, any other file as the painted ``image``; side outputs (lines, labels,
    segments JSON, QC overlay) derived from ``output``."""
    if direction not in ("nearest", "forward", "backward"):
        raise jobs.JobBuildError(f"direction must be nearest, forward or backward, not {direction!r}")
    by_frame: dict[int, dict[str, Any]] = {}
    for f, p in keys:
        if not os.path.isfile(p):
            raise jobs.JobBuildError(f"keyframe {f}: '{p}' does not exist")
        entry = by_frame.setdefault(f, {"frame": f})
        field = "segments_json" if p.lower().endswith(".json") else "image"
        if field in entry:
            raise jobs.JobBuildError(f"keyframe {f} is given two {'JSON files' if field == 'segments_json' else 'images'}")
        entry[field] = p
    job: dict[str, Any] = {
        "schema_version": 1,
        "type": "paint",
        "input": lines,
        "keys": [by_frame[f] for f in sorted(by_frame)],
        "direction": direction,
        "frames": frames or None,
        "max_gap": int(max_gap),
        "speck_size": int(speck_size),
        "line_threshold": float(line_threshold),
        "confidence": float(confidence),
        "composite_lines": bool(composite_lines),
        "output": output,
        "output_options": {"overwrite": overwrite},
    }
    if palette:
        job["palette"] = palette
    return job


CLASSES = [INKPAINT_OT_shade, INKPAINT_OT_paint]

__all__ = ["CLASSES", "build_shade_chain", "build_paint_job"]
