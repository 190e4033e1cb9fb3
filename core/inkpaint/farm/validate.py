"""The farm's ``validate`` step: run inkpaint's pyblish validators on a finished job's outputs.

``inkpaint farm validate job.json [--plugins DIR]`` collects the manifests the job wrote (the cel job's ``out_dir``
with its stage manifests, else the manifest beside the primary output), validates them with the plug-ins in
``pyblish_plugins/`` and exits 1 listing every failed check (0 when all pass). pyblish is imported here only.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any

from ..errors import InkpaintError, SpecError


def manifest_targets(job_path: str, mapping: str | None = None) -> list[str]:
    """The manifest files or folders that describe the job at ``job_path``'s outputs.

    ``job_path`` may also be a manifest (``*.inkpaint.json``) or a folder of them, e.g. a shot folder that moved.
    """
    from ..ops.base import manifest_path
    from ..spec import resolve_path
    from .limit import load_mapped_job

    if os.path.isdir(job_path) or job_path.endswith(".inkpaint.json"):
        return [job_path]
    job = load_mapped_job(job_path, mapping)
    if job.TYPE == "cel":
        return [resolve_path(job, job.out_dir)]  # type: ignore[attr-defined]
    return [manifest_path(resolve_path(job, job.output))]  # type: ignore[attr-defined]


def validate(job_path: str, plugins: str | None = None, mapping: str | None = None) -> dict[str, Any]:
    """Publish-validate the job's outputs; return the report (``ok``, ``errors``, ``jobs``).

    Raises:
        InkpaintError: pyblish-base or the plug-ins cannot be imported (naming where they were looked for).
    """
    from .bundle import default_plugins

    folder = plugins or os.environ.get("INKPAINT_PYBLISH_PLUGINS") or default_plugins()
    if folder and folder not in sys.path:
        sys.path.insert(0, folder)
    try:
        import pyblish.api
        import pyblish.util

        import inkpaint_pyblish  # type: ignore[import-not-found]
    except ImportError as exc:
        raise InkpaintError(f"cannot load the pyblish validators ({exc}); install pyblish-base and pass --plugins "
                            f"<inkpaint>/pyblish_plugins (looked in {folder!r})") from exc
    targets = manifest_targets(job_path, mapping)
    missing = [t for t in targets if not os.path.exists(t)]
    if missing:
        raise SpecError("output", f"no manifest at '{missing[0]}': the job has not finished (run its finalize step "
                        "or `inkpaint run` it once more)")
    inkpaint_pyblish.register()
    try:
        context = pyblish.api.Context()
        context.data["inkpaintPublishPaths"] = targets
        with contextlib.redirect_stdout(sys.stderr):  # pyblish prints failures; stdout stays the JSON report
            pyblish.util.publish(context)
        errors = [f"{r['plugin'].__name__}: {r['error']}" for r in context.data.get("results", []) if r.get("error")]
    finally:
        inkpaint_pyblish.deregister()
    report = context.data.get("inkpaintReport") or {}
    return {"ok": not errors, "errors": errors, "targets": targets, "jobs": report.get("jobs", [])}
