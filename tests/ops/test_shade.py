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


# ----------------------------------------------------------------------------------------------------------------
# issue 14: controls in a person's units, warnings that reach the user, contact sheet


def _scene_with_gaps(folder: Path, frames: int = 4, head_missing: tuple[int, ...] = (2,)) -> dict[str, str]:
    """The shared scene, with the head's matte empty on ``head_missing`` frames."""
    s = write_scene(folder, frames=frames)
    for f in head_missing:
        body, _, _ = scene_arrays(f)
        write_exr(str(folder / f"roto.{f:04d}.exr"), {"body.A": body, "head.A": np.zeros_like(body), "A": body},
                  metadata={"inkpaint:objects": "body,head"})
    return s


def test_warnings_reach_cli_stderr_result_json_and_model_file(tmp_path: Path, inkpaint_exe: list[str]) -> None:
    s = _scene_with_gaps(tmp_path / "in")
    out = tmp_path / "tone" / "shot.####.exr"
    r = subprocess.run([*inkpaint_exe, "-q", "shade", s["plate"], "--mattes", s["mattes"], "--out", str(out), "--part", "body:threshold_l=45"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    warnings = res["summary"]["warnings"]
    assert any("'head' vanished on 1 of 4 frames (2)" in w for w in warnings), warnings
    for w in warnings:
        assert f"WARNING: {w}" in r.stderr  # printed by the CLI, every one
    tones = res["summary"]["tones"]
    assert tones["body"]["method"] == "threshold" and tones["body"]["threshold_l"] == pytest.approx(45.0)
    assert 0.3 < tones["body"]["share"] < 0.7 and tones["head"]["frames_missing"] == 1
    model = json.loads((tmp_path / "tone" / "shot.tonemodel.json").read_text())
    assert model["shot"]["parts"]["body"]["threshold_l"] == tones["body"]["threshold_l"]  # same units both places
    assert model["shot"]["parts"]["body"]["share"] == tones["body"]["share"]
    # the contact sheet: written by default, readable, one row per picked frame, path in the result
    sheet = res["outputs"]["contact_sheet"]
    assert sheet == res["summary"]["contact_sheet"] and sheet.endswith("shot.contact.png")
    img = read_image(sheet)
    assert img.pixels.shape[0] > 4 * 100 and img.pixels.shape[1] > 3 * 300
    r2 = subprocess.run([*inkpaint_exe, "-q", "shade", s["plate"], "--mattes", s["mattes"], "--out", str(tmp_path / "t2" / "s.####.exr"), "--no-contact-sheet"],
                        capture_output=True, text=True)
    assert r2.returncode == 0 and not list((tmp_path / "t2").glob("*.png"))


def test_warnings_are_worker_log_events(tmp_path: Path) -> None:
    s = _scene_with_gaps(tmp_path / "in")
    job = {"type": "shade", "input": s["plate"], "mattes": s["mattes"], "output": str(tmp_path / "t.####.exr"), "contact_sheet": False}
    proc = subprocess.run([sys.executable, "-m", "inkpaint", "worker"], input=json.dumps({"type": "run", "id": "a", "job": job}) + "\n" + json.dumps({"type": "shutdown", "wait": True}) + "\n",
                          capture_output=True, text=True, timeout=120)
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    logs = [e for e in events if e.get("event") == "log" and e.get("level") == "warning"]
    result = next(e for e in events if e.get("event") == "result")
    warnings = result["result"]["summary"]["warnings"]
    assert warnings and {w for w in warnings} <= {e["message"] for e in logs}, (warnings, logs)
    assert any("vanished" in e["message"] and e.get("id") == "a" for e in logs)


def test_part_empty_on_every_frame_warns_and_leaves_it_untouched(tmp_path: Path) -> None:
    s = _scene_with_gaps(tmp_path / "in", frames=3, head_missing=(1, 2, 3))
    res = run_job(ShadeJob(input=s["plate"], mattes=s["mattes"], output=str(tmp_path / "t.####.exr"), contact_sheet=False))
    assert any("'head' is empty on every" in w for w in res.summary["warnings"]), res.summary["warnings"]
    t = tones_of(str(tmp_path / "t.0002.exr"))
    body, _, _ = scene_arrays(2)
    assert (t[body == 0] == 0).all() and set(np.unique(t[body > 0])) == {1, 2}


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["--part", "nope:shadow=0.3"], ["--part", "'nope'", "body", "head"]),
        (["--part", "body:shadow=1.5"], ["--part", "shadow=1.5", "0..1"]),
        (["--part", "body:threshold_l=140"], ["--part", "threshold_l=140"]),
        (["--part", "body:colour=3"], ["--part", "colour=3"]),
        (["--shadow", "-0.2"], ["shadow", "-0.2", "0..1"]),
        (["--tones", "5"], ["tones", "5"]),
        (["--smoothing", "-1"], ["smoothing", "-1"]),
    ],
)
def test_bad_tone_settings_name_the_flag_and_value(tmp_path: Path, inkpaint_exe: list[str], args: list[str], names: list[str]) -> None:
    s = write_scene(tmp_path / "in", frames=1)
    r = subprocess.run([*inkpaint_exe, "-q", "shade", s["plate"], "--mattes", s["mattes"], "--out", str(tmp_path / "t.####.exr"), *args], capture_output=True, text=True)
    assert r.returncode == 1, (r.returncode, r.stderr)
    for n in names:
        assert n in r.stderr, (n, r.stderr)
    assert "Traceback" not in r.stderr and not list(tmp_path.glob("t.*.exr"))


def test_part_overrides_parse_person_units() -> None:
    assert parse_part_overrides(["skin:shadow=0.3", "hair:tones=3,threshold_l=35"]) == {
        "skin": PartTones(shadow=0.3), "hair": PartTones(tones=3, threshold_l=35.0)}
    with pytest.raises(SpecError, match="--part"):
        parse_part_overrides(["skin:shadow"])


def test_fitted_frames_are_not_read_twice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fit keeps its frames' labels and L* for the frame pass: those frames' plates are read once, and the
    tones are the same as when every frame is read again."""
    from inkpaint.ops import shade as shade_op

    s = write_scene(tmp_path / "in", frames=4)
    reads: list[int] = []
    real_rgb = shade_op.PlateSource.rgb

    def counting_rgb(self: shade_op.PlateSource, frame: int, window: object = None) -> np.ndarray:
        reads.append(frame)
        return real_rgb(self, frame, window)  # type: ignore[arg-type]

    monkeypatch.setattr(shade_op.PlateSource, "rgb", counting_rgb)
    run_job(ShadeJob(input=s["plate"], mattes=s["mattes"], output=str(tmp_path / "a" / "t.####.exr"), fit_frames="2,3", contact_sheet=False))
    assert sorted(reads) == [1, 2, 3, 4]  # 2 and 3 by the fit only
    reads.clear()
    monkeypatch.setattr(shade_op, "FIT_CACHE_BYTES", 0)
    run_job(ShadeJob(input=s["plate"], mattes=s["mattes"], output=str(tmp_path / "b" / "t.####.exr"), fit_frames="2,3", contact_sheet=False))
    assert sorted(reads) == [1, 2, 2, 3, 3, 4]
    for f in range(1, 5):
        a, b = read_image(str(tmp_path / "a" / f"t.{f:04d}.exr")), read_image(str(tmp_path / "b" / f"t.{f:04d}.exr"))
        assert a.window == b.window and np.array_equal(a.pixels, b.pixels)


def test_two_material_part_through_the_job(tmp_path: Path) -> None:
    """A part of two materials (light jacket, dark shirt; each lit on top, shaded below) on real files: the job
    splits it per material, reports the materials, and the dark shirt's lit side stays base."""
    import cv2

    from cel.test_tones import two_material_frame

    (tmp_path / "plate").mkdir()
    for f in range(1, 4):
        labels, rgb, truth, material = two_material_frame(f)
        cv2.imwrite(str(tmp_path / "plate" / f"p.{f:04d}.png"), cv2.cvtColor(np.rint(rgb * 255).astype(np.uint8), cv2.COLOR_RGB2BGR))
        write_exr(str(tmp_path / f"m.{f:04d}.exr"), {"top.A": (labels > 0).astype(np.float32)}, metadata={"inkpaint:objects": "top"})
    res = run_job(ShadeJob(input=str(tmp_path / "plate" / "p.####.png"), mattes=str(tmp_path / "m.####.exr"), output=str(tmp_path / "t.####.exr"), contact_sheet=False))
    mats = res.summary["tones"]["top"]["materials"]
    assert len(mats) == 2 and {m["method"] for m in mats} <= {"otsu", "clamped", "tail"}
    labels, _, truth, material = two_material_frame(2)
    t = tones_of(str(tmp_path / "t.0002.exr"))
    for k in (1, 2):
        m = material == k
        assert np.mean(t[m] == truth[m]) > 0.95, k
