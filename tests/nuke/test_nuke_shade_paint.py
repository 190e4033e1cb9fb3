"""InkpaintShade sends one ``cel`` job (shade + ink + finish fused, on the roto node's mattes) to the real worker
and shows its tone, ink and cel layers. InkpaintPaint: see test_nuke_paint.py."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import nuke
import numpy as np
import pytest

import inkpaint_nuke
from inkpaint.io.frames import read_channels
from inkpaint.spec import load_job
from inkpaint_nuke import graph, jobs, knobs, roto_node, runner, shade_node, worker_client

PALETTE = ("ink: [10, 10, 10]\nparts:\n  ball:\n    normal: [200, 40, 30]\n    shadow: [120, 20, 10]\n"
           "  block:\n    normal: [40, 80, 200]\n    shadow: [20, 40, 120]\n")


def _prompted(clip: dict[str, object]) -> nuke.Group:
    read = nuke.nodes.Read(file=clip["plate"], first=1, last=4)
    node = inkpaint_nuke.create_roto("InkpaintRoto1", inpanel=False)
    nuke._fake.user_connect(node, 0, read)
    roto_node.add_object(node, "ball")
    roto_node.add_point(node, 1, (80, 120), frame=1)
    roto_node.add_object(node, "block")
    roto_node.add_box(node, (206, 146, 274, 204), frame=1)
    return node


def _tracked(clip: dict[str, object]) -> nuke.Group:
    node = _prompted(clip)
    roto_node.track(node)
    return node


def _shade(roto: nuke.Node, palette: Path) -> nuke.Group:
    shade = inkpaint_nuke.create_shade("InkpaintShade1", inpanel=False)
    shade.setInput(0, roto)
    palette.write_text(PALETTE)
    shade["palette"].setValue(str(palette))
    return shade


def _read_file(node: nuke.Node, read: str) -> str:
    return str(graph.inner(node, read)["file"].value())  # type: ignore[index]


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """Every request the plugin sends to the worker: ``(kind, payload)``."""
    calls: list[tuple[str, dict[str, Any]]] = []
    real = worker_client.WorkerClient.request

    def spy(self: worker_client.WorkerClient, kind: str, **payload: Any) -> worker_client.Request:
        calls.append((kind, payload))
        return real(self, kind, **payload)

    monkeypatch.setattr(worker_client.WorkerClient, "request", spy)
    return calls


def _same(a: str, b: str) -> bool:
    return os.path.normpath(a) == os.path.normpath(b)


def test_shade_sends_one_cel_job_on_the_roto_mattes(fake: object, clip: dict[str, object], tmp_path: Path,
                                                    sent: list[tuple[str, dict[str, Any]]]) -> None:
    roto = _tracked(clip)
    shade = inkpaint_nuke.create_shade("InkpaintShade1", inpanel=False)
    shade.setInput(0, roto)
    with pytest.raises(runner.InkpaintNukeError, match="palette"):
        shade_node.run(shade)
    shade = _shade(roto, tmp_path / "design.yml")
    mattes = str(knobs.get_json(roto, roto_node.RESULTS_KNOB, {})["mattes"])
    plan = shade_node.plan(shade)
    (job,) = plan["jobs"]
    assert job["type"] == "cel" and job["mattes"] == mattes and job["objects"] == [] and job["over"] is None
    assert job["input"] == clip["plate"] and job["color"]["input_colorspace"] == "lin_rec709_scene" and job["frames"] == "1-4"
    assert job["out_dir"] == plan["folder"] and plan["folder"].endswith(f"shade-{plan['key']}")
    cel = load_job(job)  # the engine accepts the job as built ...
    roto_stage, shade_stage, ink_stage, finish_stage = cel.stages()
    assert roto_stage is None  # ... skips roto, and writes where the node's Reads look
    assert _same(shade_stage.output, plan["outputs"]["tone"]) and _same(ink_stage.output, plan["outputs"]["ink"])
    assert _same(finish_stage.output, plan["outputs"]["cel"])
    assert plan["outputs"]["cel"] == f"{plan['folder']}/cel/demo.####.exr"

    sent.clear()
    shade_node.run(shade)
    assert [(kind, payload["job"]["type"]) for kind, payload in sent] == [("run", "cel")]  # one request, not three
    assert sent[0][1]["job"] == job
    assert shade[knobs.STATUS_KNOB].value().startswith("cels for frames 1-4")
    assert knobs.get_json(shade, shade_node.RESULTS_KNOB, {})["outputs"] == plan["outputs"]
    reads = {"InkpaintCel": "cel", "InkpaintInk": "ink", "InkpaintTone": "tone"}
    for read, layer in reads.items():
        assert _read_file(shade, read) == plan["outputs"][layer]
        for f in range(1, 5):
            assert os.path.isfile(plan["outputs"][layer].replace("####", f"{f:04d}")), (layer, f)
    ch = read_channels(_read_file(shade, "InkpaintCel").replace("####", "0001"))
    matte = read_channels(mattes.replace("####", "0001"))
    inside = (matte["block.A"] > 0.99) & (ch["ink.A"] < 0.01)
    assert inside.sum() > 100
    # Exact palette colours inside the block (sRGB 8-bit palette -> linear EXR): normal or shadow only.
    srgb = np.round(255 * np.where(ch["colour.B"][inside] <= 0.0031308, 12.92 * ch["colour.B"][inside],
                                   1.055 * np.clip(ch["colour.B"][inside], 0, None) ** (1 / 2.4) - 0.055))
    assert set(np.unique(srgb).tolist()) <= {200.0, 120.0}
    assert ch["A"].max() == pytest.approx(1.0) and ch["A"].min() == 0.0  # no background: transparent outside
    tone = read_channels(_read_file(shade, "InkpaintTone").replace("####", "0001"))["tone"]
    np.testing.assert_array_equal(tone[inside], ch["tone"][inside])
    assert set(np.unique(tone[inside]).tolist()) <= {1.0, 2.0}
    ink = read_channels(_read_file(shade, "InkpaintInk").replace("####", "0001"))["ink.A"]
    assert ink.max() > 0.9 and np.allclose(ink, ch["ink.A"], atol=1e-3)
    assert graph.inner(shade, graph.SWITCH)["which"].value() == 1  # type: ignore[index]
    nuke._fake.user_set(shade["show"], "tones")
    assert graph.inner(shade, graph.SWITCH)["which"].value() == 3  # type: ignore[index]

    # Running again resumes: the same job, every layer already written, nothing redone.
    stamp = os.path.getmtime(plan["outputs"]["cel"].replace("####", "0002"))
    sent.clear()
    shade_node.run(shade)
    assert len(sent) == 1 and os.path.getmtime(plan["outputs"]["cel"].replace("####", "0002")) == stamp


def test_shade_key_follows_every_setting(fake: object, clip: dict[str, object], tmp_path: Path) -> None:
    shade = _shade(_tracked(clip), tmp_path / "design.yml")
    key = shade_node.plan(shade)["key"]
    assert shade_node.plan(shade)["key"] == key
    keys = {key}
    for knob, value in (("tones", "3"), ("tones", "4"), ("ink_width", 3.5), ("tone_lines", True)):
        shade[knob].setValue(value)
        p = shade_node.plan(shade)
        (job,) = p["jobs"]
        load_job(job)
        assert p["key"] not in keys and p["folder"].endswith(f"shade-{p['key']}"), knob
        assert all(path.startswith(p["folder"] + "/") for path in p["outputs"].values())
        keys.add(p["key"])
    assert (job["tones"], job["width"], job["tone_lines"]) == (4, 3.5, True)
    (tmp_path / "design.yml").write_text(PALETTE.replace("200, 40, 30", "201, 40, 30"))  # palette content
    assert shade_node.plan(shade)["key"] not in keys


def test_shade_over_a_background(fake: object, clip: dict[str, object], tmp_path: Path,
                                 sent: list[tuple[str, dict[str, Any]]]) -> None:
    roto = _tracked(clip)
    shade = _shade(roto, tmp_path / "design.yml")
    plain = shade_node.plan(shade)
    # A plain Read of the plate as the background: read as the plate is, so still one cel job with `over`.
    bg = nuke.nodes.Read(file=clip["plate"], first=1, last=4)
    shade.setInput(1, bg)
    shade["over_background"].setValue(True)
    p = shade_node.plan(shade)
    (job,) = p["jobs"]
    assert job["type"] == "cel" and job["over"] == clip["plate"] and load_job(job).over == clip["plate"]
    assert p["key"] != plain["key"]
    sent.clear()
    shade_node.run(shade)
    assert [payload["job"]["type"] for _, payload in sent] == ["cel"]
    ch = read_channels(p["outputs"]["cel"].replace("####", "0001"))
    plate = read_channels(str(clip["plate"]).replace("####", "0001"))
    matte = read_channels(str(knobs.get_json(roto, roto_node.RESULTS_KNOB, {})["mattes"]).replace("####", "0001"))
    outside = (matte["A"] == 0) & (ch["ink.A"] == 0)
    assert outside.sum() > 1000 and np.allclose(ch["A"], 1.0)
    np.testing.assert_allclose(ch["R"][outside], plate["R"][outside], atol=2e-3)

    # The same Read with its colourspace knob set: same file, other colour settings -> over_color, and a new key.
    # ("linear" is what "default" means for an EXR under nuke-default, so it would change nothing.)
    bg["colorspace"].setValue("sRGB")
    lin = shade_node.plan(shade)
    (job,) = lin["jobs"]
    assert job["over"] == p["jobs"][0]["over"] and job["over_color"]["input_colorspace"] == "srgb_rec709_scene"
    assert lin["key"] != p["key"] and p["jobs"][0]["over_color"] is None
    bg["raw"].setValue(True)
    assert shade_node.plan(shade)["key"] == p["key"]  # raw again: read as the plate is, the first key back

    # A graded background is rendered in the working space (nuke-default's linear): colour-managed as the plain-Read
    # EXR plate is (a float file's default is that same linear), so no `over_color`. Still the one cel job.
    grade = nuke.nodes.Grade(white=0.5)
    grade.setInput(0, bg)
    shade.setInput(1, grade)
    g = shade_node.plan(shade)
    (job,) = g["jobs"]
    assert job["type"] == "cel" and g["key"] not in (p["key"], lin["key"]) and job["out_dir"] == g["folder"]
    assert job["color"]["input_colorspace"] == "lin_rec709_scene" and job["over_color"] is None
    cel = load_job(job)
    _, shd, ink, fin = cel.stages()
    assert shd.color.input_colorspace == "lin_rec709_scene" and fin.color.input_colorspace == "lin_rec709_scene"
    assert fin.over == g["over"].pattern and _same(fin.output, g["outputs"]["cel"])
    sent.clear()
    shade_node.run(shade)
    assert [(kind, payload["job"]["type"]) for kind, payload in sent] == [("run", "cel")]  # one request, not three
    assert sent[0][1]["job"] == job
    assert shade[knobs.STATUS_KNOB].value().startswith("cels for frames 1-4")
    graded = read_channels(_read_file(shade, "InkpaintCel").replace("####", "0001"))
    np.testing.assert_allclose(graded["R"][outside], 0.5 * plate["R"][outside], atol=2e-3)
    np.testing.assert_array_equal(graded["colour.R"], ch["colour.R"])
    np.testing.assert_array_equal(graded["A"], ch["A"])


def test_cel_job_refuses_a_background_colour_without_a_background() -> None:
    args: dict[str, Any] = dict(input="/p/plate.####.exr", mattes="/m/m.####.exr", palette="/d.yml", out_dir="",
                                frames=(1, 4), tones=2, width=2.0, color={"input_colorspace": "auto"})
    with pytest.raises(jobs.JobBuildError, match="without a background"):
        jobs.cel_job(**args, over_color={"input_colorspace": "lin_rec709_scene"})
    same = jobs.cel_job(**args, over="/bg/bg.####.exr", over_color={"input_colorspace": "auto"})
    assert same["over_color"] is None  # equal to the plate's: left out, the key as without it
    assert jobs.job_key(same) == jobs.job_key(jobs.cel_job(**args, over="/bg/bg.####.exr"))


def test_gui_shade_reports_the_cel_jobs_progress(fake: object, clip: dict[str, object], tmp_path: Path) -> None:
    fake.reset(gui=True)  # type: ignore[attr-defined]
    roto = _prompted(clip)
    fake.press(roto["track"])  # type: ignore[attr-defined]
    fake.run_until(lambda: roto[knobs.STATUS_KNOB].value().startswith("tracked"), timeout=60)  # type: ignore[attr-defined]
    shade = _shade(roto, tmp_path / "design.yml")
    fake.press(shade["run"])  # type: ignore[attr-defined]
    assert shade[knobs.STATUS_KNOB].value() == "running cel (shade + ink + finish)..."
    fake.run_until(lambda: shade[knobs.STATUS_KNOB].value().startswith("cels for frames 1-4"), timeout=60)  # type: ignore[attr-defined]
    task = fake.tasks[-1]  # type: ignore[attr-defined]
    assert task.title == "Inkpaint shade InkpaintShade1" and task.progress == 100
    assert any(m.startswith("cel: fit tones") for m in task.messages), task.messages
    assert any(m.startswith("cel: shade+ink+finish 4/4, frame") for m in task.messages), task.messages
    assert not fake.messages  # type: ignore[attr-defined]


def test_shade_refuses_an_untracked_or_changed_roto(fake: object, clip: dict[str, object]) -> None:
    shade = inkpaint_nuke.create_shade(inpanel=False)
    with pytest.raises(runner.InkpaintNukeError, match="connect an InkpaintRoto"):
        shade_node.plan(shade)
    roto = _tracked(clip)
    shade.setInput(0, roto)
    node_knob = roto_node.PromptData.load(roto).prompts[0]["knob"]
    roto[node_knob].setValue([90.0, 120.0])
    with pytest.raises(runner.InkpaintNukeError, match="Track it again"):
        shade_node.plan(shade)
