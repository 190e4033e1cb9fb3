"""Save Farm Bundle in Blender: the Track job goes through the real engine (``inkpaint farm bundle`` via the worker
executable) into an OpenJD / Deadline Cloud bundle."""

from __future__ import annotations

import json
import os
from pathlib import Path

import bpy
import pytest


def test_save_farm_bundle_writes_the_track_job(clip, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert bpy.ops.inkpaint.object_add(clip=clip.name, name="swan") == {"FINISHED"}
    assert bpy.ops.inkpaint.point_add(clip=clip.name, location=(420, 230), coordinates="PIXELS", frame=1) == {"FINISHED"}
    out = tmp_path / "bundle"
    assert bpy.ops.inkpaint.save_farm_bundle(clip=clip.name, directory=str(out) + os.sep) == {"FINISHED"}
    for name in ("template.yaml", "parameter_values.yaml", "asset_references.yaml", "job.json", "job_params.yaml"):
        assert (out / name).is_file(), name
    job = json.loads((out / "job.json").read_text())
    assert job["type"] == "roto" and [o["name"] for o in job["objects"]] == ["swan"]
    assert os.path.isabs(job["input"]) and os.path.isabs(job["output"])
    assert "farm bundle saved" in clip.inkpaint.status


def test_save_farm_bundle_without_objects_is_a_clear_error(clip, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RuntimeError):
        bpy.ops.inkpaint.save_farm_bundle(clip=clip.name, directory=str(tmp_path / "b") + os.sep)
