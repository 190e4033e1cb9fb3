"""The worker client: the engine's one stdlib client, :mod:`inkpaint.jobs.client` (shared with Nuke), vendored
into the extension at build time (see :mod:`._contract`).

Blender reads it through one queue: :meth:`WorkerClient.submit` sends a request, a ``bpy.app.timers`` callback
drains :meth:`WorkerClient.poll` and :func:`outcome` says when the request has ended. A worker that dies ends the
request with a ``crashed`` event (exit code and stderr tail); a worker of another protocol version is refused at
start with a clear message.
"""

from __future__ import annotations

import os
import shutil

from ._contract import client as _client

FINAL_EVENTS = tuple(sorted(_client.TERMINAL_EVENTS))
"""Events that end a request."""

WorkerError = _client.WorkerError
WorkerCrashed = _client.WorkerCrashed
WorkerCancelled = _client.WorkerCancelled
outcome = _client.outcome
run_sync = _client.run_sync
iter_events = _client.iter_events
save_farm_bundle = _client.save_farm_bundle


class WorkerClient(_client.WorkerClient):
    """One running worker process (one-queue mode, request ids ``blender-<pid>-<n>``).

    Args:
        command: from :func:`worker_command`.
        env: extra environment variables for the worker (Blender's ``PYTHONHOME``/``PYTHONPATH`` are dropped).
        ready_timeout: seconds to wait for the ``ready`` event.
    """

    def __init__(self, command: list[str], env: dict[str, str] | None = None, ready_timeout: float = 120.0) -> None:
        super().__init__(command, _client.worker_environment(env), start_timeout=ready_timeout,
                         id_prefix=f"blender-{os.getpid()}", per_request=False)


def worker_command(executable: str, extra_args: str = "") -> list[str]:
    """The command line that starts a worker.

    Args:
        executable: the engine's Python (``.../bin/python``) or its ``inkpaint`` command; empty:
            ``$INKPAINT_WORKER`` (``$INKPAINT_WORKER_PYTHON``, deprecated), then ``inkpaint`` on ``PATH``.
        extra_args: extra arguments placed before ``worker`` (e.g. ``-v``).

    Raises:
        WorkerError: nothing usable is configured, or the executable does not exist.
    """
    value, _source = _client.find_worker(executable, where="the Inkpaint add-on preferences ('Worker executable')")
    exe = os.path.expanduser(value)
    if " " not in exe.strip() and not (os.path.isfile(exe) or shutil.which(exe)):
        raise WorkerError(f"worker executable '{exe}' does not exist (check the Inkpaint add-on preferences)")
    return _client.worker_command(exe, extra_args)


