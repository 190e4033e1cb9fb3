"""InkpaintShade runs ink -> shade -> finish on a tracked InkpaintRoto node (real worker). InkpaintPaint: see
test_nuke_paint.py."""

from __future__ import annotations

from pathlib import Path

import nuke
import numpy as np
import pytest

import inkpaint_nuke
from inkpaint.io.frames import read_channels
from inkpaint.spec import load_job
from inkpaint_nuke import graph, knobs, roto_node, runner, shade_node


def _tracked(clip: dict[str, object]) -> nuke.Group:
    read = nuke.nodes.Read(file=clip["plate"], first=1, last=4)
    node = inkpaint_nuke.create_roto("InkpaintRoto1", inpanel=False)
    nuke._fake.user_connect(node, 0, read)
    roto_node.add_object(node, "ball")
    roto_node.add_point(node, 1, (80, 120), frame=1)
    roto_node.add_object(node, "block")
    roto_node.add_box(node, (206, 146, 274, 204), frame=1)
    roto_node.track(node)
    return node


def test_shade_chain_on_a_roto_node(fake: object, clip: dict[str, object], tmp_path: Path) -> None:
    roto = _tracked(clip)
    shade = inkpaint_nuke.create_shade("InkpaintShade1", inpanel=False)
    shade.setInput(0, roto)
    with pytest.raises(runner.InkpaintNukeError, match="palette"):
        shade_node.run(shade)
    palette = tmp_path / "design.yml"
    palette.write_text("ink: [10, 10, 10]\nparts:\n  ball:\n    normal: [200, 40, 30]\n    shadow: [120, 20, 10]\n"
                       "  block:\n    normal: [40, 80, 200]\n    shadow: [20, 40, 120]\n")
    shade["palette"].setValue(str(palette))
    plan = shade_node.plan(shade)
    assert [j["type"] for j in plan["jobs"]] == ["ink", "shade", "finish"]
    for job in plan["jobs"]:
        load_job(job)  # the engine accepts each job as built
    shade_node.run(shade)
    assert shade[knobs.STATUS_KNOB].value().startswith("cels for frames 1-4")
    cel = str(graph.inner(shade, "InkpaintCel")["file"].value())  # type: ignore[index]
    ch = read_channels(cel.replace("####", "0001"))
    matte = read_channels(str(knobs.get_json(roto, roto_node.RESULTS_KNOB, {})["mattes"]).replace("####", "0001"))
    inside = (matte["block.A"] > 0.99) & (ch["ink.A"] < 0.01)
    assert inside.sum() > 100
    # Exact palette colours inside the block (sRGB 8-bit palette -> linear EXR): normal or shadow only.
    srgb = np.round(255 * np.where(ch["colour.B"][inside] <= 0.0031308, 12.92 * ch["colour.B"][inside],
                                   1.055 * np.clip(ch["colour.B"][inside], 0, None) ** (1 / 2.4) - 0.055))
    assert set(np.unique(srgb).tolist()) <= {200.0, 120.0}
    assert graph.inner(shade, graph.SWITCH)["which"].value() == 1  # type: ignore[index]
    nuke._fake.user_set(shade["show"], "tones")
    assert graph.inner(shade, graph.SWITCH)["which"].value() == 3  # type: ignore[index]


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
