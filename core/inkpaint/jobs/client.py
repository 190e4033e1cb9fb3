"""The one worker client the hosts use: starts ``inkpaint worker`` and speaks JSON lines with it. Stdlib only.

Nuke (``nuke_plugin/inkpaint_nuke/worker_client.py``) and Blender (``blender_addon/worker_client.py``) import this
module; neither has a client of its own. A reader thread reads the worker's events; a second drains stderr into a
bounded tail used in crash messages.

Two ways to read events, one per host style:

- per request (Nuke): :meth:`WorkerClient.request` returns a :class:`Request`; iterate :meth:`Request.events` or
  call :meth:`Request.wait`.
- one queue (Blender's timer, scripts): :meth:`WorkerClient.submit` returns the id; :meth:`WorkerClient.poll`
  drains every event so far, :func:`outcome` says whether one ends the request; :func:`run_sync` blocks.

Either way a request always ends: with its ``result``, ``error`` or ``cancelled`` event, a fatal ``error`` (the
worker crashed; it ends every open request), or, when the process dies without a word, a synthetic ``crashed``
event (``returncode`` and the stderr tail in ``message``). The worker's ``ready`` event must carry this package's
:data:`~.protocol.PROTOCOL_VERSION`; otherwise :meth:`WorkerClient.start` fails with a message saying so.

The worker executable comes from the host's setting, else :data:`~.protocol.WORKER_ENV` (``INKPAINT_WORKER``),
else the deprecated ``INKPAINT_WORKER_PYTHON``, else ``inkpaint`` on ``PATH`` (:func:`find_worker`).
"""

from __future__ import annotations

import collections
import itertools
import json
import os
import queue
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import warnings
from typing import IO, Any, Callable, Dict, Iterator, List, Optional, Tuple

from .protocol import END_EVENTS, WORKER_ENV, WORKER_ENV_DEPRECATED, Event, ProtocolError, check_ready

CRASHED = "crashed"
"""The synthetic event a request gets when the worker process dies without ending it."""
TERMINAL_EVENTS = END_EVENTS | {CRASHED}


class WorkerError(RuntimeError):
    """The worker could not be started, answered a request with an error, or died.

    Attributes:
        payload: the worker's ``error`` object (``type``, ``message`` and ``frame``/``path``/``field``).
        stderr: the last lines the worker wrote to stderr (crashes).
    """

    def __init__(self, message: str, payload: Optional[Dict[str, Any]] = None, stderr: str = "") -> None:
        super().__init__(message)
        self.payload = dict(payload or {})
        self.stderr = stderr


class WorkerCrashed(WorkerError):
    """The worker process died while a request was open."""


class WorkerCancelled(RuntimeError):
    """The request was cancelled; finished frames are kept on disk (a rerun resumes)."""


# ----------------------------------------------------------------------------------------------------------------
# Which worker


def find_worker(setting: str = "", *, where: str = "the plug-in's preferences") -> Tuple[str, str]:
    """The worker setting to use and where it came from.

    Args:
        setting: the host's own setting (preferences); wins when not empty.
        where: how to name the host's setting in the error message.

    Returns:
        ``(value, source)``: ``value`` for :func:`worker_command`; ``source`` names its origin for messages.

    Raises:
        WorkerError: nothing is configured (the message says what to set).
    """
    if setting and setting.strip():
        return setting.strip(), where
    value = os.environ.get(WORKER_ENV, "").strip()
    if value:
        return value, f"${WORKER_ENV}"
    for old in WORKER_ENV_DEPRECATED:
        value = os.environ.get(old, "").strip()
        if value:
            warnings.warn(f"${old} is deprecated; set ${WORKER_ENV} instead", DeprecationWarning, stacklevel=2)
            return value, f"${old} (deprecated: use ${WORKER_ENV})"
    found = shutil.which("inkpaint")
    if found:
        return found, "PATH"
    raise WorkerError(
        "no inkpaint worker is configured: set the worker in " + where + " to the engine's Python "
        "(e.g. /path/to/inkpaint/.venv/bin/python) or its 'inkpaint' command, or set the environment variable "
        f"{WORKER_ENV}"
    )


def worker_command(value: str, extra_args: str = "") -> List[str]:
    """Turn a worker setting into the command that starts the worker.

    ``/venv/bin/python`` -> ``[/venv/bin/python, -m, inkpaint.cli, worker]``; ``/venv/bin/inkpaint`` ->
    ``[/venv/bin/inkpaint, worker]``; a command with arguments (``ssh render1 inkpaint worker``) is split as a
    shell would and used as it is. ``extra_args`` go before ``worker`` (e.g. ``-v``).

    Raises:
        WorkerError: the setting is empty.
    """
    text = (value or "").strip()
    if not text:
        raise WorkerError(f"the inkpaint worker setting is empty; set {WORKER_ENV}")
    text = os.path.expanduser(text)
    parts = [text] if os.path.exists(text) else shlex.split(text, posix=os.name != "nt")
    if len(parts) > 1:
        return parts
    exe = parts[0]
    extra = extra_args.split() if extra_args else []
    base = os.path.basename(exe).lower()
    if base.startswith(("python", "pypy")):
        return [exe, "-m", "inkpaint.cli", *extra, "worker"]
    return [exe, *extra, "worker"]


def worker_environment(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """The environment a worker starts with: the host's, minus what would point the worker's Python at the host's
    interpreter and libraries (``PYTHONHOME``, ``PYTHONPATH``, ``PYTHONSTARTUP``, ``PYTHONEXECUTABLE``), plus
    ``extra``, unbuffered."""
    env = dict(os.environ)
    for key in ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONEXECUTABLE"):
        env.pop(key, None)
    env.update(extra or {})
    env["PYTHONUNBUFFERED"] = "1"
    return env


def farm_command(worker_cmd: List[str]) -> List[str]:
    """``inkpaint farm`` through the worker's own command (``[py, -m, inkpaint.cli, worker]`` -> ``[..., farm]``).

    Raises:
        WorkerError: the worker command does not end in ``worker`` (a custom command line).
    """
    if not worker_cmd or worker_cmd[-1] != "worker":
        raise WorkerError(f"cannot run 'inkpaint farm' through the worker command {worker_cmd!r}")
    return list(worker_cmd[:-1]) + ["farm"]


def farm_environment_args(worker_cmd: List[str]) -> List[str]:
    """``--env-venv <venv>`` when the worker is a virtual environment's Python or inkpaint (farm workers then use the
    same venv path: shared storage), else nothing (``inkpaint`` on the farm's PATH)."""
    exe = worker_cmd[0] if worker_cmd else ""
    venv = os.path.dirname(os.path.dirname(os.path.abspath(exe))) if os.path.isabs(exe) else ""
    return ["--env-venv", venv] if venv and os.path.isfile(os.path.join(venv, "pyvenv.cfg")) else []


def save_farm_bundle(job: Dict[str, Any], out_dir: str, worker_cmd: List[str], *, chunk: Optional[int] = None,
                     validate: bool = True, timeout: float = 300.0) -> Dict[str, Any]:
    """What both hosts' "Save farm bundle" does: write ``job`` as ``out_dir/spec.json`` (temp file + rename) and run
    ``inkpaint farm bundle`` on it through the worker's executable (:func:`farm_command`, with
    :func:`farm_environment_args`); ``chunk`` (when given) sets frames per render task, checked by the engine.

    Returns:
        The engine's summary (``bundle``, ``template``, ``steps``, ``frames``, ``chunk``, ``notes``).

    Raises:
        WorkerError: the engine could not be started, or it refused the job (its last stderr line, naming the field).
    """
    os.makedirs(out_dir, exist_ok=True)
    spec = os.path.join(out_dir, "spec.json")
    fd, tmp = tempfile.mkstemp(prefix=".spec.", suffix=".json", dir=out_dir)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(job, fh, indent=2)
    os.replace(tmp, spec)
    cmd = farm_command(worker_cmd) + ["bundle", spec, "--out", out_dir] + farm_environment_args(worker_cmd)
    if chunk is not None:
        cmd += ["--chunk", str(chunk)]
    if validate:
        cmd.append("--validate")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except OSError as exc:
        raise WorkerError(f"cannot start {cmd[0]!r} to write the farm bundle: {exc}") from exc
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        raise WorkerError(f"farm bundle not written: {lines[-1] if lines else f'exit {proc.returncode}'}")
    return dict(json.loads(proc.stdout))


# ----------------------------------------------------------------------------------------------------------------
# The client


class Request:
    """One open request (per-request mode): iterate :meth:`events` until a terminal event; :meth:`cancel` stops it."""

    def __init__(self, client: "WorkerClient", rid: str) -> None:
        self.client = client
        self.id = rid
        self.queue: "queue.Queue[Dict[str, Any]]" = queue.Queue()
        self.done = False

    def events(self, timeout: Optional[float] = None) -> Iterator[Dict[str, Any]]:
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
            if ev.get("event") in TERMINAL_EVENTS or (ev.get("event") == "error" and ev.get("fatal")):
                self.done = True
                self.client._forget(self.id)
            yield ev

    def cancel(self) -> None:
        """Ask the worker to cancel this request (a no-op once it has finished)."""
        if not self.done:
            self.client.cancel(self.id)

    def wait(self, timeout: Optional[float] = None) -> Dict[str, Any]:
        """Wait for the result payload.

        Raises:
            WorkerError / WorkerCrashed: the worker reported an error or died.
            WorkerCancelled: the request was cancelled.
        """
        for ev in self.events(timeout):
            if ev.get("event") == "result":
                return dict(ev.get("result") or {})
            if ev.get("event") in TERMINAL_EVENTS:
                raise_for_event(ev, self.client)
        raise WorkerError(f"request {self.id} ended without a result")


def error_text(ev: Dict[str, Any]) -> str:
    """The message of an ``error`` event, with the field/frame/file it names when the message does not."""
    err = ev.get("error") or {}
    msg = str(err.get("message") or "unknown error")
    where = [f"{k} {err[k]}" for k in ("field", "frame", "path") if err.get(k) not in (None, "")]
    if where and not any(str(err[k]) in msg for k in ("field", "path") if err.get(k)):
        msg += f" ({', '.join(where)})"
    if ev.get("fatal"):
        return f"the inkpaint worker crashed: {err.get('type', 'Error')}: {msg}"
    return msg


def raise_for_event(ev: Dict[str, Any], client: Optional["WorkerClient"] = None) -> None:
    """Raise the exception a terminal ``error``/``crashed``/``cancelled`` event stands for."""
    kind = ev.get("event")
    stderr = client.stderr_text() if client is not None else ""
    if kind == "cancelled":
        raise WorkerCancelled(str(ev.get("message") or "cancelled"))
    if kind == CRASHED:
        raise WorkerCrashed(str(ev.get("message")), ev, stderr)
    err = dict(ev.get("error") or {})
    if ev.get("fatal"):
        raise WorkerCrashed(error_text(ev), err, stderr)
    raise WorkerError(error_text(ev), err, stderr)


class WorkerClient:
    """Starts and talks to one worker process.

    Args:
        command: the command line that starts ``inkpaint worker`` (:func:`worker_command`).
        env: its environment (default :func:`worker_environment`).
        start_timeout: seconds to wait for the ``ready`` event.
        id_prefix: request ids are ``<prefix>-<n>`` (names the host in the worker's log).
        per_request: route events to :class:`Request` handles (:meth:`request`); ``False`` puts every event on
            one queue read with :meth:`poll` (:meth:`submit`).
    """

    def __init__(self, command: List[str], env: Optional[Dict[str, str]] = None, start_timeout: float = 60.0,
                 id_prefix: str = "host", per_request: bool = True) -> None:
        self.command = list(command)
        self.env = env
        self.start_timeout = start_timeout
        self.id_prefix = id_prefix
        self.per_request = per_request
        self.proc: Optional["subprocess.Popen[str]"] = None
        self.info: Dict[str, Any] = {}
        self.events: "queue.Queue[Dict[str, Any]]" = queue.Queue()
        self._lock = threading.Lock()
        self._requests: Dict[str, Request] = {}
        self._open: set = set()
        self._ids = itertools.count(1)
        self._stderr: "collections.deque[str]" = collections.deque(maxlen=60)
        self._ready: "queue.Queue[Dict[str, Any]]" = queue.Queue()
        self._threads: List[threading.Thread] = []

    # -- lifecycle -----------------------------------------------------------------------------------------------

    def start(self) -> "WorkerClient":
        """Start the process and wait for ``ready`` (and check its protocol version).

        Raises:
            WorkerError: the command cannot be run, the worker exits/stalls before it is ready (with its stderr),
                or it speaks another protocol version.
        """
        try:
            self.proc = subprocess.Popen(
                self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                encoding="utf-8", bufsize=1, env=self.env if self.env is not None else worker_environment(),
                creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0) if sys.platform == "win32" else 0,
            )
        except OSError as exc:
            raise WorkerError(f"cannot start the inkpaint worker {self.command!r}: {exc}") from exc
        assert self.proc.stdout is not None and self.proc.stderr is not None
        for target, stream, name in ((self._read_events, self.proc.stdout, "inkpaint-events"),
                                     (self._read_stderr, self.proc.stderr, "inkpaint-stderr")):
            t = threading.Thread(target=target, args=(stream,), name=name, daemon=True)
            t.start()
            self._threads.append(t)
        try:
            ev = self._ready.get(timeout=self.start_timeout)
        except queue.Empty:
            self.close(kill=True)
            raise WorkerError(f"the inkpaint worker {self.command!r} did not start within {self.start_timeout:g} s"
                              f"{self._stderr_suffix()}", stderr=self.stderr_text()) from None
        if ev.get("event") != "ready":
            for t in self._threads:
                t.join(timeout=2.0)  # let the stderr reader catch the worker's last words
            self.close(kill=True)
            raise WorkerError(f"the inkpaint worker {self.command!r} exited before it was ready (exit code "
                              f"{ev.get('returncode')}){self._stderr_suffix()}", stderr=self.stderr_text())
        try:
            check_ready(Event(event="ready", id=None, data=ev), worker=f"the inkpaint worker {self.command!r}")
        except ProtocolError as exc:
            self.close(kill=True)
            raise WorkerError(str(exc), {"type": "ProtocolError", "message": str(exc)}) from None
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
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:  # pragma: no cover
                pass
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(timeout=timeout)

    def kill(self) -> None:
        """Stop the worker at once."""
        self.close(kill=True, timeout=5.0)

    # -- requests ------------------------------------------------------------------------------------------------

    def send(self, message: Dict[str, Any]) -> None:
        """Write one request line.

        Raises:
            WorkerCrashed: the process is gone.
        """
        proc = self.proc
        if proc is None or proc.stdin is None or proc.poll() is not None:
            raise WorkerCrashed(f"the inkpaint worker is not running (exit code {proc.returncode if proc else None})"
                                f"{self._stderr_suffix()}", stderr=self.stderr_text())
        line = json.dumps(message) + "\n"
        with self._lock:
            try:
                proc.stdin.write(line)
                proc.stdin.flush()
            except (OSError, ValueError) as exc:
                raise WorkerCrashed(f"the inkpaint worker stopped reading requests: {exc}{self._stderr_suffix()}",
                                    stderr=self.stderr_text()) from exc

    def _new_id(self) -> str:
        return f"{self.id_prefix}-{next(self._ids)}"

    def request(self, kind: str, **payload: Any) -> Request:
        """Send a ``run`` or ``segment`` request; returns a handle to read its events (per-request mode)."""
        rid = self._new_id()
        req = Request(self, rid)
        self._send_new(rid, kind, payload, req)
        return req

    def submit(self, kind: str, **payload: Any) -> str:
        """Send a ``run`` or ``segment`` request; returns its id (read its events with :meth:`poll`)."""
        rid = self._new_id()
        self._send_new(rid, kind, payload, None)
        return rid

    def _send_new(self, rid: str, kind: str, payload: Dict[str, Any], req: Optional[Request]) -> None:
        """Register request ``rid`` as open (with its handle in per-request mode) and send it; forgotten again if the
        send fails."""
        with self._lock:
            if req is not None:
                self._requests[rid] = req
            self._open.add(rid)
        try:
            self.send({**payload, "type": kind, "id": rid})
        except WorkerError:
            self._forget(rid)
            raise

    def cancel(self, rid: str) -> None:
        """Ask the worker to cancel request ``rid`` (ignored when the worker is gone)."""
        try:
            self.send({"type": "cancel", "id": f"{rid}-cancel", "target": rid})
        except WorkerError:
            pass

    def poll(self) -> List[Dict[str, Any]]:
        """Events received so far on the shared queue (non-blocking)."""
        out = []
        while True:
            try:
                out.append(self.events.get_nowait())
            except queue.Empty:
                return out

    def _forget(self, rid: str) -> None:
        with self._lock:
            self._requests.pop(rid, None)
            self._open.discard(rid)

    # -- reader threads ------------------------------------------------------------------------------------------

    def _deliver(self, ev: Dict[str, Any]) -> None:
        rid = ev.get("id")
        kind = ev.get("event")
        fatal = kind == "error" and bool(ev.get("fatal"))
        with self._lock:
            if rid is not None and (kind in END_EVENTS) and not self.per_request:
                self._open.discard(str(rid))
            if fatal:
                self._open.clear()
            if not self.per_request:
                targets: List[Request] = []
            else:
                target = self._requests.get(str(rid)) if rid is not None else None
                targets = list(self._requests.values()) if target is None and fatal else ([target] if target else [])
        if not self.per_request:
            self.events.put(ev)
        for req in targets:
            req.queue.put(ev)

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
            if ev.get("event") == "ready" and not self.info:
                self._ready.put(ev)
                continue
            self._deliver(ev)
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
        message = f"the inkpaint worker crashed: it exited unexpectedly (exit code {code}){self._stderr_suffix()}"
        with self._lock:
            pending = list(self._requests.values())
            open_ids = sorted(self._open)
            self._open.clear()
        for req in pending:
            req.queue.put({"event": CRASHED, "id": req.id, "returncode": code, "message": message})
        if not self.per_request:
            for rid in open_ids:
                self.events.put({"event": CRASHED, "id": rid, "returncode": code, "message": message})
            self.events.put({"event": CRASHED, "id": None, "returncode": code, "message": message})

    def _read_stderr(self, stream: IO[str]) -> None:
        for line in stream:
            self._stderr.append(line.rstrip("\n"))

    def stderr_text(self, lines: int = 20) -> str:
        """The last ``lines`` non-blank lines the worker wrote to stderr."""
        return "\n".join([ln for ln in list(self._stderr) if ln.strip()][-lines:])

    def _stderr_suffix(self) -> str:
        tail = self.stderr_text(12)
        return (":\n" + tail) if tail else ""

    @property
    def stderr_tail(self) -> List[str]:
        return list(self._stderr)


# ----------------------------------------------------------------------------------------------------------------
# One-queue helpers (Blender's timer, background mode, scripts)


def outcome(rid: str, ev: Dict[str, Any], client: WorkerClient) -> Optional[Dict[str, Any]]:
    """Interpret one event for request ``rid`` (one-queue mode).

    Returns:
        The ``result`` payload when ``ev`` is the request's result, ``None`` for any event that does not end it.

    Raises:
        WorkerError / WorkerCrashed: the request failed or the worker died (a fatal error or ``crashed`` event,
            whichever request it names).
        WorkerCancelled: the request was cancelled.
    """
    kind = ev.get("event")
    if kind == CRASHED or (kind == "error" and ev.get("fatal")):
        raise_for_event(ev, client)
    if ev.get("id") != rid:
        return None
    if kind == "result":
        return dict(ev.get("result") or {})
    if kind in ("error", "cancelled"):
        raise_for_event(ev, client)
    return None


def iter_events(client: WorkerClient, tick: float = 0.2) -> Iterator[Dict[str, Any]]:
    """Events as they arrive (one-queue mode); yields ``{"event": "tick"}`` every ``tick`` seconds of silence."""
    while True:
        try:
            yield client.events.get(timeout=tick)
        except queue.Empty:
            yield {"event": "tick"}


def run_sync(client: WorkerClient, kind: str, payload: Dict[str, Any],
             on_event: Optional[Callable[[Dict[str, Any]], None]] = None,
             should_cancel: Optional[Callable[[], bool]] = None) -> Dict[str, Any]:
    """Submit a request and block until it ends (one-queue mode).

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
    raise WorkerError("the inkpaint worker stopped answering")  # pragma: no cover


# ----------------------------------------------------------------------------------------------------------------
# The session's shared worker


_shared: Optional[WorkerClient] = None
_shared_lock = threading.Lock()


def shared_client(command: List[str], env: Optional[Dict[str, str]] = None, **kwargs: Any) -> WorkerClient:
    """The session's worker (models stay loaded between requests); restarted when it has died or the command
    changed."""
    global _shared
    with _shared_lock:
        if _shared is not None and (not _shared.alive or _shared.command != list(command)):
            _shared.close(kill=not _shared.alive)
            _shared = None
        if _shared is None:
            _shared = WorkerClient(command, env, **kwargs).start()
        return _shared


def shutdown_shared() -> None:
    """Stop the session's worker (host exit, tests)."""
    global _shared
    with _shared_lock:
        if _shared is not None:
            _shared.close()
            _shared = None



__all__ = [
    "CRASHED", "TERMINAL_EVENTS", "WorkerError", "WorkerCrashed", "WorkerCancelled", "find_worker", "worker_command",
    "worker_environment", "Request", "WorkerClient", "error_text", "raise_for_event", "outcome", "iter_events",
    "run_sync", "shared_client", "shutdown_shared", "farm_command", "farm_environment_args", "save_farm_bundle",
]
