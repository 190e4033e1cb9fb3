"""What every operation shares: results, resumable per-frame outputs, manifests and the ``run_job`` entry point."""

from __future__ import annotations

import collections
import concurrent.futures as cf
import contextlib
import contextvars
import dataclasses
import json
import logging
import os
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from .. import __version__
from ..errors import OutputError, OutputExistsError, SpecError
from ..io import lock as output_lock
from ..io.atomic import atomic_write_text, ensure_writable_dir, remove_stale_temps
from ..io.verify import frame_is_complete
from ..io.frames import Window, paste, read_attributes, write_exr
from ..io.sequence import FrameSequence, format_frame_range
from ..progress import RunContext
from ..spec import JobSpec, OutputSettings
from ..jobs.paths import manifest_path  # noqa: F401  (one rule for the engine and the hosts)

log = logging.getLogger("inkpaint")

JOB_HASH_KEY = "inkpaint:job_hash"
"""Header attribute (EXR/PNG) or JSON key holding the hash of the job that wrote a frame."""


@dataclasses.dataclass
class JobResult:
    """What a finished job reports (also the worker's ``result`` event payload).

    Attributes:
        type: the job type.
        job_hash: :meth:`JobSpec.job_hash` of the job.
        outputs: output name -> frame pattern (``{"mattes": "roto/shot.####.exr", "contours": ...}``).
        frames: frames the job covers.
        written: frames written by this run.
        skipped: frames already complete from an earlier run of the same job (resume).
        manifest: path of the JSON manifest describing the outputs.
        summary: operation-specific figures (warnings, unpainted segments, timings ...).
        repaired: frames an earlier run of this job had left incomplete (a full disk, a crashed file server) and
            this run rewrote: ``{"frame", "path", "reason"}`` each.
    """

    type: str
    job_hash: str
    outputs: dict[str, str]
    frames: list[int]
    written: list[int] = dataclasses.field(default_factory=list)
    skipped: list[int] = dataclasses.field(default_factory=list)
    manifest: str | None = None
    summary: dict[str, Any] = dataclasses.field(default_factory=dict)
    repaired: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["frame_range"] = format_frame_range(self.frames) if self.frames else ""
        return d


_FRAME_LIMIT: contextvars.ContextVar[frozenset[int] | None] = contextvars.ContextVar("inkpaint_frame_limit", default=None)


@contextlib.contextmanager
def limit_frames(frames: Iterable[int] | None) -> Iterator[None]:
    """Within the block, a job writes only ``frames`` (a farm chunk: ``inkpaint run job.json --frames A-B``).

    The job itself (its frames, its hash, the frames a tone model is fitted on) is unchanged, so a chunk writes
    exactly the frames a whole run would. :meth:`FrameOutputs.prepare` counts the other frames as not this run's
    (neither checked nor cleaned up: another chunk may be writing them), and :func:`write_manifest` writes no
    manifest, since the job is not finished until every chunk is (a last unlimited run writes it). ``None`` lifts
    the limit (a temporal stage such as roto inside a cel job always covers the whole shot).
    """
    token = _FRAME_LIMIT.set(None if frames is None else frozenset(frames))
    try:
        yield
    finally:
        _FRAME_LIMIT.reset(token)


def frame_limit() -> frozenset[int] | None:
    """The frames :func:`limit_frames` allows now, ``None`` when every frame of the job may be written."""
    return _FRAME_LIMIT.get()


class RunScope:
    """What one :func:`run_job` call holds and notes: the output locks it took, the frames it repaired."""

    def __init__(self, job_type: str = "") -> None:
        self.job_type = job_type
        self.repaired: list[dict[str, Any]] = []


_RUN_SCOPE: contextvars.ContextVar[RunScope | None] = contextvars.ContextVar("inkpaint_run_scope", default=None)


def lock_path(pattern: str) -> str:
    """The lock file of an output sequence, next to its manifest: ``roto/shot.####.exr`` -> ``roto/shot.inkpaint.lock``."""
    m = manifest_path(pattern)
    return (m[: -len(".json")] if m.endswith(".json") else m) + ".lock"


def lock_outputs(pattern: str, job_hash: str, *, what: str = "output") -> None:
    """Take the exclusive lock of an output sequence for this run (see :mod:`inkpaint.io.lock`).

    Held until :func:`run_job` returns (or, outside it, until the process exits or the next run takes it over);
    farm chunks of one job (:func:`limit_frames`) share it.

    Raises:
        OutputLockedError: another job is writing the sequence now (names it).
    """
    scope = _RUN_SCOPE.get()
    output_lock.acquire(lock_path(pattern), job_hash=job_hash, job_type=scope.job_type if scope else "", pattern=pattern,
                        scope=scope, shared=_FRAME_LIMIT.get() is not None, what=what)
    manifest = os.path.basename(manifest_path(pattern))
    folder = Path(os.path.dirname(manifest_path(pattern)) or ".")
    for stale in remove_stale_temps(folder, lambda name: name == manifest):  # the lock makes them ours
        log.info("removed a manifest temp file left by an interrupted run: %s", stale)


class FrameOutputs:
    """One per-frame output sequence of a job, made resumable and overwrite-safe.

    A frame counts as complete when its file exists, carries this job's hash (``inkpaint:job_hash`` in the
    image header, or the ``job_hash`` key of a JSON file) and its pixels decode
    (:func:`inkpaint.io.verify.frame_is_complete`: files are written atomically, but a crashed file server or a copy
    cut short can still leave a broken one; it is rewritten, with a warning, and listed in
    :attr:`JobResult.repaired`). A file from another job is an error unless ``overwrite`` is set. While a job
    prepares and writes the sequence it holds its lock (:func:`lock_outputs`).

    Args:
        pattern: output frame pattern (must contain ``####``, ``%04d`` or ``@``).
        job_hash: hash of the job writing it.
        overwrite: replace outputs of other jobs.
        what: the field or option named in errors (``"output"``, ``"--out"`` ...).
    """

    def __init__(self, pattern: str, job_hash: str, *, overwrite: bool = False, what: str = "output") -> None:
        self.seq = FrameSequence.parse(pattern, what=what)
        self.pattern = pattern
        self.job_hash = job_hash
        self.overwrite = overwrite
        self.what = what

    def path(self, frame: int) -> str:
        return self.seq.path(frame)

    def frame_hash(self, frame: int) -> str | None:
        """The job hash recorded in an existing output frame, ``""`` if it has none, ``None`` if it doesn't exist."""
        path = self.path(frame)
        if not os.path.exists(path):
            return None
        try:
            if path.endswith(".json"):
                with open(path, encoding="utf-8") as fh:
                    return str(json.load(fh).get("job_hash", ""))
            return str(read_attributes(path, frame).get(JOB_HASH_KEY, ""))
        except Exception:
            return ""

    def prepare(self, frames: list[int]) -> set[int]:
        """Check the folder is writable and find frames already complete.

        Temp files that an interrupted run left for these frames (``.<name>.<random>.inkpaint-tmp.<ext>``) are
        deleted; those of other frames (another job writing into the same folder) are left alone.

        Returns:
            The frames already written by this same job (to be skipped), and under :func:`limit_frames` the frames
            outside the limit (not this run's to write).

        Raises:
            OutputError: the folder cannot be created or written.
            OutputExistsError: frames written by a different job exist and ``overwrite`` is off.
        """
        ensure_writable_dir(self.seq.folder)
        lock_outputs(self.pattern, self.job_hash, what=self.what)
        limit = _FRAME_LIMIT.get()
        outside = {f for f in frames if f not in limit} if limit is not None else set()
        frames = [f for f in frames if f not in outside]  # under a farm chunk's limit: the other frames aren't ours
        wanted = set(frames)

        def owns(name: str) -> bool:
            return self.seq.frame_of_name(name) in wanted

        for stale in remove_stale_temps(self.seq.folder, owns):
            log.info("removed a temp file left by an interrupted run: %s", stale)
        done: set[int] = set()
        foreign: list[int] = []
        for f in frames:
            h = self.frame_hash(f)
            if h is None:
                continue
            if h == self.job_hash:
                path = self.path(f)
                check = frame_is_complete(path) if not path.endswith(".json") else True
                if check:
                    done.add(f)
                    continue
                reason = getattr(check, "reason", "")
                log.warning("frame %d '%s' was written by this job but is incomplete (%s): rewriting it", f, path, reason)
                scope = _RUN_SCOPE.get()
                if scope is not None:
                    scope.repaired.append({"frame": f, "path": path, "reason": reason})
            else:
                foreign.append(f)
        if foreign and not self.overwrite:
            raise OutputExistsError(
                f"{len(foreign)} existing {self.what} frame(s) were written by a different job or another program "
                f"(first: '{self.path(foreign[0])}', frames {format_frame_range(foreign)}). "
                "Choose another output path or pass --overwrite (\"overwrite\": true in output_options)."
            )
        return done | outside

    def metadata(self, frame: int, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Header attributes every output frame carries."""
        return {JOB_HASH_KEY: self.job_hash, "inkpaint:frame": int(frame), "inkpaint:version": __version__, **(extra or {})}


def run_frames(ctx: RunContext, stage: str, todo: list[int], done: set[int], written: list[int], process: Callable[[int], None]) -> None:
    """Drive a stage frame by frame: a first progress event saying how many frames were already done, a cancel
    check before each frame, ``process(frame)`` (which appends to ``written`` once the frame's file is in place),
    and a progress event after it."""
    ctx.report(stage, 0, len(todo), message=f"{len(done)} frame(s) already done" if done else "")
    for f in todo:
        ctx.check_cancel()
        process(f)
        ctx.report(stage, len(written), len(todo), frame=f)


T = TypeVar("T")
R = TypeVar("R")


def prefetch(pool: cf.Executor, fn: Callable[[T], R], items: Sequence[T], ahead: int) -> Generator[tuple[T, R], None, None]:
    """``(item, fn(item))`` for each item in order, computed on ``pool`` up to ``ahead`` items before it is consumed.

    At most ``ahead`` results wait, so memory stays flat. Close the generator (``contextlib.closing``) to cancel what
    was not consumed when the caller stops early.
    """
    queue = collections.deque(pool.submit(fn, x) for x in items[:ahead])
    try:
        for i, x in enumerate(items):
            result = queue.popleft().result()
            if i + ahead < len(items):
                queue.append(pool.submit(fn, items[i + ahead]))
            yield x, result
    finally:
        for fut in queue:
            fut.cancel()


class WriteQueue:
    """Frames handed to writer threads, counted done in frame order once all their files are written.

    At most ``in_flight`` frames wait (memory stays flat); a writer's error surfaces from :meth:`add` or
    :meth:`finish`. After an error, :meth:`settle` lets the frames already handed over finish, so each file is
    written whole or not at all.
    """

    def __init__(self, in_flight: int, on_done: Callable[[int], None]) -> None:
        self.in_flight = in_flight
        self.on_done = on_done
        self.pending: collections.deque[tuple[int, list[cf.Future[None]]]] = collections.deque()

    def add(self, frame: int, futures: list[cf.Future[None]]) -> None:
        """Hand over ``frame``'s writes (none: nothing to write, done in turn)."""
        self.pending.append((frame, futures))
        self._collect(block=False)

    def finish(self) -> None:
        """Wait for every frame handed over."""
        self._collect(block=True)

    def settle(self) -> None:
        """Wait for the writes already started, ignoring their errors (on the way out of a failed run)."""
        for _, futures in self.pending:
            for w in futures:
                with contextlib.suppress(Exception):
                    w.result()

    def _collect(self, block: bool) -> None:
        while self.pending and (block or len(self.pending) > self.in_flight or all(w.done() for w in self.pending[0][1])):
            frame, futures = self.pending.popleft()
            for w in futures:
                w.result()
            self.on_done(frame)


def split_names(text: str | None, what: str, kind: str = "names") -> list[str] | None:
    """``"a, b"`` -> ``["a", "b"]``; ``None`` stays ``None``; an empty list is a :class:`SpecError` naming ``what``."""
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise SpecError(what, f"is empty; give {kind} separated by commas")
    return names


def write_window_exr(
    path: str,
    channels: dict[str, Any],
    window: Window,
    size: tuple[int, int],
    options: OutputSettings,
    *,
    metadata: dict[str, Any],
) -> None:
    """Write layers that cover ``window`` of a ``size`` = ``(width, height)`` frame, as ``options`` ask.

    ``options.data_window == "tight"`` stores the window as the EXR data window (zeros outside it are implied);
    ``"full"`` pads every channel to the whole frame.

    Args:
        channels: name -> ``(window.height, window.width)`` array.
    """
    if options.data_window == "full":
        full = Window.full(size)
        write_exr(path, {k: paste(v, window, full) for k, v in channels.items()}, metadata=metadata, compression=options.compression)
    else:
        write_exr(path, channels, metadata=metadata, compression=options.compression, window=window, size=size)


def write_manifest(job: JobSpec, result: JobResult, primary_pattern: str) -> str | None:
    """Write the JSON manifest beside the primary output (job spec, hash, outputs, frames). Returns its path.

    Under :func:`limit_frames` (a farm chunk) nothing is written and ``None`` is returned: a manifest says the job
    is finished, and one chunk does not finish it.
    """
    if _FRAME_LIMIT.get() is not None:
        return None
    from ..farm.paths import relocatable, relocate, shot_root

    path = manifest_path(primary_pattern)
    # paths inside the shot folder are recorded relative to this manifest, so moving the folder keeps it valid
    # (readers resolve them against the manifest's folder; see inkpaint.farm.paths)
    here = os.path.dirname(os.path.abspath(path))
    base = getattr(job, "_base_dir", None)
    root = shot_root(job.to_dict(), base)
    res = {**result.to_dict(), "manifest": os.path.basename(path)}
    res["outputs"] = {k: relocate(os.path.abspath(v), root, here) for k, v in res["outputs"].items()}
    stages = res.get("summary", {}).get("stages")
    if isinstance(stages, dict):
        res["summary"] = {**res["summary"], "stages": {
            k: {**v, "manifest": relocate(os.path.abspath(v["manifest"]), root, here)} if isinstance(v, dict) and v.get("manifest") else v
            for k, v in stages.items()}}
    payload = {
        "inkpaint_version": __version__,
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "paths_relative_to": "manifest",
        "job": relocatable(job.to_dict(), base, here),
        "result": res,
    }
    atomic_write_text(path, json.dumps(payload, indent=2) + "\n")
    return path


def run_job(job: JobSpec, ctx: RunContext | None = None) -> JobResult:
    """Run any job in-process through its registered operation."""
    from ..registry import load_operation

    op = load_operation(job.TYPE)
    ctx = ctx or RunContext()
    job.validate()
    scope = RunScope(job.TYPE)
    token = _RUN_SCOPE.set(scope)
    try:
        result = op.run(job, ctx)
    finally:
        _RUN_SCOPE.reset(token)
        output_lock.release_scope(scope)
    result.repaired = scope.repaired
    return result


def require_output_dir(path: str | os.PathLike[str]) -> Path:
    """Create an output folder (for ``--out-dir`` style options) and check it is writable."""
    p = Path(path)
    try:
        ensure_writable_dir(p)
    except OutputError:
        raise
    return p
