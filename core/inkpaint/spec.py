"""Typed, versioned job specs (moved to :mod:`inkpaint.jobs.spec`, which hosts can import; re-exported here).

See :mod:`inkpaint.jobs.spec` for the format, the decoder and its errors.
"""

from __future__ import annotations

from .jobs.spec import (  # noqa: F401
    JOB_TYPES,
    SCHEMA_VERSION,
    ColorSettings,
    JobSpec,
    OutputSettings,
    _check_version,
    _encode,
    _join,
    _type_name,
    decode,
    job_class,
    load_job,
    replace,
    resolve_path,
    type_hints,
)

__all__ = [
    "SCHEMA_VERSION",
    "ColorSettings",
    "OutputSettings",
    "JobSpec",
    "load_job",
    "job_class",
    "decode",
    "resolve_path",
    "replace",
]
