"""Validate that an inkpaint manifest parses and its job spec round-trips through inkpaint's own loader."""

from __future__ import annotations

import os
import sys

try:
    import inkpaint_pyblish  # noqa: F401
except ImportError:  # loaded from PYBLISHPLUGINPATH without pyblish_plugins/ on sys.path
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import pyblish.api

from inkpaint_pyblish import lib


class ValidateInkpaintManifest(pyblish.api.InstancePlugin):
    """The manifest is JSON with the fields inkpaint writes; its ``job`` loads with ``inkpaint.spec.load_job``
    (every field type-checked, a newer schema refused), dumps and loads back to the same spec, is of the type the
    result records, and hashes to ``result.job_hash`` (a hand-edited spec no longer matches its outputs)."""

    order = pyblish.api.ValidatorOrder
    families = [lib.BASE_FAMILY]
    label = "inkpaint: manifest and job spec"

    def process(self, instance: pyblish.api.Instance) -> None:
        from inkpaint.spec import load_job

        data = instance.data
        if "manifestError" in data:
            raise pyblish.api.ValidationError(data["manifestError"])
        path = data["manifestPath"]
        if data.get("jobSpecError"):
            raise pyblish.api.ValidationError(f"'{path}': {data['jobSpecError']}")
        job = data["jobSpec"]
        problems = []
        if job.TYPE != data["jobType"]:
            problems.append(f"'{path}': result.type is {data['jobType']!r} but job.type is {job.TYPE!r}")
        again = load_job(job.to_json())
        if again.to_dict() != job.to_dict():
            changed = sorted(k for k in job.to_dict() if again.to_dict().get(k) != job.to_dict().get(k))
            problems.append(f"'{path}': job: does not round-trip through JSON (fields {', '.join(changed)} change)")
        recomputed = job.job_hash()
        if recomputed != data["jobHash"]:
            problems.append(
                f"'{path}': result.job_hash is {data['jobHash']!r} but the job spec in the manifest hashes to "
                f"{recomputed!r}: the spec was edited after the run, or the outputs belong to another job"
            )
        if problems:
            raise pyblish.api.ValidationError(lib.problem_text(lib.subject(data), problems))
