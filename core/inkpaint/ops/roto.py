"""The roto operation: track named objects through a plate and write per-object mattes.

Output layout (one EXR per frame, half float):

- ``<object>.A`` per object (Nuke shows layer ``<object>``, channel alpha); objects never overlap: each pixel
  belongs to the object with the highest logit.
- ``A``: the union of all objects.
- optional Cryptomatte layers (``CryptoObject00.RGBA`` ... with manifest metadata) when ``cryptomatte`` is set.
- optional per-frame contours JSON (``contours``): simplified outlines per object, pixels, top-left origin.
- a manifest ``<prefix>.inkpaint.json`` beside the frames, with the job spec and hash.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..backends.base import FrameMasks, Keyframe, RotoRequest
from ..errors import FrameError, InkpaintError, OutputError, SpecError
from ..cel.labels import bounding_box
from ..io.frames import Window, read_attributes, read_channels, read_image, write_png
from ..io.sequence import FrameSequence, format_frame_range
from ..progress import RunContext
from ..spec import decode, resolve_path
from .base import FrameOutputs, JobResult, split_names, write_manifest, write_window_exr
from .job_options import FieldOption, add_field_options, job_kwargs
from .cli_options import add_backend_options as add_backend_options  # moved to .cli_options; re-exported
from .cli_options import add_common_options as add_common_options
from .cli_options import backend_options_from_args as backend_options_from_args
from .cli_options import common_settings as common_settings
from .sources import SequenceSource as SequenceSource  # moved to .sources; re-exported
from .sources import check_sequence as check_sequence
from ..jobs.names import NAME_RX as _NAME_RX  # noqa: F401  (moved to inkpaint.jobs.names)
from ..jobs.names import check_unique_names
from ..jobs.paths import same_pattern as _same_pattern  # noqa: F401
from ..jobs.roto import RESERVED_NAMES, Prompt, RotoJob, RotoObject  # noqa: F401  (job classes live in inkpaint.jobs)
from ..qc.contact_sheet import ContactSheet, SheetRow, pick_frames, tint_parts

log = logging.getLogger("inkpaint.roto")

JOB = RotoJob


# ----------------------------------------------------------------------------------------------------------------
# Prompts


def load_prompts(path: str | os.PathLike[str], only: list[str] | None = None) -> list[RotoObject]:
    """Read a prompts file (``{"objects": [{"name": ..., "prompts": [...]}]}``).

    Relative mask paths are made absolute against the prompts file's folder.

    Args:
        path: the prompts JSON file.
        only: keep just these objects (in this order); a name the file doesn't define is an error.

    Raises:
        SpecError: naming the file and field (duplicate names, unknown names in ``only`` included).
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError("--prompts", f"cannot read prompts file '{p}': {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise SpecError("--prompts", f"'{p}' is not valid JSON (line {exc.lineno}): {exc.msg}") from exc
    if not isinstance(data, dict) or "objects" not in data:
        raise SpecError("--prompts", f"'{p}' must be an object with an \"objects\" list")
    try:
        objects = decode(list[RotoObject], data["objects"], "objects")
        check_unique_names(objects, "objects")
    except SpecError as exc:
        raise SpecError(f"{p}: {exc.field}", exc.message) from None
    seen = {obj.name: i for i, obj in enumerate(objects)}
    for obj in objects:
        for pr in obj.prompts:
            if pr.mask and not os.path.isabs(os.path.expanduser(pr.mask)):
                pr.mask = str((p.resolve().parent / pr.mask))
    if only is not None:
        unknown = [n for n in only if n not in seen]
        if unknown:
            raise SpecError("--objects", f"unknown object name {unknown[0]!r}; '{p}' defines: {', '.join(seen) or 'none'}")
        if len(set(only)) != len(only):
            dup = next(n for n in only if only.count(n) > 1)
            raise SpecError("--objects", f"object {dup!r} is named twice")
        objects = [objects[seen[n]] for n in only]
    return objects


def read_mask_prompt(path: str, size: tuple[int, int], where: str) -> np.ndarray:
    """Read a mask prompt as bool ``(H, W)``; > 0.5 is inside.

    The alpha channel is used when it holds a matte (some pixel below 0.5); an absent or all-opaque alpha (an RGBA
    export of a black-and-white mask) means the colour channels' mean is used.

    Raises:
        SpecError: unreadable, wrong size, or empty (names the field and file).
    """
    try:
        img = read_image(path)
    except FrameError as exc:
        raise SpecError(where, f"cannot read mask '{path}': {exc}") from None
    if (img.width, img.height) != size:
        raise SpecError(where, f"mask '{path}' is {img.width}x{img.height}, the plate is {size[0]}x{size[1]}")
    ch = img.channels
    alpha = img.channel("A") if "A" in ch else None
    if alpha is not None and (alpha < 0.5).any():
        m = alpha  # a real matte in alpha; an all-opaque alpha (e.g. an RGBA screenshot) says nothing
    else:
        colour = [i for i, c in enumerate(ch) if c != "A"]
        m = img.pixels[..., colour].mean(axis=2) if colour else img.pixels[..., 0]
    mask = m > 0.5
    if not mask.any():
        raise SpecError(where, f"mask '{path}' is empty (no pixel above 0.5)")
    return mask


def build_keyframes(job: RotoJob, frames: list[int], size: tuple[int, int]) -> dict[str, list[Keyframe]]:
    """Check prompts against the range and image, and merge them into one :class:`Keyframe` per object and frame."""
    w, h = size
    fset = set(frames)
    out: dict[str, list[Keyframe]] = {}
    for i, obj in enumerate(job.objects):
        by_frame: dict[int, Keyframe] = {}
        for j, pr in enumerate(obj.prompts):
            where = f"objects[{i}].prompts[{j}]"
            if pr.frame not in fset:
                raise SpecError(f"{where}.frame", f"object {obj.name!r}: prompt on frame {pr.frame}, outside the frames being processed ({format_frame_range(frames)})")
            kf = by_frame.setdefault(pr.frame, Keyframe(pr.frame))
            if pr.points:
                pts = np.asarray(pr.points, np.float32).reshape(-1, 3)
                bad = (pts[:, 0] < 0) | (pts[:, 0] > w) | (pts[:, 1] < 0) | (pts[:, 1] > h)
                if bad.any():
                    k = int(np.argmax(bad))
                    raise SpecError(f"{where}.points[{k}]", f"object {obj.name!r}: point ({pts[k, 0]:g}, {pts[k, 1]:g}) is outside the {w}x{h} image on frame {pr.frame}")
                kf.points = np.concatenate([kf.points, pts])
            if pr.box:
                x0, y0, x1, y1 = pr.box
                if x0 < 0 or y0 < 0 or x1 > w or y1 > h:
                    raise SpecError(f"{where}.box", f"object {obj.name!r}: box {list(pr.box)} is outside the {w}x{h} image on frame {pr.frame}")
                kf.box = pr.box
            if pr.mask:
                m = read_mask_prompt(resolve_path(job, pr.mask), size, f"{where}.mask")
                kf.mask = m if kf.mask is None else (kf.mask | m)
        out[obj.name] = sorted(by_frame.values(), key=lambda k: k.frame)
    return out


# ----------------------------------------------------------------------------------------------------------------
# Frames


def resolve_overlaps(logits: dict[str, np.ndarray], names: list[str], shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """Turn per-object logits into non-overlapping soft mattes.

    Each pixel goes to the object with the highest logit (if that logit is > 0 after the soft edge);
    the matte there is ``sigmoid(logit)``.

    Args:
        logits: object -> ``(H, W)`` float32 logits (missing objects are empty).
        names: every object, in channel order.
        shape: ``(H, W)``.

    Returns:
        object -> ``(H, W)`` float32 matte in 0..1.
    """
    present = [n for n in names if n in logits]
    out = {n: np.zeros(shape, np.float32) for n in names}
    if not present:
        return out
    stack = np.stack([logits[n] for n in present]).astype(np.float32, copy=False)
    if len(present) == 1:
        out[present[0]] = _sigmoid(stack[0])
        return out
    winner = np.argmax(stack, axis=0)
    best = np.take_along_axis(stack, winner[None], axis=0)[0]
    alpha = _sigmoid(best)
    for i, n in enumerate(present):
        out[n] = np.where(winner == i, alpha, 0.0).astype(np.float32)
    return out


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return (0.5 * (np.tanh(0.5 * np.clip(x, -60, 60)) + 1.0)).astype(np.float32)


class PendingFrames:
    """Holds frames whose objects arrive from several runs; spills them to disk so memory stays flat.

    Partial frames are stored as float16 ``.npz`` in a work folder beside the output, removed when complete.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.partial: dict[int, set[str]] = {}

    def _path(self, frame: int) -> Path:
        return self.folder / f"{frame}.npz"

    def add(self, fm: FrameMasks) -> dict[str, np.ndarray]:
        """Merge ``fm`` with what is held for its frame; returns all logits known for the frame so far."""
        merged = dict(fm.logits)
        if fm.frame in self.partial:
            with np.load(self._path(fm.frame)) as data:
                for k in data.files:
                    merged.setdefault(k, data[k].astype(np.float32))
        return merged

    def hold(self, frame: int, logits: dict[str, np.ndarray]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f"{frame}.tmp.npz"
        try:
            np.savez_compressed(tmp, **{k: v.astype(np.float16) for k, v in logits.items()})  # type: ignore[arg-type]
            os.replace(tmp, self._path(frame))
        except OSError as exc:  # a full disk: say which file, leave no half spill behind
            tmp.unlink(missing_ok=True)
            from ..io.atomic import describe_failure

            raise OutputError(describe_failure(tmp, exc)) from exc
        self.partial[frame] = set(logits)

    def release(self, frame: int) -> None:
        if self.partial.pop(frame, None) is not None:
            self._path(frame).unlink(missing_ok=True)

    def cleanup(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


# ----------------------------------------------------------------------------------------------------------------
# Running


def run(job: RotoJob, ctx: RunContext) -> JobResult:
    """Run a roto job. Resumable: frames already written by the same job are skipped."""
    from ..registry import load_backend

    t_start = time.perf_counter()
    job.validate()
    in_pattern = resolve_path(job, job.input)
    out_pattern = resolve_path(job, job.output)
    in_seq = FrameSequence.parse(in_pattern, what="input")
    frames = in_seq.resolve_frames(job.frames)
    color = job.color
    if color.ocio_config and "://" not in color.ocio_config:
        color = dataclasses.replace(color, ocio_config=resolve_path(job, color.ocio_config))
    source = SequenceSource(in_pattern, frames, color)
    check_sequence(source, frames)
    keyframes = build_keyframes(job, frames, source.size)
    names = [o.name for o in job.objects]

    job_hash = job.job_hash()
    overwrite = job.output_options.overwrite
    mattes = FrameOutputs(out_pattern, job_hash, overwrite=overwrite, what="output")
    contours_out = None
    if job.contours:
        contours_out = FrameOutputs(resolve_path(job, job.contours_pattern), job_hash, overwrite=overwrite, what="contours_output")
    done = mattes.prepare(frames)
    if contours_out is not None:
        done &= contours_out.prepare(frames)

    def load_done(frame: int) -> dict[str, np.ndarray]:
        ch = read_channels(mattes.path(frame), [f"{n}.A" for n in names], frame=frame)
        return {n: ch[f"{n}.A"] > 0.5 for n in names}

    request = RotoRequest(frames, names, keyframes, job.direction, frozenset(done), load_done)
    todo = [f for f in frames if f not in done]
    # Frames no object reaches (before every keyframe with direction=forward, after them with backward) are
    # written empty; the backend never yields them.
    unreached = [f for f in todo if not request.expected_objects(f)]
    w, h = source.size
    pending = PendingFrames(work_folder(mattes, job_hash))
    pending.cleanup()  # partial frames of a killed run are not trusted: their tracks rerun from the start
    written: set[int] = set()
    ctx.report("roto", 0, len(todo), message=f"{len(done)} frame(s) already done" if done else "")
    empty_frames: list[int] = []
    confidence: dict[int, dict[str, float]] = {}  # frame -> object -> 0..1
    areas: dict[int, dict[str, int]] = {}  # frame -> object -> matte pixels (>= 0.5)
    qc_pattern = qc_overlay_pattern(out_pattern) if job.qc else None
    backend_confidence: dict[int, dict[str, float]] = {}

    def write_frame(frame: int, logits: dict[str, np.ndarray]) -> None:
        mattes_f = resolve_overlaps(logits, names, (h, w))
        channels: dict[str, np.ndarray] = {f"{n}.A": mattes_f[n] for n in names}
        union = np.clip(sum(mattes_f.values()), 0.0, 1.0).astype(np.float32)
        channels["A"] = union
        if not (union >= 0.5).any():
            empty_frames.append(frame)
        given = backend_confidence.pop(frame, {})
        conf = {n: round(float(given[n]) if n in given else logit_confidence(logits[n]), 4) for n in names if n in logits}
        confidence[frame] = conf
        areas[frame] = {n: int(np.count_nonzero(mattes_f[n] >= 0.5)) for n in names if n in logits}
        meta: dict[str, Any] = {"inkpaint:objects": ",".join(names), "inkpaint:backend": job.backend,
                                "inkpaint:confidence": json.dumps(conf, sort_keys=True)}
        if qc_pattern is not None:
            # Before the EXR: a frame is done only once its EXR exists, so a rerun rewrites a QC frame it lacks.
            write_qc_frame(FrameSequence.parse(qc_pattern).path(frame), source.rgb(frame), [mattes_f[n] for n in names], names, frame, conf)
        if job.cryptomatte:
            from ..cryptomatte import cryptomatte_layer

            crypto_channels, crypto_meta = cryptomatte_layer(mattes_f, names)
            channels.update(crypto_channels)
            meta.update(crypto_meta)
        if contours_out is not None:
            from ..contours import write_contours

            write_contours(contours_out.path(frame), mattes_f, frame, (w, h), job.contour_tolerance, contours_out.metadata(frame))
        # The EXR goes last: a frame counts as done only once its mattes exist, so contours are never missing.
        # Every channel (Cryptomatte IDs too) is zero where no matte covers: store the bounding box of the rest.
        box = bounding_box(union > 0)
        window = Window.from_slices(box) if box is not None else Window(0, 0, 0, 0)
        crops = {k: v[window.slices] for k, v in channels.items()}
        write_window_exr(mattes.path(frame), crops, window, (w, h), job.output_options, metadata=mattes.metadata(frame, meta))
        written.add(frame)
        ctx.report("roto", len(written), len(todo), frame=frame)

    backend = None
    owned = ctx.backend_provider is None  # the worker lends its cached backends (models stay loaded between jobs)
    try:
        if len(unreached) < len(todo):
            if ctx.backend_provider is not None:
                backend = ctx.backend_provider(job.backend, dict(job.backend_options))
            else:
                backend = load_backend(job.backend).create_backend(dict(job.backend_options))
            def noted(stream: Iterator[FrameMasks]) -> Iterator[FrameMasks]:
                for fm in stream:  # a frame's objects may arrive from several runs: keep each one's confidence
                    if fm.confidence:
                        backend_confidence.setdefault(fm.frame, {}).update(fm.confidence)
                    yield fm

            for fm in _frames_to_write(noted(backend.track(source, request, ctx)), request, pending):
                ctx.check_cancel()
                if fm.frame in done or fm.frame in written or fm.frame not in source.frame_set:
                    continue
                write_frame(fm.frame, fm.logits)
        for f in unreached:
            ctx.check_cancel()
            if f not in written:
                write_frame(f, {})
    finally:
        if backend is not None and owned:
            backend.close()
        pending.cleanup()
    missing = [f for f in todo if f not in written]
    if missing:
        raise InkpaintError(
            f"backend {job.backend!r} produced no result for {len(missing)} frame(s) ({format_frame_range(missing)}); "
            "the frames written so far are kept and a rerun resumes"
        )
    if empty_frames:
        log.warning("%d frame(s) have empty mattes (%s)", len(empty_frames), format_frame_range(empty_frames))
    outputs = {"mattes": out_pattern}
    if contours_out is not None:
        outputs["contours"] = contours_out.pattern
    for f in sorted(done):  # resumed frames: their confidence is in their EXR header
        confidence[f] = read_confidence(mattes.path(f), f)
    report = confidence_report(confidence, names, frames)
    small = small_part_report(areas, names, frames, (w, h))
    summary: dict[str, Any] = {
        "objects": names, "backend": job.backend, "seconds": round(time.perf_counter() - t_start, 3),
        "empty_frames": format_frame_range(sorted(empty_frames)) if empty_frames else "",
        "frames": format_frame_range(frames), "written": format_frame_range(sorted(written)) if written else "",
        "skipped": format_frame_range(sorted(done)) if done else "",
        "confidence": report["objects"], "small_parts": small["objects"], "notes": report["notes"] + small["notes"],
    }
    for line in summary["notes"]:
        log.warning("%s", line)
    if qc_pattern is not None:
        outputs["qc"] = qc_pattern
    if job.contact_sheet:
        from ..jobs.paths import shot_name

        sheet = ContactSheet(f"roto {shot_name(in_pattern)}  {format_frame_range(frames)}  ({job.backend})", ["plate", "parts"])
        sheet.rows = roto_sheet_rows(source, out_pattern, names, frames, confidence)
        sheet.footer = ["parts in tint order: " + ", ".join(names)] + (summary["notes"][:6] or ["confidence: no low frames"])
        outputs["contact_sheet"] = sheet.write(contact_sheet_path(out_pattern))
    result = JobResult("roto", job_hash, outputs, frames, sorted(written), sorted(done), summary=summary)
    result.manifest = write_manifest(job, result, out_pattern)
    return result


# ----------------------------------------------------------------------------------------------------------------
# Confidence and QC

LOW_CONFIDENCE = 0.5
"""An object's frame below this confidence is reported as one where a correction keyframe would help."""

SMALL_PART_PX = 16
"""A part whose matte covers fewer pixels than this (at 854 px wide; scaled with the plate) is reported as lost."""


def logit_confidence(logit: np.ndarray) -> float:
    """Confidence of a backend that reports none (e.g. ``sam2``): how decided the logits are near the object.

    The mean of ``clip(|logit| / 4, 0, 1)`` over the object's bounding box grown by a quarter of its size: 1 when
    every pixel there is clearly in or out, lower where the edge is undecided. 0 for an empty object.

    Args:
        logit: ``(H, W)`` float logits, ``> 0`` inside.
    """
    box = bounding_box(logit > 0)
    if box is None:
        return 0.0
    ys, xs = box
    h, w = logit.shape
    gy, gx = (ys.stop - ys.start) // 4 + 1, (xs.stop - xs.start) // 4 + 1
    crop = logit[max(0, ys.start - gy) : min(h, ys.stop + gy), max(0, xs.start - gx) : min(w, xs.stop + gx)]
    return float(np.mean(np.clip(np.abs(crop) / 4.0, 0.0, 1.0)))


def read_confidence(path: str, frame: int) -> dict[str, float]:
    """The per-object confidence a roto frame stores in its EXR header (``inkpaint:confidence``; ``{}`` if none)."""
    try:
        raw = read_attributes(path, frame).get("inkpaint:confidence")
        data = json.loads(raw) if isinstance(raw, str) else {}
    except (FrameError, ValueError):
        return {}
    return {str(k): float(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _runs(frames: list[int], flagged: set[int]) -> list[list[int]]:
    """Flagged frames grouped into runs of neighbours in ``frames`` order."""
    runs: list[list[int]] = []
    prev = False
    for f in frames:
        if f in flagged:
            if prev:
                runs[-1].append(f)
            else:
                runs.append([f])
        prev = f in flagged
    return runs


def confidence_report(confidence: dict[int, dict[str, float]], names: list[str], frames: list[int],
                      threshold: float = LOW_CONFIDENCE) -> dict[str, Any]:
    """Summarise per-frame confidence: per object its mean, minimum and low frames, plus readable notes.

    Args:
        confidence: frame -> object -> 0..1 (objects missing on a frame were not tracked there).
        names: the objects.
        frames: the job's frames, in order.
        threshold: below this a frame is low.

    Returns:
        ``{"objects": {name: {"mean", "min", "low_frames"}}, "notes": ["fg: low confidence on frames 23-31 (lowest
        0.21 on 27: a correction keyframe there would help most)", ...]}``.
    """
    objects: dict[str, Any] = {}
    notes: list[str] = []
    for n in names:
        vals = {f: confidence[f][n] for f in frames if f in confidence and n in confidence[f]}
        if not vals:
            continue
        low = {f for f, v in vals.items() if v < threshold}
        objects[n] = {"mean": round(float(np.mean(list(vals.values()))), 3), "min": round(min(vals.values()), 3),
                      "low_frames": format_frame_range(sorted(low)) if low else ""}
        for run in _runs(frames, low):
            worst = min(run, key=lambda f: vals[f])
            span = format_frame_range(run)
            notes.append(f"{n}: low confidence on frame{'s' if len(run) > 1 else ''} {span} (lowest {vals[worst]:.2f} on "
                         f"{worst}: a correction keyframe there would help most)")
    return {"objects": objects, "notes": notes}


def small_part_report(areas: dict[int, dict[str, int]], names: list[str], frames: list[int], size: tuple[int, int] | None = None) -> dict[str, Any]:
    """Frames where a part that was visible shrinks below :data:`SMALL_PART_PX` pixels (it may have been lost).

    Args:
        areas: frame -> object -> matte pixels.
        names: the objects.
        frames: the job's frames, in order.
        size: ``(W, H)`` of the plate (scales the pixel threshold from 854 px wide); ``None``: unscaled.

    Returns:
        ``{"objects": {name: "40-45"}, "notes": ["shoe: below 16 px on frames 40-45 (lost or hidden? check)"]}``.
    """
    limit = SMALL_PART_PX * (max(size) / 854.0) ** 2 if size else SMALL_PART_PX
    objects: dict[str, str] = {}
    notes: list[str] = []
    for n in names:
        seen = [f for f in frames if f in areas and n in areas[f]]
        if not seen or max(areas[f][n] for f in seen) < limit:
            continue
        small = {f for f in seen if areas[f][n] < limit}
        if small:
            objects[n] = format_frame_range(sorted(small))
            notes.append(f"{n}: below {int(round(limit))} px on frames {objects[n]} (lost or hidden? check these frames)")
    return {"objects": objects, "notes": notes}


def _sidecar_base(pattern: str) -> str:
    """``roto/shot.####.exr`` -> ``roto/shot``; ``roto/####.exr`` -> ``roto/roto`` (the folder's name)."""
    seq = FrameSequence.parse(pattern)
    stem = os.path.basename(seq.prefix).rstrip("._-")
    if stem:
        return seq.prefix.rstrip("._-")
    folder = os.path.dirname(seq.prefix)
    return os.path.join(folder, os.path.basename(os.path.abspath(folder or ".")) or "roto")


def contact_sheet_path(pattern: str) -> str:
    """Where the roto contact sheet goes: ``roto/shot.####.exr`` -> ``roto/shot.contact.png``."""
    return _sidecar_base(pattern) + ".contact.png"


def qc_overlay_pattern(pattern: str) -> str:
    """The QC overlay sequence, with the mattes' padding: ``roto/shot.####.exr`` -> ``roto/shot.qc.####.png``."""
    seq = FrameSequence.parse(pattern)
    token = "#" * max(1, seq.padding) if seq.padding > 1 else "#"
    return f"{_sidecar_base(pattern)}.qc.{token}.png"


def _caption(img: np.ndarray, lines: list[str], colour: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> np.ndarray:
    """``img`` (float RGB 0..1) with text lines at its top left, outlined in black; returns a float32 copy."""
    import cv2

    out = np.ascontiguousarray(np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8))
    scale = max(0.4, img.shape[1] / 1400.0)
    y = int(22 * scale / 0.6)
    rgb = tuple(int(round(c * 255)) for c in colour)
    for line in lines:
        cv2.putText(out, line, (8, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(out, line, (8, y), cv2.FONT_HERSHEY_SIMPLEX, scale, rgb, 1, cv2.LINE_AA)
        y += int(26 * scale / 0.6)
    return out.astype(np.float32) / 255.0


def write_qc_frame(path: str, rgb: np.ndarray, mattes: list[np.ndarray], names: list[str], frame: int,
                   confidence: dict[str, float]) -> None:
    """One QC overlay frame (atomic PNG): parts tinted over the plate, frame number and per-object confidence.

    Args:
        path: the PNG to write.
        rgb: ``(H, W, 3)`` float display RGB 0..1.
        mattes: per object ``(H, W)`` float 0..1, in ``names`` order.
        names: the objects.
        frame: the frame number.
        confidence: object -> 0..1.
    """
    img = np.ascontiguousarray(tint_parts(np.clip(rgb, 0.0, 1.0), mattes))
    low = [n for n in names if confidence.get(n, 1.0) < LOW_CONFIDENCE]
    text = [f"frame {frame}"] + [f"{n} {confidence[n]:.2f}" + ("  LOW" if n in low else "") for n in names if n in confidence]
    write_png(path, _caption(img, text, (1.0, 0.35, 0.35) if low else (1.0, 1.0, 1.0)))


def roto_sheet_rows(source: Any, mattes_pattern: str, names: list[str], frames: list[int],
                    confidence: dict[int, dict[str, float]], count: int = 6, width: int = 480) -> list[SheetRow]:
    """Contact-sheet rows for a roto result: per frame the plate and the parts tinted over it.

    The frames are ``count`` spread over the shot plus up to two of the least confident low frames (so a problem
    is on the sheet even between the evenly spread ones). Rows of low-confidence frames are flagged with the
    objects and values. Shared with ``inkpaint cel`` (whose sheet shows the roto stage the same way).

    Args:
        source: the plate (anything with ``rgb(frame) -> (H, W, 3) float``).
        mattes_pattern: the roto EXR pattern (``<object>.A`` channels).
        names: the objects, in tint order.
        frames: the shot's frames.
        confidence: frame -> object -> 0..1.
        count: evenly spread frames.
        width: cells are reduced to this width before tinting (speed).

    Returns:
        rows with cells ``[plate, parts]`` and the frame number as label.
    """
    import cv2

    pick = set(pick_frames(frames, count))
    lows = sorted(((min(confidence.get(f, {}).values() or [1.0]), f) for f in frames if f not in pick))
    pick |= {f for v, f in lows[:2] if v < LOW_CONFIDENCE}
    seq = FrameSequence.parse(mattes_pattern)
    rows = []
    for f in sorted(pick):
        rgb = np.clip(np.asarray(source.rgb(f), np.float32)[..., :3], 0.0, 1.0)
        h, w = rgb.shape[:2]
        size = (width, max(1, int(round(h * width / w)))) if w > width else (w, h)
        try:
            ch = read_channels(seq.path(f), [f"{n}.A" for n in names], frame=f)
            mattes = [ch[f"{n}.A"] for n in names]
        except FrameError:
            mattes = [np.zeros((h, w), np.float32) for _ in names]
        small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        parts = tint_parts(small, [cv2.resize(np.asarray(m, np.float32), size, interpolation=cv2.INTER_AREA) for m in mattes])
        conf = confidence.get(f, {})
        low = [f"{n} {conf[n]:.2f}" for n in names if n in conf and conf[n] < LOW_CONFIDENCE]
        rows.append(SheetRow([small, parts], str(f), ("low confidence: " + ", ".join(low)) if low else None))
    return rows


def work_folder(outputs: FrameOutputs, job_hash: str) -> Path:
    """The folder where a running job spills partial frames: hidden, beside the mattes, named after the job.

    Raises:
        OutputError: the path is a symbolic link or not a folder: it is never followed (the job deletes files in
            its work folder, and must not delete them elsewhere).
    """
    folder = Path(outputs.seq.folder) / f".{Path(outputs.seq.prefix).name}inkpaint-work-{job_hash}"
    if folder.is_symlink() or (os.path.lexists(folder) and not folder.is_dir()):
        raise OutputError(f"the work folder '{folder}' is a symbolic link or not a folder; inkpaint does not follow "
                          "it (it deletes files in its work folder). Remove it and run again.")
    return folder


def _frames_to_write(stream: Iterator[FrameMasks], request: RotoRequest, pending: PendingFrames) -> Iterator[FrameMasks]:
    """Merge partial frames from several runs; yield each frame once, when all its expected objects are in.

    Frames already done (resume) or already yielded (the keyframe a backward run repeats) are dropped here, so
    they are never spilled to the work folder.
    """
    finished: set[int] = set(request.done)
    for fm in stream:
        if fm.frame in finished:
            continue
        expected = set(request.expected_objects(fm.frame))
        merged = pending.add(fm) if fm.frame in pending.partial else dict(fm.logits)
        if expected <= set(merged):
            pending.release(fm.frame)
            finished.add(fm.frame)
            yield FrameMasks(fm.frame, merged)
        else:
            pending.hold(fm.frame, merged)


# ----------------------------------------------------------------------------------------------------------------
# CLI


CLI_INPUT = [FieldOption("input", positional=True, path=True, help="plate pattern, e.g. 'plates/shot.####.exr'")]
CLI_OPTIONS = [
    FieldOption("qc", help="also write a per-frame QC overlay sequence (<prefix>.qc.####.png)"),
    FieldOption("contact_sheet", flag="--no-contact-sheet", field_dest=True, help="don't write the contact sheet <prefix>.contact.png"),
    FieldOption("frames", help="frame range, e.g. 1001-1100 or 1-99x2 (default: every frame on disk)"),
]
CLI_OUTLINE_OPTIONS = [
    FieldOption("contours", help="also write per-frame outline JSON for Roto/Mask shapes"),
    FieldOption("contour_tolerance", default_help="", help="outline simplification in pixels"),
    FieldOption("cryptomatte", help="also write a CryptoObject Cryptomatte layer"),
]
"""The ``inkpaint roto`` options taken from :class:`RotoJob`'s fields (see :mod:`inkpaint.ops.job_options`);
``--prompts``/``--objects``, ``--out``/``--out-dir`` (one of the two), the backend settings and the common options
are added around them."""


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("roto", help="track named objects through a plate and write per-object mattes")
    add_field_options(p, RotoJob, CLI_INPUT)
    p.add_argument("--prompts", required=True, help="prompts JSON file ({\"objects\": [...]})")
    p.add_argument("--out", help="matte EXR pattern, e.g. 'roto/shot.####.exr'")
    p.add_argument("--out-dir", help="folder for the mattes instead of --out: '<folder>/<shot>.<frame>.exr' with the "
                   "plate's shot name and frame padding ('shot/#####.jpg' -> '<folder>/shot.#####.exr')")
    add_field_options(p, RotoJob, CLI_OPTIONS)
    p.add_argument("--objects", help="comma-separated subset of the prompts file's objects to track (default: all)")
    add_backend_options(p)
    add_field_options(p, RotoJob, CLI_OUTLINE_OPTIONS)
    add_common_options(p)
    p.set_defaults(make_job=_job_from_args)


def output_in_folder(plate: str, folder: str) -> str:
    """The matte pattern for a plate in ``folder``: the plate's shot name and frame padding.

    ``shot/#####.jpg`` -> ``<folder>/shot.#####.exr``; ``plates/sh010.%04d.dpx`` -> ``<folder>/sh010.####.exr``.
    """
    from ..jobs.paths import shot_name

    seq = FrameSequence.parse(plate, what="input")
    token = "#" * seq.padding if seq.padding > 1 else "#"
    return os.path.join(folder, f"{shot_name(plate)}.{token}.exr")


def _job_from_args(args: argparse.Namespace) -> RotoJob:
    color, output = common_settings(args)
    if bool(args.out) == bool(args.out_dir):
        raise SpecError("--out", "give either --out (a matte pattern) or --out-dir (a folder), not both" if args.out else "give --out (a matte pattern) or --out-dir (a folder)")
    out = args.out or output_in_folder(os.path.abspath(args.input), os.path.abspath(args.out_dir))
    job = RotoJob(
        **job_kwargs(args, RotoJob, CLI_INPUT + CLI_OPTIONS + CLI_OUTLINE_OPTIONS),
        output=os.path.abspath(out),
        objects=load_prompts(args.prompts, split_names(args.objects, "--objects", "object names")),
        backend=args.backend,
        backend_options=backend_options_from_args(args),
        direction=args.direction,
        color=color,
        output_options=output,
    )
    job.validate()
    return job
