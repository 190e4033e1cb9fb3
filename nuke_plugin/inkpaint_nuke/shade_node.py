"""InkpaintShade: ink lines, tone regions and palette cels from an InkpaintRoto node's mattes (issue 4's chain).

Input 1 is an InkpaintRoto node that has tracked; its plate (what the roto node reads) gives the tones. Input 2
(optional) is a background to finish the cels over. Run sends ONE job to the worker: ``cel`` on the roto node's
mattes (the engine's ``CelJob`` with ``mattes``, so roto is not run again), which shades, inks and finishes every
frame in one pass, reading each input once, and writes ``<cache>/<uid>/shade-<key>/tone|ink|cel/<shot>.####.exr``
(``<shot>``: the plate's file name), each layer exactly as the stand-alone ``shade``, ``ink`` and ``finish`` jobs
would. The engine's progress events (tone fit, then frames) drive the progress bar.

A background colour-managed differently from the plate (a graded background, rendered in the working space, over a
plain-Read plate, say) is still the one cel job: its colour settings go in ``over_color``, which the engine's
finish stage reads the background with (the plate keeps ``color``).

Output: the finished cel: the composite in rgba plus layers ``colour`` (flat paint), ``ink`` (line alpha) and the
``tone`` codes; "show" switches to the ink or the tone image alone. With ``method`` learned (the tonal U-Net,
issue 15) the tone EXRs also carry the ``tonal`` channel (5 classes: 0 background, 1 material, 2 attached shadow,
3 cast shadow, 4 highlight); Nuke reads the unlayered channel as ``other.tonal``, and a Copy brings it into the cel
view too, so every view of a learned run has it.
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
TONAL_NUKE_CHANNEL = f"other.{jobs.TONAL_CHANNEL}"
"""How Nuke names the unlayered ``tonal`` EXR channel (like ``tone``: ``other.<name>``; fake-verified only)."""


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
    method = nuke.Enumeration_Knob("method", "method", list(jobs.TONE_METHODS))
    method.setTooltip("classic: per-part thresholds fitted once per shot; learned: the shipped tonal U-Net (needs "
                      "torch in the worker), also writes the 'tonal' channel (0 bg, 1 material, 2 attached shadow, "
                      "3 cast shadow, 4 highlight)")
    group.addKnob(method)
    width = nuke.Double_Knob("ink_width", "ink width")
    width.setValue(2.0)
    group.addKnob(width)
    group.addKnob(nuke.Boolean_Knob("tone_lines", "also ink tone boundaries", False))
    group.addKnob(nuke.Boolean_Knob("over_background", "finish over input 2", False))
    group.addKnob(knobs.button("run", "Ink, shade and finish", "shade_run", newline=True))
    group.addKnob(knobs.button("save_farm_bundle", "Save farm bundle", "save_farm_bundle", tooltip="write this cel job as an "
                               "Open Job Description / Deadline Cloud job bundle: fit, chunked render, validate (docs/farm.md)"))
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
    """The job to send and where it writes (nothing runs).

    Returns:
        ``key`` (names the results folder: it hashes the cel job without its output folder, so the background
        and its ``over_color`` too, plus the palette file's content), ``folder``, ``frames``, ``jobs`` (the one
        ``cel`` job, with ``over_color`` when the background is colour-managed differently from the plate),
        ``outputs`` (``tone``, ``ink`` and ``cel`` patterns), ``over`` (the background's source or ``None``) and
        ``roto`` (the roto node's plan).

    Raises:
        InkpaintNukeError / jobs.JobBuildError / pixels.PixelsError: naming what to fix.
    """
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
    folder = roto_node.node_folder(node, cache_dir)
    over_source = None
    if bool(node["over_background"].value()):
        over_source = pixels.plan_source(node, 1, folder, frames, what="background")
    cel = jobs.cel_job(
        input=rplan.source.pattern, mattes=rplan.mattes, palette=palette, out_dir="", frames=frames,
        tones=int(node["tones"].value()), width=float(node["ink_width"].value()),
        tone_lines=bool(node["tone_lines"].value()), over=over_source.pattern if over_source else None,
        color=rplan.source.color(), over_color=over_source.color() if over_source else None,
        method=str(node["method"].value() or "classic"),
    )
    key = jobs.job_key({**cel, "palette_digest": jobs.file_digest(palette)})  # over_color is in the job
    out = f"{folder}/shade-{key}"
    cel["out_dir"] = out
    return {"key": key, "folder": out, "frames": frames, "jobs": [cel], "outputs": jobs.cel_outputs(cel),
            "over": over_source, "roto": rplan}


def run(node: nuke.Node, cache_dir: str | None = None) -> dict[str, Any]:
    p = plan(node, cache_dir)
    if p["over"] is not None:
        pixels.ensure_rendered(node, 1, p["over"], p["frames"])
    name = node.fullName()
    steps = [runner.Step("run", {"job": job}, job["type"]) for job in p["jobs"]]

    def done(n: nuke.Node, results: list[dict[str, Any]]) -> None:
        show_results(n, p, [w for r in results for w in (r.get("summary") or {}).get("warnings", [])])

    def failed(n: nuke.Node | None, message: str) -> None:
        if n is not None:
            first = message.splitlines()[0]
            knobs.set_status(n, first if first.startswith("cancelled") else f"failed: {first}")

    knobs.set_status(node, "running cel (shade + ink + finish)...")
    runner.start(runner.Task(f"Inkpaint shade {name}", name, steps, done, failed))
    return p


def show_results(node: nuke.Node, p: dict[str, Any], warnings: list[str] | None = None) -> None:
    """Wire the cels in; ``warnings`` (the cel job's ``summary["warnings"]``) go on the status line and into the
    results knob."""
    first, last = p["frames"]
    out = p["outputs"]
    knobs.set_json(node, RESULTS_KNOB, {"key": p["key"], "folder": p["folder"], "frames": [first, last], "outputs": out, "warnings": list(warnings or [])})
    graph.set_read(node, "InkpaintCel", out["cel"], first, last)
    graph.set_read(node, "InkpaintInk", out["ink"], first, last)
    graph.set_read(node, "InkpaintTone", out["tone"], first, last)
    # The cel EXR already holds the composite in rgba plus the colour, ink and tone layers.
    cel_view = graph.inner(node, "InkpaintCel")
    if p["jobs"][0].get("method") == "learned":  # the tone EXRs carry 'tonal': bring it into the cel view too
        cel_view = graph.copy_chain(node, "InkpaintTonal", "InkpaintTone", cel_view, [TONAL_NUKE_CHANNEL])
    else:
        graph.copy_chain(node, "InkpaintTonal", "InkpaintTone", cel_view, [])  # drop a chain from a learned run
    graph.connect_view_input(node, 1, cel_view)
    graph.connect_view_input(node, 2, graph.inner(node, "InkpaintInk"))
    graph.connect_view_input(node, 3, graph.inner(node, "InkpaintTone"))
    node["show"].setValue("cel")
    apply_show(node)
    warned = f"; {len(warnings)} warning(s): " + " | ".join(warnings) if warnings else ""
    knobs.set_status(node, f"cels for frames {first}-{last} ({p['key']}){warned}")


def apply_show(node: nuke.Node) -> None:
    which = {"cel": 1, "ink": 2, "tones": 3}.get(str(node["show"].value()), 0)
    graph.set_view(node, which if knobs.get_json(node, RESULTS_KNOB, {}) else 0)
