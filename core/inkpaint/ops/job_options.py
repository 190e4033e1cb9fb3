"""Command-line options built from a job class's fields: one source for names, types, defaults and help.

An op lists the fields it exposes (:class:`FieldOption`: which field, the flag if it differs from the field name,
whether the value is a path or a comma list); :func:`add_field_options` adds the argparse options with the type
(``float``, ``int``, ``str``, a bool as an on/off switch), the default and whether it is required taken from the
dataclass, a ``Literal`` of strings as ``choices``, and the help from the class docstring's ``Attributes:`` entry (or
the option's own ``help``), with the default appended. :func:`job_kwargs` turns the parsed arguments back into the job's keyword arguments.

Example (the ink op)::

    OPTIONS = [FieldOption("mattes", path=True), FieldOption("output", flag="--out", path=True), ...]
    add_field_options(parser, InkJob, OPTIONS)
    job = InkJob(**job_kwargs(args, InkJob, OPTIONS), output_options=...)
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import typing
from typing import Any

from ..jobs.spec import type_hints
from .base import split_names


@dataclasses.dataclass(frozen=True)
class FieldOption:
    """One job field exposed as a command-line option.

    Attributes:
        field: the job dataclass field.
        flag: the option (default ``--`` + the field name with ``-`` for ``_``). A bool field whose default is True
            is switched off by ``--no-<name>`` (give that as ``flag``).
        help: help text (default: the field's ``Attributes:`` entry in the job class docstring).
        path: the value is a file or pattern: made absolute (relative to the current directory).
        names: the value is a comma-separated list (``"a, b"`` -> ``["a", "b"]``).
        metavar: argparse metavar.
        default_help: how the default reads in the help (default: the field's default; ``""``: not shown).
        positional: a positional argument named after the field (required unless the field has a default).
        field_dest: the parsed value is stored under the field's name; for a ``--no-<name>`` switch that means
            ``store_false`` into the field (default: under the flag's name, ``store_true``, inverted by
            :func:`job_kwargs`).
    """

    field: str
    flag: str | None = None
    help: str | None = None
    path: bool = False
    names: bool = False
    metavar: str | None = None
    default_help: str | None = None
    positional: bool = False
    field_dest: bool = False

    def option(self) -> str:
        if self.positional:
            return self.field
        return self.flag or "--" + self.field.replace("_", "-")

    def dest(self) -> str:
        if self.positional or self.field_dest:
            return self.field
        return self.option().lstrip("-").replace("-", "_")


def field_docs(cls: type) -> dict[str, str]:
    """The ``Attributes:`` entries of a Google-style class docstring, one line each (``{field: text}``)."""
    doc = cls.__doc__ or ""
    m = re.search(r"^\s*Attributes:\s*$", doc, re.M)
    if not m:
        return {}
    out: dict[str, str] = {}
    current: str | None = None
    indent: int | None = None
    for line in doc[m.end():].splitlines():
        if not line.strip():
            continue
        width = len(line) - len(line.lstrip())
        if indent is None:
            indent = width
        if width < indent:
            break
        entry = re.match(r"^([\w, ]+?):\s*(.*)$", line.strip()) if width == indent else None
        if entry:
            text = entry.group(2)
            names = [n.strip() for n in entry.group(1).split(",")]
            for name in names:
                out[name] = text
            current = ",".join(names)
        elif current is not None:
            for name in current.split(","):
                out[name] = f"{out[name]} {line.strip()}"
    return out


def _plain(text: str) -> str:
    """Docstring markup to help text: ````x```` -> ``x``, ``None`` -> unset, ``%`` escaped for argparse, no trailing
    full stop."""
    text = re.sub(r"``([^`]*)``", r"\1", text).strip().replace("%", "%%")
    text = re.sub(r"\bNone = ", "unset: ", text)
    return text[:-1] if text.endswith(".") else text


def _base_type(tp: Any) -> Any:
    """``float | None`` -> ``float``; ``list[str] | None`` -> ``list``; ``Literal["a", "b"]`` -> ``Literal``."""
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) is not None and typing.get_origin(tp) is not list and len(args) == 1:
        tp = args[0]
    origin = typing.get_origin(tp)
    return origin if origin is not None else tp


def _literal_values(tp: Any) -> tuple[Any, ...]:
    """``Literal["a", "b"]`` (or ``Literal[...] | None``) -> ``("a", "b")``."""
    for t in (tp, *typing.get_args(tp)):
        if typing.get_origin(t) is typing.Literal:
            return typing.get_args(t)
    return ()


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def add_field_options(parser: argparse.ArgumentParser, cls: type, options: list[FieldOption]) -> None:
    """Add one argparse option per entry of ``options``, typed and defaulted from ``cls``'s fields.

    Raises:
        TypeError: an option names a field ``cls`` does not have, or a field type with no option form.
    """
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = type_hints(cls)
    docs = field_docs(cls)
    for opt in options:
        if opt.field not in fields:
            raise TypeError(f"{cls.__name__} has no field {opt.field!r}")
        f = fields[opt.field]
        base = _base_type(hints[opt.field])
        default = _default(f)
        text = opt.help or _plain(docs.get(opt.field, ""))
        kwargs: dict[str, Any] = {} if opt.positional else {"dest": opt.dest()}
        if base is bool:
            if default is True and not opt.option().startswith("--no-"):
                raise TypeError(f"{cls.__name__}.{opt.field} defaults to True: its flag must be --no-...")
            switched_off = opt.field_dest and opt.option().startswith("--no-")
            parser.add_argument(opt.option(), action="store_false" if switched_off else "store_true", help=text, **kwargs)
            continue
        if base in (float, int):
            kwargs["type"] = base
        elif base is typing.Literal and all(isinstance(c, str) for c in _literal_values(hints[opt.field])):
            kwargs["choices"] = list(_literal_values(hints[opt.field]))
        elif base not in (str, list):
            raise TypeError(f"{cls.__name__}.{opt.field}: no command-line form for {hints[opt.field]}")
        if default is dataclasses.MISSING:
            if not opt.positional:
                kwargs["required"] = True
        elif default is not None and not opt.names:
            kwargs["default"] = default
            shown = opt.default_help if opt.default_help is not None else f"{default:g}" if isinstance(default, float) else str(default)
            if shown and text != argparse.SUPPRESS:
                text = f"{text} (default {shown})"
        if opt.positional and default is not dataclasses.MISSING:
            kwargs["nargs"] = "?"
        if opt.metavar:
            kwargs["metavar"] = opt.metavar
        parser.add_argument(opt.option(), help=text, **kwargs)


def job_kwargs(args: argparse.Namespace, cls: type, options: list[FieldOption]) -> dict[str, Any]:
    """The job's keyword arguments from parsed ``args`` (paths made absolute, comma lists split, ``--no-`` inverted)."""
    hints = type_hints(cls)
    out: dict[str, Any] = {}
    for opt in options:
        value = getattr(args, opt.dest())
        if _base_type(hints[opt.field]) is bool and opt.option().startswith("--no-") and not opt.field_dest:
            value = not value
        elif opt.names:
            value = split_names(value, opt.option())
        elif opt.path and value:
            value = os.path.abspath(value)
        out[opt.field] = value
    return out


__all__ = ["FieldOption", "add_field_options", "field_docs", "job_kwargs"]
