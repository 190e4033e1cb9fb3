"""The engine's ``method`` fields through the Blender add-on (issues 15 and 16), in real bpy with the real worker:
the Shade section's tone method goes into the cel job, and a learned run's ``tonal`` channel (5 classes) reaches
the compositor as an Image node with a ``tonal`` output; the Paint section's method goes into the paint job."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys

import pytest

import bpy
from blender_helpers import scene_tree
from conftest import ADDON, N_FRAMES, engine_python
from test_addon import tracked  # noqa: F401  (module fixture: one classic roto run on the DAVIS frames)
from test_paint import line_clip  # noqa: F401  (generated line-art clip)

PALETTE = "parts:\n  swan:\n    normal: [240, 240, 235]\n    shadow: [120, 130, 160]\n"


def _decode(job: dict) -> dict:  # type: ignore[type-arg]
    """The job as the engine decodes it (inkpaint.jobs, in the engine's Python): its type and method."""
    code = ("import json, sys; from inkpaint.jobs.spec import load_job; j = load_job(json.loads(sys.stdin.read()));"
            " print(json.dumps({'type': j.TYPE, 'method': j.method}))")
    out = subprocess.run([engine_python(), "-c", code], input=json.dumps(job), capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_shade_method_reaches_the_cel_job(tracked, tmp_path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    stages = sys.modules[f"{ADDON}.stages"]
    jobs = sys.modules[f"{ADDON}.jobs"]
    s = tracked.inkpaint
    assert s.shade_method == "classic"
    palette = tmp_path / "design.yml"
    palette.write_text(PALETTE)

    def build(method: str) -> dict:  # type: ignore[type-arg]
        return stages.build_cel_job(s.plate_pattern, s.mattes_pattern, str(palette), 2, 2.0, False, False, str(tmp_path),
                                    frames=f"0-{N_FRAMES - 1}", method=method)

    classic, learned = build("classic"), build("learned")
    assert "method" not in classic  # classic jobs keep the folders they had before the field
    assert learned["method"] == "learned" and learned["out_dir"] != classic["out_dir"]
    assert _decode(learned) == {"type": "cel", "method": "learned"}
    assert _decode(classic) == {"type": "cel", "method": "classic"}
    with pytest.raises(jobs.JobBuildError, match="tone method"):
        build("fancy")


def test_learned_shade_brings_the_tonal_channel_into_the_compositor(tracked, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """The real worker runs the shipped tonal U-Net on the tracked DAVIS frames; the add-on decodes each tone EXR's
    ``tonal`` channel and the compositor Image node's ``tonal`` output holds exactly the engine's classes."""
    runner = sys.modules[f"{ADDON}.runner"]
    exr = importlib.import_module(f"{ADDON}.exr_channels")
    sent: list[dict] = []  # type: ignore[type-arg]
    real = runner.run_sync

    def spy(client, kind, payload, **kw):  # type: ignore[no-untyped-def]
        sent.append(payload["job"])
        return real(client, kind, payload, **kw)

    monkeypatch.setattr(runner, "run_sync", spy)
    palette = tmp_path / "design.yml"
    palette.write_text(PALETTE)
    s = tracked.inkpaint
    s.shade_method = "learned"
    try:
        assert bpy.ops.inkpaint.shade(clip=tracked.name, palette=str(palette), tones=2, ink_width=2.0, over_clip="OFF") == {"FINISHED"}
    finally:
        s.shade_method = "classic"
    assert "tonal classes" in s.status, s.status
    (job,) = sent
    assert job["method"] == "learned"
    tone = os.path.join(job["out_dir"], "tone", "frames.0003.exr")
    mine = exr.read_channel(tone, "tonal")
    code = ("import sys, json, numpy as np; from inkpaint.io.frames import read_channels; c = read_channels(sys.argv[1]);"
            " t = c['tonal']; print(json.dumps({'shape': list(t.shape), 'sum': float(t.sum()), 'classes': sorted(set(np.unique(t).tolist()))}))")
    ref = json.loads(subprocess.run([engine_python(), "-c", code, tone], capture_output=True, text=True, check=True).stdout)
    assert list(mine.shape) == ref["shape"] and float(mine.sum()) == pytest.approx(ref["sum"])  # decoder == OIIO
    assert set(ref["classes"]) <= {0.0, 1.0, 2.0, 3.0, 4.0} and len(set(ref["classes"]) - {0.0}) >= 1, ref
    assert s.tonal_pattern.endswith(os.path.join("tonal", "frames.####.exr"))
    tree = scene_tree(bpy.context.scene)
    node = next(n for n in tree.nodes if n.get("inkpaint") == "tonal")
    node.image.reload()
    assert node.image.type == "MULTILAYER" and "tonal" in [o.name for o in node.outputs]
    # the re-written frame holds exactly the engine's classes (read back with OIIO in the engine's Python)
    same = ("import sys, numpy as np; from inkpaint.io.frames import read_channels;"
            " print(np.array_equal(read_channels(sys.argv[1])['tonal'], read_channels(sys.argv[2])['tonal.V']))")
    out = subprocess.run([engine_python(), "-c", same, tone, s.tonal_pattern.replace("####", "0003")], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_paint_method_reaches_the_paint_job(addon, tmp_path) -> None:  # type: ignore[no-untyped-def]
    stages = sys.modules[f"{ADDON}.stages"]
    jobs = sys.modules[f"{ADDON}.jobs"]
    key = tmp_path / "key_0001.png"
    key.write_bytes(b"")  # only has to exist for the job builder
    for method in ("auto", "learned", "classic"):
        job = stages.build_paint_job(str(tmp_path / "line" / "####.png"), [(1, str(key))], "", "nearest",
                                     str(tmp_path / "o" / "####.png"), False, method=method)
        assert job["method"] == method
        assert _decode(job) == {"type": "paint", "method": method}
    with pytest.raises(jobs.JobBuildError, match="paint method"):
        stages.build_paint_job(str(tmp_path / "line" / "####.png"), [(1, str(key))], "", "nearest",
                               str(tmp_path / "o" / "####.png"), False, method="best")
    settings = bpy.types.MovieClip.bl_rna.properties["inkpaint"].fixed_type.bl_rna.properties
    assert settings["paint_method"].default == "auto" and [i.identifier for i in settings["paint_method"].enum_items] == ["auto", "learned", "classic"]
    assert settings["shade_method"].default == "classic"


def test_paint_panel_method_goes_through_the_operator_to_the_worker(line_clip, monkeypatch) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """The panel's Paint method (and the operator's ``method`` over it) is what the worker gets; the learned matcher
    runs through the real worker (shipped weights) and paints."""
    runner = sys.modules[f"{ADDON}.runner"]
    sent: list[dict] = []  # type: ignore[type-arg]
    real = runner.run_sync

    def spy(client, kind, payload, **kw):  # type: ignore[no-untyped-def]
        sent.append(payload["job"])
        return real(client, kind, payload, **kw)

    monkeypatch.setattr(runner, "run_sync", spy)
    clip, folder = line_clip
    s = clip.inkpaint
    s.paint_method = "classic"
    args = dict(clip=clip.name, lines=str(folder / "line" / "0001.png"), keys=f"1={folder / 'key_0001.png'}", direction="forward")
    assert bpy.ops.inkpaint.paint(**args) == {"FINISHED"}
    assert bpy.ops.inkpaint.paint(**args, method="learned", overwrite="ON") == {"FINISHED"}
    assert [j["method"] for j in sent] == ["classic", "learned"]
    assert s.status.startswith("painted 3 frame(s)"), s.status
