"""SIGKILL a render task mid-chunk, break one finished frame, and run the task again through ``openjd run``: only the
missing and broken frames are written, and the outputs equal an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from farmkit import assert_same_outputs, env, inkpaint, openjd, openjd_run
from farm_shot import cel_spec, save, write_shot


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def _task_process(root: int, job: Path) -> int | None:
    """The ``inkpaint run <job> --frames ...`` process openjd started (a descendant of ``root``)."""
    for pid in _descendants(root):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if str(job).encode() in cmd and b"--frames" in cmd:
            return pid
    return None


def _stamps(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.rglob("*.exr")}


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the task's process through /proc")
def test_sigkill_mid_chunk_then_rerun_writes_only_missing_and_broken_frames(tmp_path: Path) -> None:
    shot = write_shot(tmp_path / "shot", frames=12, size=(480, 360))
    out = tmp_path / "shot" / "cel"
    spec = save(cel_spec(shot, str(out)), tmp_path / "shot" / "cel.json")
    bundle = tmp_path / "b"
    inkpaint("farm", "bundle", str(spec), "--out", str(bundle), "--chunk", "12")
    openjd_run(bundle, "--step", "fit")  # roto + tone model, so the render task starts rendering at once
    job = bundle / "job.json"
    cmd = [openjd(), "run", str(bundle / "template.yaml"), "--job-param", f"file://{bundle / 'job_params.yaml'}",
           "--step", "render", "--no-run-dependencies"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env())
    killed = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        done = len(list((out / "cel").glob("sh.*.exr"))) if (out / "cel").is_dir() else 0
        if done >= 3:
            killed = _task_process(proc.pid, job)
            if killed is not None:
                os.kill(killed, signal.SIGKILL)
                break
        time.sleep(0.02)
    log, _ = proc.communicate(timeout=120)
    assert killed is not None, f"the task finished or never started before it could be killed:\n{log[-3000:]}"
    assert proc.returncode != 0, "openjd should report the killed task as failed"
    cel_done = sorted((out / "cel").glob("sh.*.exr"))
    assert 3 <= len(cel_done) < 12, f"killed mid-chunk expected, {len(cel_done)} cel frames exist"
    broken = cel_done[0]
    broken.write_bytes(broken.read_bytes()[: broken.stat().st_size // 2])  # a finished frame damaged on disk
    before = _stamps(out)

    openjd_run(bundle, "--step", "render", "--no-run-dependencies")
    after = _stamps(out)
    kept = {k for k in before if before[k] == after.get(k)}
    rewritten = set(after) - kept
    missing = set(after) - set(before)
    assert f"cel/{broken.name}" in rewritten
    assert rewritten == missing | {f"cel/{broken.name}"}, f"unexpected rewrites: {sorted(rewritten - missing)}"
    assert len(after) == 12 * 4  # roto, tone, ink, cel

    openjd_run(bundle, "--step", "finalize", "--no-run-dependencies")
    out.rename(tmp_path / "farm")
    inkpaint("run", str(job), "-q")
    assert assert_same_outputs(tmp_path / "farm", out) == 12 * 4 + 1
    manifest = json.loads((tmp_path / "farm" / "sh.inkpaint.json").read_text())
    assert manifest["result"]["frames"] == list(range(1, 13))
