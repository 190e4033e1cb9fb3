"""A client for ``inkpaint worker``: a child process speaking JSON lines over stdin/stdout.

No Nuke import here: this module only manages the process. One reader thread routes each event to the request
that caused it (by ``id``); a second drains stderr into a bounded tail used in crash messages. When the process
dies, every open request receives a synthetic ``crashed`` event carrying the exit code and the stderr tail, so the
caller reports an error instead of waiting forever.

Event names follow the worker protocol (``core/inkpaint/worker.py``): ``accepted``, ``progress``, ``log``,
``result``, ``error`` (``fatal`` when the worker is going down), ``cancelled``, ``cancelling``.
"""

from __future__ import annotations

import collections
import itertools
import json
import queue
import subprocess
import threading
from collections.abc import Iterator
from typing import IO, Any

TERMINAL_EVENTS = frozenset({"result", "error", "cancelled", "crashed"})


class WorkerError(Exception):
    """The worker could not be started, or answered a request with an error.

    Attributes:
        payload: the worker's ``error`` object (``type``, ``message`` and ``frame``/``path``/``field``).
    """

    def __init__(self, message: str, payload: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.payload = payload or {}


class WorkerCrashed(WorkerError):
    """The worker process died while a request was open."""


class WorkerCancelled(Exception):
    """The request was cancelled; finished frames are kept on disk."""


class Request:
    """One open request: iterate :meth:`events` until a terminal event; :meth:`cancel` asks the worker to stop."""

    def __init__(self, client: WorkerClient, rid: str) -> None:
        self.client = client
        self.id = rid
        self.queue: queue.Queue[dict[str, Any]] = queue.Queue()
        self.done = False

    def events(self, timeout: float | None = None) -> Iterator[dict[str, Any]]:
        """Yield events until (and including) the terminal one.

        Args:
            timeout: seconds to wait for each event; ``None`` waits forever. On timeout a ``timeout`` event is
                yielded (not terminal), so a caller can poll a cancel button between events.
        """
        while not self.done:
            try:
                ev = self.queue.get(timeout=timeout)
            except queue.Empty:
                yield {"event": "timeout", "id": self.id}
                continue
            if ev.get("event") in TERMINAL_EVENTS:
                self.done = True
                self.client._forget(self.id)
            yield ev

    def cancel(self) -> None:
        """Ask the worker to cancel this request (a no-op once it has finished)."""
        if not self.done:
            self.client.send({"type": "cancel", "target": self.id})

    def wait(self, timeout: float | None = None) -> dict[str, Any]:
        """Wait for the result payload.

        Raises:
            WorkerError / WorkerCrashed: the worker reported an error or died.
            WorkerCancelled: the request was cancelled.
        """
        for ev in self.events(timeout):
            kind = ev.get("event")
            if kind == "result":
                return dict(ev.get("result") or {})
            if kind in ("error", "crashed", "cancelled"):
                raise_for_event(ev)
        raise WorkerError(f"request {self.id} ended without a result")


def raise_for_event(ev: dict[str, Any]) -> None:
    """Raise the exception a terminal ``error``/``crashed``/``cancelled`` event stands for."""
    kind = ev.get("event")
    if kind == "cancelled":
        raise WorkerCancelled(str(ev.get("message") or "cancelled"))
    if kind == "crashed":
        raise WorkerCrashed(str(ev.get("message")), ev)
    err = dict(ev.get("error") or {})
    message = str(err.get("message") or "unknown error")
    if ev.get("fatal"):
        raise WorkerCrashed(f"the inkpaint worker crashed: {err.get('type', 'Error')}: {message}", err)
    raise WorkerError(message, err)


class WorkerClient:
    """Starts and talks to one worker process.

    Args:
        command: the command line that starts ``inkpaint worker``.
        env: its environment.
        start_timeout: seconds to wait for the ``ready`` event.
    """

    def __init__(self, command: list[str], env: dict[str, str] | None = None, start_timeout: float = 60.0) -> None:
        self.command = list(command)
        self.env = env
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen[str] | None = None
        self.info: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._requests: dict[str, Request] = {}
        self._ids = itertools.count(1)
        self._stderr: collections.deque[str] = collections.deque(maxlen=40)
        self._ready: queue.Queue[dict[str, Any]] = queue.Queue()
        self._threads: list[threading.Thread] = []

    # -- lifecycle -----------------------------------------------------------------------------------------------

    def start(self) -> WorkerClient:
        """Start the process and wait for ``ready``.

        Raises:
            WorkerError: the command cannot be run, or the worker exits/stalls before it is ready (with its stderr).
        """
        try:
            self.proc = subprocess.Popen(
                self.command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                bufsize=1,
                env=self.env,
            )
        except OSError as exc:
            raise WorkerError(f"cannot start the inkpaint worker {self.command!r}: {exc}") from exc
        assert self.proc.stdout is not None and self.proc.stderr is not None
        for target, stream, name in ((self._read_events, self.proc.stdout, "inkpaint-events"), (self._read_stderr, self.proc.stderr, "inkpaint-stderr")):
            t = threading.Thread(target=target, args=(stream,), name=name, daemon=True)
            t.start()
            self._threads.append(t)
        try:
            ev = self._ready.get(timeout=self.start_timeout)
        except queue.Empty:
            self.close(kill=True)
            raise WorkerError(f"the inkpaint worker {self.command!r} did not start within {self.start_timeout:g} s{self._stderr_text()}") from None
        if ev.get("event") != "ready":
            for t in self._threads:
                t.join(timeout=2.0)  # let the stderr reader catch the worker's last words
            self.close(kill=True)
            raise WorkerError(f"the inkpaint worker {self.command!r} exited before it was ready (exit code {ev.get('returncode')}){self._stderr_text()}")
        self.info = ev
        return self

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def close(self, kill: bool = False, timeout: float = 5.0) -> None:
        """Shut the worker down (politely unless ``kill``); open requests get a ``crashed`` event."""
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None and not kill:
            try:
                self.send({"type": "shutdown", "id": "shutdown"})
                assert proc.stdin is not None
                proc.stdin.close()
                proc.wait(timeout=timeout)
            except (OSError, ValueError, subprocess.TimeoutExpired, WorkerError):
                pass
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=timeout)
        for t in self._threads:
            t.join(timeout=timeout)

    # -- requests ------------------------------------------------------------------------------------------------

    def send(self, message: dict[str, Any]) -> None:
        """Write one request line.

        Raises:
            WorkerCrashed: the process is gone.
        """
        proc = self.proc
        if proc is None or proc.stdin is None or proc.poll() is not None:
            raise WorkerCrashed(f"the inkpaint worker is not running (exit code {proc.returncode if proc else None}){self._stderr_text()}")
        line = json.dumps(message) + "\n"
        with self._lock:
            try:
                proc.stdin.write(line)
                proc.stdin.flush()
            except (OSError, ValueError) as exc:
                raise WorkerCrashed(f"the inkpaint worker stopped reading requests: {exc}{self._stderr_text()}") from exc

    def request(self, kind: str, **payload: Any) -> Request:
        """Send a ``run`` or ``segment`` request; returns a handle to read its events."""
        rid = f"nuke-{next(self._ids)}"
        req = Request(self, rid)
        with self._lock:
            self._requests[rid] = req
        try:
            self.send({"type": kind, "id": rid, **payload})
        except WorkerError:
            self._forget(rid)
            raise
        return req

    def _forget(self, rid: str) -> None:
        with self._lock:
            self._requests.pop(rid, None)

    # -- reader threads ------------------------------------------------------------------------------------------

    def _read_events(self, stream: IO[str]) -> None:
        for line in stream:
            line = line.strip()
            if not line:
                continue
            try:
                ev = json.loads(line)
            except ValueError:
                self._stderr.append(f"(non-protocol output) {line}")
                continue
            if not isinstance(ev, dict):
                continue
            if ev.get("event") == "ready":
                self._ready.put(ev)
                continue
            rid = ev.get("id")
            with self._lock:
                target = self._requests.get(str(rid)) if rid is not None else None
                if target is None and ev.get("event") == "error" and ev.get("fatal"):
                    targets = list(self._requests.values())
                else:
                    targets = [target] if target is not None else []
            for req in targets:
                req.queue.put(ev)
        # EOF: the process is gone (or closing). Tell everyone still waiting.
        proc = self.proc
        code = None
        if proc is not None:
            try:
                code = proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                code = None
        if len(self._threads) > 1:
            self._threads[1].join(timeout=2.0)  # the stderr tail goes into the crash message
        self._ready.put({"event": "exited", "returncode": code})
        with self._lock:
            pending = list(self._requests.values())
        for req in pending:
            req.queue.put({
                "event": "crashed",
                "id": req.id,
                "returncode": code,
                "message": f"the inkpaint worker exited unexpectedly (exit code {code}){self._stderr_text()}",
            })

    def _read_stderr(self, stream: IO[str]) -> None:
        for line in stream:
            self._stderr.append(line.rstrip("\n"))

    def _stderr_text(self) -> str:
        tail = [l for l in list(self._stderr) if l.strip()][-12:]
        return (":\n" + "\n".join(tail)) if tail else ""

    @property
    def stderr_tail(self) -> list[str]:
        return list(self._stderr)


_shared: WorkerClient | None = None
_shared_lock = threading.Lock()


def shared_client(command: list[str], env: dict[str, str] | None = None) -> WorkerClient:
    """The session's worker (models stay loaded between requests); restarted when it has died or the command
    changed."""
    global _shared
    with _shared_lock:
        if _shared is not None and (not _shared.alive or _shared.command != list(command)):
            _shared.close(kill=not _shared.alive)
            _shared = None
        if _shared is None:
            _shared = WorkerClient(command, env).start()
        return _shared


def shutdown_shared() -> None:
    """Stop the session's worker (called when Nuke exits, and by tests)."""
    global _shared
    with _shared_lock:
        if _shared is not None:
            _shared.close()
            _shared = None
