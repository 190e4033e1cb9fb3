"""``bpy.ops.inkpaint.*``: every operator works from a script (``blender -b --python``) as well as from the panel.

``execute`` (what a script's ``bpy.ops.inkpaint.roto(...)`` calls) runs synchronously and returns when the results
are applied. ``invoke`` (a button in the panel) runs the worker request in the background, shows progress and
listens for Esc; in background mode it runs synchronously too. Arguments left unset fall back to the clip's panel
settings.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

import bpy
from bpy.props import EnumProperty, FloatVectorProperty, IntProperty, StringProperty

from . import clip_source, jobs, results, runner
from .props import PALETTE, channel_name
from .worker_client import WorkerCancelled, WorkerError

log = logging.getLogger("inkpaint.blender")

UNSET = -(2**31)


def find_clip(context: bpy.types.Context, name: str = "") -> bpy.types.MovieClip:
    """The clip named ``name``, else the Clip Editor's clip, else the scene's active clip."""
    if name:
        clip = bpy.data.movieclips.get(name)
        if clip is None:
            raise ValueError(f"no movie clip named '{name}' (clips: {', '.join(c.name for c in bpy.data.movieclips) or 'none'})")
        return clip
    clip = getattr(context, "edit_movieclip", None)
    space = getattr(context, "space_data", None)
    if clip is None and space is not None and getattr(space, "type", "") == "CLIP_EDITOR":
        clip = space.clip
    if clip is None and context.scene is not None:
        clip = context.scene.active_clip
    if clip is None:
        raise ValueError("no movie clip: open one in the Clip Editor, set the scene's active clip, or pass clip='name'")
    return clip


def find_object(clip: bpy.types.MovieClip, name: str = "") -> Any:
    s = clip.inkpaint
    if name:
        for o in s.objects:
            if o.name == name:
                return o
        raise ValueError(f"clip '{clip.name}' has no Inkpaint object '{name}' (objects: {', '.join(o.name for o in s.objects) or 'none'})")
    if not s.objects:
        raise ValueError(f"clip '{clip.name}' has no Inkpaint objects; add one first")
    return s.objects[min(max(s.active_object_index, 0), len(s.objects) - 1)]


def add_point(obj: Any, frame: int, co: tuple[float, float], label: str) -> Any:
    """Store one point prompt (frame coordinates) on ``obj``; the code path of both the click tool and scripts."""
    p = obj.points.add()
    p.frame = int(frame)
    p.co = (float(co[0]), float(co[1]))
    p.label = label
    return p


def _redraw(context: bpy.types.Context) -> None:
    screen = getattr(context, "screen", None)
    for area in getattr(screen, "areas", []):
        if area.type == "CLIP_EDITOR":
            area.tag_redraw()


class _ClipOperator:
    clip: StringProperty(name="Clip", description="Movie clip name (default: the Clip Editor's or the scene's active clip)", default="")  # type: ignore[valid-type]

    def clip_or_report(self, context: bpy.types.Context) -> bpy.types.MovieClip | None:
        try:
            return find_clip(context, self.clip)  # type: ignore[attr-defined]
        except ValueError as exc:
            self.report({"ERROR"}, str(exc))  # type: ignore[attr-defined]
            return None


class INKPAINT_OT_object_add(_ClipOperator, bpy.types.Operator):
    """Add an object (or part) to track; its name becomes the EXR layer and the Mask layer"""

    bl_idname = "inkpaint.object_add"
    bl_label = "Add Object"
    bl_options = {"REGISTER", "UNDO"}

    name: StringProperty(name="Name", default="object")  # type: ignore[valid-type]

    def execute(self, context: bpy.types.Context) -> set[str]:
        clip = self.clip_or_report(context)
        if clip is None:
            return {"CANCELLED"}
        s = clip.inkpaint
        base = channel_name(self.name)
        existing = {o.name for o in s.objects}
        name, i = base, 1
        while name in existing:
            name, i = f"{base}_{i}", i + 1
        obj = s.objects.add()
        obj.name = name
        obj.color = PALETTE[(len(s.objects) - 1) % len(PALETTE)]
        obj.mask_frame = context.scene.frame_current
        s.active_object_index = len(s.objects) - 1
        _redraw(context)
        return {"FINISHED"}


class INKPAINT_OT_object_remove(_ClipOperator, bpy.types.Operator):
    """Remove an object and its prompts"""

    bl_idname = "inkpaint.object_remove"
    bl_label = "Remove Object"
    bl_options = {"REGISTER", "UNDO"}

    object: StringProperty(name="Object", description="Object name (default: the active one)", default="")  # type: ignore[valid-type]

    def execute(self, context: bpy.types.Context) -> set[str]:
        clip = self.clip_or_report(context)
        if clip is None:
            return {"CANCELLED"}
        s = clip.inkpaint
        try:
            obj = find_object(clip, self.object)
        except ValueError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        index = next(i for i, o in enumerate(s.objects) if o.name == obj.name)
        s.objects.remove(index)
        s.active_object_index = max(0, min(s.active_object_index, len(s.objects) - 1))
        _redraw(context)
        return {"FINISHED"}


class INKPAINT_OT_point_add(_ClipOperator, bpy.types.Operator):
    """Add a + or - point prompt to an object on a frame"""

    bl_idname = "inkpaint.point_add"
    bl_label = "Add Point"
    bl_options = {"REGISTER", "UNDO"}

    object: StringProperty(name="Object", description="Object name (default: the active one)", default="")  # type: ignore[valid-type]
    location: FloatVectorProperty(name="Location", size=2, description="Point position (see 'Coordinates')")  # type: ignore[valid-type]
    coordinates: EnumProperty(  # type: ignore[valid-type]
        name="Coordinates",
        items=[
            ("FRAME", "Frame", "0..1 across the frame, origin bottom-left (Blender's clip coordinates)"),
            ("PIXELS", "Pixels", "Clip pixels, origin top-left (the engine's and most tools' convention)"),
        ],
        default="FRAME",
    )
    label: EnumProperty(name="Label", items=[("ADD", "Add (+)", ""), ("SUBTRACT", "Subtract (-)", "")], default="ADD")  # type: ignore[valid-type]
    frame: IntProperty(name="Frame", description="Scene frame (default: the current frame)", default=UNSET)  # type: ignore[valid-type]

    def execute(self, context: bpy.types.Context) -> set[str]:
        clip = self.clip_or_report(context)
        if clip is None:
            return {"CANCELLED"}
        try:
            obj = find_object(clip, self.object)
        except ValueError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        x, y = self.location
        if self.coordinates == "PIXELS":
            w, h = clip.size
            if not w or not h:
                self.report({"ERROR"}, f"clip '{clip.name}' has no readable frames")
                return {"CANCELLED"}
            x, y = x / w, 1.0 - y / h
        if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
            self.report({"ERROR"}, f"point ({self.location[0]:g}, {self.location[1]:g}) is outside the frame")
            return {"CANCELLED"}
        frame = context.scene.frame_current if self.frame == UNSET else self.frame
        add_point(obj, frame, (x, y), self.label)
        _redraw(context)
        return {"FINISHED"}


class INKPAINT_OT_points_clear(_ClipOperator, bpy.types.Operator):
    """Remove point prompts of an object (on one frame or all frames)"""

    bl_idname = "inkpaint.points_clear"
    bl_label = "Clear Points"
    bl_options = {"REGISTER", "UNDO"}

    object: StringProperty(name="Object", description="Object name (default: the active one)", default="")  # type: ignore[valid-type]
    frame: IntProperty(name="Frame", description="Only this scene frame (default: every frame)", default=UNSET)  # type: ignore[valid-type]

    def execute(self, context: bpy.types.Context) -> set[str]:
        clip = self.clip_or_report(context)
        if clip is None:
            return {"CANCELLED"}
        try:
            obj = find_object(clip, self.object)
        except ValueError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        for i in reversed(range(len(obj.points))):
            if self.frame == UNSET or obj.points[i].frame == self.frame:
                obj.points.remove(i)
        _redraw(context)
        return {"FINISHED"}


def region_to_frame(context: bpy.types.Context, clip: bpy.types.MovieClip, mx: float, my: float) -> tuple[float, float]:
    """Mouse position in the Clip Editor's main region -> frame coordinates (0..1, bottom-left origin).

    The Clip Editor's view2d works in aspect-corrected frame pixels (``movieclip_main_area_set_view2d``), so the
    frame spans ``0..width*aspect_x`` x ``0..height*aspect_y`` in view space.
    """
    vx, vy = context.region.view2d.region_to_view(mx, my)
    w, h = clip.size
    ax, ay = clip.display_aspect
    return vx / (w * ax), vy / (h * ay)


def frame_to_region(region: bpy.types.Region, clip: bpy.types.MovieClip, u: float, v: float) -> tuple[float, float]:
    """Inverse of :func:`region_to_frame`."""
    w, h = clip.size
    ax, ay = clip.display_aspect
    return region.view2d.view_to_region(u * w * ax, v * h * ay, clip=False)


class INKPAINT_OT_add_points(bpy.types.Operator):
    """Click in the clip to add prompts to the active object: click = +, Shift+click = -, Ctrl+click removes the
    nearest point; Enter, Esc or right-click when done"""

    bl_idname = "inkpaint.add_points"
    bl_label = "Add Points"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        space = context.space_data
        return space is not None and space.type == "CLIP_EDITOR" and space.clip is not None and context.region is not None and context.region.type == "WINDOW"

    def invoke(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        clip = context.space_data.clip
        if not clip.inkpaint.objects:
            bpy.ops.inkpaint.object_add(clip=clip.name)
        context.window_manager.modal_handler_add(self)
        context.workspace.status_text_set("Inkpaint: click = add (+), Shift+click = subtract (-), Ctrl+click = remove nearest, Enter/Esc = done")
        return {"RUNNING_MODAL"}

    def modal(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        if event.type in {"ESC", "RET", "NUMPAD_ENTER", "RIGHTMOUSE"} and event.value == "PRESS":
            context.workspace.status_text_set(None)
            return {"FINISHED"}
        if event.type == "LEFTMOUSE" and event.value == "PRESS":
            region = context.region
            if region is None or not (0 <= event.mouse_region_x < region.width and 0 <= event.mouse_region_y < region.height):
                return {"PASS_THROUGH"}
            clip = context.space_data.clip
            obj = find_object(clip)
            u, v = region_to_frame(context, clip, event.mouse_region_x, event.mouse_region_y)
            frame = context.scene.frame_current
            if event.ctrl:
                best, best_d = -1, 1e9
                for i, p in enumerate(obj.points):
                    if p.frame != frame:
                        continue
                    px, py = frame_to_region(region, clip, *p.co)
                    d = (px - event.mouse_region_x) ** 2 + (py - event.mouse_region_y) ** 2
                    if d < best_d:
                        best, best_d = i, d
                if best >= 0 and best_d < 20**2:
                    obj.points.remove(best)
            elif 0.0 <= u <= 1.0 and 0.0 <= v <= 1.0:
                add_point(obj, frame, (u, v), "SUBTRACT" if event.shift else "ADD")
            _redraw(context)
            return {"RUNNING_MODAL"}
        return {"PASS_THROUGH"}


class INKPAINT_OT_mask_prompt_set(_ClipOperator, bpy.types.Operator):
    """Use a layer of an existing Mask as an object's mask prompt on a frame (rasterised by Blender when run)"""

    bl_idname = "inkpaint.mask_prompt_set"
    bl_label = "Set Mask Prompt"
    bl_options = {"REGISTER", "UNDO"}

    object: StringProperty(name="Object", description="Object name (default: the active one)", default="")  # type: ignore[valid-type]
    mask: StringProperty(name="Mask", description="Mask datablock name (empty: clear the mask prompt)")  # type: ignore[valid-type]
    layer: StringProperty(name="Layer", description="Mask layer (empty: every layer of the mask)")  # type: ignore[valid-type]
    frame: IntProperty(name="Frame", description="Scene frame the prompt holds on (default: current)", default=UNSET)  # type: ignore[valid-type]

    def execute(self, context: bpy.types.Context) -> set[str]:
        clip = self.clip_or_report(context)
        if clip is None:
            return {"CANCELLED"}
        try:
            obj = find_object(clip, self.object)
        except ValueError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        if not self.mask:
            obj.use_mask = False
            obj.mask = None
            return {"FINISHED"}
        mask = bpy.data.masks.get(self.mask)
        if mask is None:
            self.report({"ERROR"}, f"no mask named '{self.mask}'")
            return {"CANCELLED"}
        if self.layer and self.layer not in mask.layers:
            self.report({"ERROR"}, f"mask '{mask.name}' has no layer '{self.layer}' (layers: {', '.join(lay.name for lay in mask.layers)})")
            return {"CANCELLED"}
        obj.mask = mask
        obj.mask_layer = self.layer
        obj.mask_frame = context.scene.frame_current if self.frame == UNSET else self.frame
        obj.use_mask = True
        return {"FINISHED"}


class _RunOperator(_ClipOperator):
    """Shared running logic: synchronous ``execute``, background ``invoke`` with a modal Esc handler."""

    _task: runner.Task | None = None
    _timer: Any = None

    def prepare(self, context: bpy.types.Context, clip: bpy.types.MovieClip) -> tuple[str, dict[str, Any], str, Callable[[dict[str, Any]], str]]:
        """Build the request. Returns ``(kind, payload, label, apply)``; ``apply`` returns a summary line."""
        raise NotImplementedError

    def _prepare_or_report(self, context: bpy.types.Context) -> tuple[bpy.types.MovieClip, Any] | None:
        clip = self.clip_or_report(context)
        if clip is None:
            return None
        try:
            return clip, self.prepare(context, clip)
        except (jobs.JobBuildError, ValueError, RuntimeError, OSError) as exc:
            self.report({"ERROR"}, str(exc))
            return None

    def execute(self, context: bpy.types.Context) -> set[str]:
        prepared = self._prepare_or_report(context)
        if prepared is None:
            return {"CANCELLED"}
        clip, (kind, payload, label, apply) = prepared
        if runner.busy():
            self.report({"ERROR"}, "Inkpaint is busy with another request; wait or cancel it")
            return {"CANCELLED"}
        try:
            result = runner.run_blocking(context, kind, payload, label)
        except WorkerCancelled as exc:
            self.report({"WARNING"}, f"Inkpaint {label} cancelled: {exc}")
            return {"CANCELLED"}
        except WorkerError as exc:
            clip.inkpaint.status = runner.describe(exc)
            self.report({"ERROR"}, runner.describe(exc))
            return {"CANCELLED"}
        try:
            summary = apply(result)
        except Exception as exc:
            log.exception("applying results failed")
            self.report({"ERROR"}, f"Inkpaint {label}: applying results failed: {exc}")
            return {"CANCELLED"}
        clip.inkpaint.status = summary
        self.report({"INFO"}, summary)
        return {"FINISHED"}

    def invoke(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        if bpy.app.background or context.window is None:
            return self.execute(context)
        prepared = self._prepare_or_report(context)
        if prepared is None:
            return {"CANCELLED"}
        clip, (kind, payload, label, apply) = prepared
        clip_name = clip.name
        outcome: dict[str, str | None] = {}

        def on_result(result: dict[str, Any]) -> None:
            c = bpy.data.movieclips.get(clip_name)
            summary = apply(result)
            outcome["summary"] = summary
            if c is not None:
                c.inkpaint.status = summary

        def on_end(error: str | None) -> None:
            outcome["error"] = error
            c = bpy.data.movieclips.get(clip_name)
            if c is not None and error:
                c.inkpaint.status = error

        try:
            self._task = runner.start(context, runner.Task(kind, payload, label, on_result, on_end))
        except WorkerError as exc:
            self.report({"ERROR"}, runner.describe(exc))
            return {"CANCELLED"}
        self._outcome = outcome
        self._timer = context.window_manager.event_timer_add(0.2, window=context.window)
        context.window_manager.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        task = self._task
        if task is None:
            return {"CANCELLED"}
        if event.type == "ESC" and event.value == "PRESS" and not task.finished:
            runner.cancel()
            return {"RUNNING_MODAL"}
        if not task.finished:
            return {"PASS_THROUGH"}
        context.window_manager.event_timer_remove(self._timer)
        error = self._outcome.get("error")
        if error:
            self.report({"WARNING"} if error.startswith("cancelled") else {"ERROR"}, f"Inkpaint {task.label}: {error}")
            return {"CANCELLED"}
        self.report({"INFO"}, str(self._outcome.get("summary", "done")))
        return {"FINISHED"}


class INKPAINT_OT_roto(_RunOperator, bpy.types.Operator):
    """Track the clip's objects through a frame range on the engine, then key a Mask layer per object and wire the
    mattes into the compositor"""

    bl_idname = "inkpaint.roto"
    bl_label = "Track Objects"
    bl_options = {"REGISTER"}

    frame_start: IntProperty(name="Start", description="First scene frame (default: panel range)", default=UNSET)  # type: ignore[valid-type]
    frame_end: IntProperty(name="End", description="Last scene frame (default: panel range)", default=UNSET)  # type: ignore[valid-type]
    direction: StringProperty(name="Direction", description="forward, backward or both (default: panel)", default="")  # type: ignore[valid-type]
    backend: StringProperty(name="Backend", description="classic or sam2 (default: panel)", default="")  # type: ignore[valid-type]
    model: StringProperty(name="Model", description="tiny, small, base_plus or large (default: panel)", default="")  # type: ignore[valid-type]
    device: StringProperty(name="Device", description="auto, cpu, cuda or mps (default: panel)", default="")  # type: ignore[valid-type]
    output_dir: StringProperty(name="Output folder", description="Default: panel (//inkpaint/)", default="", subtype="DIR_PATH")  # type: ignore[valid-type]
    pixels: StringProperty(name="Pixels", description="AUTO, CLIP_FILES or CONVERT (default: panel)", default="")  # type: ignore[valid-type]
    cryptomatte: EnumProperty(name="Cryptomatte", items=[("PANEL", "Panel", ""), ("ON", "On", ""), ("OFF", "Off", "")], default="PANEL")  # type: ignore[valid-type]
    overwrite: EnumProperty(name="Overwrite", items=[("PANEL", "Panel", ""), ("ON", "On", ""), ("OFF", "Off", "")], default="PANEL")  # type: ignore[valid-type]
    spline_points: IntProperty(name="Spline points", description="Points per Mask spline; -1 = panel, 0 = from the outline", default=-1, min=-1)  # type: ignore[valid-type]

    def prepare(self, context: bpy.types.Context, clip: bpy.types.MovieClip) -> tuple[str, dict[str, Any], str, Callable[[dict[str, Any]], str]]:
        s = clip.inkpaint
        tri = {"PANEL": None, "ON": True, "OFF": False}
        for field, allowed in (("direction", ("forward", "backward", "both")), ("pixels", ("AUTO", "CLIP_FILES", "CONVERT"))):
            val = getattr(self, field)
            if val and val not in allowed:
                raise jobs.JobBuildError(f"{field} must be one of {', '.join(allowed)}, got {val!r}")
        plan = jobs.build_roto(
            clip,
            start=None if self.frame_start == UNSET else self.frame_start,
            end=None if self.frame_end == UNSET else self.frame_end,
            direction=self.direction or None,
            backend=self.backend or None,
            model=self.model or None,
            device=self.device or None,
            output_dir=self.output_dir,
            pixels=self.pixels or None,
            cryptomatte=tri[self.cryptomatte],
            overwrite=tri[self.overwrite],
        )
        s.plate_pattern = plan.plate.pattern
        s.plate_first_file = plan.plate.first_file
        s.plate_first_scene = plan.plate.first_scene
        points = s.spline_points if self.spline_points < 0 else self.spline_points
        clip_name = clip.name

        def apply(result: dict[str, Any]) -> str:
            c = bpy.data.movieclips[clip_name]
            summ = results.apply_roto(bpy.context, c, result, plan.plate, plan.names, bool(plan.job["cryptomatte"]), points)
            return (
                f"tracked {', '.join(plan.names)} on {summ['frames']} frame(s): mask '{summ.get('mask', '-')}', "
                f"mattes '{summ['image']}', compositor '{summ['tree']}'" + _points_text(summ)
            )

        return "run", {"job": plan.job}, "roto", apply


def _points_text(summary: dict[str, Any]) -> str:
    """``; points per spline: dog 48+12, ball 16`` (adaptive simplification), "" without Mask layers."""
    pts = summary.get("points") or {}
    if not pts:
        return ""
    return "; points per spline: " + ", ".join(f"{n} {'+'.join(map(str, c)) or '-'}" for n, c in pts.items())


class INKPAINT_OT_preview_frame(_RunOperator, bpy.types.Operator):
    """Segment one frame from its prompts (the worker keeps the model loaded, so this is quick) and show it"""

    bl_idname = "inkpaint.preview_frame"
    bl_label = "Preview Frame"
    bl_options = {"REGISTER"}

    frame: IntProperty(name="Frame", description="Scene frame (default: current)", default=UNSET)  # type: ignore[valid-type]
    backend: StringProperty(name="Backend", description="Default: panel", default="")  # type: ignore[valid-type]
    output_dir: StringProperty(name="Output folder", default="", subtype="DIR_PATH")  # type: ignore[valid-type]

    def prepare(self, context: bpy.types.Context, clip: bpy.types.MovieClip) -> tuple[str, dict[str, Any], str, Callable[[dict[str, Any]], str]]:
        frame = context.scene.frame_current if self.frame == UNSET else self.frame
        req, _plate = jobs.build_segment(clip, frame, backend=self.backend or None, output_dir=self.output_dir)
        clip_name = clip.name

        def apply(result: dict[str, Any]) -> str:
            c = bpy.data.movieclips[clip_name]
            img = results.load_preview(c, result["mask"])
            c.inkpaint.preview_image = img
            c.inkpaint.preview_frame = frame
            cover = ", ".join(f"{k} {100 * v:.1f}%" for k, v in result.get("coverage", {}).items())
            return f"preview of frame {frame}: {cover} ({result.get('seconds', 0):.2f} s)"

        return "segment", req, "preview", apply


class INKPAINT_OT_apply_roto(_ClipOperator, bpy.types.Operator):
    """Apply the results of a roto job that ran elsewhere (the farm, the CLI) from its manifest"""

    bl_idname = "inkpaint.apply_roto"
    bl_label = "Apply Roto Results"
    bl_options = {"REGISTER", "UNDO"}

    manifest: StringProperty(name="Manifest", subtype="FILE_PATH", description="The job's <output>.inkpaint.json")  # type: ignore[valid-type]
    spline_points: IntProperty(name="Spline points", default=0, min=0)  # type: ignore[valid-type]

    def execute(self, context: bpy.types.Context) -> set[str]:
        clip = self.clip_or_report(context)
        if clip is None:
            return {"CANCELLED"}
        path = bpy.path.abspath(self.manifest or clip.inkpaint.roto_manifest)
        try:
            data = jobs.read_manifest(path)  # paths recorded relative to the manifest come back absolute
            if not data:
                raise OSError("not a readable inkpaint manifest")
            job, result = data["job"], data["result"]
            own = clip_source.clip_plate(clip) if clip.source == "SEQUENCE" else None
            w, h = (int(v) for v in clip.size)
            if own is not None and os.path.normpath(own.pattern) == os.path.normpath(job["input"]):
                plate = own
            else:  # a converted sequence is numbered by scene frame
                plate = clip_source.Plate(job["input"], 0, 0, True, w, h)
            names = [o["name"] for o in job["objects"]]
            summ = results.apply_roto(context, clip, result, plate, names, bool(job.get("cryptomatte")), self.spline_points)
        except (OSError, KeyError, ValueError, RuntimeError) as exc:
            self.report({"ERROR"}, f"cannot apply '{path}': {exc}")
            return {"CANCELLED"}
        self.report({"INFO"}, f"applied {len(names)} object(s) on {summ['frames']} frame(s)" + _points_text(summ))
        return {"FINISHED"}


class INKPAINT_OT_cancel(bpy.types.Operator):
    """Cancel the running Inkpaint request (complete frames are kept; running again resumes)"""

    bl_idname = "inkpaint.cancel"
    bl_label = "Cancel"

    def execute(self, context: bpy.types.Context) -> set[str]:
        if not runner.cancel():
            self.report({"INFO"}, "nothing is running")
            return {"CANCELLED"}
        return {"FINISHED"}


class INKPAINT_OT_worker_check(bpy.types.Operator):
    """Start the configured worker and show its version"""

    bl_idname = "inkpaint.worker_check"
    bl_label = "Check Worker"

    def execute(self, context: bpy.types.Context) -> set[str]:
        try:
            c = runner.client(context)
        except WorkerError as exc:
            self.report({"ERROR"}, runner.describe(exc) + (f" | {exc.stderr.splitlines()[-1]}" if exc.stderr else ""))
            return {"CANCELLED"}
        self.report({"INFO"}, f"inkpaint worker {c.info.get('version')} (protocol {c.info.get('protocol')}, pid {c.info.get('pid')}): {' '.join(c.command)}")
        return {"FINISHED"}


CLASSES = [
    INKPAINT_OT_object_add,
    INKPAINT_OT_object_remove,
    INKPAINT_OT_point_add,
    INKPAINT_OT_points_clear,
    INKPAINT_OT_add_points,
    INKPAINT_OT_mask_prompt_set,
    INKPAINT_OT_roto,
    INKPAINT_OT_preview_frame,
    INKPAINT_OT_apply_roto,
    INKPAINT_OT_cancel,
    INKPAINT_OT_worker_check,
]
