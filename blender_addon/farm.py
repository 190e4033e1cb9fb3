"""Save Farm Bundle: the clip's Track job as an Open Job Description / Deadline Cloud bundle, written by the engine.

The add-on never imports the engine: the roto job the panel would run (:func:`jobs.build_roto`, panel settings) is
saved as a job spec and ``inkpaint farm bundle`` runs through the add-on's worker executable (a subprocess). The
bundle's ``template.yaml`` goes to ``openjd run`` (a local test) or ``deadline bundle submit`` (see docs/farm.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from typing import Any

import bpy
from bpy.props import IntProperty, StringProperty

from . import jobs
from .operators import _ClipOperator
from .props import addon_prefs
from .worker_client import WorkerError, worker_command


def farm_command(context: bpy.types.Context | None = None) -> list[str]:
    """``inkpaint farm`` through the configured worker (``[py, -m, inkpaint.cli, worker]`` -> ``[..., farm]``)."""
    prefs = addon_prefs(context)
    cmd = worker_command(getattr(prefs, "worker_executable", "") if prefs else "")
    if prefs is not None and prefs.worker_executable:
        cmd[0] = bpy.path.abspath(cmd[0])
    if cmd[-1] != "worker":
        raise WorkerError(f"cannot run 'inkpaint farm' through the worker command {cmd!r}")
    return cmd[:-1] + ["farm"]


def save_bundle(job: dict[str, Any], out_dir: str, cmd: list[str], chunk: int = 0) -> dict[str, Any]:
    """Write ``job`` as ``out_dir/spec.json`` and run ``inkpaint farm bundle`` on it (``--env-venv`` when the worker
    is a virtual environment's). Returns the engine's summary; raises RuntimeError with the engine's message."""
    os.makedirs(out_dir, exist_ok=True)
    spec = os.path.join(out_dir, "spec.json")
    fd, tmp = tempfile.mkstemp(prefix=".spec.", suffix=".json", dir=out_dir)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(job, fh, indent=2)
    os.replace(tmp, spec)
    args = [*cmd, "bundle", spec, "--out", out_dir, "--validate"]
    venv = os.path.dirname(os.path.dirname(cmd[0])) if os.path.isabs(cmd[0]) else ""
    if venv and os.path.isfile(os.path.join(venv, "pyvenv.cfg")):
        args += ["--env-venv", venv]
    if chunk > 0:
        args += ["--chunk", str(chunk)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        raise RuntimeError(f"farm bundle not written: {lines[-1] if lines else f'exit {proc.returncode}'}")
    return dict(json.loads(proc.stdout))


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
            result = save_bundle(plan.job, out, farm_command(context), self.chunk)
        except (jobs.JobBuildError, WorkerError, RuntimeError, OSError, ValueError) as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        clip.inkpaint.status = f"farm bundle saved: {result['template']}"
        self.report({"INFO"}, f"farm bundle saved: {result['bundle']} (steps {', '.join(result['steps'])})")
        return {"FINISHED"}


CLASSES = [INKPAINT_OT_save_farm_bundle]

__all__ = ["CLASSES", "save_bundle", "farm_command"]
