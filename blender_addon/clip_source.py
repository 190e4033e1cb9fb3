"""Pixels in: which frames the engine reads for a MovieClip, and how file frames map to scene frames.

The engine reads the clip's own image files when it can (a numbered sequence in a format OIIO reads), in the clip's
colour space converted with Blender's own OCIO config (:func:`blender_ocio_config`). Anything else (a movie file; a
clip whose colour space was changed, when Blender has no config file to send) is rendered through Blender's
compositor into a scene-linear EXR sequence first, so the engine sees what Blender shows.
Mask layers used as prompts are rasterised the same way, by Blender's own mask rasteriser.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable

import bpy

ENGINE_EXTENSIONS = {".exr", ".dpx", ".tif", ".tiff", ".png", ".jpg", ".jpeg", ".hdr", ".tga", ".bmp", ".sgi", ".rgb"}
"""Image formats the engine reads through OIIO."""
FLOAT_EXTENSIONS = {".exr", ".hdr"}
_LINEAR_NAMES = {"linear", "linear rec.709", "linear rec.709 (srgb)", "scene_linear", "linear cie-xyz e"}


@dataclasses.dataclass
class Plate:
    """The frames the engine reads for a clip.

    Attributes:
        pattern: the engine's frame pattern (``/path/shot.####.exr``).
        first_file: the file frame number shown on scene frame ``first_scene``.
        first_scene: see above. File frame = ``first_file + scene - first_scene``.
        converted: True when the frames were rendered by Blender (in its working space, :func:`working_space`).
        width, height: frame size in pixels.
    """

    pattern: str
    first_file: int
    first_scene: int
    converted: bool
    width: int
    height: int

    def file_frame(self, scene_frame: int) -> int:
        return self.first_file + scene_frame - self.first_scene

    def scene_frame(self, file_frame: int) -> int:
        return self.first_scene + file_frame - self.first_file


def sequence_pattern(path: str) -> tuple[str, int, int] | None:
    """``/a/shot.0042.jpg`` -> (``/a/shot.####.jpg``, 42, 4); ``None`` when the name has no frame number."""
    folder, name = os.path.split(path)
    m = re.search(r"(\d+)(?=\.[^.]*$)", name) or re.search(r"(\d+)(?!.*\d)", name)
    if not m:
        return None
    digits = m.group(1)
    pattern = name[: m.start()] + "#" * len(digits) + name[m.end() :]
    return os.path.join(folder, pattern), int(digits), len(digits)


def clip_scene_range(clip: bpy.types.MovieClip) -> tuple[int, int]:
    """Scene frames the clip covers."""
    first = clip.frame_start - clip.frame_offset
    return first, first + max(clip.frame_duration, 1) - 1


def blender_ocio_config() -> str | None:
    """The OCIO config Blender colour-manages with, for the engine to convert with the same one.

    Blender reads ``$OCIO`` first (it falls back to its own config when that one does not load; the engine then
    reports the broken config rather than reading colours differently), else ``config.ocio`` in the
    ``colormanagement`` folder of its data files. ``None`` when neither is there (Blender then runs on its
    built-in fall-back, which has no file to send).
    """
    env = os.environ.get("OCIO")
    if env:
        return env
    folder = bpy.utils.system_resource("DATAFILES", path="colormanagement")
    path = os.path.join(folder, "config.ocio") if folder else ""
    return path if os.path.isfile(path) else None


def working_space() -> str:
    """Blender's scene-linear working space, the colour space of its renders (and so of converted plates): the
    blend file's ``bpy.data.colorspace.working_space`` (Blender 5.0+: Linear Rec.709, Linear Rec.2020 or ACEScg),
    else the config's ``scene_linear`` role (older Blender works in it)."""
    return getattr(getattr(bpy.data, "colorspace", None), "working_space", "") or "scene_linear"


def why_convert(clip: bpy.types.MovieClip) -> str | None:
    """Why the engine cannot read the clip's files directly, or ``None`` when it can.

    With Blender's OCIO config (:func:`blender_ocio_config`) the engine reads the files in the clip's own colour
    space, whatever it is; without one, only in the spaces it assumes (scene-linear EXR/HDR, sRGB otherwise).
    """
    if clip.source != "SEQUENCE":
        return f"clip '{clip.name}' is a movie file"
    path = bpy.path.abspath(clip.filepath)
    ext = os.path.splitext(path)[1].lower()
    if ext not in ENGINE_EXTENSIONS:
        return f"the engine does not read '{ext}' files"
    if sequence_pattern(path) is None:
        return f"'{os.path.basename(path)}' has no frame number"
    if blender_ocio_config() is not None:
        return None
    cs = clip.colorspace_settings.name.lower()
    if ext in FLOAT_EXTENSIONS:
        if cs not in _LINEAR_NAMES:
            return f"its colour space was set to '{clip.colorspace_settings.name}'"
    elif not cs.startswith("srgb"):
        return f"its colour space was set to '{clip.colorspace_settings.name}'"
    return None


def clip_plate(clip: bpy.types.MovieClip) -> Plate:
    """The clip's own files as a :class:`Plate` (no conversion)."""
    path = bpy.path.abspath(clip.filepath)
    seq = sequence_pattern(path)
    if seq is None:
        raise ValueError(f"clip '{clip.name}': '{path}' is not a numbered image sequence")
    pattern, first_number, _pad = seq
    w, h = clip.size
    # Blender shows file ``first_number + scene - frame_start + frame_offset`` on a scene frame.
    return Plate(pattern, first_number, clip.frame_start - clip.frame_offset, False, int(w), int(h))


def plate_for(
    clip: bpy.types.MovieClip,
    mode: str,
    work_dir: str,
    frames: tuple[int, int],
    progress: Callable[[int, int], None] | None = None,
) -> Plate:
    """The frames the engine reads for ``clip`` over the scene range ``frames``, converting when needed.

    Args:
        mode: ``AUTO``, ``CLIP_FILES`` or ``CONVERT``.
        work_dir: where a converted sequence goes (``<work_dir>/plate/<clip>.####.exr``).
    """
    reason = why_convert(clip)
    if mode == "CLIP_FILES" or (mode == "AUTO" and reason is None):
        if mode == "CLIP_FILES" and reason and clip.source != "SEQUENCE":
            raise ValueError(f"cannot use the clip's files directly: {reason}")
        return clip_plate(clip)
    return convert_clip(clip, os.path.join(work_dir, "plate"), frames, progress)


def _temp_scene(name: str, width: int, height: int, aspect: tuple[float, float]) -> bpy.types.Scene:
    scene = bpy.data.scenes.new(name)
    r = scene.render
    r.resolution_x, r.resolution_y, r.resolution_percentage = width, height, 100
    r.pixel_aspect_x, r.pixel_aspect_y = aspect
    r.use_compositing = True
    r.use_sequencer = False
    scene.view_settings.view_transform = "Standard"
    scene.view_settings.look = "None"
    scene.view_settings.exposure = 0.0
    scene.view_settings.gamma = 1.0
    return scene


def _remove_temp(scene: bpy.types.Scene, tree: bpy.types.NodeTree | None) -> None:
    if tree is not None and tree.name in bpy.data.node_groups and tree.users <= 1:
        bpy.data.node_groups.remove(tree)
    if scene.name in bpy.data.scenes:
        bpy.data.scenes.remove(scene)


def _render_to(scene: bpy.types.Scene, frame: int, path: str) -> None:
    """Render the compositor of ``scene`` at ``frame`` into ``path`` (atomically).

    Blender's compositor takes time-dependent inputs (movie clip frames, mask animation) from the active scene's
    evaluated state, so the active scene is moved to ``frame`` too; callers restore it.
    """
    scene.frame_set(frame)
    main = bpy.context.scene
    if main is not None and main != scene and main.frame_current != frame:
        main.frame_set(frame)
    tmp = f"{os.path.splitext(path)[0]}.tmp{os.getpid()}{os.path.splitext(path)[1]}"
    scene.render.filepath = tmp
    bpy.ops.render.render(write_still=True, scene=scene.name)
    if not os.path.exists(tmp):
        raise RuntimeError(f"Blender did not write '{tmp}' for frame {frame}")
    os.replace(tmp, path)


def _image_settings(scene: bpy.types.Scene, fmt: str) -> None:
    s = scene.render.image_settings
    if hasattr(s, "media_type"):
        s.media_type = "IMAGE"
    s.file_format = fmt
    s.color_mode = "RGB"
    if fmt == "OPEN_EXR":
        s.color_depth = "16"
        s.exr_codec = "ZIP"


def convert_clip(
    clip: bpy.types.MovieClip, folder: str, frames: tuple[int, int], progress: Callable[[int, int], None] | None = None
) -> Plate:
    """Render the clip, as Blender shows it, to a scene-linear half-float EXR sequence named by scene frame.

    Frames already converted are kept (a rerun resumes).
    """
    from . import compositor

    os.makedirs(folder, exist_ok=True)
    w, h = (int(v) for v in clip.size)
    if w == 0 or h == 0:
        raise ValueError(f"clip '{clip.name}' has no frames Blender can read ('{clip.filepath}')")
    base = bpy.path.clean_name(clip.name)
    pattern = os.path.join(folder, f"{base}.####.exr")
    scene = _temp_scene(f"inkpaint-convert-{base}", w, h, tuple(clip.display_aspect))  # type: ignore[arg-type]
    tree = None
    main = bpy.context.scene
    was = main.frame_current
    try:
        _image_settings(scene, "OPEN_EXR")
        tree = compositor.new_tree(f"inkpaint-convert-{base}", scene)
        node = tree.nodes.new("CompositorNodeMovieClip")
        node.clip = clip
        compositor.link_output(tree, scene, node.outputs["Image"])
        todo = list(range(frames[0], frames[1] + 1))
        for i, f in enumerate(todo):
            path = pattern.replace("####", f"{f:04d}") if f >= 0 else pattern.replace("####", f"-{abs(f):03d}")
            if not os.path.exists(path):
                _render_to(scene, f, path)
            if progress:
                progress(i + 1, len(todo))
    finally:
        _remove_temp(scene, tree)
        main.frame_set(was)
    return Plate(pattern, frames[0], frames[0], True, w, h)


def rasterise_mask(
    mask: bpy.types.Mask, layer: str, clip: bpy.types.MovieClip, scene_frame: int, path: str
) -> str:
    """Rasterise one layer of ``mask`` (every layer when ``layer`` is empty) at the clip's size, with Blender's
    own mask rasteriser (the compositor's Mask node), into an RGB EXR at ``path``.

    The compositor rasterises the mask as the active scene's depsgraph animated it, so the active scene is moved
    to ``scene_frame`` for the render (and back); other layers are hidden from the render meanwhile.
    """
    from . import compositor

    if layer and layer not in mask.layers:
        raise ValueError(f"mask '{mask.name}' has no layer '{layer}' (layers: {', '.join(lay.name for lay in mask.layers)})")
    w, h = (int(v) for v in clip.size)
    main = bpy.context.scene
    was = main.frame_current
    hidden = {lay.name: lay.hide_render for lay in mask.layers}
    scene = _temp_scene(f"inkpaint-raster-{mask.name}", w, h, tuple(clip.display_aspect))  # type: ignore[arg-type]
    tree = None
    try:
        for lay in mask.layers:
            lay.hide_render = bool(layer) and lay.name != layer
        main.frame_set(scene_frame)
        _image_settings(scene, "OPEN_EXR")
        scene.render.image_settings.color_depth = "32"
        tree = compositor.new_tree(f"inkpaint-raster-{mask.name}", scene)
        node = tree.nodes.new("CompositorNodeMask")
        node.mask = mask
        compositor.link_output(tree, scene, node.outputs[0])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        _render_to(scene, scene_frame, path)
    finally:
        for lay in mask.layers:
            lay.hide_render = hidden.get(lay.name, False)
        _remove_temp(scene, tree)
        main.frame_set(was)
    return path


def flatten_alpha(exr: str, png: str, size: tuple[int, int]) -> str:
    """Render the union alpha (``A``) of an engine matte EXR of ``size`` into an 8-bit greyscale PNG (for drawing)."""
    from . import compositor

    img = bpy.data.images.load(exr, check_existing=False)
    scene = None
    tree = None
    try:
        w, h = size
        scene = _temp_scene("inkpaint-flatten", int(w), int(h), (1.0, 1.0))
        _image_settings(scene, "PNG")
        scene.render.image_settings.color_mode = "BW"
        scene.render.image_settings.color_depth = "8"
        tree = compositor.new_tree("inkpaint-flatten", scene)
        node = tree.nodes.new("CompositorNodeImage")
        node.image = img
        compositor.link_output(tree, scene, node.outputs["Combined"])  # the bare "A" channel; see compositor.wire_roto
        _render_to(scene, bpy.context.scene.frame_current, png)  # a still: keep the user on their frame
    finally:
        if scene is not None:
            _remove_temp(scene, tree)
        bpy.data.images.remove(img)
    return png
