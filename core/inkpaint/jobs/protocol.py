"""The worker protocol: JSON lines between a host and ``inkpaint worker`` (see ``docs/worker-protocol.md``).

Requests (host -> worker, one JSON object per line): ``run`` (``{"type": "run", "id", "job"}``), ``segment``,
``cancel`` (``target``), ``ping`` and ``shutdown`` (``wait``). Events (worker -> host): ``ready`` (first line:
``version``, ``protocol``, ``pid``), ``accepted``, ``progress``, ``log``, ``result``, ``error``, ``cancelled``,
``cancelling``, ``pong``, ``bye``.

A request ends with exactly one of :data:`END_EVENTS` carrying its id. A crash is an ``error`` event with
``"fatal": true`` (its id is the request that was running, or absent); the worker then exits non-zero, so a fatal
error ends *every* outstanding request of that worker (:meth:`Event.ends`).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Dict, Optional

from .errors import InkpaintError

PROTOCOL_VERSION = 1
"""The protocol this inkpaint speaks; the worker sends it in ``ready`` and ``pong``. A host refuses a worker whose
protocol differs (:func:`check_ready`)."""

REQUEST_TYPES = ("run", "segment", "cancel", "ping", "shutdown")
EVENT_TYPES = ("ready", "accepted", "progress", "log", "result", "error", "cancelled", "cancelling", "pong", "bye")
END_EVENTS = frozenset({"result", "error", "cancelled"})
"""Events that end the request named by their id."""

WORKER_ENV = "INKPAINT_WORKER"
"""Environment variable naming the worker executable (an engine Python or an ``inkpaint`` executable)."""
WORKER_ENV_DEPRECATED = ("INKPAINT_WORKER_PYTHON",)
"""Older names of :data:`WORKER_ENV`, still read (with a deprecation warning) when it is not set."""


class ProtocolError(InkpaintError):
    """A worker line is not a protocol event, or the worker speaks another protocol version."""


@dataclasses.dataclass
class ErrorInfo:
    """The ``error`` object of an ``error`` event.

    Attributes:
        type: the exception class name (``SpecError``, ``FrameError``, ``ProtocolError`` ...).
        message: the user-facing message (names the field, frame or file).
        frame: the frame at fault, when known.
        path: the file at fault, when known.
        field: the job field at fault (dotted path), when known.
        traceback: the worker's traceback (fatal errors only).
    """

    type: str
    message: str
    frame: Optional[int] = None
    path: Optional[str] = None
    field: Optional[str] = None
    traceback: Optional[str] = None

    @classmethod
    def from_dict(cls, data: Any) -> "ErrorInfo":
        if not isinstance(data, dict):
            return cls(type="ProtocolError", message=f"malformed error payload: {data!r}")
        frame = data.get("frame")
        return cls(
            type=str(data.get("type", "Error")),
            message=str(data.get("message", "")),
            frame=frame if isinstance(frame, int) and not isinstance(frame, bool) else None,
            path=str(data["path"]) if data.get("path") is not None else None,
            field=str(data["field"]) if data.get("field") is not None else None,
            traceback=str(data["traceback"]) if data.get("traceback") is not None else None,
        )

    def __str__(self) -> str:
        return self.message or self.type


@dataclasses.dataclass
class Event:
    """One worker event.

    Attributes:
        event: the event type (one of :data:`EVENT_TYPES`; unknown types are kept, for newer workers).
        id: the request it belongs to (``None`` for ``ready`` and unattributed errors).
        data: the whole JSON object as received.
    """

    event: str
    id: Optional[str]
    data: Dict[str, Any]

    @classmethod
    def parse(cls, line: str) -> "Event":
        """Parse one protocol line.

        Raises:
            ProtocolError: the line is not a JSON object with an ``event`` string.
        """
        try:
            data = json.loads(line)
        except ValueError as exc:
            raise ProtocolError(f"the worker wrote a line that is not JSON: {line[:200]!r} ({exc})") from None
        if not isinstance(data, dict) or not isinstance(data.get("event"), str):
            raise ProtocolError(f"the worker wrote a line that is not a protocol event: {line[:200]!r}")
        rid = data.get("id")
        return cls(event=data["event"], id=str(rid) if rid is not None else None, data=data)

    @property
    def fatal(self) -> bool:
        """A crash: the worker is exiting, every outstanding request is over."""
        return self.event == "error" and bool(self.data.get("fatal"))

    @property
    def error(self) -> Optional[ErrorInfo]:
        """The error of an ``error`` event, else ``None``."""
        return ErrorInfo.from_dict(self.data.get("error")) if self.event == "error" else None

    def ends(self, request_id: str) -> bool:
        """Whether this event ends request ``request_id`` (its own end event, or any fatal error)."""
        return self.fatal or (self.event in END_EVENTS and self.id == request_id)


def check_ready(event: Event, *, worker: str = "the worker") -> None:
    """Check the worker's first event: it must be ``ready`` and speak :data:`PROTOCOL_VERSION`.

    Raises:
        ProtocolError: with a message saying which versions differ and what to do.
    """
    if event.event != "ready":
        raise ProtocolError(f"{worker} did not start with a 'ready' event (got {event.event!r})")
    theirs = event.data.get("protocol")
    if theirs != PROTOCOL_VERSION:
        version = event.data.get("version", "unknown")
        raise ProtocolError(
            f"{worker} (inkpaint {version}) speaks worker protocol {theirs!r}; this plug-in speaks protocol "
            f"{PROTOCOL_VERSION}. Install the same inkpaint version for the engine and the plug-in."
        )


def run_request(request_id: str, job: Any) -> Dict[str, Any]:
    """A ``run`` request; ``job`` is a :class:`~inkpaint.jobs.spec.JobSpec`, a job dict or a spec file path."""
    body = job.to_dict() if hasattr(job, "to_dict") else job
    return {"type": "run", "id": str(request_id), "job": body}


def segment_request(request_id: str, body: Dict[str, Any]) -> Dict[str, Any]:
    """A ``segment`` request (one frame previewed): ``body`` holds ``input``, ``frame``, ``objects`` ..."""
    return {**body, "type": "segment", "id": str(request_id)}


def cancel_request(request_id: str, target: Optional[str]) -> Dict[str, Any]:
    return {"type": "cancel", "id": str(request_id), "target": target}


def ping_request(request_id: str) -> Dict[str, Any]:
    return {"type": "ping", "id": str(request_id)}


def shutdown_request(request_id: str, wait: bool = False) -> Dict[str, Any]:
    return {"type": "shutdown", "id": str(request_id), "wait": bool(wait)}


__all__ = [
    "PROTOCOL_VERSION", "REQUEST_TYPES", "EVENT_TYPES", "END_EVENTS", "WORKER_ENV", "WORKER_ENV_DEPRECATED",
    "ProtocolError", "ErrorInfo", "Event", "check_ready", "run_request", "segment_request", "cancel_request",
    "ping_request", "shutdown_request",
]
