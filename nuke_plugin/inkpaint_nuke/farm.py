"""Save farm bundle: the node's job as an Open Job Description / Deadline Cloud bundle, written by the engine.

Nuke never imports the engine: the job the node would run (:func:`roto_node.plan`, :func:`shade_node.plan`) is
saved as a job spec and ``inkpaint farm bundle`` runs through the configured worker's Python (a subprocess, the
same executable the worker uses). The bundle lands beside the node's cached results (``<cache>/<node>/farm-<job
key>/``) unless a folder is given; ``template.yaml`` there goes to ``openjd run`` or ``deadline bundle submit``.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from typing import Any

import nuke

from . import knobs, pixels, roto_node, runner, shade_node
from .settings import load_settings


def farm_command(worker_command: list[str]) -> list[str]:
    """``inkpaint farm`` from the worker's command (``[py, -m, inkpaint.cli, worker]`` -> ``[py, -m, inkpaint.cli, farm]``)."""
    if not worker_command or worker_command[-1] != "worker":
        raise runner.InkpaintNukeError(f"cannot run 'inkpaint farm' through the worker command {worker_command!r}")
    return worker_command[:-1] + ["farm"]


def environment_args(worker_command: list[str]) -> list[str]:
    """``--env-venv <venv>`` when the worker is a virtual environment's Python or inkpaint (farm workers then use the
    same venv path: shared storage), else nothing (``inkpaint`` on the farm's PATH)."""
    exe = worker_command[0] if worker_command else ""
    venv = os.path.dirname(os.path.dirname(os.path.abspath(exe))) if os.path.isabs(exe) else ""
    return ["--env-venv", venv] if venv and os.path.isfile(os.path.join(venv, "pyvenv.cfg")) else []


def save_bundle(job: dict[str, Any], out_dir: str, *, chunk: int | None = None, validate: bool = True) -> dict[str, Any]:
    """Write ``job`` to ``out_dir/spec.json`` and run ``inkpaint farm bundle`` on it; returns the engine's summary
    (``bundle``, ``template``, ``steps``, ``frames``, ``chunk``, ``notes``).

    Raises:
        InkpaintNukeError: the engine refused the job (its message, naming the field) or could not be started.
    """
    settings = load_settings()
    os.makedirs(out_dir, exist_ok=True)
    spec = os.path.join(out_dir, "spec.json")
    fd, tmp = tempfile.mkstemp(prefix=".spec.", suffix=".json", dir=out_dir)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(job, fh, indent=2)
    os.replace(tmp, spec)
    cmd = farm_command(settings.worker_command) + ["bundle", spec, "--out", out_dir]
    cmd += environment_args(settings.worker_command)
    if chunk is not None:
        cmd += ["--chunk", str(chunk)]
    if validate:
        cmd.append("--validate")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    except OSError as exc:
        raise runner.InkpaintNukeError(f"cannot start {cmd[0]!r} to write the farm bundle: {exc}") from exc
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        raise runner.InkpaintNukeError(f"farm bundle not written: {lines[-1] if lines else f'exit {proc.returncode}'}")
    return dict(json.loads(proc.stdout))


def save_node_bundle(node: nuke.Node, out_dir: str | None = None, chunk: int | None = None) -> dict[str, Any]:
    """The "Save farm bundle" button of InkpaintRoto (a roto job) and InkpaintShade (a cel job from the tracked
    mattes). Plates that are not files yet are rendered first, as Track does. Main thread."""
    kind = knobs.node_type(node)
    if kind == roto_node.NODE_TYPE:
        p = roto_node.plan(node)
        pixels.ensure_rendered(node, 0, p.source, p.frames)
        for f, src in p.mask_sources.items():
            if src is not p.source:
                pixels.ensure_rendered(node, 0, src, (f, f))
        job, folder, key = p.job, p.folder, p.key
    elif kind == shade_node.NODE_TYPE:
        sp = shade_node.plan(node)
        if sp["over"] is not None:
            pixels.ensure_rendered(node, 1, sp["over"], sp["frames"])
        job, folder, key = sp["jobs"][0], os.path.dirname(sp["folder"]), sp["key"]
    else:
        raise runner.InkpaintNukeError(f"{node.name()}: Save farm bundle works on InkpaintRoto and InkpaintShade nodes")
    result = save_bundle(job, out_dir or f"{folder}/farm-{job['type']}-{key}", chunk=chunk)
    knobs.set_status(node, f"farm bundle saved: {result['template']} (steps {', '.join(result['steps'])})")
    return result


__all__ = ["save_bundle", "save_node_bundle", "farm_command", "environment_args"]
