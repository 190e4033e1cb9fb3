"""Progress reporting and cancellation shared by the CLI, the worker and the hosts."""

from __future__ import annotations

import dataclasses
import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

from .errors import CancelledError


@dataclasses.dataclass
class ProgressEvent:
    """One progress update.

    Attributes:
        stage: what is running (``"roto"``, ``"ink"``, ``"load model"`` ...).
        done: units finished so far (frames, usually).
        total: units in all; 0 when unknown.
        frame: the frame just finished, if any.
        fps: frames per second over this stage so far.
        message: a short human-readable line.
    """

    stage: str
    done: int
    total: int
    frame: int | None = None
    fps: float = 0.0
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class CancelToken:
    """A thread-safe cancel flag. Long loops call :meth:`check` between frames."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raise :class:`CancelledError` when cancelled."""
        if self._event.is_set():
            raise CancelledError("cancelled by the user; complete frames were kept and a rerun resumes")


ProgressSink = Callable[[ProgressEvent], None]


class RunContext:
    """What a running job gets besides its spec: a progress sink, a cancel token and a logger."""

    def __init__(
        self,
        progress: ProgressSink | None = None,
        cancel: CancelToken | None = None,
        log: logging.Logger | None = None,
        backend_provider: Callable[[str, dict[str, Any]], Any] | None = None,
    ) -> None:
        self._sink = progress or (lambda e: None)
        self.backend_provider = backend_provider
        """Returns a (possibly cached, shared) roto backend for ``(name, options)``; ``None``: jobs create their own."""
        self.cancel = cancel or CancelToken()
        self.log = log or logging.getLogger("inkpaint")
        self._starts: dict[str, tuple[float, int]] = {}

    def report(self, stage: str, done: int, total: int, frame: int | None = None, message: str = "") -> None:
        """Send a progress event; fps is measured from the stage's first report."""
        now = time.perf_counter()
        t0, d0 = self._starts.setdefault(stage, (now, done))
        fps = (done - d0) / (now - t0) if now > t0 and done > d0 else 0.0
        self._sink(ProgressEvent(stage, done, total, frame, round(fps, 3), message))

    def check_cancel(self) -> None:
        self.cancel.check()


class TerminalProgress:
    """A progress bar for the CLI on stderr (one line per update when not a terminal)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_line = 0.0
        self._stage = ""
        self._open = ""  # the bar text on screen without a newline yet (tty only)

    def __call__(self, ev: ProgressEvent) -> None:
        frac = ev.done / ev.total if ev.total else 0.0
        width = 28
        bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
        frame = f" frame {ev.frame}" if ev.frame is not None else ""
        text = f"{ev.stage:>8} [{bar}] {ev.done}/{ev.total}{frame} {ev.fps:5.1f} fps {ev.message}".rstrip()
        if self.tty:
            final = bool(ev.total and ev.done >= ev.total)
            self.stream.write("\r\033[K" + text + ("\n" if final else ""))
            self.stream.flush()
            self._open = "" if final else text
        else:
            now = time.monotonic()
            final = bool(ev.total and ev.done >= ev.total)
            if final or ev.stage != self._stage or now - self._last_line >= 2.0:
                self.stream.write(text + "\n")
                self.stream.flush()
                self._last_line = now
        self._stage = ev.stage

    def clear(self) -> None:
        """Erase an unfinished bar line (before a log message); the next update redraws it."""
        if self._open:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._open = ""

    def close(self) -> None:
        """End an unfinished bar line, so what follows (an error, the result) starts on a line of its own."""
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = ""
