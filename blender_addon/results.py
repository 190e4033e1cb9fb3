"""Results, native to Blender: Mask datablocks keyed from the engine's outlines, image sequences, compositor wiring.

Mask layout: one Mask datablock per clip (``Inkpaint <clip>``) with one layer per object. Each outline becomes a
cyclic spline with the same number of points on every frame; ``co`` and both handles of every point are keyframed
per frame (linear interpolation between frames), with ``ALIGNED`` handles so an edit keeps the curve smooth. A
frame where an outline vanishes keys its spline as a tiny ring parked outside the frame (renders nothing and cuts
nothing). Holes and islands are separate splines and the layer fills holes (odd overlap count = inside), so holes
are holes and islands islands on every frame. Each spline gets as few points as follow its outline to 0.75 px
(adaptive); the counts are stored on the Mask (``mask["inkpaint_points.<layer>"]``) and reported.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import bpy
import numpy as np

from . import compositor
from .clip_source import Plate
from .geometry import EDGE_OFFSET, keyframe_arrays, pixels_to_mask, track_outlines

MASK_PREFIX = "Inkpaint "
INTERP_LINEAR = "LINEAR"


def frame_path(pattern: str, frame: int) -> str:
    """Fill the ``#`` run of ``pattern`` with ``frame`` (the engine's own padding rules)."""
    n = pattern.count("#")
    if n == 0:
        return pattern
    token = "#" * n
    text = f"-{abs(frame):0{max(n - 1, 0)}d}" if frame < 0 else f"{frame:0{n}d}"
    return pattern.replace(token, text)


def read_contours(pattern: str, frames: list[int]) -> dict[int, dict[str, Any]]:
    """The engine's per-frame outline JSON for ``frames`` (a missing file is an error naming it)."""
    out: dict[int, dict[str, Any]] = {}
    for f in frames:
        path = frame_path(pattern, f)
        try:
            with open(path, encoding="utf-8") as fh:
                out[f] = json.load(fh)
        except OSError as exc:
            raise RuntimeError(f"frame {f}: cannot read outlines '{path}': {exc.strerror or exc}") from None
        except ValueError as exc:
            raise RuntimeError(f"frame {f}: outlines '{path}' are not valid JSON: {exc}") from None
    return out


def _action(mask: bpy.types.Mask) -> bpy.types.Action:
    ad = mask.animation_data or mask.animation_data_create()
    if ad.action is None:
        ad.action = bpy.data.actions.new(f"{mask.name}Action")
    return ad.action


def _all_fcurve_collections(action: bpy.types.Action) -> list[Any]:
    cols: list[Any] = []
    if hasattr(action, "layers"):  # slotted actions (4.4+)
        for layer in action.layers:
            for strip in layer.strips:
                for bag in getattr(strip, "channelbags", []):
                    cols.append(bag.fcurves)
    if not cols and hasattr(action, "fcurves"):
        cols.append(action.fcurves)
    return cols


def remove_layer_animation(mask: bpy.types.Mask, layer_name: str) -> None:
    """Delete every F-Curve that animates ``layer_name`` of ``mask``."""
    if mask.animation_data is None or mask.animation_data.action is None:
        return
    prefix = f'layers["{layer_name}"].'
    for fcurves in _all_fcurve_collections(mask.animation_data.action):
        for fc in [fc for fc in fcurves if fc.data_path.startswith(prefix)]:
            fcurves.remove(fc)


def _fcurve(mask: bpy.types.Mask, action: bpy.types.Action, path: str, index: int) -> bpy.types.FCurve:
    if hasattr(action, "fcurve_ensure_for_datablock"):
        return action.fcurve_ensure_for_datablock(mask, path, index=index)
    fc = action.fcurves.find(path, index=index)
    return fc or action.fcurves.new(path, index=index)


def _key(fc: bpy.types.FCurve, frames: np.ndarray, values: np.ndarray) -> None:
    n = len(frames)
    fc.keyframe_points.add(n)
    co = np.empty(2 * n, np.float32)
    co[0::2] = frames
    co[1::2] = values
    fc.keyframe_points.foreach_set("co", co)
    try:  # enum by value: 1 is LINEAR (BEZT_IPO_LIN); checked on the first key
        fc.keyframe_points.foreach_set("interpolation", np.ones(n, np.int32))
        ok = fc.keyframe_points[0].interpolation == INTERP_LINEAR
    except (TypeError, RuntimeError):
        ok = False
    if not ok:
        for kp in fc.keyframe_points:
            kp.interpolation = INTERP_LINEAR
    fc.update()


def result_mask(clip: bpy.types.MovieClip) -> bpy.types.Mask:
    """The clip's Inkpaint Mask datablock (created when missing)."""
    settings = clip.inkpaint
    mask = settings.result_mask
    if mask is None:
        name = MASK_PREFIX + clip.name
        mask = bpy.data.masks.get(name) or bpy.data.masks.new(name)
        settings.result_mask = mask
    return mask


def key_object_layer(
    mask: bpy.types.Mask,
    name: str,
    contours: Mapping[int, Mapping[str, Any]],
    frame_map: Mapping[int, int],
    size: tuple[int, int],
    aspect: tuple[float, float],
    spline_points: int = 0,
    edge_offset: float = EDGE_OFFSET,
) -> bpy.types.MaskLayer:
    """(Re)build the layer ``name`` of ``mask`` from per-frame outlines, keyframed on the mapped scene frames.

    ``edge_offset`` moves the outlines away from the matte's inside (0.5 px: the engine's outlines run through the
    centres of the matte's edge pixels; 0 for outlines that already lie on the edge, such as drawn polygons)."""
    w, h = size
    layer = mask.layers.get(name)
    if layer is None:
        layer = mask.layers.new(name=name)
    remove_layer_animation(mask, name)
    for spline in list(layer.splines):
        layer.splines.remove(spline)
    per_frame = {f: list(data.get("objects", {}).get(name, [])) for f, data in contours.items()}
    tracks = track_outlines(per_frame, points=spline_points, edge_offset=edge_offset)
    action = _action(mask)

    def to_mask(px: np.ndarray) -> np.ndarray:
        return pixels_to_mask(px, w, h, aspect)

    for s, track in enumerate(tracks):
        frames, co, left, right = keyframe_arrays(track, to_mask, frame_map)
        n = co.shape[1]
        spline = layer.splines.new()
        if len(spline.points) < n:
            spline.points.add(n - len(spline.points))
        spline.use_cyclic = True
        spline.use_fill = True
        for i, pt in enumerate(spline.points):
            pt.handle_type = "ALIGNED"
            pt.co = co[0, i]
            pt.handle_left = left[0, i]
            pt.handle_right = right[0, i]
        base = f'layers["{name}"].splines[{s}].points'
        for i in range(n):
            for prop, arr in (("co", co), ("handle_left", left), ("handle_right", right)):
                for axis in (0, 1):
                    _key(_fcurve(mask, action, f"{base}[{i}].{prop}", axis), frames, arr[:, i, axis])
    layer.use_fill_holes = any(t.hole for t in tracks)
    layer.use_fill_overlap = True  # resolve overlaps before filling (a hole grazing its outer after smoothing)
    # Mask layers take no custom properties: the counts live on the Mask, per layer
    mask[f"inkpaint_points.{name}"] = [t.points for t in tracks]
    mask[f"inkpaint_error_px.{name}"] = round(max((t.error for t in tracks), default=0.0), 3)
    return layer


def apply_roto(
    context: bpy.types.Context,
    clip: bpy.types.MovieClip,
    result: Mapping[str, Any],
    plate: Plate,
    names: list[str],
    cryptomatte: bool,
    spline_points: int = 0,
) -> dict[str, Any]:
    """Apply a finished roto job: Mask layers from the outlines, the matte sequence as an Image, compositor nodes.

    Returns:
        A summary: ``{"mask": name, "layers": [...], "image": name, "tree": name, "frames": n}``.
    """
    outputs = result.get("outputs", {})
    frames = sorted(int(f) for f in result.get("frames", []))
    if not frames:
        raise RuntimeError("the roto job reported no frames")
    frame_map = {f: plate.scene_frame(f) for f in frames}
    summary: dict[str, Any] = {"frames": len(frames)}
    if outputs.get("contours"):
        contours = read_contours(outputs["contours"], frames)
        mask = result_mask(clip)
        mask.frame_start = min(frame_map.values())
        mask.frame_end = max(frame_map.values())
        aspect = (float(clip.display_aspect[0]), float(clip.display_aspect[1]))
        points = {}
        for name in names:
            key_object_layer(mask, name, contours, frame_map, (plate.width, plate.height), aspect, spline_points)
            points[name] = list(mask[f"inkpaint_points.{name}"])
        summary["mask"] = mask.name
        summary["layers"] = list(names)
        summary["points"] = points  # points per spline, per object layer
    mattes = compositor.load_sequence(
        outputs["mattes"], frames[0], plate.scene_frame(frames[0]), frames[-1] - frames[0] + 1, f"{clip.name} mattes", non_color=True
    )
    tree = compositor.wire_roto(context.scene, clip, mattes, names, cryptomatte)
    settings = clip.inkpaint
    settings.mattes_pattern = outputs["mattes"]
    settings.roto_manifest = str(result.get("manifest") or "")
    summary.update(image=mattes.name, tree=tree.name)
    return summary


def apply_sequence(
    context: bpy.types.Context,
    clip: bpy.types.MovieClip,
    pattern: str,
    frames: list[int],
    plate: Plate,
    role: str,
    label: str,
    y: float,
    over_clip: bool,
    non_color: bool = False,
) -> dict[str, Any]:
    """Load an RGBA result sequence (cels, paint) and wire it over the clip in the compositor."""
    frames = sorted(frames)
    img = compositor.load_sequence(pattern, frames[0], plate.scene_frame(frames[0]), frames[-1] - frames[0] + 1, f"{clip.name} {label}", non_color)
    tree = compositor.wire_over(context.scene, clip, img, role, label, y, over_clip)
    return {"image": img.name, "tree": tree.name, "frames": len(frames)}


def load_preview(clip: bpy.types.MovieClip, path: str) -> bpy.types.Image:
    """Turn the preview mask EXR of a ``segment`` request into the clip's preview Image.

    The EXR holds ``<object>.A`` layers, which Blender opens as a multilayer image (no plain pixels for drawing),
    so its union alpha is rendered through the compositor into a greyscale PNG beside it, and that is loaded.
    """
    from .clip_source import flatten_alpha

    png = flatten_alpha(path, os.path.splitext(path)[0] + ".png", (int(clip.size[0]), int(clip.size[1])))
    name = f"{clip.name} preview"
    img = bpy.data.images.get(name)
    if img is None:
        img = bpy.data.images.load(png, check_existing=False)
        img.name = name
    else:
        img.filepath = png
        img.reload()
    try:
        img.colorspace_settings.is_data = True
    except (AttributeError, TypeError):
        pass
    return img


def apply_tonal(
    context: bpy.types.Context, clip: bpy.types.MovieClip, tone_pattern: str, frames: list[int], plate: Plate, y: float = -750.0
) -> dict[str, Any]:
    """Bring a learned shade run's ``tonal`` channel (5 classes: 0 background, 1 material, 2 attached shadow, 3 cast
    shadow, 4 highlight) into Blender: Blender 5.0 cannot open the engine's tone EXRs (bare ``tone``/``tonal``
    channels), so each frame's channel is decoded here and written as ``<folder>/tonal/<file>.####.exr`` with one
    layer ``tonal`` (see :mod:`exr_channels`), loaded as a non-colour sequence and placed in the clip's compositor
    tree as an Image node (role ``tonal``) whose ``tonal`` output carries the class codes.

    Raises:
        exr_channels.ExrError: a tone frame without the ``tonal`` channel (a classic run) or unreadable.
    """
    from .exr_channels import read_channel, write_layer

    frames = sorted(frames)
    tone_dir = os.path.dirname(tone_pattern)
    out_pattern = os.path.join(os.path.dirname(tone_dir), "tonal", os.path.basename(tone_pattern))
    pad = tone_pattern.count("#")
    for f in frames:
        src = tone_pattern.replace("#" * pad, f"{f:0{pad}d}")
        write_layer(out_pattern.replace("#" * pad, f"{f:0{pad}d}"), "tonal", read_channel(src, "tonal"))
    img = compositor.load_sequence(out_pattern, frames[0], plate.scene_frame(frames[0]), frames[-1] - frames[0] + 1,
                                   f"{clip.name} tonal", non_color=True)
    tree, _ = compositor.clip_tree(context.scene, clip)
    compositor.image_node(tree, "tonal", img, (-600, y), "tonal classes (0 bg, 1 material, 2 attached, 3 cast, 4 highlight)")
    clip.inkpaint.tonal_pattern = out_pattern
    return {"image": img.name, "tree": tree.name, "frames": len(frames), "pattern": out_pattern}
