"""Talks to ``inkpaint worker`` (JSON lines over stdin/stdout) from a background thread. Standard library only.

The worker runs in its own Python (the engine's venv, with torch when a learned backend is used); Blender never
imports the engine. A reader thread turns each stdout line into an event dict and puts it on a queue; stderr is kept
(the last lines) so a crash can be reported with the engine's own message. When the process exits, the reader puts
a ``{"event": "exit", "returncode": ...}`` event on the queue, so a waiting caller never hangs.
"""

from __future__ import annotations

import collections
import itertools
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

FINAL_EVENTS = ("result", "error", "cancelled")
"""Events that end a request."""


class WorkerError(RuntimeError):
    """The worker could not be started, reported an error, or died.

    Attributes:
        payload: the ``error`` object of the worker's error event, when there was one.
        stderr: the last lines the worker wrote to stderr.
    """

    def __init__(self, message: str, payload: dict[str, Any] | None = None, stderr: str = "") -> None:
        super().__init__(message)
        self.payload = payload or {}
        self.stderr = stderr


class WorkerCancelled(RuntimeError):
    """The request was cancelled (complete frames are kept; a rerun resumes)."""


def worker_command(executable: str, extra_args: str = "") -> list[str]:
    """The command line that starts a worker.

    Args:
        executable: a Python interpreter that has the ``inkpaint`` package (``.../bin/python``), or the ``inkpaint``
            console script itself. Empty: ``$INKPAINT_WORKER_PYTHON``, then ``inkpaint`` on ``PATH``.
        extra_args: extra arguments placed before ``worker`` (e.g. ``-v``).

    Raises:
        WorkerError: nothing usable is configured.
    """
    exe = (executable or "").strip() or os.environ.get("INKPAINT_WORKER_PYTHON", "").strip()
    if not exe:
        found = shutil.which("inkpaint")
        if not found:
            raise WorkerError(
                "no inkpaint worker is configured: set 'Worker executable' in the Inkpaint add-on preferences to the "
                "engine's Python (e.g. /path/to/inkpaint/.venv/bin/python) or its 'inkpaint' command, or set "
                "INKPAINT_WORKER_PYTHON"
            )
        exe = found
    exe = os.path.expanduser(exe)
    if not (os.path.isfile(exe) or shutil.which(exe)):
        raise WorkerError(f"worker executable '{exe}' does not exist (check the Inkpaint add-on preferences)")
    name = os.path.basename(exe).lower()
    extra = extra_args.split() if extra_args else []
    if name.startswith("python") or name.startswith("pypy"):
        return [exe, "-m", "inkpaint.cli", *extra, "worker"]
    return [exe, *extra, "worker"]


class WorkerClient:
    """One running worker process.

    Args:
        command: from :func:`worker_command`.
        env: extra environment variables for the worker.
        ready_timeout: seconds to wait for the ``ready`` event.
    """

    def __init__(self, command: list[str], env: dict[str, str] | None = None, ready_timeout: float = 120.0) -> None:
        self.command = list(command)
        self.env = env or {}
        self.ready_timeout = ready_timeout
        self.proc: subprocess.Popen[str] | None = None
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=60)
        self.info: dict[str, Any] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._backlog: list[dict[str, Any]] = []

    # -- lifetime ------------------------------------------------------------------------------------------------

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> "WorkerClient":
        """Start the process and wait for its ``ready`` event.

        Raises:
            WorkerError: it cannot be started, or it exits / stays silent before ``ready``.
        """
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        # Blender's own Python settings must not leak into the engine's interpreter.
        for key in ("PYTHONHOME", "PYTHONPATH"):
            if key not in self.env:
                env.pop(key, None)
        try:
            self.proc = subprocess.Popen(
                self.command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                bufsize=1,
                env=env,
                creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0) if sys.platform == "win32" else 0,
            )
        except OSError as exc:
            raise WorkerError(f"cannot start the inkpaint worker ({' '.join(self.command)}): {exc}") from exc
        for target, name in ((self._read_stdout, "inkpaint-worker-out"), (self._read_stderr, "inkpaint-worker-err")):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)
        deadline = time.monotonic() + self.ready_timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise WorkerError(f"the inkpaint worker did not start within {self.ready_timeout:g} s", stderr=self.stderr_text())
            try:
                ev = self.events.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            if ev.get("event") == "ready":
                self.info = ev
                return self
            if ev.get("event") == "exit":
                raise WorkerError(
                    f"the inkpaint worker exited before it was ready (exit code {ev.get('returncode')}); "
                    f"command: {' '.join(self.command)}",
                    stderr=self.stderr_text(),
                )
            self._backlog.append(ev)

    def _read_stdout(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.strip()
            if not line:
                continue
            try:
                ev = json.loads(line)
            except ValueError:
                self.stderr_tail.append(f"[stdout] {line}")
                continue
            if isinstance(ev, dict):
                self.events.put(ev)
        rc = self.proc.wait()
        for t in self._threads:
            if t is not threading.current_thread() and t.name.endswith("err"):
                t.join(timeout=2.0)
        self.events.put({"event": "exit", "returncode": rc})

    def _read_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr_tail.append(line.rstrip("\n"))

    def stderr_text(self, lines: int = 20) -> str:
        return "\n".join(list(self.stderr_tail)[-lines:])

    def send(self, request: dict[str, Any]) -> None:
        """Write one request line. Raises :class:`WorkerError` when the worker is gone."""
        if not self.alive or self.proc is None or self.proc.stdin is None:
            raise WorkerError("the inkpaint worker is not running", stderr=self.stderr_text())
        with self._lock:
            try:
                self.proc.stdin.write(json.dumps(request) + "\n")
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError) as exc:
                raise WorkerError(f"lost the inkpaint worker: {exc}", stderr=self.stderr_text()) from exc

    def submit(self, kind: str, **payload: Any) -> str:
        """Send a ``run`` or ``segment`` request; returns its id."""
        rid = f"blender-{os.getpid()}-{next(self._ids)}"
        self.send({"type": kind, "id": rid, **payload})
        return rid

    def cancel(self, rid: str) -> None:
        """Ask the worker to cancel request ``rid`` (ignored when the worker is gone)."""
        try:
            self.send({"type": "cancel", "id": f"{rid}-cancel", "target": rid})
        except WorkerError:
            pass

    def poll(self) -> list[dict[str, Any]]:
        """Events received so far (non-blocking)."""
        out, self._backlog = self._backlog, []
        while True:
            try:
                out.append(self.events.get_nowait())
            except queue.Empty:
                return out

    def close(self, timeout: float = 5.0) -> None:
        """Ask the worker to shut down; kill it if it does not exit in ``timeout`` seconds."""
        if self.proc is None:
            return
        if self.alive:
            try:
                self.send({"type": "shutdown", "id": "shutdown"})
                self.proc.stdin.close()  # type: ignore[union-attr]
            except (WorkerError, OSError):
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        for t in self._threads:
            t.join(timeout=2.0)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=5.0)
            except subprocess.TimeoutExpired:  # pragma: no cover
                pass


def outcome(rid: str, ev: dict[str, Any], client: WorkerClient) -> dict[str, Any] | None:
    """Interpret one event for request ``rid``.

    Returns:
        The ``result`` payload when ``ev`` is the request's result, ``None`` for any event that does not end it.

    Raises:
        WorkerError: the request failed or the worker died.
        WorkerCancelled: the request was cancelled.
    """
    kind = ev.get("event")
    if kind == "exit":
        raise WorkerError(
            f"the inkpaint worker crashed (exit code {ev.get('returncode')}); Blender is fine, run again to restart it",
            stderr=client.stderr_text(),
        )
    if ev.get("id") != rid:
        if kind == "error" and ev.get("fatal"):
            raise WorkerError(_error_text(ev), ev.get("error"), client.stderr_text())
        return None
    if kind == "result":
        return dict(ev.get("result") or {})
    if kind == "error":
        raise WorkerError(_error_text(ev), ev.get("error"), client.stderr_text())
    if kind == "cancelled":
        raise WorkerCancelled(str(ev.get("message", "cancelled")))
    return None


def _error_text(ev: dict[str, Any]) -> str:
    err = ev.get("error") or {}
    msg = str(err.get("message", "unknown error"))
    where = [f"{k} {err[k]}" for k in ("field", "frame", "path") if err.get(k) not in (None, "")]
    prefix = "inkpaint worker crashed: " if ev.get("fatal") else "inkpaint: "
    return prefix + msg + (f" ({', '.join(where)})" if where and not any(str(err[k]) in msg for k in ("field", "path") if err.get(k)) else "")


def run_sync(
    client: WorkerClient,
    kind: str,
    payload: dict[str, Any],
    on_event: Callable[[dict[str, Any]], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """Submit a request and block until it ends (background mode, farm, scripts).

    Args:
        on_event: called with every event of the request (progress, log ...).
        should_cancel: polled a few times a second; when it returns True a cancel is sent.

    Returns:
        The request's ``result`` payload.
    """
    rid = client.submit(kind, **payload)
    cancelled = False
    for ev in iter_events(client):
        if on_event is not None and ev.get("id") == rid:
            on_event(ev)
        res = outcome(rid, ev, client)
        if res is not None:
            return res
        if should_cancel is not None and not cancelled and should_cancel():
            client.cancel(rid)
            cancelled = True
    raise WorkerError("the inkpaint worker stopped answering", stderr=client.stderr_text())  # pragma: no cover


def iter_events(client: WorkerClient, tick: float = 0.2) -> Iterator[dict[str, Any]]:
    """Events as they arrive; yields ``{"event": "tick"}`` every ``tick`` seconds of silence."""
    for ev in client.poll():
        yield ev
    while True:
        try:
            yield client.events.get(timeout=tick)
        except queue.Empty:
            yield {"event": "tick"}
