"""A careful fake of the part of Nuke's Python API the inkpaint plugin uses (Nuke 13.2 semantics).

Built from Foundry's Python API reference (learn.foundry.com/nuke/developers/.../pythondevguide) and the
``types-nuke`` stubs: the same names, signatures and return types, and the same rules where breaking them would
hide a bug in the plugin:

- the node graph (creating/deleting nodes, knob values, inputs, ``nuke.execute``) may only be touched from the
  main thread; other threads get a ``RuntimeError`` (real Nuke is undefined there and often crashes);
- ``nuke.executeInMainThread`` queues the call for the main thread's event loop (the test pumps it with
  ``nuke._fake.process_events()``); ``executeInMainThreadWithResult`` blocks until the main thread ran it;
- knob scripts (PyScript buttons, ``knobChanged``, ``onCreate``) run in a ``__main__``-like namespace with
  ``nuke.thisNode()``/``nuke.thisKnob()`` set, as Nuke does;
- ``nuke.execute`` really renders: a Write evaluates its input graph (Read, Grade, Switch, Input, Dot, Copy ...)
  with OpenImageIO and writes EXR files;
- Array knobs: ``value()`` of a multi-element knob is a list, ``value(i)`` one element;
  Enumeration knobs hold a string and accept a string or an index;
- ``node['missing']`` raises ``NameError`` like Nuke; ``node.knob('missing')`` returns ``None``.

Test control (not part of Nuke's API) lives in :mod:`nuke._fake`.
"""

from __future__ import annotations

import json
import re
import os
import queue
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

# ----------------------------------------------------------------------------------------------------------------
# Constants (values are arbitrary but distinct bit flags, as in Nuke)

INVISIBLE = 0x400
STARTLINE = 0x1000
ENDLINE = 0x2000
DISABLED = 0x80
READ_ONLY = 0x10000000
NO_ANIMATION = 0x100
DO_NOT_WRITE = 0x200
INPUTS = 0x1
HIDDEN_INPUTS = 0x2
EXPRESSIONS = 0x4
WRITE_NON_DEFAULT_ONLY = 0x10
WRITE_USER_KNOB_DEFS = 0x20
TO_SCRIPT = 0x40
TO_VALUE = 0x80
NUKE_VERSION_MAJOR = 13
NUKE_VERSION_MINOR = 2
NUKE_VERSION_RELEASE = 8
NUKE_VERSION_STRING = "13.2v8"
EXE_PATH = "/usr/local/Nuke13.2v8/Nuke13.2"
GUI = False


class CancelledError(Exception):
    """Raised by ``nuke.execute`` when the user cancels a render."""


class GlobalsEnvironment(dict):  # type: ignore[type-arg]
    """``nuke.env``: a read-mostly dict (``gui``, ``NukeVersionMajor`` ...)."""


env = GlobalsEnvironment(gui=False, NukeVersionMajor=13, NukeVersionMinor=2, NukeVersionRelease=8, ExecutablePath=EXE_PATH)
rawArgs: list[str] = []

_MAIN = threading.main_thread()


def _require_main(what: str) -> None:
    if threading.current_thread() is not _MAIN:
        raise RuntimeError(f"nuke: {what} called from thread {threading.current_thread().name!r}; the node graph may only be changed on the main thread (use nuke.executeInMainThread)")


# ----------------------------------------------------------------------------------------------------------------
# Knobs


class Knob:
    """Base knob: ``Knob(name, label='')``."""

    _default: Any = ""

    def __init__(self, name: str = "", label: str | None = None, *args: Any) -> None:
        self._name = name
        self._label = label if label is not None else name
        self._flags = 0
        self._tooltip = ""
        self._enabled = True
        self._visible = True
        self._node: Node | None = None
        self._value: Any = self._default
        self._user = False

    def Class(self) -> str:
        return type(self).__name__

    def name(self) -> str:
        return self._name

    def setName(self, name: str) -> None:
        self._name = name

    def label(self) -> str:
        return self._label

    def setLabel(self, label: str) -> None:
        _require_main("Knob.setLabel")
        self._label = label

    def node(self) -> Node:
        assert self._node is not None
        return self._node

    def setFlag(self, flag: int) -> None:
        self._flags |= flag

    def clearFlag(self, flag: int) -> None:
        self._flags &= ~flag

    def getFlag(self, flag: int) -> bool:
        return bool(self._flags & flag)

    def setTooltip(self, tooltip: str) -> None:
        self._tooltip = tooltip

    def tooltip(self) -> str:
        return self._tooltip

    def setEnabled(self, enabled: bool) -> None:
        self._enabled = bool(enabled)

    def enabled(self) -> bool:
        return self._enabled

    def setVisible(self, visible: bool) -> None:
        self._visible = bool(visible)

    def visible(self) -> bool:
        return self._visible

    def value(self) -> Any:
        return self._value

    def getValue(self) -> Any:
        return self.value()

    def setValue(self, value: Any, *args: Any) -> bool:
        _require_main(f"{self.Class()}.setValue")
        self._value = self._coerce(value)
        _knob_set(self)
        return True

    def _coerce(self, value: Any) -> Any:
        return value

    def toScript(self, quote: bool = False, context: Any = None) -> str:
        expr = getattr(self, "_expression", None)
        if expr:
            return "{" + expr + "}"  # as Nuke writes an expression-linked knob
        return json.dumps(self._value)

    def setExpression(self, expression: str, channel: int = -1, view: Any = None) -> bool:
        _require_main(f"{self.Class()}.setExpression")
        self._expression = str(expression)
        return True

    def hasExpression(self, index: int = -1, view: Any = None) -> bool:
        return bool(getattr(self, "_expression", None))

    def clearAnimated(self, index: int = -1, view: Any = None) -> bool:
        self._expression = None
        return True

    def _state(self) -> dict[str, Any]:
        return {"value": self._value}

    def _restore(self, state: dict[str, Any]) -> None:
        self._value = state.get("value", self._default)

    def __repr__(self) -> str:
        return f"<{self.Class()} {self._name}={self._value!r}>"


class String_Knob(Knob):
    def __init__(self, name: str = "", label: str | None = None, value: str = "") -> None:
        super().__init__(name, label)
        self._value = str(value)

    def _coerce(self, value: Any) -> Any:
        if not isinstance(value, str):
            raise TypeError(f"{self.Class()} {self._name}: setValue expects a string, got {type(value).__name__}")
        return value

    def getText(self, oc: Any = None) -> str:
        return str(self._value)


class EvalString_Knob(String_Knob):
    def evaluate(self) -> str:
        return str(self._value)


class File_Knob(EvalString_Knob):
    def fromUserText(self, text: str) -> None:
        self.setValue(text)

    def getEvaluatedValue(self) -> str:
        return str(self._value)


class Multiline_Eval_String_Knob(EvalString_Knob):
    pass


class Text_Knob(Knob):
    """A label (value = the text shown)."""

    def __init__(self, name: str = "", label: str | None = None, text: str = "") -> None:
        super().__init__(name, label)
        self._value = text


class Script_Knob(String_Knob):
    """A button running a script (Tcl in Nuke; the fake runs it as Python)."""

    def __init__(self, name: str = "", label: str | None = None, command: str = "") -> None:
        super().__init__(name, label, command)

    def command(self) -> str:
        return str(self._value)

    def setCommand(self, cmd: str) -> None:
        self._value = cmd

    def execute(self) -> None:
        _require_main("Script_Knob.execute")
        if self._value:
            _run_script(str(self._value), self.node(), self)


class PyScript_Knob(Script_Knob):
    pass


class Tab_Knob(Knob):
    def __init__(self, name: str = "", label: str | None = None, *args: Any) -> None:
        super().__init__(name, label)


class Array_Knob(Knob):
    """A knob holding ``n`` numbers."""

    _size = 1
    _type: type = float

    def __init__(self, name: str = "", label: str | None = None, *args: Any) -> None:
        super().__init__(name, label)
        self._value = [self._type(0)] * self._size

    def arraySize(self) -> int:
        return self._size

    def _coerce(self, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            if len(value) != self._size:
                raise ValueError(f"{self.Class()} {self._name}: expected {self._size} values, got {len(value)}")
            return [self._type(v) for v in value]
        if isinstance(value, (int, float, bool)):
            return [self._type(value)] * self._size
        raise TypeError(f"{self.Class()} {self._name}: cannot set {value!r}")

    def setValue(self, value: Any, index: int | None = None, *args: Any) -> bool:
        _require_main(f"{self.Class()}.setValue")
        if index is None or isinstance(value, (list, tuple)):
            self._value = self._coerce(value)
        else:
            vals = list(self._value)
            vals[index] = self._type(value)
            self._value = vals
        _knob_set(self)
        return True

    def value(self, index: int | None = None, *args: Any) -> Any:
        if index is None:
            return self._value[0] if self._size == 1 else list(self._value)
        return self._value[index]

    def getValue(self, index: int | None = None) -> Any:
        return self.value(index)

    def _restore(self, state: dict[str, Any]) -> None:
        self._value = [self._type(v) for v in state.get("value", [0] * self._size)]


class Int_Knob(Array_Knob):
    _type = int

    def __init__(self, name: str = "", label: str | None = None, value: int = 0) -> None:
        super().__init__(name, label)
        self._value = [int(value)]


class Double_Knob(Array_Knob):
    pass


class Boolean_Knob(Array_Knob):
    _type = bool

    def __init__(self, name: str = "", label: str | None = None, value: bool = False) -> None:
        super().__init__(name, label)
        self._value = [bool(value)]


class XY_Knob(Array_Knob):
    """A 2-D position (pixels, origin bottom-left), draggable in the viewer."""

    _size = 2

    def x(self) -> float:
        return float(self._value[0])

    def y(self) -> float:
        return float(self._value[1])


class BBox_Knob(Array_Knob):
    """A box: x, y, r, t (pixels, origin bottom-left)."""

    _size = 4

    def x(self) -> float:
        return float(self._value[0])

    def y(self) -> float:
        return float(self._value[1])

    def r(self) -> float:
        return float(self._value[2])

    def t(self) -> float:
        return float(self._value[3])


class Enumeration_Knob(Knob):
    """A pulldown: holds one of ``values``; ``value()`` is the string, ``getValue()`` the index."""

    def __init__(self, name: str = "", label: str | None = None, values: list[str] | None = None) -> None:
        super().__init__(name, label)
        self._values = [str(v) for v in (values or [])]
        self._value = self._values[0] if self._values else ""

    def values(self) -> list[str]:
        return list(self._values)

    def numValues(self) -> int:
        return len(self._values)

    def enumName(self, n: int) -> str:
        return self._values[n]

    def setValues(self, values: list[str]) -> None:
        _require_main("Enumeration_Knob.setValues")
        self._values = [str(v) for v in values]
        if self._value not in self._values:
            self._value = self._values[0] if self._values else ""

    def _coerce(self, value: Any) -> Any:
        if isinstance(value, bool):
            raise TypeError(f"{self._name}: cannot set an enumeration to {value!r}")
        if isinstance(value, (int, float)):
            return self._values[int(value)]
        if value not in self._values:
            raise ValueError(f"{self._name}: {value!r} is not one of {self._values}")
        return value

    def getValue(self) -> Any:
        return float(self._values.index(self._value)) if self._value in self._values else 0.0

    def _state(self) -> dict[str, Any]:
        return {"value": self._value, "values": self._values}

    def _restore(self, state: dict[str, Any]) -> None:
        self._values = list(state.get("values", self._values))
        self._value = state.get("value", "")


class _FreeEnumeration_Knob(Enumeration_Knob):
    """Pulldowns whose menu depends on the session (colourspaces, channels, file types): any string is accepted."""

    def _coerce(self, value: Any) -> Any:
        return str(value)


class Channel_Knob(_FreeEnumeration_Knob):
    pass


class ChannelMask_Knob(Channel_Knob):
    pass


class Format_Knob(Knob):
    pass


# ----------------------------------------------------------------------------------------------------------------
# Layers, formats, frame ranges


_layers: dict[str, list[str]] = {
    "rgba": ["rgba.red", "rgba.green", "rgba.blue", "rgba.alpha"],
    "rgb": ["rgba.red", "rgba.green", "rgba.blue"],
    "alpha": ["rgba.alpha"],
}


class Layer:
    """``nuke.Layer(name, channels)`` declares a layer (``channels`` like ``['dancer.alpha']``)."""

    def __init__(self, name: str, channels: list[str]) -> None:
        for ch in channels:
            if "." not in ch or ch.split(".", 1)[0] != name:
                raise ValueError(f"nuke.Layer: channel {ch!r} must be named '{name}.<channel>'")
        known = _layers.get(name)
        if known is not None and known != list(channels):
            raise ValueError(f"nuke.Layer: layer {name!r} already exists with channels {known}")
        _layers[name] = list(channels)
        self._name = name

    def name(self) -> str:
        return self._name

    def channels(self) -> list[str]:
        return list(_layers[self._name])


def layers(node: Node | None = None) -> list[str]:
    return sorted(_layers)


class Format:
    def __init__(self, w: int, h: int, name: str = "") -> None:
        self._w, self._h, self._name = w, h, name

    def width(self) -> int:
        return self._w

    def height(self) -> int:
        return self._h

    def name(self) -> str:
        return self._name


class FrameRange:
    def __init__(self, first: int = 1, last: int = 1, incr: int = 1) -> None:
        self._f, self._l, self._i = first, last, incr

    def first(self) -> int:
        return self._f

    def last(self) -> int:
        return self._l

    def frames(self) -> int:
        return (self._l - self._f) // self._i + 1

    def __iter__(self) -> Iterator[int]:
        return iter(range(self._f, self._l + 1, self._i))


# ----------------------------------------------------------------------------------------------------------------
# Nodes


_BUILTIN_KNOBS: dict[str, list[Callable[[], Knob]]] = {}


def _common_knobs() -> list[Knob]:
    out: list[Knob] = [
        String_Knob("label", "label"),
        Boolean_Knob("disable", "disable"),
        Boolean_Knob("selected", "selected"),
        PyScript_Knob("knobChanged", "knobChanged"),
        PyScript_Knob("onCreate", "onCreate"),
        PyScript_Knob("onDestroy", "onDestroy"),
    ]
    for k in out[3:]:
        k.setFlag(INVISIBLE)
    return out


def _class_knobs(cls: str) -> list[Knob]:
    def enum(name: str, values: list[str]) -> Enumeration_Knob:
        return Enumeration_Knob(name, name, values)

    def free(name: str, value: str) -> Knob:
        k = _FreeEnumeration_Knob(name, name, [value])
        return k

    if cls == "Read":
        return [
            File_Knob("file", "file"), File_Knob("proxy", "proxy"), Int_Knob("first", "frame range", 1), Int_Knob("last", "", 1),
            Int_Knob("origfirst", "original range", 1), Int_Knob("origlast", "", 1),
            enum("before", ["hold", "loop", "bounce", "black"]), enum("after", ["hold", "loop", "bounce", "black"]),
            enum("on_error", ["error", "black", "checkerboard", "nearest frame"]),
            enum("frame_mode", ["expression", "start at", "offset"]), String_Knob("frame", "frame"),
            free("colorspace", "default"), Boolean_Knob("raw", "raw data"), Boolean_Knob("premultiplied", "premultiplied"),
            Boolean_Knob("auto_alpha", "auto alpha"), Boolean_Knob("reformat", "reformat"), Format_Knob("format", "format"),
            Script_Knob("reload", "reload"),
        ]
    if cls == "Write":
        return [
            File_Knob("file", "file"), free("file_type", " "), free("datatype", "16 bit half"), Channel_Knob("channels", "channels", ["rgb"]),
            free("colorspace", "default"), Boolean_Knob("create_directories", "create directories"),
            free("compression", "Zip (1 scanline)"), Boolean_Knob("raw", "raw data"),
        ]
    if cls == "Input":
        return [Int_Knob("number", "number", 0)]
    if cls == "Switch":
        return [Int_Knob("which", "which", 0)]
    if cls == "Copy":
        return [Channel_Knob(f"{d}{i}", f"{d}{i}", ["none"]) for i in range(4) for d in ("from", "to")] + [
            ChannelMask_Knob("channels", "layer copy", ["none"])
        ]
    if cls == "Grade":
        return [Double_Knob("white", "gain"), ChannelMask_Knob("channels", "channels", ["rgb"])]
    if cls == "Roto":
        from . import rotopaint

        return [rotopaint.CurveKnob("curves", "curves"), ChannelMask_Knob("output", "output", ["alpha"])]
    if cls == "Root":
        return [
            Int_Knob("first_frame", "frame range", 1), Int_Knob("last_frame", "", 100), String_Knob("format", "format", "HD_1080"),
            free("colorManagement", "Nuke"), free("OCIO_config", "nuke-default"), File_Knob("customOCIOConfigPath", "custom OCIO config"),
            free("workingSpaceLUT", "linear"),
        ]
    return []


_CLASSES = {"Read", "Write", "Input", "Output", "Switch", "Copy", "CopyMetaData", "Grade", "Roto", "Dot", "NoOp", "Group", "Root", "Viewer"}


class Node:
    """A node. Create nodes with ``nuke.nodes.<Class>(name=..., knob=value)`` or ``nuke.createNode``."""

    def __init__(self, cls: str, parent: Group | None) -> None:
        self._class = cls
        self._name = ""
        self._parent = parent
        self._knobs: dict[str, Knob] = {}
        self._order: list[str] = []
        self._inputs: list[Node | None] = []
        self._xy = [0, 0]
        self._deleted = False
        self._panel_shown = False
        for k in _common_knobs() + _class_knobs(cls):
            self._attach(k)
        if cls == "Roto":
            self["curves"]._roto_node = self  # type: ignore[attr-defined]

    def _attach(self, knob: Knob, user: bool = False) -> None:
        knob._node = self
        knob._user = user
        self._knobs[knob.name()] = knob
        self._order.append(knob.name())

    # -- identity --------------------------------------------------------------------------------------------
    def Class(self) -> str:
        return self._class

    def name(self) -> str:
        return self._name

    def setName(self, name: str, uncollide: bool = True, updateExpressions: bool = False) -> None:
        _require_main("Node.setName")
        parent = self._parent
        if parent is not None:
            taken = {n._name for n in parent._children if n is not self}
            if name in taken:
                if not uncollide:
                    raise ValueError(f"a node called {name!r} already exists")
                name = _unique(name, taken)
        self._name = name

    def fullName(self) -> str:
        chain = []
        node: Node | None = self
        while node is not None and not isinstance(node, Root):
            chain.append(node._name)
            node = node._parent
        return ".".join(reversed(chain))

    def parent(self) -> Group:
        assert self._parent is not None
        return self._parent

    # -- knobs -----------------------------------------------------------------------------------------------
    def knob(self, p: str | int, follow_link: bool = True) -> Knob | None:
        if isinstance(p, int):
            return self._knobs[self._order[p]]
        return self._knobs.get(p)

    def knobs(self) -> dict[str, Knob]:
        return dict(self._knobs)

    def allKnobs(self) -> list[Knob]:
        return [self._knobs[n] for n in self._order]

    def numKnobs(self) -> int:
        return len(self._order)

    def __getitem__(self, name: str) -> Knob:
        knob = self._knobs.get(name)
        if knob is None:
            raise NameError(f"knob {name} does not exist")
        return knob

    def addKnob(self, knob: Knob) -> None:
        _require_main("Node.addKnob")
        if not isinstance(knob, Knob):
            raise TypeError("addKnob expects a Knob")
        if knob.name() in self._knobs:
            raise ValueError(f"{self._name}: a knob called {knob.name()!r} already exists")
        self._attach(knob, user=True)

    def removeKnob(self, knob: Knob) -> None:
        _require_main("Node.removeKnob")
        if self._knobs.get(knob.name()) is not knob:
            raise ValueError(f"{self._name}: knob {knob.name()!r} does not belong to this node")
        del self._knobs[knob.name()]
        self._order.remove(knob.name())
        knob._node = None

    def writeKnobs(self, flags: int = 0) -> str:
        """Like Nuke's: with ``WRITE_NON_DEFAULT_ONLY`` it still writes the UI knobs a script stores (``xpos``,
        ``ypos``, and ``selected``/``label`` when set), so a hash of it changes when a node is moved or selected."""
        parts = []
        for n in self._order:
            k = self._knobs[n]
            if isinstance(k, (PyScript_Knob, Tab_Knob, Text_Knob)) and n not in ("knobChanged", "onCreate"):
                continue
            parts.append(f"{n} {k.toScript()}")
        parts.append(f"xpos {self._xy[0]} ypos {self._xy[1]}")
        return " ".join(parts)

    def readKnobs(self, s: str) -> None:
        raise NotImplementedError("the fake does not parse .nk knob syntax")

    # -- graph -----------------------------------------------------------------------------------------------
    def input(self, index: int) -> Node | None:
        if self._class == "Input" and index == 0:
            return None
        return self._inputs[index] if index < len(self._inputs) else None

    def inputs(self) -> int:
        return len(self._inputs)

    def setInput(self, i: int, node: Node | None) -> bool:
        _require_main("Node.setInput")
        if node is not None and node._deleted:
            raise ValueError("setInput: that node was deleted")
        while len(self._inputs) <= i:
            self._inputs.append(None)
        self._inputs[i] = node
        while self._inputs and self._inputs[-1] is None:
            self._inputs.pop()
        return True

    def connectInput(self, i: int, node: Node | None) -> bool:
        return self.setInput(i, node)

    def dependencies(self, what: int = INPUTS | HIDDEN_INPUTS | EXPRESSIONS) -> list[Node]:
        """Input nodes, and with ``EXPRESSIONS`` the nodes this node's knob expressions name (``Grade1.white``),
        as Nuke resolves them (in the node's own group)."""
        out = [n for n in self._inputs if n is not None] if what & (INPUTS | HIDDEN_INPUTS) else []
        if what & EXPRESSIONS:
            for k in self._knobs.values():
                expr = getattr(k, "_expression", None)
                for ref in re.findall(r"(?<![\w.])([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\.[A-Za-z_]\w*", expr or ""):
                    target = _resolve(self._parent or _root, ref) if ref not in ("parent", "root", "this") else None
                    if target is not None and target is not self and target not in out:
                        out.append(target)
        return out

    def dependent(self, what: int = INPUTS | HIDDEN_INPUTS | EXPRESSIONS, forceEvaluate: bool = True) -> list[Node]:
        parent = self._parent
        return [n for n in (parent._children if parent else []) if self in n._inputs]

    # -- image info ------------------------------------------------------------------------------------------
    def _info(self) -> tuple[int, int, int, int]:
        """(width, height, first, last) of this node's output."""
        return _image_info(self)

    def width(self) -> int:
        return self._info()[0]

    def height(self) -> int:
        return self._info()[1]

    def firstFrame(self) -> int:
        return self._info()[2]

    def lastFrame(self) -> int:
        return self._info()[3]

    def frameRange(self) -> FrameRange:
        w, h, f, l = self._info()
        return FrameRange(f, l)

    def format(self) -> Format:
        w, h, _, _ = self._info()
        return Format(w, h)

    def metadata(self, key: str | None = None, time: float | None = None, view: str | None = None) -> Any:
        return {} if key is None else None

    # -- placement / UI --------------------------------------------------------------------------------------
    def xpos(self) -> int:
        return self._xy[0]

    def ypos(self) -> int:
        return self._xy[1]

    def setXYpos(self, x: int, y: int) -> None:
        self._xy = [int(x), int(y)]

    def setXpos(self, x: int) -> None:
        self._xy[0] = int(x)

    def setYpos(self, y: int) -> None:
        self._xy[1] = int(y)

    def showControlPanel(self, forceFloat: bool = False) -> None:
        self._panel_shown = True

    def hideControlPanel(self) -> None:
        self._panel_shown = False

    def setSelected(self, selected: bool) -> None:
        self["selected"].setValue(bool(selected))

    def isSelected(self) -> bool:
        return bool(self["selected"].value())

    def __repr__(self) -> str:
        return f"<{self._class} {self.fullName()}>"


class Group(Node):
    """A group of nodes; ``with group:`` makes it the context new nodes are created in."""

    def __init__(self, cls: str = "Group", parent: Group | None = None) -> None:
        super().__init__(cls, parent)
        self._children: list[Node] = []

    def nodes(self) -> list[Node]:
        return list(self._children)

    def numNodes(self) -> int:
        return len(self._children)

    def node(self, s: str) -> Node | None:
        return _resolve(self, s)

    def begin(self) -> Group:
        _context.stack.append(self)
        return self

    def end(self) -> None:
        if _context.stack and _context.stack[-1] is self:
            _context.stack.pop()

    def __enter__(self) -> Group:
        return self.begin()

    def __exit__(self, *exc: Any) -> None:
        self.end()

    def output(self) -> Node | None:
        outs = [n for n in self._children if n.Class() == "Output"]
        return outs[0] if outs else None


class Root(Group):
    def __init__(self) -> None:
        super().__init__("Root", None)
        self._name = "root"

    def fullName(self) -> str:
        return "root"


class _Context(threading.local):
    def __init__(self) -> None:
        self.stack: list[Group] = []
        self.this_node: list[Node] = []
        self.this_knob: list[Knob] = []


_context = _Context()
_root = Root()


def _current_group() -> Group:
    if threading.current_thread() is not _MAIN:
        return _root
    return _context.stack[-1] if _context.stack else _root


def _unique(base: str, taken: set[str]) -> str:
    stem = base.rstrip("0123456789") or base
    i = 1
    while f"{stem}{i}" in taken:
        i += 1
    return f"{stem}{i}"


def _create(cls: str, **knob_values: Any) -> Node:
    _require_main(f"creating a {cls} node")
    if cls not in _CLASSES:
        raise RuntimeError(f"{cls} is not a known node class in the fake nuke")
    parent = _current_group()
    node: Node = Group(cls, parent) if cls == "Group" else Node(cls, parent)
    taken = {n._name for n in parent._children}
    name = knob_values.pop("name", None)
    node._name = name if name and name not in taken else _unique(name or cls, taken)
    parent._children.append(node)
    for key, value in knob_values.items():
        if key == "inputs":
            continue
        node[key].setValue(value)
    if node["onCreate"].value():
        _run_script(str(node["onCreate"].value()), node, node["onCreate"])
    return node


class NodeConstructor:
    def __init__(self, cls: str) -> None:
        self._cls = cls

    def __call__(self, *args: Any, **kwargs: Any) -> Node:
        return _create(self._cls, **kwargs)


class Nodes:
    def __getattr__(self, item: str) -> NodeConstructor:
        if item.startswith("_"):
            raise AttributeError(item)
        return NodeConstructor(item)


nodes = Nodes()


def createNode(typ: str, knobs: str = "", inpanel: bool = True) -> Node:
    node = _create(typ)
    if inpanel and env["gui"]:
        node.showControlPanel()
    return node


def _resolve(group: Group, name: str) -> Node | None:
    parts = name.split(".")
    current: Node | None = group
    for part in parts:
        if not isinstance(current, Group):
            return None
        current = next((n for n in current._children if n._name == part and not n._deleted), None)
    return current


def toNode(s: str) -> Node | None:
    if s == "root":
        return _root
    if s.startswith("root."):
        return _resolve(_root, s[5:])
    found = _resolve(_current_group(), s)
    if found is None and _current_group() is not _root:
        return None
    return found


def root() -> Root:
    return _root


def thisRoot() -> Root:
    return _root


def thisGroup() -> Group:
    return _current_group()


def allNodes(filter: str | None = None, group: Group | None = None, recurseGroups: bool = False) -> list[Node]:
    g = group or _current_group()
    out: list[Node] = []
    for n in g._children:
        if filter is None or n.Class() == filter:
            out.append(n)
        if recurseGroups and isinstance(n, Group):
            out.extend(allNodes(filter, n, True))
    return out


def selectedNodes(filter: str | None = None) -> list[Node]:
    return [n for n in allNodes(filter) if n.isSelected()]


def selectedNode() -> Node:
    sel = selectedNodes()
    if not sel:
        raise ValueError("no node selected")
    return sel[-1]


def delete(n: Node | None) -> None:
    _require_main("nuke.delete")
    if n is None:
        return
    if n["onDestroy"].value():
        _run_script(str(n["onDestroy"].value()), n, n["onDestroy"])
    parent = n._parent
    if parent is not None and n in parent._children:
        parent._children.remove(n)
        for other in parent._children:
            other._inputs = [None if i is n else i for i in other._inputs]
    n._deleted = True


def thisNode() -> Node:
    if not _context.this_node:
        raise ValueError("nuke.thisNode() is only valid inside a knob callback")
    return _context.this_node[-1]


def thisKnob() -> Knob:
    if not _context.this_knob:
        raise ValueError("nuke.thisKnob() is only valid inside a knob callback")
    return _context.this_knob[-1]


_script_globals: dict[str, Any] = {"__name__": "__main__"}


def _knob_set(knob: Knob) -> None:
    """Nuke runs a node's ``knobChanged`` when a script sets one of its knobs while its control panel is open
    (not for the ``knobChanged`` knob itself, and not recursively for the same knob)."""
    node = knob._node
    if node is None or not getattr(node, "_panel_shown", False) or knob.name() in ("knobChanged", "onCreate"):
        return
    callback = node._knobs.get("knobChanged")
    script = str(callback.value()) if callback is not None else ""
    if not script or knob in _context.this_knob:
        return
    _run_script(script, node, knob)


def _run_script(script: str, node: Node, knob: Knob) -> None:
    """Run a stored knob script the way Nuke does: in __main__'s namespace, with thisNode/thisKnob set and the
    node's parent group as the context."""
    _script_globals.setdefault("nuke", sys.modules[__name__])
    _context.this_node.append(node)
    _context.this_knob.append(knob)
    parent = node._parent or _root
    parent.begin()
    try:
        exec(compile(script, f"<knob {node.name()}.{knob.name()}>", "exec"), _script_globals)
    finally:
        parent.end()
        _context.this_node.pop()
        _context.this_knob.pop()


# ----------------------------------------------------------------------------------------------------------------
# Frames, UI and threads


_current_frame = [1]


def frame(f: int | None = None) -> int:
    if f is not None:
        _current_frame[0] = int(f)
    return _current_frame[0]


def filename(node: Node, i: int | None = None) -> str | None:
    k = node.knob("file")
    if k is None or not k.value():
        return None
    return str(k.value())


def message(prompt: str) -> None:
    from . import _fake

    _fake.messages.append(("message", prompt))


def critical(message: str) -> None:
    from . import _fake

    _fake.messages.append(("critical", message))


def alert(prompt: str) -> None:
    message(prompt)


def warning(message: str) -> None:
    from . import _fake

    _fake.messages.append(("warning", message))


def error(message: str) -> None:
    from . import _fake

    _fake.messages.append(("error", message))


def getInput(prompt: str, default: str = "") -> str | None:
    from . import _fake

    if not env["gui"]:
        raise RuntimeError("nuke.getInput needs the GUI")
    return _fake.answers.pop(0) if _fake.answers else default


def ask(prompt: str) -> bool:
    from . import _fake

    if not env["gui"]:
        raise RuntimeError("nuke.ask needs the GUI")
    return bool(_fake.answers.pop(0)) if _fake.answers else True


def connectViewer(inputNum: int, node: Node) -> None:
    from . import _fake

    _fake.viewer_inputs[inputNum] = node


def pluginAddPath(args: str, addToSysPath: bool = True) -> None:
    from . import _fake

    _fake.plugin_paths.append(args)
    if addToSysPath and args not in sys.path:
        sys.path.insert(0, args)


def pluginPath() -> list[str]:
    from . import _fake

    return list(_fake.plugin_paths)


class MenuItem:
    def __init__(self, name: str) -> None:
        self._name = name

    def name(self) -> str:
        return self._name


class Menu(MenuItem):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.items: dict[str, Any] = {}

    def addMenu(self, name: str, icon: str = "", tooltip: str = "", index: int = -1) -> Menu:
        menu = self.items.get(name)
        if not isinstance(menu, Menu):
            menu = Menu(name)
            self.items[name] = menu
        return menu

    def addCommand(self, name: str, command: Any = None, shortcut: str = "", icon: str = "", tooltip: str = "", index: int = -1) -> MenuItem:
        self.items[name] = command
        return MenuItem(name)

    def findItem(self, name: str) -> Any:
        return self.items.get(name)


class ToolBar(Menu):
    pass


_toolbars: dict[str, ToolBar] = {}
_menus: dict[str, Menu] = {}


def toolbar(name: str, create: bool = True) -> ToolBar | None:
    if not env["gui"]:
        return None
    if name not in _toolbars and create:
        _toolbars[name] = ToolBar(name)
    return _toolbars.get(name)


def menu(name: str) -> Menu:
    return _menus.setdefault(name, Menu(name))


_main_queue: queue.Queue[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any], Any]] = queue.Queue()


def executeInMainThread(call: Callable[..., Any], args: Any = (), kwargs: Any = None) -> None:
    """Queue ``call(*args, **kwargs)`` for the main thread's event loop (returns at once)."""
    if not isinstance(args, tuple):
        args = (args,)
    _main_queue.put((call, args, dict(kwargs or {}), None))


def executeInMainThreadWithResult(call: Callable[..., Any], args: Any = (), kwargs: Any = None) -> Any:
    """Run ``call`` on the main thread and return its result (blocks the calling thread)."""
    if not isinstance(args, tuple):
        args = (args,)
    if threading.current_thread() is _MAIN:
        return call(*args, **dict(kwargs or {}))
    box: dict[str, Any] = {}
    done = threading.Event()
    box["event"] = done
    _main_queue.put((call, args, dict(kwargs or {}), box))
    done.wait()
    if "error" in box:
        raise box["error"]
    return box.get("result")


class ProgressTask:
    """A progress bar with a Cancel button (Nuke shows it while the object lives)."""

    def __init__(self, title: str) -> None:
        from . import _fake

        self.title = title
        self.progress = 0
        self.messages: list[str] = []
        self.cancelled = False
        self.finished = False
        self.thread = threading.current_thread().name
        _fake.tasks.append(self)

    def setProgress(self, value: int) -> None:
        if not isinstance(value, int):
            raise TypeError(f"ProgressTask.setProgress expects an int, got {type(value).__name__}")
        self.progress = max(0, min(100, value))

    def setMessage(self, message: str) -> None:
        self.messages.append(str(message))

    def isCancelled(self) -> bool:
        return self.cancelled

    def __del__(self) -> None:
        self.finished = True


# ----------------------------------------------------------------------------------------------------------------
# Rendering


def execute(nameOrNode: Node | str, start: int, end: int, incr: int = 1, views: list[str] | None = None, continueOnError: bool = False) -> None:
    """Render a Write node for ``start..end`` (main thread only, as in Nuke)."""
    _require_main("nuke.execute")
    node = toNode(nameOrNode) if isinstance(nameOrNode, str) else nameOrNode
    if node is None or node.Class() != "Write":
        raise ValueError(f"nuke.execute: {nameOrNode!r} is not a Write node")
    from . import _render

    for f in range(int(start), int(end) + 1, int(incr)):
        _render.write_frame(node, f)


def _image_info(node: Node) -> tuple[int, int, int, int]:
    from . import _render

    return _render.info(node)


# ----------------------------------------------------------------------------------------------------------------
# Scripts


def scriptClear() -> None:
    _require_main("nuke.scriptClear")
    global _root
    new_root = Root()
    for k in ("first_frame", "last_frame", "OCIO_config", "workingSpaceLUT"):
        new_root[k]._restore(_root[k]._state())
    _root = new_root
    _context.stack.clear()


def scriptSaveAs(filename: str | None = None, overwrite: int | bool = -1) -> None:
    """Save the graph as JSON (the fake's stand-in for a .nk: node classes, names, knobs incl. user knobs,
    connections and children)."""
    assert filename
    with open(filename, "w", encoding="utf-8") as fh:
        json.dump(_save_group(_root), fh, indent=1)


def scriptSave(filename: str | None = None) -> bool:
    scriptSaveAs(filename)
    return True


def scriptOpen(filename: str | None = None) -> None:
    """Load a script saved by :func:`scriptSaveAs`; every node's onCreate runs afterwards, as on a real load."""
    assert filename
    scriptClear()
    with open(filename, encoding="utf-8") as fh:
        data = json.load(fh)
    created: list[Node] = []
    _load_group(_root, data, created)
    for n in created:
        if n["onCreate"].value():
            _run_script(str(n["onCreate"].value()), n, n["onCreate"])


def _save_group(g: Group) -> dict[str, Any]:
    return {"knobs": _save_knobs(g), "children": [_save_node(n) for n in g._children]}


def _save_node(n: Node) -> dict[str, Any]:
    out: dict[str, Any] = {"class": n.Class(), "name": n.name(), "knobs": _save_knobs(n),
                           "inputs": [i.name() if i is not None else None for i in n._inputs], "xy": n._xy}
    if isinstance(n, Group):
        out["children"] = [_save_node(c) for c in n._children]
    return out


def _save_knobs(n: Node) -> list[dict[str, Any]]:
    out = []
    for name in n._order:
        k = n._knobs[name]
        if type(k).__name__ == "CurveKnob":
            out.append({"name": name, "class": "CurveKnob", "user": k._user, "state": k._state()})
            continue
        out.append({"name": name, "class": k.Class(), "label": k.label(), "flags": k._flags, "user": k._user,
                    "tooltip": k.tooltip(), "state": k._state()})
    return out


_KNOB_CLASSES: dict[str, type] = {}


def _load_group(g: Group, data: dict[str, Any], created: list[Node]) -> None:
    for kd in data.get("knobs", []):
        if kd["name"] in g._knobs and not kd.get("user"):
            g._knobs[kd["name"]]._restore(kd["state"])
    by_name: dict[str, Node] = {}
    pending: list[tuple[Node, list[str | None]]] = []
    for nd in data.get("children", []):
        cls = nd["class"]
        node: Node = Group(cls, g) if cls == "Group" else Node(cls, g)
        node._name = nd["name"]
        node._xy = list(nd.get("xy", [0, 0]))
        g._children.append(node)
        for kd in nd["knobs"]:
            if kd.get("user"):
                kcls = globals().get(kd["class"])
                if kcls is None:
                    raise RuntimeError(f"cannot load knob class {kd['class']}")
                knob = kcls(kd["name"], kd.get("label"))
                knob._flags = kd.get("flags", 0)
                knob._tooltip = kd.get("tooltip", "")
                knob._restore(kd["state"])
                node._attach(knob, user=True)
            elif kd["name"] in node._knobs:
                node._knobs[kd["name"]]._restore(kd["state"])
        if isinstance(node, Group):
            _load_group(node, nd, created)
        by_name[node._name] = node
        pending.append((node, nd.get("inputs", [])))
        created.append(node)
    for node, ins in pending:
        node._inputs = [by_name.get(i) if i else None for i in ins]


from . import rotopaint as rotopaint  # noqa: E402  (nuke.rotopaint, as in Nuke)
from . import _fake as _fake  # noqa: E402
