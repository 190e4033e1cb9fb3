"""The job specs the Nuke nodes produce (validated by the engine's own loader) and the pixels-in rules."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import nuke
import pytest

import inkpaint_nuke
from inkpaint.io.frames import read_channels
from inkpaint.spec import load_job
from inkpaint_nuke import jobs, pixels, roto_node, settings


def _roto(plate: object, first: int = 1, last: int = 4, upstream: nuke.Node | None = None) -> nuke.Group:
    read = upstream or nuke.nodes.Read(file=plate, first=first, last=last)
    node = inkpaint_nuke.create_roto(inpanel=False)
    nuke._fake.user_connect(node, 0, read)
    return node


def test_roto_job_validates_and_flips_y(fake: object, clip: dict[str, object]) -> None:
    node = _roto(clip["plate"])
    h = clip["height"]
    roto_node.add_object(node, "ball")
    roto_node.add_point(node, 1, (80, h - 120), frame=1)  # type: ignore[operator]
    roto_node.add_point(node, 0, (300, h - 200), frame=3)  # type: ignore[operator]
    roto_node.add_object(node, "block")
    roto_node.add_box(node, (206, h - 94, 274, h - 36), frame=1)  # type: ignore[operator]  # left, bottom, right, top
    node["direction"].setValue("forward")
    node["cryptomatte"].setValue(True)
    plan = roto_node.plan(node)
    job = load_job(plan.job)  # the engine's loader: types, field names and cross-field rules
    assert job.TYPE == "roto" and job.frames == "1-4" and job.direction == "forward" and job.cryptomatte and job.contours
    ball, block = job.objects
    assert [(p.frame, p.points) for p in ball.prompts] == [(1, [(80.0, 120.0, 1)]), (3, [(300.0, 200.0, 0)])]
    assert block.prompts[0].box == (206.0, 36.0, 274.0, 94.0)
    # A plain Read of EXR is read directly; Nuke's "default" for a float file is nuke-default's linear (Rec.709).
    assert not plan.source.rendered and job.input == clip["plate"] and job.color.input_colorspace == "lin_rec709_scene"
    assert plan.mattes.endswith(f"roto-{plan.key}/mattes.####.exr") and os.environ["INKPAINT_NUKE_CACHE"] in plan.mattes


def test_job_key_follows_settings_not_outputs(fake: object, clip: dict[str, object]) -> None:
    node = _roto(clip["plate"])
    roto_node.add_object(node, "ball")
    knob = roto_node.add_point(node, 1, (80, 120), frame=1)
    key1 = roto_node.plan(node).key
    assert roto_node.plan(node).key == key1
    node[knob].setValue([90.0, 120.0])  # the user drags the point
    key2 = roto_node.plan(node).key
    node["backend"].setValue("sam2")
    key3 = roto_node.plan(node).key
    assert len({key1, key2, key3}) == 3
    assert load_job(roto_node.plan(node).job).backend_options == {"model": "tiny"}
    assert jobs.job_key({"a": 1, "output": "x"}) == jobs.job_key({"a": 1, "output": "y"})


def test_object_without_prompts_is_named(fake: object, clip: dict[str, object]) -> None:
    node = _roto(clip["plate"])
    roto_node.add_object(node, "ball")
    with pytest.raises(jobs.JobBuildError, match="'ball' has no prompts"):
        roto_node.plan(node)


def test_graded_upstream_is_rendered_with_a_write(fake: object, clip: dict[str, object]) -> None:
    read = nuke.nodes.Read(file=clip["plate"], first=1, last=4)
    grade = nuke.nodes.Grade(white=2.0)
    grade.setInput(0, read)
    node = _roto(None, upstream=grade)
    roto_node.add_object(node, "ball")
    roto_node.add_alpha_mask(node, frame=2)
    plan = roto_node.plan(node)
    assert plan.source.rendered and plan.source.colorspace == "lin_rec709_scene"  # Nuke's "linear", in OIIO's names
    assert pixels.ensure_rendered(node, 0, plan.source, plan.frames)
    assert [f for _, f, _ in fake.renders] == [1, 2, 3, 4]  # type: ignore[attr-defined]
    assert nuke.toNode(f"{node.name()}.InkpaintRenderInput") is None  # the temporary Write is gone
    rendered = read_channels(plan.source.path(2))
    original = read_channels(str(clip["plate"]).replace("####", "0002"))
    np.testing.assert_allclose(rendered["R"], 2.0 * original["R"], rtol=2e-3)  # the grade is in the pixels
    assert "A" in rendered  # rgba: the alpha is there for mask prompts
    job = load_job(plan.job)
    assert job.objects[0].prompts[0].mask == plan.source.path(2)
    # A second request reuses the complete render; a changed grade renders anew.
    assert not pixels.ensure_rendered(node, 0, plan.source, plan.frames)
    grade["white"].setValue(3.0)
    assert roto_node.plan(node).source.pattern != plan.source.pattern


def test_half_written_render_is_redone(fake: object, clip: dict[str, object]) -> None:
    read = nuke.nodes.Read(file=clip["plate"], first=1, last=4)
    read["frame"].setValue("frame+10")  # a frame offset: the engine cannot read the files as they are numbered
    node = _roto(None, upstream=read)
    roto_node.add_object(node, "ball")
    roto_node.add_point(node, 1, (80, 120), frame=1)
    plan = roto_node.plan(node)
    assert plan.source.rendered
    folder = Path(plan.source.pattern).parent
    folder.mkdir(parents=True)
    Path(plan.source.path(1)).write_bytes(b"killed half way")
    assert pixels.ensure_rendered(node, 0, plan.source, plan.frames)
    assert read_channels(plan.source.path(1))["R"].shape == (240, 320)
    assert json.loads((folder / "complete.json").read_text())["key"] == plan.source.key


def test_colourspace_names(fake: object) -> None:
    assert pixels.engine_colorspace("default", None) == "auto"
    assert pixels.engine_colorspace("default (sRGB)", None) == "srgb_rec709_scene"
    assert pixels.engine_colorspace("linear", None) == "lin_rec709_scene"
    assert pixels.engine_colorspace("ACES - ACEScg", "/cfg/config.ocio") == "ACES - ACEScg"
    nuke.root()["OCIO_config"].setValue("custom")
    nuke.root()["customOCIOConfigPath"].setValue("/studio/ocio/config.ocio")
    os.environ.pop("OCIO", None)
    assert pixels.ocio_config_path() == "/studio/ocio/config.ocio"


def test_plain_read_rules(fake: object, clip: dict[str, object]) -> None:
    read = nuke.nodes.Read(file=clip["plate"], first=1, last=4)
    assert pixels.plain_read_pattern(read) == clip["plate"]
    read["premultiplied"].setValue(True)
    assert pixels.plain_read_pattern(read) is None
    mov = nuke.nodes.Read(file="/plates/shot.mov")
    assert pixels.plain_read_pattern(mov) is None
    still = nuke.nodes.Read(file="/plates/still.exr")
    assert pixels.plain_read_pattern(still) is None


def test_settings_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings.worker_command_from("/venv/bin/python3.11") == ["/venv/bin/python3.11", "-m", "inkpaint.cli", "worker"]
    assert settings.worker_command_from("/venv/bin/inkpaint") == ["/venv/bin/inkpaint", "worker"]
    assert settings.worker_command_from("ssh farm1 inkpaint worker") == ["ssh", "farm1", "inkpaint", "worker"]
    prefs = tmp_path / "prefs.json"
    prefs.write_text(json.dumps({"worker": "/opt/ink/bin/python", "cache_dir": str(tmp_path / "c")}))
    monkeypatch.delenv("INKPAINT_WORKER", raising=False)
    monkeypatch.delenv("INKPAINT_NUKE_CACHE", raising=False)
    monkeypatch.setenv("INKPAINT_NUKE_PREFS", str(prefs))
    s = settings.load_settings()
    assert s.worker_command[0] == "/opt/ink/bin/python" and s.cache_dir == str(tmp_path / "c") and s.source == str(prefs)
    monkeypatch.setenv("INKPAINT_WORKER", "/env/python")
    assert settings.load_settings().worker_command[0] == "/env/python"
    monkeypatch.delenv("INKPAINT_WORKER")
    prefs.write_text("[1, 2]")
    with pytest.raises(settings.SettingsError, match="JSON object"):
        settings.load_settings()
    prefs.unlink()
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(settings.SettingsError, match="INKPAINT_WORKER"):
        settings.load_settings()
    monkeypatch.setenv("PYTHONHOME", "/nuke/python")
    assert "PYTHONHOME" not in settings.worker_environment()
