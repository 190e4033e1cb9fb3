"""Save farm bundle from Nuke: the roto node's job goes through the real engine (``inkpaint farm bundle`` via the
worker's Python) into an OpenJD bundle that ``openjd check`` accepts; the engine's refusal becomes a clear error."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nuke
import pytest
import yaml

import inkpaint_nuke
from inkpaint_nuke import callbacks, farm, knobs, roto_node, runner


def _node(clip: dict[str, object]) -> nuke.Group:
    read = nuke.nodes.Read(file=clip["plate"], first=clip["first"], last=clip["last"])
    node = inkpaint_nuke.create_roto("InkpaintRoto1", inpanel=False)
    nuke._fake.user_connect(node, 0, read)
    roto_node.add_object(node, "ball")
    roto_node.add_point(node, 1, (80, int(clip["height"]) - 120), frame=1)  # type: ignore[call-overload]
    return node


def test_save_farm_bundle_writes_a_checked_bundle(fake: object, clip: dict[str, object], tmp_path: Path) -> None:
    node = _node(clip)
    result = farm.save_node_bundle(node, str(tmp_path / "bundle"))
    assert result["steps"] == ["roto", "validate"]
    assert "farm bundle saved" in node[knobs.STATUS_KNOB].value()
    job = json.loads((tmp_path / "bundle" / "job.json").read_text())
    assert job["type"] == "roto" and job["input"] == clip["plate"] and job["objects"][0]["name"] == "ball"
    venv = Path(sys.executable).parent.parent
    values = yaml.safe_load((tmp_path / "bundle" / "job_params.yaml").read_text())
    if (venv / "pyvenv.cfg").is_file():
        assert values["InkpaintVenv"] == str(venv)
    openjd = shutil.which("openjd", path=str(Path(sys.executable).parent))
    if openjd:
        out = subprocess.run([openjd, "check", str(tmp_path / "bundle" / "template.yaml")], capture_output=True, text=True)
        assert out.returncode == 0, out.stdout + out.stderr


def test_the_button_is_next_to_track_and_errors_are_clear(fake: object, clip: dict[str, object], tmp_path: Path) -> None:
    node = _node(clip)
    assert node.knob("save_farm_bundle") is not None
    assert "save_farm_bundle" in node["save_farm_bundle"].value()
    with pytest.raises(runner.InkpaintNukeError, match="chunk"):
        farm.save_node_bundle(node, str(tmp_path / "b"), chunk=0)
    assert callable(callbacks.save_farm_bundle)
