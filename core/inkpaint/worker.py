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
import hashlib
import json
import logging
import os
import queue
import re
import shutil
import sys
import tempfile
import threading
import traceback
from collections.abc import Iterator
from typing import IO, Any, NoReturn

import numpy as np

from . import __version__
from .allocator import tune_allocator
from .errors import CancelledError, InkpaintError, SpecError
from .jobs.protocol import PROTOCOL_VERSION
from .progress import CancelToken, ProgressEvent, RunContext


EXIT_HOST_GONE = 4
"""Exit status when the protocol stream (stdout) is closed or broken: nobody is listening, so the worker stops,
freeing its models, instead of waiting on stdin."""

MAX_LINE_ENV = "INKPAINT_WORKER_MAX_LINE"
DEFAULT_MAX_LINE = 16 << 20
"""Longest request line read (bytes, 16 MiB; ``$INKPAINT_WORKER_MAX_LINE`` overrides). A longer line is skipped
without being held in memory and answered with a ``ProtocolError``."""


def max_line() -> int:
    """The request-line length limit in bytes."""
    try:
        return max(1024, int(os.environ.get(MAX_LINE_ENV, "") or DEFAULT_MAX_LINE))
    except ValueError:
        return DEFAULT_MAX_LINE


class EventWriter:
    """Writes one JSON object per line to the protocol stream, thread-safely.

    A failed write (the host closed the pipe) calls ``on_broken`` (by default: say so on stderr and exit with
    :data:`EXIT_HOST_GONE`), whichever thread was sending.
    """

    def __init__(self, stream: IO[str], on_broken: Any = None) -> None:
        self.stream = stream
        self.lock = threading.Lock()
        self.on_broken = on_broken or _host_gone

    def send(self, event: str, id: str | None = None, **payload: Any) -> None:
        msg: dict[str, Any] = {"event": event}
        if id is not None:
            msg["id"] = id
        msg.update(payload)
        line = json.dumps(msg, default=_json_default)
        with self.lock:
            try:
                self.stream.write(line + "\n")
                self.stream.flush()
            except (OSError, ValueError) as exc:  # BrokenPipeError, or the stream was closed
                self.on_broken(exc)


def _host_gone(exc: BaseException) -> NoReturn:
    """The protocol stream is gone: nothing can be reported any more; exit at once with :data:`EXIT_HOST_GONE`."""
    try:
        sys.stderr.write(f"inkpaint worker: the host closed the protocol stream ({type(exc).__name__}: {exc}); exiting\n")
        sys.stderr.flush()
    except BaseException:  # noqa: BLE001
        pass
    os._exit(EXIT_HOST_GONE)


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
        self.writer.on_broken = self._host_gone
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
            for line in _request_lines(stdin, max_line()):
                if self.fatal is not None:
                    break
                if isinstance(line, Exception):
                    self.writer.send("error", None, error={"type": "ProtocolError", "message": f"bad request line: {line}"})
                    continue
                line = line.strip()
                if not line:
                    continue
                try:
                    req = json.loads(line)
                    if not isinstance(req, dict):
                        raise ValueError("a request must be a JSON object")
                except RecursionError:
                    self.writer.send("error", None, error={"type": "ProtocolError", "message": "bad request line: nested too deeply"})
                    continue
                except ValueError as exc:
                    self.writer.send("error", None, error={"type": "ProtocolError", "message": f"bad request line: {str(exc)[:300]}"})
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

    def _host_gone(self, exc: BaseException) -> NoReturn:
        shutil.rmtree(self.tmpdir, ignore_errors=True)
        _host_gone(exc)

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
            except (MemoryError, RecursionError) as exc:  # an input too large or too deep: fails this request only
                event = ("error", {"error": {"type": type(exc).__name__, "message": f"the request needs more memory or depth than there is: {str(exc)[:300] or type(exc).__name__}"}})
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

        sreq = SegmentRequest.from_dict({k: v for k, v in req.items() if k != "overwrite"})
        if sreq.output:
            out = sreq.output
            check_segment_output(out, bool(req.get("overwrite", False)))
        else:
            out = os.path.join(self.tmpdir, f"segment-{safe_name(str(req['id']))}.exr")
        backend = self.backend(sreq.backend, sreq.backend_options)
        return run_segment(sreq, backend, out)


SEGMENT_OUTPUT_KEY = "inkpaint:segment_output"
"""Header attribute of a ``segment`` mask: the absolute path it was written to (a later request may replace it)."""


def safe_name(text: str, limit: int = 64) -> str:
    """``text`` made a safe file-name part: letters, digits, ``-`` and ``_`` kept, the rest ``_``; when anything was
    changed or cut, a short hash of the original is appended so distinct ids stay distinct."""
    clean = re.sub(r"[^A-Za-z0-9_-]", "_", text)[:limit]
    if clean != text or not clean:
        clean = f"{clean}-{hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()[:12]}"
    return clean


def check_segment_output(path: str, overwrite: bool) -> None:
    """A ``segment`` request's ``output`` is an output like any other: an existing file is replaced only when an
    earlier ``segment`` request wrote it there (its header says so) or the request says ``"overwrite": true``.

    Raises:
        OutputExistsError: the file exists and was written by a job or another program.
        OutputError: the path is not an ``.exr`` file path.
    """
    from .errors import OutputError, OutputExistsError
    from .io.frames import read_attributes

    if not str(path).lower().endswith(".exr"):
        raise OutputError(f"segment output '{path}' must be an .exr file path")
    if os.path.isdir(path):
        raise OutputError(f"segment output '{path}' is a folder")
    if not os.path.lexists(path) or overwrite:
        return
    try:
        attrs = read_attributes(path)
    except InkpaintError:
        attrs = {}
    if attrs.get(SEGMENT_OUTPUT_KEY) != os.path.abspath(path):
        raise OutputExistsError(
            f"segment output '{path}' exists and was not written by a segment request (a job's frame or another "
            "program's file); choose another path or send \"overwrite\": true")


def _request_lines(stream: IO[Any], limit: int) -> Iterator[str | Exception]:
    """Request lines of ``stream`` (text or binary) as ``str``, at most ``limit`` bytes each held in memory.

    Yields an exception instead of a line for a line that is too long (its rest is read and dropped in pieces) or
    not UTF-8; the stream goes on.
    """
    src = getattr(stream, "buffer", stream)
    while True:
        line = src.readline(limit + 1)
        if not line:
            return
        nl = b"\n" if isinstance(line, bytes) else "\n"
        if len(line) > limit and not line.endswith(nl):
            while True:  # drop the rest of the line without keeping it
                rest = src.readline(1 << 16)
                if not rest or rest.endswith(nl):
                    break
            yield ValueError(f"longer than {limit} bytes (${MAX_LINE_ENV}); refused")
            continue
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield ValueError(f"not UTF-8 (bad byte at offset {exc.start})")
                continue
        yield line


def serve(stdin: IO[str] | None = None, stdout: IO[str] | None = None) -> int:
    """Run the worker on the process's stdin/stdout. Returns the exit code."""
    proto_out = stdout or sys.stdout
    if stdout is None:
        tune_allocator()  # this process is ours: frame buffers reused across frames (inkpaint/allocator.py)
        # Keep stdout for protocol lines only: route stray prints from libraries to stderr.
        proto_out = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1, encoding="utf-8")
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
        sys.stdout = sys.stderr
    worker = Worker(proto_out)
    return worker.serve(stdin or sys.stdin)
