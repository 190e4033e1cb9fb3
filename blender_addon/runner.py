"""Runs worker requests for the operators: blocking in background mode, or on a thread with a timer in the UI.

One worker process is kept per Blender session (loaded models stay warm between requests); it is started on
first use and restarted after a crash. In the UI, the worker's reader thread fills a queue and a
``bpy.app.timers`` callback drains it on the main thread: it updates the progress (window-manager progress and
the status bar), and when the request ends it calls the task's ``on_result`` (which applies results to the
.blend) or reports the error. Esc (handled by the operator's modal loop) sends a cancel.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import bpy

from .props import addon_prefs
from .worker_client import WorkerCancelled, WorkerClient, WorkerError, outcome, run_sync, worker_command

log = logging.getLogger("inkpaint.blender")

_client: WorkerClient | None = None
_active: "Task | None" = None
TIMER_INTERVAL = 0.1


def client(context: bpy.types.Context | None = None) -> WorkerClient:
    """The session's worker, started (or restarted after a crash) on demand.

    Raises:
        WorkerError: no worker is configured or it fails to start.
    """
    global _client
    if _client is not None and _client.alive:
        return _client
    if _client is not None:
        _client.close(timeout=1.0)
    prefs = addon_prefs(context)
    cmd = worker_command(getattr(prefs, "worker_executable", "") if prefs else "", getattr(prefs, "worker_args", "") if prefs else "")
    if prefs is not None and prefs.worker_executable:
        cmd[0] = bpy.path.abspath(cmd[0])
    _client = WorkerClient(cmd).start()
    log.info("inkpaint worker %s started (pid %s)", _client.info.get("version"), _client.info.get("pid"))
    return _client


def shutdown() -> None:
    """Stop the worker (unregister, file load)."""
    global _client, _active
    if _active is not None:
        _active.finish()
    _active = None
    if _client is not None:
        _client.close(timeout=3.0)
    _client = None


def busy() -> bool:
    return _active is not None


class Task:
    """One request in flight in the UI.

    Args:
        kind: ``run`` or ``segment``.
        payload: the request body (``{"job": {...}}`` or the segment fields).
        label: what the status bar shows.
        on_result: called on the main thread with the result payload; may raise to report an error.
        on_end: called on the main thread after the task ends, with ``None`` on success or the error text.
    """

    def __init__(
        self,
        kind: str,
        payload: dict[str, Any],
        label: str,
        on_result: Callable[[dict[str, Any]], None],
        on_end: Callable[[str | None], None] | None = None,
    ) -> None:
        self.kind = kind
        self.payload = payload
        self.label = label
        self.on_result = on_result
        self.on_end = on_end
        self.rid = ""
        self.client: WorkerClient | None = None
        self.done = 0
        self.total = 0
        self.message = ""
        self.error: str | None = None
        self.finished = False
        self.cancel_requested = False
        self.started = time.monotonic()
        self._progress_open = False

    # -- UI feedback ---------------------------------------------------------------------------------------------

    def _status(self, text: str | None) -> None:
        wm = bpy.context.window_manager
        for window in getattr(wm, "windows", []):
            try:
                window.workspace.status_text_set(text)
            except Exception:  # status bar is cosmetic
                pass
        for window in getattr(wm, "windows", []):
            for area in window.screen.areas:
                if area.type == "CLIP_EDITOR":
                    area.tag_redraw()

    def _progress(self) -> None:
        wm = bpy.context.window_manager
        if self.total:
            if not self._progress_open:
                wm.progress_begin(0, 100)
                self._progress_open = True
            wm.progress_update(int(100 * self.done / max(self.total, 1)))
        eta = ""
        self._status(f"Inkpaint {self.label}: {self.done}/{self.total or '?'} {self.message} {eta}(Esc to cancel)")

    def finish(self) -> None:
        if self._progress_open:
            bpy.context.window_manager.progress_end()
            self._progress_open = False
        self._status(None)
        self.finished = True

    # -- events --------------------------------------------------------------------------------------------------

    def handle(self, ev: dict[str, Any]) -> bool:
        """Handle one worker event; returns True when the task has ended."""
        assert self.client is not None
        if ev.get("id") == self.rid and ev.get("event") == "progress":
            self.done = int(ev.get("done", 0))
            self.total = int(ev.get("total", 0))
            frame = ev.get("frame")
            self.message = f"{ev.get('stage', '')}" + (f" frame {frame}" if frame is not None else "") + (f" {ev.get('fps', 0):.1f} fps" if ev.get("fps") else "")
            self._progress()
            return False
        if ev.get("id") == self.rid and ev.get("event") == "log" and ev.get("level") in ("warning", "error"):
            log.warning("inkpaint: %s", ev.get("message"))
        try:
            res = outcome(self.rid, ev, self.client)
        except WorkerCancelled as exc:
            self.error = f"cancelled: {exc}"
            return True
        except WorkerError as exc:
            self.error = describe(exc)
            return True
        if res is None:
            return False
        try:
            self.on_result(res)
        except Exception as exc:  # applying results failed: report, keep Blender working
            log.exception("applying inkpaint results failed")
            self.error = f"applying results failed: {exc}"
        return True


def describe(exc: BaseException) -> str:
    """One readable line (plus the worker's last stderr lines for crashes)."""
    text = str(exc)
    payload = getattr(exc, "payload", None) or {}
    if payload.get("type") == "OutputExistsError":
        text += " In Blender: tick Overwrite in the Inkpaint panel, or pass overwrite='ON' to the operator."
    stderr = getattr(exc, "stderr", "")
    if stderr and "crash" in text:
        last = [ln for ln in stderr.splitlines() if ln.strip()][-3:]
        text += " | " + " | ".join(last)
    return text


def start(context: bpy.types.Context, task: Task) -> Task:
    """Start ``task`` on the worker and drain its events from a timer. Raises :class:`WorkerError`."""
    global _active
    if _active is not None:
        raise WorkerError(f"Inkpaint is already running {_active.label}; wait for it or press Esc to cancel")
    task.client = client(context)
    task.rid = task.client.submit(task.kind, **task.payload)
    _active = task
    task._status(f"Inkpaint {task.label}: starting (Esc to cancel)")
    if not bpy.app.timers.is_registered(_drain):
        bpy.app.timers.register(_drain, first_interval=TIMER_INTERVAL)
    return task


def cancel() -> bool:
    """Cancel the running task; returns False when nothing runs."""
    if _active is None or _active.client is None:
        return False
    _active.cancel_requested = True
    _active.client.cancel(_active.rid)
    return True


def _drain() -> float | None:
    """Timer callback: handle queued worker events on the main thread."""
    global _active
    task = _active
    if task is None or task.client is None:
        return None
    ended = False
    for ev in task.client.poll():
        if task.handle(ev):
            ended = True
            break
    if not ended:
        return TIMER_INTERVAL
    _active = None
    task.finish()
    if task.on_end is not None:
        try:
            task.on_end(task.error)
        except Exception:
            log.exception("inkpaint task end callback failed")
    return None


def run_blocking(
    context: bpy.types.Context, kind: str, payload: dict[str, Any], label: str, report: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Run a request to completion on the calling thread (background mode and scripts). Prints progress lines.

    Raises:
        WorkerError / WorkerCancelled: as :func:`worker_client.run_sync`.
    """
    last = [0.0]

    def on_event(ev: dict[str, Any]) -> None:
        if ev.get("event") == "progress":
            now = time.monotonic()
            if now - last[0] >= 1.0 or ev.get("done") == ev.get("total"):
                last[0] = now
                line = f"Inkpaint {label}: {ev.get('stage')} {ev.get('done')}/{ev.get('total')}"
                if ev.get("frame") is not None:
                    line += f" frame {ev.get('frame')}"
                print(line, flush=True)
                if report:
                    report(line)
        elif ev.get("event") == "log" and ev.get("level") in ("warning", "error"):
            print(f"Inkpaint {label}: {ev.get('level')}: {ev.get('message')}", flush=True)

    return run_sync(client(context), kind, payload, on_event=on_event)


def unregister() -> None:
    if bpy.app.timers.is_registered(_drain):
        bpy.app.timers.unregister(_drain)
    shutdown()
