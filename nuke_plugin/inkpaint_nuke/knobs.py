"""Knob helpers shared by the inkpaint nodes: identity knobs, hidden JSON data knobs, one-line script knobs."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import nuke

from . import NODE_VERSION

ID_KNOB = "inkpaint_node"
"""Hidden knob holding ``<NodeType>:<version>`` (e.g. ``InkpaintRoto:1``); how the plugin recognises its nodes."""

UID_KNOB = "inkpaint_uid"
"""Hidden knob with a random id naming the node's cache folder."""

STATUS_KNOB = "inkpaint_status"


def script_call(func: str, *args: str) -> str:
    """The one-line script stored in a knob: ``import inkpaint_nuke.callbacks; inkpaint_nuke.callbacks.<func>()``.

    Args are Python literals already formatted (e.g. ``"'forward'"``).
    """
    return f"import inkpaint_nuke.callbacks; inkpaint_nuke.callbacks.{func}({', '.join(args)})"


def hidden_string(name: str, value: str = "") -> nuke.String_Knob:
    knob = nuke.String_Knob(name, name)
    knob.setValue(value)
    knob.setFlag(nuke.INVISIBLE)
    return knob


def button(name: str, label: str, func: str, *args: str, tooltip: str = "", newline: bool = False) -> nuke.PyScript_Knob:
    knob = nuke.PyScript_Knob(name, label, script_call(func, *args))
    if newline:
        knob.setFlag(nuke.STARTLINE)
    if tooltip:
        knob.setTooltip(tooltip)
    return knob


def node_type(node: nuke.Node | None) -> str | None:
    """``InkpaintRoto``/``InkpaintShade``/``InkpaintPaint`` for an inkpaint node, else ``None``."""
    if node is None:
        return None
    knob = node.knob(ID_KNOB)
    if knob is None:
        return None
    return str(knob.value()).split(":")[0] or None


def node_version(node: nuke.Node) -> int:
    knob = node.knob(ID_KNOB)
    try:
        return int(str(knob.value()).split(":")[1]) if knob is not None else 0
    except (IndexError, ValueError):
        return 0


def identity_knobs(node_type_name: str, uid: str) -> list[nuke.Knob]:
    return [hidden_string(ID_KNOB, f"{node_type_name}:{NODE_VERSION}"), hidden_string(UID_KNOB, uid)]


def get_json(node: nuke.Node, name: str, default: Any) -> Any:
    """The JSON value of a hidden string knob (``default`` when empty or unreadable)."""
    knob = node.knob(name)
    text = str(knob.value()) if knob is not None else ""
    if not text:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


def set_json(node: nuke.Node, name: str, value: Any) -> None:
    node[name].setValue(json.dumps(value, sort_keys=True))


def set_status(node: nuke.Node, text: str) -> None:
    """Show a one-line status on the node's panel."""
    knob = node.knob(STATUS_KNOB)
    if knob is not None:
        knob.setValue(text)


def knob_value(node: nuke.Node, name: str, default: Any = None) -> Any:
    knob = node.knob(name)
    return knob.value() if knob is not None else default


def create_group(build: Callable[[nuke.Node], None], name: str | None = None, inpanel: bool = True) -> nuke.Group:
    """Create an Inkpaint Group, wire it to the selected node in the GUI, ``build`` its knobs and graph. Main thread only."""
    group = nuke.nodes.Group(name=name) if name else nuke.nodes.Group()
    if nuke.env["gui"]:
        sel = [n for n in nuke.selectedNodes() if n is not group]
        if sel:
            group.setInput(0, sel[0])
    build(group)
    if inpanel and nuke.env["gui"]:
        group.showControlPanel()
    return group
