"""The chained cel job: roto -> shade -> ink -> finish from a plate, prompts and a palette; resume; worker."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from inkpaint.demo import make_clip
from inkpaint.io.frames import read_image
from inkpaint.palette import PaletteError
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the shared cel test scene
from cel.scene import write_scene  # noqa: E402

PALETTE = """\
parts:
  ball: {normal: [230, 80, 40], shadow: [150, 40, 30]}
  block: {normal: [40, 90, 200], shadow: [20, 50, 140]}
"""


def test_cel_cli_chain_writes_every_layer_and_resumes(tmp_path: Path, inkpaint_exe: list[str]) -> None:
    plate, prompts = make_clip(tmp_path / "clip", frames=3, size=(128, 96))
    (tmp_path / "pal.yml").write_text(PALETTE)
    cmd = [*inkpaint_exe, "-q", "cel", plate, "--prompts", prompts, "--palette", str(tmp_path / "pal.yml"), "--out-dir", str(tmp_path / "cel")]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    for layer in ("roto", "tone", "ink", "cel"):
        assert sorted(p.name for p in (tmp_path / "cel" / layer).glob("demo.*.exr")) == [f"demo.000{i}.exr" for i in (1, 2, 3)]
    img = read_image(str(tmp_path / "cel" / "cel" / "demo.0002.exr"))
    assert {"R", "G", "B", "A", "colour.A", "ink.A", "tone"} <= set(img.channels)
    assert img.channel("A").max() == 1.0
    again = subprocess.run(cmd, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    stages = json.loads(again.stdout)["summary"]["stages"]
    assert all(s["written"] == 0 and s["skipped"] == 3 for s in stages.values())


def test_cel_palette_must_match_prompts(tmp_path: Path, inkpaint_exe: list[str]) -> None:
    plate, prompts = make_clip(tmp_path / "clip", frames=2, size=(96, 72))
    (tmp_path / "pal.yml").write_text("parts:\n  ball: {normal: [1, 2, 3]}\n  hat: {normal: [1, 2, 3]}\n")
    r = subprocess.run([*inkpaint_exe, "cel", plate, "--prompts", prompts, "--palette", str(tmp_path / "pal.yml"), "--out-dir", str(tmp_path / "cel")], capture_output=True, text=True)
    assert r.returncode == 1
    assert "not in the palette: block" in r.stderr and "hat" in r.stderr
    assert not (tmp_path / "cel" / "roto").exists()


def test_worker_runs_ink_shade_finish(tmp_path: Path) -> None:
    s = write_scene(tmp_path / "in", frames=2)
    jobs = [
        {"type": "shade", "input": s["plate"], "mattes": s["mattes"], "output": str(tmp_path / "t.####.exr"), "tones": 3},
        {"type": "ink", "mattes": s["mattes"], "output": str(tmp_path / "i.####.exr")},
        {"type": "finish", "mattes": s["mattes"], "palette": s["palette"], "output": str(tmp_path / "c.####.exr"),
         "tones": str(tmp_path / "t.####.exr"), "ink": str(tmp_path / "i.####.exr")},
        {"type": "shade", "input": s["plate"], "mattes": s["mattes"], "output": str(tmp_path / "x.####.exr"), "tones": 7},
    ]
    proc = subprocess.Popen([sys.executable, "-m", "inkpaint", "worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    for i, j in enumerate(jobs):
        proc.stdin.write(json.dumps({"type": "run", "id": f"j{i}", "job": j}) + "\n")
    proc.stdin.flush()
    events = []
    final: dict[str, dict] = {}
    while len(final) < len(jobs):  # the worker answers every request; a hang fails on the test timeout
        line = proc.stdout.readline()
        assert line, "worker closed its output early"
        ev = json.loads(line)
        events.append(ev)
        if ev.get("event") in ("result", "error") and "id" in ev:
            final[ev["id"]] = ev
    proc.stdin.write(json.dumps({"type": "shutdown"}) + "\n")
    proc.stdin.close()
    proc.wait(timeout=60)
    for i in range(3):
        assert final[f"j{i}"]["event"] == "result", final[f"j{i}"]
    assert final["j3"]["event"] == "error" and "tones" in final["j3"]["error"]["message"]
    assert any(e.get("event") == "progress" and e.get("stage") == "shade" for e in events)
    assert read_image(str(tmp_path / "c.0002.exr")).channel("A").max() == 1.0
