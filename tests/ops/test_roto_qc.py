"""Roto QC end to end through the CLI (subprocess, real PNG/EXR files through OIIO): names that keep the plate's
padding, per-object confidence in the EXR headers and the result, the contact sheet (pixel colours at known spots),
the --qc overlay sequence, resume, and the frame-pattern error that names other paddings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from inkpaint.io.frames import read_attributes, read_image, write_png
from inkpaint.ops.roto import confidence_report, small_part_report
from inkpaint.qc.contact_sheet import ContactSheet, SheetRow, part_tint

W, H, N = 192, 144, 6
BODY, HEAD = (0.8, 0.8, 0.2), (0.2, 0.8, 0.8)


def _boxes(i: int) -> dict[str, tuple[int, int, int, int]]:
    """x0, y0, x1, y1 of the two parts on frame ``i`` (1-based); both drift right 3 px a frame."""
    dx = 3 * (i - 1)
    return {"body": (50 + dx, 60, 110 + dx, 125), "head": (62 + dx, 20, 98 + dx, 56)}


def _plate(i: int) -> np.ndarray:
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    img = np.stack([0.25 + 0.1 * np.sin(xx / 6), 0.2 + 0.1 * np.cos(yy / 7), 0.3 + 0.1 * np.sin((xx + yy) / 9)], -1)
    for name, colour in (("body", BODY), ("head", HEAD)):
        x0, y0, x1, y1 = _boxes(i)[name]
        tex = 0.05 * np.sin((xx[y0:y1, x0:x1] - 3 * (i - 1)) / 2.0)[..., None]
        img[y0:y1, x0:x1] = np.asarray(colour, np.float32) + tex
    return np.clip(img, 0, 1)


@pytest.fixture(scope="module")
def shot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("qc")
    (root / "shot").mkdir()
    for i in range(1, N + 1):
        write_png(str(root / "shot" / f"{i:05d}.png"), _plate(i))
    objects = []
    for name in ("body", "head"):
        x0, y0, x1, y1 = _boxes(1)[name]
        objects.append({"name": name, "prompts": [{"frame": 1, "box": [x0 - 4, y0 - 4, x1 + 4, y1 + 4],
                                                    "points": [[(x0 + x1) / 2, (y0 + y1) / 2, 1]]}]})
    (root / "prompts.json").write_text(json.dumps({"objects": objects}))
    return root


def inkpaint(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "core")}
    return subprocess.run([sys.executable, "-m", "inkpaint", *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=180)


@pytest.fixture(scope="module")
def first_run(shot: Path) -> dict:
    res = inkpaint("roto", "shot/#####.png", "--prompts", "prompts.json", "--out-dir", "out", "--qc", "-q", cwd=shot)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_out_dir_keeps_the_shot_name_and_padding(shot: Path, first_run: dict) -> None:
    assert first_run["outputs"]["mattes"] == str(shot / "out" / "shot.#####.exr")
    assert sorted(p.name for p in (shot / "out").glob("*.exr")) == [f"shot.{i:05d}.exr" for i in range(1, N + 1)]
    assert first_run["summary"]["frames"] == "1-6" and first_run["summary"]["written"] == "1-6"


def test_confidence_in_every_header_and_in_the_result(shot: Path, first_run: dict) -> None:
    for i in range(1, N + 1):
        conf = json.loads(read_attributes(str(shot / "out" / f"shot.{i:05d}.exr"))["inkpaint:confidence"])
        assert set(conf) == {"body", "head"} and all(0.0 <= v <= 1.0 for v in conf.values())
        if i == 1:
            assert conf == {"body": 1.0, "head": 1.0}  # the keyframe
    summary = first_run["summary"]["confidence"]
    assert set(summary) == {"body", "head"} and summary["body"]["mean"] > 0.5  # an easy shot: no low frames
    assert isinstance(first_run["summary"]["notes"], list)


def test_contact_sheet_shows_each_part_in_its_tint_at_its_place(shot: Path, first_run: dict) -> None:
    path = first_run["outputs"]["contact_sheet"]
    assert path == str(shot / "out" / "shot.contact.png") and os.path.isfile(path)
    sheet = read_image(path).pixels[..., :3]
    layout = ContactSheet("", ["plate", "parts"], [SheetRow([np.zeros((H, W, 3))] * 2)] * N)  # the op's geometry
    assert sheet.shape[1] == layout.render().shape[1]
    for row, frame in enumerate(range(1, N + 1)):  # 6 frames: every frame is a row
        for k, (name, colour) in enumerate((("body", BODY), ("head", HEAD))):
            x0, y0, x1, y1 = _boxes(frame)[name]
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            bx, by, bw, bh = layout.cell_box(row, 1)
            got = sheet[int(by + cy * bh / H), int(bx + cx * bw / W)]
            want = 0.45 * np.asarray(colour) + 0.55 * part_tint(k)
            assert np.abs(got - want).max() < 0.12, (frame, name, got, want)
            px, py, _, _ = layout.cell_box(row, 0)
            plate = sheet[int(py + cy * bh / H), int(px + cx * bw / W)]
            assert np.abs(plate - np.asarray(colour)).max() < 0.12, (frame, name, plate)  # the plate column is untinted
        bx, by, bw, bh = layout.cell_box(row, 1)
        corner = sheet[int(by + 5), int(bx + 5)]  # background: not tinted
        assert np.abs(corner - sheet[int(by + 5), int(layout.cell_box(row, 0)[0] + 5)]).max() < 0.05


def test_qc_overlay_sequence(shot: Path, first_run: dict) -> None:
    assert first_run["outputs"]["qc"] == str(shot / "out" / "shot.qc.#####.png")
    for i in range(1, N + 1):
        img = read_image(str(shot / "out" / f"shot.qc.{i:05d}.png")).pixels[..., :3]
        assert img.shape == (H, W, 3)
        x0, y0, x1, y1 = _boxes(i)["head"]
        got = img[(y0 + y1) // 2, (x0 + x1) // 2]
        assert np.abs(got - (0.45 * np.asarray(HEAD) + 0.55 * part_tint(1))).max() < 0.1


def test_rerun_skips_and_still_reports_confidence(shot: Path, first_run: dict) -> None:
    os.remove(shot / "out" / "shot.contact.png")
    res = inkpaint("roto", "shot/#####.png", "--prompts", "prompts.json", "--out-dir", "out", "--qc", "-q", cwd=shot)
    assert res.returncode == 0, res.stderr
    again = json.loads(res.stdout)
    assert again["summary"]["skipped"] == "1-6" and again["summary"]["written"] == ""
    assert again["summary"]["confidence"] == first_run["summary"]["confidence"]  # read back from the EXR headers
    assert os.path.isfile(again["outputs"]["contact_sheet"])  # regenerated
    assert '"skipped": [1, 2, 3, 4, 5, 6]' in res.stdout  # frame lists on one line


def test_no_frames_found_names_the_pattern_and_other_padding(shot: Path) -> None:
    res = inkpaint("roto", "shot/####.png", "--prompts", "prompts.json", "--out-dir", "out2", "-q", cwd=shot)
    assert res.returncode != 0
    assert "shot/####.png" in res.stderr and "'0001.png'" in res.stderr
    assert "5-digit" in res.stderr and "#####.png" in res.stderr and "00001.png" in res.stderr


def test_confidence_report_names_runs_and_the_worst_frame() -> None:
    conf = {f: {"fg": 0.9, "bg": 0.8} for f in range(1001, 1041)}
    for f, v in zip(range(1023, 1032), (0.4, 0.3, 0.2, 0.1, 0.2, 0.3, 0.4, 0.45, 0.49)):
        conf[f]["fg"] = v
    conf[1040]["bg"] = 0.1
    rep = confidence_report(conf, ["fg", "bg"], list(range(1001, 1041)))
    assert rep["objects"]["fg"]["low_frames"] == "1023-1031" and rep["objects"]["bg"]["low_frames"] == "1040"
    assert rep["notes"][0].startswith("fg: low confidence on frames 1023-1031 (lowest 0.10 on 1026")
    assert rep["notes"][1].startswith("bg: low confidence on frame 1040")
    small = small_part_report({f: {"shoe": 400 if f < 5 else 3} for f in range(10)}, ["shoe"], list(range(10)))
    assert small["objects"] == {"shoe": "5-9"} and "shoe: below 16 px on frames 5-9" in small["notes"][0]
