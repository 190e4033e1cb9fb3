"""The graph inside an inkpaint Group: inputs, internal Reads of cached results, channel copies, a view switch.

Layout (InkpaintRoto; the other nodes use the same parts)::

    Input1 ──────────────┬───────────────────────────────► Switch.0 (input)
                         ├─ Copy(<obj>.alpha…, rgba.alpha) ◄─ Read InkpaintResult ─► Switch.1 (result)
                         └─ Copy(<obj>.alpha…, rgba.alpha) ◄─ Read InkpaintPreview ─► Switch.2 (preview)
    Switch ─► Output1

A Copy node moves at most four channels, so channels are copied by a chain of Copy nodes. With a Cryptomatte
layer the chain also copies the ``CryptoObjectNN`` layers and a CopyMetaData brings the manifest along, so Nuke's
Cryptomatte node downstream can pick objects by name.

Every function here touches the node graph: call them on the main thread only.
"""

from __future__ import annotations

from collections.abc import Sequence

import nuke

SWITCH = "InkpaintSwitch"
OUTPUT = "Output1"
VIEW_INPUT, VIEW_RESULT, VIEW_PREVIEW = 0, 1, 2


def ensure_layer(layer: str, channels: Sequence[str]) -> None:
    """Declare a layer so Copy knobs can name its channels before any file with it has been read."""
    try:
        nuke.Layer(layer, list(channels))
    except Exception:  # noqa: BLE001 - an existing layer with the same channels is fine
        pass


def as_group(node: nuke.Node) -> nuke.Group:
    """``node`` as a Group (every inkpaint node is one).

    Raises:
        TypeError: it is not a Group.
    """
    if not isinstance(node, nuke.Group):
        raise TypeError(f"{node.name()} is a {node.Class()}, not a Group")
    return node


def inner(group: nuke.Node, name: str) -> nuke.Node | None:
    """A node inside ``group`` by name."""
    with as_group(group):
        return nuke.toNode(name)


def build_base(group: nuke.Node, inputs: Sequence[str]) -> None:
    """Create the named inputs, the result and preview Reads, the view Switch and the output."""
    with as_group(group):
        made = []
        for i, label in enumerate(inputs):
            inp = nuke.nodes.Input(name=f"Input{i + 1}")
            inp["number"].setValue(i)
            inp["label"].setValue(label)
            made.append(inp)
        for name in ("InkpaintResult", "InkpaintPreview"):
            read = nuke.nodes.Read(name=name)
            read["raw"].setValue(True)
            read["on_error"].setValue("black")
            read["before"].setValue("black")
            read["after"].setValue("black")
        switch = nuke.nodes.Switch(name=SWITCH)
        switch.setInput(0, made[0] if made else None)
        switch["which"].setValue(VIEW_INPUT)
        out = nuke.nodes.Output(name=OUTPUT)
        out.setInput(0, switch)


def set_read(group: nuke.Node, read_name: str, pattern: str | None, first: int = 1, last: int = 1) -> None:
    """Point an internal Read at a cached sequence (or clear it)."""
    read = inner(group, read_name)
    if read is None:
        return
    nuke_pattern = (pattern or "").replace("\\", "/")
    read["file"].setValue(nuke_pattern)
    read["first"].setValue(int(first))
    read["last"].setValue(int(last))
    read["origfirst"].setValue(int(first))
    read["origlast"].setValue(int(last))
    reload = read.knob("reload")
    if isinstance(reload, nuke.Script_Knob) and nuke.env["gui"]:
        reload.execute()  # files under the same name changed: drop Nuke's cached frames


def copy_chain(group: nuke.Node, prefix: str, source: str, base: nuke.Node | None, channels: Sequence[str],
               layers: Sequence[str] = (), metadata: bool = False) -> nuke.Node | None:
    """Rebuild the chain ``<prefix>Copy1..N`` that copies ``channels`` (and whole ``layers``) from the Read
    ``source`` onto ``base``. Returns the last node of the chain."""
    g = as_group(group)
    with g:
        for node in list(g.nodes()):
            if node.name().startswith(prefix):
                nuke.delete(node)
        read = nuke.toNode(source)
        current = base
        groups = [list(channels[i : i + 4]) for i in range(0, len(channels), 4)]
        n = 0
        for chunk in groups:
            n += 1
            copy = nuke.nodes.Copy(name=f"{prefix}Copy{n}")
            copy.setInput(0, current)
            copy.setInput(1, read)
            for i in range(4):
                ch = chunk[i] if i < len(chunk) else "none"
                copy[f"from{i}"].setValue(ch)
                copy[f"to{i}"].setValue(ch)
            current = copy
        for layer in layers:
            n += 1
            copy = nuke.nodes.Copy(name=f"{prefix}Copy{n}")
            copy.setInput(0, current)
            copy.setInput(1, read)
            for i in range(4):
                copy[f"from{i}"].setValue("none")
                copy[f"to{i}"].setValue("none")
            copy["channels"].setValue(layer)
            current = copy
        if metadata:
            meta = nuke.nodes.CopyMetaData(name=f"{prefix}Meta")
            meta.setInput(0, current)
            meta.setInput(1, read)
            current = meta
        return current


def set_view(group: nuke.Node, which: int) -> None:
    switch = inner(group, SWITCH)
    if switch is not None:
        switch["which"].setValue(int(which))


def connect_view_input(group: nuke.Node, which: int, node: nuke.Node | None) -> None:
    switch = inner(group, SWITCH)
    if switch is not None:
        switch.setInput(which, node)


def matte_channels(objects: Sequence[str]) -> list[str]:
    """Nuke channel names of a roto result: ``<object>.alpha`` per object, then the union ``rgba.alpha``."""
    for name in objects:
        ensure_layer(name, [f"{name}.alpha"])
    return [f"{name}.alpha" for name in objects] + ["rgba.alpha"]


def cryptomatte_layers(levels: int = 6, layer: str = "CryptoObject") -> list[str]:
    names = [f"{layer}{i:02d}" for i in range(levels // 2)]
    for name in names:
        ensure_layer(name, [f"{name}.red", f"{name}.green", f"{name}.blue", f"{name}.alpha"])
    return names
