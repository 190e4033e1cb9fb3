"""Running jobs from Nuke with the REAL worker subprocess (classic backend) on a generated clip: results read back,
caching per job key, reopening a script, the GUI's background thread and ProgressTask, preview, Cryptomatte."""

from __future__ import annotations

import shutil
from pathlib import Path

import nuke
import numpy as np

import inkpaint_nuke
from inkpaint.cryptomatte import extract_matte
from inkpaint.io.frames import read_channels
from inkpaint_nuke import graph, knobs, roto_node, runner, worker_client


def _tracked_node(clip: dict[str, object], name: str = "InkpaintRoto1") -> nuke.Group:
    read = nuke.nodes.Read(file=clip["plate"], first=clip["first"], last=clip["last"])
    node = inkpaint_nuke.create_roto(name, inpanel=False)
    nuke._fake.user_connect(node, 0, read)
    h = int(clip["height"])  # type: ignore[call-overload]
    roto_node.add_object(node, "ball")
    roto_node.add_point(node, 1, (80, h - 120), frame=1)
    roto_node.add_object(node, "block")
    roto_node.add_box(node, (206, h - 94, 274, h - 36), frame=1)
    return node


def _read_file(node: nuke.Node, read: str) -> str:
    return str(graph.inner(node, read)["file"].value())  # type: ignore[index]


def test_track_in_terminal_mode_shows_results_and_caches(fake: object, clip: dict[str, object]) -> None:
    node = _tracked_node(clip)
    plan = roto_node.track(node)  # terminal mode: synchronous
    assert "tracked 2 object(s), frames 1-4" in node[knobs.STATUS_KNOB].value()
    # The internal Read points at the cached mattes and the switch shows them.
    assert _read_file(node, "InkpaintResult") == plan.mattes
    read = graph.inner(node, "InkpaintResult")
    assert (read["first"].value(), read["last"].value(), read["raw"].value()) == (1, 4, True)  # type: ignore[index]
    assert graph.inner(node, graph.SWITCH)["which"].value() == graph.VIEW_RESULT  # type: ignore[index]
    # The copy chain carries ball.alpha, block.alpha and the union in rgba.alpha.
    copies = [n for n in node.nodes() if n.name().startswith("ResultCopy")]
    pairs = [(c[f"from{i}"].value(), c[f"to{i}"].value()) for c in copies for i in range(4)]
    assert [p for p in pairs if p[0] != "none"] == [("ball.alpha", "ball.alpha"), ("block.alpha", "block.alpha"), ("rgba.alpha", "rgba.alpha")]
    # Rendering the group's output gives the plate with the mattes as layers (the fake really renders).
    write = nuke.nodes.Write(file=str(Path(plan.folder) / "check.####.exr"), channels="all", datatype="32 bit float")
    write.setInput(0, node)
    nuke.execute(write, 1, 1)
    out = read_channels(str(Path(plan.folder) / "check.0001.exr"))
    assert out["ball.A"][120, 80] > 0.5 and out["ball.A"][65, 240] < 0.1 and out["block.A"][65, 240] > 0.5
    np.testing.assert_allclose(out["A"], np.clip(out["ball.A"] + out["block.A"], 0, 1), atol=2e-3)
    assert out["R"][120, 80] > 0.5  # the plate's red ball passes through in rgb
    # Same settings again: the cache answers, no worker is even started.
    worker_client.shutdown_shared()
    roto_node.track(node)
    assert node[knobs.STATUS_KNOB].value().startswith("up to date") and worker_client._shared is None


def test_reopening_the_script_shows_cached_results(fake: object, clip: dict[str, object], tmp_path: Path) -> None:
    node = _tracked_node(clip)
    plan = roto_node.track(node)
    script = tmp_path / "shot.nk.json"
    nuke.scriptSaveAs(str(script))
    nuke.scriptOpen(str(script))  # runs each node's onCreate
    node = nuke.toNode("InkpaintRoto1")
    assert node is not None and _read_file(node, "InkpaintResult") == plan.mattes
    assert node[knobs.STATUS_KNOB].value() == f"tracked (cached results {plan.key})"
    assert graph.inner(node, graph.SWITCH)["which"].value() == graph.VIEW_RESULT  # type: ignore[index]
    # Moved prompt after reopening: the node says its results are out of date.
    knob = roto_node.PromptData.load(node).prompts[0]["knob"]
    node[knob].setValue([85.0, 120.0])
    roto_node.on_create(node)
    assert "settings changed" in node[knobs.STATUS_KNOB].value()
    # Cache cleared: the node falls back to its input and says so.
    shutil.rmtree(Path(plan.mattes).parent)
    nuke.scriptOpen(str(script))
    node = nuke.toNode("InkpaintRoto1")
    assert "missing" in node[knobs.STATUS_KNOB].value()  # type: ignore[index]
    assert graph.inner(node, graph.SWITCH)["which"].value() == graph.VIEW_INPUT  # type: ignore[arg-type, index]


def test_gui_track_runs_in_background_with_progress(fake: object, clip: dict[str, object]) -> None:
    fake.reset(gui=True)  # type: ignore[attr-defined]
    node = _tracked_node(clip)
    node["cryptomatte"].setValue(True)
    fake.press(node["track"])  # type: ignore[attr-defined]
    assert node[knobs.STATUS_KNOB].value() == "tracking..."
    # Results arrive only through the main-thread queue; the fake raises if the thread touched the graph.
    fake.run_until(lambda: node[knobs.STATUS_KNOB].value().startswith("tracked"), timeout=60)  # type: ignore[attr-defined]
    task = fake.tasks[-1]  # type: ignore[attr-defined]
    assert task.title == "Inkpaint track InkpaintRoto1" and task.thread.startswith("inkpaint-") and task.progress == 100
    assert any("roto 4/4" in m for m in task.messages)
    assert not fake.messages  # type: ignore[attr-defined]
    # Cryptomatte: the CryptoObject layers and the manifest metadata are carried to the output.
    names = {n.name(): n for n in node.nodes()}
    assert "ResultMeta" in names and names["ResultMeta"].Class() == "CopyMetaData"
    layer_copies = sorted(n["channels"].value() for n in node.nodes() if n.name().startswith("ResultCopy") and n["channels"].value() != "none")
    assert layer_copies == ["CryptoObject00", "CryptoObject01", "CryptoObject02"]
    record = knobs.get_json(node, roto_node.RESULTS_KNOB, {})
    ch = read_channels(record["mattes"].replace("####", "0003"))
    np.testing.assert_allclose(extract_matte(ch, "block"), ch["block.A"], atol=2e-3)


def test_preview_this_frame_segments_and_shows_it(fake: object, clip: dict[str, object]) -> None:
    fake.reset(gui=True)  # type: ignore[attr-defined]
    node = _tracked_node(clip)
    nuke.frame(1)
    fake.press(node["preview"])  # type: ignore[attr-defined]
    fake.run_until(lambda: node[knobs.STATUS_KNOB].value().startswith("preview"), timeout=60)  # type: ignore[attr-defined]
    path = _read_file(node, "InkpaintPreview")
    ch = read_channels(path)
    assert ch["ball.A"][120, 80] > 0.5 and ch["block.A"][65, 240] > 0.5
    assert graph.inner(node, graph.SWITCH)["which"].value() == graph.VIEW_PREVIEW  # type: ignore[index]
    assert fake.viewer_inputs[0] is node  # type: ignore[attr-defined]
    assert "ball" in node[knobs.STATUS_KNOB].value()
    # No prompts on frame 3: a message, nothing sent.
    nuke.frame(3)
    fake.press(node["preview"])  # type: ignore[attr-defined]
    assert "no prompts on frame 3" in fake.messages[-1][1]  # type: ignore[attr-defined]


def test_a_second_track_while_running_is_refused(fake: object, clip: dict[str, object]) -> None:
    fake.reset(gui=True)  # type: ignore[attr-defined]
    node = _tracked_node(clip)
    roto_node.track(node)
    fake.press(node["track"])  # type: ignore[attr-defined]
    fake.run_until(lambda: not runner.is_running(node.fullName()), timeout=60)  # type: ignore[attr-defined]
    fake.process_events()  # type: ignore[attr-defined]
    assert any("already running" in m for _, m in fake.messages)  # type: ignore[attr-defined]
    assert node[knobs.STATUS_KNOB].value().startswith("tracked")
