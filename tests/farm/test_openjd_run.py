"""Real ``openjd run`` of generated bundles: outputs equal ``inkpaint run`` of the same spec, the validate step passes,
and a job spec from a newer inkpaint fails the session at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from farmkit import assert_same_outputs, inkpaint, openjd_run
from farm_shot import cel_spec, roto_spec, save


def _bundle(spec_path: Path, out: Path, *args: str) -> dict[str, Any]:
    return json.loads(inkpaint("farm", "bundle", str(spec_path), "--out", str(out), *args).stdout)


def _rerun_whole(spec: Path, produced: Path) -> Path:
    """Move the farm's outputs aside, run the same spec with ``inkpaint run`` into the same place; return the farm copy."""
    farm = produced.with_name(produced.name + "_farm")
    produced.rename(farm)
    inkpaint("run", str(spec), "-q")
    return farm


@pytest.mark.slow
def test_roto_bundle_runs_as_one_task_and_equals_inkpaint_run(tmp_path: Path, shot: dict[str, Any]) -> None:
    spec = save(roto_spec(shot, str(tmp_path / "shot" / "roto" / "sh.####.exr")), tmp_path / "shot" / "roto.json")
    info = _bundle(spec, tmp_path / "b_roto", "--chunk", "2", "--validate")
    assert info["steps"] == ["roto", "validate"] and info["chunk"] is None
    log = openjd_run(tmp_path / "b_roto")
    assert "Frames(CHUNK[INT])" not in log.stdout  # roto is never chunked
    assert (tmp_path / "shot" / "roto" / "sh.inkpaint.json").is_file()
    farm = _rerun_whole(tmp_path / "b_roto" / "job.json", tmp_path / "shot" / "roto")
    assert assert_same_outputs(farm, tmp_path / "shot" / "roto") == 6


@pytest.mark.slow
def test_cel_bundle_fit_chunked_render_validate_equals_inkpaint_run(tmp_path: Path, shot: dict[str, Any]) -> None:
    spec = save(cel_spec(shot, str(tmp_path / "shot" / "cel")), tmp_path / "shot" / "cel.json")
    info = _bundle(spec, tmp_path / "b_cel", "--chunk", "2", "--validate")
    assert info["steps"] == ["fit", "render", "finalize", "validate"] and info["chunk"] == 2
    log = openjd_run(tmp_path / "b_cel", "--step", "validate", "--run-dependencies").stdout
    chunks = [line.split("= ")[-1].strip() for line in log.splitlines() if "Frames(CHUNK[INT]) =" in line]
    assert chunks == ["1-2", "3-4", "5-6"]
    assert '"ok": true' in log
    farm = _rerun_whole(tmp_path / "b_cel" / "job.json", tmp_path / "shot" / "cel")
    assert assert_same_outputs(farm, tmp_path / "shot" / "cel") == 6 * 4 + 1  # roto, tone, ink, cel frames + tone model


def test_a_spec_from_a_newer_inkpaint_fails_the_session_at_once(tmp_path: Path, shot: dict[str, Any]) -> None:
    spec = save(cel_spec(shot, str(tmp_path / "shot" / "cel")), tmp_path / "shot" / "cel.json")
    _bundle(spec, tmp_path / "b", "--chunk", "3")
    job = tmp_path / "b" / "job.json"
    data = json.loads(job.read_text())
    data["schema_version"] = 99
    job.write_text(json.dumps(data))
    p = openjd_run(tmp_path / "b", "--step", "render", "--run-dependencies", check=False)
    assert p.returncode != 0
    assert "newer inkpaint (schema 99)" in p.stdout
    assert "Running step" not in p.stdout  # the session failed entering its environment, before any task
    assert not (tmp_path / "shot" / "cel").exists()
