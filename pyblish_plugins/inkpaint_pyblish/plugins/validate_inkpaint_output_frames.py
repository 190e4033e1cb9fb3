"""Validate that every output file an inkpaint job promises exists, has a readable header and was written by it."""

from __future__ import annotations

import os
import sys

try:
    import inkpaint_pyblish  # noqa: F401
except ImportError:  # loaded from PYBLISHPLUGINPATH without pyblish_plugins/ on sys.path
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import pyblish.api

from inkpaint_pyblish import lib


class ValidateInkpaintOutputFrames(pyblish.api.InstancePlugin):
    """Every frame of every output sequence in ``result.outputs`` (and every single-file output, such as a tone
    model) exists and its header reads (``inkpaint.io.frames.read_attributes``: metadata only, no pixels; JSON
    outputs are parsed). Each carries the hash of the job that wrote it (``inkpaint:job_hash``; ``job_hash`` in
    JSON): the manifest's job hash, a paint frame's provenance hash, or a cel stage's hash. A frame header from
    another major version of inkpaint is refused too."""

    order = pyblish.api.ValidatorOrder
    families = [lib.BASE_FAMILY]
    label = "inkpaint: output frames exist and belong to the job"

    def process(self, instance: pyblish.api.Instance) -> None:
        data = instance.data
        if not lib.usable(data):
            self.log.info("skipped: the manifest is unreadable (reported by the manifest check)")
            return
        plan = lib.HashPlan(data["manifestPath"], data["manifest"])
        problems = list(plan.problems)
        checked = 0
        for output in lib.outputs_of(data):
            if output.seq is None:
                problems += lib.check_file(data, output, None, plan.expected(output, None))
                checked += 1
                continue
            if data["jobType"] == "cel" and output.pattern not in plan.by_pattern and not plan.problems:
                problems.append(f"'{data['manifestPath']}': result.outputs.{output.name}: no stage manifest lists '{output.pattern}'")
            for frame in data["frames"]:
                problems += lib.check_file(data, output, frame, plan.expected(output, frame))
                checked += 1
        if problems:
            raise pyblish.api.ValidationError(lib.problem_text(lib.subject(data), problems))
        self.log.info("%d output file(s) present and written by this job", checked)
