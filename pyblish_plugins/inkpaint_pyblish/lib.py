"""What the inkpaint pyblish plug-ins share, as plain functions (no pyblish here, so they can be tested alone).

- finding manifests (``<prefix>.inkpaint.json``) in the folders/files a publish is pointed at;
- reading a manifest into pyblish instance data, with errors that name the file and the field;
- which files a job promises (``result.outputs`` x ``result.frames``) and which job hash each must carry;
- reading frame headers (no pixels), sampling frames and flat-fill pixels, paint segment statistics;
- settings from ``context.data`` or the environment, and problem lists turned into one readable error.

Manifest payload (``inkpaint.ops.base.write_manifest``)::

    {"inkpaint_version": "0.1.0", "written_at": "...", "job": {job spec},
     "result": {"type", "job_hash", "outputs": {name: pattern}, "frames", "written", "skipped", "manifest",
                "summary": {...operation specific...}, "frame_range"}}
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

import inkpaint
from inkpaint.errors import FrameError, InkpaintError, SpecError
from inkpaint.io.frames import read_attributes, read_image
from inkpaint.io.verify import frame_is_complete
from inkpaint.io.sequence import FrameSequence, format_frame_range
from inkpaint.ops.base import JOB_HASH_KEY
from inkpaint.spec import JobSpec, load_job

MANIFEST_SUFFIX = ".inkpaint.json"
"""How every inkpaint manifest's file name ends (``roto/shot.inkpaint.json``)."""

PATHS_KEY = "inkpaintPublishPaths"
"""``context.data`` key: a path or a list of paths (manifest files or folders searched recursively)."""

PATHS_ENV = "INKPAINT_PUBLISH_PATHS"
"""Environment variable used when ``context.data`` has no :data:`PATHS_KEY`: paths separated by ``os.pathsep``."""

BASE_FAMILY = "inkpaint"
"""Every instance carries this family (in ``families``); its ``family`` is the job type."""

JOB_TYPES = ("roto", "shade", "ink", "finish", "cel", "paint")
"""The job types the validators know; other registered types are collected with their type as family."""

HEADERS_KEY = "inkpaintHeaders"
"""Instance data key caching frame headers read during this publish (path -> attributes)."""

T = TypeVar("T")


class ManifestError(InkpaintError):
    """A manifest is unreadable or malformed; the message names the file and the field."""

    def __init__(self, path: str | os.PathLike[str], field: str, message: str) -> None:
        self.path = str(path)
        self.field = field
        self.message = message
        super().__init__(f"'{self.path}': {field}: {message}" if field else f"'{self.path}': {message}")


# ----------------------------------------------------------------------------------------------------------------
# Settings


def publish_paths(data: Mapping[str, Any], environ: Mapping[str, str]) -> tuple[list[str], str]:
    """The paths a publish looks at, and where they came from (named in errors).

    Args:
        data: ``context.data``; :data:`PATHS_KEY` holds a path or a list of paths.
        environ: the environment; :data:`PATHS_ENV` holds paths separated by ``os.pathsep``.

    Returns:
        ``(paths, source)``; ``paths`` is empty when neither is set.
    """
    value = data.get(PATHS_KEY)
    if value is not None:
        items = [value] if isinstance(value, (str, os.PathLike)) else list(value)
        return [str(p) for p in items if str(p)], f'context.data["{PATHS_KEY}"]'
    raw = environ.get(PATHS_ENV, "")
    return [p for p in raw.split(os.pathsep) if p.strip()], f"${PATHS_ENV}"


def setting(data: Mapping[str, Any], key: str, environ: Mapping[str, str], env: str, default: T, cast: Callable[[Any], T]) -> T:
    """A publish setting: ``context.data["inkpaintSettings"][key]``, else ``$env``, else ``default``.

    Raises:
        ValueError: the value cannot be converted by ``cast`` (the message names where it came from).
    """
    settings = data.get("inkpaintSettings") or {}
    if key in settings:
        value, where = settings[key], f'context.data["inkpaintSettings"]["{key}"]'
    elif environ.get(env, "") != "":
        value, where = environ[env], f"${env}"
    else:
        return default
    try:
        return cast(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: cannot read {value!r} as {getattr(cast, '__name__', cast)}: {exc}") from None


# ----------------------------------------------------------------------------------------------------------------
# Finding and reading manifests


def find_manifests(paths: Iterable[str], source: str) -> tuple[list[Path], list[str]]:
    """Manifest files named by ``paths``: files as given, folders searched recursively (hidden folders skipped).

    Returns:
        ``(manifests, problems)``: absolute paths, sorted and without duplicates; a problem for each path that
        does not exist, is not a manifest, or is a folder holding none.
    """
    found: dict[Path, None] = {}
    problems: list[str] = []
    for raw in paths:
        p = Path(os.path.expandvars(os.path.expanduser(raw))).absolute()
        if p.is_file():
            if p.name.endswith(MANIFEST_SUFFIX):
                found[p] = None
            else:
                problems.append(f"{source}: '{p}' is not an inkpaint manifest (its name must end in {MANIFEST_SUFFIX})")
        elif p.is_dir():
            hits = []
            for folder, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))  # the jobs' hidden work folders
                hits += [Path(folder) / f for f in files if f.endswith(MANIFEST_SUFFIX) and not f.startswith(".")]
            if not hits:
                problems.append(f"{source}: no inkpaint manifests (*{MANIFEST_SUFFIX}) in '{p}' or below")
            for h in sorted(hits):
                found[h] = None
        else:
            problems.append(f"{source}: '{p}' does not exist")
    return sorted(found), problems


def _frame_list(value: Any, path: Path, field: str) -> list[int]:
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ManifestError(path, field, f"expected a list of frame numbers, got {str(value)[:80]}")
    return list(value)


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a manifest and check its envelope (the fields every inkpaint manifest has, with their types).

    Raises:
        ManifestError: unreadable, not JSON, or a field missing or of the wrong type (named).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ManifestError(p, "", f"cannot read: {exc.strerror or exc}") from None
    try:
        m = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError(p, "", f"is not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}") from None
    if not isinstance(m, dict):
        raise ManifestError(p, "", f"must be a JSON object, got {type(m).__name__}")
    for key, typ in (("inkpaint_version", str), ("job", dict), ("result", dict)):
        if key not in m:
            raise ManifestError(p, key, "missing")
        if not isinstance(m[key], typ):
            raise ManifestError(p, key, f"expected {typ.__name__}, got {type(m[key]).__name__}")
    res = m["result"]
    for key, typ in (("type", str), ("job_hash", str), ("outputs", dict), ("summary", dict)):
        if key not in res:
            raise ManifestError(p, f"result.{key}", "missing")
        if not isinstance(res[key], typ):
            raise ManifestError(p, f"result.{key}", f"expected {typ.__name__}, got {type(res[key]).__name__}")
    for name, pattern in res["outputs"].items():
        if not isinstance(pattern, str) or not pattern:
            raise ManifestError(p, f"result.outputs.{name}", f"expected a path or frame pattern, got {pattern!r}")
    for key in ("frames", "written", "skipped"):
        if key not in res:
            raise ManifestError(p, f"result.{key}", "missing")
        _frame_list(res[key], p, f"result.{key}")
    if not res["frames"]:
        raise ManifestError(p, "result.frames", "is empty: the job covers no frames")
    _resolve_relative(m, p.parent)
    return m


def _resolve_relative(m: dict[str, Any], folder: Path) -> None:
    """Paths inkpaint recorded relative to the manifest (``result.outputs``, ``result.manifest``, a cel job's stage
    manifests) made absolute against its folder, so a moved shot folder is checked where it is now."""
    res = m["result"]
    join = lambda v: os.path.normpath(os.path.join(folder, v)) if isinstance(v, str) and v and not os.path.isabs(v) else v  # noqa: E731
    res["outputs"] = {k: join(v) for k, v in res["outputs"].items()}
    if "manifest" in res:
        res["manifest"] = join(res["manifest"])
    stages = res["summary"].get("stages")
    if isinstance(stages, dict):
        for info in stages.values():
            if isinstance(info, dict) and "manifest" in info:
                info["manifest"] = join(info["manifest"])


def load_manifest_job(manifest: Mapping[str, Any], folder: str | os.PathLike[str] | None = None) -> tuple[JobSpec | None, str | None]:
    """The manifest's job spec through inkpaint's own loader, or the loader's error naming the field.

    Relative paths in it resolve against ``folder`` (the manifest's folder: inkpaint records paths inside the shot
    folder relative to the manifest).

    Returns:
        ``(job, None)`` or ``(None, "job.<field>: <what is wrong>")``.
    """
    try:
        job = load_job(dict(manifest["job"]))
        if folder is not None:
            object.__setattr__(job, "_base_dir", str(folder))
        return job, None
    except SpecError as exc:
        return None, f"job.{exc.field}: {exc.message}" if exc.field else f"job: {exc.message}"
    except InkpaintError as exc:
        return None, f"job: {exc}"


def instance_data(path: Path) -> dict[str, Any]:
    """The pyblish instance data for one manifest (``name`` included).

    A manifest that cannot be read still gives an instance (family ``inkpaint``, ``manifestError`` set), so the
    manifest validator reports it instead of it silently vanishing from the publish.
    """
    short = f"{path.parent.name}/{path.name}"
    base = {"name": str(path), "manifestPath": str(path), "families": [BASE_FAMILY]}
    try:
        m = read_manifest(path)
    except ManifestError as exc:
        return {**base, "label": f"inkpaint: {short} (unreadable)", "family": BASE_FAMILY, "manifestError": str(exc)}
    res = m["result"]
    job, job_error = load_manifest_job(m, path.parent)
    frames = sorted(set(res["frames"]))
    return {
        **base,
        "label": f"{res['type']}: {short}",
        "family": res["type"],
        "manifest": m,
        "job": m["job"],
        "jobSpec": job,
        "jobSpecError": job_error,
        "jobType": res["type"],
        "jobHash": res["job_hash"],
        "inkpaintVersion": m["inkpaint_version"],
        "writtenAt": m.get("written_at"),
        "outputs": dict(res["outputs"]),
        "frames": frames,
        "frameStart": frames[0],
        "frameEnd": frames[-1],
        "frameRange": format_frame_range(frames),
        "written": sorted(res["written"]),
        "skipped": sorted(res["skipped"]),
        "summary": res["summary"],
    }


def usable(data: Mapping[str, Any]) -> bool:
    """Whether an instance's manifest was read (validators other than the manifest check skip the others)."""
    return "manifestError" not in data and "manifest" in data


# ----------------------------------------------------------------------------------------------------------------
# Outputs, hashes, headers


@dataclasses.dataclass(frozen=True)
class Output:
    """One entry of ``result.outputs``.

    Attributes:
        name: its key (``mattes``, ``tone``, ``model``, ``fill`` ...).
        pattern: the frame pattern or file path as recorded.
        seq: the parsed sequence; ``None`` for a single file (no frame token, e.g. a tone model).
    """

    name: str
    pattern: str
    seq: FrameSequence | None

    def path(self, frame: int) -> str:
        return self.seq.path(frame) if self.seq is not None else self.pattern

    @property
    def is_exr(self) -> bool:
        return self.pattern.lower().endswith(".exr")


def outputs_of(data: Mapping[str, Any]) -> list[Output]:
    """The outputs recorded in an instance's manifest, in manifest order."""
    out = []
    for name, pattern in data["outputs"].items():
        try:
            seq: FrameSequence | None = FrameSequence.parse(pattern, what=f"result.outputs.{name}")
        except SpecError:
            seq = None
        out.append(Output(name, pattern, seq))
    return out


REPORT_OUTPUTS = frozenset({"contact_sheet"})
"""Outputs that picture a run for QC (roto/shade/cel ``<prefix>.contact.png``), not results: drawn after the frames,
they carry no job hash."""


class HashPlan:
    """Which job hash each output file must carry in its header (``inkpaint:job_hash``) or JSON (``job_hash``).

    - most jobs: ``result.job_hash`` on every file;
    - ``paint``: one provenance hash per frame (``result.summary.provenance``), on the fill and its side outputs;
    - ``cel``: each stage writes its own files, so a file carries its stage's hash, read from the stage manifest
      named in ``result.summary.stages.<stage>.manifest``.

    Attributes:
        problems: what could not be worked out (a missing stage manifest, no provenance), naming the field.
    """

    def __init__(self, manifest_path: str, manifest: Mapping[str, Any]) -> None:
        res = manifest["result"]
        self.type = res["type"]
        self.default: str = res["job_hash"]
        self.per_frame: dict[int, str] | None = None
        self.by_pattern: dict[str, str] = {}
        self.problems: list[str] = []
        summary = res.get("summary", {})
        if self.type == "paint":
            prov = summary.get("provenance")
            if isinstance(prov, dict):
                self.per_frame = {int(k): str(v) for k, v in prov.items()}
                lacking = sorted(set(res["frames"]) - set(self.per_frame))
                if lacking:
                    self.problems.append(f"'{manifest_path}': result.summary.provenance: no hash for frame(s) {format_frame_range(lacking)}")
            else:
                self.problems.append(f"'{manifest_path}': result.summary.provenance: missing; a paint job's frames carry per-frame provenance hashes listed there")
        elif self.type == "cel":
            stages = summary.get("stages")
            if not isinstance(stages, dict) or not stages:
                self.problems.append(f"'{manifest_path}': result.summary.stages: missing; a cel job's files carry the hashes of its stage jobs")
                stages = {}
            for stage, info in stages.items():
                field = f"result.summary.stages.{stage}.manifest"
                sm = info.get("manifest") if isinstance(info, dict) else None
                if not sm:
                    self.problems.append(f"'{manifest_path}': {field}: missing")
                    continue
                try:
                    stage_manifest = read_manifest(sm)
                except ManifestError as exc:
                    self.problems.append(f"'{manifest_path}': {field}: stage manifest {exc}")
                    continue
                for pattern in stage_manifest["result"]["outputs"].values():
                    self.by_pattern[pattern] = stage_manifest["result"]["job_hash"]

    def expected(self, output: Output, frame: int | None) -> str | None:
        """The hash ``output``'s file for ``frame`` must carry; ``None`` when it cannot be known (see problems) or
        the output is a QC picture of the run (:data:`REPORT_OUTPUTS`: it must exist and be whole, no more)."""
        if output.name in REPORT_OUTPUTS:
            return None
        if self.per_frame is not None:
            return self.per_frame.get(frame) if frame is not None else None
        if self.type == "cel":
            return self.by_pattern.get(output.pattern)
        return self.default


def where(path: str, frame: int | None = None) -> str:
    """``frame 12 '/x/shot.0012.exr'`` or ``'/x/model.json'``: how errors name a file."""
    return f"frame {frame} '{path}'" if frame is not None else f"'{path}'"


def major(version: Any) -> int | None:
    """The major number of a version string (``"0.1.0"`` -> 0), ``None`` when it has none."""
    head = str(version).strip().lstrip("vV").split(".")[0]
    return int(head) if head.isdigit() else None


def header(data: dict[str, Any], path: str, frame: int | None) -> dict[str, Any]:
    """A frame's header (metadata, size, channel names; no pixels), cached in the instance for this publish.

    JSON outputs give their top-level object instead.

    Raises:
        FrameError: missing or unreadable (names the frame and file).
    """
    cache = data.setdefault(HEADERS_KEY, {})
    if path not in cache:
        if path.lower().endswith(".json"):
            if not os.path.isfile(path):
                raise FrameError("file does not exist", frame=frame, path=path)
            try:
                with open(path, encoding="utf-8") as fh:
                    payload = json.load(fh)
            except (OSError, ValueError) as exc:
                raise FrameError(f"is not readable JSON: {exc}", frame=frame, path=path) from None
            if not isinstance(payload, dict):
                raise FrameError(f"expected a JSON object, got {type(payload).__name__}", frame=frame, path=path)
            cache[path] = payload
        else:
            cache[path] = read_attributes(path, frame)
    return cache[path]


def channel_names(data: dict[str, Any], path: str, frame: int | None) -> list[str] | None:
    """The channel names of an image output, or ``None`` when it cannot be read (the output-frames check says why)."""
    try:
        return [str(c) for c in header(data, path, frame)["channelnames"]]
    except FrameError:
        return None


def check_file(data: dict[str, Any], output: Output, frame: int | None, expected_hash: str | None) -> list[str]:
    """Problems with one output file: missing, unreadable header, incomplete pixels (a truncated EXR or PNG: see
    :func:`inkpaint.io.verify.frame_is_complete`), written by another job or another major version."""
    path = output.path(frame) if frame is not None else output.pattern
    try:
        h = header(data, path, frame)
    except FrameError as exc:
        return [f"{output.name}: {exc}"]
    problems = []
    if not path.lower().endswith(".json"):
        check = frame_is_complete(path)  # the header can be whole while the pixels are cut short
        if not check:
            problems.append(f"{output.name}: {where(path, frame)}: the file is incomplete: {check.reason}")
    key = "job_hash" if path.lower().endswith(".json") else JOB_HASH_KEY
    found = h.get(key)
    if expected_hash is not None and found != expected_hash:
        what = "has no job hash" if not found else f"was written by another job ({key} {found!r})"
        problems.append(f"{output.name}: {where(path, frame)}: {what}; this manifest's job wrote {expected_hash!r}")
    version = h.get("inkpaint:version")
    if version is not None and major(version) != major(inkpaint.__version__):
        problems.append(f"{output.name}: {where(path, frame)}: written by inkpaint {version}; this is inkpaint {inkpaint.__version__} (another major version)")
    return problems


def channels_missing(channel_names: Sequence[str], wanted: Iterable[str]) -> list[str]:
    """The ``wanted`` channel names absent from ``channel_names`` (looked up by name, never by position)."""
    have = set(channel_names)
    return [c for c in wanted if c not in have]


# ----------------------------------------------------------------------------------------------------------------
# Sampling


def sample_frames(frames: Sequence[int], count: int) -> list[int]:
    """Up to ``count`` frames spread evenly over ``frames``, first and last included."""
    frames = sorted(frames)
    if count <= 0:
        return []
    if len(frames) <= count:
        return frames
    idx = np.unique(np.rint(np.linspace(0, len(frames) - 1, count)).astype(int))
    return [frames[i] for i in idx]


@dataclasses.dataclass
class FillSample:
    """Flat-fill pixels sampled from one frame.

    Attributes:
        rgb: ``(n, 3)`` uint8 sRGB colours of the sampled pixels.
        xy: ``(n, 2)`` pixel positions in the frame (top-left origin).
        filled: filled (alpha > 0) pixels in the frame.
        partial_alpha: filled pixels whose alpha is neither 0 nor 1 (a flat fill is opaque or empty).
    """

    rgb: np.ndarray
    xy: np.ndarray
    filled: int
    partial_alpha: int


def sample_fill(path: str, frame: int, channels: list[str] | None, *, linear: bool, count: int, seed: int = 0) -> FillSample:
    """Sample ``count`` filled pixels of a flat colour layer (straight alpha), decoding only its data window.

    Args:
        path: the frame file.
        channels: the R, G, B, A channel names to read (``None``: the file's first four, for PNG).
        linear: the colours are scene-linear floats (EXR), converted with the exact sRGB curve; else 0..1 sRGB.
        count: pixels to sample (all of them when fewer are filled).
        seed: random seed, so a rerun samples the same pixels.

    Raises:
        FrameError: unreadable, or a channel is missing (names the frame, file and channels present).
    """
    from inkpaint.cel.paint import linear_to_srgb

    img = read_image(path, frame=frame, channels=channels, window="data")
    px = img.pixels
    if px.shape[2] < 4:
        raise FrameError(f"expected RGBA, got channels {', '.join(img.channels)}", frame=frame, path=path)
    alpha = px[..., 3]
    filled = np.flatnonzero(alpha > 0)
    partial = int(np.count_nonzero((alpha > 0) & (np.abs(alpha - 1.0) > 1e-3)))
    rng = np.random.default_rng(seed + frame)
    pick = rng.choice(filled, size=min(count, filled.size), replace=False) if filled.size else filled
    pick.sort()
    rgb = px[..., :3].reshape(-1, 3)[pick]
    if linear:
        rgb = linear_to_srgb(rgb)
    rgb8 = np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)
    win = img.window
    ys, xs = np.divmod(pick, alpha.shape[1])
    xy = np.stack([xs + (win.x if win else 0), ys + (win.y if win else 0)], axis=1)
    return FillSample(rgb8, xy, int(filled.size), partial)


# ----------------------------------------------------------------------------------------------------------------
# Problems -> one error


def problem_text(subject: str, problems: Sequence[str], limit: int = 20) -> str:
    """One message listing ``problems`` (the first ``limit``), headed by ``subject`` (the job and manifest)."""
    lines = [f"{subject}: {len(problems)} problem{'s' if len(problems) != 1 else ''}:"]
    lines += [f"  - {p}" for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"  ... and {len(problems) - limit} more")
    return "\n".join(lines)


def subject(data: Mapping[str, Any]) -> str:
    """How an instance is named in errors: its job type and manifest path."""
    return f"{data.get('family', BASE_FAMILY)} job, manifest '{data.get('manifestPath')}'"


# ----------------------------------------------------------------------------------------------------------------
# Paint


@dataclasses.dataclass
class PaintFrameQC:
    """What one paint frame's segments JSON says needs a look.

    Attributes:
        unpainted: ids of segments left unpainted (no confident match).
        low_confidence: ids of painted, non-keyframe segments under the QC overlay's confidence mark
            (``inkpaint.ops.paint.LOW_CONFIDENCE``), the ones the overlay tints yellow.
    """

    unpainted: list[int]
    low_confidence: list[int]


def paint_frame_qc(payload: Mapping[str, Any], path: str, frame: int) -> PaintFrameQC:
    """Read a paint ``.segments.json`` the way the QC overlay marks segments.

    Raises:
        FrameError: the file has no ``segments`` list or a segment lacks ``status``/``confidence``.
    """
    from inkpaint.ops.paint import LOW_CONFIDENCE
    from inkpaint.paint.propagate import STATUS_KEY, STATUS_UNPAINTED

    segs = payload.get("segments")
    if not isinstance(segs, list):
        raise FrameError("field segments: missing or not a list", frame=frame, path=path)
    unpainted, low = [], []
    for i, s in enumerate(segs):
        if not isinstance(s, dict) or "status" not in s or "confidence" not in s:
            raise FrameError(f"field segments[{i}]: expected an object with status and confidence", frame=frame, path=path)
        status = s["status"]
        if status == STATUS_UNPAINTED:
            unpainted.append(int(s.get("id", i + 1)))
        elif status not in (STATUS_KEY, "background") and float(s["confidence"]) < LOW_CONFIDENCE:
            low.append(int(s.get("id", i + 1)))
    return PaintFrameQC(unpainted, low)
