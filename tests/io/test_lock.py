"""Output-sequence locks (inkpaint.io.lock): exclusive across jobs, shared by farm chunks of one job, heartbeat."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from inkpaint.errors import OutputLockedError
from inkpaint.io import lock

HOLD = textwrap.dedent(
    """
    import sys, time
    from inkpaint.io import lock
    lock.acquire(sys.argv[1], job_hash=sys.argv[2], job_type="ink", pattern="i.####.exr", shared=sys.argv[3] == "1")
    print("held", flush=True)
    sys.stdin.readline()
    """
)


def _holder(path: Path, job_hash: str, shared: bool) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path), job_hash, "1" if shared else "0"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"
    return proc


def _release(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.write("\n")
    proc.stdin.flush()
    proc.wait(timeout=30)


def test_other_job_is_refused_farm_chunks_share(tmp_path: Path) -> None:
    path = tmp_path / "i.inkpaint.lock"
    other = _holder(path, "hash_a", shared=True)
    try:
        with pytest.raises(OutputLockedError, match="hash_a"):
            lock.acquire(str(path), job_hash="hash_b", scope=object())
        with pytest.raises(OutputLockedError):
            lock.acquire(str(path), job_hash="hash_a", scope=object(), shared=False)  # a whole run of the same job
        scope = object()
        held = lock.acquire(str(path), job_hash="hash_a", scope=scope, shared=True)  # another chunk of it
        assert not held.owner
        lock.release_scope(scope)
        assert path.exists()  # a sharer never removes the owner's lock
    finally:
        _release(other)
    assert not path.exists()


def test_reentrant_within_a_run_and_released_with_it(tmp_path: Path) -> None:
    path = str(tmp_path / "x.inkpaint.lock")
    scope = object()
    first = lock.acquire(path, job_hash="h", scope=scope)
    assert lock.acquire(path, job_hash="h", scope=scope) is first  # e.g. mattes and contours beside one manifest
    with pytest.raises(OutputLockedError):
        lock.acquire(path, job_hash="h2", scope=object())  # another run in this process while it is held
    lock.release_scope(scope)
    assert not os.path.exists(path)


def test_heartbeat_keeps_a_live_lock_fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(lock.HEARTBEAT_ENV, "0.05")
    monkeypatch.setattr(lock, "_BEAT", None)
    path = tmp_path / "h.inkpaint.lock"
    scope = object()
    lock.acquire(str(path), job_hash="h", scope=scope)
    try:
        old = time.time() - 3600
        os.utime(path, (old, old))
        deadline = time.monotonic() + 10
        while time.time() - path.stat().st_mtime > 60:
            assert time.monotonic() < deadline, "the heartbeat did not refresh the lock"
            time.sleep(0.02)
        info = json.loads(path.read_text())
        assert info["pid"] == os.getpid() and info["job_hash"] == "h"
    finally:
        lock.release_scope(scope)
