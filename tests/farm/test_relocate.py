"""A shot folder that moves (a farm's storage, an archive) keeps validating and resuming: manifests record paths
relative to themselves and job hashes key on paths inside the shot folder relative to the output."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from farmkit import inkpaint
from farm_shot import cel_spec, save

from inkpaint.farm.paths import relocatable, shot_root


def test_paths_inside_the_shot_are_relative_outside_absolute() -> None:
    spec = {"type": "cel", "input": "/s/sh010/plate/p.####.exr", "out_dir": "/s/sh010/cel", "palette": "/s/sh010/pal.yml",
            "over": "/show/bg/bg.exr", "color": {"ocio_config": "ocio://default"}}
    assert shot_root(spec, None) == "/s/sh010" or shot_root(spec, None) is not None
    rel = relocatable(spec, None)
    assert rel["input"] == "../plate/p.####.exr" and rel["out_dir"] == "." and rel["palette"] == "../pal.yml"
    assert rel["over"] == "/show/bg/bg.exr"  # a show-wide file did not move with the shot
    assert rel["color"]["ocio_config"] == "ocio://default"
    moved = json.loads(json.dumps(spec).replace("/s/sh010", "/archive/2026/sh010"))
    assert relocatable(moved, None) == rel
    assert relocatable(rel, "/archive/2026/sh010/cel") == rel  # idempotent from the manifest's folder


def test_unrelated_folders_have_no_shot_root() -> None:
    spec = {"type": "roto", "input": "/plates/p.####.exr", "output": "/renders/m.####.exr"}
    assert shot_root(spec, None) is None
    assert relocatable(spec, None)["input"] == "/plates/p.####.exr"


def _validation_errors(folder: Path) -> list[str]:
    p = inkpaint("farm", "validate", str(folder), check=False)
    assert p.returncode in (0, 1), p.stderr[-2000:]
    return sorted(json.loads(p.stdout)["errors"])


@pytest.mark.slow
def test_a_moved_shot_folder_validates_and_resumes(tmp_path: Path, shot: dict[str, Any]) -> None:
    spec_path = save(cel_spec(shot, str(tmp_path / "shot" / "cel")), tmp_path / "shot" / "cel.json")
    first = json.loads(inkpaint("run", str(spec_path), "-q").stdout)
    manifest = json.loads((tmp_path / "shot" / "cel" / "sh.inkpaint.json").read_text())
    assert manifest["job"]["input"] == os.path.join("..", "plate", "sh.####.exr")
    assert all(not os.path.isabs(p) for p in manifest["result"]["outputs"].values())

    before = _validation_errors(tmp_path / "shot" / "cel")
    shutil.move(str(tmp_path / "shot"), str(tmp_path / "archive" / "shot"))
    new = tmp_path / "archive" / "shot"
    after = _validation_errors(new / "cel")
    # moving adds no failure (and with every check passing in place, none after the move either)
    assert after == [e.replace(str(tmp_path / "shot"), str(new)) for e in before]
    spec = json.loads((new / "cel.json").read_text().replace(str(tmp_path / "shot"), str(new)))
    again = json.loads(inkpaint("run", str(save(spec, new / "cel_moved.json")), "-q").stdout)
    assert again["job_hash"] == first["job_hash"] and again["written"] == [] and len(again["skipped"]) == 6
