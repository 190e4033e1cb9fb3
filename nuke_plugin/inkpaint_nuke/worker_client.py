"""The worker client: the engine's one stdlib client, :mod:`inkpaint.jobs.client` (shared with Blender).

Nuke uses it per request: :func:`shared_client` starts the session's worker, :meth:`WorkerClient.request` sends a
``run``/``segment`` request and returns a :class:`Request` to read its events. A worker that dies ends every open
request with a ``crashed`` event; a worker of another protocol version is refused at start with a clear message.
"""

from __future__ import annotations

from typing import Any

from ._contract import client as _client

CRASHED = _client.CRASHED
TERMINAL_EVENTS = _client.TERMINAL_EVENTS
WorkerError = _client.WorkerError
WorkerCrashed = _client.WorkerCrashed
WorkerCancelled = _client.WorkerCancelled
Request = _client.Request
WorkerClient = _client.WorkerClient
raise_for_event = _client.raise_for_event
shutdown_shared = _client.shutdown_shared


def shared_client(command: list[str], env: dict[str, str] | None = None) -> Any:
    """The session's worker (request ids ``nuke-<n>``); restarted when it has died or the command changed."""
    return _client.shared_client(command, env, id_prefix="nuke")


def __getattr__(name: str) -> Any:
    if name == "_shared":  # the session's worker, for tests
        return _client._shared
    raise AttributeError(name)
