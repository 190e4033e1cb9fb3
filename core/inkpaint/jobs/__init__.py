"""The job contract shared by the engine, the hosts (Nuke, Blender) and the farm: stdlib only.

Job dataclasses and their typed decoder (:mod:`.spec`), name rules (:mod:`.names`), frame patterns and ranges
(:mod:`.frames`), output and manifest paths (:mod:`.paths`) and the worker protocol (:mod:`.protocol`).
It imports nothing outside the standard library (no numpy, OpenImageIO, OpenCV or torch; a test enforces it) and
runs on the hosts' Pythons 3.9 (Nuke 14), 3.10 (Nuke 15) and 3.11 (Nuke 16, Blender 4.2+), so a host builds and
checks a job with the same classes the worker runs. Inside the package imports are relative only, so a host can
vendor the folder under another name (the Blender extension does, see ``install/blender.py``).

The engine's modules re-export what moved here (``inkpaint.spec``, ``inkpaint.errors``, ``inkpaint.io.sequence``
and the job classes in ``inkpaint.ops.*``).
"""

from __future__ import annotations

from .errors import FrameError, InkpaintError, SpecError
from .frames import FrameSequence, format_frame_range, parse_frame_range
from .names import RESERVED_NAMES, check_name, name_problem
from .paths import content_key, file_digest, layer_pattern, manifest_path, same_pattern, shot_name
from .protocol import PROTOCOL_VERSION, Event, ProtocolError, check_ready
from .spec import JOB_TYPES, SCHEMA_VERSION, ColorSettings, JobSpec, OutputSettings, decode, job_dict, load_job, typed_job
from .roto import Prompt, RotoJob, RotoObject
from .shade import PartTones, ShadeJob
from .ink import InkJob
from .finish import FinishJob
from .cel import CelJob
from .paint import PaintJob, PaintKey


def _load_all() -> None:
    """Every built-in job module is imported above; kept for :func:`.spec.job_class` (a no-op)."""


__all__ = [
    "FrameError", "InkpaintError", "SpecError", "FrameSequence", "format_frame_range", "parse_frame_range",
    "RESERVED_NAMES", "check_name", "name_problem", "content_key", "file_digest", "layer_pattern", "manifest_path", "same_pattern", "shot_name",
    "PROTOCOL_VERSION", "Event", "ProtocolError", "check_ready", "JOB_TYPES", "SCHEMA_VERSION", "ColorSettings",
    "JobSpec", "OutputSettings", "decode", "job_dict", "load_job", "typed_job", "Prompt", "RotoJob", "RotoObject", "PartTones", "ShadeJob",
    "InkJob", "FinishJob", "CelJob", "PaintJob", "PaintKey",
]
