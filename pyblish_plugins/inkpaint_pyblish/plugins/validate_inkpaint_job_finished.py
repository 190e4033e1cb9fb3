"""Validate that an inkpaint job finished: every frame it covers was written or already complete, the range is the
one the spec asked for, and it was run by this major version of inkpaint."""

from __future__ import annotations

import os
import sys

try:
    import inkpaint_pyblish  # noqa: F401
except ImportError:  # loaded from PYBLISHPLUGINPATH without pyblish_plugins/ on sys.path
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import pyblish.api

from inkpaint_pyblish import lib


class ValidateInkpaintJobFinished(pyblish.api.InstancePlugin):
    """The job ran to the end, with this inkpaint's major version.

    - ``inkpaint_version``: same major version as the inkpaint checking it (a manifest from another major version
      is refused: its layout and hashes may differ);
    - ``result.written`` + ``result.skipped`` (frames this run wrote + frames complete from an earlier run of the
      same job) cover ``result.frames``, and name no frame outside it;
    - when the spec gives ``frames``, ``result.frames`` is exactly that range;
    - cel jobs: every stage manifest recorded in ``result.summary.stages`` exists and covers the same frames.

    inkpaint writes the manifest only after the last frame, so a killed or failed run leaves none; what this
    catches is a manifest edited by hand, or copied beside outputs of another run.
    """

    order = pyblish.api.ValidatorOrder
    families = [lib.BASE_FAMILY]
    label = "inkpaint: job finished"

    def process(self, instance: pyblish.api.Instance) -> None:
        import inkpaint
        from inkpaint.errors import SpecError
        from inkpaint.io.sequence import format_frame_range, parse_frame_range

        data = instance.data
        if not lib.usable(data):
            self.log.info("skipped: the manifest is unreadable (reported by the manifest check)")
            return
        path = data["manifestPath"]
        problems = []
        version = data["inkpaintVersion"]
        if lib.major(version) is None or lib.major(version) != lib.major(inkpaint.__version__):
            problems.append(f"'{path}': inkpaint_version: written by inkpaint {version}; this is inkpaint {inkpaint.__version__} (another major version)")
        frames = set(data["frames"])
        done = set(data["written"]) | set(data["skipped"])
        missing = sorted(frames - done)
        if missing:
            problems.append(
                f"'{path}': result.written/result.skipped: {len(missing)} of {len(frames)} frame(s) were neither written nor "
                f"found complete ({format_frame_range(missing)}): the job did not finish"
            )
        extra = sorted(done - frames)
        if extra:
            problems.append(f"'{path}': result.written/result.skipped: frame(s) {format_frame_range(extra)} are outside result.frames ({data['frameRange']})")
        requested = data["job"].get("frames")
        if isinstance(requested, str) and requested:
            try:
                wanted = set(parse_frame_range(requested, what="job.frames"))
            except SpecError as exc:
                problems.append(f"'{path}': {exc}")
            else:
                if wanted != frames:
                    problems.append(
                        f"'{path}': result.frames ({data['frameRange']}) is not the range the job asked for "
                        f"(job.frames {requested!r}: {format_frame_range(sorted(wanted))})"
                    )
        if data["jobType"] == "cel":
            problems += self.cel_stages(data)
        empty = data["summary"].get("empty_frames")
        if empty:
            self.log.warning("%s: %d frame(s) have empty mattes (%s)", path, len(empty), format_frame_range(sorted(empty)))
        if problems:
            raise pyblish.api.ValidationError(lib.problem_text(lib.subject(data), problems))

    @staticmethod
    def cel_stages(data: dict) -> list[str]:
        from inkpaint.io.sequence import format_frame_range

        problems = []
        path = data["manifestPath"]
        stages = data["summary"].get("stages")
        if not isinstance(stages, dict) or not stages:
            return [f"'{path}': result.summary.stages: missing; a cel job records its stage manifests there"]
        for stage, info in stages.items():
            field = f"result.summary.stages.{stage}.manifest"
            sm = info.get("manifest") if isinstance(info, dict) else None
            if not sm:
                problems.append(f"'{path}': {field}: missing")
                continue
            try:
                stage_manifest = lib.read_manifest(sm)
            except lib.ManifestError as exc:
                problems.append(f"'{path}': {field}: {exc}")
                continue
            res = stage_manifest["result"]
            stage_done = set(res["written"]) | set(res["skipped"])
            short = sorted(set(data["frames"]) - stage_done)
            if short:
                problems.append(f"'{path}': {field}: the {stage} stage did not complete frame(s) {format_frame_range(short)} (its manifest '{sm}')")
        return problems
