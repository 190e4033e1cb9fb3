"""Collect inkpaint job manifests: one pyblish instance per job (family = job type, plus ``inkpaint``)."""

from __future__ import annotations

import os
import sys

try:
    import inkpaint_pyblish  # noqa: F401
except ImportError:  # loaded from PYBLISHPLUGINPATH without pyblish_plugins/ on sys.path
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import pyblish.api

from inkpaint_pyblish import lib


class CollectInkpaintManifests(pyblish.api.ContextPlugin):
    """Find ``*.inkpaint.json`` manifests and make one instance per job.

    Paths (manifest files, or folders searched recursively) come from ``context.data["inkpaintPublishPaths"]``
    (a path or a list), else ``$INKPAINT_PUBLISH_PATHS`` (``os.pathsep``-separated). Neither set: nothing is
    collected. A path that does not exist, or a folder without manifests, is an error naming it.

    Instance data: ``family`` (the job type: roto, shade, ink, finish, cel, paint), ``families`` (``inkpaint``),
    ``manifestPath``, ``manifest``, ``job`` (spec dict), ``jobSpec`` (loaded by inkpaint, or ``None`` with
    ``jobSpecError``), ``jobType``, ``jobHash``, ``inkpaintVersion``, ``writtenAt``, ``outputs`` (name -> pattern),
    ``frames``, ``frameStart``, ``frameEnd``, ``frameRange``, ``written``, ``skipped``, ``summary``.
    An unreadable manifest still gives an instance (family ``inkpaint``, ``manifestError``) so it is reported.
    """

    order = pyblish.api.CollectorOrder
    label = "Collect inkpaint manifests"

    def process(self, context: pyblish.api.Context) -> None:
        paths, source = lib.publish_paths(context.data, os.environ)
        if not paths:
            self.log.info("no inkpaint paths to publish (set context.data[%r] or $%s)", lib.PATHS_KEY, lib.PATHS_ENV)
            return
        manifests, problems = lib.find_manifests(paths, source)
        taken = {i.data.get("manifestPath") for i in context}
        for path in manifests:
            if str(path) in taken:
                continue
            data = lib.instance_data(path)
            instance = context.create_instance(data.pop("name"))
            instance.data.update(data)
            self.log.info("collected %s (%s)", path, data.get("frameRange") or data.get("manifestError"))
            if "manifest" in data and data["family"] not in lib.JOB_TYPES:
                self.log.info("%s: job type %r has no type-specific checks; the generic ones apply", path, data["family"])
        if problems:
            raise pyblish.api.PyblishError(lib.problem_text("inkpaint publish paths", problems))
