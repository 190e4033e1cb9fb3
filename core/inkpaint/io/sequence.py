"""Image-sequence patterns (``####``, ``%04d``, ``@``) and frame-range expressions.

Moved to :mod:`inkpaint.jobs.frames` (stdlib only, shared with the hosts); re-exported here.
"""

from __future__ import annotations

from ..jobs.frames import FrameSequence, InkpaintError, format_frame_range, parse_frame_range  # noqa: F401

__all__ = ["FrameSequence", "parse_frame_range", "format_frame_range", "InkpaintError"]
