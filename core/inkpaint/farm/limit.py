"""``inkpaint run job.json --frames A-B``: which frames a farm chunk may write, checked against what the job can split.

The job itself is never changed (same frames, same hash, same tone fit), so the frames a chunk writes are exactly
those a whole run writes; :func:`inkpaint.ops.base.limit_frames` makes the operation write only the chunk's frames.
"""

from __future__ import annotations

import re

from ..errors import SpecError
from ..spec import JobSpec, resolve_path

SPLITTABLE = ("shade", "ink", "finish", "cel")
"""Job types whose frames are independent once the shot's tone model is fitted (shade/cel fit it once per shot)."""
WHOLE_SHOT = {
    "roto": "roto tracks objects through the whole shot (a chunk would start a new track)",
}
"""Job types a chunk must not split, and why."""
BY_SPAN = ("paint",)
"""Job types split only at keyframe spans (:func:`spans_of`): a task paints whole spans."""


def spans_of(job: JobSpec, frames: list[int] | None = None) -> list[list[int]]:
    """The independent frame groups of a job a farm may run as separate tasks: one per keyframe span for paint
    (:func:`inkpaint.ops.paint.paint_spans`: the frames one keyframe paints, by the job's ``direction``), else one
    group of every frame."""
    frames = job_frames(job) if frames is None else frames
    if job.TYPE != "paint":
        return [list(frames)]
    from ..ops.paint import paint_spans  # pure Python; the op module loads numpy, which the engine has

    return paint_spans(frames, [k.frame for k in getattr(job, "keys", [])], getattr(job, "direction", "nearest"))


def openjd_to_frames(text: str) -> str:
    """An OpenJD integer range expression (``1-99:2``, ``1,3,7-20:2``) in inkpaint's syntax (``1-99x2``)."""
    return re.sub(r"(\d)\s*:\s*(\d)", r"\1x\2", str(text))


def frames_to_openjd(frames: list[int]) -> str:
    """Frames as an OpenJD integer range expression: runs of equal steps, e.g. ``[1, 3, 5, 10]`` -> ``1-5:2,10``."""
    frames = sorted(set(frames))
    parts: list[str] = []
    i = 0
    while i < len(frames):
        j = i
        if i + 1 < len(frames):
            step = frames[i + 1] - frames[i]
            while j + 1 < len(frames) and frames[j + 1] - frames[j] == step:
                j += 1
            if j - i < 2 and step != 1:  # two frames with a gap: not worth a stepped range
                j = i
        else:
            step = 1
        if i == j:
            parts.append(str(frames[i]))
        elif step == 1:
            parts.append(f"{frames[i]}-{frames[j]}")
        else:
            parts.append(f"{frames[i]}-{frames[j]}:{step}")
        i = j + 1
    return ",".join(parts)


def job_frames(job: JobSpec) -> list[int]:
    """The frames a job covers: its ``frames`` range, or every frame of its input sequence on disk."""
    from ..io.sequence import FrameSequence

    source = getattr(job, "input", None) or getattr(job, "mattes", None)
    what = "input" if getattr(job, "input", None) else "mattes"
    if not source:
        raise SpecError("input", f"a {job.TYPE} job names no input sequence to take its frames from")
    return FrameSequence.parse(resolve_path(job, source), what=what).resolve_frames(getattr(job, "frames", None))


def chunk_of(job: JobSpec, frames: str | None, *, fit_only: bool = False) -> tuple[JobSpec, list[int]]:
    """Check a chunk's ``--frames`` (or ``--fit-only``) against the job and return ``(job, frames to write)``.

    Raises:
        SpecError: the range is malformed, empty or outside the job's frames (naming the frames), the job type
            cannot be split (roto: unless the chunk is the whole shot; paint: unless it is whole keyframe spans), or
            ``--fit-only`` on a job that fits no tone model.
    """
    from ..io.sequence import format_frame_range, parse_frame_range

    if fit_only:
        if frames is not None:
            raise SpecError("--fit-only", "writes no frames; don't combine it with --frames")
        if job.TYPE not in ("shade", "cel"):
            raise SpecError("--fit-only", f"only shade and cel jobs fit a tone model; this is a {job.TYPE} job")
        return job, []
    assert frames is not None
    wanted = parse_frame_range(openjd_to_frames(frames), what="--frames")
    allowed = job_frames(job)
    outside = sorted(set(wanted) - set(allowed))
    if outside:
        raise SpecError("--frames", f"frame(s) {format_frame_range(outside)} are outside the job's frames "
                        f"{format_frame_range(allowed)}")
    if job.TYPE in WHOLE_SHOT and set(wanted) != set(allowed):
        raise SpecError("--frames", f"{format_frame_range(wanted)} is part of the shot, but {WHOLE_SHOT[job.TYPE]}; "
                        f"run the whole job ({format_frame_range(allowed)}) as one task")
    if job.TYPE in BY_SPAN and set(wanted) != set(allowed):
        spans = spans_of(job, allowed)
        cut = [s for s in spans if set(s) & set(wanted) and not set(s) <= set(wanted)]
        if cut:
            raise SpecError("--frames", f"{format_frame_range(wanted)} cuts the keyframe span {format_frame_range(cut[0])}; "
                            f"a {job.TYPE} task propagates each keyframe along its whole span, so give whole spans: "
                            + ", ".join(format_frame_range(s) for s in spans))
        return job, wanted
    if job.TYPE not in SPLITTABLE and job.TYPE not in WHOLE_SHOT and set(wanted) != set(allowed):
        raise SpecError("--frames", f"a {job.TYPE} job cannot be split into frame chunks; run it whole")
    return job, wanted


__all__ = ["chunk_of", "job_frames", "spans_of", "openjd_to_frames", "frames_to_openjd", "SPLITTABLE", "WHOLE_SHOT",
           "BY_SPAN"]


def load_mapped_job(path: str, mapping: str | None) -> JobSpec:
    """``load_job(path)``, with every absolute path of the spec first mapped by the OpenJD path-mapping rules file
    ``mapping`` (a farm worker that sees the submitter's files under other roots: Deadline Cloud job attachments,
    shared storage mounted elsewhere). Relative paths still resolve against the spec's folder."""
    import json
    import os

    from ..spec import load_job
    from .paths import apply_path_mapping, load_path_mapping

    if not mapping:
        return load_job(path)
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise SpecError("", f"cannot read job spec '{path}': {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise SpecError("", f"job spec '{path}' is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise SpecError("", f"a job spec must be a JSON object, got {type(data).__name__}")
    job = load_job(apply_path_mapping(data, load_path_mapping(mapping)))
    object.__setattr__(job, "_base_dir", os.path.dirname(os.path.abspath(path)))
    return job
