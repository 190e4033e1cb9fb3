"""Typed, versioned job specs with a JSON round-trip and validation errors that name the field.

Every operation (roto, ink, shade, finish, cel, paint, ...) is described by a dataclass that derives from
:class:`JobSpec`. A spec serialises to a JSON object of the form::

    {"schema_version": 1, "type": "roto", ...the job's fields...}

:func:`load_job` reads any registered job type back, checking every field's type and naming the offending field
(``objects[0].prompts[2].box``) in the :class:`~inkpaint.errors.SpecError` it raises. A spec written by a newer
inkpaint (a larger ``schema_version``) is refused with a message saying so.

Job classes live in :mod:`inkpaint.jobs` (stdlib only, importable by the hosts' Pythons 3.9-3.11) and are looked
up by type name in :data:`JOB_TYPES`; a type not built in is looked up through :data:`inkpaint.registry.OPERATIONS`
(entry points), which imports only the operation it names.

Annotations may use ``X | None`` even on Python 3.9: :func:`type_hints` evaluates them with ``|`` read as
``Union`` when the interpreter cannot.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import hashlib
import json
import os
import sys
import tempfile
import types
import typing
from pathlib import Path
from typing import Any, ClassVar, Dict, Literal, Type, TypeVar, Union, get_args, get_origin, get_type_hints

from .errors import SpecError

SCHEMA_VERSION = 1
"""The job-spec schema this inkpaint writes and the newest it reads."""

T = TypeVar("T")

_UNION_TYPES: tuple[Any, ...] = (Union,) + ((types.UnionType,) if hasattr(types, "UnionType") else ())
"""``typing.Union`` and, on Python 3.10+, the type of ``X | Y``."""

JOB_TYPES: Dict[str, Type["JobSpec"]] = {}
"""Built-in job type name -> job class; filled as the :mod:`inkpaint.jobs` modules define them."""


@dataclasses.dataclass
class ColorSettings:
    """How input pixels are colour-managed before they reach a model.

    Attributes:
        input_colorspace: ``"auto"`` (EXR/HDR are in the config's ``scene_linear`` role, everything else sRGB,
            unless the file's ``oiio:ColorSpace`` says otherwise) or any colour-space name known to the OCIO config.
        working_colorspace: the display-referred space models see; ``"sRGB"`` by default.
        ocio_config: path to an OCIO config (relative: to the spec file's folder) or an ``ocio://`` URI; ``None``
            uses ``$OCIO`` when set, else OCIO's built-in ``ocio://studio-config-latest``.
    """

    input_colorspace: str = "auto"
    working_colorspace: str = "sRGB"
    ocio_config: str | None = None


@dataclasses.dataclass
class OutputSettings:
    """How output frames are written.

    Attributes:
        compression: EXR compression (``zip``, ``zips``, ``piz``, ``dwaa``, ``dwab``, ``rle``, ``none``, ...).
        overwrite: replace existing outputs of a different job. Without it such outputs are an error, and outputs
            of the same job (same job hash) are kept and skipped, which is how a rerun resumes.
        data_window: EXR data window of mattes, tones, lines and cels: ``"tight"`` (default) stores only the
            bounding box of the characters, as Nuke does (readers that honour data windows see the full frame with
            zeros outside; it makes files small and reads and writes fast); ``"full"`` stores every pixel of the
            frame, for readers that ignore data windows (Blender 5.0 does). Pixel values are the same either way,
            so it does not change the job hash.
    """

    compression: str = "zip"
    overwrite: bool = False
    data_window: Literal["tight", "full"] = "tight"


@dataclasses.dataclass
class JobSpec:
    """Base class of every job type. Subclasses set ``TYPE`` and declare their fields as dataclass fields."""

    TYPE: ClassVar[str] = ""
    HASH_EXCLUDE: ClassVar[frozenset[str]] = frozenset({"output_options.overwrite", "output_options.data_window"})
    HASH_FILES: ClassVar[tuple[str, ...]] = ()
    """Fields naming small input files (design sheets) whose *contents* count in :meth:`job_hash`, so editing the
    file in place makes the old outputs another job's (a rerun refuses to mix them unless told to overwrite)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.TYPE and cls.__module__.startswith(__name__.rsplit(".", 1)[0] + "."):
            JOB_TYPES.setdefault(cls.TYPE, cls)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form, with ``schema_version`` and ``type`` first."""
        body = _encode(self)
        assert isinstance(body, dict)
        return {"schema_version": SCHEMA_VERSION, "type": self.TYPE, **body}

    def to_json(self, indent: int | None = 2) -> str:
        """Serialise to JSON text."""
        return json.dumps(self.to_dict(), indent=indent, sort_keys=False)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the spec as JSON, atomically (a temp file in the same folder, then renamed)."""
        target = Path(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=str(target.parent))
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(self.to_json() + "\n")
            os.replace(tmp, target)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def resolve_color(self, color: ColorSettings) -> ColorSettings:
        """``color`` with a relative ``ocio_config`` resolved like every other path (:func:`resolve_path`, against
        the spec file's folder); ``ocio://`` URIs and absolute paths are kept."""
        cfg = color.ocio_config
        if not cfg or "://" in cfg:
            return color
        return dataclasses.replace(color, ocio_config=resolve_path(self, cfg))

    def job_hash(self) -> str:
        """A stable SHA-256 (hex, 16 chars) of everything that changes the job's results.

        Fields in ``HASH_EXCLUDE`` (dotted paths, e.g. ``output_options.overwrite``) do not count; the contents of
        the files named by ``HASH_FILES`` fields do. Paths count as :func:`inkpaint.farm.paths.relocatable` writes
        them: inside the shot folder relative to the primary output's folder, so moving the shot folder (a farm, an
        archive) keeps the hash its frames carry.
        """
        from ..farm.paths import relocatable

        data = relocatable(self.to_dict(), getattr(self, "_base_dir", None))
        for dotted in self.HASH_EXCLUDE:
            node: Any = data
            *parents, leaf = dotted.split(".")
            for p in parents:
                node = node.get(p, {}) if isinstance(node, dict) else {}
            if isinstance(node, dict):
                node.pop(leaf, None)
        digests = {f: self._file_digest(getattr(self, f)) for f in self.HASH_FILES if getattr(self, f, None)}
        if digests:
            data["_file_contents"] = digests
        canon = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canon.encode()).hexdigest()[:16]

    def _file_digest(self, path: str) -> str:
        """SHA-256 of the file at ``path`` (resolved like the job's other paths); ``"missing"`` when unreadable."""
        try:
            with open(resolve_path(self, path), "rb") as fh:
                return hashlib.sha256(fh.read()).hexdigest()
        except OSError:
            return "missing"

    def validate(self) -> None:
        """Check cross-field rules; raise :class:`SpecError` naming the field. Subclasses extend this."""

    @classmethod
    def from_dict(cls: type[T], data: dict[str, Any], *, path: str = "") -> T:
        """Build this job type from a dict, checking ``schema_version`` and ``type`` when present."""
        data = dict(data)
        version = data.pop("schema_version", SCHEMA_VERSION)
        _check_version(version, path)
        typ = data.pop("type", getattr(cls, "TYPE", ""))
        if typ != getattr(cls, "TYPE", ""):
            raise SpecError(_join(path, "type"), f"expected '{getattr(cls, 'TYPE', '')}', got {typ!r}")
        job = decode(cls, data, path)
        if isinstance(job, JobSpec):
            job.validate()
        return job


def _check_version(version: Any, path: str) -> None:
    if not isinstance(version, int) or isinstance(version, bool):
        raise SpecError(_join(path, "schema_version"), f"must be an integer, got {version!r}")
    if version > SCHEMA_VERSION:
        raise SpecError(
            _join(path, "schema_version"),
            f"this spec was written by a newer inkpaint (schema {version}); this inkpaint reads schema "
            f"{SCHEMA_VERSION} and older. Upgrade inkpaint to run it.",
        )
    if version < 1:
        raise SpecError(_join(path, "schema_version"), f"must be >= 1, got {version}")


def job_class(type_name: str) -> type[JobSpec]:
    """Return the job class registered under ``type_name``.

    Built-in types come from :data:`JOB_TYPES` (no operation is imported); others through the engine's registry
    (entry points), which imports only that operation's module.
    """
    from . import _load_all

    _load_all()
    if type_name in JOB_TYPES:
        return JOB_TYPES[type_name]
    try:
        from ..registry import available_operations, load_operation
    except ImportError:  # the package runs without the engine (a host's Python)
        known = ", ".join(sorted(JOB_TYPES))
        raise SpecError("type", f"unknown job type {type_name!r}; known types: {known}") from None

    ops = available_operations()
    if type_name not in ops:
        known = ", ".join(sorted(ops))
        raise SpecError("type", f"unknown job type {type_name!r}; known types: {known}")
    try:
        module = load_operation(type_name)
    except ImportError as exc:
        raise SpecError("type", f"job type {type_name!r} is not available in this installation: {exc}") from exc
    job = getattr(module, "JOB", None)
    if job is None:
        raise SpecError("type", f"job type {type_name!r}: module {module.__name__} defines no JOB class")
    return job


def _where(source: object, base_dir: object) -> str:
    return f" '{source}'" if base_dir is not None else ""


MAX_SPEC_BYTES = 64 << 20
"""A job spec file larger than this (64 MiB) is refused unread."""


def load_job(source: dict[str, Any] | str | os.PathLike[str]) -> JobSpec:
    """Load any registered job spec from a dict, a JSON file path or JSON text.

    Relative paths inside a spec file are resolved by the operation against the file's folder
    (see :func:`resolve_path`); this function records that folder as ``_base_dir`` on the job.

    Raises:
        SpecError: the JSON is malformed, the type unknown, the schema newer, or a field invalid.
    """
    base_dir: Path | None = None
    if isinstance(source, dict):
        data = source
    elif not isinstance(source, (str, os.PathLike)):
        raise SpecError("", f"a job spec must be a JSON object or a path to one, got {type(source).__name__}")
    else:
        text = str(source)
        if text.lstrip().startswith("{"):
            payload = text
        else:
            p = Path(source)
            try:
                if p.stat().st_size > MAX_SPEC_BYTES:
                    raise SpecError("", f"job spec '{p}' is {p.stat().st_size} bytes, over the limit of {MAX_SPEC_BYTES}")
                payload = p.read_text(encoding="utf-8")
            except OSError as exc:
                raise SpecError("", f"cannot read job spec '{p}': {exc.strerror or exc}") from exc
            except UnicodeDecodeError as exc:
                raise SpecError("", f"job spec '{p}' is not UTF-8 text (bad byte at offset {exc.start}); is it a JSON file?") from None
            base_dir = p.resolve().parent
        try:
            data = json.loads(payload)
        except json.JSONDecodeError as exc:
            raise SpecError("", f"job spec is not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}") from exc
        except RecursionError:
            raise SpecError("", f"job spec{_where(source, base_dir)} is nested too deeply to be a job spec") from None
        except ValueError as exc:  # e.g. an integer with more digits than Python converts
            raise SpecError("", f"job spec{_where(source, base_dir)} holds a value that cannot be read: {str(exc)[:200]}") from None
    if not isinstance(data, dict):
        raise SpecError("", f"a job spec must be a JSON object, got {type(data).__name__}")
    _check_version(data.get("schema_version"), "") if "schema_version" in data else None
    if "type" not in data:
        raise SpecError("type", "missing; every job spec names its operation, e.g. \"roto\"")
    cls = job_class(str(data["type"]))
    job = cls.from_dict(data)
    if base_dir is not None:
        object.__setattr__(job, "_base_dir", str(base_dir))
    return job


def resolve_path(job: JobSpec, path: str) -> str:
    """Resolve ``path`` against the folder of the spec file the job was loaded from (if any)."""
    expanded = os.path.expandvars(os.path.expanduser(path))
    base = getattr(job, "_base_dir", None)
    if base and not os.path.isabs(expanded):
        return os.path.join(base, expanded)
    return expanded


# ----------------------------------------------------------------------------------------------------------------
# Generic typed codec


def _join(path: str, name: str | int) -> str:
    if isinstance(name, int):
        return f"{path}[{name}]"
    return f"{path}.{name}" if path else name


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            if f.name.startswith("_"):
                continue
            out[f.name] = _encode(getattr(value, f.name))
        return out
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    return value


def _type_name(tp: Any) -> str:
    if tp is type(None):
        return "null"
    origin = get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in get_args(tp))
    if origin in _UNION_TYPES:
        return " | ".join(_type_name(a) for a in get_args(tp))
    if origin is list:
        return f"list of {_type_name(get_args(tp)[0])}" if get_args(tp) else "list"
    if origin is dict:
        return "object"
    if origin is tuple:
        return "list"
    if dataclasses.is_dataclass(tp):
        return "object"
    return {int: "integer", float: "number", str: "string", bool: "boolean"}.get(tp, getattr(tp, "__name__", str(tp)))


def decode(tp: Any, value: Any, path: str = "") -> Any:
    """Convert JSON data ``value`` to type ``tp``; raise :class:`SpecError` naming ``path`` on mismatch.

    Supports dataclasses, ``list[T]``, ``tuple[T, ...]``/fixed tuples, ``dict[str, T]``, ``Literal``, unions and
    ``Optional``, and the JSON scalars (an ``int`` is accepted where a ``float`` is expected).
    """
    if tp is Any:
        return value
    origin = get_origin(tp)
    args = get_args(tp)
    if origin in _UNION_TYPES:
        if value is None and type(None) in args:
            return None
        non_null = [a for a in args if a is not type(None)]
        if len(non_null) == 1:  # Optional[X]: X's own error is the useful one (it names the inner field)
            return decode(non_null[0], value, path)
        errors: list[SpecError] = []
        for alt in args:
            try:
                return decode(alt, value, path)
            except SpecError as exc:
                errors.append(exc)
        raise SpecError(path, f"expected {_type_name(tp)}, got {value!r}")
    if tp is type(None):
        if value is not None:
            raise SpecError(path, f"expected null, got {value!r}")
        return None
    if origin is Literal:
        if value not in args:
            raise SpecError(path, f"must be one of {', '.join(repr(a) for a in args)}; got {value!r}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise SpecError(path, f"expected {_type_name(tp)}, got {type(value).__name__} {value!r}")
        return [decode(args[0] if args else Any, v, _join(path, i)) for i, v in enumerate(value)]
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise SpecError(path, f"expected a list, got {type(value).__name__} {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(decode(args[0], v, _join(path, i)) for i, v in enumerate(value))
        if len(value) != len(args):
            raise SpecError(path, f"expected {len(args)} values, got {len(value)}: {value!r}")
        return tuple(decode(a, v, _join(path, i)) for i, (a, v) in enumerate(zip(args, value)))
    if origin is dict:
        if not isinstance(value, dict):
            raise SpecError(path, f"expected an object, got {type(value).__name__} {value!r}")
        vt = args[1] if len(args) == 2 else Any
        return {str(k): decode(vt, v, _join(path, str(k))) for k, v in value.items()}
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise SpecError(path, f"expected an object, got {type(value).__name__} {value!r}")
        hints = type_hints(tp)
        fields = {f.name: f for f in dataclasses.fields(tp) if f.init and not f.name.startswith("_")}
        envelope = {"schema_version", "type"} if not path else set()
        unknown = sorted(set(value) - set(fields) - envelope)
        if unknown:
            raise SpecError(_join(path, unknown[0]), f"unknown field; known fields: {', '.join(sorted(fields))}")
        kwargs: dict[str, Any] = {}
        for name, f in fields.items():
            if name in value:
                kwargs[name] = decode(hints[name], value[name], _join(path, name))
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise SpecError(_join(path, name), "required field is missing")
        obj = tp(**kwargs)
        post = getattr(obj, "check", None)
        if callable(post):
            post(path)
        return obj
    if tp is bool:
        if not isinstance(value, bool):
            raise SpecError(path, f"expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise SpecError(path, f"expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SpecError(path, f"expected a number, got {value!r}")
        number = float(value)
        if number != number or number in (float("inf"), float("-inf")):
            raise SpecError(path, f"expected a finite number, got {value!r}")
        return number
    if tp is str:
        if not isinstance(value, str):
            raise SpecError(path, f"expected a string, got {value!r}")
        return value
    raise SpecError(path, f"unsupported field type {tp!r}")  # pragma: no cover - programming error


_UNION_NAME = "__inkpaint_union__"


class _PipeToUnion(ast.NodeTransformer):
    """Rewrites ``A | B`` in an annotation into ``Union[A, B]`` (for Pythons before 3.10)."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        if not isinstance(node.op, ast.BitOr):
            return node
        elts = ast.Tuple(elts=[node.left, node.right], ctx=ast.Load())
        return ast.Subscript(value=ast.Name(id=_UNION_NAME, ctx=ast.Load()), slice=elts, ctx=ast.Load())


def _evaluate(annotation: str, namespace: dict[str, Any]) -> Any:
    tree = ast.parse(annotation, mode="eval")
    tree = ast.fix_missing_locations(_PipeToUnion().visit(tree))
    return eval(compile(tree, "<annotation>", "eval"), {**namespace, _UNION_NAME: Union})  # noqa: S307 - our own class annotations


@functools.lru_cache(maxsize=None)
def type_hints(tp: type) -> dict[str, Any]:
    """``typing.get_type_hints(tp)``, also on Pythons that cannot evaluate ``X | Y`` (3.9: read as ``Union``).

    Args:
        tp: a (dataclass) class whose annotations may be strings (``from __future__ import annotations``).
    """
    try:
        return get_type_hints(tp)
    except TypeError:
        if sys.version_info >= (3, 10):
            raise
    hints: dict[str, Any] = {}
    for klass in reversed(tp.__mro__):
        module = sys.modules.get(klass.__module__)
        namespace = dict(vars(module)) if module is not None else {}
        for name, ann in klass.__dict__.get("__annotations__", {}).items():
            value = _evaluate(ann, namespace) if isinstance(ann, str) else ann
            if isinstance(value, type(None)):
                value = type(None)
            hints[name] = value
    return hints


def typed_job(data: dict[str, Any], *, validate: bool = False) -> JobSpec:
    """The job a host built as a dict (``type`` and fields), decoded with its class: every field type-checked and
    named in the :class:`SpecError` when wrong; cross-field rules too with ``validate`` (hosts skip them while
    output paths are still placeholders). ``job.to_dict()`` is then the JSON to send."""
    data = dict(data)
    if "schema_version" in data:
        _check_version(data.pop("schema_version"), "")
    if "type" not in data:
        raise SpecError("type", "missing; every job names its operation, e.g. \"roto\"")
    cls = job_class(str(data.pop("type")))
    job = decode(cls, data)
    if validate:
        job.validate()
    return job


def job_dict(data: dict[str, Any], *, error: type[Exception] = SpecError, validate: bool = False) -> dict[str, Any]:
    """:func:`typed_job` encoded again: the JSON a host sends (every field, defaults filled in).

    Args:
        error: the exception a host raises instead of :class:`SpecError` (its message is the SpecError's).
    """
    try:
        return typed_job(data, validate=validate).to_dict()
    except SpecError as exc:
        if error is SpecError:
            raise
        raise error(str(exc)) from None


def replace(job: T, **changes: Any) -> T:
    """``dataclasses.replace`` that keeps the private ``_base_dir`` of a loaded spec."""
    new = dataclasses.replace(job, **changes)  # type: ignore[type-var]
    base = getattr(job, "_base_dir", None)
    if base is not None:
        object.__setattr__(new, "_base_dir", base)
    return new


__all__ = [
    "SCHEMA_VERSION",
    "JOB_TYPES",
    "type_hints",
    "typed_job",
    "job_dict",
    "ColorSettings",
    "OutputSettings",
    "JobSpec",
    "load_job",
    "job_class",
    "decode",
    "resolve_path",
    "replace",
]

_ = typing  # keep the import for forward references in subclasses' annotations
