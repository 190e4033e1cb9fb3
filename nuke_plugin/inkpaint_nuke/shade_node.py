"""InkpaintShade: ink lines, tone regions and palette cels from an InkpaintRoto node's mattes (issue 4's chain).

Input 1 is an InkpaintRoto node that has tracked; its plate (what the roto node reads) gives the tones. Input 2
(optional) is a background to finish the cels over. Run sends three jobs to the worker, one after the other:
``ink`` (``ink.A``), ``shade`` (``tone``) and ``finish``. Output: the finished cel as written by ``finish``: the
composite in rgba plus layers ``colour`` (flat paint), ``ink`` (line alpha) and the ``tone`` codes; "show"
switches to the ink or the tone image alone.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import nuke

from . import graph, jobs, knobs, pixels, roto_node, runner

NODE_TYPE = "InkpaintShade"
RESULTS_KNOB = "inkpaint_results"
SHOWS = ["cel", "ink", "tones", "input"]


def create(name: str | None = None, inpanel: bool = True) -> nuke.Group:
    return knobs.create_group(build, name, inpanel)


def build(group: nuke.Node) -> None:
    for k in knobs.identity_knobs(NODE_TYPE, uuid.uuid4().hex[:12]):
        group.addKnob(k)
    group.addKnob(nuke.Tab_Knob("inkpaint_tab", NODE_TYPE))
    group.addKnob(nuke.File_Knob("palette", "palette"))
    group["palette"].setTooltip("colour design sheet (inkpaint YAML or a BasicPBC colorbook.yml)")
    group.addKnob(nuke.Enumeration_Knob("tones", "tones", ["2", "3", "4"]))
    group["tones"].setTooltip("2: base/shadow, 3: + highlight, 4: two shadows + highlight")
    width = nuke.Double_Knob("ink_width", "ink width")
    width.setValue(2.0)
    group.addKnob(width)
    group.addKnob(nuke.Boolean_Knob("tone_lines", "also ink tone boundaries", False))
    group.addKnob(nuke.Boolean_Knob("over_background", "finish over input 2", False))
    group.addKnob(knobs.button("run", "Ink, shade and finish", "shade_run", newline=True))
    group.addKnob(nuke.Enumeration_Knob("show", "show", SHOWS))
    group.addKnob(nuke.Text_Knob(knobs.STATUS_KNOB, "status", "not run yet"))
    group.addKnob(knobs.hidden_string(RESULTS_KNOB, ""))
    group["knobChanged"].setValue(knobs.script_call("knob_changed"))
    with graph.as_group(group):
        for i, label in enumerate(["roto", "bg"]):
            inp = nuke.nodes.Input(name=f"Input{i + 1}")
            inp["number"].setValue(i)
            inp["label"].setValue(label)
        reads = {}
        for name in ("InkpaintCel", "InkpaintInk", "InkpaintTone"):
            read = nuke.nodes.Read(name=name)
            read["raw"].setValue(True)
            for kname in ("on_error", "before", "after"):
                read[kname].setValue("black")
            reads[name] = read
        switch = nuke.nodes.Switch(name=graph.SWITCH)
        switch.setInput(0, nuke.toNode("Input1"))
        switch["which"].setValue(0)
        out = nuke.nodes.Output(name=graph.OUTPUT)
        out.setInput(0, switch)


def roto_source(node: nuke.Node) -> nuke.Node:
    up = node.input(0)
    if up is None or knobs.node_type(up) != roto_node.NODE_TYPE:
        raise runner.InkpaintNukeError(f"{node.name()}: connect an InkpaintRoto node to input 1 (roto)")
    if not knobs.get_json(up, roto_node.RESULTS_KNOB, {}):
        raise runner.InkpaintNukeError(f"{node.name()}: {up.name()} has not tracked yet; Track it first")
    return up


def plan(node: nuke.Node, cache_dir: str | None = None) -> dict[str, Any]:
    """The three jobs and where they write (nothing runs)."""
    roto = roto_source(node)
    rplan = roto_node.plan(roto, cache_dir)
    record = knobs.get_json(roto, roto_node.RESULTS_KNOB, {})
    if record.get("key") != rplan.key:
        raise runner.InkpaintNukeError(f"{node.name()}: {roto.name()}'s settings changed since it tracked; Track it again")
    palette = str(node["palette"].value() or "").strip()
    if not palette:
        raise runner.InkpaintNukeError(f"{node.name()}: choose a palette file (colour design sheet)")
    palette = os.path.abspath(os.path.expanduser(palette))
    if not os.path.isfile(palette):
        raise runner.InkpaintNukeError(f"{node.name()}: palette file '{palette}' does not exist")
    frames = rplan.frames
    tones = int(node["tones"].value())
    over_source = None
    folder = roto_node.node_folder(node, cache_dir)
    if bool(node["over_background"].value()):
        over_source = pixels.plan_source(node, 1, folder, frames, what="background")
    params = {
        "roto": rplan.key, "palette": palette, "palette_digest": jobs.file_digest(palette), "tones": tones,
        "width": float(node["ink_width"].value()), "tone_lines": bool(node["tone_lines"].value()),
        "over": over_source.pattern if over_source else None,
    }
    key = jobs.job_key(params)
    out = f"{folder}/shade-{key}"
    width, tone_lines = float(node["ink_width"].value()), bool(node["tone_lines"].value())
    ink = jobs.ink_job(mattes=rplan.mattes, output=f"{out}/ink.####.exr", frames=frames, width=width,
                       tone_lines=tone_lines, tones=f"{out}/tone.####.exr")
    shade = jobs.shade_job(input=rplan.source.pattern, mattes=rplan.mattes, output=f"{out}/tone.####.exr",
                           frames=frames, tones=tones, color=rplan.source.color())
    finish = jobs.finish_job(mattes=rplan.mattes, tones=f"{out}/tone.####.exr", ink=f"{out}/ink.####.exr",
                             palette=palette, output=f"{out}/cel.####.exr", frames=frames,
                             over=over_source.pattern if over_source else None,
                             color=over_source.color() if over_source else None)
    steps = [shade, ink, finish] if tone_lines else [ink, shade, finish]
    return {"key": key, "folder": out, "frames": frames, "jobs": steps, "over": over_source, "roto": rplan}


def run(node: nuke.Node, cache_dir: str | None = None) -> dict[str, Any]:
    p = plan(node, cache_dir)
    if p["over"] is not None:
        pixels.ensure_rendered(node, 1, p["over"], p["frames"])
    name = node.fullName()
    steps = [runner.Step("run", {"job": job}, job["type"]) for job in p["jobs"]]

    def done(n: nuke.Node, results: list[dict[str, Any]]) -> None:
        show_results(n, p)

    def failed(n: nuke.Node | None, message: str) -> None:
        if n is not None:
            first = message.splitlines()[0]
            knobs.set_status(n, first if first.startswith("cancelled") else f"failed: {first}")

    knobs.set_status(node, "running ink, shade, finish...")
    runner.start(runner.Task(f"Inkpaint shade {name}", name, steps, done, failed))
    return p


def show_results(node: nuke.Node, p: dict[str, Any]) -> None:
    first, last = p["frames"]
    out = p["folder"]
    knobs.set_json(node, RESULTS_KNOB, {"key": p["key"], "folder": out, "frames": [first, last]})
    graph.set_read(node, "InkpaintCel", f"{out}/cel.####.exr", first, last)
    graph.set_read(node, "InkpaintInk", f"{out}/ink.####.exr", first, last)
    graph.set_read(node, "InkpaintTone", f"{out}/tone.####.exr", first, last)
    # The finish EXR already holds the composite in rgba plus the colour, ink and tone layers.
    graph.connect_view_input(node, 1, graph.inner(node, "InkpaintCel"))
    graph.connect_view_input(node, 2, graph.inner(node, "InkpaintInk"))
    graph.connect_view_input(node, 3, graph.inner(node, "InkpaintTone"))
    node["show"].setValue("cel")
    apply_show(node)
    knobs.set_status(node, f"cels for frames {first}-{last} ({p['key']})")


def apply_show(node: nuke.Node) -> None:
    which = {"cel": 1, "ink": 2, "tones": 3}.get(str(node["show"].value()), 0)
    graph.set_view(node, which if knobs.get_json(node, RESULTS_KNOB, {}) else 0)
