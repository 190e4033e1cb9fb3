"""Job specs built from a clip's Inkpaint settings with the engine's own job classes.

The add-on never imports the engine; it uses the engine's stdlib-only job package (:mod:`inkpaint.jobs`, vendored
into the extension, see :mod:`._contract`): each job is decoded with its class (every field type-checked, a bad one
named) and sent as that class's JSON. The worker validates the whole job again.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from collections import defaultdict
from typing import Any

import bpy

from . import clip_source
from ._contract import jobs as J
from .clip_source import Plate
from .geometry import frame_to_pixels
from .props import name_problem

SCHEMA_VERSION = J.SCHEMA_VERSION


class JobBuildError(ValueError):
    """The panel's settings cannot make a job (names the object, frame or setting)."""


@dataclasses.dataclass
class RotoPlan:
    """A roto job ready to send, with what is needed to apply its results."""

    job: dict[str, Any]
    plate: Plate
    names: list[str]
    scene_range: tuple[int, int]
    work_dir: str


def work_dir(clip: bpy.types.MovieClip, output_dir: str = "") -> str:
    """``<output folder>/<clip name>``; ``//`` is the .blend's folder (for an unsaved file: the system temp folder,
    not Blender's session temp folder, which Blender deletes on exit)."""
    base = output_dir or clip.inkpaint.output_dir or "//inkpaint/"
    if base.startswith("//") and not bpy.data.filepath:
        base = os.path.join(tempfile.gettempdir(), "inkpaint-unsaved", base[2:])
    path = bpy.path.abspath(base)
    return os.path.join(os.path.normpath(path), bpy.path.clean_name(clip.name))


def job_key(data: dict[str, Any]) -> str:
    """A hash (16 hex digits) of a JSON-ready dict: names result folders, so changed settings get a new folder."""
    return J.content_key(data)


file_digest = J.file_digest
"""SHA-256 (16 hex digits) of a file's bytes, "" when unreadable: a palette edited in place changes keys."""


def typed(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` encoded by its engine job class (all fields); a bad field is a :class:`JobBuildError` naming it."""
    return J.job_dict(body, error=JobBuildError)


def read_manifest(path: str) -> dict[str, Any]:
    """An engine manifest (``<prefix>.inkpaint.json``: ``job``, ``result``), ``{}`` when missing or unreadable.

    The engine records paths inside the shot folder relative to the manifest (so a moved shot folder still reads);
    they come back absolute here: the job's ``input``/``output``/``mattes``/``out_dir``, ``color.ocio_config`` and
    ``result.outputs``.
    """
    full = bpy.path.abspath(path)
    try:
        with open(full, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    folder = os.path.dirname(os.path.abspath(full))
    absolute = lambda v: os.path.normpath(os.path.join(folder, v)) if isinstance(v, str) and v and not os.path.isabs(v) and "://" not in v else v  # noqa: E731
    job, result = data.get("job"), data.get("result")
    if isinstance(job, dict):
        for key in ("input", "output", "mattes", "out_dir", "palette", "contours_output"):
            if key in job:
                job[key] = absolute(job[key])
        color = job.get("color")
        if isinstance(color, dict) and color.get("ocio_config"):
            color["ocio_config"] = absolute(color["ocio_config"])  # relative to the manifest too (ocio:// kept)
    if isinstance(result, dict) and isinstance(result.get("outputs"), dict):
        result["outputs"] = {k: absolute(v) for k, v in result["outputs"].items()}
    return data


def scene_range(clip: bpy.types.MovieClip, start: int | None = None, end: int | None = None) -> tuple[int, int]:
    """The scene frames to process: explicit ``start``/``end``, else the panel's range or the whole clip."""
    s = clip.inkpaint
    c0, c1 = clip_source.clip_scene_range(clip)
    if start is None:
        start = c0 if s.use_clip_range else s.frame_start
    if end is None:
        end = c1 if s.use_clip_range else s.frame_end
    if end < start:
        raise JobBuildError(f"frame range {start}-{end} ends before it starts")
    if start < c0 or end > c1:
        raise JobBuildError(f"frame range {start}-{end} is outside clip '{clip.name}' (scene frames {c0}-{c1})")
    return start, end


def backend_options(backend: str, model: str, device: str) -> dict[str, Any]:
    if backend == "classic":
        return {}
    opts: dict[str, Any] = {"model": model}
    if device and device != "auto":
        opts["device"] = device
    return opts


def object_prompts(
    clip: bpy.types.MovieClip, obj: Any, plate: Plate, prompt_dir: str, frames: tuple[int, int] | None, only_frame: int | None = None
) -> list[dict[str, Any]]:
    """The engine prompts of one panel object: its points grouped by frame, and its mask prompt (rasterised)."""
    w, h = plate.width, plate.height
    by_frame: dict[int, list[list[float]]] = defaultdict(list)
    for p in obj.points:
        if only_frame is not None and p.frame != only_frame:
            continue
        x, y = frame_to_pixels([tuple(p.co)], w, h)[0]
        if not (0 <= x <= w and 0 <= y <= h):
            raise JobBuildError(f"object '{obj.name}': a point on frame {p.frame} lies outside the frame")
        by_frame[p.frame].append([round(float(x), 3), round(float(y), 3), 1 if p.label == "ADD" else 0])
    prompts: list[dict[str, Any]] = []
    for f in sorted(by_frame):
        if frames is not None and not frames[0] <= f <= frames[1]:
            raise JobBuildError(f"object '{obj.name}': points on frame {f} are outside the range {frames[0]}-{frames[1]}")
        prompts.append({"frame": plate.file_frame(f), "points": by_frame[f]})
    if obj.use_mask and obj.mask is not None and (only_frame is None or obj.mask_frame == only_frame):
        f = obj.mask_frame
        if frames is not None and not frames[0] <= f <= frames[1]:
            raise JobBuildError(f"object '{obj.name}': its mask prompt is on frame {f}, outside the range {frames[0]}-{frames[1]}")
        path = os.path.join(prompt_dir, f"{obj.name}.{plate.file_frame(f)}.exr")
        clip_source.rasterise_mask(obj.mask, obj.mask_layer, clip, f, path)
        prompts.append({"frame": plate.file_frame(f), "mask": path})
    return prompts


def _objects(clip: bpy.types.MovieClip) -> list[Any]:
    objs = [o for o in clip.inkpaint.objects if o.enabled]
    if not objs:
        raise JobBuildError(f"clip '{clip.name}' has no objects to track; add one in the Inkpaint panel")
    seen: set[str] = set()
    for o in objs:
        problem = name_problem(o.name)
        if problem:
            raise JobBuildError(f"object {problem}")
        if o.name in seen:
            raise JobBuildError(f"two objects are named '{o.name}'")
        seen.add(o.name)
    return objs


def plate_color(plate: Plate, clip: bpy.types.MovieClip) -> dict[str, Any]:
    """The job's ``color`` for a plate, read the way Blender shows it.

    With Blender's OCIO config (:func:`clip_source.blender_ocio_config`): that config as ``ocio_config`` and, as
    ``input_colorspace``, the clip's colour-space name (the clip's own files) or Blender's working space (frames
    Blender rendered, :func:`clip_source.working_space`). Without one (Blender on its built-in fall-back), the
    engine's own config: float files as ``lin_rec709_scene`` (said explicitly because the engine's ``auto`` reads
    an untagged EXR in its config's ``scene_linear`` role, ACEScg in its built-in config), others ``auto`` (sRGB).
    """
    config = clip_source.blender_ocio_config()
    if config is None:
        linear = os.path.splitext(plate.pattern)[1].lower() in clip_source.FLOAT_EXTENSIONS
        return {"input_colorspace": "lin_rec709_scene" if linear else "auto"}
    space = clip_source.working_space() if plate.converted else clip.colorspace_settings.name
    return {"input_colorspace": space, "ocio_config": config}


def build_roto(
    clip: bpy.types.MovieClip,
    *,
    start: int | None = None,
    end: int | None = None,
    direction: str | None = None,
    backend: str | None = None,
    model: str | None = None,
    device: str | None = None,
    output_dir: str = "",
    pixels: str | None = None,
    cryptomatte: bool | None = None,
    overwrite: bool | None = None,
    contour_tolerance: float | None = None,
    progress: Any = None,
) -> RotoPlan:
    """A roto job for the clip's enabled objects over a scene frame range (panel settings unless given)."""
    s = clip.inkpaint
    objs = _objects(clip)
    frames = scene_range(clip, start, end)
    wd = work_dir(clip, output_dir)
    plate = clip_source.plate_for(clip, pixels or s.pixels, wd, frames, progress)
    backend = backend or s.backend
    objects = []
    for o in objs:
        prompts = object_prompts(clip, o, plate, os.path.join(wd, "prompts"), frames)
        if not prompts:
            raise JobBuildError(f"object '{o.name}' has no prompts: click on it with Add Points, or give it a mask prompt")
        objects.append({"name": o.name, "prompts": prompts})
    base = bpy.path.clean_name(clip.name)
    job = typed({
        "schema_version": SCHEMA_VERSION,
        "type": "roto",
        "input": plate.pattern,
        "output": os.path.join(wd, "roto", f"{base}.####.exr"),
        "objects": objects,
        "frames": f"{plate.file_frame(frames[0])}-{plate.file_frame(frames[1])}",
        "backend": backend,
        "backend_options": backend_options(backend, model or s.model, device or s.device),
        "direction": direction or s.direction,
        "color": plate_color(plate, clip),
        "contours": True,
        "contour_tolerance": float(s.contour_tolerance if contour_tolerance is None else contour_tolerance),
        "cryptomatte": bool(s.cryptomatte if cryptomatte is None else cryptomatte),
        # Blender 5.0 loads an EXR's data window as the whole image (display window ignored): ask for full frames
        "output_options": {"overwrite": bool(s.overwrite if overwrite is None else overwrite), "data_window": "full"},
    })
    return RotoPlan(job, plate, [o["name"] for o in objects], frames, wd)


def build_segment(clip: bpy.types.MovieClip, frame: int, *, backend: str | None = None, output_dir: str = "") -> tuple[dict[str, Any], Plate]:
    """A ``segment`` request (preview of one frame) from the prompts on ``frame``."""
    s = clip.inkpaint
    objs = _objects(clip)
    wd = work_dir(clip, output_dir)
    plate = clip_source.plate_for(clip, s.pixels, wd, (frame, frame))
    objects = []
    for o in objs:
        prompts = object_prompts(clip, o, plate, os.path.join(wd, "prompts"), None, only_frame=frame)
        if not prompts:
            continue
        entry: dict[str, Any] = {"name": o.name}
        for p in prompts:
            if "points" in p:
                entry["points"] = p["points"]
            if "mask" in p:
                entry["mask"] = p["mask"]
        objects.append(entry)
    if not objects:
        raise JobBuildError(f"no prompts on frame {frame}: add points on this frame first")
    backend = backend or s.backend
    req = {
        "input": plate.pattern,
        "frame": plate.file_frame(frame),
        "objects": objects,
        "backend": backend,
        "backend_options": backend_options(backend, s.model, s.device),
        "color": plate_color(plate, clip),
        "output": os.path.join(wd, "preview", f"{bpy.path.clean_name(clip.name)}.{plate.file_frame(frame)}.exr"),
    }
    return req, plate
