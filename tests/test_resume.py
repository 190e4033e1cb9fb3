"""Kill ``inkpaint roto`` mid-run (SIGKILL), then rerun: only complete frames exist after the kill, and the rerun
skips them and finishes the rest."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from inkpaint.demo import make_clip
from inkpaint.io.atomic import TEMP_MARK
from inkpaint.io.frames import read_image

FRAMES = 30
SIZE = (192, 144)


def _block_box(frame: int) -> list[float]:
    """The demo clip's blue block on ``frame`` (see inkpaint.demo.make_clip), padded, in pixels."""
    t = (frame - 1) / (FRAMES - 1)
    sx, sy = SIZE[0] / 320, SIZE[1] / 240
    x0, y0 = int(210 - 90 * t), int(40 + 20 * t)
    return [(x0 - 4) * sx, (y0 - 4) * sy, (x0 + 64) * sx, (y0 + 54) * sy]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_mid_run_then_rerun_resumes(tmp_path: Path) -> None:
    make_clip(tmp_path, FRAMES, SIZE)
    prompts = json.loads((tmp_path / "prompts.json").read_text())
    # The block gets its keyframe later than the ball: frames then wait in the spill folder for both objects,
    # so a kill also leaves a partial-frame work folder behind.
    prompts["objects"][1]["prompts"] = [{"frame": 12, "box": _block_box(12)}]
    (tmp_path / "prompts.json").write_text(json.dumps(prompts))
    out = tmp_path / "roto"
    cmd = [sys.executable, "-m", "inkpaint", "roto", str(tmp_path / "plate" / "demo.####.exr"), "--prompts",
           str(tmp_path / "prompts.json"), "--out", str(out / "m.####.exr"), "--contours", "-q"]

    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 90
    try:
        while len(list(out.glob("m.*.exr"))) < 3:
            assert proc.poll() is None, f"finished before it could be killed: {proc.communicate()}"
            assert time.monotonic() < deadline, "no frames written in time"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    # After the kill: whole frames of this job, temp files, the spill folder and the job's stale lock; nothing else.
    names = sorted(p.name for p in out.iterdir())
    frames_done = sorted(int(n.split(".")[1]) for n in names if n.startswith("m.") and n.endswith(".exr"))
    assert 3 <= len(frames_done) < FRAMES
    hashes = {read_image(str(out / f"m.{f:04d}.exr")).attributes["inkpaint:job_hash"] for f in frames_done}
    assert len(hashes) == 1
    for n in names:
        frame_file = n.startswith("m.") and (n.endswith(".exr") or n.endswith(".contours.json"))
        assert frame_file or TEMP_MARK in n or "inkpaint-work" in n or n == "m.inkpaint.lock", f"stray file after the kill: {n}"
    assert "m.inkpaint.lock" in names  # the killed job's lock: the rerun must take it over, not refuse to run
    assert any("inkpaint-work" in n for n in names), "frames 1-11 should be waiting for the block in the spill folder"
    for f in frames_done:  # the EXR is written last, so its contours are there too
        assert json.loads((out / f"m.{f:04d}.contours.json").read_text())["job_hash"] in hashes
    # What a writer killed in the middle of a frame leaves behind (whether or not this kill hit one).
    (out / ".m.0029.k3j_x9ab.inkpaint-tmp.exr").write_bytes(b"half a frame")

    res = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stderr
    assert "stale lock" in res.stderr
    result = json.loads(res.stdout)
    assert result["skipped"] == frames_done
    assert sorted(result["written"] + result["skipped"]) == list(range(1, FRAMES + 1))
    assert result["job_hash"] in hashes
    names = sorted(p.name for p in out.iterdir())
    assert not [n for n in names if TEMP_MARK in n or "inkpaint-work" in n or n.endswith(".lock")], names
    assert len([n for n in names if n.endswith(".exr")]) == FRAMES
    assert "m.inkpaint.json" in names
    for f in range(1, FRAMES + 1):
        img = read_image(str(out / f"m.{f:04d}.exr"))
        assert img.attributes["inkpaint:job_hash"] == result["job_hash"]
        assert (img.channel("ball.A") > 0.5).any()
