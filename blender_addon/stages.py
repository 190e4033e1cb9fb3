"""The Shade and Paint sections' operators: cels from the roto mattes, and the paint bucket.

Shade sends one ``cel`` job on the last roto mattes (the engine's ``CelJob`` with ``mattes``: roto is skipped and
shade, ink and finish run fused, one pass over the frames). Paint sends one ``paint`` job. Both load their results
as image sequences wired into the clip's Inkpaint compositor tree.
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


TONE_METHODS = ("classic", "learned")
"""``CelJob.method``: the classic per-shot fit or the learned tonal U-Net (issue 15)."""
PAINT_METHODS = ("auto", "learned", "classic")
"""``PaintJob.method`` (issue 16)."""


def _abs(path: str) -> str:
    return os.path.normpath(bpy.path.abspath(path)) if path else ""


class INKPAINT_OT_shade(_RunOperator, bpy.types.Operator):
    """Ink lines, tone regions and flat cels from the last roto mattes (the engine's cel job: shade, ink and finish
    in one pass); the cels are loaded as an image sequence and wired into the compositor"""

    bl_idname = "inkpaint.shade"
    bl_label = "Ink, Shade and Finish"
    bl_options = {"REGISTER"}

    palette: StringProperty(name="Palette", subtype="FILE_PATH", description="Colour design sheet YAML (default: panel)", default="")  # type: ignore[valid-type]
    tones: IntProperty(name="Tones", description="2-4 (0 = panel)", default=0, min=0, max=4)  # type: ignore[valid-type]
    method: StringProperty(name="Method", description="classic or learned (default: panel)", default="")  # type: ignore[valid-type]
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
        roto = jobs.read_manifest(s.roto_manifest) if s.roto_manifest else {}
        job = build_cel_job(s.plate_pattern, mattes, palette, tones, width, over, overwrite, jobs.work_dir(clip),
                            frames=roto.get("result", {}).get("frame_range") or None,
                            mattes_hash=str(roto.get("result", {}).get("job_hash") or ""), method=self.method or s.shade_method,
                            color=(roto.get("job") or {}).get("color"))
        clip_name = clip.name

        def apply(result: dict[str, Any]) -> str:
            c = bpy.data.movieclips[clip_name]
            frames = [int(f) for f in result.get("frames", [])]
            cel = result.get("outputs", {}).get("cel")
            if not cel or not frames:
                raise RuntimeError(f"the cel job reported no cels (outputs {sorted(result.get('outputs', {}))}, {len(frames)} frame(s))")
            summ = results.apply_sequence(bpy.context, c, cel, frames, plate, "cel", "cels", -450, over)
            text = f"cels on {summ['frames']} frame(s): image '{summ['image']}', compositor '{summ['tree']}'"
            if job.get("method") == "learned":  # the tone EXRs carry the 5-class 'tonal' channel (issue 15)
                tone = result.get("outputs", {}).get("tone") or os.path.join(os.path.dirname(os.path.dirname(cel)), "tone", os.path.basename(cel))
                tonal = results.apply_tonal(bpy.context, c, tone, frames, plate)
                text += f", tonal classes: image '{tonal['image']}'"
            warns = (result.get("summary") or {}).get("warnings") or []  # shade/palette warnings (issue 14)
            return text + (f"; {len(warns)} warning(s): " + " | ".join(warns) if warns else "")

        return "run", {"job": job}, "cel (shade+ink+finish)", apply


def build_cel_job(plate: str, mattes: str, palette: str, tones: int, width: float, over: bool, overwrite: bool, work: str,
                  frames: str | None = None, mattes_hash: str = "", method: str = "classic",
                  color: dict[str, Any] | None = None) -> dict[str, Any]:
    """The engine's ``cel`` job on existing part mattes (``inkpaint cel PLATE --mattes ... --palette ... --out-dir``).

    Roto is skipped; shade, ink and finish run fused per frame (each input read once) and write
    ``<work>/shade-<key>/tone|ink|cel/<shot>.####.exr`` (``<shot>``: the plate's file name before the frame number,
    ``frames`` when that is empty), each layer exactly as the stand-alone ``shade``, ``ink`` and ``finish`` jobs
    would. ``<key>`` hashes the job (without its output folder and write options), the palette file's bytes and
    ``mattes_hash``, so changed settings, a palette edited in place or re-tracked mattes get a new folder and never
    reuse earlier files; the same ones find their folder again and the engine resumes it.

    Args:
        plate: the frames the roto job read (tones are fitted on them; also the background when ``over``).
        mattes: the roto job's matte pattern (``<part>.A`` channels).
        palette: colour design sheet YAML or BasicPBC ``colorbook.yml``.
        tones: 2, 3 or 4.
        width: ink line width in pixels.
        over: composite the cels over the plate.
        overwrite: replace outputs of a different job (``output_options.overwrite``).
        work: the clip's output folder (``<output>/<clip>``).
        frames: file frame range (``"0-9"``, the roto job's); ``None`` = every frame on disk.
        mattes_hash: the roto job's hash (from its manifest): new mattes at the same path make a new key.
        color: the plate's colour management, the roto job's ``color`` (from its manifest: Blender's OCIO config and
            the clip's colour space, :func:`jobs.plate_color`), so the cels read the plate as the roto did; ``None``
            leaves the engine's default.
        method: tone method (``CelJob.method``, issue 15): ``classic`` or ``learned`` (the tonal U-Net; the tone
            EXRs then also carry the 5-class ``tonal`` channel). Only a learned job names it, so classic jobs keep
            the folders (keys) they had before the field existed.

    Raises:
        JobBuildError: tones outside 2-4, a width that is not positive or a method other than classic/learned.
    """
    if method not in TONE_METHODS:
        raise jobs.JobBuildError(f"tone method must be classic or learned, not {method!r}")
    if tones not in (2, 3, 4):
        raise jobs.JobBuildError(f"tones must be 2, 3 or 4, not {tones}")
    if not width > 0:
        raise jobs.JobBuildError(f"line width must be > 0 pixels, not {width}")
    job: dict[str, Any] = {
        "schema_version": jobs.SCHEMA_VERSION, "type": "cel", "input": plate, "objects": [], "mattes": mattes,
        "palette": palette, "out_dir": "", "frames": frames, "tones": int(tones), "width": float(width),
        "over": plate if over else None,
        # Blender 5.0 loads an EXR's data window as the whole image (display window ignored): ask for full frames
        "output_options": {"overwrite": bool(overwrite), "data_window": "full"},
    }
    if color is not None:
        job["color"] = color
    if method != "classic":
        job["method"] = method
    settings = {k: v for k, v in job.items() if k not in ("out_dir", "output_options")}
    key = jobs.job_key({**settings, "palette_digest": jobs.file_digest(palette), "mattes_hash": mattes_hash})
    job["out_dir"] = os.path.join(work, f"shade-{key}")
    return job


class INKPAINT_OT_paint(_RunOperator, bpy.types.Operator):
    """Paint bucket: fill line-art frames from coloured keyframes and carry the colours through the shot; the fill is
    loaded as an image sequence wired into the compositor, the QC overlays as a second image beside it"""

    bl_idname = "inkpaint.paint"
    bl_label = "Paint Bucket"
    bl_options = {"REGISTER"}

    lines: StringProperty(name="Line art", subtype="FILE_PATH", description="Line-art pattern or one of its files (default: panel)", default="")  # type: ignore[valid-type]
    keys: StringProperty(name="Keyframes", description="FRAME=PATH, comma-separated; a painted image, or a .json segment->colour file (default: panel)", default="")  # type: ignore[valid-type]
    refs: StringProperty(name="References", description="IMAGE[=LINE_ART] separated by ';' (reference mode; default: panel)", default="")  # type: ignore[valid-type]
    palette: StringProperty(name="Palette", subtype="FILE_PATH", default="")  # type: ignore[valid-type]
    direction: StringProperty(name="Direction", description="nearest, forward or backward (default: panel)", default="")  # type: ignore[valid-type]
    method: StringProperty(name="Method", description="auto, learned or classic (default: panel)", default="")  # type: ignore[valid-type]
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
        refs = parse_references(self.refs or s.paint_refs)
        if not keys and not refs:
            raise jobs.JobBuildError("give at least one coloured keyframe as FRAME=PATH (or a reference image)")
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
            composite_lines=composite, method=self.method or s.paint_method, refs=refs or None,
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
            low = int(summary.get("low_confidence_segments") or 0)
            extra += f", {low} low-confidence segment(s) (yellow in the QC image)" if low else ""
            return f"painted {summ['frames']} frame(s): image '{summ['image']}'{extra}"

        return "run", {"job": job}, "paint", apply


def parse_references(text: str) -> list[tuple[str, str | None]]:
    """``IMAGE[=LINE]; ...`` (Blender-relative paths allowed) -> ``[(image, line or None)]`` absolute paths."""
    out: list[tuple[str, str | None]] = []
    for item in (text or "").split(";"):
        if item.strip():
            image, _, line = (t.strip() for t in item.partition("="))
            out.append((_abs(image), _abs(line) if line else None))
    return out


def build_paint_job(lines: str, keys: list[tuple[int, str]], palette: str, direction: str, output: str, overwrite: bool, *,
                    frames: str | None = None, max_gap: int = 0, speck_size: int = 0, line_threshold: float = 0.5,
                    confidence: float = 0.5, composite_lines: bool = False, method: str = "auto",
                    refs: list[tuple[str, str | None]] | None = None) -> dict[str, Any]:
    """The engine's ``PaintJob`` (``inkpaint paint LINES --key F=PATH --out OUT``): one key entry per frame, a
    ``.json`` key file as ``segments_json``, any other file as the painted ``image``; side outputs (lines, labels,
    segments JSON, QC overlay) derived from ``output``. ``method`` (``PaintJob.method``, issue 16): ``auto``,
    ``learned`` (the inclusion matcher; needs torch in the worker) or ``classic``. ``refs`` (``PaintJob.refs``,
    issue 16, reference mode): ``(image, line art or None)`` coloured references of the character in any pose; with
    them ``keys`` may be empty."""
    for img, line in refs or []:
        for what, p in (("reference", img), ("reference line art", line)):
            if p is not None and not os.path.isfile(p):
                raise jobs.JobBuildError(f"{what} '{p}' does not exist")
    if method not in PAINT_METHODS:
        raise jobs.JobBuildError(f"paint method must be auto, learned or classic, not {method!r}")
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
        "method": method,
        "output": output,
        "output_options": {"overwrite": overwrite},
    }
    if palette:
        job["palette"] = palette
    if refs:
        job["refs"] = [{"image": img, "line": line} for img, line in refs]
    return job


CLASSES = [INKPAINT_OT_shade, INKPAINT_OT_paint]

__all__ = ["CLASSES", "build_cel_job", "build_paint_job"]
