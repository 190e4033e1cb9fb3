"""Job specs: JSON round trip, validation errors that name the field, schema versions, relative paths."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from inkpaint.errors import SpecError
from inkpaint.ops.roto import Prompt, RotoJob, RotoObject
from inkpaint.spec import SCHEMA_VERSION, ColorSettings, OutputSettings, load_job, resolve_path


def _job(**changes: Any) -> RotoJob:
    base: dict[str, Any] = dict(
        input="/plates/shot.####.exr",
        output="/roto/shot.####.exr",
        objects=[
            RotoObject("dancer", [Prompt(1001, points=[(412.0, 230.0, 1), (380.0, 400.0, 0)]),
                                  Prompt(1001, box=(300.0, 120.0, 520.0, 470.0)),
                                  Prompt(1040, mask="fix_040.png")]),
            RotoObject("hair", [Prompt(1010, box=(10.0, 10.0, 50.0, 60.0))]),
        ],
        frames="1001-1100",
        contours=True,
        color=ColorSettings(input_colorspace="ACEScg", ocio_config="/studio/config.ocio"),
        output_options=OutputSettings(compression="dwaa", overwrite=False),
    )
    base.update(changes)
    return RotoJob(**base)


def _dict(**changes: Any) -> dict[str, Any]:
    return _job(**changes).to_dict()


def test_round_trip_through_json_text_file_and_dict(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)  # the relative mask resolves against the spec's folder once saved, the cwd before
    job = _job()
    assert load_job(job.to_json()) == job
    assert load_job(json.loads(job.to_json())) == job
    path = tmp_path / "job.json"
    job.save(path)
    loaded = load_job(path)
    assert loaded == job and isinstance(loaded, RotoJob)
    assert loaded.job_hash() == job.job_hash()
    data = json.loads(path.read_text())
    assert list(data)[:2] == ["schema_version", "type"] and data["schema_version"] == SCHEMA_VERSION
    assert data["objects"][0]["prompts"][0]["points"] == [[412.0, 230.0, 1], [380.0, 400.0, 0]]


def test_job_hash_tracks_results_not_the_overwrite_flag_or_device() -> None:
    h = _job().job_hash()
    assert _job(output_options=OutputSettings(compression="dwaa", overwrite=True)).job_hash() == h
    assert _job(backend_options={"device": "cuda"}).job_hash() == h
    assert _job(frames="1001-1050").job_hash() != h
    assert _job(output_options=OutputSettings(compression="zip")).job_hash() != h
    assert len(h) == 16


@pytest.mark.parametrize(
    "mutate, field, words",
    [
        (lambda d: d["objects"][0]["prompts"][1].update(box=[300, 120, 520]), "objects[0].prompts[1].box", "4 values"),
        (lambda d: d["objects"][0]["prompts"][1].update(box=[520, 120, 300, 470]), "objects[0].prompts[1].box", "x1 > x0"),
        (lambda d: d["objects"][0]["prompts"][0]["points"][1].__setitem__(2, 5), "objects[0].prompts[0].points[1]", "label"),
        (lambda d: d["objects"][0]["prompts"][0]["points"][0].__setitem__(0, "x"), "objects[0].prompts[0].points[0][0]", "number"),
        (lambda d: d["objects"][0]["prompts"][0].update(points=[]), "objects[0].prompts[0].points", "empty"),
        (lambda d: d["objects"][0]["prompts"][2].update(mask=""), "objects[0].prompts[2].mask", "empty"),
        (lambda d: d["objects"][1]["prompts"][0].update(frame="ten"), "objects[1].prompts[0].frame", "integer"),
        (lambda d: d["objects"][1]["prompts"][0].pop("box"), "objects[1].prompts[0]", "at least one"),
        (lambda d: d["objects"][1]["prompts"][0].update(boxx=[1, 2, 3, 4]), "objects[1].prompts[0].boxx", "unknown field"),
        (lambda d: d["objects"][1].update(name="hair-2"), "objects[1].name", "valid layer name"),
        (lambda d: d["objects"][1].update(name="dancer"), "objects[1].name", "duplicate"),
        (lambda d: d["objects"][1].update(name="rgba"), "objects[1].name", "reserved"),
        (lambda d: d["objects"][1].update(prompts=[]), "objects[1].prompts", "no prompts"),
        (lambda d: d.update(objects=[]), "objects", "no objects"),
        (lambda d: d.pop("input"), "input", "required"),
        (lambda d: d.update(output="/roto/shot.exr"), "output", "frame token"),
        (lambda d: d.update(output="/roto/shot.####.png"), "output", ".exr"),
        (lambda d: d.update(output="/plates/shot.%04d.exr"), "output", "input plate"),
        (lambda d: d.update(frames="1100-1001"), "frames", "ends before"),
        (lambda d: d.update(direction="sideways"), "direction", "one of"),
        (lambda d: d.update(backend="nope"), "backend", "unknown backend"),
        (lambda d: d.update(contour_tolerance=float("nan")), "contour_tolerance", "finite"),
        (lambda d: d["output_options"].update(overwrite="yes"), "output_options.overwrite", "true or false"),
        (lambda d: d["color"].update(ocio_config=3), "color.ocio_config", "string"),
    ],
)
def test_validation_errors_name_the_field(mutate: Any, field: str, words: str) -> None:
    data = _dict()
    mutate(data)
    with pytest.raises(SpecError) as info:
        load_job(data)
    assert info.value.field == field, str(info.value)
    assert words in str(info.value)


def test_newer_schema_is_refused_with_an_upgrade_hint() -> None:
    data = _dict()
    data["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(SpecError) as info:
        load_job(data)
    assert info.value.field == "schema_version"
    assert "newer inkpaint" in str(info.value) and "Upgrade" in str(info.value)


@pytest.mark.parametrize(
    "data, field, words",
    [
        ({"schema_version": 1}, "type", "missing"),
        ({"schema_version": 1, "type": "rotoscope"}, "type", "unknown job type"),
        ({"schema_version": "1", "type": "roto"}, "schema_version", "integer"),
        ([1, 2], "", "JSON object"),
    ],
)
def test_envelope_errors(data: Any, field: str, words: str) -> None:
    with pytest.raises(SpecError) as info:
        load_job(data)
    assert info.value.field == field and words in str(info.value)


def test_malformed_json_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"type": "roto",\n  "input": }')
    with pytest.raises(SpecError, match="line 2"):
        load_job(bad)
    with pytest.raises(SpecError, match="cannot read job spec"):
        load_job(tmp_path / "none.json")


def test_relative_paths_resolve_against_the_spec_file_folder(tmp_path: Path) -> None:
    job = _job(input="plates/shot.####.exr", output="roto/shot.####.exr")
    path = tmp_path / "jobs" / "job.json"
    path.parent.mkdir()
    job.save(path)
    loaded = load_job(path)
    assert loaded.input == "plates/shot.####.exr"  # stored as written, so the spec stays portable
    assert resolve_path(loaded, loaded.input) == str(tmp_path / "jobs" / "plates/shot.####.exr")
    assert resolve_path(loaded, "/abs/x.png") == "/abs/x.png"
    assert resolve_path(job, "rel.png") == "rel.png"  # an in-memory job: relative to the current folder
