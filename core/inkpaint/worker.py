"""The inkpaint worker: JSON lines over stdin/stdout, no network sockets.

Hosts (Nuke, Blender, farm wrappers) start ``inkpaint worker`` as a child process, write one JSON request per line
to its stdin and read one JSON event per line from its stdout. See ``docs/worker-protocol.md``.

Jobs and ``segment`` requests run one at a time on a work thread, so ``cancel`` and ``ping`` are answered while a
job runs. Loaded backends (models) are kept between requests. Anything the libraries print goes to stderr, so
stdout carries only protocol lines. An unexpected crash sends an ``error`` event with ``fatal: true`` and the
process exits non-zero; it never hangs the caller. EOF on stdin cancels the running job and exits.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import queue
import shutil
import sys
import tempfile
import threading
import traceback
from typing import IO, Any, NoReturn

import numpy as np

from . import __version__
from .errors import CancelledError, InkpaintError, SpecError
from .jobs.protocol import PROTOCOL_VERSION
from .progress import CancelToken, ProgressEvent, RunContext


class EventWriter:
    """Writes one JSON object per line to the protocol stream, thread-safely."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.lock = threading.Lock()

    def send(self, event: str, id: str | None = None, **payload: Any) -> None:
        msg: dict[str, Any] = {"event": event}
        if id is not None:
            msg["id"] = id
        msg.update(payload)
        line = json.dumps(msg, default=_json_default)
        with self.lock:
            self.stream.write(line + "\n")
            self.stream.flush()


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if dataclasses.is_dataclass(o):
        return dataclasses.asdict(o)  # type: ignore[arg-type]
    return str(o)


class _LogForwarder(logging.Handler):
    """Sends log records as ``log`` events, tagged with the request being served."""

    def __init__(self, writer: EventWriter) -> None:
        super().__init__(logging.INFO)
        self.writer = writer
        self.current: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.writer.send("log", self.current, level=record.levelname.lower(), message=record.getMessage(), logger=record.name)
        except Exception:  # pragma: no cover - never let logging kill the worker
            pass


def error_payload(exc: BaseException) -> dict[str, Any]:
    """The ``error`` field of an error event: type, message, and frame/path/field when the error has them."""
    out: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc)}
    for attr in ("frame", "path", "field"):
        val = getattr(exc, attr, None)
        if val is not None:
            out[attr] = val
    if isinstance(exc, OSError) and exc.filename is not None and "path" not in out:
        out["path"] = str(exc.filename)
    return out


class Worker:
    """Serves requests; see the module docstring."""

    def __init__(self, out: IO[str]) -> None:
        self.writer = EventWriter(out)
        self.tasks: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.cancels: dict[str, CancelToken] = {}
        self.current: str | None = None
        self.backends: dict[str, Any] = {}
        self.tmpdir = tempfile.mkdtemp(prefix="inkpaint-worker-")
        self.log_handler = _LogForwarder(self.writer)
        self.fatal: BaseException | None = None
        self.finish_queued = False

    # -- main loop -----------------------------------------------------------------------------------------------

    def serve(self, stdin: IO[str]) -> int:
        logging.getLogger("inkpaint").addHandler(self.log_handler)
        logging.getLogger("inkpaint").setLevel(logging.INFO)
        thread = threading.Thread(target=self._work_loop, name="inkpaint-work", daemon=True)
        thread.start()
        self.writer.send("ready", version=__version__, protocol=PROTOCOL_VERSION, pid=os.getpid())
        try:
            for line in stdin:
                if self.fatal is not None:
                    break
                line = line.strip()
                if not line:
                    continue
                try:
                    req = json.loads(line)
                    if not isinstance(req, dict):
                        raise ValueError("a request must be a JSON object")
                except ValueError as exc:
                    self.writer.send("error", None, error={"type": "ProtocolError", "message": f"bad request line: {exc}"})
                    continue
                if not self._dispatch(req):
                    break
        except BaseException as exc:  # the reader itself failed: report it and exit non-zero, never hang
            self._fatal(None, exc)
        finally:
            if not self.finish_queued:  # EOF or a plain shutdown: stop what runs, drop what waits
                for tok in list(self.cancels.values()):
                    tok.cancel()
            self.tasks.put(None)
            thread.join()
        shutil.rmtree(self.tmpdir, ignore_errors=True)
        if self.fatal is not None:
            return 3
        return 0

    def _fatal(self, rid: str | None, exc: BaseException) -> NoReturn:
        """Report a crash as a fatal ``error`` event; exit the process with status 3 (never returns)."""
        self.fatal = exc
        try:
            self.writer.send("error", rid, fatal=True, error={**error_payload(exc), "traceback": traceback.format_exc()})
        except BaseException:  # noqa: BLE001 - the pipe may be gone; exiting non-zero is all that is left
            pass
        finally:
            try:
                sys.stderr.write(traceback.format_exc())
                sys.stderr.flush()
            except BaseException:  # noqa: BLE001
                pass
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            os._exit(3)

    def _dispatch(self, req: dict[str, Any]) -> bool:
        rid = str(req.get("id")) if req.get("id") is not None else None
        kind = req.get("type")
        if kind == "ping":
            self.writer.send("pong", rid, version=__version__, protocol=PROTOCOL_VERSION, busy=self.current)
        elif kind == "cancel":
            target = req.get("target", self.current)
            target = str(target) if target is not None else None
            tok = self.cancels.get(target) if target is not None else None
            if tok is not None:
                tok.cancel()
            # found=false: the target already finished (its result/error is on the way or sent) or never existed.
            self.writer.send("cancelling", rid, target=target, found=tok is not None)
        elif kind == "shutdown":
            self.finish_queued = bool(req.get("wait", False))
            self.writer.send("bye", rid, wait=self.finish_queued)
            return False
        elif kind in ("run", "segment"):
            if rid is None:
                self.writer.send("error", None, error={"type": "ProtocolError", "message": f"a {kind!r} request needs an \"id\""})
            elif rid in self.cancels:
                # Sent without an id: that id belongs to the request already under way.
                self.writer.send("error", None, error={"type": "ProtocolError", "message": f"id {rid!r} is already queued or running; use a new id per request"})
            else:
                self.cancels[rid] = CancelToken()
                self.writer.send("accepted", rid, type=kind)
                self.tasks.put(req)
        else:
            self.writer.send("error", rid, error={"type": "ProtocolError", "message": f"unknown request type {kind!r}; known: run, segment, cancel, ping, shutdown"})
        return True

    def _work_loop(self) -> None:
        while True:
            req = self.tasks.get()
            if req is None:
                return
            rid = str(req["id"])
            self.current = rid
            self.log_handler.current = rid
            token = self.cancels[rid]
            event: tuple[str, dict[str, Any]]
            try:
                token.check()
                if req["type"] == "run":
                    result = self._run(rid, req, token)
                else:
                    result = self._segment(req)
                event = ("result", {"result": result})
            except CancelledError as exc:
                event = ("cancelled", {"message": str(exc)})
            except (InkpaintError, OSError) as exc:  # bad input, or the file system refused: the worker carries on
                event = ("error", {"error": error_payload(exc)})
            except BaseException as exc:  # crash: report, then stop the whole worker with a non-zero exit
                self._fatal(rid, exc)
            # The request is over before its last event goes out: a ping answered after it never says busy.
            self.cancels.pop(rid, None)
            self.current = None
            self.log_handler.current = None
            self.writer.send(event[0], rid, **event[1])

    # -- requests ------------------------------------------------------------------------------------------------

    def _run(self, rid: str, req: dict[str, Any], token: CancelToken) -> dict[str, Any]:
        from .ops.base import run_job
        from .spec import load_job

        if "job" not in req:
            raise SpecError("job", "a run request needs a \"job\" (a job spec object, or a path to one)")
        job = load_job(req["job"])

        def sink(ev: ProgressEvent) -> None:
            self.writer.send("progress", rid, **ev.to_dict())

        ctx = RunContext(progress=sink, cancel=token, backend_provider=self.backend)
        return run_job(job, ctx).to_dict()

    def backend(self, name: str, options: dict[str, Any]) -> Any:
        """A cached backend instance (models stay loaded between requests)."""
        from .registry import load_backend

        key = json.dumps([name, options], sort_keys=True)
        if key not in self.backends:
            self.backends[key] = load_backend(name).create_backend(dict(options))
        return self.backends[key]

    def _segment(self, req: dict[str, Any]) -> dict[str, Any]:
        from .segment import SegmentRequest, run_segment

        sreq = SegmentRequest.from_dict(req)
        backend = self.backend(sreq.backend, sreq.backend_options)
        out = sreq.output or os.path.join(self.tmpdir, f"segment-{req['id']}.exr")
        return run_segment(sreq, backend, out)


def serve(stdin: IO[str] | None = None, stdout: IO[str] | None = None) -> int:
    """Run the worker on the process's stdin/stdout. Returns the exit code."""
    proto_out = stdout or sys.stdout
    if stdout is None:
        # Keep stdout for protocol lines only: route stray prints from libraries to stderr.
        proto_out = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1, encoding="utf-8")
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
        sys.stdout = sys.stderr
    worker = Worker(proto_out)
    return worker.serve(stdin or sys.stdin)
