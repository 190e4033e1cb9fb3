"""The ``paint`` operation: paint-bucket colouring of a line-art sequence from keyframes (seed 002).

Per line frame: segments (:mod:`inkpaint.paint.segments`), keyframe colours (:mod:`inkpaint.paint.colours`) or
colours carried from the neighbouring painted frame (:mod:`inkpaint.paint.propagate`). Outputs per frame, beside
``output`` (``paint/####.png`` -> ``paint/0001.png`` ...):

- ``output``: RGBA fill, exact table colours, no anti-aliasing, background and unpainted segments transparent;
- ``lines_output`` (``####.lines.png``): the line layer (black lines; colour lines are painted, not kept);
- ``labels_output`` (``####.labels.png``): 16-bit segment ids (0 = line);
- ``segments_output`` (``####.segments.json``): segment -> colour, status, confidence, reference frame;
- ``qc_output`` (``####.qc.png``): fill over lines, unpainted segments magenta, low-confidence ones yellow;
- a run summary (``<prefix>.inkpaint.json`` manifest with per-frame counts, snaps, warnings).

Re-propagation: every frame carries a provenance hash of the settings, its source keyframe and the line frames on
the way from it. A rerun rewrites only frames whose provenance changed (adding a keyframe at k changes only the
frames it now reaches) and never touches files another job or program wrote (unless ``overwrite``).

CLI::

    inkpaint paint "line/####.png" --key 0=gt/0000.png --out "paint/####.png" [--palette colorbook.yml]
        [--direction forward|backward|nearest] [--click FRAME:X,Y=PART/TONE ...] [--max-gap 3] [--speck-size 8]
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import dataclasses
import functools
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable
from typing import Any, Optional

import numpy as np

from ..errors import FrameError, OutputExistsError, SpecError
from ..io.atomic import atomic_write_text, ensure_writable_dir
from ..io.frames import read_attributes, read_image, write_exr, write_png
from ..io.sequence import FrameSequence, format_frame_range
from ..palette import load_palette
from ..paint.colours import (BACKGROUND, ColourTable, KeyColours, colours_from_clicks, colours_from_image, colours_from_json,
                             rgba8)
from ..paint.propagate import (METHOD_KEY, METHOD_LINES, METHOD_NAMES, METHOD_NONE,
                               FrameColours, tiny_rule_agreement, tiny_rule_holds)
from ..paint.chain import DISAGREE_CONFIDENCE, KEY_RESIDUAL_MARGIN, KeyTrack, chained_colours, merge_by_residual  # noqa: F401
from ..paint.reference import ReferenceSet, merge_neighbour, parse_ref
from ..paint.shading import ToneModel, shade_from_lines
from ..paint.segments import LINE_BLACK, Segmentation, segment_lines
from ..progress import RunContext
from ..spec import resolve_path
from ..io.verify import frame_is_complete
from .base import JOB_HASH_KEY, JobResult, WriteQueue, frame_limit, lock_outputs, write_manifest
from .job_options import FieldOption, add_field_options, job_kwargs
from ..jobs.paint import PaintJob, PaintKey, PaintRef  # noqa: F401  (job classes live in inkpaint.jobs)

log = logging.getLogger("inkpaint.paint")

FRAME_RECORD_KEY = "inkpaint:paint_frame"
"""Header attribute of the main output: the frame's summary entry (counts, its warnings, and for a keyframe its
snap and tiny-segment figures) as JSON, so a rerun that finds the frame complete builds the run summary without
recomputing it."""

LOW_CONFIDENCE = 0.75
"""Painted segments under this confidence are highlighted (yellow) in the QC overlay."""


JOB = PaintJob


# ------------------------------------------------------------------------------------------------------------------
# reading


def read_segments(path: str, frame: int, job: PaintJob) -> tuple[Segmentation, str | None]:
    """Segment one line frame. Returns the segmentation and a warning for blank frames (all white / all ink)."""
    img = read_image(path, frame=frame)
    seg = segment_lines(img.pixels, img.channels, threshold=job.line_threshold, max_gap=job.max_gap, speck_size=job.speck_size)
    ink = seg.lines.ink
    warn = None
    if ink.all():
        warn = f"frame {frame} '{path}': the line art is all ink (all black or opaque): no segments; written empty"
    elif not ink.any():
        warn = f"frame {frame} '{path}': the line art has no lines (all white or transparent); written empty"
    return seg, warn


def _read_key_rgba(path: str, frame: int) -> np.ndarray:
    img = read_image(path, frame=frame)
    return rgba8(img.pixels, img.channels)


def _file_sig(path: str | None) -> str:
    if not path:
        return ""
    try:
        st = os.stat(path)
        return f"{os.path.abspath(path)}:{st.st_size}:{st.st_mtime_ns}"
    except OSError:
        return f"{path}:missing"


# ------------------------------------------------------------------------------------------------------------------
# planning


def paint_spans(frames: list[int], keys: list[int], direction: str) -> list[list[int]]:
    """The job's frames grouped by the keyframe that paints them, in frame order: each group is independent of the
    others and can run as its own farm task (``inkpaint run job.json --frames <group>``).

    A frame is painted only along the chain from its source key (:func:`plan_sources`), so a group needs nothing
    from the frames of another group; the one thing keys share is the colour table (without a palette it grows with
    each keyframe's colours), and :func:`run` rebuilds it by reading every earlier keyframe (one segmentation each)
    before it paints a group. Frames no keyframe reaches join the neighbouring group (they are written unpainted).

    Returns:
        Frame lists, one per keyframe (a single list with one keyframe), each sorted.
    """
    sources = plan_sources(frames, keys, direction)
    groups: dict[int, list[int]] = {}
    loose: list[int] = []
    for f in sorted(frames):
        src = sources[f]
        if src is None:
            loose.append(f)
        else:
            groups.setdefault(src, []).append(f)
    if not groups:
        return [sorted(frames)] if frames else []
    ordered = [groups[k] for k in sorted(groups)]
    for f in loose:  # before the first key (forward) or after the last (backward): the nearest group
        target = ordered[0] if f < ordered[0][0] else ordered[-1]
        target.append(f)
    return [sorted(g) for g in ordered]


def plan_sources(frames: list[int], keys: list[int], direction: str) -> dict[int, int | None]:
    """The keyframe each frame is painted from (``None`` = no keyframe reaches it)."""
    ks = sorted(keys)
    out: dict[int, int | None] = {}
    for f in frames:
        before = [k for k in ks if k <= f]
        after = [k for k in ks if k >= f]
        prev = before[-1] if before else None
        nxt = after[0] if after else None
        if direction == "forward":
            out[f] = prev
        elif direction == "backward":
            out[f] = nxt
        else:
            if prev is None:
                out[f] = nxt
            elif nxt is None:
                out[f] = prev
            else:
                out[f] = prev if (f - prev) <= (nxt - f) else nxt
    return out


# ------------------------------------------------------------------------------------------------------------------
# writing


def _fill_rgba(seg: Segmentation, colours: FrameColours, table: ColourTable) -> np.ndarray:
    idx = colours.pixel_index(seg) if seg.n else np.full(seg.shape, -1, np.int32)
    rgba = np.zeros(seg.shape + (4,), np.uint8)
    painted = idx > BACKGROUND
    rgba[..., :3] = table.rgb[np.clip(idx, 0, None)]
    rgba[..., 3] = np.where(painted, 255, 0)
    rgba[~painted, :3] = 0
    return rgba


def _merge_key_vote(chained: FrameColours, from_key: FrameColours, margin: float = KEY_RESIDUAL_MARGIN) -> FrameColours:
    """Per segment, the better of the chain's vote (from the previous frame) and the keyframe's own vote.

    A chain only carries what it was sure of, so a segment unpainted on frame f stays unpainted on every later frame,
    and a limb the flow lost between two frames stays wrong downstream. The keyframe's own vote is taken where the
    chain left the segment unpainted or where that flow explains the segment's line art better by ``margin`` px of
    :func:`~inkpaint.paint.propagate.flow_residual`; disagreements are capped at :data:`DISAGREE_CONFIDENCE` for QC
    (:func:`inkpaint.paint.chain.merge_by_residual`; the chain also votes the keyframe through composed flow there).
    synth_dev chained: fill only 0.795 Acc / 0.983 Pix-Acc, with the residual rule (margin 0.25) 0.816 / 0.985.

    Returns:
        The merged colours; taken segments get status ``painted_second_pass``.
    """
    return merge_by_residual(chained, from_key, margin)


def _line_layer(seg: Segmentation) -> np.ndarray:
    lines = seg.lines
    black = lines.ink & (lines.kind == LINE_BLACK)
    # anti-aliased fringe pixels under the threshold stay in the line layer (soft edge); colour lines are painted
    soft = (~lines.ink) & (lines.strength > 0)
    keep = black | soft
    rgba = np.zeros(seg.shape + (4,), np.uint8)
    rgba[..., :3] = np.clip(np.rint(lines.color * 255), 0, 255).astype(np.uint8)
    rgba[..., 3] = np.where(keep, np.clip(np.rint(lines.strength * 255), 0, 255), 0).astype(np.uint8)
    return rgba


def _over(fg: np.ndarray, bg: np.ndarray) -> np.ndarray:
    a = fg[..., 3:4].astype(np.float32) / 255.0
    ba = bg[..., 3:4].astype(np.float32) / 255.0
    out_a = a + ba * (1 - a)
    rgb = (fg[..., :3] * a + bg[..., :3] * ba * (1 - a)) / np.maximum(out_a, 1e-6)
    return np.dstack([np.clip(np.rint(rgb), 0, 255), np.clip(np.rint(out_a * 255), 0, 255)]).astype(np.uint8)


def _qc(seg: Segmentation, colours: FrameColours, fill: np.ndarray, lines: np.ndarray) -> np.ndarray:
    base = np.full(seg.shape + (3,), 255, np.uint8)
    a = fill[..., 3:4].astype(np.float32) / 255
    base = (fill[..., :3] * a + base * (1 - a)).astype(np.uint8)
    if seg.n:
        unp = np.zeros(seg.n + 1, bool)
        unp[1:] = colours.index[1:] < 0
        low = _low_confidence(colours)
        low[0] = False
        h, w = seg.shape
        yy, xx = np.mgrid[0:h, 0:w]
        stripes = ((xx + yy) // 4) % 2 == 0
        m_unp = unp[seg.fill]
        base[m_unp & stripes] = (255, 0, 255)
        base[m_unp & ~stripes] = (255, 255, 255)
        m_low = low[seg.fill]
        base[m_low] = (0.5 * base[m_low] + 0.5 * np.array([255, 230, 0])).astype(np.uint8)
    la = lines[..., 3:4].astype(np.float32) / 255
    return (lines[..., :3] * la + base * (1 - la)).astype(np.uint8)


def _srgb_to_linear(x: np.ndarray) -> np.ndarray:
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4).astype(np.float32)


# ------------------------------------------------------------------------------------------------------------------
# running


def _frame_record(attrs: dict[str, Any]) -> dict[str, Any] | None:
    """The summary record a complete frame's header carries (:data:`FRAME_RECORD_KEY`), ``None`` if it has none."""
    text = attrs.get(FRAME_RECORD_KEY)
    if not isinstance(text, str):
        return None
    try:
        rec = json.loads(text)
    except ValueError:
        return None
    return rec if isinstance(rec, dict) and isinstance(rec.get("counts"), dict) else None


def _low_confidence(colours: FrameColours) -> np.ndarray:
    """Per segment (index 0 unused): painted by propagation with a confidence under the QC mark."""
    return (colours.index > BACKGROUND) & (colours.confidence < LOW_CONFIDENCE) & (colours.method != METHOD_KEY)


@dataclasses.dataclass
class PaintPlan:
    """What a paint run works from, resolved once: sequences, frames, keyframes, colour table, method, provenance.

    Attributes:
        job: the job.
        out_pattern: the main output's pattern, resolved against the spec's folder.
        in_seq, out_seq: line-art input and main (fill) output sequences.
        side: side-output sequences (``lines``, ``labels``, ``segments``, ``qc``; ``None`` = off).
        frames: the job's line frames, in order.
        keys: keyframe number -> its :class:`PaintKey`.
        sources: frame -> the keyframe that paints it (:func:`plan_sources`; ``None`` = none reaches it).
        table: the colour table (grows with keyframe colours when there is no palette).
        tones: shadow/highlight tones of the palette's parts (``None`` with ``line_shading`` 0).
        method: the propagation method selected (:func:`inkpaint.paint.matcher.select_method`).
        provenance: frame -> its provenance hash (16 hex digits).
    """

    job: PaintJob
    out_pattern: str
    in_seq: FrameSequence
    out_seq: FrameSequence
    side: dict[str, FrameSequence | None]
    frames: list[int]
    keys: dict[int, PaintKey]
    sources: dict[int, int | None]
    table: ColourTable
    tones: ToneModel | None
    method: Any
    provenance: dict[int, str]
    refs: ReferenceSet | None = None

    @classmethod
    def create(cls, job: PaintJob) -> "PaintPlan":
        """Resolve the job's paths, check its keyframes are line frames, build the table and the provenance.

        Raises:
            SpecError: a keyframe that is not a line frame (``keys[i].frame``), a bad pattern.
        """
        in_pattern = resolve_path(job, job.input)
        in_seq = FrameSequence.parse(in_pattern, what="input")
        out_pattern = resolve_path(job, job.output)
        out_seq = FrameSequence.parse(out_pattern, what="output")
        frames = in_seq.resolve_frames(job.frames)
        frame_set = set(frames)
        for i, pk in enumerate(job.keys):
            if pk.frame not in frame_set:
                raise SpecError(f"keys[{i}].frame", f"keyframe {pk.frame} is not a line frame of '{in_pattern}' "
                                f"(line frames: {format_frame_range(frames)})")
        palette = load_palette(resolve_path(job, job.palette)) if job.palette else None
        table = ColourTable.create(palette)
        tones = ToneModel.from_table(table) if job.line_shading > 0 else None
        from ..paint.matcher import select_method  # numpy-only import; torch loads only for the learned method

        method = select_method(job.method)
        (log.warning if method.fallback else log.info)("paint: %s", method.why)
        side = {name: (FrameSequence.parse(resolve_path(job, p), what=f"{name}_output") if (p := job.side_pattern(name)) else None)
                for name in ("lines", "labels", "segments", "qc")}
        keys = {k.frame: k for k in job.keys}
        sources = plan_sources(frames, list(keys), job.direction)
        refs = ReferenceSet.load([(resolve_path(job, r.image), resolve_path(job, r.line) if r.line else None) for r in job.refs],
                                 table, threshold=job.line_threshold, max_gap=job.max_gap, speck_size=job.speck_size,
                                 tiny=job.tiny_segments) if job.refs else None
        provenance = provenance_hashes(job, in_seq, frames, keys, sources, method)
        return cls(job, out_pattern, in_seq, out_seq, side, frames, keys, sources, table, tones, method, provenance, refs)


def provenance_hashes(job: PaintJob, in_seq: FrameSequence, frames: list[int], keys: dict[int, PaintKey],
                      sources: dict[int, int | None], method: Any) -> dict[int, str]:
    """Per frame: a hash of the settings, its source keyframe (content signature) and the line frames from it."""
    settings = {k: v for k, v in job.to_dict().items() if k not in ("keys", "frames", "output_options")}
    settings["palette_sig"] = _file_sig(resolve_path(job, job.palette)) if job.palette else ""
    settings["method"] = method.used  # auto resolves per machine; the frames record what painted them
    if job.refs:
        settings["ref_sigs"] = [[_file_sig(resolve_path(job, r.image)), _file_sig(resolve_path(job, r.line) if r.line else None)]
                                for r in job.refs]
    if method.matcher is not None:
        settings["matcher_sha256"] = method.matcher.record.get("sha256", "")
    set_hash = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
    key_sig = {}
    for f, pk in keys.items():
        body = dataclasses.asdict(pk)
        body["image_sig"] = _file_sig(resolve_path(job, pk.image)) if pk.image else ""
        body["json_sig"] = _file_sig(resolve_path(job, pk.segments_json)) if pk.segments_json else ""
        key_sig[f] = json.dumps(body, sort_keys=True)
    line_sig = {f: _file_sig(in_seq.path(f)) for f in frames}
    provenance: dict[int, str] = {}
    for f in frames:
        src = sources[f]
        chain = [g for g in frames if src is not None and min(src, f) <= g <= max(src, f)]
        if src is None and job.refs:  # painted from the references along the frames before it (reference chain)
            chain = [g for g in frames if (g >= f if job.direction == "backward" else g <= f)]
        payload = json.dumps([set_hash, src, key_sig.get(src, "") if src is not None else "", [line_sig[g] for g in chain]])
        provenance[f] = hashlib.sha256(payload.encode()).hexdigest()[:16]
    return provenance


def output_state(plan: PaintPlan, scope: list[int]) -> tuple[set[int], dict[int, dict[str, Any]]]:
    """Which frames of ``scope`` to write, and the summary records of the complete ones.

    A frame is complete when its main output exists, carries its current provenance, decodes, carries a summary
    record and its side outputs exist. A frame an earlier paint run of this output wrote (other provenance) is
    rewritten.

    Raises:
        OutputExistsError: frames not written by a paint job into this output exist (unless ``overwrite``).
    """
    job, out_seq = plan.job, plan.out_seq
    out_abs = os.path.abspath(plan.out_pattern)
    todo: set[int] = set()
    foreign: list[int] = []
    records: dict[int, dict[str, Any]] = {}
    for f in scope:
        p = out_seq.path(f)
        if not os.path.exists(p):
            todo.add(f)
            continue
        try:
            attrs = read_attributes(p, f)
        except Exception:
            attrs = {}
        if attrs.get(JOB_HASH_KEY) == plan.provenance[f] and all(s is None or os.path.exists(s.path(f)) for s in plan.side.values()):
            check = frame_is_complete(p)
            record = _frame_record(attrs)
            if check and record is not None:
                records[f] = record
                continue
            if check:
                log.info("frame %d '%s' carries no summary record (written before it was kept): rewriting it", f, p)
                todo.add(f)
                continue
            log.warning("frame %d '%s' was written by this job but is incomplete (%s): rewriting it", f, p, check.reason)
            todo.add(f)
            continue
        if attrs.get("inkpaint:paint_output") == out_abs or job.output_options.overwrite:
            todo.add(f)  # an earlier paint run of this shot: re-propagation rewrites it
        else:
            foreign.append(f)
    if foreign:
        raise OutputExistsError(
            f"{len(foreign)} existing output frame(s) were not written by a paint job into '{plan.out_pattern}' "
            f"(first: '{out_seq.path(foreign[0])}', frames {format_frame_range(foreign)}). Choose another output "
            "path or pass --overwrite.")
    return todo, records


class FrameNotes:
    """Per frame: its warnings, and for a keyframe its palette-snap and tiny-segment figures (summary material)."""

    def __init__(self) -> None:
        self.by_frame: dict[int, dict[str, Any]] = {}

    def of(self, f: int) -> dict[str, Any]:
        return self.by_frame.setdefault(f, {"warnings": []})

    def warn(self, f: int, msg: str) -> None:
        log.warning(msg)
        self.of(f)["warnings"].append(msg)


def key_colours(plan: PaintPlan, f: int, seg: Segmentation, notes: FrameNotes) -> FrameColours:
    """Keyframe ``f``'s colours per segment: its image (snapped to the table), then its clicks and segment JSON,
    then (with a palette) shadow/highlight across colour lines from clicked segments.

    Raises:
        FrameError: the key image's size differs from the line art, a click or JSON entry is bad.
    """
    job, table, tones = plan.job, plan.table, plan.tones
    k = plan.keys[f]
    idx = np.full(seg.n + 1, -1, np.int32)
    if k.image:
        path = resolve_path(job, k.image)
        rgba = _read_key_rgba(path, f)
        if rgba.shape[:2] != seg.shape:
            raise FrameError(f"keyframe image is {rgba.shape[1]}x{rgba.shape[0]} but the line art "
                             f"'{plan.in_seq.path(f)}' is {seg.shape[1]}x{seg.shape[0]}", frame=f, path=path)
        kc = colours_from_image(seg, rgba, table)
        idx = np.where(kc.index >= 0, kc.index, idx)
        far = kc.distance > 0
        if far.any():
            ids = np.flatnonzero(far)
            worst = int(ids[np.argmax(kc.distance[ids])])
            notes.warn(f, f"keyframe {f} '{path}': {len(ids)} segment(s) have colours not in the palette, snapped to the "
                          f"nearest entry (largest distance {kc.distance[worst]:.1f} in 8-bit RGB, segment {worst} -> "
                          f"{table.names[kc.index[worst]]})")
            notes.of(f)["snapped"] = {"frame": f, "segments": len(ids), "max_distance": round(float(kc.distance[worst]), 2),
                                      "mean_distance": round(float(kc.distance[ids].mean()), 2)}
    for where, fn in (("clicks", k.clicks), ("segments_json", k.segments_json)):
        if not fn:
            continue
        try:
            if where == "clicks":
                kc2: KeyColours = colours_from_clicks(seg, [(c[0], c[1], c[2]) for c in k.clicks or []], table,
                                                      f"keys[frame {f}].clicks")
            else:
                kc2 = colours_from_json(seg, resolve_path(job, k.segments_json or ""), table)
        except ValueError as exc:
            raise FrameError(str(exc), frame=f) from None
        idx = np.where(kc2.index >= 0, kc2.index, idx)
    if tones is not None and (k.clicks or k.segments_json) and (idx[1:] < 0).any():
        # regions across blue/red lines from painted ones take the part's shadow/highlight (design sheet)
        shaded = shade_from_lines(seg, idx, tones)
        derived = (idx < 0) & (shaded >= 0)
        idx = shaded
        conf = np.where(idx >= 0, 1.0, 0.0).astype(np.float32)
        method = np.where(derived, METHOD_LINES, np.where(idx >= 0, METHOD_KEY, METHOD_NONE)).astype(np.uint8)
        return FrameColours(idx.astype(np.int32), conf, method)
    conf = np.where(idx >= 0, 1.0, 0.0).astype(np.float32)
    method = np.where(idx >= 0, METHOD_KEY, METHOD_NONE).astype(np.uint8)
    return FrameColours(idx.astype(np.int32), conf, method)


class SegmentSource:
    """Line frames segmented on demand; a blank frame's warning is noted once."""

    def __init__(self, plan: PaintPlan, notes: FrameNotes) -> None:
        self.plan = plan
        self.notes = notes
        self.warned: set[int] = set()

    def __call__(self, f: int) -> Segmentation:
        seg, warn = read_segments(self.plan.in_seq.path(f), f, self.plan.job)
        if warn and f not in self.warned:
            self.warned.add(f)
            self.notes.warn(f, warn)
        return seg

    @staticmethod
    def blank(seg: Segmentation) -> bool:
        return not seg.lines.ink.any() or seg.n == 0

    @staticmethod
    def empty_colours(seg: Segmentation) -> FrameColours:
        return FrameColours(np.full(seg.n + 1, -1, np.int32), np.zeros(seg.n + 1, np.float32), np.zeros(seg.n + 1, np.uint8))


def frame_counts(seg: Segmentation, colours: FrameColours, ref: int | None, src: int | None) -> dict[str, Any]:
    """A frame's summary entry: segments, source key, reference frame, segments per method, background, low confidence."""
    counts = {name: int(((colours.method[1:] == m) & (colours.index[1:] != BACKGROUND if m != METHOD_NONE else True)).sum())
              for m, name in METHOD_NAMES.items()}
    counts["background"] = int((colours.index[1:] == BACKGROUND).sum())
    counts["low_confidence"] = int(_low_confidence(colours)[1:].sum()) if seg.n else 0
    return {"segments": int(seg.n), "source_key": src, "reference": ref, **counts}


def write_frame(plan: PaintPlan, f: int, seg: Segmentation, colours: FrameColours, ref: int | None, src: int | None,
                record: dict[str, Any]) -> None:
    """Write one frame's side outputs, then its main output (last: its provenance marks the frame complete; its
    :data:`FRAME_RECORD_KEY` keeps the frame's summary ``record``)."""
    job, side, table, in_seq, out_seq = plan.job, plan.side, plan.table, plan.in_seq, plan.out_seq
    meta = {JOB_HASH_KEY: plan.provenance[f], "inkpaint:frame": int(f), "inkpaint:paint_output": os.path.abspath(plan.out_pattern),
            "inkpaint:paint_source_key": -1 if src is None else int(src)}
    fill = _fill_rgba(seg, colours, table)
    lines = _line_layer(seg)
    main = _over(lines, fill) if job.composite_lines else fill
    if side["labels"] is not None:
        if seg.n > 65535:
            raise FrameError(f"{seg.n} segments do not fit a 16-bit label map", frame=f, path=in_seq.path(f))
        write_png(side["labels"].path(f), seg.labels.astype(np.uint16), metadata=meta)
    if side["lines"] is not None:
        write_png(side["lines"].path(f), lines, metadata=meta)
    if side["qc"] is not None:
        write_png(side["qc"].path(f), _qc(seg, colours, fill, lines), metadata=meta)
    if side["segments"] is not None:
        segs = []
        for i in range(1, seg.n + 1):
            c = int(colours.index[i])
            status = "background" if c == BACKGROUND else METHOD_NAMES[int(colours.method[i])]
            segs.append({"id": i, "area": int(seg.area[i]),
                         "centroid": [round(float(seg.centroid[i, 0]), 1), round(float(seg.centroid[i, 1]), 1)],
                         "status": status, "name": table.names[c] if c >= 0 else None,
                         "color": [int(v) for v in table.rgb[c]] if c > BACKGROUND else None,
                         "confidence": round(float(colours.confidence[i]), 3),
                         "flow_residual": None if colours.residual is None else round(float(colours.residual[i]), 3)})
        body = {"job_hash": plan.provenance[f], "frame": f, "line": in_seq.path(f), "source_key": src,
                "reference": ref, "segments": segs}
        atomic_write_text(side["segments"].path(f), json.dumps(body, indent=1) + "\n")
    meta = {**meta, FRAME_RECORD_KEY: json.dumps(record, sort_keys=True, separators=(",", ":"))}
    if out_seq.suffix.lower().endswith(".exr"):
        lin = _srgb_to_linear(main[..., :3].astype(np.float32) / 255)
        a = main[..., 3].astype(np.float32) / 255
        write_exr(out_seq.path(f), {"R": lin[..., 0] * a, "G": lin[..., 1] * a, "B": lin[..., 2] * a, "A": a},
                  metadata=meta, compression=job.output_options.compression, dtype="float")
    else:
        write_png(out_seq.path(f), main, metadata=meta)


Emit = Callable[[int, Segmentation, FrameColours, Optional[int], Optional[int]], None]
"""``emit(frame, seg, colours, reference frame, source key)``."""


def propagate(plan: PaintPlan, todo: set[int], notes: FrameNotes, emit: Emit, ctx: RunContext) -> None:
    """Colour the frames to write: from each keyframe forward and/or backward over the frames it serves.

    Only chains that reach a frame in ``todo`` are propagated, and only up to their last such frame; every keyframe
    up to the last one needed is read in order (without a palette the colour table grows with each keyframe's
    colours, and later chains vote over it), so a span paints exactly what a whole run paints. ``emit(frame, seg,
    colours, reference, source_key)`` receives each coloured frame in order (also chain frames not to write).

    Raises:
        FrameError: a blank keyframe, bad key colours.
    """
    job, table, frames, sources = plan.job, plan.table, plan.frames, plan.sources
    seg_of = SegmentSource(plan, notes)
    needed_keys = sorted({s for f in todo if (s := sources[f]) is not None})
    flows = cf.ThreadPoolExecutor(1, thread_name_prefix="inkpaint-paint-flow")
    try:
        for k in sorted(plan.keys):
            if not needed_keys or k > needed_keys[-1]:
                break
            ctx.check_cancel()
            kseg = seg_of(k)
            if seg_of.blank(kseg):
                raise FrameError("the keyframe's line art is blank (all white or all ink); it cannot carry colours",
                                 frame=k, path=plan.in_seq.path(k))
            kcol = key_colours(plan, k, kseg, notes)
            agree, evidence = tiny_rule_agreement(kseg, kcol, job.tiny_segments, same_rgb=table.rgb_ids())  # the table grows with keys
            use_tiny = tiny_rule_holds(agree, evidence)
            notes.of(k)["tiny_segments"] = {"agreement": round(agree, 3), "segments": evidence, "used": bool(use_tiny)}
            if k not in needed_keys:
                continue  # read for the colour table only
            if k in todo:
                emit(k, kseg, kcol, None, k)
            for step in (1, -1):
                served = [f for f in (frames if step == 1 else frames[::-1]) if sources[f] == k and f != k and (f - k) * step > 0]
                last = max((i for i, f in enumerate(served) if f in todo), default=-1)
                served = served[: last + 1]  # nothing after the chain's last frame to write
                ref_seg, ref_col, ref_f = kseg, kcol, k
                track = KeyTrack()
                for f in served:
                    seg = seg_of(f)
                    if seg_of.blank(seg):
                        emit(f, seg, seg_of.empty_colours(seg), None, k)
                        continue
                    vote = functools.partial(plan.method.vote_function(table.rgb), target=seg, n_colours=len(table),
                                             confidence=job.confidence, tones=plan.tones, line_strength=job.line_shading,
                                             tiny=job.tiny_segments if use_tiny else 0)
                    # chained: the neighbour's vote, the keyframe's direct vote (its flow in the other thread) and
                    # the keyframe's vote through the chain's composed flow (paint/chain.py); where they disagree,
                    # the keyframe's segment graph picks (paint/structure.py)
                    from_key = flows.submit(vote, kseg, kcol) if ref_f != k else None
                    col = chained_colours(vote, seg, ref_seg, ref_col, kseg, kcol, track,
                                          from_key.result if from_key is not None else None,
                                          n_colours=len(table), tiny=job.tiny_segments if use_tiny else 0)
                    if plan.refs is not None:
                        col = merge_neighbour(col, plan.refs.vote(seg, table, vote, plan.tones, job.tiny_segments if use_tiny else 0)[0])
                    emit(f, seg, col, ref_f, k)
                    ref_seg, ref_col, ref_f = seg, col, f
        loose = [f for f in frames if sources[f] is None]
        if plan.refs is not None:
            reference_chain(plan, loose, todo, seg_of, emit, ctx)
        for f in loose:
            if plan.refs is None and f in todo:
                seg = seg_of(f)
                emit(f, seg, seg_of.empty_colours(seg), None, None)
    finally:
        flows.shutdown(wait=True, cancel_futures=True)


def reference_chain(plan: PaintPlan, loose: list[int], todo: set[int], seg_of: SegmentSource, emit: Emit,
                    ctx: RunContext) -> None:
    """Reference mode for the frames no keyframe reaches (:mod:`inkpaint.paint.reference`): in the job's direction
    (``backward``: last frame first), each frame from the references and from the frame painted before it."""
    job, table = plan.job, plan.table
    assert plan.refs is not None
    order = loose[::-1] if job.direction == "backward" else loose
    last = max((i for i, f in enumerate(order) if f in todo), default=-1)
    tiny = job.tiny_segments if plan.refs.tiny_rule_holds() else 0
    prev: tuple[Segmentation, FrameColours] | None = None
    prev_f: int | None = None
    for f in order[: last + 1]:
        ctx.check_cancel()
        seg = seg_of(f)
        if seg_of.blank(seg):
            emit(f, seg, seg_of.empty_colours(seg), None, None)
            prev, prev_f = None, None
            continue
        vote = functools.partial(plan.method.vote_function(table.rgb), target=seg, n_colours=len(table),
                                 confidence=job.confidence, tones=plan.tones, line_strength=job.line_shading, tiny=tiny)
        col = plan.refs.colour(seg, table, vote, prev, plan.tones, tiny)
        emit(f, seg, col, prev_f, None)
        prev, prev_f = (seg, col), f


def build_summary(plan: PaintPlan, scope: list[int], todo: set[int], per_frame: dict[int, dict[str, Any]],
                  records: dict[int, dict[str, Any]], notes: FrameNotes, painted: int, seconds: float) -> dict[str, Any]:
    """The run summary over ``scope``: frames painted now from what was computed, complete ones from their records."""
    job, sources = plan.job, plan.sources
    per_frame = dict(per_frame)
    by_frame = dict(notes.by_frame)
    for f in scope:
        if f not in todo:
            rec = records[f]
            per_frame[f] = rec["counts"]
            by_frame[f] = {k: v for k, v in rec.items() if k not in ("counts", "colours")}
    colours = max([len(plan.table)] + [int(records[f].get("colours", 0)) for f in records])
    warnings = [w for f in scope for w in by_frame.get(f, {}).get("warnings", [])]
    unreached = [f for f in scope if sources[f] is None and plan.refs is None]
    if plan.refs is not None:
        warnings.extend(plan.refs.warnings())
    if unreached:
        msg = f"no keyframe reaches frame(s) {format_frame_range(unreached)} with direction {job.direction!r}; written unpainted"
        log.warning(msg)
        warnings.append(msg)
    unpainted_total = sum(per_frame[f]["unpainted"] for f in scope)
    if unpainted_total:
        log.warning("%d segment(s) left unpainted (no confident match); see the QC overlays", unpainted_total)
    return {
        "seconds": round(seconds, 3),
        "method": plan.method.used,
        "method_reason": plan.method.why,
        "keyframes": sorted(plan.keys),
        "colours": colours,
        "unpainted_segments": unpainted_total,
        "frames_with_unpainted": [f for f in scope if per_frame[f]["unpainted"] > 0],
        "low_confidence_segments": sum(per_frame[f]["low_confidence"] for f in scope),
        "tiny_segments": {str(f): by_frame[f]["tiny_segments"] for f in scope if "tiny_segments" in by_frame.get(f, {})},
        "snapped": [by_frame[f]["snapped"] for f in scope if "snapped" in by_frame.get(f, {})],
        "references": plan.refs.summary() if plan.refs is not None else [],
        "warnings": warnings,
        "propagated_frames": painted,
        "per_frame": {str(f): per_frame[f] for f in scope},
        "provenance": {str(f): plan.provenance[f] for f in scope},
    }


def run(job: PaintJob, ctx: RunContext) -> JobResult:
    """Run a paint job (resumable; only frames whose provenance changed are written, only their chains computed)."""
    t0 = time.perf_counter()
    job.validate()
    plan = PaintPlan.create(job)
    ensure_writable_dir(plan.out_seq.folder)
    for s in plan.side.values():
        if s is not None:
            ensure_writable_dir(s.folder)
    lock_outputs(plan.out_pattern, job.job_hash(), what="output")  # no other job writes this sequence meanwhile
    limit = frame_limit()  # a farm task paints whole spans (inkpaint run job.json --frames A-B); the rest isn't ours
    scope = [f for f in plan.frames if limit is None or f in limit]
    todo, records = output_state(plan, scope)

    notes = FrameNotes()
    per_frame: dict[int, dict[str, Any]] = {}
    written: list[int] = []
    painted: list[int] = []
    ctx.report("paint", 0, len(todo), message=f"{len(scope) - len(todo)} frame(s) already done" if len(todo) < len(scope) else "")
    if not todo:
        log.info("paint: every frame is complete with this job's provenance; nothing to propagate")

    def counted(f: int) -> None:
        if f in todo:
            written.append(f)
            ctx.report("paint", len(written), len(todo), frame=f)

    # frames are written by one writer thread while the next frame is coloured; at most two wait, so memory stays flat
    writer = cf.ThreadPoolExecutor(1, thread_name_prefix="inkpaint-paint-write")
    writes = WriteQueue(2, counted)

    def emit(f: int, seg: Segmentation, colours: FrameColours, ref: int | None, src: int | None) -> None:
        ctx.check_cancel()
        per_frame[f] = frame_counts(seg, colours, ref, src)
        record = {"counts": per_frame[f], "colours": len(plan.table), **notes.by_frame.get(f, {})}
        painted.append(f)
        writes.add(f, [writer.submit(write_frame, plan, f, seg, colours, ref, src, record)] if f in todo else [])

    try:
        propagate(plan, todo, notes, emit, ctx)
        writes.finish()
    except BaseException:
        writes.settle()  # frames handed to the writer finish (each file is whole or absent)
        raise
    finally:
        writer.shutdown(wait=True)
    summary = build_summary(plan, scope, todo, per_frame, records, notes, len(painted), time.perf_counter() - t0)
    outputs = {"fill": plan.out_pattern, **{n: s.pattern for n, s in plan.side.items() if s is not None}}
    result = JobResult(job.TYPE, job.job_hash(), outputs, plan.frames, sorted(written),
                       [f for f in plan.frames if f not in todo], summary=summary)
    result.manifest = write_manifest(job, result, plan.out_pattern)
    return result


# ------------------------------------------------------------------------------------------------------------------
# CLI


CLI_INPUT = [
    FieldOption("input", positional=True, path=True, help="line-art pattern, e.g. 'line/####.png'"),
    FieldOption("output", flag="--out", path=True, help="RGBA fill pattern, e.g. 'paint/####.png' (or .exr)"),
]
CLI_OPTIONS = [
    FieldOption("palette", path=True, help="colour design sheet (inkpaint YAML or BasicPBC colorbook.yml)"),
    FieldOption("direction"),
    FieldOption("frames", help="frame range (default: every line frame on disk)"),
    FieldOption("max_gap", default_help="0 = off", help="close line gaps up to this many px"),
    FieldOption("speck_size", default_help="0 = off", help="merge segments up to this many px"),
    FieldOption("line_threshold", help="ink threshold 0..1"),
    FieldOption("confidence", help="leave segments under this vote share unpainted"),
    FieldOption("line_shading", help="with --palette: weight of the blue/red colour-line rule (shadow/highlight); 0 = off"),
    FieldOption("tiny_segments", help="segments up to this many px follow the segment at their corner where the keyframe "
                                      "shows that holds for this line art; 0 = off"),
    FieldOption("method", help="learned inclusion matcher (needs torch + shipped weights), classic flow voting, or auto "
                               "(learned when available, else classic; the log says which and why)"),
    FieldOption("composite_lines", help="draw the line layer over the fill in --out"),
]
"""The ``inkpaint paint`` options taken from :class:`PaintJob`'s fields (see :mod:`inkpaint.ops.job_options`); the
keyframes (``--key``, ``--click``), ``--no-qc`` and the common options are added around them."""


def add_cli(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from .cli_options import add_common_options

    p = sub.add_parser("paint", help="paint-bucket a line-art sequence from keyframes (segments + propagation)")
    add_field_options(p, PaintJob, CLI_INPUT)
    p.add_argument("--key", action="append", default=[], metavar="FRAME=FILE",
                   help="keyframe colours: a painted image, or a .json segment->colour file (repeatable)")
    p.add_argument("--click", action="append", default=[], metavar="FRAME:X,Y=COLOUR",
                   help="paint click: segment under pixel X,Y of FRAME takes COLOUR (palette index, part/tone, part, #rrggbb)")
    p.add_argument("--ref", action="append", default=[], metavar="REF_IMAGE[=REF_LINE]",
                   help="reference mode: a coloured reference of the character in any pose (design-sheet view or painted "
                        "frame) and optionally its line art (else derived from dark pixels and colour edges); every frame "
                        "takes colours from the references and its painted neighbour (repeatable: views combine)")
    add_field_options(p, PaintJob, CLI_OPTIONS)
    p.add_argument("--no-qc", action="store_true", help="don't write QC overlays")
    add_common_options(p)
    p.set_defaults(make_job=_job_from_args)


def _job_from_args(args: argparse.Namespace) -> PaintJob:
    from .cli_options import common_settings

    _, output = common_settings(args)
    keys: dict[int, PaintKey] = {}
    for text in args.key:
        frame_s, sep, path = text.partition("=")
        try:
            frame = int(frame_s)
        except ValueError:
            frame = None
        if not sep or frame is None or not path:
            raise SpecError("--key", f"expected FRAME=FILE (e.g. 0=gt/0000.png), got {text!r}")
        k = keys.setdefault(frame, PaintKey(frame))
        if path.lower().endswith(".json"):
            k.segments_json = os.path.abspath(path)
        else:
            k.image = os.path.abspath(path)
    for text in args.click:
        try:
            head, _, colour = text.partition("=")
            frame_s, _, xy = head.partition(":")
            x_s, _, y_s = xy.partition(",")
            frame, x, y = int(frame_s), float(x_s), float(y_s)
            if not colour:
                raise ValueError
        except ValueError:
            raise SpecError("--click", f"expected FRAME:X,Y=COLOUR (e.g. 1:120,80=skin/normal), got {text!r}") from None
        k = keys.setdefault(frame, PaintKey(frame))
        k.clicks = (k.clicks or []) + [[x, y, int(colour) if colour.isdigit() else colour]]
    job = PaintJob(
        **job_kwargs(args, PaintJob, CLI_INPUT + CLI_OPTIONS),
        keys=[keys[f] for f in sorted(keys)],
        refs=[PaintRef(os.path.abspath(i), os.path.abspath(li) if li else None) for i, li in map(parse_ref, args.ref)],
        qc_output="" if args.no_qc else None,
        output_options=output,
    )
    job.validate()
    return job
