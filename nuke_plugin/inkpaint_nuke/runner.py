"""Running worker requests from Nuke without freezing it.

In the GUI, requests run on a background thread that owns a ``nuke.ProgressTask`` (progress bar, message, Cancel
button). That thread never touches the node graph: results and errors are handed to the main thread with
``nuke.executeInMainThread``. In terminal mode (``nuke -t``, ``nuke.env['gui']`` false) the same steps run
synchronously and errors raise :class:`InkpaintNukeError`, so a farm script fails loudly.

If the worker process dies, the open request ends with a ``crashed`` event: the user gets an error message, Nuke
carries on, and the next action starts a fresh worker.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any

import nuke

from .settings import SettingsError, load_settings, worker_environment
from .worker_client import WorkerCancelled, WorkerClient, WorkerCrashed, WorkerError, raise_for_event, shared_client

log = logging.getLogger("inkpaint.nuke")


class InkpaintNukeError(Exception):
    """An inkpaint action failed; the message is meant for the user."""


@dataclasses.dataclass
class Step:
    """One worker request: ``kind`` is ``run`` (payload ``{"job": ...}``) or ``segment``."""

    kind: str
    payload: dict[str, Any]
    label: str


@dataclasses.dataclass
class Task:
    """Steps run one after the other for one node.

    Attributes:
        title: the progress bar's title.
        node: the node's full name (the graph is looked up again on the main thread; it may be gone by then).
        steps: the requests.
        on_done: called on the main thread with the node and each step's result payload.
        on_failed: called on the main thread with the node (or None) and the message, after the error is shown.
    """

    title: str
    node: str
    steps: list[Step]
    on_done: Callable[[nuke.Node, list[dict[str, Any]]], None]
    on_failed: Callable[[nuke.Node | None, str], None] | None = None


_running: dict[str, Task] = {}
_running_lock = threading.Lock()
_threads: list[threading.Thread] = []


class _PrintProgress:
    """ProgressTask look-alike for terminal mode: prints a line per update."""

    def __init__(self, title: str) -> None:
        self.title = title
        self._last = ""

    def setProgress(self, value: int) -> None:
        self._pct = value

    def setMessage(self, message: str) -> None:
        if message != self._last:
            print(f"[{self.title}] {message}", file=sys.stderr)
            self._last = message

    def isCancelled(self) -> bool:
        return False


def is_running(node_name: str) -> bool:
    with _running_lock:
        return node_name in _running


def start(task: Task) -> threading.Thread | None:
    """Run ``task``: in the background with a ProgressTask in the GUI, synchronously in terminal mode.

    Returns:
        The background thread (GUI), or ``None`` once a terminal-mode task has finished.

    Raises:
        InkpaintNukeError: terminal mode only, when the task failed; also when the node is already running.
    """
    with _running_lock:
        if task.node in _running:
            raise InkpaintNukeError(f"{task.node} is already running; wait for it or cancel it in the progress bar")
        _running[task.node] = task
    if not nuke.env["gui"]:
        try:
            results = _execute(task, _PrintProgress(task.title))
        except (WorkerError, WorkerCancelled, SettingsError) as exc:
            _failed_main(task, _message(exc))
            raise InkpaintNukeError(_message(exc)) from exc
        finally:
            with _running_lock:
                _running.pop(task.node, None)
        _done_main(task, results)
        return None
    thread = threading.Thread(target=_background, args=(task,), name=f"inkpaint-{task.node}", daemon=True)
    _threads.append(thread)
    thread.start()
    return thread


def _background(task: Task) -> None:
    progress = nuke.ProgressTask(task.title)
    try:
        results = _execute(task, progress)
    except (WorkerError, WorkerCancelled, SettingsError) as exc:
        nuke.executeInMainThread(_failed_main, args=(task, _message(exc)))
    except Exception as exc:  # noqa: BLE001 - a bug must reach the user, not vanish with the thread
        log.error("inkpaint: %s failed:\n%s", task.title, traceback.format_exc())
        nuke.executeInMainThread(_failed_main, args=(task, f"unexpected error: {type(exc).__name__}: {exc}"))
    else:
        nuke.executeInMainThread(_done_main, args=(task, results))
    finally:
        with _running_lock:
            _running.pop(task.node, None)
        del progress  # closes Nuke's progress bar


def _message(exc: BaseException) -> str:
    if isinstance(exc, WorkerCancelled):
        return f"cancelled: {exc}"
    if isinstance(exc, WorkerCrashed):
        return f"{exc}\nNuke is unaffected; the next action starts a new worker."
    return str(exc)


def _execute(task: Task, progress: Any) -> list[dict[str, Any]]:
    settings = load_settings()
    client: WorkerClient = shared_client(settings.worker_command, worker_environment())
    results: list[dict[str, Any]] = []
    n = len(task.steps)
    for i, step in enumerate(task.steps):
        progress.setMessage(f"{step.label}: starting")
        progress.setProgress(int(100 * i / n))
        req = client.request(step.kind, **step.payload)
        cancel_sent = False
        for ev in req.events(timeout=0.2):
            if not cancel_sent and progress.isCancelled():
                req.cancel()
                cancel_sent = True
            kind = ev.get("event")
            if kind == "progress":
                total = int(ev.get("total") or 0)
                done = int(ev.get("done") or 0)
                frac = done / total if total else 0.0
                progress.setProgress(int(100 * (i + frac) / n))
                frame = f", frame {ev['frame']}" if ev.get("frame") is not None else ""
                extra = f" - {ev['message']}" if ev.get("message") else ""
                progress.setMessage(f"{step.label}: {ev.get('stage', '')} {done}/{total}{frame}{extra}")
            elif kind == "log" and ev.get("level") in ("warning", "error"):
                log.warning("inkpaint worker: %s", ev.get("message"))
            elif kind == "result":
                results.append(dict(ev.get("result") or {}))
            elif kind in ("error", "crashed", "cancelled"):
                raise_for_event(ev)
    progress.setProgress(100)
    return results


def _done_main(task: Task, results: list[dict[str, Any]]) -> None:
    node = nuke.toNode(task.node)
    if node is None:
        log.warning("inkpaint: %s was deleted while it ran; results are kept in the cache", task.node)
        return
    task.on_done(node, results)


def _failed_main(task: Task, message: str) -> None:
    node = nuke.toNode(task.node)
    text = f"{task.title}: {message}"
    if nuke.env["gui"]:
        nuke.message(text)
    else:
        print(f"inkpaint: error: {text}", file=sys.stderr)
    if task.on_failed is not None:
        task.on_failed(node, message)


def wait_all(timeout: float | None = None) -> None:
    """Join the background threads started so far (used by tests and by ``nuke -t`` scripts)."""
    for t in list(_threads):
        t.join(timeout)
        if not t.is_alive():
            _threads.remove(t)


def check_settings() -> str:
    """A one-line description of the configured worker (raises :class:`SettingsError` when there is none)."""
    s = load_settings()
    return f"worker: {' '.join(s.worker_command)} (from {s.source}); cache: {s.cache_dir}"
