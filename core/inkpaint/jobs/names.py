"""Object (part) name rules shared by the engine and the hosts.

An object's name becomes an EXR layer ``<name>`` (channel ``<name>.A``), a Nuke layer and a Blender Mask layer,
so it must be a safe channel name in all three:

- letters, digits and ``_``, not starting with a digit (``NAME_PATTERN``);
- not a built-in layer or channel name of inkpaint, Nuke or EXR (``RESERVED_NAMES``, compared without case).
  ``none`` and ``all`` are Nuke's channel-set keywords (a layer called ``all`` or ``none`` cannot be picked in
  a channel knob), so they are reserved everywhere, not only in the Nuke plugin: one rule, one spec that runs in
  every host.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Optional

from .errors import SpecError

NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"

MAX_NAME_LENGTH = 128
"""Longest object name: ``<name>.A`` and the cryptomatte and Nuke channel names made from it must fit the 255
bytes an EXR channel name may hold, whole, so that two long names never collide once cut."""
NAME_RX = re.compile(NAME_PATTERN)

RESERVED_NAMES = frozenset(
    {"rgba", "rgb", "alpha", "depth", "motion", "forward", "backward", "mask", "a", "r", "g", "b", "ink", "tone",
     "none", "all"}
)
"""Names an object may not take (lower case; compared without case)."""


def name_problem(name: str) -> Optional[str]:
    """What is wrong with ``name`` as an object name, or ``None`` when it is valid.

    The message is a sentence fragment that starts with the quoted name, e.g.
    ``"'2nd' is not a valid layer name (letters, digits, _; not starting with a digit)"``.
    """
    if isinstance(name, str) and len(name) > MAX_NAME_LENGTH:
        return f"{name[:40]!r}... is {len(name)} characters long; a layer name may have at most {MAX_NAME_LENGTH}"
    if not isinstance(name, str) or not NAME_RX.match(name):
        return f"{name!r} is not a valid layer name (letters, digits, _; not starting with a digit)"
    if name.lower() in RESERVED_NAMES:
        return f"{name!r} is reserved (clashes with a built-in layer/channel)"
    return None


def check_name(name: str, field: str = "name") -> None:
    """Raise :class:`SpecError` naming ``field`` when ``name`` is not a valid object name."""
    problem = name_problem(name)
    if problem:
        raise SpecError(field, problem)


def check_unique_names(objects: Iterable[Any], field: str = "objects") -> None:
    """Refuse two objects (anything with a ``name``) of the same name, naming both places (``objects[3].name``)."""
    seen: dict = {}
    for i, obj in enumerate(objects):
        if obj.name in seen:
            raise SpecError(f"{field}[{i}].name", f"duplicate object name {obj.name!r} (also {field}[{seen[obj.name]}])")
        seen[obj.name] = i


__all__ = ["MAX_NAME_LENGTH", "NAME_PATTERN", "NAME_RX", "RESERVED_NAMES", "name_problem", "check_name", "check_unique_names"]
