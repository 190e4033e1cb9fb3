"""The shade operation on real files: tone channel contract, model file, overrides, bad input."""

from __future__ import annotations

import sys
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from inkpaint.errors import FrameError, SpecError
from inkpaint.io.frames import read_image, write_exr
from inkpaint.ops.base import run_job
from inkpaint.ops.shade import ShadeJob, parse_part_overrides
from inkpaint.cel.tones import PartTones
from inkpaint.spec import load_job
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the shared cel test scene
from cel.scene import scene_arrays, write_scene  # noqa: E402


def tones_of(path: str) -> np.ndarray:
    return np.rint(read_image(path).channel("tone")).astype(np.uint8)


def test_shade_cli_contract(tmp_path: Path, inkpaint_exe: list[str]) -> None:
    s = write_scene(tmp_path / "in", frames=3)
    out = tmp_path / "tone" / "shot.####.exr"
    r = subprocess.run([*inkpaint_exe, "-q", "shade", s["plate"], "--mattes", s["mattes"], "--tones", "2", "--out", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    body, head, _ = scene_arrays(2)
    t = tones_of(str(tmp_path / "tone" / "shot.0002.exr"))
    assert set(np.unique(t)) == {0, 1, 2}
    assert (t[(body == 0) & (head == 0)] == 0).all()
    # the left (lit) half of the body is base, the right half shadow
    ys, xs = np.nonzero(body)
    cx = 20 + 2 * 2
    inner = (body > 0) & (np.abs(np.arange(body.shape[1])[None, :] - cx) > 3)
    assert (t[inner & (np.arange(body.shape[1])[None, :] < cx)] == 1).mean() > 0.95
    assert (t[inner & (np.arange(body.shape[1])[None, :] > cx)] == 2).mean() > 0.95
    model = json.loads((tmp_path / "tone" / "shot.tonemodel.json").read_text())
    assert [p["name"] for p in model["model"]["parts"]] == ["body", "head"]


def test_tone_count_outside_range(tmp_path: Path, inkpaint_exe: list[str]) -> None:
    s = write_scene(tmp_path / "in", frames=1)
    r = subprocess.run([*inkpaint_exe, "shade", s["plate"], "--mattes", s["mattes"], "--tones", "5", "--out", str(tmp_path / "t.####.exr")], capture_output=True, text=True)
    assert r.returncode == 1 and "tones" in r.stderr and "2" in r.stderr and "4" in r.stderr
    with pytest.raises(SpecError, match="parts.body.tones"):
        load_job({"type": "shade", "input": "p.####.exr", "mattes": "m.####.exr", "output": "t.####.exr", "parts": {"body": {"tones": 1}}})
    assert not list(tmp_path.glob("t.*.exr"))


def test_three_tones_override_and_model_reuse(tmp_path: Path) -> None:
    s = write_scene(tmp_path / "in", frames=2)
    job = ShadeJob(input=s["plate"], mattes=s["mattes"], output=str(tmp_path / "a" / "t.####.exr"), tones=3, parts={"head": PartTones(bias=-200.0)})
    res = run_job(job)
    t = tones_of(str(tmp_path / "a" / "t.0001.exr"))
    body, head, _ = scene_arrays(1)
    assert not (t[head > 0] == 2).any()  # the head's threshold was biased below every pixel
    reuse = ShadeJob(input=s["plate"], mattes=s["mattes"], output=str(tmp_path / "b" / "t.####.exr"), model=res.outputs["model"], parts={"head": PartTones(bias=-200.0)})
    run_job(reuse)
    assert (tones_of(str(tmp_path / "b" / "t.0001.exr")) == t).all()
    assert parse_part_overrides(["hair:tones=3,bias=4"]) == {"hair": PartTones(3, 4.0)}
    with pytest.raises(SpecError, match="--part"):
        parse_part_overrides(["hair:colour=red"])


def test_keyframe_fit(tmp_path: Path) -> None:
    s = write_scene(tmp_path / "in", frames=4)
    res = run_job(ShadeJob(input=s["plate"], mattes=s["mattes"], output=str(tmp_path / "t.####.exr"), fit_frames="2,4"))
    assert res.summary["fitted_on"] == [2, 4]
    with pytest.raises(SpecError, match="fit_frames"):
        run_job(ShadeJob(input=s["plate"], mattes=s["mattes"], output=str(tmp_path / "u.####.exr"), fit_frames="9"))


def test_mattes_resolution_differs_from_plate(tmp_path: Path) -> None:
    s = write_scene(tmp_path / "in", frames=1)
    write_exr(str(tmp_path / "small.0001.exr"), {"body.A": np.ones((10, 10), np.float32)})
    with pytest.raises(FrameError) as exc:
        run_job(ShadeJob(input=s["plate"], mattes=str(tmp_path / "small.####.exr"), output=str(tmp_path / "t.####.exr")))
    msg = str(exc.value)
    assert "10x10" in msg and "96x72" in msg and "small.0001.exr" in msg and "plate.0001.exr" in msg


def test_all_empty_frame_is_written_empty(tmp_path: Path) -> None:
    s = write_scene(tmp_path / "in", frames=3, empty=(2,))
    res = run_job(ShadeJob(input=s["plate"], mattes=s["mattes"], output=str(tmp_path / "t.####.exr")))
    assert res.summary["empty_frames"] == [2]
    assert tones_of(str(tmp_path / "t.0002.exr")).max() == 0
