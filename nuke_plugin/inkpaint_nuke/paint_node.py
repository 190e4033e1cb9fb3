"""InkpaintPaint: fill line art from coloured keyframes and carry the colours through the shot (issue 5).

Input 1 is the line art; input 2 (optional) a coloured keyframe sequence. Keyframes are either the frames listed
in "key frames" taken from input 2, or palette clicks: XY knobs (tagged with their frame and palette entry) on the
"Clicks" tab. Options: propagation direction, gap closing, speck size, line threshold. Output: the painted frames
in rgba; "show" switches to the QC overlay (unpainted and unsure segments highlighted) or the input.
"""

from __future__ import annotations

import os
import re
import uuid
from typing import Any

import nuke

from . import graph, jobs, knobs, pixels, roto_node, runner

NODE_TYPE = "InkpaintPaint"
RESULTS_KNOB = "inkpaint_results"
CLICKS_KNOB = "inkpaint_clicks"
SHOWS = ["paint", "qc overlay", "input"]


def create(name: str | None = None, inpanel: bool = True) -> nuke.Group:
    group = nuke.nodes.Group(name=name) if name else nuke.nodes.Group()
    if nuke.env["gui"]:
        sel = [n for n in nuke.selectedNodes() if n is not group]
        if sel:
            group.setInput(0, sel[0])
    build(group)
    if inpanel and nuke.env["gui"]:
        group.showControlPanel()
    return group


def build(group: nuke.Node) -> None:
    for k in knobs.identity_knobs(NODE_TYPE, uuid.uuid4().hex[:12]):
        group.addKnob(k)
    group.addKnob(nuke.Tab_Knob("inkpaint_tab", NODE_TYPE))
    group.addKnob(nuke.Enumeration_Knob("key_source", "keyframes from", ["keyframe input", "palette clicks"]))
    keys = nuke.String_Knob("key_frames", "key frames")
    keys.setTooltip("frames of input 2 that are painted keyframes, e.g. 1001 or 1001,1040")
    group.addKnob(keys)
    group.addKnob(nuke.File_Knob("palette", "palette"))
    group.addKnob(knobs.button("add_click", "add colour click", "paint_add_click", newline=True,
                               tooltip="a point on this frame painted with a palette entry; drag it onto the segment"))
    group.addKnob(nuke.Enumeration_Knob("direction", "propagate", ["nearest", "forward", "backward"]))
    gap = nuke.Int_Knob("max_gap", "close gaps up to (px)")
    gap.setValue(3)
    group.addKnob(gap)
    speck = nuke.Int_Knob("speck", "merge specks up to (px)")
    speck.setValue(3)
    group.addKnob(speck)
    group.addKnob(nuke.Enumeration_Knob("binarize", "lines from", ["alpha", "luminance"]))
    thr = nuke.Double_Knob("line_threshold", "line threshold")
    thr.setValue(0.5)
    group.addKnob(thr)
    group.addKnob(knobs.button("run", "Paint", "paint_run", newline=True))
    group.addKnob(nuke.Enumeration_Knob("show", "show", SHOWS))
    group.addKnob(nuke.Text_Knob(knobs.STATUS_KNOB, "status", "not painted yet"))
    group.addKnob(knobs.hidden_string(RESULTS_KNOB, ""))
    group.addKnob(knobs.hidden_string(CLICKS_KNOB, ""))
    group.addKnob(nuke.Tab_Knob("clicks_tab", "Clicks"))
    group["knobChanged"].setValue(knobs.script_call("knob_changed"))
    with graph.as_group(group):
        for i, label in enumerate(["lines", "key"]):
            inp = nuke.nodes.Input(name=f"Input{i + 1}")
            inp["number"].setValue(i)
            inp["label"].setValue(label)
        for name in ("InkpaintPaint", "InkpaintQC"):
            read = nuke.nodes.Read(name=name)
            read["raw"].setValue(True)
            for kname in ("on_error", "before", "after"):
                read[kname].setValue("black")
        switch = nuke.nodes.Switch(name=graph.SWITCH)
        switch.setInput(0, nuke.toNode("Input1"))
        switch.setInput(1, nuke.toNode("InkpaintPaint"))
        switch.setInput(2, nuke.toNode("InkpaintQC"))
        out = nuke.nodes.Output(name=graph.OUTPUT)
        out.setInput(0, switch)


def add_click(node: nuke.Node, entry: str | None = None, xy: tuple[float, float] | None = None, frame: int | None = None) -> str:
    """Add a palette click on the current frame; ``entry`` names the palette part (asked for in the GUI)."""
    if entry is None and nuke.env["gui"]:
        entry = nuke.getInput("Palette entry (part name) to paint with:", "")
    if not entry:
        raise runner.InkpaintNukeError("a colour click needs a palette entry name")
    frame = int(nuke.frame() if frame is None else frame)
    clicks = knobs.get_json(node, CLICKS_KNOB, {"counter": 0, "clicks": []})
    clicks["counter"] = int(clicks.get("counter", 0)) + 1
    kname = f"click{clicks['counter']}"
    if xy is None:
        w, h = roto_node.input_size(node)
        xy = (w / 2.0, h / 2.0)
    knob = nuke.XY_Knob(kname, f"{entry} @{frame}")
    knob.setValue([float(xy[0]), float(xy[1])])
    node.addKnob(knob)
    clicks["clicks"].append({"knob": kname, "entry": entry, "frame": frame})
    knobs.set_json(node, CLICKS_KNOB, clicks)
    return kname


def parse_frames(text: str) -> list[int]:
    """``"1001, 1040"`` -> ``[1001, 1040]``."""
    out = []
    for part in re.split(r"[,\s]+", text.strip()):
        if not part:
            continue
        if not re.fullmatch(r"-?\d+", part):
            raise runner.InkpaintNukeError(f"key frames: {part!r} is not a frame number (write e.g. 1001,1040)")
        out.append(int(part))
    return sorted(set(out))


def plan(node: nuke.Node, cache_dir: str | None = None) -> dict[str, Any]:
    folder = roto_node.node_folder(node, cache_dir)
    up = node.input(0)
    if up is None:
        raise runner.InkpaintNukeError(f"{node.name()}: connect the line art to input 1 (lines)")
    frames = (int(up.firstFrame()), int(up.lastFrame()))
    h = int(up.height())
    source = pixels.plan_source(node, 0, folder, frames, what="lines")
    keys: list[dict[str, Any]] = []
    key_sources: list[tuple[pixels.PlateSource, tuple[int, int]]] = []
    if str(node["key_source"].value()) == "keyframe input":
        for f in parse_frames(str(node["key_frames"].value() or "")):
            ks = pixels.plan_source(node, 1, folder, (f, f), what="key")
            key_sources.append((ks, (f, f)))
            keys.append({"frame": f, "image": ks.path(f)})
    else:
        by_frame: dict[int, list[list[Any]]] = {}
        for c in knobs.get_json(node, CLICKS_KNOB, {"clicks": []}).get("clicks", []):
            k = node.knob(c["knob"])
            if k is None:
                continue
            by_frame.setdefault(int(c["frame"]), []).append([round(float(k.value(0)), 3), round(h - float(k.value(1)), 3), c["entry"]])
        keys = [{"frame": f, "clicks": by_frame[f]} for f in sorted(by_frame)]
    palette = str(node["palette"].value() or "").strip()
    palette = os.path.abspath(os.path.expanduser(palette)) if palette else ""
    job = jobs.paint_job(
        input=source.pattern, output="", frames=frames, keys=keys, palette=palette or None,
        direction=str(node["direction"].value()), max_gap=int(node["max_gap"].value()), speck=int(node["speck"].value()),
        line_threshold=float(node["line_threshold"].value()), binarize=str(node["binarize"].value()), qc_output="",
        color=source.color(),
    )
    key = jobs.job_key({**job, "palette_digest": jobs.file_digest(palette) if palette else ""})
    out = f"{folder}/paint-{key}"
    job["output"] = f"{out}/paint.####.exr"
    job["qc_output"] = f"{out}/qc.####.exr"
    return {"job": job, "key": key, "folder": out, "frames": frames, "source": source, "key_sources": key_sources}


def run(node: nuke.Node, cache_dir: str | None = None) -> dict[str, Any]:
    p = plan(node, cache_dir)
    pixels.ensure_rendered(node, 0, p["source"], p["frames"])
    for ks, fr in p["key_sources"]:
        pixels.ensure_rendered(node, 1, ks, fr)
    name = node.fullName()

    def done(n: nuke.Node, results: list[dict[str, Any]]) -> None:
        first, last = p["frames"]
        knobs.set_json(n, RESULTS_KNOB, {"key": p["key"], "folder": p["folder"], "frames": [first, last]})
        graph.set_read(n, "InkpaintPaint", p["job"]["output"], first, last)
        graph.set_read(n, "InkpaintQC", p["job"]["qc_output"], first, last)
        n["show"].setValue("paint")
        apply_show(n)
        summary = (results[0] if results else {}).get("summary", {})
        unpainted = summary.get("unpainted") or summary.get("unpainted_segments")
        knobs.set_status(n, f"painted frames {first}-{last}" + (f"; unpainted segments: {unpainted}" if unpainted else ""))

    def failed(n: nuke.Node | None, message: str) -> None:
        if n is not None:
            first = message.splitlines()[0]
            knobs.set_status(n, first if first.startswith("cancelled") else f"failed: {first}")

    knobs.set_status(node, "painting...")
    runner.start(runner.Task(f"Inkpaint paint {name}", name, [runner.Step("run", {"job": p["job"]}, "paint")], done, failed))
    return p


def apply_show(node: nuke.Node) -> None:
    which = {"paint": 1, "qc overlay": 2}.get(str(node["show"].value()), 0)
    graph.set_view(node, which if knobs.get_json(node, RESULTS_KNOB, {}) else 0)
