"""Paint on the farm: one task per keyframe span (``inkpaint run job.json --frames <span>``) then a finalize run
that propagates nothing; a real ``openjd run`` of a two-key bundle gives the same files as one ``inkpaint run``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from farmkit import assert_same_outputs, frame_files, inkpaint, openjd_run
from farm_shot import save
from test_bundle import _check

FRAMES = 8


def _line(shift: int) -> np.ndarray:
    img = np.full((48, 72, 3), 255, np.uint8)
    x0 = 6 + shift
    img[8:40, x0] = img[8:40, x0 + 40] = img[8:40, x0 + 20] = 0
    img[8, x0:x0 + 41] = img[39, x0:x0 + 41] = 0
    return img


def _key(shift: int, left: tuple[int, int, int], right: tuple[int, int, int]) -> np.ndarray:
    img = np.full((48, 72, 3), 255, np.uint8)
    x0 = 6 + shift
    img[9:39, x0 + 1:x0 + 20] = left
    img[9:39, x0 + 21:x0 + 40] = right
    return img


def paint_shot(folder: Path, keys: tuple[int, ...] = (1, 5), direction: str = "forward") -> Path:
    """Line art 1..8 moving right, keyframes without a palette (the second key brings new colours, so the colour
    table grows with the keys: a span task must read the earlier keys first). Returns the spec path."""
    from inkpaint.io.frames import write_png

    (folder / "line").mkdir(parents=True, exist_ok=True)
    for f in range(1, FRAMES + 1):
        write_png(str(folder / "line" / f"{f:04d}.png"), _line(f - 1))
    colours = [((240, 200, 180), (115, 156, 150)), ((200, 60, 60), (60, 60, 200))]
    spec_keys = []
    for i, k in enumerate(keys):
        write_png(str(folder / f"key{k}.png"), _key(k - 1, *colours[i % 2]))
        spec_keys.append({"frame": k, "image": str(folder / f"key{k}.png")})
    spec = {"schema_version": 1, "type": "paint", "input": str(folder / "line" / "####.png"),
            "output": str(folder / "paint" / "####.png"), "keys": spec_keys, "direction": direction,
            "method": "classic"}
    return save(spec, folder / "paint.json")


def _bundle(spec: Path, out: Path, *args: str) -> dict[str, Any]:
    return json.loads(inkpaint("farm", "bundle", str(spec), "--out", str(out), *args).stdout)


def _stamp(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (os.stat(p).st_ino, os.stat(p).st_mtime_ns) for p in folder.iterdir() if not p.name.startswith(".")}


def test_two_keys_bundle_one_task_per_span_and_a_finalize(tmp_path: Path) -> None:
    spec = paint_shot(tmp_path / "shot")
    info = _bundle(spec, tmp_path / "b", "--validate")
    assert info["steps"] == ["paint", "finalize", "validate"] and info["spans"] == ["1-4", "5-8"]
    _check(tmp_path / "b" / "template.yaml")
    steps = {s["name"]: s for s in yaml.safe_load((tmp_path / "b" / "template.yaml").read_text())["steps"]}
    (param,) = steps["paint"]["parameterSpace"]["taskParameterDefinitions"]
    assert param == {"name": "Frames", "type": "STRING", "range": ["1-4", "5-8"]}
    assert '--frames "{{Task.Param.Frames}}"' in steps["paint"]["script"]["embeddedFiles"][0]["data"]
    assert steps["finalize"]["dependencies"] == [{"dependsOn": "paint"}]
    assert "--frames" not in steps["finalize"]["script"]["embeddedFiles"][0]["data"]
    # backward: key 1 paints 1, key 5 paints 2-8
    back = paint_shot(tmp_path / "back", direction="backward")
    assert _bundle(back, tmp_path / "bb")["spans"] == ["1", "2-8"]
    # one keyframe: one task over the shot, as before
    one = paint_shot(tmp_path / "one", keys=(3,))
    info = _bundle(one, tmp_path / "b1")
    assert info["steps"] == ["paint"] and info["spans"] == ["1-8"]
    assert "parameterSpace" not in yaml.safe_load((tmp_path / "b1" / "template.yaml").read_text())["steps"][0]
    # part of a job: whole spans only, and no finalize
    assert _bundle(spec, tmp_path / "b2", "--frames", "5-8")["steps"] == ["paint"]
    p = inkpaint("farm", "bundle", str(spec), "--out", str(tmp_path / "b3"), "--frames", "3-8", check=False)
    assert p.returncode != 0 and "cuts the keyframe span 1-4" in p.stderr and "1-4, 5-8" in p.stderr


def test_a_task_must_give_whole_spans(tmp_path: Path) -> None:
    spec = paint_shot(tmp_path / "shot")
    p = inkpaint("run", str(spec), "--frames", "2-6", check=False)
    assert p.returncode != 0 and "cuts the keyframe span 1-4" in p.stderr, p.stderr
    assert not (tmp_path / "shot" / "paint").exists()
    res = json.loads(inkpaint("run", str(spec), "--frames", "5-8", "-q").stdout)
    assert res["written"] == [5, 6, 7, 8] and res["manifest"] is None  # a span finishes no job
    assert sorted(p.name for p in (tmp_path / "shot" / "paint").glob("????.png")) == [f"{f:04d}.png" for f in range(5, 9)]


def test_openjd_run_of_a_two_key_paint_bundle_equals_inkpaint_run(tmp_path: Path) -> None:
    spec = paint_shot(tmp_path / "shot")
    _bundle(spec, tmp_path / "b")
    log = openjd_run(tmp_path / "b", "--step", "paint").stdout
    tasks = [line.split("= ")[-1].strip() for line in log.splitlines() if "Frames(STRING) =" in line]
    assert tasks == ["1-4", "5-8"], log[-3000:]
    out = tmp_path / "shot" / "paint"
    assert not (out / "inkpaint.json").exists() and not list(out.glob("*.inkpaint.json"))  # spans write no manifest
    before = _stamp(out)
    assert len(frame_files(out)) == FRAMES * 5  # fill, lines, labels, segments, qc
    openjd_run(tmp_path / "b", "--step", "finalize")
    after = _stamp(out)
    new = sorted(set(after) - set(before))
    assert [n for n in new if not n.endswith(".inkpaint.json")] == []  # the finalize run wrote only the manifest
    assert {n: after[n] for n in before if n in after} == {n: v for n, v in before.items() if n in after}
    (manifest,) = [out / n for n in new]
    result = json.loads(manifest.read_text())["result"]
    assert result["written"] == [] and result["summary"]["propagated_frames"] == 0
    assert sorted(map(int, result["summary"]["per_frame"])) == list(range(1, FRAMES + 1))
    # the same spec as one inkpaint run into the same place
    farm = out.with_name("paint_farm")
    out.rename(farm)
    whole = json.loads(inkpaint("run", str(tmp_path / "b" / "job.json"), "-q").stdout)
    assert whole["summary"]["propagated_frames"] == FRAMES
    assert assert_same_outputs(farm, out) == FRAMES * 5
    farm_summary = {k: v for k, v in result["summary"].items() if k not in ("seconds", "propagated_frames")}
    assert farm_summary == {k: v for k, v in whole["summary"].items() if k not in ("seconds", "propagated_frames")}
