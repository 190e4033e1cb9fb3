"""The ``inkpaint`` CLI run as a subprocess: the roto job end to end, ``run job.json``, resume, and every bad input.

Every bad input must exit with status 1, print a message naming the frame, file or field, and leave nothing
half-written (no temp files, no partial frames).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

from inkpaint.demo import make_clip
from inkpaint.io.atomic import TEMP_MARK
from inkpaint.io.frames import read_image, write_exr, write_png

FRAMES = 6
SIZE = (96, 72)


@pytest.fixture(scope="module")
def clean_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("clip")
    make_clip(folder, FRAMES, SIZE)
    return folder


@pytest.fixture()
def clip(clean_clip: Path, tmp_path: Path) -> Path:
    """A private copy of the clip (plate/demo.####.exr + prompts.json) that a test may damage."""
    dest = tmp_path / "shot"
    shutil.copytree(clean_clip, dest)
    return dest


def inkpaint(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "inkpaint", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env={**os.environ, **(env or {})}, timeout=timeout)


def roto(clip: Path, *extra: str | Path, out: str | Path | None = None, prompts: Path | None = None) -> subprocess.CompletedProcess[str]:
    return inkpaint("roto", clip / "plate" / "demo.####.exr", "--prompts", prompts or clip / "prompts.json",
                    "--out", out or clip / "roto" / "m.####.exr", "-q", *extra)


def leftovers(folder: Path) -> list[str]:
    """Every file and folder under ``folder`` (hidden ones included)."""
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def assert_failed(res: subprocess.CompletedProcess[str], *words: str) -> None:
    assert res.returncode == 1, f"exit {res.returncode}\nstdout: {res.stdout}\nstderr: {res.stderr}"
    assert "inkpaint: error:" in res.stderr and "Traceback" not in res.stderr, res.stderr
    for w in words:
        assert w in res.stderr, f"{w!r} not in: {res.stderr}"


def write_prompts(path: Path, objects: list[dict]) -> Path:
    path.write_text(json.dumps({"objects": objects}))
    return path


# ---------------------------------------------------------------------------------------------------------------
# The happy path


def test_roto_writes_one_exr_per_frame_with_object_layers_contours_and_manifest(clip: Path) -> None:
    res = roto(clip, "--contours")
    assert res.returncode == 0, res.stderr
    result = json.loads(res.stdout)
    assert result["written"] == list(range(1, FRAMES + 1)) and result["skipped"] == []
    job_hash = result["job_hash"]
    for f in range(1, FRAMES + 1):
        path = clip / "roto" / f"m.{f:04d}.exr"
        inp = oiio.ImageInput.open(str(path))
        spec = inp.spec()
        inp.close()
        assert sorted(spec.channelnames) == ["A", "ball.A", "block.A"]
        assert all(spec.channelformat(i) == oiio.HALF for i in range(spec.nchannels))
        assert spec.get_string_attribute("inkpaint:job_hash") == job_hash
        img = read_image(str(path))
        ball, block, union = img.channel("ball.A"), img.channel("block.A"), img.channel("A")
        if f <= 3:  # before the ball passes over the block (tracking quality is the backend's tests' business)
            assert (ball > 0.5).sum() > 200 and (block > 0.5).sum() > 100, f"frame {f} lost an object"
        assert not ((ball > 0.5) & (block > 0.5)).any(), "objects overlap"
        np.testing.assert_allclose(union, np.clip(ball + block, 0, 1), atol=2e-3)
        contours = json.loads((clip / "roto" / f"m.{f:04d}.contours.json").read_text())
        assert contours["frame"] == f and contours["job_hash"] == job_hash
        assert (contours["width"], contours["height"], contours["origin"]) == (*SIZE, "top-left")
        outline = contours["objects"]["ball"][0]
        assert outline["hole"] is False and len(outline["points"]) >= 4
    manifest = json.loads((clip / "roto" / "m.inkpaint.json").read_text())
    assert manifest["result"]["job_hash"] == job_hash and manifest["job"]["type"] == "roto"
    assert result["manifest"] == str(clip / "roto" / "m.inkpaint.json")
    assert not [n for n in leftovers(clip / "roto") if TEMP_MARK in n or "inkpaint-work" in n]


def test_rerun_skips_complete_frames_and_another_job_needs_overwrite(clip: Path) -> None:
    assert roto(clip, "--frames", "1-4").returncode == 0
    res = roto(clip, "--frames", "1-4")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["written"] == [] and json.loads(res.stdout)["skipped"] == [1, 2, 3, 4]
    before = (clip / "roto" / "m.0002.exr").stat().st_mtime_ns
    res = roto(clip, "--frames", "1-4", "--compression", "piz")  # a different job, same outputs
    assert_failed(res, "written by a different job", "m.0001.exr", "--overwrite")
    assert (clip / "roto" / "m.0002.exr").stat().st_mtime_ns == before
    res = roto(clip, "--frames", "1-4", "--compression", "piz", "--overwrite")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["written"] == [1, 2, 3, 4]
    assert read_image(str(clip / "roto" / "m.0002.exr")).attributes["compression"] == "piz"


def test_run_saved_spec_with_paths_relative_to_the_spec(clip: Path, tmp_path: Path) -> None:
    spec = json.loads(roto(clip, "--dry-run", "--contours").stdout)
    assert spec["schema_version"] == 1 and spec["type"] == "roto"
    spec["input"] = "plate/demo.####.exr"
    spec["output"] = "roto/m.####.exr"
    write_png(str(clip / "ballmask.png"), np.pad(np.ones((20, 20), np.float32), ((10, 42), (20, 56))))
    spec["objects"][0]["prompts"] = [{"frame": 1, "mask": "ballmask.png"}]
    (clip / "job.json").write_text(json.dumps(spec))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    res = inkpaint("run", clip / "job.json", "-q", cwd=elsewhere)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["outputs"]["mattes"] == str(clip / "roto" / "m.####.exr")
    assert len(list((clip / "roto").glob("m.*.exr"))) == FRAMES
    assert leftovers(elsewhere) == []
    first = read_image(str(clip / "roto" / "m.0001.exr")).channel("ball.A")
    assert abs(int((first > 0.5).sum()) - 400) < 40  # the mask prompt, as given


def test_save_job_then_run_it_with_a_progress_bar(clip: Path) -> None:
    res = inkpaint("roto", clip / "plate" / "demo.####.exr", "--prompts", clip / "prompts.json", "--out",
                   clip / "roto" / "m.####.exr", "--frames", "1-3", "--save-job", clip / "saved.json")
    assert res.returncode == 0, res.stderr
    assert re.search(r"roto \[#{28}\] 3/3 frame \d+ +[\d.]+ fps", res.stderr), res.stderr  # stderr, not a tty
    res = inkpaint("run", clip / "saved.json", "-q")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["skipped"] == [1, 2, 3]  # the same job: everything already done


def test_nan_pixels_are_sanitised_with_a_warning(clip: Path) -> None:
    path = clip / "plate" / "demo.0003.exr"
    img = read_image(str(path))
    px = img.pixels.copy()
    px[5:9, 5:9, 0] = np.nan
    px[10, 10, 1] = np.inf
    write_exr(str(path), {c: px[..., i] for i, c in enumerate(img.channels)}, dtype="float")
    res = roto(clip)
    assert res.returncode == 0, res.stderr
    assert "frame 3" in res.stderr and "demo.0003.exr" in res.stderr and "17 NaN/inf" in res.stderr
    assert len(list((clip / "roto").glob("m.*.exr"))) == FRAMES


def test_objects_subset(clip: Path) -> None:
    res = roto(clip, "--objects", "block", "--frames", "1-2")
    assert res.returncode == 0, res.stderr
    assert sorted(read_image(str(clip / "roto" / "m.0001.exr")).channels) == ["A", "block.A"]


# ---------------------------------------------------------------------------------------------------------------
# Bad input: exit 1, a message naming the frame/file/field, nothing written


def test_missing_frames_in_the_range(clip: Path) -> None:
    res = roto(clip, "--frames", "1-9")
    assert_failed(res, "3 frame(s)", "7-9", "demo.0007.exr")
    assert leftovers(clip / "roto") == []


def test_hole_in_the_plate(clip: Path) -> None:
    (clip / "plate" / "demo.0004.exr").unlink()
    assert_failed(roto(clip), "frame 4", "demo.0004.exr", "missing")
    assert leftovers(clip / "roto") == []


def test_unreadable_file_fails_before_anything_is_written(clip: Path) -> None:
    (clip / "plate" / "demo.0004.exr").write_bytes(b"this is not an EXR file" * 10)
    assert_failed(roto(clip), "frame 4", "demo.0004.exr", "not an OpenEXR file")
    assert leftovers(clip / "roto") == []


def test_truncated_file_mid_sequence_keeps_only_complete_frames(clip: Path) -> None:
    path = clip / "plate" / "demo.0004.exr"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    res = roto(clip, "--direction", "forward")
    assert_failed(res, "frame 4", "demo.0004.exr", "cannot decode pixels")
    names = leftovers(clip / "roto")
    assert not [n for n in names if TEMP_MARK in n or "inkpaint-work" in n], names
    for n in names:  # whatever frames exist are whole frames of this job
        assert read_image(str(clip / "roto" / n)).attributes["inkpaint:job_hash"]
    assert "m.0004.exr" not in names


def test_resolution_change_mid_sequence(clip: Path) -> None:
    path = clip / "plate" / "demo.0005.exr"
    write_exr(str(path), {c: np.zeros((SIZE[1] + 2, SIZE[0])) for c in "RGB"})
    assert_failed(roto(clip), "frame 5", "demo.0005.exr", "resolution changes", f"{SIZE[0]}x{SIZE[1] + 2}")
    assert leftovers(clip / "roto") == []


@pytest.mark.parametrize(
    "prompt, words",
    [
        ({"frame": 1, "points": [[SIZE[0] + 5, 10, 1]]}, ["objects[0].prompts[0].points[0]", "outside the 96x72 image"]),
        ({"frame": 1, "box": [10, 10, 50, SIZE[1] + 1]}, ["objects[0].prompts[0].box", "outside the 96x72 image"]),
        ({"frame": 9, "box": [10, 10, 50, 50]}, ["objects[0].prompts[0].frame", "frame 9", "outside the frames"]),
        ({"frame": 1, "mask": ""}, ["objects[0].prompts[0].mask", "empty path"]),
        ({"frame": 1, "mask": "black.png"}, ["objects[0].prompts[0].mask", "black.png", "is empty"]),
        ({"frame": 1, "mask": "nothere.png"}, ["objects[0].prompts[0].mask", "nothere.png"]),
        ({"frame": 1}, ["objects[0].prompts[0]", "at least one of points, box or mask"]),
    ],
)
def test_bad_prompts(clip: Path, prompt: dict, words: list[str]) -> None:
    write_png(str(clip / "black.png"), np.zeros((SIZE[1], SIZE[0]), np.float32))
    p = write_prompts(clip / "bad_prompts.json", [{"name": "dancer", "prompts": [prompt]}])
    assert_failed(roto(clip, prompts=p), *words)
    assert leftovers(clip / "roto") == []


def test_prompt_on_a_frame_outside_an_explicit_range(clip: Path) -> None:
    assert_failed(roto(clip, "--frames", "2-4"), "objects[0].prompts[0].frame", "frame 1", "2-4")
    assert leftovers(clip / "roto") == []


def test_duplicate_object_names(clip: Path) -> None:
    obj = {"name": "dancer", "prompts": [{"frame": 1, "box": [1, 1, 20, 20]}]}
    p = write_prompts(clip / "dup.json", [obj, obj])
    assert_failed(roto(clip, prompts=p), "dup.json", "objects[1].name", "duplicate object name 'dancer'")
    assert leftovers(clip / "roto") == []


def test_unknown_object_names(clip: Path) -> None:
    assert_failed(roto(clip, "--objects", "ball,hair"), "--objects", "unknown object name 'hair'", "ball, block")
    assert leftovers(clip / "roto") == []


def test_invalid_object_name(clip: Path) -> None:
    p = write_prompts(clip / "n.json", [{"name": "left arm", "prompts": [{"frame": 1, "box": [1, 1, 20, 20]}]}])
    assert_failed(roto(clip, prompts=p), "objects[0].name", "'left arm'", "not a valid layer name")


def test_output_folder_that_cannot_be_created(clip: Path) -> None:
    (clip / "afile").write_text("not a folder")
    assert_failed(roto(clip, out=clip / "afile" / "roto" / "m.####.exr"), "cannot create output folder", "afile")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can write into read-only folders")
def test_read_only_output_folder(clip: Path) -> None:
    ro = clip / "readonly"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        assert_failed(roto(clip, out=ro / "m.####.exr"), "not writable", "readonly")
        assert leftovers(ro) == []
    finally:
        ro.chmod(0o755)


def test_output_pattern_without_a_frame_token(clip: Path) -> None:
    assert_failed(roto(clip, out=clip / "roto" / "m.exr"), "output", "has no frame token", "####")
    assert leftovers(clip / "roto") == []


def test_output_onto_the_plate_is_refused(clip: Path) -> None:
    assert_failed(roto(clip, out=clip / "plate" / "demo.%04d.exr"), "output", "input plate")


def test_spec_from_a_newer_schema(clip: Path) -> None:
    spec = json.loads(roto(clip, "--dry-run").stdout)
    spec["schema_version"] = 99
    (clip / "future.json").write_text(json.dumps(spec))
    assert_failed(inkpaint("run", clip / "future.json"), "schema_version", "newer inkpaint (schema 99)")
    assert leftovers(clip / "roto") == []


def test_spec_field_error_through_run(clip: Path) -> None:
    spec = json.loads(roto(clip, "--dry-run").stdout)
    spec["objects"][1]["prompts"][0]["box"] = [1, 2, 3]
    (clip / "bad.json").write_text(json.dumps(spec))
    assert_failed(inkpaint("run", clip / "bad.json"), "objects[1].prompts[0].box", "expected 4 values")


def test_unknown_backend(clip: Path) -> None:
    assert_failed(roto(clip, "--backend", "magic"), "backend", "unknown backend 'magic'", "classic")


def test_usage_errors_exit_2() -> None:
    res = inkpaint("roto")
    assert res.returncode == 2 and "--prompts" in res.stderr
    assert inkpaint("--version").stdout.startswith("inkpaint ")
