"""Exceptions with user-facing messages that name the frame, file or field at fault (stdlib only; re-exported by
``inkpaint.errors``)."""

from __future__ import annotations


class InkpaintError(Exception):
    """Base class for every error inkpaint reports to a user.

    The message is meant to be shown as-is in the CLI, the worker's ``error`` event and the hosts.
    """


class SpecError(InkpaintError):
    """A job spec or prompts file is invalid.

    Args:
        field: dotted path of the offending field, e.g. ``objects[0].prompts[2].box``.
        message: what is wrong with it.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}" if field else message)


class FrameError(InkpaintError):
    """A frame could not be read, or is inconsistent with the rest of the sequence."""

    def __init__(self, message: str, *, frame: int | None = None, path: str | None = None) -> None:
        self.frame = frame
        self.path = path
        self.reason = message
        where = []
        if frame is not None:
            where.append(f"frame {frame}")
        if path:
            where.append(f"'{path}'")
        super().__init__(f"{' '.join(where)}: {message}" if where else message)


class MissingChannelError(FrameError):
    """A frame lacks a channel that was asked for by name (the message lists the channels present)."""


class OutputError(InkpaintError):
    """An output cannot be written (unwritable folder, bad pattern, or it would overwrite)."""


class OutputExistsError(OutputError):
    """Existing outputs from a different job would be overwritten without ``--overwrite``."""


class CancelledError(InkpaintError):
    """The job was cancelled by the user; complete frames are kept."""


class CheckpointError(InkpaintError):
    """Model weights are missing, corrupt, or do not match their recorded checksum."""


class BackendError(InkpaintError):
    """A backend is unknown or cannot be loaded in this environment."""
