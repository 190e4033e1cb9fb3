"""Operations and backends registered by name and imported only when used (like OpenTimelineIO's plugins).

An *operation* module (``inkpaint.ops.<name>``) provides:

- ``JOB``: its :class:`~inkpaint.spec.JobSpec` subclass;
- ``run(job, ctx) -> JobResult``: runs the job (see :mod:`inkpaint.ops.base`);
- ``add_cli(subparsers)``: adds its CLI subcommand; the parser's ``make_job`` default turns parsed args into a job.

A *roto backend* module (``inkpaint.backends.<name>``) provides ``create_backend(options) -> RotoBackend``
(see :mod:`inkpaint.backends.base`). Third-party packages can add either through the entry-point groups
``inkpaint.operations`` and ``inkpaint.roto_backends``.
"""

from __future__ import annotations

import importlib
from importlib import metadata
from types import ModuleType

from .errors import BackendError, SpecError

OPERATIONS: dict[str, str] = {
    "roto": "inkpaint.ops.roto",
    "ink": "inkpaint.ops.ink",
    "shade": "inkpaint.ops.shade",
    "finish": "inkpaint.ops.finish",
    "cel": "inkpaint.ops.cel",
    "paint": "inkpaint.ops.paint",
}
"""Job type name -> module path."""

ROTO_BACKENDS: dict[str, str] = {
    "classic": "inkpaint.backends.classic",
    "sam2": "inkpaint.backends.sam2_video",
}
"""Roto backend name -> module path. ``classic`` is the embedded default (OpenCV only, no weights)."""


def _entry_points(group: str) -> dict[str, str]:
    try:
        return {ep.name: ep.value for ep in metadata.entry_points(group=group)}
    except Exception:  # pragma: no cover - broken metadata must not break the core
        return {}


def available_operations() -> dict[str, str]:
    """Registered operations, built-in first, then those from the ``inkpaint.operations`` entry points."""
    return {**_entry_points("inkpaint.operations"), **OPERATIONS}


def load_operation(name: str) -> ModuleType:
    """Import and return the operation module registered as ``name``."""
    ops = available_operations()
    if name not in ops:
        raise SpecError("type", f"unknown operation {name!r}; known: {', '.join(sorted(ops))}")
    return importlib.import_module(ops[name].split(":")[0])


def available_backends() -> dict[str, str]:
    """Registered roto backends."""
    return {**_entry_points("inkpaint.roto_backends"), **ROTO_BACKENDS}


def load_backend(name: str) -> ModuleType:
    """Import and return the roto backend module registered as ``name``.

    Raises:
        BackendError: the name is unknown, or importing it failed (e.g. torch is not installed).
    """
    backends = available_backends()
    if name not in backends:
        raise BackendError(f"unknown roto backend {name!r}; known backends: {', '.join(sorted(backends))}")
    try:
        return importlib.import_module(backends[name].split(":")[0])
    except ImportError as exc:
        raise BackendError(
            f"roto backend {name!r} cannot be loaded: {exc}. "
            f"Install its dependencies with: python install/bootstrap.py --with {name}"
        ) from exc


EVALUATIONS: dict[str, str] = {
    "roto": "inkpaint.metrics.roto",
    "paint": "inkpaint.metrics.paint",
    "shade": "inkpaint.metrics.tones",
    "ink": "inkpaint.metrics.ink",
}
"""``inkpaint eval <name>`` -> module providing ``add_cli(subparsers)``."""
