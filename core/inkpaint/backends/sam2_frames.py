"""SAM 2.1 backend, part 3: frames read ahead on a background thread (see :mod:`inkpaint.backends.sam2_video`).
"""

from __future__ import annotations

import queue
import threading
from typing import Any

from .base import FrameSource

# ----------------------------------------------------------------------------------------------------------------
# Frames


class FramePrefetcher:
    """Reads frames in processing order on a background thread and turns them into model inputs.

    At most ``depth`` prepared frames wait in the queue; the source is only touched from this thread while it runs.
    """

    def __init__(self, source: FrameSource, frames: list[int], prepare: Any, depth: int, lock: threading.Lock) -> None:
        self.frames = frames
        self.prepare = prepare
        self.source = source
        self.lock = lock
        self.depth = depth
        self.q: queue.Queue[tuple[int, Any]] = queue.Queue(maxsize=max(depth, 1))
        self.stop = threading.Event()
        self.pos = 0
        self.thread: threading.Thread | None = None
        if depth > 0:
            self.thread = threading.Thread(target=self._run, name="inkpaint-sam2-frames", daemon=True)
            self.thread.start()

    def _read(self, frame: int) -> Any:
        with self.lock:
            rgb = self.source.rgb(frame)
        return self.prepare(rgb)

    def _run(self) -> None:
        for f in self.frames:
            if self.stop.is_set():
                return
            try:
                item: tuple[int, Any] = (f, self._read(f))
            except BaseException as exc:  # hand read errors to the consumer
                item = (f, exc)
            while not self.stop.is_set():
                try:
                    self.q.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if isinstance(item[1], BaseException):
                return

    def get(self, frame: int) -> Any:
        if self.thread is None:
            return self._read(frame)
        f, data = self.q.get()
        if isinstance(data, BaseException):
            raise data
        assert f == frame, f"prefetch order mismatch: expected frame {frame}, got {f}"
        return data

    def held(self) -> int:
        return self.q.qsize()

    def close(self) -> None:
        self.stop.set()
        if self.thread is not None:
            while True:
                try:
                    self.q.get_nowait()
                except queue.Empty:
                    break
            self.thread.join(timeout=5)
