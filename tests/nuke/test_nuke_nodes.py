"""InkpaintRoto/Shade/Paint node creation, knobs and knob callbacks, through the fake nuke API."""

from __future__ import annotations

import re

import nuke
import pytest

import inkpaint_nuke
from inkpaint_nuke import graph, knobs, roto_node
from inkpaint_nuke.runner import InkpaintNukeError

ONE_LINE = re.compile(r"^import inkpaint_nuke(\.callbacks)?; inkpaint_nuke\.callbacks\.\w+\([^;\n]*\)$")


def _roto(clip: dict[str, object]) -> nuke.Group:
    read = nuke.nodes.Read(file=clip["plate"], first=clip["first"], last=clip["last"])
    node = inkpaint_nuke.create_roto("InkpaintRoto1", inpanel=False)
    nuke._fake.user_connect(node, 0, read)  # as the user does: Nuke calls knobChanged with 'inputChange'
    return node


def test_roto_node_is_a_group_with_identity_and_one_line_scripts(fake: object, clip: dict[str, object]) -> None:
    node = _roto(clip)
    assert isinstance(node, nuke.Group)
    assert knobs.node_type(node) == "InkpaintRoto" and knobs.node_version(node) == inkpaint_nuke.NODE_VERSION
    assert node[knobs.ID_KNOB].getFlag(nuke.INVISIBLE) and node[knobs.UID_KNOB].getFlag(nuke.INVISIBLE)
    scripts = [k.command() for k in node.allKnobs() if isinstance(k, nuke.PyScript_Knob) and k.command()]
    scripts += [node["knobChanged"].value(), node["onCreate"].value()]
    assert len(scripts) >= 12
    for s in scripts:
        assert ONE_LINE.match(s), s
    inside = {n.name(): n.Class() for n in node.nodes()}
    assert inside["Input1"] == "Input" and inside["Output1"] == "Output"
    assert inside["InkpaintResult"] == "Read" and inside["InkpaintPreview"] == "Read" and inside[graph.SWITCH] == "Switch"
    # Before any tracking the node passes its input through.
    assert graph.inner(node, graph.SWITCH)["which"].value() == graph.VIEW_INPUT
    # The frame range follows the input.
    assert (node["first_frame"].value(), node["last_frame"].value()) == (1, 4)


def test_object_list_buttons_add_rename_remove(fake: object, clip: dict[str, object]) -> None:
    fake.reset(gui=True)  # type: ignore[attr-defined]
    node = _roto(clip)
    fake.answers.extend(["dancer", "prop"])  # type: ignore[attr-defined]
    fake.press(node["add_object"])  # type: ignore[attr-defined]
    fake.press(node["add_object"])  # type: ignore[attr-defined]
    assert node["object"].values() == ["dancer", "prop"] and node["object"].value() == "prop"
    nuke.frame(3)
    fake.press(node["add_point_pos"])  # type: ignore[attr-defined]
    fake.press(node["add_point_neg"])  # type: ignore[attr-defined]
    fake.press(node["add_box"])  # type: ignore[attr-defined]
    data = roto_node.PromptData.load(node)
    assert [(p["kind"], p["object"], p["frame"], p.get("label")) for p in data.prompts] == [
        ("point", "prop", 3, 1), ("point", "prop", 3, 0), ("box", "prop", 3, None)]
    pt = node[data.prompts[0]["knob"]]
    assert isinstance(pt, nuke.XY_Knob) and pt.label() == "+ prop @3"
    assert pt.value() == [160.0, 120.0]  # the image centre, ready to drag
    assert isinstance(node[data.prompts[2]["knob"]], nuke.BBox_Knob)

    fake.answers.append("bottle")  # type: ignore[attr-defined]
    fake.press(node["rename_object"])  # type: ignore[attr-defined]
    assert node["object"].values() == ["dancer", "bottle"] and pt.label() == "+ bottle @3"
    assert "bottle: 3 prompt(s) on 3" in node["prompt_summary"].value()

    fake.answers.append(True)  # type: ignore[attr-defined]
    fake.press(node["remove_object"])  # type: ignore[attr-defined]
    assert node["object"].values() == ["dancer"]
    assert node.knob(data.prompts[0]["knob"]) is None and not roto_node.PromptData.load(node).prompts


def test_bad_object_names_are_refused_with_a_message(fake: object, clip: dict[str, object]) -> None:
    fake.reset(gui=True)  # type: ignore[attr-defined]
    node = _roto(clip)
    for bad in ("2legs", "rgba", "has space"):
        fake.answers.append(bad)  # type: ignore[attr-defined]
        fake.press(node["add_object"])  # type: ignore[attr-defined]
    assert node["object"].values() == []
    texts = [m for _, m in fake.messages]  # type: ignore[attr-defined]
    assert len(texts) == 3 and "not a valid layer name" in texts[0] and "reserved" in texts[1]
    # In terminal mode the same mistake raises.
    fake.reset(gui=False)  # type: ignore[attr-defined]
    node = _roto(clip)
    with pytest.raises(InkpaintNukeError, match="already"):
        roto_node.add_object(node, "hero")
        roto_node.add_object(node, "hero")


def test_prompt_button_without_an_object_says_what_to_do(fake: object, clip: dict[str, object]) -> None:
    fake.reset(gui=True)  # type: ignore[attr-defined]
    node = _roto(clip)
    fake.press(node["add_point_pos"])  # type: ignore[attr-defined]
    assert "add an object first" in fake.messages[-1][1]  # type: ignore[attr-defined]


def test_knob_changed_keeps_range_and_view_in_step(fake: object, clip: dict[str, object]) -> None:
    node = _roto(clip)
    fake.user_set(node["use_input_range"], False)  # type: ignore[attr-defined]
    assert node["first_frame"].enabled() and node["last_frame"].enabled()
    node["first_frame"].setValue(2)
    assert roto_node.frame_range(node) == (2, 4)
    fake.user_set(node["use_input_range"], True)  # type: ignore[attr-defined]
    assert roto_node.frame_range(node) == (1, 4) and not node["first_frame"].enabled()
    longer = nuke.nodes.Read(file=clip["plate"], first=1, last=3)
    fake.user_connect(node, 0, longer)  # type: ignore[attr-defined]
    assert node["last_frame"].value() == 3
    fake.user_set(node["view"], "preview")  # type: ignore[attr-defined]
    assert graph.inner(node, graph.SWITCH)["which"].value() == graph.VIEW_PREVIEW
    fake.user_set(node["view"], "input")  # type: ignore[attr-defined]
    assert graph.inner(node, graph.SWITCH)["which"].value() == graph.VIEW_INPUT


def test_shade_and_paint_nodes(fake: object) -> None:
    shade = inkpaint_nuke.create_shade("Shade1", inpanel=False)
    paint = inkpaint_nuke.create_paint("Paint1", inpanel=False)
    assert knobs.node_type(shade) == "InkpaintShade" and knobs.node_type(paint) == "InkpaintPaint"
    for node in (shade, paint):
        for k in node.allKnobs():
            if isinstance(k, nuke.PyScript_Knob) and k.command():
                assert ONE_LINE.match(k.command()), k.command()
    assert {n.name() for n in shade.nodes()} >= {"Input1", "Input2", "InkpaintCel", "InkpaintInk", "InkpaintTone", "Output1"}
    assert {n.name() for n in paint.nodes()} >= {"Input1", "Input2", "InkpaintPaint", "InkpaintQC", "InkpaintLines", "Output1"}
    assert paint["show"].values() == ["paint", "qc overlay", "lines", "input"]


def test_menu_registers_commands_in_gui_only(fake: object) -> None:
    from inkpaint_nuke import menu_setup

    menu_setup.register()
    assert nuke.toolbar("Nodes", create=False) is None  # terminal mode: no toolbar
    fake.reset(gui=True)  # type: ignore[attr-defined]
    menu_setup.register()
    items = nuke.toolbar("Nodes").items["Inkpaint"].items  # type: ignore[union-attr]
    assert set(items) == {"InkpaintRoto", "InkpaintShade", "InkpaintPaint", "Worker settings"}
    exec(items["InkpaintRoto"], {"nuke": nuke})
    assert knobs.node_type(nuke.allNodes("Group")[-1]) == "InkpaintRoto"
