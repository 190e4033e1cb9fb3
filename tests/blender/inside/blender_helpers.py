"""Helpers for the in-Blender tests: render through Blender's compositor and read pixels back as numpy."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile

import bpy
import numpy as np


def read_pixels(path: str) -> np.ndarray:
    """An image file as float32 ``(H, W, C)``, top row first, through Blender's image loader."""
    img = bpy.data.images.load(path, check_existing=False)
    try:
        w, h = img.size
        px = np.empty(w * h * img.channels, np.float32)
        img.pixels.foreach_get(px)
        return px.reshape(h, w, img.channels)[::-1].copy()
    finally:
        bpy.data.images.remove(img)


NEW_COMPOSITOR = "compositing_node_group" in bpy.types.Scene.bl_rna.properties


def scene_tree(scene: bpy.types.Scene) -> bpy.types.NodeTree | None:
    """The compositor tree a scene renders (Blender 5: its node group; 4.x: its embedded tree)."""
    return scene.compositing_node_group if NEW_COMPOSITOR else scene.node_tree


def compositor_for(scene: bpy.types.Scene, name: str) -> tuple[bpy.types.NodeTree, bpy.types.NodeSocket]:
    """A fresh compositor tree for ``scene`` and the socket that reaches the render output."""
    if NEW_COMPOSITOR:
        tree = bpy.data.node_groups.new(name, "CompositorNodeTree")
        tree.interface.new_socket("Image", in_out="OUTPUT", socket_type="NodeSocketColor")
        out = tree.nodes.new("NodeGroupOutput")
        scene.compositing_node_group = tree
    else:
        scene.use_nodes = True
        tree = scene.node_tree
        tree.nodes.clear()
        out = tree.nodes.new("CompositorNodeComposite")
    return tree, out.inputs[0]


def render_scene(scene: bpy.types.Scene, frame: int) -> np.ndarray:
    """Render ``scene``'s compositor at ``frame`` to a float EXR and return RGBA ``(H, W, 4)``, top row first."""
    fd, path = tempfile.mkstemp(suffix=".exr")
    os.close(fd)
    s = scene.render.image_settings
    s.file_format = "OPEN_EXR"
    s.color_mode = "RGBA"
    s.color_depth = "32"
    scene.render.filepath = path
    scene.frame_set(frame)
    try:
        bpy.ops.render.render(write_still=True, scene=scene.name)
        return read_pixels(path)
    finally:
        os.unlink(path)


def render_mask(mask: bpy.types.Mask, size: tuple[int, int], frame: int, layer: str | None = None) -> np.ndarray:
    """Rasterise ``mask`` (optionally one layer) at ``frame`` with Blender's compositor Mask node.

    The compositor rasterises the mask's current (original) state, which the active scene's depsgraph animates:
    so the active scene is moved to ``frame`` for the render (and back). Returns float ``(H, W)``, top row first.
    """
    main = bpy.context.scene
    was = main.frame_current
    main.frame_set(frame)
    scene = bpy.data.scenes.new("raster-test")
    tree, target = compositor_for(scene, "raster-test")
    hidden = {lay.name: lay.hide_render for lay in mask.layers}
    try:
        for lay in mask.layers:
            lay.hide_render = layer is not None and lay.name != layer
        scene.render.resolution_x, scene.render.resolution_y = size
        scene.render.resolution_percentage = 100
        scene.view_settings.view_transform = "Standard"
        node = tree.nodes.new("CompositorNodeMask")
        node.mask = mask
        tree.links.new(node.outputs[0], target)
        return render_scene(scene, frame)[..., 0]
    finally:
        for lay in mask.layers:
            lay.hide_render = hidden.get(lay.name, False)
        bpy.data.scenes.remove(scene)
        if NEW_COMPOSITOR:
            bpy.data.node_groups.remove(tree)
        main.frame_set(was)


def polygon_raster(points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Even-odd fill of a closed polygon (pixels, top-left origin) sampled at pixel centres; bool ``(H, W)``."""
    w, h = size
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64) + 0.5
    inside = np.zeros((h, w), bool)
    p = np.asarray(points, np.float64)
    for (x0, y0), (x1, y1) in zip(p, np.roll(p, -1, axis=0)):
        if y0 == y1:
            continue
        crosses = (ys >= min(y0, y1)) & (ys < max(y0, y1))
        xcross = x0 + (ys - y0) * (x1 - x0) / (y1 - y0)
        inside ^= crosses & (xs < xcross)
    return inside


def engine_outlines(engine_python: str, mask_png: str) -> list[dict]:
    """Outlines of a mask image computed by the engine itself (its contours module), via its own interpreter."""
    code = (
        "import json, sys; import numpy as np; from inkpaint.io.frames import read_image; "
        "from inkpaint.contours import mask_contours; img = read_image(sys.argv[1]); "
        "m = img.pixels[..., 0] > 0.5; print(json.dumps(mask_contours(m, 0.5)))"
    )
    out = subprocess.run([engine_python, "-c", code, mask_png], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def make_polygon_mask(name: str, outlines: list[dict], to_mask, layer: str = "prompt") -> bpy.types.Mask:  # type: ignore[no-untyped-def]
    """A Mask datablock with one straight-edged (VECTOR handles) spline per outline, as an artist would draw."""
    mask = bpy.data.masks.new(name)
    lay = mask.layers.new(name=layer)
    lay.use_fill_holes = True
    for o in outlines:
        co = to_mask(np.asarray(o["points"], np.float64))
        sp = lay.splines.new()
        sp.points.add(len(co) - 1)
        sp.use_cyclic = True
        for pt, c in zip(sp.points, co):
            pt.co = c
        for pt in sp.points:  # after every co is final, so each VECTOR handle sees its real neighbours
            pt.handle_type = "VECTOR"
    return mask
