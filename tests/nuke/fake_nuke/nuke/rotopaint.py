"""``nuke.rotopaint``: the Roto/RotoPaint curves API (Shape, ShapeControlPoint, Layer, CurveKnob, AnimControlPoint).

Follows Foundry's reference: a Shape is a sequence of ShapeControlPoints, each grouping ``center`` and the
``leftTangent``/``rightTangent`` (offsets from the centre) and feather AnimControlPoints; positions are keyed with
``addPositionKey(time, position)`` where the position is a CVec2/CVec3 or a 2-/3-tuple; ``getPosition(time)``
interpolates linearly between keys (Nuke's default is smooth; the fake only checks keys and values at keys);
``curves.rootLayer.append(shape)`` adds it; ``curves.changed()`` should be called after edits.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from typing import Any

from . import Knob, _require_main


class CVec2:
    def __init__(self, x: float = 0.0, y: float = 0.0) -> None:
        self.x, self.y = float(x), float(y)

    def __getitem__(self, i: int) -> float:
        return (self.x, self.y)[i]

    def __len__(self) -> int:
        return 2


class CVec3:
    def __init__(self, x: float = 0.0, y: float = 0.0, z: float = 0.0) -> None:
        self.x, self.y, self.z = float(x), float(y), float(z)

    def __getitem__(self, i: int) -> float:
        return (self.x, self.y, self.z)[i]

    def __len__(self) -> int:
        return 3


def _as_xy(position: Any) -> tuple[float, float]:
    if isinstance(position, (CVec2, CVec3)):
        return position.x, position.y
    if isinstance(position, (tuple, list)) and len(position) in (2, 3) and all(isinstance(v, (int, float)) for v in position):
        return float(position[0]), float(position[1])
    raise TypeError(f"addPositionKey expects a CVec2, CVec3 or (x, y[, z]) tuple, got {position!r}")


class AnimCurveKey:
    def __init__(self, time: float, value: float) -> None:
        self.time, self.value = time, value


class AnimCurve:
    def __init__(self, keys: list[tuple[float, float]]) -> None:
        self._keys = keys

    def getNumberOfKeys(self) -> int:
        return len(self._keys)

    def getKey(self, index: int) -> AnimCurveKey:
        t, v = self._keys[index]
        return AnimCurveKey(t, v)

    def evaluate(self, time: float) -> float:
        return _interp(self._keys, time)


def _interp(keys: list[tuple[float, float]], t: float) -> float:
    if not keys:
        return 0.0
    times = [k[0] for k in keys]
    i = bisect.bisect_left(times, t)
    if i < len(keys) and times[i] == t:
        return keys[i][1]
    if i == 0:
        return keys[0][1]
    if i == len(keys):
        return keys[-1][1]
    (t0, v0), (t1, v1) = keys[i - 1], keys[i]
    return v0 + (v1 - v0) * (t - t0) / (t1 - t0)


class AnimControlPoint:
    """An animated 2-D point (the fake keeps x and y)."""

    def __init__(self, x: float = 0.0, y: float = 0.0) -> None:
        self._const = (float(x), float(y))
        self._keys: dict[float, tuple[float, float]] = {}

    def addPositionKey(self, time: float, positionOrDim: Any, view: str = "main") -> None:
        self._keys[float(time)] = _as_xy(positionOrDim)

    def removePositionKey(self, time: float, view: str = "main") -> None:
        self._keys.pop(float(time), None)

    def setPosition(self, position: Any, view: str = "main") -> None:
        self._const = _as_xy(position)

    def getControlPointKeyTimes(self, view: str = "main") -> list[float]:
        return sorted(self._keys)

    def getPositionAnimCurve(self, index: int, view: str = "main") -> AnimCurve:
        return AnimCurve([(t, self._keys[t][index]) for t in sorted(self._keys)])

    def getPosition(self, time: float, view: str = "main") -> CVec3:
        if not self._keys:
            return CVec3(*self._const, 1.0)
        x = self.getPositionAnimCurve(0).evaluate(time)
        y = self.getPositionAnimCurve(1).evaluate(time)
        return CVec3(x, y, 1.0)


class ShapeControlPoint:
    """``ShapeControlPoint()``, ``ShapeControlPoint(x, y)`` or ``ShapeControlPoint(other)``."""

    def __init__(self, *args: Any) -> None:
        x, y = (float(args[0]), float(args[1])) if len(args) >= 2 else (0.0, 0.0)
        self.center = AnimControlPoint(x, y)
        self.leftTangent = AnimControlPoint()
        self.rightTangent = AnimControlPoint()
        self.featherCenter = AnimControlPoint()
        self.featherLeftTangent = AnimControlPoint()
        self.featherRightTangent = AnimControlPoint()


class AnimAttributes:
    """A shape's named attributes (Foundry: nuke.curvelib.AnimAttributes, reached by ``Shape.getAttributes()``).

    The fake keeps constant values and keys per name and implements ``set(name, value)``, ``set(time, name,
    value)`` and ``getValue(time, name)`` as documented. Only the two constants the plug-in uses are defined; their
    string values here are the fake's own (the plug-in always uses the constants, never the strings). The fake does
    not render Roto nodes, so a blending mode is recorded, not composited. A new shape reads blending mode 0 (over)
    and inverted 0, as real shapes do (the default-mode value 0 is the one magnoborgo/NukeFXSExporter reads from
    real shapes' ``bm``).
    """

    kBlendingModeAttribute = "bm"
    kInvertedAttribute = "inv"

    def __init__(self) -> None:
        self._const: dict[str, float] = {self.kBlendingModeAttribute: 0.0, self.kInvertedAttribute: 0.0}
        self._keys: dict[str, dict[float, float]] = {}

    def set(self, *args: Any) -> None:
        if len(args) == 2:
            name, value = args
            time = None
        elif len(args) in (3, 4):  # (time, name, value[, view])
            time, name, value = args[0], args[1], args[2]
        else:
            raise TypeError("AnimAttributes.set(time, name, value, view) or set(name, value)")
        if not isinstance(name, str) or not isinstance(value, (int, float)) or isinstance(value, bool):
            raise TypeError(f"AnimAttributes.set: attribute name must be a str and value an int or float, got {name!r}, {value!r}")
        if time is None:
            self._const[name] = float(value)
        else:
            self._keys.setdefault(name, {})[float(time)] = float(value)

    def getValue(self, time: float, indexOrName: str, view: str = "main") -> float:
        keys = self._keys.get(indexOrName)
        if keys:
            return _interp(sorted(keys.items()), float(time))
        if indexOrName not in self._const:
            raise KeyError(f"no attribute {indexOrName!r}")
        return self._const[indexOrName]


class Element:
    def __init__(self) -> None:
        self.name = ""
        self.locked = False
        self._visible: dict[float, bool] = {}
        self._attributes = AnimAttributes()

    def getAttributes(self) -> AnimAttributes:
        return self._attributes

    def setVisible(self, time: float, value: bool) -> None:
        self._visible[float(time)] = bool(value)

    def getVisible(self, time: float) -> bool:
        return self._visible.get(float(time), True)


class Shape(Element):
    """``Shape(curveKnob)``: a Bezier shape belonging to ``curveKnob``'s node."""

    def __init__(self, curveKnob: Any = None, *points: Any, type: str = "bezier") -> None:
        super().__init__()
        if curveKnob is not None and not isinstance(curveKnob, CurveKnob):
            raise TypeError("Shape(curveKnob): the first argument must be a Roto node's 'curves' knob")
        self._points: list[ShapeControlPoint] = []
        for p in points:
            self.append(p)

    def append(self, shapeControlPoint: Any) -> None:
        if isinstance(shapeControlPoint, ShapeControlPoint):
            self._points.append(shapeControlPoint)
        else:
            x, y = _as_xy(shapeControlPoint)
            self._points.append(ShapeControlPoint(x, y))

    def __len__(self) -> int:
        return len(self._points)

    def __getitem__(self, index: int) -> ShapeControlPoint:
        return self._points[index]

    def __iter__(self) -> Iterator[ShapeControlPoint]:
        return iter(self._points)


class Layer(Element):
    def __init__(self, curveKnob: Any = None) -> None:
        super().__init__()
        self._items: list[Element] = []

    def append(self, element: Element) -> None:
        _require_main("Layer.append")
        if not isinstance(element, Element):
            raise TypeError("Layer.append expects a Shape, Stroke or Layer")
        self._items.append(element)

    def remove(self, index: int) -> None:
        del self._items[index]

    def removeAll(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: int) -> Element:
        return self._items[index]

    def __iter__(self) -> Iterator[Element]:
        return iter(self._items)


class CurveKnob(Knob):
    """A Roto node's ``curves`` knob."""

    def __init__(self, name: str = "curves", label: str | None = None, *args: Any) -> None:
        super().__init__(name, label)
        self.rootLayer = Layer()
        self.rootLayer.name = "Root"
        self.changes = 0

    def changed(self) -> None:
        self.changes += 1

    def toElement(self, path: str) -> Element | None:
        current: Element | None = self.rootLayer
        for part in path.split("/"):
            if not isinstance(current, Layer):
                return None
            current = next((e for e in current if e.name == part), None)
        return current

    def _state(self) -> dict[str, Any]:
        return {"shapes": [s.name for s in self.rootLayer]}

    def _restore(self, state: dict[str, Any]) -> None:
        pass
