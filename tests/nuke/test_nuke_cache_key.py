"""The upstream cache key keys on what changes pixels (issue 18): not placement, selection, labels or names; yes
knob values, nodes inside upstream Groups/gizmos, and expression-linked nodes."""

from __future__ import annotations

import nuke
from inkpaint_nuke import pixels


def _chain(fake: object) -> tuple[nuke.Node, nuke.Node, nuke.Node]:
    read = nuke.nodes.Read(name="Plate")
    read["file"].setValue("/plates/shot.####.exr")
    grade = nuke.nodes.Grade(name="Grade1")
    grade.setInput(0, read)
    grade["white"].setValue(1.2)
    dot = nuke.nodes.Dot(name="Dot1")
    dot.setInput(0, grade)
    return read, grade, dot


def test_moving_selecting_labelling_or_renaming_upstream_keeps_the_key(fake: object) -> None:
    read, grade, dot = _chain(fake)
    key = pixels.upstream_key(dot, (1, 10))
    assert "xpos" in grade.writeKnobs(nuke.WRITE_NON_DEFAULT_ONLY | nuke.TO_SCRIPT)  # the fake writes UI knobs, as Nuke does
    grade.setXYpos(500, -300)
    grade.setSelected(True)
    grade["label"].setValue("warmer")
    grade.setName("WarmGrade")
    grade.showControlPanel()
    assert pixels.upstream_key(dot, (1, 10)) == key


def test_pixel_changes_change_the_key(fake: object) -> None:
    read, grade, dot = _chain(fake)
    key = pixels.upstream_key(dot, (1, 10))
    grade["white"].setValue(1.3)
    k2 = pixels.upstream_key(dot, (1, 10))
    assert k2 != key
    grade["disable"].setValue(True)
    assert pixels.upstream_key(dot, (1, 10)) != k2
    assert pixels.upstream_key(dot, (1, 11)) != pixels.upstream_key(dot, (1, 10))  # the range counts too


def test_expression_links_count(fake: object) -> None:
    read, grade, dot = _chain(fake)
    driver = nuke.nodes.Grade(name="Driver")  # not connected: reached only through the expression
    driver["white"].setValue(2.0)
    grade["white"].setExpression("Driver.white")
    key = pixels.upstream_key(dot, (1, 10))
    driver["white"].setValue(3.0)
    assert pixels.upstream_key(dot, (1, 10)) != key


def test_nodes_inside_an_upstream_group_count(fake: object) -> None:
    read = nuke.nodes.Read(name="Plate")
    read["file"].setValue("/plates/shot.####.exr")
    group = nuke.nodes.Group(name="LookGizmo")
    group.setInput(0, read)
    with group:
        inp = nuke.nodes.Input(name="Input1")
        inner = nuke.nodes.Grade(name="InnerGrade")
        inner.setInput(0, inp)
        out = nuke.nodes.Output(name="Output1")
        out.setInput(0, inner)
    key = pixels.upstream_key(group, (1, 10))
    inner.setXYpos(40, 40)
    assert pixels.upstream_key(group, (1, 10)) == key
    inner["white"].setValue(0.5)
    assert pixels.upstream_key(group, (1, 10)) != key
