"""Job specs built from node settings with the engine's own job classes (:mod:`inkpaint.jobs`, stdlib only; Nuke
never imports the rest of the engine).

Each builder decodes its fields with the job class (every field type-checked, a bad one named in the error) and
returns the JSON-ready dict the worker receives; the worker validates the whole job again. Coordinates here are converted from Nuke's (origin bottom-left) to
the engine's (origin top-left): ``y_engine = height - y_nuke``.

A job's *key* hashes the job with its output paths left out; results live in a folder named after the key, so
the same settings find the same results again (after reopening the script, too) and changed settings never
overwrite earlier results.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from ._contract import jobs as J

SCHEMA_VERSION = J.SCHEMA_VERSION
OUTPUT_FIELDS = ("output", "contours_output", "qc_output", "out", "out_dir", "outputs", "output_dir")


@dataclasses.dataclass
class PointPrompt:
    """A click: ``label`` 1 includes, 0 excludes. ``x``, ``y`` in Nuke pixels (origin bottom-left)."""

    object: str
    frame: int
    x: float
    y: float
    label: int


@dataclasses.dataclass
class BoxPrompt:
    """A box in Nuke pixels (origin bottom-left): left, bottom, right, top."""

    object: str
    frame: int
    x0: float
    y0: float
    x1: float
    y1: float


@dataclasses.dataclass
class MaskPrompt:
    """The input's alpha on ``frame`` is the object's mask; ``path`` is the rendered frame holding it."""

    object: str
    frame: int
    path: str = ""


class JobBuildError(Exception):
    """The node's settings cannot make a valid job (the message names the knob or object)."""


def _typed(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` encoded by its engine job class (all fields); a bad field is a :class:`JobBuildError` naming it."""
    return J.job_dict(body, error=JobBuildError)


def to_engine_y(y: float, height: int) -> float:
    return float(height) - float(y)


def roto_objects(
    objects: list[str],
    points: list[PointPrompt],
    boxes: list[BoxPrompt],
    masks: list[MaskPrompt],
    size: tuple[int, int],
) -> list[dict[str, Any]]:
    """The ``objects`` list of a roto job: prompts grouped per object and frame, in engine coordinates.

    Raises:
        JobBuildError: an object has no prompts, or a prompt names an unknown object.
    """
    w, h = size
    known = set(objects)
    tagged: list[tuple[str, int]] = [(p.object, p.frame) for p in points]
    tagged += [(b.object, b.frame) for b in boxes] + [(m.object, m.frame) for m in masks]
    for obj, frame in tagged:
        if obj not in known:
            raise JobBuildError(f"a prompt on frame {frame} belongs to {obj!r}, which is not in the object list")
    out = []
    for name in objects:
        frames: dict[int, dict[str, Any]] = {}
        for p in points:
            if p.object == name:
                pr = frames.setdefault(p.frame, {"frame": p.frame})
                x = min(max(float(p.x), 0.0), float(w))
                y = min(max(to_engine_y(p.y, h), 0.0), float(h))
                pr.setdefault("points", []).append([round(x, 3), round(y, 3), 1 if p.label else 0])
        for b in boxes:
            if b.object == name:
                pr = frames.setdefault(b.frame, {"frame": b.frame})
                x0, x1 = sorted((b.x0, b.x1))
                y0, y1 = sorted((to_engine_y(b.y1, h), to_engine_y(b.y0, h)))
                pr["box"] = [round(max(x0, 0.0), 3), round(max(y0, 0.0), 3), round(min(x1, w), 3), round(min(y1, h), 3)]
        for m in masks:
            if m.object == name:
                pr = frames.setdefault(m.frame, {"frame": m.frame})
                pr["mask"] = m.path
        if not frames:
            raise JobBuildError(f"object {name!r} has no prompts: add a point, a box or the input alpha on some frame")
        out.append({"name": name, "prompts": [frames[f] for f in sorted(frames)]})
    return out


def roto_job(
    *,
    input: str,
    output: str,
    objects: list[dict[str, Any]],
    frames: tuple[int, int],
    color: dict[str, Any],
    backend: str = "classic",
    backend_options: dict[str, Any] | None = None,
    direction: str = "both",
    cryptomatte: bool = False,
    contour_tolerance: float = 1.0,
) -> dict[str, Any]:
    """A ``roto`` job (contours always on, for Bake to Roto)."""
    if direction not in ("forward", "backward", "both"):
        raise JobBuildError(f"direction must be forward, backward or both, not {direction!r}")
    if frames[1] < frames[0]:
        raise JobBuildError(f"frame range {frames[0]}-{frames[1]} ends before it starts")
    return _typed({
        "schema_version": SCHEMA_VERSION,
        "type": "roto",
        "input": input,
        "output": output,
        "objects": objects,
        "frames": f"{frames[0]}-{frames[1]}",
        "backend": backend,
        "backend_options": dict(backend_options or {}),
        "direction": direction,
        "contours": True,
        "contour_tolerance": float(contour_tolerance),
        "cryptomatte": bool(cryptomatte),
        "color": dict(color),
        "output_options": {"compression": "zip", "overwrite": False},
    })


def segment_request(
    *, input: str, frame: int, objects: list[dict[str, Any]], color: dict[str, Any], backend: str,
    backend_options: dict[str, Any] | None, output: str,
) -> dict[str, Any]:
    """A ``segment`` request (one frame, the prompts set on that frame)."""
    objs = []
    for obj in objects:
        for pr in obj["prompts"]:
            if pr["frame"] == frame:
                objs.append({"name": obj["name"], **{k: v for k, v in pr.items() if k != "frame"}})
    if not objs:
        raise JobBuildError(f"no prompts on frame {frame}: add a point or a box on this frame to preview it")
    return {"input": input, "frame": frame, "objects": objs, "color": dict(color), "backend": backend,
            "backend_options": dict(backend_options or {}), "output": output}


def job_key(job: dict[str, Any]) -> str:
    """A hash of ``job`` without its output paths (16 hex digits)."""
    return J.content_key(job, OUTPUT_FIELDS)


manifest_path = J.manifest_path
"""The engine's manifest beside an output sequence (``roto/m.####.exr`` -> ``roto/m.inkpaint.json``)."""


def read_manifest(pattern: str) -> dict[str, Any] | None:
    """The manifest of a finished job's output sequence, or ``None`` when the job has not finished."""
    try:
        with open(manifest_path(pattern), encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


# ----------------------------------------------------------------------------------------------------------------
# Cel (shade + ink + finish fused, issue 4) and paint (issue 5)

CEL_LAYERS = ("tone", "ink", "cel")
TONE_METHODS = ("classic", "learned")
"""``CelJob.method`` / ``ShadeJob.method``: the classic per-shot fit or the learned tonal U-Net (issue 15)."""
TONAL_CHANNEL = "tonal"
"""The learned method's 5-class channel in the tone EXRs (0 background, 1 material, 2 attached shadow, 3 cast
shadow, 4 highlight); an unlayered EXR channel, so Nuke reads it as ``other.tonal``."""
PAINT_METHODS = ("auto", "learned", "classic")
"""``PaintJob.method`` (issue 16): ``auto`` uses the learned matcher when it is the better one, else classic."""


def cel_job(*, input: str, mattes: str, palette: str, out_dir: str, frames: tuple[int, int], tones: int, width: float,
            tone_lines: bool = False, over: str | None = None, color: dict[str, Any] | None = None,
            over_color: dict[str, Any] | None = None, method: str = "classic") -> dict[str, Any]:
    """A ``cel`` job on existing part mattes (the engine's ``CelJob`` with ``mattes``: roto is skipped).

    The engine runs shade, ink and finish fused, one frame at a time (each input read once), and writes
    ``out_dir/tone/``, ``out_dir/ink/`` and ``out_dir/cel/`` exactly as the stand-alone jobs would (see
    :func:`cel_outputs`).

    Args:
        input: plate pattern (the tones are fitted on its pixels).
        mattes: part mattes pattern (``<part>.A`` channels; an InkpaintRoto output).
        palette: colour design sheet (inkpaint YAML or BasicPBC ``colorbook.yml``).
        out_dir: folder for the layers ("" while the key is computed).
        frames: first and last frame.
        tones: 2, 3 or 4.
        width: ink line width in pixels.
        tone_lines: also ink the tone boundaries.
        over: background pattern for the composite; ``None`` leaves the cel transparent.
        color: colour management of the plate (and of the background unless ``over_color`` is given).
        over_color: colour management of the background when it differs from the plate's (``CelJob.over_color``,
            used by the finish stage); ``None`` or equal to ``color`` leaves the field out (the engine then reads
            the background with ``color``), so the job, and its key, only carry it when it matters.
        method: tone method (``CelJob.method``): ``classic`` (thresholds fitted per shot) or ``learned`` (the
            tonal U-Net, issue 15; the tone EXRs then also carry a ``tonal`` channel, 5 classes).

    Raises:
        JobBuildError: no palette, a bad tone count or width, a tone method other than classic/learned, a range that ends before it starts, or a background
            colour setting without a background.
    """
    if not palette:
        raise JobBuildError("choose a palette (colour design sheet YAML) first")
    if tones not in (2, 3, 4):
        raise JobBuildError(f"tones must be 2, 3 or 4, not {tones}")
    if not float(width) > 0:
        raise JobBuildError(f"ink width must be > 0 pixels, not {width}")
    if method not in TONE_METHODS:
        raise JobBuildError(f"tone method must be classic or learned, not {method!r}")
    if frames[1] < frames[0]:
        raise JobBuildError(f"frame range {frames[0]}-{frames[1]} ends before it starts")
    job: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION, "type": "cel", "method": method, "input": input, "objects": [], "mattes": mattes,
        "palette": palette, "out_dir": out_dir, "frames": f"{frames[0]}-{frames[1]}", "tones": int(tones),
        "width": float(width), "tone_lines": bool(tone_lines), "over": over or None, "color": dict(color or {}),
    }
    if over_color is not None and dict(over_color) != job["color"]:
        if not over:
            raise JobBuildError("a background colour setting was given without a background (over)")
        job["over_color"] = dict(over_color)
    return _typed(job)


shot_name = J.shot_name
"""The shot name the engine's cel job files its layers under (``plates/shot_v1.####.exr`` -> ``shot_v1``)."""


def cel_outputs(job: dict[str, Any]) -> dict[str, str]:
    """Where a ``cel`` job writes each layer: ``{"tone": ..., "ink": ..., "cel": ...}`` (``CelJob.stages``)."""
    shot = shot_name(str(job["input"]))
    out = str(job["out_dir"]).rstrip("/\\")
    return {layer: f"{out}/{layer}/{shot}.####.exr" for layer in CEL_LAYERS}


def paint_job(*, input: str, output: str, frames: tuple[int, int], keys: list[dict[str, Any]], palette: str | None,
              direction: str = "nearest", max_gap: int = 0, speck_size: int = 0, line_threshold: float = 0.5,
              confidence: float = 0.5, composite_lines: bool = False, lines_output: str | None = None,
              labels_output: str | None = None, segments_output: str | None = None, qc_output: str | None = None,
              overwrite: bool = False, method: str = "auto", refs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A ``paint`` job (the engine's ``PaintJob``): segments of the line art filled from keyframes and carried
    through the range.

    Args:
        input: line-art pattern; output: RGBA fill pattern (``.exr``: linear premultiplied, or ``.png``).
        keys: one entry per frame, ``{"frame": f, "image"?: path, "clicks"?: [[x, y, colour]]}`` with x, y pixels
            from the top-left and colour a palette index, ``"part/tone"``, ``"part"``, ``"#rrggbb"`` or
            ``"background"`` (transparent).
        lines_output ... qc_output: side outputs; ``None`` derives them from ``output``, ``""`` turns one off.
        method: how colours travel between frames (``PaintJob.method``, issue 16): ``auto``, ``learned`` (the
            inclusion matcher; needs torch) or ``classic``.
        refs: reference mode (``PaintJob.refs``, issue 16): ``[{"image": path, "line"?: path}]`` coloured
            references of the character in any pose (design-sheet views); with them keyframes are optional.

    Raises:
        JobBuildError: no keyframes and no references, a frame given twice, a bad option, or named colours without
            a palette.
    """
    for i, r in enumerate(refs or []):
        if not isinstance(r, dict) or not r.get("image"):
            raise JobBuildError(f"reference {i}: give {{'image': path}} (and optionally 'line': its line art)")
    if not keys and not refs:
        raise JobBuildError("no keyframes: connect a coloured keyframe input and list its frames, or add colour clicks")
    seen = [int(k["frame"]) for k in keys]
    if len(set(seen)) != len(seen):
        raise JobBuildError(f"keyframes {sorted(seen)}: one entry per frame (merge the image and clicks of a frame)")
    if direction not in ("nearest", "forward", "backward"):
        raise JobBuildError(f"direction must be nearest, forward or backward, not {direction!r}")
    if max_gap < 0 or speck_size < 0:
        raise JobBuildError("gap and speck sizes must be >= 0")
    if not 0.0 < line_threshold <= 1.0:
        raise JobBuildError(f"line threshold must be in (0, 1], not {line_threshold}")
    if not 0.0 <= confidence <= 1.0:
        raise JobBuildError(f"confidence must be in [0, 1], not {confidence}")
    if method not in PAINT_METHODS:
        raise JobBuildError(f"paint method must be auto, learned or classic, not {method!r}")
    for k in keys:
        for c in k.get("clicks") or []:
            colour = c[2]
            if not palette and not (isinstance(colour, str) and (colour.startswith("#") or colour == "background")) and colour != 0:
                raise JobBuildError(f"frame {k['frame']}: click colour {colour!r} names a palette entry; choose a palette "
                                    "file (or use a #rrggbb colour)")
    job: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION, "type": "paint", "input": input, "output": output,
        "frames": f"{frames[0]}-{frames[1]}", "keys": [dict(k) for k in keys], "palette": palette or None,
        "direction": direction, "max_gap": int(max_gap), "speck_size": int(speck_size),
        "line_threshold": float(line_threshold), "confidence": float(confidence), "composite_lines": bool(composite_lines),
        "lines_output": lines_output, "labels_output": labels_output, "segments_output": segments_output,
        "qc_output": qc_output, "output_options": {"overwrite": bool(overwrite)}, "method": method,
    }
    if refs:
        job["refs"] = [{"image": r["image"], "line": r.get("line") or None} for r in refs]
    return _typed(job)


file_digest = J.file_digest
"""SHA-256 (16 hex digits) of a file's bytes, "" when unreadable: edits to a palette change job keys."""
