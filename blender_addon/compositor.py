"""Compositor wiring for results, for Blender 5.x (``scene.compositing_node_group``, a node-group datablock with a
Group Output) and 4.2-4.5 (``scene.node_tree`` with a Composite node).

The Inkpaint tree of a clip shows the clip with the union matte as alpha (Set Alpha), and, once they exist, the
Cryptomatte picker, the cels over the clip (Alpha Over) and the paint-bucket frames. Nodes carry an ``inkpaint``
custom property naming their role, so a rerun updates them instead of piling up copies.
"""

from __future__ import annotations

import bpy

NEW_API = hasattr(bpy.types.Scene, "compositing_node_group") or "compositing_node_group" in bpy.types.Scene.bl_rna.properties
TREE_PREFIX = "Inkpaint "


def new_tree(name: str, scene: bpy.types.Scene) -> bpy.types.NodeTree:
    """An empty compositor tree that ``scene`` renders (a new node group on 5.x; the scene's own tree on 4.x)."""
    if NEW_API:
        tree = bpy.data.node_groups.new(name, "CompositorNodeTree")
        tree.interface.new_socket("Image", in_out="OUTPUT", socket_type="NodeSocketColor")
        scene.compositing_node_group = tree
        return tree
    scene.use_nodes = True
    tree = scene.node_tree
    tree.nodes.clear()
    return tree


def link_output(tree: bpy.types.NodeTree, scene: bpy.types.Scene, socket: bpy.types.NodeSocket) -> bpy.types.Node:
    """Connect ``socket`` to what the render writes (Group Output on 5.x, Composite on 4.x)."""
    out = role_node(tree, "output", "NodeGroupOutput" if NEW_API else "CompositorNodeComposite")
    tree.links.new(socket, out.inputs[0])
    return out


def role_node(tree: bpy.types.NodeTree, role: str, idname: str, location: tuple[float, float] = (0.0, 0.0), label: str = "") -> bpy.types.Node:
    """The node playing ``role`` in ``tree``, created when missing (or when its type changed)."""
    for node in tree.nodes:
        if node.get("inkpaint") == role:
            if node.bl_idname == idname:
                return node
            tree.nodes.remove(node)
            break
    node = tree.nodes.new(idname)
    node["inkpaint"] = role
    node.location = location
    if label:
        node.label = label
    return node


def clip_tree(scene: bpy.types.Scene, clip: bpy.types.MovieClip) -> tuple[bpy.types.NodeTree, bool]:
    """The Inkpaint compositor tree for ``clip``.

    On 5.x it is the node group ``Inkpaint <clip>``; it becomes the scene's compositor when the scene has none (or
    already uses an Inkpaint tree), otherwise the user's tree is left alone and the group can be added to it.
    On 4.x the nodes go into the scene's tree.

    Returns:
        ``(tree, active)``: active is True when the scene renders this tree.
    """
    name = TREE_PREFIX + clip.name
    if NEW_API:
        tree = bpy.data.node_groups.get(name)
        if tree is None or tree.bl_idname != "CompositorNodeTree":
            tree = bpy.data.node_groups.new(name, "CompositorNodeTree")
            tree.interface.new_socket("Image", in_out="OUTPUT", socket_type="NodeSocketColor")
            tree.interface.new_socket("Matte", in_out="OUTPUT", socket_type="NodeSocketFloat")
        current = scene.compositing_node_group
        if current is None or current.name.startswith(TREE_PREFIX):
            scene.compositing_node_group = tree
        return tree, scene.compositing_node_group == tree
    scene.use_nodes = True
    return scene.node_tree, True


def _out(node: bpy.types.Node, *names: str) -> bpy.types.NodeSocket:
    for n in names:
        if n in node.outputs:
            return node.outputs[n]
    return node.outputs[0]


def _in(node: bpy.types.Node, *names: str, index: int = 0) -> bpy.types.NodeSocket:
    for n in names:
        if n in node.inputs:
            return node.inputs[n]
    return node.inputs[index]


def load_sequence(path_pattern: str, first_file: int, first_scene: int, count: int, name: str, non_color: bool) -> bpy.types.Image:
    """Load a numbered image sequence as one Image (source SEQUENCE), reusing an Image of the same name."""
    first = path_pattern.replace("#" * path_pattern.count("#"), f"{first_file:0{path_pattern.count('#')}d}") if "#" in path_pattern else path_pattern
    img = bpy.data.images.get(name)
    if img is not None and bpy.path.abspath(img.filepath) != first:
        img.filepath = first
        img.reload()
    if img is None:
        img = bpy.data.images.load(first, check_existing=False)
        img.name = name
    img.source = "SEQUENCE"
    if non_color:
        try:
            img.colorspace_settings.is_data = True
        except (AttributeError, TypeError):
            img.colorspace_settings.name = "Non-Color"
    img["inkpaint_first_file"] = int(first_file)
    img["inkpaint_first_scene"] = int(first_scene)
    img["inkpaint_count"] = int(count)
    return img


def image_node(tree: bpy.types.NodeTree, role: str, image: bpy.types.Image, location: tuple[float, float], label: str) -> bpy.types.Node:
    """An Image node playing ``image`` as a sequence in sync with the scene (file frame F on its scene frame)."""
    node = role_node(tree, role, "CompositorNodeImage", location, label)
    node.image = image
    first_file = int(image.get("inkpaint_first_file", 1))
    node.frame_start = int(image.get("inkpaint_first_scene", 1))
    node.frame_duration = max(int(image.get("inkpaint_count", 1)), 1)
    node.frame_offset = first_file - 1  # Blender shows file (scene - frame_start + 1 + offset)
    node.use_auto_refresh = True
    return node


def wire_roto(scene: bpy.types.Scene, clip: bpy.types.MovieClip, mattes: bpy.types.Image, objects: list[str], cryptomatte: bool) -> bpy.types.NodeTree:
    """Clip + union matte -> Set Alpha -> output; per-object mattes available on the Image node's outputs."""
    tree, _active = clip_tree(scene, clip)
    clip_node = role_node(tree, "clip", "CompositorNodeMovieClip", (-600, 200), "Clip")
    clip_node.clip = clip
    matte_node = image_node(tree, "mattes", mattes, (-600, -100), "Inkpaint mattes")
    set_alpha = role_node(tree, "set_alpha", "CompositorNodeSetAlpha", (-250, 150), "Matte as alpha")
    tree.links.new(_out(clip_node, "Image"), _in(set_alpha, "Image"))
    # The union matte is the EXR's bare "A" channel, which Blender exposes as the "Combined" pass. (The node's
    # "Alpha" output on such a file crashes Blender 5.0.1's compositor, so it is never used.)
    union = _out(matte_node, "Combined", "Image")
    tree.links.new(union, _in(set_alpha, "Alpha", index=1))
    if "Type" in set_alpha.inputs and hasattr(set_alpha.inputs["Type"], "default_value"):
        try:
            set_alpha.inputs["Type"].default_value = "Replace Alpha"
        except (TypeError, ValueError):
            pass
    elif hasattr(set_alpha, "mode"):
        set_alpha.mode = "REPLACE_ALPHA"
    _output(tree, scene, _out(set_alpha, "Image"), union)
    viewer = role_node(tree, "viewer", "CompositorNodeViewer", (250, 0), "Viewer")
    tree.links.new(_out(set_alpha, "Image"), viewer.inputs[0])
    if cryptomatte:
        crypto = role_node(tree, "cryptomatte", "CompositorNodeCryptomatteV2", (-250, -250), "Cryptomatte")
        crypto.source = "IMAGE"
        crypto.image = mattes
        crypto.frame_start = matte_node.frame_start
        crypto.frame_duration = matte_node.frame_duration
        crypto.frame_offset = matte_node.frame_offset
        try:
            crypto.layer_name = "CryptoObject"
        except TypeError:
            pass
        crypto.matte_id = ",".join(objects)
        tree.links.new(_out(clip_node, "Image"), _in(crypto, "Image"))
    return tree


def _output(tree: bpy.types.NodeTree, scene: bpy.types.Scene, image: bpy.types.NodeSocket, matte: bpy.types.NodeSocket | None) -> None:
    if NEW_API:
        out = role_node(tree, "output", "NodeGroupOutput", (450, 150))
        tree.links.new(image, out.inputs["Image"] if "Image" in out.inputs else out.inputs[0])
        if matte is not None and "Matte" in out.inputs:
            tree.links.new(matte, out.inputs["Matte"])
    else:
        out = role_node(tree, "output", "CompositorNodeComposite", (450, 150))
        tree.links.new(image, out.inputs[0])


def wire_over(scene: bpy.types.Scene, clip: bpy.types.MovieClip, image: bpy.types.Image, role: str, label: str, y: float, over_clip: bool) -> bpy.types.NodeTree:
    """An RGBA result sequence (cels, paint) -> Alpha Over (over the clip, or over nothing) -> output."""
    tree, _active = clip_tree(scene, clip)
    node = image_node(tree, role, image, (-600, y), label)
    over = role_node(tree, f"{role}_over", "CompositorNodeAlphaOver", (-250, y), f"{label} over clip" if over_clip else label)
    fg = _in(over, "Foreground", index=2)
    bg = _in(over, "Background", index=1)
    tree.links.new(_out(node, "Image", "Combined"), fg)
    if over_clip:
        clip_node = role_node(tree, "clip", "CompositorNodeMovieClip", (-600, 200), "Clip")
        clip_node.clip = clip
        tree.links.new(_out(clip_node, "Image"), bg)
    else:
        for link in list(bg.links):
            tree.links.remove(link)
        if hasattr(bg, "default_value"):
            bg.default_value = (0.0, 0.0, 0.0, 0.0)
    _output(tree, scene, _out(over, "Image"), None)
    viewer = role_node(tree, "viewer", "CompositorNodeViewer", (250, 0), "Viewer")
    tree.links.new(_out(over, "Image"), viewer.inputs[0])
    return tree
