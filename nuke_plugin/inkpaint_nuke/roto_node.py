"""InkpaintRoto: click on objects, track them through the shot, get per-object mattes and editable Roto shapes.

Knobs (tab "InkpaintRoto"): the object list (add, rename, remove); prompt buttons that add, for the current
object and the current frame, a + or - point (an XY knob, draggable in the viewer), a box (a BBox knob) or the
input's alpha as a mask; direction, frame range, backend and model; Track, Preview this frame, Bake to Roto.
Prompt knobs live on the "Prompts" tab; a hidden JSON knob records, per prompt knob, its object, sign and frame.

Output: the input with each object's matte as layer ``<object>`` (channel alpha) and their union in rgba.alpha,
read from the cached results by an internal Read (see :mod:`inkpaint_nuke.graph`).
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from typing import Any

import nuke

from . import graph, jobs, knobs, pixels, runner
from .settings import load_settings

NODE_TYPE = "InkpaintRoto"
PROMPTS_KNOB = "inkpaint_prompts"
RESULTS_KNOB = "inkpaint_results"
BACKENDS = ["classic", "sam2"]
MODELS = ["tiny", "small", "base_plus", "large"]
DEVICES = ["auto", "cuda", "mps", "cpu"]
VIEWS = ["result", "preview", "input"]


# ----------------------------------------------------------------------------------------------------------------
# Creation


def create(name: str | None = None, inpanel: bool = True) -> nuke.Group:
    """Create an InkpaintRoto node (connected to the selected node in the GUI). Main thread only."""
    return knobs.create_group(build, name, inpanel)


def build(group: nuke.Node) -> None:
    """Add the knobs and the internal graph to an empty Group."""
    for k in knobs.identity_knobs(NODE_TYPE, uuid.uuid4().hex[:12]):
        group.addKnob(k)
    group.addKnob(nuke.Tab_Knob("inkpaint_tab", NODE_TYPE))
    obj = nuke.Enumeration_Knob("object", "object", [])
    obj.setTooltip("the object new prompts belong to")
    group.addKnob(obj)
    group.addKnob(knobs.button("add_object", "Add", "add_object", tooltip="add an object (a layer of the output)"))
    group.addKnob(knobs.button("rename_object", "Rename", "rename_object"))
    group.addKnob(knobs.button("remove_object", "Remove", "remove_object", tooltip="remove the object and its prompts"))
    group.addKnob(nuke.Text_Knob("prompts_divider", "prompts on this frame"))
    group.addKnob(knobs.button("add_point_pos", "+ point", "add_point", "1", newline=True, tooltip="include: drag the point onto the object in the viewer"))
    group.addKnob(knobs.button("add_point_neg", "- point", "add_point", "0", tooltip="exclude: drag the point onto what is not the object"))
    group.addKnob(knobs.button("add_box", "box", "add_box", tooltip="a box around the object on this frame"))
    group.addKnob(knobs.button("add_alpha_mask", "input alpha as mask", "add_alpha_mask", tooltip="use the input's alpha on this frame as the object's mask"))
    group.addKnob(knobs.button("clear_frame", "clear this frame", "clear_frame_prompts"))
    summary = nuke.Text_Knob("prompt_summary", "", "no objects yet: Add one, then click + point")
    group.addKnob(summary)
    group.addKnob(nuke.Text_Knob("track_divider", "tracking"))
    group.addKnob(nuke.Enumeration_Knob("direction", "direction", ["both", "forward", "backward"]))
    use_range = nuke.Boolean_Knob("use_input_range", "input range", True)
    use_range.setFlag(nuke.STARTLINE)
    group.addKnob(use_range)
    for kname, label in (("first_frame", "first"), ("last_frame", "last")):
        k = nuke.Int_Knob(kname, label)
        k.clearFlag(nuke.STARTLINE)
        k.setEnabled(False)
        group.addKnob(k)
    group.addKnob(nuke.Enumeration_Knob("backend", "backend", BACKENDS))
    model = nuke.Enumeration_Knob("model", "model", MODELS)
    model.clearFlag(nuke.STARTLINE)
    group.addKnob(model)
    device = nuke.Enumeration_Knob("device", "device", DEVICES)
    device.clearFlag(nuke.STARTLINE)
    group.addKnob(device)
    group.addKnob(nuke.Boolean_Knob("cryptomatte", "Cryptomatte layer", False))
    tol = nuke.Double_Knob("contour_tolerance", "outline tolerance")
    tol.setValue(1.0)
    group.addKnob(tol)
    group.addKnob(knobs.button("track", "Track", "track", newline=True, tooltip="track every object through the range (in the background)"))
    group.addKnob(knobs.button("preview", "Preview this frame", "preview", tooltip="segment the current frame with its prompts and show it"))
    group.addKnob(knobs.button("bake", "Bake to Roto", "bake", tooltip="editable Roto shapes, one per object, keyed on every frame"))
    group.addKnob(knobs.button("save_farm_bundle", "Save farm bundle", "save_farm_bundle", tooltip="write this track as an "
                               "Open Job Description / Deadline Cloud job bundle (inkpaint farm bundle; docs/farm.md)"))
    group.addKnob(nuke.Enumeration_Knob("view", "show", VIEWS))
    group.addKnob(nuke.Text_Knob(knobs.STATUS_KNOB, "status", "not tracked yet"))
    group.addKnob(knobs.hidden_string(PROMPTS_KNOB, ""))
    group.addKnob(knobs.hidden_string(RESULTS_KNOB, ""))
    group.addKnob(nuke.Tab_Knob("prompts_tab", "Prompts"))
    group["knobChanged"].setValue(knobs.script_call("knob_changed"))
    group["onCreate"].setValue(knobs.script_call("on_create"))
    graph.build_base(group, ["plate"])
    update_range(group)


# ----------------------------------------------------------------------------------------------------------------
# Prompt data


@dataclasses.dataclass
class PromptData:
    """The hidden record of objects and prompt knobs."""

    objects: list[str]
    prompts: list[dict[str, Any]]
    counter: int = 0

    @classmethod
    def load(cls, node: nuke.Node) -> PromptData:
        data = knobs.get_json(node, PROMPTS_KNOB, {})
        return cls(list(data.get("objects", [])), list(data.get("prompts", [])), int(data.get("counter", 0)))

    def save(self, node: nuke.Node) -> None:
        knobs.set_json(node, PROMPTS_KNOB, {"objects": self.objects, "prompts": self.prompts, "counter": self.counter})
        menu = node["object"]
        assert isinstance(menu, nuke.Enumeration_Knob)
        menu.setValues(self.objects)
        counts = []
        for name in self.objects:
            mine = [p for p in self.prompts if p["object"] == name]
            frames = sorted({int(p["frame"]) for p in mine})
            counts.append(f"{name}: {len(mine)} prompt(s)" + (f" on {', '.join(map(str, frames))}" if frames else ""))
        node["prompt_summary"].setValue("; ".join(counts) if counts else "no objects yet: Add one, then click + point")


def check_object_name(name: str, existing: list[str]) -> str:
    """Validate a new object name (it becomes a Nuke layer and an EXR channel prefix)."""
    name = name.strip()
    problem = jobs.J.name_problem(name)  # the engine's one rule (inkpaint.jobs.names)
    if problem:
        raise runner.InkpaintNukeError(f"object name {problem}; choose another name")
    if name in existing:
        raise runner.InkpaintNukeError(f"there is already an object called {name!r}")
    return name


def current_object(node: nuke.Node) -> str:
    data = PromptData.load(node)
    if not data.objects:
        raise runner.InkpaintNukeError("add an object first (Add, next to the object list)")
    value = node["object"].value()
    return str(value) if value in data.objects else data.objects[0]


def add_object(node: nuke.Node, name: str) -> str:
    data = PromptData.load(node)
    name = check_object_name(name, data.objects)
    data.objects.append(name)
    data.save(node)
    node["object"].setValue(name)
    return name


def rename_object(node: nuke.Node, old: str, new: str) -> None:
    data = PromptData.load(node)
    if old not in data.objects:
        raise runner.InkpaintNukeError(f"there is no object called {old!r}")
    new = check_object_name(new, [o for o in data.objects if o != old])
    data.objects[data.objects.index(old)] = new
    for p in data.prompts:
        if p["object"] == old:
            p["object"] = new
            k = node.knob(p["knob"])
            if k is not None:
                k.setLabel(_prompt_label(p))
    data.save(node)
    node["object"].setValue(new)


def remove_object(node: nuke.Node, name: str) -> None:
    data = PromptData.load(node)
    if name not in data.objects:
        raise runner.InkpaintNukeError(f"there is no object called {name!r}")
    data.objects.remove(name)
    for p in [p for p in data.prompts if p["object"] == name]:
        _remove_prompt_knob(node, p)
        data.prompts.remove(p)
    data.save(node)


def _prompt_label(p: dict[str, Any]) -> str:
    sign = {"point": "+" if p.get("label", 1) else "-", "box": "box", "mask": "alpha"}[p["kind"]]
    return f"{sign} {p['object']} @{p['frame']}"


def _remove_prompt_knob(node: nuke.Node, p: dict[str, Any]) -> None:
    k = node.knob(p.get("knob", "")) if p.get("knob") else None
    if k is not None:
        node.removeKnob(k)


def input_size(node: nuke.Node) -> tuple[int, int]:
    """Width and height of the node's input (the plate)."""
    up = node.input(0)
    if up is None:
        raise runner.InkpaintNukeError(f"{node.name()}: connect a plate to the input first")
    return int(up.width()), int(up.height())


def add_point(node: nuke.Node, label: int, xy: tuple[float, float] | None = None, frame: int | None = None, obj: str | None = None) -> str:
    """Add a +/- point for the current object on the current frame; returns the new XY knob's name."""
    name = obj or current_object(node)
    frame = int(nuke.frame() if frame is None else frame)
    data = PromptData.load(node)
    data.counter += 1
    kname = f"pt{data.counter}"
    if xy is None:
        w, h = input_size(node)
        xy = (w / 2.0, h / 2.0)
    p = {"knob": kname, "kind": "point", "object": name, "label": 1 if label else 0, "frame": frame}
    knob = nuke.XY_Knob(kname, _prompt_label(p))
    knob.setValue([float(xy[0]), float(xy[1])])
    knob.setTooltip(f"{'include' if label else 'exclude'} point for {name}, set on frame {frame}; drag it in the viewer")
    node.addKnob(knob)
    data.prompts.append(p)
    data.save(node)
    return kname


def add_box(node: nuke.Node, box: tuple[float, float, float, float] | None = None, frame: int | None = None, obj: str | None = None) -> str:
    """Add (or replace) the box of the current object on the current frame. ``box`` is left, bottom, right, top in
    Nuke pixels."""
    name = obj or current_object(node)
    frame = int(nuke.frame() if frame is None else frame)
    data = PromptData.load(node)
    for p in [p for p in data.prompts if p["kind"] == "box" and p["object"] == name and int(p["frame"]) == frame]:
        _remove_prompt_knob(node, p)
        data.prompts.remove(p)
    data.counter += 1
    kname = f"box{data.counter}"
    if box is None:
        w, h = input_size(node)
        box = (w * 0.25, h * 0.25, w * 0.75, h * 0.75)
    p = {"knob": kname, "kind": "box", "object": name, "frame": frame}
    knob = nuke.BBox_Knob(kname, _prompt_label(p))
    knob.setValue([float(v) for v in box])
    node.addKnob(knob)
    data.prompts.append(p)
    data.save(node)
    return kname


def add_alpha_mask(node: nuke.Node, frame: int | None = None, obj: str | None = None) -> None:
    """Use the input's alpha on this frame as the current object's mask."""
    name = obj or current_object(node)
    frame = int(nuke.frame() if frame is None else frame)
    data = PromptData.load(node)
    if any(p["kind"] == "mask" and p["object"] == name and int(p["frame"]) == frame for p in data.prompts):
        return
    data.prompts.append({"kind": "mask", "object": name, "frame": frame})
    data.save(node)


def clear_frame_prompts(node: nuke.Node, frame: int | None = None, obj: str | None = None) -> int:
    """Remove the current object's prompts on the current frame; returns how many went."""
    name = obj or current_object(node)
    frame = int(nuke.frame() if frame is None else frame)
    data = PromptData.load(node)
    gone = [p for p in data.prompts if p["object"] == name and int(p["frame"]) == frame]
    for p in gone:
        _remove_prompt_knob(node, p)
        data.prompts.remove(p)
    data.save(node)
    return len(gone)


def collect_prompts(node: nuke.Node, mask_path: Any = None) -> tuple[list[jobs.PointPrompt], list[jobs.BoxPrompt], list[jobs.MaskPrompt]]:
    """The prompts as typed records, reading the current positions of the (possibly dragged) knobs."""
    data = PromptData.load(node)
    points, boxes, masks = [], [], []
    for p in data.prompts:
        if p["kind"] == "point":
            k = node.knob(p["knob"])
            if k is None:
                continue
            x, y = float(k.value(0)), float(k.value(1))
            points.append(jobs.PointPrompt(p["object"], int(p["frame"]), x, y, int(p["label"])))
        elif p["kind"] == "box":
            k = node.knob(p["knob"])
            if k is None:
                continue
            x0, y0, x1, y1 = (float(k.value(i)) for i in range(4))
            boxes.append(jobs.BoxPrompt(p["object"], int(p["frame"]), x0, y0, x1, y1))
        elif p["kind"] == "mask":
            frame = int(p["frame"])
            masks.append(jobs.MaskPrompt(p["object"], frame, mask_path(frame) if mask_path else ""))
    return points, boxes, masks


# ----------------------------------------------------------------------------------------------------------------
# Frame range


def update_range(node: nuke.Node) -> None:
    """With "input range" on, copy the input's frame range into first/last (and keep them disabled)."""
    use = bool(node["use_input_range"].value())
    node["first_frame"].setEnabled(not use)
    node["last_frame"].setEnabled(not use)
    if not use:
        return
    up = node.input(0)
    if up is not None:
        first, last = int(up.firstFrame()), int(up.lastFrame())
    else:
        first, last = int(nuke.root()["first_frame"].value()), int(nuke.root()["last_frame"].value())
    node["first_frame"].setValue(first)
    node["last_frame"].setValue(last)


def frame_range(node: nuke.Node) -> tuple[int, int]:
    if bool(node["use_input_range"].value()):
        update_range(node)
    first, last = int(node["first_frame"].value()), int(node["last_frame"].value())
    if last < first:
        raise runner.InkpaintNukeError(f"{node.name()}: the frame range {first}-{last} ends before it starts")
    return first, last


# ----------------------------------------------------------------------------------------------------------------
# Planning a job (main thread, no rendering)


@dataclasses.dataclass
class RotoPlan:
    job: dict[str, Any]
    key: str
    folder: str
    source: pixels.PlateSource
    mask_sources: dict[int, pixels.PlateSource]
    frames: tuple[int, int]
    objects: list[str]

    @property
    def mattes(self) -> str:
        return str(self.job["output"])

    @property
    def contours(self) -> str:
        return str(self.job["output"]).replace(".####.exr", ".####.contours.json")


def node_folder(node: nuke.Node, cache_dir: str | None = None) -> str:
    root = cache_dir or load_settings().cache_dir
    return os.path.join(root, str(node[knobs.UID_KNOB].value()) or "unnamed").replace("\\", "/")


def backend_options(node: nuke.Node) -> tuple[str, dict[str, Any]]:
    backend = str(node["backend"].value())
    options: dict[str, Any] = {}
    if backend != "classic":
        options["model"] = str(node["model"].value())
    device = str(node["device"].value())
    if device != "auto":
        options["device"] = device
    return backend, options


def plan(node: nuke.Node, cache_dir: str | None = None) -> RotoPlan:
    """Read the knobs and build the roto job (nothing is rendered or run).

    Raises:
        InkpaintNukeError / jobs.JobBuildError / pixels.PixelsError: naming what to fix.
    """
    folder = node_folder(node, cache_dir)
    frames = frame_range(node)
    size = input_size(node)
    source = pixels.plan_source(node, 0, folder, frames)
    data = PromptData.load(node)
    if not data.objects:
        raise runner.InkpaintNukeError(f"{node.name()}: no objects; Add an object and give it a prompt")
    mask_sources: dict[int, pixels.PlateSource] = {}
    for p in data.prompts:
        if p["kind"] == "mask":
            f = int(p["frame"])
            mask_sources[f] = source if source.rendered else pixels.plan_source(node, 0, folder, (f, f), what="alpha")
    points, boxes, masks = collect_prompts(node, lambda f: mask_sources[f].path(f))
    objects = jobs.roto_objects(data.objects, points, boxes, masks, size)
    backend, options = backend_options(node)
    job = jobs.roto_job(
        input=source.pattern, output="", objects=objects, frames=frames, color=source.color(), backend=backend,
        backend_options=options, direction=str(node["direction"].value()), cryptomatte=bool(node["cryptomatte"].value()),
        contour_tolerance=float(node["contour_tolerance"].value()),
    )
    key = jobs.job_key(job)
    job["output"] = f"{folder}/roto-{key}/mattes.####.exr"
    return RotoPlan(job, key, folder, source, mask_sources, frames, list(data.objects))


def results_complete(p: RotoPlan) -> bool:
    manifest = jobs.read_manifest(p.mattes)
    if manifest is None:
        return False
    frames = manifest.get("result", {}).get("frames", [])
    return bool(frames) and all(os.path.isfile(pixels.PlateSource(p.mattes, "", None, False).path(int(f))) for f in frames)


# ----------------------------------------------------------------------------------------------------------------
# Actions


def track(node: nuke.Node, cache_dir: str | None = None) -> RotoPlan:
    """Track every object through the range. Cached results of the same job are shown without recomputing.
    Main thread (it may render the upstream first); the tracking itself runs in the background in the GUI."""
    p = plan(node, cache_dir)
    if results_complete(p):
        show_results(node, p, {"frames": list(range(p.frames[0], p.frames[1] + 1))})
        knobs.set_status(node, f"up to date (cached results {p.key})")
        return p
    pixels.ensure_rendered(node, 0, p.source, p.frames)
    for f, src in p.mask_sources.items():
        if src is not p.source:
            pixels.ensure_rendered(node, 0, src, (f, f))
    knobs.set_status(node, "tracking...")
    name = node.fullName()

    def done(n: nuke.Node, results: list[dict[str, Any]]) -> None:
        show_results(n, p, results[0] if results else {})

    def failed(n: nuke.Node | None, message: str) -> None:
        if n is not None:
            first = message.splitlines()[0]
            knobs.set_status(n, first if first.startswith("cancelled") else f"failed: {first}")

    runner.start(runner.Task(f"Inkpaint track {name}", name, [runner.Step("run", {"job": p.job}, "track")], done, failed))
    return p


def show_results(node: nuke.Node, p: RotoPlan, result: dict[str, Any]) -> None:
    """Point the internal Read at the results and rebuild the channel copies (main thread)."""
    first, last = p.frames
    knobs.set_json(node, RESULTS_KNOB, {
        "key": p.key, "mattes": p.mattes, "contours": p.contours, "objects": p.objects,
        "frames": [first, last], "cryptomatte": bool(p.job.get("cryptomatte")),
    })
    graph.set_read(node, "InkpaintResult", p.mattes, first, last)
    connect_chain(node, "Result", "InkpaintResult", p.objects, bool(p.job.get("cryptomatte")), graph.VIEW_RESULT)
    node["view"].setValue("result")
    graph.set_view(node, graph.VIEW_RESULT)
    empty = result.get("summary", {}).get("empty_frames") or []
    note = f"; {len(empty)} frame(s) with empty mattes" if empty else ""
    knobs.set_status(node, f"tracked {len(p.objects)} object(s), frames {first}-{last}{note}")


def connect_chain(node: nuke.Node, prefix: str, read: str, objects: list[str], cryptomatte: bool, which: int) -> None:
    base = graph.inner(node, "Input1")
    layers = graph.cryptomatte_layers() if cryptomatte else []
    last = graph.copy_chain(node, prefix, read, base, graph.matte_channels(objects), layers, metadata=cryptomatte)
    graph.connect_view_input(node, which, last)


def preview(node: nuke.Node, frame: int | None = None, cache_dir: str | None = None) -> dict[str, Any]:
    """Segment the current frame with its prompts (the worker's ``segment`` request) and show it in the viewer."""
    frame = int(nuke.frame() if frame is None else frame)
    folder = node_folder(node, cache_dir)
    size = input_size(node)
    source = pixels.plan_source(node, 0, folder, (frame, frame), what="still")
    data = PromptData.load(node)
    alpha = source if source.rendered else pixels.plan_source(node, 0, folder, (frame, frame), what="alpha")
    points, boxes, masks = collect_prompts(node, lambda f: alpha.path(f))
    points = [q for q in points if q.frame == frame]
    boxes = [b for b in boxes if b.frame == frame]
    masks = [m for m in masks if m.frame == frame]
    used = {q.object for q in points} | {b.object for b in boxes} | {m.object for m in masks}
    here = [o for o in data.objects if o in used]
    if not here:
        raise runner.InkpaintNukeError(f"{node.name()}: no prompts on frame {frame}; add a point or a box here to preview it")
    objects = jobs.roto_objects(here, points, boxes, masks, size)
    backend, options = backend_options(node)
    req = jobs.segment_request(input=source.pattern, frame=frame, objects=objects, color=source.color(), backend=backend,
                               backend_options=options, output="")
    key = jobs.job_key(req)
    req["output"] = f"{folder}/preview/preview-{key}.exr"
    pixels.ensure_rendered(node, 0, source, (frame, frame))
    if masks and alpha is not source:
        pixels.ensure_rendered(node, 0, alpha, (frame, frame))
    names = [o["name"] for o in req["objects"]]
    name = node.fullName()

    def done(n: nuke.Node, results: list[dict[str, Any]]) -> None:
        graph.set_read(n, "InkpaintPreview", req["output"], frame, frame)
        connect_chain(n, "Preview", "InkpaintPreview", names, False, graph.VIEW_PREVIEW)
        n["view"].setValue("preview")
        graph.set_view(n, graph.VIEW_PREVIEW)
        cov = (results[0] if results else {}).get("coverage", {})
        knobs.set_status(n, f"preview of frame {frame}: " + ", ".join(f"{k} {100 * v:.1f}%" for k, v in cov.items()))
        if nuke.env["gui"]:
            nuke.connectViewer(0, n)

    runner.start(runner.Task(f"Inkpaint preview {name}", name, [runner.Step("segment", req, f"preview frame {frame}")], done))
    return req


def on_create(node: nuke.Node) -> None:
    """Script load / node creation: check that the cached results still match the settings and still exist."""
    record = knobs.get_json(node, RESULTS_KNOB, {})
    if not record:
        return
    pattern = str(record.get("mattes", ""))
    if jobs.read_manifest(pattern) is None:
        graph.set_view(node, graph.VIEW_INPUT)
        knobs.set_status(node, "cached results are missing (cache cleared?): Track to recompute")
        return
    try:
        current = plan(node).key
    except Exception:  # noqa: BLE001 - an unconnected input on load is normal; keep showing what was cached
        current = record.get("key")
    if current != record.get("key"):
        knobs.set_status(node, "settings changed since the last Track: showing the previous results; Track to update")
    else:
        knobs.set_status(node, f"tracked (cached results {record.get('key')})")
