"""Save Farm Bundle: the clip's Track job as an Open Job Description / Deadline Cloud bundle, written by the engine.

The add-on never imports the engine: the roto job the panel would run (:func:`jobs.build_roto`, panel settings) is
saved as a job spec and ``inkpaint farm bundle`` runs through the add-on's worker executable (a subprocess). The
bundle's ``template.yaml`` goes to ``openjd run`` (a local test) or ``deadline bundle submit`` (see docs/farm.md).
"""

from __future__ import annotations

import os

import bpy
from bpy.props import IntProperty, StringProperty

from . import jobs
from .operators import _ClipOperator
from .props import addon_prefs
from .worker_client import WorkerError, save_farm_bundle, worker_command


def farm_worker_command(context: bpy.types.Context | None = None) -> list[str]:
    """The configured worker's command (``[py, -m, inkpaint.cli, worker]``), its executable made absolute; the shared
    :func:`save_farm_bundle` turns it into ``inkpaint farm``."""
    prefs = addon_prefs(context)
    cmd = worker_command(getattr(prefs, "worker_executable", "") if prefs else "")
    if prefs is not None and prefs.worker_executable:
        cmd[0] = bpy.path.abspath(cmd[0])
    return cmd


class INKPAINT_OT_save_farm_bundle(_ClipOperator, bpy.types.Operator):
    """Save the Track job (panel settings) as an Open Job Description / Deadline Cloud job bundle for a render farm"""

    bl_idname = "inkpaint.save_farm_bundle"
    bl_label = "Save Farm Bundle"
    bl_options = {"REGISTER"}

    directory: StringProperty(name="Bundle folder", description="Default: <output folder>/<clip>/farm-roto", default="", subtype="DIR_PATH")  # type: ignore[valid-type]
    chunk: IntProperty(name="Chunk", description="Frames per render task (roto always runs whole: 0 = default)", default=0, min=0)  # type: ignore[valid-type]

    def execute(self, context: bpy.types.Context) -> set[str]:
        clip = self.clip_or_report(context)
        if clip is None:
            return {"CANCELLED"}
        try:
            plan = jobs.build_roto(clip)
            out = bpy.path.abspath(self.directory) if self.directory else os.path.join(plan.work_dir, "farm-roto")
            result = save_farm_bundle(plan.job, out, farm_worker_command(context), chunk=self.chunk or None)
        except (jobs.JobBuildError, WorkerError, RuntimeError, OSError, ValueError) as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        clip.inkpaint.status = f"farm bundle saved: {result['template']}"
        self.report({"INFO"}, f"farm bundle saved: {result['bundle']} (steps {', '.join(result['steps'])})")
        return {"FINISHED"}


CLASSES = [INKPAINT_OT_save_farm_bundle]

__all__ = ["CLASSES", "farm_worker_command"]
