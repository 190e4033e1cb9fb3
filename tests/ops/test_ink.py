"""The ink operation on real EXR files: channels, width, PNG line art, resume, bad input."""

from __future__ import annotations

import sys
import subprocess
from pathlib import Path

import numpy as np
import pytest

from inkpaint.errors import FrameError, OutputExistsError, SpecError
from inkpaint.io.frames import read_image, write_exr
from inkpaint.ops.base import run_job
from inkpaint.ops.ink import InkJob
from inkpaint.spec import load_job
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the shared cel test scene
from cel.scene import write_scene  # noqa: E402


def test_ink_cli_contract(tmp_path: Path, inkpaint_exe: list[str]) -> None:
    s = write_scene(tmp_path / "in", frames=3)
    out = tmp_path / "ink" / "shot.####.exr"
    r = subprocess.run([*inkpaint_exe, "-q", "ink", "--mattes", s["mattes"], "--out", str(out), "--width", "3"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    img = read_image(str(tmp_path / "ink" / "shot.0002.exr"))
    assert {"ink.A", "ink_hard.A"} <= set(img.channels)
    a = img.channel("ink.A")
    hard = img.channel("ink_hard.A")
    assert 0 < a.max() <= 1 and set(np.unique(hard)) <= {0.0, 1.0}
    assert ((a >= 0.5) == (hard > 0.5)).all()
    assert (tmp_path / "ink" / "shot.inkpaint.json").exists()


def test_ink_png_line_art_and_width_reference(tmp_path: Path) -> None:
    s = write_scene(tmp_path / "in", frames=1)
    run_job(InkJob(mattes=s["mattes"], output=str(tmp_path / "png" / "l.####.png")))
    art = read_image(str(tmp_path / "png" / "l.0001.png")).pixels
    assert art.shape[2] == 3 and set(np.unique(art)) <= {0.0, 1.0} and (art == 0).any()
    thin = run_job(InkJob(mattes=s["mattes"], output=str(tmp_path / "a" / "i.####.exr"), width=2, width_reference=144))
    assert thin.summary["width_px"] == pytest.approx(1.0)  # the scene is 72 px high: half of 144


def test_ink_resumes_and_refuses_foreign_outputs(tmp_path: Path) -> None:
    s = write_scene(tmp_path / "in", frames=3)
    job = InkJob(mattes=s["mattes"], output=str(tmp_path / "o" / "i.####.exr"))
    first = run_job(job)
    assert first.written == [1, 2, 3]
    again = run_job(job)
    assert again.written == [] and again.skipped == [1, 2, 3]
    with pytest.raises(OutputExistsError):
        run_job(InkJob(mattes=s["mattes"], output=str(tmp_path / "o" / "i.####.exr"), width=4))


def test_ink_spec_round_trip_and_bad_input(tmp_path: Path) -> None:
    job = InkJob(mattes="r.####.exr", output="i.####.exr", width=1.5, tones="t.####.exr")
    assert load_job(job.to_dict()) == job
    with pytest.raises(SpecError, match="width"):
        load_job({"type": "ink", "mattes": "r.####.exr", "output": "i.####.exr", "width": 0})
    # mattes without part channels
    write_exr(str(tmp_path / "bad.0001.exr"), {"R": np.zeros((4, 4), np.float32)})
    with pytest.raises(FrameError, match="part matte channels"):
        run_job(InkJob(mattes=str(tmp_path / "bad.####.exr"), output=str(tmp_path / "x.####.exr")))


def test_empty_mattes_write_empty_lines(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    s = write_scene(tmp_path / "in", frames=2, empty=(2,))
    res = run_job(InkJob(mattes=s["mattes"], output=str(tmp_path / "o" / "i.####.exr")))
    assert res.summary["empty_frames"] == [2]
    assert read_image(str(tmp_path / "o" / "i.0002.exr")).channel("ink.A").max() == 0
    assert "empty mattes" in caplog.text
