"""InkpaintPaint: fill line art from coloured keyframes and carry the colours through the shot (engine ``paint``).

Input 1 is the line art; input 2 (optional) a painted keyframe sequence. Keyframes come from the frames listed
in "key frames" (taken from input 2), and/or from palette clicks: XY knobs on the "Clicks" tab, each tagged with
its frame and a colour (palette ``part``, ``part/tone`` or index, ``#rrggbb``, or ``background`` for the
transparent canvas: segments no key colours are left unpainted and flagged in QC); a frame with both gets
both (clicks win over the painted image). Propagation options map one to one onto the engine's ``PaintJob``
(direction, max_gap, speck_size, line_threshold, confidence, composite_lines).

Pixels in: the engine reads display-referred pixels for paint (exact 8-bit colours, ink = distance from white), so
a plain Read of a PNG/TIFF/JPEG/DPX is used directly, and anything else (an EXR Read, a Grade, a Roto...) is
rendered to a 16-bit PNG sequence in the file type's default colourspace. Pixels out: the fill (linear,
premultiplied EXR, read raw), the QC overlay (unpainted segments magenta, unsure ones yellow) and the line layer,
each an internal Read; "show" switches the node's output between paint, QC overlay, lines and the input.
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
SHOWS = ["paint", "qc overlay", "lines", "input"]
VIEWS = {"input": 0, "paint": 1, "qc overlay": 2, "lines": 3}
READS = {"paint": "InkpaintPaint", "qc": "InkpaintQC", "lines": "InkpaintLines"}
DIRECT_EXTENSIONS = {".png", ".tif", ".tiff", ".jpg", ".jpeg", ".dpx"}
"""Plain Reads of these (integer, display-referred) files are read by the engine as they are; others are rendered."""


def create(name: str | None = None, inpanel: bool = True) -> nuke.Group:
    return knobs.create_group(build, name, inpanel)


def _int_knob(name: str, label: str, value: int, tooltip: str) -> nuke.Int_Knob:
    k = nuke.Int_Knob(name, label)
    k.setValue(value)
    k.setTooltip(tooltip)
    return k


def _double_knob(name: str, label: str, value: float, tooltip: str) -> nuke.Double_Knob:
    k = nuke.Double_Knob(name, label)
    k.setValue(value)
    k.setTooltip(tooltip)
    return k


def build(group: nuke.Node) -> None:
    for k in knobs.identity_knobs(NODE_TYPE, uuid.uuid4().hex[:12]):
        group.addKnob(k)
    group.addKnob(nuke.Tab_Knob("inkpaint_tab", NODE_TYPE))
    keys = nuke.String_Knob("key_frames", "key frames")
    keys.setTooltip("frames of input 2 (key) that are painted keyframes, e.g. 1001 or 1001,1040")
    group.addKnob(keys)
    key_alpha = nuke.Boolean_Knob("key_alpha", "keyframe alpha")
    key_alpha.setTooltip("input 2 has an alpha: transparent = background (else white = background)")
    group.addKnob(key_alpha)
    group.addKnob(nuke.File_Knob("palette", "palette"))
    refs = nuke.String_Knob("references", "references")
    refs.setTooltip("reference mode: coloured images of the character in any pose (design-sheet views), separated by "
                    "';', each optionally IMAGE=LINE_ART; every frame takes colours from them and from its painted "
                    "neighbour (keyframes become optional)")
    group.addKnob(refs)
    group.addKnob(knobs.button("add_click", "add colour click", "paint_add_click", newline=True,
                               tooltip="a point on this frame painted with a palette entry; drag it onto the segment"))
    group.addKnob(nuke.Enumeration_Knob("direction", "propagate", ["nearest", "forward", "backward"]))
    method = nuke.Enumeration_Knob("method", "method", list(jobs.PAINT_METHODS))
    method.setTooltip("how colours travel between frames: auto (the learned matcher where it is the better one, "
                      "else classic), learned (the inclusion matcher; needs torch in the worker) or classic (flow vote)")
    group.addKnob(method)
    group.addKnob(_int_knob("max_gap", "close gaps up to (px)", 0, "close line breaks up to this many pixels (0 = off)"))
    group.addKnob(_int_knob("speck_size", "merge specks up to (px)", 0, "segments this small merge into a neighbour (0 = off)"))
    lines_from = nuke.Enumeration_Knob("lines_from", "lines from", ["rgb", "alpha"])
    lines_from.setTooltip("rgb: dark lines on a light canvas; alpha: lines in the alpha (transparent canvas)")
    group.addKnob(lines_from)
    group.addKnob(_double_knob("line_threshold", "line threshold", 0.5, "ink where alpha / distance from white >= this"))
    group.addKnob(_double_knob("confidence", "confidence", 0.5,
                               "a carried segment needs this share of the vote, else it is left unpainted (QC magenta)"))
    group.addKnob(nuke.Boolean_Knob("composite_lines", "lines over fill"))
    group.addKnob(knobs.button("run", "Paint", "paint_run", newline=True))
    group.addKnob(nuke.Enumeration_Knob("show", "show", SHOWS))
    group.addKnob(nuke.Text_Knob(knobs.STATUS_KNOB, "status", "not painted yet"))
    group.addKnob(knobs.hidden_string(RESULTS_KNOB, ""))
    group.addKnob(knobs.hidden_string(CLICKS_KNOB, ""))
    group.addKnob(nuke.Tab_Knob("clicks_tab", "Clicks"))
    group["knobChanged"].setValue(knobs.script_call("knob_changed"))
    group["onCreate"].setValue(knobs.script_call("on_create"))
    with graph.as_group(group):
        for i, label in enumerate(["lines", "key"]):
            inp = nuke.nodes.Input(name=f"Input{i + 1}")
            inp["number"].setValue(i)
            inp["label"].setValue(label)
        for role, name in READS.items():
            read = nuke.nodes.Read(name=name)
            read["raw"].setValue(role == "paint")  # the fill is linear premultiplied EXR; QC/lines are sRGB PNG
            for kname in ("on_error", "before", "after"):
                read[kname].setValue("black")
        switch = nuke.nodes.Switch(name=graph.SWITCH)
        switch.setInput(0, nuke.toNode("Input1"))
        switch.setInput(1, nuke.toNode(READS["paint"]))
        switch.setInput(2, nuke.toNode(READS["qc"]))
        switch.setInput(3, nuke.toNode(READS["lines"]))
        out = nuke.nodes.Output(name=graph.OUTPUT)
        out.setInput(0, switch)


def add_click(node: nuke.Node, entry: str | None = None, xy: tuple[float, float] | None = None, frame: int | None = None) -> str:
    """Add a colour click on ``frame`` (default: the current one).

    Args:
        entry: the colour: a palette ``part`` or ``part/tone``, a palette index, ``#rrggbb`` or ``background``
            (transparent; asked in the GUI).
        xy: Nuke pixel coordinates (origin bottom-left); default the centre of the line art.
    """
    if entry is None and nuke.env["gui"]:
        entry = nuke.getInput("Colour (palette part, part/tone, index, #rrggbb or background):", "")
    entry = (entry or "").strip()
    if not entry:
        raise runner.InkpaintNukeError("a colour click needs a colour (palette part, part/tone, index or #rrggbb)")
    if entry.startswith("#") and not re.fullmatch(r"#[0-9a-fA-F]{6}", entry):
        raise runner.InkpaintNukeError(f"colour {entry!r}: write #rrggbb")
    frame = int(nuke.frame() if frame is None else frame)
    clicks = knobs.get_json(node, CLICKS_KNOB, {"counter": 0, "clicks": []})
    clicks["counter"] = int(clicks.get("counter", 0)) + 1
    kname = f"click{clicks['counter']}"
    if xy is None:
        w, h = roto_node.input_size(node)
        xy = (w / 2.0, h / 2.0)
    knob = nuke.XY_Knob(kname, f"{entry} @{frame}")
    knob.setValue([float(xy[0]), float(xy[1])])
    knob.setTooltip(f"paint the segment under this point with {entry} on frame {frame}; drag it in the viewer")
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


def _click_colour(entry: str) -> int | str:
    return int(entry) if entry.isdigit() else entry


def display_source(node: nuke.Node, index: int, folder: str, frames: tuple[int, int], what: str) -> pixels.PlateSource:
    """Where the engine reads input ``index`` as display-referred pixels: a plain Read of a PNG/TIFF/JPEG/DPX file
    as it is, anything else rendered to ``<folder>/<what>-<upstream key>/<what>.####.png``.

    Raises:
        PixelsError: the input is not connected.
    """
    up = node.input(index)
    if up is None:
        raise pixels.PixelsError(f"{node.name()}: input {index + 1} is not connected; connect the {what}")
    path = pixels.plain_read_pattern(up)
    if path is not None and os.path.splitext(path)[1].lower() in DIRECT_EXTENSIONS:
        return pixels.PlateSource(path, "auto", None, rendered=False)
    key = pixels.upstream_key(up, frames)
    pattern = os.path.join(folder, f"{what}-{key}", f"{what}.####.png").replace("\\", "/")
    return pixels.PlateSource(pattern, "auto", None, rendered=True, key=key)


def parse_references(node: nuke.Node) -> list[dict[str, Any]]:
    """The ``references`` knob (``IMAGE[=LINE]; ...``) as ``PaintJob.refs`` entries with absolute paths.

    Raises:
        InkpaintNukeError: a file that does not exist (named).
    """
    knob = node.knob("references")
    out: list[dict[str, Any]] = []
    for item in str(knob.value() if knob is not None else "").split(";"):
        if not item.strip():
            continue
        image, _, line = (t.strip() for t in item.partition("="))
        entry: dict[str, Any] = {"image": os.path.abspath(os.path.expanduser(image))}
        if line:
            entry["line"] = os.path.abspath(os.path.expanduser(line))
        for what, p in (("reference", entry["image"]), ("reference line art", entry.get("line"))):
            if p and not os.path.isfile(p):
                raise runner.InkpaintNukeError(f"{node.name()}: {what} '{p}' does not exist")
        out.append(entry)
    return out


def plan(node: nuke.Node, cache_dir: str | None = None) -> dict[str, Any]:
    """Read the knobs and build the paint job (nothing rendered or run).

    Raises:
        InkpaintNukeError / jobs.JobBuildError / pixels.PixelsError: naming what to fix.
    """
    folder = roto_node.node_folder(node, cache_dir)
    up = node.input(0)
    if up is None:
        raise runner.InkpaintNukeError(f"{node.name()}: connect the line art to input 1 (lines)")
    frames = (int(up.firstFrame()), int(up.lastFrame()))
    h = int(up.height())
    source = display_source(node, 0, folder, frames, "lines")
    by_frame: dict[int, dict[str, Any]] = {}
    renders: list[tuple[int, pixels.PlateSource, tuple[int, int], str]] = [
        (0, source, frames, "rgba" if str(node["lines_from"].value()) == "alpha" else "rgb")]
    digests: dict[str, str] = {}
    for f in parse_frames(str(node["key_frames"].value() or "")):
        if not frames[0] <= f <= frames[1]:
            raise runner.InkpaintNukeError(f"key frame {f} is outside the line art's frames {frames[0]}-{frames[1]}")
        ks = display_source(node, 1, folder, (f, f), "key")
        renders.append((1, ks, (f, f), "rgba" if bool(node["key_alpha"].value()) else "rgb"))
        by_frame[f] = {"frame": f, "image": ks.path(f)}
        if not ks.rendered:
            digests[str(f)] = jobs.file_digest(ks.path(f))  # an edited keyframe file changes the job key
    for c in knobs.get_json(node, CLICKS_KNOB, {"clicks": []}).get("clicks", []):
        k = node.knob(c["knob"])
        if k is None:
            continue
        f = int(c["frame"])
        # Nuke's origin is bottom-left, the engine's top-left; pixel centres stay centres
        xy = [round(float(k.value(0)), 3), round(h - float(k.value(1)), 3), _click_colour(str(c["entry"]))]
        by_frame.setdefault(f, {"frame": f}).setdefault("clicks", []).append(xy)
    refs = parse_references(node)
    for r in refs:
        for p in (r["image"], r.get("line")):
            if p:
                digests[p] = jobs.file_digest(p)  # an edited reference changes the job key
    palette = str(node["palette"].value() or "").strip()
    palette = os.path.abspath(os.path.expanduser(palette)) if palette else ""
    if palette and not os.path.isfile(palette):
        raise runner.InkpaintNukeError(f"{node.name()}: palette '{palette}' does not exist")
    job = jobs.paint_job(
        input=source.pattern, output="", frames=frames, keys=[by_frame[f] for f in sorted(by_frame)],
        palette=palette or None, direction=str(node["direction"].value()), max_gap=int(node["max_gap"].value()),
        speck_size=int(node["speck_size"].value()), line_threshold=float(node["line_threshold"].value()),
        confidence=float(node["confidence"].value()), composite_lines=bool(node["composite_lines"].value()),
        method=str(node["method"].value() or "auto"), refs=refs or None,
    )
    key = jobs.job_key({**job, "palette_digest": jobs.file_digest(palette) if palette else "", "key_digests": digests})
    out = f"{folder}/paint-{key}"
    job.update({"output": f"{out}/paint.####.exr", "qc_output": f"{out}/qc.####.png", "lines_output": f"{out}/lines.####.png",
                "labels_output": f"{out}/labels.####.png", "segments_output": f"{out}/segments.####.json"})
    return {"job": job, "key": key, "folder": out, "frames": frames, "source": source, "renders": renders}


def show_results(node: nuke.Node, job: dict[str, Any], frames: tuple[int, int] | list[int]) -> None:
    """Point the internal Reads at a finished job's outputs (main thread)."""
    first, last = int(frames[0]), int(frames[1])
    graph.set_read(node, READS["paint"], job["output"], first, last)
    graph.set_read(node, READS["qc"], job.get("qc_output") or None, first, last)
    graph.set_read(node, READS["lines"], job.get("lines_output") or None, first, last)


def status_text(first: int, last: int, summary: dict[str, Any]) -> str:
    """The node's status after a run: frames painted, and what the QC overlay flags (from the job's summary)."""
    text = f"painted frames {first}-{last}"
    unpainted = int(summary.get("unpainted_segments") or 0)
    if unpainted:
        frames_with = summary.get("frames_with_unpainted") or []
        text += f"; {unpainted} unpainted segment(s) on {len(frames_with)} frame(s): see show > qc overlay"
    low = int(summary.get("low_confidence_segments") or 0)
    if low:
        text += f"; {low} low-confidence segment(s) (yellow in the qc overlay)"
    return text


def run(node: nuke.Node, cache_dir: str | None = None) -> dict[str, Any]:
    """Paint: render what the engine cannot read directly, then run the job on the worker (background thread in the
    GUI, synchronous in terminal mode). Unchanged settings with finished results answer from the cache."""
    p = plan(node, cache_dir)
    record = knobs.get_json(node, RESULTS_KNOB, {})
    if record.get("key") == p["key"] and jobs.read_manifest(p["job"]["output"]) is not None:
        show_results(node, p["job"], p["frames"])
        apply_show(node)
        knobs.set_status(node, f"up to date (cached results {p['key']})")
        return p
    for index, src, fr, channels in p["renders"]:
        pixels.ensure_rendered(node, index, src, fr, channels=channels)
    name = node.fullName()

    def done(n: nuke.Node, results: list[dict[str, Any]]) -> None:
        first, last = p["frames"]
        knobs.set_json(n, RESULTS_KNOB, {"key": p["key"], "folder": p["folder"], "frames": [first, last], "job": p["job"]})
        show_results(n, p["job"], (first, last))
        n["show"].setValue("paint")
        apply_show(n)
        knobs.set_status(n, status_text(first, last, (results[0] if results else {}).get("summary", {})))

    def failed(n: nuke.Node | None, message: str) -> None:
        if n is not None:
            first = message.splitlines()[0]
            knobs.set_status(n, first if first.startswith("cancelled") else f"failed: {first}")

    knobs.set_status(node, "painting...")
    runner.start(runner.Task(f"Inkpaint paint {name}", name, [runner.Step("run", {"job": p["job"]}, "paint")], done, failed))
    return p


def apply_show(node: nuke.Node) -> None:
    which = VIEWS.get(str(node["show"].value()), 0)
    graph.set_view(node, which if knobs.get_json(node, RESULTS_KNOB, {}) else VIEWS["input"])


def on_create(node: nuke.Node) -> None:
    """Script load: show the cached results again, or say they are gone or out of date."""
    record = knobs.get_json(node, RESULTS_KNOB, {})
    job = record.get("job") if isinstance(record, dict) else None
    if not job:
        return
    if jobs.read_manifest(str(job.get("output", ""))) is None:
        graph.set_view(node, VIEWS["input"])
        knobs.set_status(node, "cached paint results are missing (cache cleared?): Paint to recompute")
        return
    show_results(node, job, record.get("frames", [1, 1]))
    apply_show(node)
    try:
        current = plan(node).get("key")
    except Exception:  # noqa: BLE001 - an unconnected input on load is normal; keep showing what was cached
        current = record.get("key")
    if current != record.get("key"):
        knobs.set_status(node, "settings changed since the last Paint: showing the previous results; Paint to update")
    else:
        knobs.set_status(node, f"painted (cached results {record.get('key')})")
