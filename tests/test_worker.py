"""The worker driven through its pipes: JSON lines in, JSON lines out, with timeouts so a hang fails the test."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from inkpaint.demo import make_clip
from inkpaint.io.frames import read_image
from inkpaint.ops.roto import RotoJob, load_prompts

TIMEOUT = 60.0


class WorkerProcess:
    """``inkpaint worker`` as a child process, as a host runs it; every read has a timeout."""

    def __init__(self, env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "inkpaint", "worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, bufsize=1, env={**os.environ, **(env or {})}, cwd=cwd,
        )
        self.events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self.raw: list[str] = []
        self.stderr: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._drain, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.raw.append(line)
            self.events.put(json.loads(line))  # stdout must carry nothing but protocol lines
        self.events.put(None)

    def _drain(self) -> None:  # hosts must read (or redirect) stderr so the worker never blocks on it
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)

    def send(self, **req: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()

    def next(self, timeout: float = TIMEOUT) -> dict[str, Any] | None:
        ev = self.events.get(timeout=timeout)
        if ev is not None:
            self.seen.append(ev)
        return ev

    def expect(self, event: str, id: str | None = None, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next event named ``event`` (for ``id``), skipping progress/log; fails on an unexpected terminal one."""
        deadline = time.monotonic() + timeout
        while True:
            ev = self.next(max(0.1, deadline - time.monotonic()))
            assert ev is not None, f"worker exited while waiting for {event!r}; stderr: {''.join(self.stderr)}"
            if ev["event"] == event and (id is None or ev.get("id") == id):
                return ev
            if ev["event"] in ("result", "error", "cancelled") and ev.get("id") == id:
                raise AssertionError(f"expected {event!r}, got {ev}")

    def wait(self, timeout: float = TIMEOUT) -> int:
        return self.proc.wait(timeout=timeout)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        for s in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if s:
                try:
                    s.close()
                except OSError:
                    pass


@pytest.fixture()
def worker() -> Any:
    w = WorkerProcess()
    yield w
    w.close()


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("wclip")
    make_clip(folder, 40, (192, 144))
    return folder


def _job(clip: Path, out: Path, frames: str = "1-40") -> dict[str, Any]:
    job = RotoJob(input=str(clip / "plate" / "demo.####.exr"), output=str(out / "m.####.exr"),
                  objects=load_prompts(clip / "prompts.json"), frames=frames)
    return job.to_dict()


def test_ready_ping_shutdown(worker: WorkerProcess) -> None:
    ready = worker.expect("ready")
    assert ready["protocol"] == 1 and ready["pid"] == worker.proc.pid and ready["version"]
    worker.send(type="ping", id="p1")
    pong = worker.expect("pong", "p1")
    assert pong["busy"] is None
    worker.send(type="shutdown", id="s")
    worker.expect("bye", "s")
    assert worker.wait() == 0


def test_run_job_reports_accepted_progress_and_result(worker: WorkerProcess, clip: Path, tmp_path: Path) -> None:
    worker.expect("ready")
    worker.send(type="run", id="j1", job=_job(clip, tmp_path / "out", "1-6"))
    assert worker.expect("accepted", "j1")["type"] == "run"
    result = worker.expect("result", "j1")["result"]
    assert result["written"] == [1, 2, 3, 4, 5, 6] and result["type"] == "roto"
    progress = [e for e in worker.seen if e["event"] == "progress" and e["id"] == "j1"]
    assert [e["done"] for e in progress] == [0, 1, 2, 3, 4, 5, 6]
    assert all(e["total"] == 6 and e["stage"] == "roto" for e in progress)
    assert sorted(e["frame"] for e in progress[1:]) == [1, 2, 3, 4, 5, 6]
    assert progress[-1]["fps"] > 0
    assert read_image(str(tmp_path / "out" / "m.0006.exr")).attributes["inkpaint:job_hash"] == result["job_hash"]
    # The same job again: resumed, nothing to do.
    worker.send(type="run", id="j2", job=_job(clip, tmp_path / "out", "1-6"))
    assert worker.expect("result", "j2")["result"]["skipped"] == [1, 2, 3, 4, 5, 6]
    worker.send(type="shutdown")
    assert worker.wait() == 0


def test_job_spec_file_and_errors_keep_the_worker_alive(worker: WorkerProcess, clip: Path, tmp_path: Path) -> None:
    worker.expect("ready")
    bad = _job(clip, tmp_path / "out", "1-3")
    bad["objects"][0]["prompts"][0]["points"][0][0] = 10_000
    worker.send(type="run", id="bad", job=bad)
    err = worker.expect("error", "bad")
    assert err["error"]["type"] == "SpecError" and err["error"]["field"] == "objects[0].prompts[0].points[0]"
    assert "outside" in err["error"]["message"] and not err.get("fatal")
    worker.send(type="run", id="missing", job=str(tmp_path / "nope.json"))
    assert "cannot read job spec" in worker.expect("error", "missing")["error"]["message"]
    future = _job(clip, tmp_path / "out", "1-3")
    future["schema_version"] = 7
    worker.send(type="run", id="future", job=future)
    assert worker.expect("error", "future")["error"]["field"] == "schema_version"
    spec = tmp_path / "job.json"
    spec.write_text(json.dumps(_job(clip, tmp_path / "out2", "1-2")))
    worker.send(type="run", id="file", job=str(spec))
    assert worker.expect("result", "file")["result"]["written"] == [1, 2]
    worker.send(type="shutdown")
    assert worker.wait() == 0


def test_protocol_errors(worker: WorkerProcess) -> None:
    worker.expect("ready")
    worker.proc.stdin.write("this is not json\n")  # type: ignore[union-attr]
    worker.proc.stdin.flush()  # type: ignore[union-attr]
    assert worker.expect("error")["error"]["type"] == "ProtocolError"
    worker.send(type="dance", id="d")
    assert "unknown request type" in worker.expect("error", "d")["error"]["message"]
    worker.send(type="run", job={})
    assert "needs an \"id\"" in worker.expect("error")["error"]["message"]
    worker.send(type="cancel", id="c", target="nothing")
    ev = worker.expect("cancelling", "c")
    assert ev["target"] == "nothing" and ev["found"] is False
    worker.send(type="shutdown")
    assert worker.wait() == 0


def test_segment_returns_a_mask_path(worker: WorkerProcess, clip: Path, tmp_path: Path) -> None:
    worker.expect("ready")
    plate = str(clip / "plate" / "demo.####.exr")
    worker.send(type="segment", id="s1", input=plate, frame=1, objects=[
        {"name": "ball", "points": [[48, 72, 1]], "box": [21, 45, 75, 99]}])
    res = worker.expect("result", "s1")["result"]
    assert res["width"] == 192 and res["height"] == 144 and res["objects"] == ["ball"]
    img = read_image(res["mask"])
    assert sorted(img.channels) == ["A", "ball.A"]
    area = int((img.channel("ball.A") > 0.5).sum())
    assert abs(area - 3.14159 * (38 * 0.6) ** 2) < 0.25 * area  # the ball, r = 38 design px at 0.6 scale
    out = tmp_path / "preview.exr"
    worker.send(type="segment", id="s2", input=plate, frame=1, output=str(out),
                objects=[{"name": "ball", "points": [[48, 72, 1]]}, {"name": "block", "box": [123, 21, 165, 57]}])
    res2 = worker.expect("result", "s2")["result"]
    assert res2["mask"] == str(out) and out.exists() and res2["coverage"]["block"] > 0
    worker.send(type="segment", id="s3", input=plate, frame=1, objects=[{"name": "ball", "points": [[500, 72, 1]]}])
    err = worker.expect("error", "s3")["error"]
    assert err["field"] == "objects[0].points[0]" and "outside the 192x144 image" in err["message"]
    worker.send(type="segment", id="s4", input=plate, objects=[{"name": "ball", "points": [[5, 5, 1]]}])
    assert worker.expect("error", "s4")["error"]["field"] == "frame"
    worker.send(type="shutdown")
    assert worker.wait() == 0
    assert not Path(res["mask"]).exists()  # the worker's own temp folder goes with it; pass "output" to keep


def test_cancel_a_running_job(worker: WorkerProcess, clip: Path, tmp_path: Path) -> None:
    worker.expect("ready")
    worker.send(type="run", id="long", job=_job(clip, tmp_path / "out"))
    while True:
        ev = worker.next()
        assert ev is not None
        if ev["event"] == "progress" and ev["done"] >= 2:
            break
    worker.send(type="ping", id="p")
    assert worker.expect("pong", "p")["busy"] == "long"  # answered while the job runs
    worker.send(type="run", id="long", job={})
    dup = worker.expect("error")
    assert dup.get("id") is None and "already queued or running" in dup["error"]["message"]
    worker.send(type="cancel", id="c", target="long")
    assert worker.expect("cancelling", "c")["found"] is True
    ev = worker.expect("cancelled", "long")
    assert "rerun resumes" in ev["message"]
    frames = sorted((tmp_path / "out").glob("m.*.exr"))
    assert 2 <= len(frames) < 40
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]
    worker.send(type="ping", id="p2")
    assert worker.expect("pong", "p2")["busy"] is None
    worker.send(type="shutdown")
    assert worker.wait() == 0


def test_eof_on_stdin_cancels_and_exits(worker: WorkerProcess, clip: Path, tmp_path: Path) -> None:
    worker.expect("ready")
    worker.send(type="run", id="long", job=_job(clip, tmp_path / "out"))
    worker.send(type="run", id="queued", job=_job(clip, tmp_path / "out2"))
    worker.expect("progress", "long")
    worker.proc.stdin.close()  # type: ignore[union-attr]  # the host went away
    assert worker.wait(timeout=30) == 0
    while worker.next(timeout=5) is not None:
        pass
    ends = {e["id"]: e["event"] for e in worker.seen if e["event"] in ("result", "cancelled", "error")}
    assert ends == {"long": "cancelled", "queued": "cancelled"}


# ---------------------------------------------------------------------------------------------------------------
# Crashes: a deliberately broken backend, registered the way third-party backends are (an entry point)

BROKEN_BACKEND = textwrap.dedent(
    '''
    """A roto backend that crashes with an unexpected exception (tests only)."""
    from inkpaint.backends.base import RotoBackend


    class BrokenBackend(RotoBackend):
        name = "broken"

        def track(self, source, request, ctx):
            yield from ()
            raise ZeroDivisionError("the broken test backend divided by zero")

        def segment(self, image, prompts, *, cache_key=None):
            raise ZeroDivisionError("the broken test backend cannot segment")


    def create_backend(options):
        return BrokenBackend()
    '''
)


@pytest.fixture(scope="module")
def broken_backend_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for PYTHONPATH holding the broken backend module and a dist-info declaring its entry point."""
    folder = tmp_path_factory.mktemp("broken_plugin")
    (folder / "inkpaint_test_broken_backend.py").write_text(BROKEN_BACKEND)
    info = folder / "inkpaint_test_broken-0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: inkpaint-test-broken\nVersion: 0.0\n")
    (info / "entry_points.txt").write_text("[inkpaint.roto_backends]\nbroken = inkpaint_test_broken_backend\n")
    return folder


def _env_with(path: Path) -> dict[str, str]:
    return {"PYTHONPATH": os.pathsep.join([str(path), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}


def test_crash_sends_a_fatal_error_and_exits_non_zero(broken_backend_path: Path, clip: Path, tmp_path: Path) -> None:
    w = WorkerProcess(env=_env_with(broken_backend_path))
    try:
        w.expect("ready")
        job = _job(clip, tmp_path / "out", "1-3")
        job["backend"] = "broken"
        w.send(type="run", id="boom", job=job)
        err = w.expect("error", "boom")
        assert err["fatal"] is True
        assert err["error"]["type"] == "ZeroDivisionError" and "divided by zero" in err["error"]["message"]
        assert "Traceback" in err["error"]["traceback"]
        assert w.wait(timeout=30) == 3
        assert w.next(timeout=5) is None  # nothing after the fatal error; stdout closed
    finally:
        w.close()
    assert not (tmp_path / "out").exists() or not [p for p in (tmp_path / "out").iterdir() if p.suffix == ".exr"]


def test_crash_during_segment(broken_backend_path: Path, clip: Path) -> None:
    w = WorkerProcess(env=_env_with(broken_backend_path))
    try:
        w.expect("ready")
        w.send(type="segment", id="s", backend="broken", input=str(clip / "plate" / "demo.0001.exr"),
               objects=[{"name": "ball", "points": [[48, 72, 1]]}])
        assert w.expect("error", "s")["fatal"] is True
        assert w.wait(timeout=30) == 3
    finally:
        w.close()


def test_cli_reports_an_internal_error_with_exit_3(broken_backend_path: Path, clip: Path, tmp_path: Path) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "inkpaint", "roto", str(clip / "plate" / "demo.####.exr"), "--prompts",
         str(clip / "prompts.json"), "--out", str(tmp_path / "m.####.exr"), "--backend", "broken", "--frames", "1-3"],
        capture_output=True, text=True, timeout=TIMEOUT, env={**os.environ, **_env_with(broken_backend_path)},
    )
    assert res.returncode == 3
    assert "internal error (ZeroDivisionError" in res.stderr and "Traceback" in res.stderr
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp or spill folder left


def test_shutdown_with_wait_finishes_queued_work(worker: WorkerProcess, clip: Path, tmp_path: Path) -> None:
    worker.expect("ready")
    worker.send(type="run", id="a", job=_job(clip, tmp_path / "a", "1-2"))
    worker.send(type="run", id="b", job=_job(clip, tmp_path / "b", "1-2"))
    worker.send(type="shutdown", id="bye", wait=True)
    assert worker.expect("bye", "bye")["wait"] is True
    assert worker.expect("result", "a")["result"]["written"] == [1, 2]
    assert worker.expect("result", "b")["result"]["written"] == [1, 2]
    assert worker.wait() == 0
