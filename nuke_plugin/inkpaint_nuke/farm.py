"""Save farm bundle: the node's job as an Open Job Description / Deadline Cloud bundle, written by the engine.

Nuke never imports the engine: the job the node would run (:func:`roto_node.plan`, :func:`shade_node.plan`) is
saved as a job spec and ``inkpaint farm bundle`` runs through the configured worker's Python (a subprocess, the
same executable the worker uses). The bundle lands beside the node's cached results (``<cache>/<node>/farm-<job
key>/``) unless a folder is given; ``template.yaml`` there goes to ``openjd run`` or ``deadline bundle submit``.
"""

from __future__ import annotations

import os
from typing import Any

import nuke

from . import knobs, pixels, roto_node, runner, shade_node
from ._contract import client as _client
from .settings import load_settings


def save_bundle(job: dict[str, Any], out_dir: str, *, chunk: int | None = None, validate: bool = True) -> dict[str, Any]:
    """Write ``job`` to ``out_dir/spec.json`` and run ``inkpaint farm bundle`` on it (the shared
    :func:`inkpaint.jobs.client.save_farm_bundle`); returns the engine's summary (``bundle``, ``template``, ``steps``,
    ``frames``, ``chunk``, ``notes``).

    Raises:
        InkpaintNukeError: the engine refused the job (its message, naming the field) or could not be started.
    """
    try:
        return _client.save_farm_bundle(job, out_dir, load_settings().worker_command, chunk=chunk, validate=validate)
    except _client.WorkerError as exc:
        raise runner.InkpaintNukeError(str(exc)) from exc


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


__all__ = ["save_bundle", "save_node_bundle"]
