"""Exceptions with user-facing messages that name the frame, file or field at fault.

They are defined in :mod:`inkpaint.jobs.errors` (stdlib only, so the hosts raise and catch the same classes) and
re-exported here; add engine-only error types below.
"""

from __future__ import annotations

from .jobs.errors import (  # noqa: F401
    BackendError,
    CancelledError,
    CheckpointError,
    FrameError,
    InkpaintError,
    MissingChannelError,
    OutputError,
    OutputExistsError,
    SpecError,
)


class OutputLockedError(OutputError):
    """Another job is writing the same output sequence right now (the message names it and the lock file)."""

    def __init__(self, message: str, *, lock: str | None = None) -> None:
        self.path = lock
        super().__init__(message)
