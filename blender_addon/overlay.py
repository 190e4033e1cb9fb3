"""Clip Editor overlay: the point prompts of the current frame (+ green, - red) and the last preview matte.

Drawing needs a GPU context, so nothing is registered in background mode (``blender -b``) and every draw call is
guarded: a drawing problem is logged once and never breaks the editor.
"""

from __future__ import annotations

import logging
from typing import Any

import bpy

log = logging.getLogger("inkpaint.blender")

_handle: Any = None
_failed = False


def _draw() -> None:
    global _failed
    if _failed:
        return
    try:
        _draw_points()
    except Exception:  # pragma: no cover - needs a GPU
        _failed = True
        log.exception("Inkpaint overlay drawing failed; the overlay is off until the add-on is re-enabled")


def _draw_points() -> None:  # pragma: no cover - needs a GPU
    import gpu
    from gpu_extras.batch import batch_for_shader

    from .operators import frame_to_region

    context = bpy.context
    space = context.space_data
    region = context.region
    clip = getattr(space, "clip", None)
    if clip is None or region is None or region.type != "WINDOW":
        return
    s = clip.inkpaint
    if not s.show_overlay:
        return
    frame = context.scene.frame_current
    w, h = clip.size
    if not w or not h:
        return
    gpu.state.blend_set("ALPHA")
    if s.preview_image is not None and s.preview_frame == frame:
        x0, y0 = frame_to_region(region, clip, 0.0, 0.0)
        x1, y1 = frame_to_region(region, clip, 1.0, 1.0)
        tex = gpu.texture.from_image(s.preview_image)
        shader = gpu.shader.from_builtin("IMAGE_COLOR")
        batch = batch_for_shader(
            shader, "TRI_FAN", {"pos": ((x0, y0), (x1, y0), (x1, y1), (x0, y1)), "texCoord": ((0, 0), (1, 0), (1, 1), (0, 1))}
        )
        shader.bind()
        shader.uniform_sampler("image", tex)
        shader.uniform_float("color", (1.0, 0.35, 0.2, 0.45))
        batch.draw(shader)
    shader = gpu.shader.from_builtin("UNIFORM_COLOR")
    gpu.state.point_size_set(9.0)
    for i, obj in enumerate(s.objects):
        active = i == s.active_object_index
        for label, colour in (("ADD", (0.2, 0.95, 0.3, 1.0)), ("SUBTRACT", (0.95, 0.2, 0.2, 1.0))):
            pts = [frame_to_region(region, clip, *p.co) for p in obj.points if p.frame == frame and p.label == label]
            if not pts:
                continue
            outline = batch_for_shader(shader, "POINTS", {"pos": pts})
            shader.uniform_float("color", (*obj.color, 1.0) if active else (0.1, 0.1, 0.1, 1.0))
            gpu.state.point_size_set(13.0 if active else 11.0)
            outline.draw(shader)
            gpu.state.point_size_set(8.0)
            shader.uniform_float("color", colour)
            outline.draw(shader)
    gpu.state.point_size_set(1.0)
    gpu.state.blend_set("NONE")


def register() -> None:
    global _handle, _failed
    _failed = False
    if bpy.app.background or _handle is not None:
        return
    _handle = bpy.types.SpaceClipEditor.draw_handler_add(_draw, (), "WINDOW", "POST_PIXEL")


def unregister() -> None:
    global _handle
    if _handle is not None:
        bpy.types.SpaceClipEditor.draw_handler_remove(_handle, "WINDOW")
        _handle = None


def registered() -> bool:
    return _handle is not None
