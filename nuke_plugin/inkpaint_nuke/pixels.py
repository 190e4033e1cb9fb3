"""Pixels in: what the engine reads for a node's input.

The engine must see what the compositor sees: the node's actual upstream, grades, transforms and OCIO included.
So the upstream is rendered to a temporary EXR sequence by a Write node executed for the range. The render is
skipped when the input is a plain Read of a file the engine reads directly (EXR, DPX, TIFF, PNG, JPEG, no frame
offset, no reformat, no premultiply): then the engine reads the file itself and is told its colourspace.

A render lands in ``<cache>/<node uid>/<what>-<upstream key>/`` where the key hashes what changes the upstream's
pixels (:func:`upstream_key`: knobs but not placement, selection or labels; inside Groups and gizmos; expression
links), so a changed grade renders anew and an unchanged one, moved or selected, is reused. A ``complete.json`` marker
written after ``nuke.execute`` returns says the render finished; a render killed half-way is redone.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re

import nuke

ENGINE_EXTENSIONS = {".exr", ".dpx", ".tif", ".tiff", ".png", ".jpg", ".jpeg"}

# Nuke's own (nuke-default) colourspace names -> the same space in the engine's fall-back config (OCIO's built-in
# studio config, inkpaint.io.colour.BUILTIN_CONFIG). Used only when no config file is handed to the engine and $OCIO
# is unset. Only exact equivalents are listed: curve-only nuke-default spaces (rec709, the gammas) with Rec.709/sRGB
# primaries. nuke-default's log spaces (Cineon, AlexaV3LogC, SLog...) are curves WITHOUT a gamut change; the studio
# config's camera spaces change gamut, so they are not equivalents and need Nuke's own nuke-default config file.
NUKE_DEFAULT_COLOURSPACES = {
    "linear": "lin_rec709_scene",
    "srgb": "srgb_rec709_scene",
    "srgbf": "srgb_rec709_scene",
    "rec709": "Camera Rec.709",
    "gamma1.8": "Gamma 1.8 Encoded Rec.709",
    "gamma2.2": "Gamma 2.2 Encoded Rec.709",
    "gamma2.4": "Gamma 2.4 Encoded Rec.709",
}

# The shipped config Nuke uses under its own colour management (root colorManagement "Nuke").
NUKE_DEFAULT_CONFIG = "nuke-default"

_FRAME_TOKEN = re.compile(r"(#+|@+|%0?\d*d)")


class PixelsError(Exception):
    """The input cannot be used (not connected, unsupported, render failed); the message says why."""


@dataclasses.dataclass
class PlateSource:
    """Where the engine reads an input, and how to colour-manage it.

    Attributes:
        pattern: frame pattern (``/path/shot.####.exr``).
        colorspace: the engine's ``input_colorspace``.
        ocio_config: OCIO config path for the engine (``None``: ``$OCIO`` or OIIO's built-in one).
        rendered: True when the pattern is a render of the upstream made by this plugin.
        key: the upstream key the render folder is named after ("" for a plain Read).
    """

    pattern: str
    colorspace: str
    ocio_config: str | None
    rendered: bool
    key: str = ""

    def color(self) -> dict[str, object]:
        """The job spec's ``color`` object."""
        out: dict[str, object] = {"input_colorspace": self.colorspace}
        if self.ocio_config:
            out["ocio_config"] = self.ocio_config
        return out

    def path(self, frame: int) -> str:
        """The file of ``frame``."""
        found = list(_FRAME_TOKEN.finditer(os.path.basename(self.pattern)))
        m = found[-1] if found else None
        if m is None:
            return self.pattern
        head = self.pattern[: len(self.pattern) - len(os.path.basename(self.pattern))]
        name = os.path.basename(self.pattern)
        tok = m.group(1)
        pad = len(tok) if tok[0] in "#@" else int(re.sub(r"\D", "", tok) or 0)
        return head + name[: m.start()] + f"{frame:0{pad}d}" + name[m.end() :]


# ----------------------------------------------------------------------------------------------------------------
# Colour management


def root_knob(name: str, default: object = None) -> object:
    knob = nuke.root().knob(name)
    return knob.value() if knob is not None else default


def shipped_config(name: str) -> str | None:
    """The file of the OCIO config ``name`` shipped with this Nuke (``<install>/plugins/OCIOConfigs/configs``)."""
    path = os.path.join(os.path.dirname(nuke.EXE_PATH), "plugins", "OCIOConfigs", "configs", name, "config.ocio")
    return path if os.path.isfile(path) else None


def ocio_config_path() -> str | None:
    """The OCIO config the engine should use so colourspace names mean what they mean in this script.

    From the root knobs ``colorManagement``, ``OCIO_config`` and ``customOCIOConfigPath``:

    - ``$OCIO`` set: ``None`` (the worker inherits ``$OCIO``, and Nuke itself uses it over the knobs);
    - ``OCIO_config`` ``custom``: ``customOCIOConfigPath``;
    - Nuke's own colour management (``colorManagement`` ``Nuke``, or ``OCIO_config`` ``nuke-default``): the
      nuke-default config file shipped with Nuke (it defines ``rec709``, ``Cineon``, ``AlexaV3LogC`` ...);
    - any other config name: the file of that name shipped with Nuke (``aces_1.2`` ...), else, for the OCIO
      built-in configs Nuke 14+ offers (``[fn-nuke_]cg-config-...``/``studio-config-...``), its ``ocio://`` URI;
    - else ``None``: the engine's built-in config, and :func:`engine_colorspace` maps nuke-default names.
    """
    if os.environ.get("OCIO"):
        return None
    name = str(root_knob("OCIO_config", "") or "")
    if name == "custom":
        path = str(root_knob("customOCIOConfigPath", "") or "")
        return path or None
    if str(root_knob("colorManagement", "") or "").lower() == "nuke" or not name:
        name = NUKE_DEFAULT_CONFIG
    shipped = shipped_config(name)
    if shipped:
        return shipped
    builtin = re.sub(r"^fn-nuke_", "", name)
    if re.match(r"^(cg|studio)-config-", builtin):
        return f"ocio://{builtin}"
    return None


def engine_colorspace(nuke_name: str, ocio_config: str | None, where: str = "", path: str = "") -> str:
    """The engine's name for a Nuke colourspace knob value.

    ``default (linear)`` style values are unwrapped. Names pass unchanged when a config reaches the engine
    (``ocio_config``, or ``$OCIO`` inherited by the worker). Without one the engine falls back to OCIO's built-in
    studio config, and nuke-default names are mapped to their exact equivalents there
    (:data:`NUKE_DEFAULT_COLOURSPACES`).

    ``default`` is the engine's ``auto`` (float files in the config's scene_linear role, others sRGB), except that
    without a config a float file (``path`` ends in .exr/.hdr) is nuke-default's ``linear``, Linear Rec.709: the
    engine's built-in config's scene_linear is ACEScg.

    Raises:
        PixelsError: a nuke-default name with no equivalent in the built-in config (``Cineon``, ``AlexaV3LogC``
            ...) while Nuke's nuke-default config file cannot be found; ``where`` (the Read) is named.
    """
    name = nuke_name.strip()
    fallback = ocio_config is None and not os.environ.get("OCIO")
    if name == "default":
        if fallback and os.path.splitext(path)[1].lower() in (".exr", ".hdr"):
            return NUKE_DEFAULT_COLOURSPACES["linear"]
        return "auto"  # Nuke's file-type default (float files linear, 8/16-bit sRGB): the engine's "auto" rule
    m = re.match(r"^default \((.*)\)$", name)
    if m:
        name = m.group(1)
    if not name:
        return "auto"
    if not fallback:
        return name
    mapped = NUKE_DEFAULT_COLOURSPACES.get(name.lower())
    if mapped:
        return mapped
    if name.lower() in NUKE_DEFAULT_ONLY:
        raise PixelsError(
            f"{where + ': ' if where else ''}colourspace {name!r} is a nuke-default name with no equivalent in "
            "OCIO's built-in config, and Nuke's nuke-default config file was not found "
            f"({os.path.join(os.path.dirname(nuke.EXE_PATH), 'plugins', 'OCIOConfigs', 'configs', NUKE_DEFAULT_CONFIG)}). "
            "Set $OCIO or the project's OCIO config (custom) to a config that defines it, or convert in Nuke "
            "(the node then renders its input in the working space)."
        )
    return name  # e.g. an ACES name: the built-in studio config knows it


# nuke-default colourspaces without an exact equivalent in OCIO's built-in studio config (curves without a gamut).
NUKE_DEFAULT_ONLY = {n.lower() for n in (
    "Cineon", "AlexaV3LogC", "Panalog", "REDLog", "ViperLog", "PLogLin", "SLog", "SLog1", "SLog2", "SLog3", "CLog",
    "Log3G10", "Log3G12", "Protune", "HybridLogGamma", "st2084", "BT1886", "rec2020",
)}


def working_colorspace() -> str:
    """The script's scene-linear working space (what a Write renders raw linear data in)."""
    value = str(root_knob("workingSpaceLUT", "") or "")
    return value or "linear"


# ----------------------------------------------------------------------------------------------------------------
# Plain Reads


def plain_read_pattern(node: nuke.Node | None) -> str | None:
    """The file pattern of ``node`` when it is a Read the engine can read as-is, else ``None``."""
    if node is None or node.Class() != "Read":
        return None
    if _is_true(node, "disable") or _is_true(node, "reformat") or _is_true(node, "premultiplied"):
        return None
    if str(_value(node, "frame", "") or "").strip():
        return None  # frame offset or expression: the file numbers are not the script's frames
    if str(_value(node, "frame_mode", "") or "") not in ("", "expression", "start at", "offset"):
        return None
    path = nuke.filename(node) or str(_value(node, "file", "") or "")
    if not path or os.path.splitext(path)[1].lower() not in ENGINE_EXTENSIONS:
        return None
    if not _FRAME_TOKEN.search(os.path.basename(path)):
        return None
    return path


def _value(node: nuke.Node, name: str, default: object = None) -> object:
    knob = node.knob(name)
    return knob.value() if knob is not None else default


def _is_true(node: nuke.Node, name: str) -> bool:
    return bool(_value(node, name, False))


# ----------------------------------------------------------------------------------------------------------------
# Upstream renders


UI_KNOBS = frozenset({
    "xpos", "ypos", "selected", "label", "name", "note_font", "note_font_size", "note_font_color", "tile_color",
    "gl_color", "hide_input", "postage_stamp", "postage_stamp_frame", "icon", "indicators", "bookmark", "dope_sheet",
    "cached", "help", "onCreate", "onDestroy", "knobChanged", "updateUI", "autolabel", "panel", "lock_connections",
    "inputChange", "showPanel", "inkpaint_status", "status",
})
"""Knobs that never change a node's pixels (placement, selection, labels, colours in the DAG, callbacks)."""
_NON_VALUE_KNOBS = frozenset({"Tab_Knob", "Text_Knob", "PyScript_Knob", "PyCustom_Knob", "Help_Knob", "Script_Knob",
                              "Obsolete_Knob", "BeginTabGroup_Knob", "EndTabGroup_Knob"})


def _pixel_knobs(node: nuke.Node) -> str:
    """The knobs of ``node`` that can change its pixels, as script text (expressions as written, ``{...}``)."""
    parts = []
    for name, knob in sorted(node.knobs().items()):
        if name in UI_KNOBS or knob.Class() in _NON_VALUE_KNOBS:
            continue
        try:
            parts.append(f"{name} {knob.toScript()}")
        except Exception:  # noqa: BLE001 - a knob that cannot script itself carries no pixel setting we can key on
            continue
    return " ".join(parts)


def _upstream(node: nuke.Node) -> list[nuke.Node]:
    """What ``node``'s pixels depend on: its inputs, the nodes its expressions name, and for a Group or gizmo
    the nodes inside it (from its Output node up)."""
    deps = list(node.dependencies(nuke.INPUTS | nuke.HIDDEN_INPUTS | nuke.EXPRESSIONS))
    if isinstance(node, nuke.Group) and not isinstance(node, nuke.Root):
        out = node.output() if hasattr(node, "output") else None
        if out is None:
            with node:
                out = next((n for n in nuke.allNodes("Output")), None)
        if out is not None:
            deps.append(out)
    return deps


def upstream_key(node: nuke.Node, frames: tuple[int, int]) -> str:
    """A hash of everything upstream of ``node`` that changes its pixels, plus the frame range and project format.

    Per node: its class, the knobs that can change pixels (not ``xpos``/``ypos``, ``selected``, ``label``, DAG
    colours or callbacks: moving or selecting a node never re-renders), and which nodes feed it. Nodes are named by
    their place in the walk, not by name (renaming never re-renders). The walk follows inputs, expression links
    (``Grade1.white``) and into Groups and gizmos.
    """
    index: dict[int, int] = {}
    order: list[nuke.Node] = []
    stack = [node]
    while stack:
        n = stack.pop()
        if id(n) in index:
            continue
        index[id(n)] = len(order)
        order.append(n)
        stack.extend(reversed(_upstream(n)))
    parts: list[str] = [f"{frames[0]}-{frames[1]}", str(root_knob("format", ""))]
    for i, n in enumerate(order):
        feeds = ",".join(str(index.get(id(d), "-")) for d in _upstream(n))
        parts.append(f"{i}|{n.Class()}|{feeds}|{_pixel_knobs(n)}")
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:12]


def plan_source(group: nuke.Node, input_index: int, folder: str, frames: tuple[int, int], what: str = "plate") -> PlateSource:
    """Decide where the engine reads input ``input_index`` of ``group`` for ``frames`` (no rendering here).

    Raises:
        PixelsError: the input is not connected.
    """
    upstream = group.input(input_index)
    if upstream is None:
        raise PixelsError(f"{group.name()}: input {input_index + 1} is not connected; connect the {what}")
    config = ocio_config_path()
    path = plain_read_pattern(upstream)
    if path is not None:
        raw = _is_true(upstream, "raw")
        # raw: the file's values as they are, i.e. as Nuke's default for the file type (float files: working linear)
        knob = "default" if raw else str(_value(upstream, "colorspace", "") or "")
        space = engine_colorspace(knob, config, upstream.name(), path)
        return PlateSource(path, space, config, rendered=False)
    key = upstream_key(upstream, frames)
    pattern = os.path.join(folder, f"{what}-{key}", f"{what}.####.exr").replace("\\", "/")
    return PlateSource(pattern, engine_colorspace(working_colorspace(), config), config, rendered=True, key=key)


def render_complete(source: PlateSource, frames: tuple[int, int]) -> bool:
    marker = os.path.join(os.path.dirname(source.pattern), "complete.json")
    try:
        with open(marker, encoding="utf-8") as fh:
            done = json.load(fh)
    except (OSError, ValueError):
        return False
    return done.get("key") == source.key and done.get("frames") == list(frames) and all(
        os.path.isfile(source.path(f)) for f in range(frames[0], frames[1] + 1)
    )


def ensure_rendered(group: nuke.Node, input_index: int, source: PlateSource, frames: tuple[int, int],
                    channels: str = "rgba") -> bool:
    """Render the upstream of input ``input_index`` for ``frames`` with a Write node (main thread only).

    A ``.png`` pattern renders a 16-bit PNG in the file type's default (display) colourspace, for engine
    operations that read display-referred pixels (line art, painted keyframes); anything else a half-float EXR in
    the working space.

    Returns:
        True when a render ran, False when a complete earlier render was reused (or the input is a plain Read).

    Raises:
        PixelsError: the render failed (Nuke's message included).
    """
    if not source.rendered or render_complete(source, frames):
        return False
    folder = os.path.dirname(source.pattern)
    os.makedirs(folder, exist_ok=True)
    from .graph import as_group

    with as_group(group):
        inp = nuke.toNode(f"Input{input_index + 1}")
        write = nuke.nodes.Write(name="InkpaintRenderInput")
        try:
            write.setInput(0, inp)
            write["file"].setValue(source.pattern)
            png = source.pattern.lower().endswith(".png")
            write["file_type"].setValue("png" if png else "exr")
            write["datatype"].setValue("16 bit" if png else "16 bit half")
            write["channels"].setValue(channels)
            write["colorspace"].setValue("default" if png else working_colorspace())
            write["create_directories"].setValue(True)
            try:
                nuke.execute(write, frames[0], frames[1], 1)
            except Exception as exc:  # noqa: BLE001 - Nuke raises RuntimeError with its own message
                raise PixelsError(f"{group.name()}: rendering input {input_index + 1} for frames {frames[0]}-{frames[1]} failed: {exc}") from exc
        finally:
            nuke.delete(write)
    with open(os.path.join(folder, "complete.json"), "w", encoding="utf-8") as fh:
        json.dump({"key": source.key, "frames": list(frames)}, fh)
    return True
