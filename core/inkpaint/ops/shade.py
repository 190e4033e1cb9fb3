"""The shade operation: tone regions per part, fitted once per shot.

Writes one EXR per frame with a ``tone`` channel: 0 outside every part, 1 base, 2 shadow, 3 highlight, 4 second
shadow. The per-part thresholds are fitted once on sampled frames (or the user's keyframes) and applied to every
frame (see :mod:`inkpaint.cel.tones`), and saved beside the output as ``<prefix>tonemodel.json`` so a rerun, a
retake or another shot can reuse them (``model``).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import contextlib
import json
import logging
import os
import time
from typing import Any

import numpy as np

from ..cel.labels import bounding_box
from ..cel.tones import PartTones, ToneHistograms, ToneModel, ToneStats, assign_tones, fit_tone_model, lab_planes, sample_frames, smooth_radius
from ..errors import SpecError
from ..io.atomic import atomic_write_text
from ..io.frames import Window, image_size, paste, read_image, to_rgb
from ..io.sequence import FrameSequence, parse_frame_range
from ..progress import RunContext
from ..spec import ColorSettings, resolve_path
from .base import FrameOutputs, JobResult, frame_limit, prefetch, run_frames, write_manifest, write_window_exr
from .sources import MatteSource, PartLabels
from .job_options import FieldOption, add_field_options, job_kwargs
from .cli_options import add_common_options, common_settings
from ..jobs.shade import ShadeJob, check_tone_settings  # noqa: F401  (job class lives in inkpaint.jobs)

log = logging.getLogger("inkpaint.shade")

JOB = ShadeJob


def model_path(pattern: str) -> str:
    """Where the fitted tone model lives: ``tone/shot.####.exr`` -> ``tone/shot.tonemodel.json``."""
    seq = FrameSequence.parse(pattern)
    base = seq.prefix.rstrip("._-") or os.path.join(seq.prefix, "frames")
    return base + ".tonemodel.json"


class PlateSource:
    """Colour-managed plate frames checked against the mattes' resolution."""

    def __init__(self, pattern: str, color: ColorSettings, mattes: MatteSource) -> None:
        self.seq = FrameSequence.parse(pattern, what="input")
        self.color = color
        self.mattes = mattes

    def path(self, frame: int) -> str:
        return self.seq.path(frame)

    def check(self, frame: int) -> None:
        """Raise a :class:`FrameError` naming both files when plate and mattes differ in resolution."""
        self.mattes.check_size(image_size(self.path(frame), frame), "plate", self.path(frame), frame)

    def rgb(self, frame: int, window: Window | None = None) -> np.ndarray:
        """Display RGB of ``frame`` (``window`` of it, or the whole frame), ``(h, w, 3)`` float32 in 0..1.

        Only the scanlines of ``window`` are decoded and colour-converted.
        """
        path = self.path(frame)
        img = read_image(path, frame=frame, window=window, keep_half=True)
        self.mattes.check_size(img.frame_size, "plate", path, frame)
        return to_rgb(img, self.color, frame)


SHADE_MARGIN = 1
"""Pixels around the parts' bounding box that shade works on: one row/column of outside, so part boundaries on
the box's edge are boundaries (tones come out the same as on the whole frame)."""


def shade_frame(parts: PartLabels, rgb: np.ndarray, model: ToneModel, tables: dict[str, np.ndarray]) -> np.ndarray:
    """Tone codes of one frame inside ``parts.window``, ``(h, w)`` uint8 (``rgb`` is that window of the plate)."""
    lstar, chroma = frame_lab(rgb, parts.labels, chroma=model.has_materials)
    return assign_tones(parts.labels, lstar, model, tables, chroma)


def frame_lightness(rgb: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """L* of ``rgb`` inside the bounding box of the parts (0 elsewhere), ``(H, W)`` float32."""
    return frame_lab(rgb, labels, chroma=False)[0]


def frame_lab(rgb: np.ndarray, labels: np.ndarray, chroma: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """L* and chroma codes (:func:`inkpaint.cel.tones.lab_planes`) of ``rgb`` inside the bounding box of the parts
    (0 elsewhere): ``(H, W)`` float32 and ``(H, W)`` uint16 (``None`` unless ``chroma``)."""
    out = np.zeros(labels.shape, np.float32)
    code = np.zeros(labels.shape, np.uint16) if chroma else None
    box = bounding_box(labels > 0)
    if box is not None:
        out[box], c = lab_planes(rgb[box], chroma)
        if code is not None and c is not None:
            code[box] = c
    return out, code


FIT_CACHE_BYTES = 256 * 2**20
"""The fit keeps the part labels, L* and chroma codes of the frames it read (up to this many bytes) for the frame
pass, which then reads neither the plate nor the mattes of those frames again (:meth:`ShadeStage.lab_from_fit`)."""

FitCache = dict[int, tuple[PartLabels, np.ndarray, "np.ndarray | None"]]


def fit_shot(job: Any, plate: PlateSource, mattes: MatteSource, frames: list[int], ctx: RunContext, keep: FitCache | None = None) -> ToneModel:
    """Fit the shot's tone model on the job's keyframes or sampled frames (shared by shade and cel).

    ``keep``: filled with the fitted frames' part labels, L* and chroma codes (frames with parts, up to
    :data:`FIT_CACHE_BYTES`)."""
    if job.fit_frames:
        fit_on = parse_frame_range(job.fit_frames)
        outside = [f for f in fit_on if f not in set(frames)]
        if outside:
            raise SpecError("fit_frames", f"frame(s) {outside[:10]} are outside the range {frames[0]}-{frames[-1]}")
    else:
        fit_on = sample_frames(frames, job.fit_samples)
    hists = ToneHistograms(len(mattes.names), smooth_radius(mattes.size[1], getattr(job, "smoothing", 1.0)))

    def lightness_of(f: int) -> tuple[PartLabels, tuple[np.ndarray, np.ndarray | None]]:
        parts = mattes.part_labels(f)
        rgb = plate.rgb(f, parts.window) if not parts.empty else np.zeros((0, 0, 3), np.float32)
        return parts, frame_lab(rgb, parts.labels)

    # two frames read at once (the EXR codecs release the GIL), at most two ahead, so memory stays flat
    with cf.ThreadPoolExecutor(2, thread_name_prefix="inkpaint-fit") as pool, \
            contextlib.closing(prefetch(pool, lightness_of, fit_on, 2)) as fitted:
        used = 0
        for i, (f, (parts, (lstar, chroma))) in enumerate(fitted):
            ctx.check_cancel()
            hists.add(parts.labels, lstar, f, chroma)
            size = parts.labels.nbytes + lstar.nbytes + (chroma.nbytes if chroma is not None else 0)
            if keep is not None and not parts.empty and used + size <= FIT_CACHE_BYTES:
                keep[f] = (parts, lstar, chroma)
                used += size
            ctx.report("fit tones", i + 1, len(fit_on), frame=f)
    if not hists.counts[1:].any():
        log.warning("shade: the mattes are empty on every fitted frame (%s); every part is fitted as all base", fit_on)
    return fit_tone_model(
        hists, mattes.names, job.tones, overrides=job.parts, shadow=getattr(job, "shadow", None), hysteresis=job.hysteresis,
        min_region=job.min_region, highlight_sigma=job.highlight_sigma, smoothing=getattr(job, "smoothing", 1.0),
    )


def load_model(path: str, names: list[str], job: Any) -> ToneModel:
    """Read a tone-model JSON and check it covers the mattes' parts."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        model = ToneModel.from_dict(data.get("model", data))
    except OSError as exc:
        raise SpecError("model", f"cannot read tone model '{path}': {exc.strerror or exc}") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise SpecError("model", f"'{path}' is not a tone model: {exc}") from exc
    by_name = {p.name: p for p in model.parts}
    missing = [n for n in names if n not in by_name]
    if missing:
        raise SpecError("model", f"tone model '{path}' has no part(s) {', '.join(missing)}; it has {', '.join(by_name)}")
    model.parts = [by_name[n] for n in names]
    model.hysteresis, model.min_region = job.hysteresis, job.min_region
    return model


def stored_model(path: str, job_hash: str, names: list[str], job: Any) -> ToneModel | None:
    """The tone model at ``path`` if this same job (``job_hash``) fitted it, else ``None`` (missing, another job's,
    unreadable: fit again). The fit is deterministic and the JSON round-trips floats exactly, so a reused model
    shades exactly like a fresh fit; farm render chunks rely on it to fit once per shot."""
    try:
        with open(path, encoding="utf-8") as fh:
            if json.load(fh).get("job_hash") != job_hash:
                return None
        return load_model(path, names, job)
    except (OSError, ValueError, AttributeError, SpecError):
        return None


def _no_nan(o: Any) -> Any:
    if isinstance(o, float) and o != o:
        return None
    if isinstance(o, dict):
        return {k: _no_nan(v) for k, v in o.items()}
    if isinstance(o, list):
        return [_no_nan(v) for v in o]
    return o


def save_model(model: ToneModel, path: str, job_hash: str, shot: dict[str, Any] | None = None) -> None:
    """Write the tone model JSON (thresholds in L*, fitted shares 0..1); ``shot``: what the frames got (per-part
    ``threshold_l`` and ``share`` as in the result's ``summary["tones"]``), added once frames are shaded."""
    data: dict[str, Any] = {"job_hash": job_hash, "model": model.to_dict()}
    if shot is not None:
        data["shot"] = shot
    atomic_write_text(path, json.dumps(_no_nan(data), indent=2) + "\n")


class ShadeStage:
    """A shade job set up to shade frames: inputs checked, outputs prepared, the shot's tone model fitted or loaded.

    :func:`run` drives it from files; the cel job drives it with the part labels it already read, so both write the
    same frames.
    """

    def __init__(self, job: ShadeJob, ctx: RunContext) -> None:
        self.t0 = time.perf_counter()
        job.validate()
        self.job = job
        in_pattern = resolve_path(job, job.input)
        self.frames = FrameSequence.parse(in_pattern, what="input").resolve_frames(job.frames)
        mattes_pattern = resolve_path(job, job.mattes)
        FrameSequence.parse(mattes_pattern, what="mattes").resolve_frames(self.frames)
        self.mattes = MatteSource(mattes_pattern, self.frames, what="mattes")
        unknown = [n for n in job.parts if n not in self.mattes.names]
        if unknown:
            raise SpecError("parts", f"--part names {', '.join(repr(n) for n in unknown)}, which the mattes don't have; they have {', '.join(self.mattes.names)}")
        self.plate = PlateSource(in_pattern, job.resolve_color(job.color), self.mattes)
        self.plate.check(self.frames[0])
        self.out_pattern = resolve_path(job, job.output)
        self.job_hash = job.job_hash()
        self.out = FrameOutputs(self.out_pattern, self.job_hash, overwrite=job.output_options.overwrite, what="output")
        self.done = self.out.prepare(self.frames)
        self.todo = [f for f in self.frames if f not in self.done]
        self.model_path = model_path(self.out_pattern)
        self.fit_cache: FitCache = {}
        self.learned = None
        model: ToneModel | None
        if job.method == "learned":  # the tonal U-Net (issue 15): torch is imported here only, nothing is fitted
            from ..cel.tonal_model import LearnedTones

            self.learned = LearnedTones(self.mattes.names, job.tones, {n: ov.tones for n, ov in job.parts.items() if ov.tones}, self.plate)
            model = None
        elif job.model:
            model = load_model(resolve_path(job, job.model), self.mattes.names, job)
        elif (stored := stored_model(self.model_path, self.job_hash, self.mattes.names, job)) is not None:
            model = stored  # fitted by an earlier run of this same job (a farm "fit" task): the same model
        else:
            model = fit_shot(job, self.plate, self.mattes, self.frames, ctx, keep=self.fit_cache)
            todo = set(self.todo)
            self.fit_cache = {f: v for f, v in self.fit_cache.items() if f in todo}
        if model is not None:
            save_model(model, self.model_path, self.job_hash)
        self.model = model
        self.tables = model.tables() if model is not None else {}
        self.written: list[int] = []
        self.empty: list[int] = []
        self.stats = ToneStats(len(self.mattes.names))
        self.warnings: list[str] = []

    def lab_from_fit(self, frame: int, margin: int) -> tuple[PartLabels, tuple[np.ndarray, np.ndarray | None]] | None:
        """The part labels, L* and chroma codes the fit read for ``frame``, re-framed onto the parts' bounding box
        grown by ``margin`` (what ``mattes.part_labels(frame, margin)`` gives); handed out once, then forgotten.
        ``None`` when the fit did not keep the frame."""
        hit = self.fit_cache.pop(frame, None)
        if hit is None:
            return None
        parts, lstar, chroma = hit
        window = parts.window.grow(margin, parts.size)
        grown = PartLabels(parts.within(window), window, parts.size)
        return grown, (paste(lstar, parts.window, window), None if chroma is None else paste(chroma, parts.window, window))

    def tones(self, frame: int, parts: PartLabels, rgb: np.ndarray | None = None, lab: tuple[np.ndarray, np.ndarray | None] | None = None) -> np.ndarray:
        """Tone codes of ``frame`` on ``parts.window`` (``rgb``: that window of the plate; read when ``None``;
        ``lab``: its L* and chroma codes instead, as :meth:`lab_from_fit` gives them)."""
        if parts.empty:
            tone = np.zeros((0, 0), np.uint8)
        elif lab is not None and self.model is not None and self.learned is None:
            tone = assign_tones(parts.labels, lab[0], self.model, self.tables, lab[1])
        else:
            rgb = self.plate.rgb(frame, parts.window) if rgb is None else rgb
            if self.learned is not None:
                tone = self.learned.frame(frame, parts, rgb)
            else:
                tone = shade_frame(parts, rgb, self.model, self.tables)  # type: ignore[arg-type]
        self.stats.add(frame, parts.labels, tone)
        return tone

    def write(self, frame: int, parts: PartLabels, tone: np.ndarray) -> None:
        """Write ``frame``'s tone codes (on ``parts.window``)."""
        if parts.empty:
            self.empty.append(frame)
        meta = self.out.metadata(frame, {"inkpaint:parts": ",".join(self.mattes.names), "inkpaint:tones": self.job.tones})
        channels = {"tone": tone.astype(np.float16)}
        if self.learned is not None:  # the five tonal classes (docs/metrics.md codes) beside the tone codes
            channels["tonal"] = self.learned.pop_tonal(frame, tone.shape).astype(np.float16)
            meta = {**meta, "inkpaint:tone_method": "learned", "inkpaint:tonal_weights": self.learned.weights_sha256}
        write_window_exr(self.out.path(frame), channels, parts.window, self.mattes.size, self.job.output_options, metadata=meta)
        self.written.append(frame)

    def finish_report(self) -> tuple[dict[str, Any], list[str]]:
        """Per-part figures and warnings of this run (logged once), and the tone model file updated with the
        shares the frames got (see :mod:`inkpaint.ops.tone_qc`)."""
        from . import tone_qc

        figures = tone_qc.part_figures(self.model, self.stats, self.mattes.names)
        if not self.warnings:
            self.warnings = tone_qc.report(tone_qc.tone_warnings(self.model, self.stats, self.mattes.names))
        if self.model is not None and self.stats.frames and frame_limit() is None:  # a farm chunk's frames aren't the shot's
            save_model(self.model, self.model_path, self.job_hash, shot={"frames": len(self.stats.frames), "parts": figures})
        return figures, self.warnings

    def contact_sheet(self, figures: dict[str, Any], cel_path: Any = None, palette: Any = None, path: str | None = None) -> str | None:
        """Write the contact sheet (``<prefix>.contact.png`` beside the tone model unless ``path``); ``None`` when
        no frame has been written. A failure to draw it is logged, never fatal: the frames are done."""
        from . import tone_qc

        if not (self.written or self.done):
            return None
        out = path or self.model_path.replace(".tonemodel.json", ".contact.png")
        title = f"inkpaint {'cel' if cel_path is not None else 'shade'}: {os.path.basename(self.out_pattern)} ({self.job.tones} tones)"
        flags = {f: "parts missing" for f in set().union(*[set(m) for m in self.stats.missing.values()])} if self.stats.frames else {}
        try:
            return tone_qc.write_tone_sheet(
                out, title, self.frames, self.plate, self.mattes, self.out.path, cel_path=cel_path, palette=palette, flags=flags,
                footer=tone_qc.sheet_footer(figures, self.warnings, self.model),
            )
        except Exception as exc:  # noqa: BLE001 - a QC picture must not fail a finished job
            log.warning("contact sheet not written (%s: %s)", type(exc).__name__, exc)
            return None

    def result(self) -> JobResult:
        if self.empty:
            log.warning("shade: %d frame(s) have empty mattes and got empty tone frames (first: frame %d)", len(self.empty), self.empty[0])
        figures, warnings = self.finish_report()
        sheet = self.contact_sheet(figures) if getattr(self.job, "contact_sheet", False) and frame_limit() is None else None
        model = self.model
        result = JobResult(
            "shade", self.job_hash, {"tone": self.out_pattern, "model": self.model_path, **({"contact_sheet": sheet} if sheet else {})},
            self.frames, sorted(self.written), sorted(self.done),
            summary={
                "parts": self.mattes.names,
                "method": self.job.method,
                "fitted_on": model.fitted_on if model is not None else [],
                "thresholds": {p.name: {"shadow": round(p.shadow, 2), "single_mode": p.single_mode, "pooled": p.pooled} for p in model.parts} if model is not None else {},
                "tones": figures,
                "warnings": warnings,
                "contact_sheet": sheet,
                "empty_frames": self.empty,
                "seconds": round(time.perf_counter() - self.t0, 3),
            },
        )
        result.manifest = write_manifest(self.job, result, self.out_pattern)
        return result


def run(job: ShadeJob, ctx: RunContext) -> JobResult:
    """Run a shade job. Resumable: frames already written by the same job are skipped; the model is refitted
    deterministically (same frames, same histograms) or reloaded from its JSON."""
    stage = ShadeStage(job, ctx)

    def shade_one(f: int) -> None:
        hit = stage.lab_from_fit(f, SHADE_MARGIN)  # a fitted frame: labels and L* already read
        parts = hit[0] if hit is not None else stage.mattes.part_labels(f, SHADE_MARGIN)
        stage.write(f, parts, stage.tones(f, parts, lab=hit[1] if hit is not None else None))

    run_frames(ctx, "shade", stage.todo, stage.done, stage.written, shade_one)
    return stage.result()


PART_KEYS = "shadow=S (share of the part in shadow over the shot, 0..1), threshold_l=L (L*, 0..100), tones=2|3|4"


def parse_part_overrides(items: list[str] | None) -> dict[str, PartTones]:
    """``["skin:shadow=0.3", "hair:tones=3,threshold_l=35"]`` -> ``{"skin": PartTones(shadow=0.3), ...}``.

    ``bias=X`` (the old hidden L* offset) is still accepted. Errors name ``--part`` and the value.
    """
    out: dict[str, PartTones] = {}
    for item in items or []:
        name, sep, rest = item.partition(":")
        if not sep or not name.strip():
            raise SpecError("--part", f"{item!r}: use PART:{PART_KEYS}")
        ov = PartTones()
        for kv in rest.split(","):
            if not kv.strip():
                continue
            key, eq, val = kv.partition("=")
            key = key.strip()
            try:
                if not eq:
                    raise ValueError
                if key == "tones":
                    ov.tones = int(val)
                    bad = ov.tones not in (2, 3, 4)
                elif key == "shadow":
                    ov.shadow = float(val)
                    bad = not 0.0 <= ov.shadow <= 1.0
                elif key in ("threshold_l", "threshold"):
                    ov.threshold_l = float(val)
                    bad = not 0.0 <= ov.threshold_l <= 100.0
                elif key == "bias":
                    ov.bias = float(val)
                    bad = False
                else:
                    raise ValueError
            except ValueError:
                raise SpecError("--part", f"{item!r}: bad setting {kv.strip()!r}; use {PART_KEYS}") from None
            if bad:
                raise SpecError("--part", f"{item!r}: {kv.strip()!r} is out of range; use {PART_KEYS}")
        out[name.strip()] = ov
    return out


TONE_OPTIONS = [
    FieldOption("tones", help="2 base/shadow, 3 + highlight, 4 + second shadow"),
    FieldOption("fit_frames", help="frames to fit the tone model on (keyframes, e.g. 1001,1050); default: sampled"),
    FieldOption("fit_samples", help="frames sampled for the fit"),
    FieldOption("shadow", metavar="S", help="target shadow share (0..1) for every part without its own --part ...:shadow"),
    FieldOption("smoothing", default_help="", help="smoothing of the lightness within each part before thresholding: 0 off, "
                "1 default (radius = frame height / 240 px), 2 twice that"),
    FieldOption("hysteresis", help=argparse.SUPPRESS),  # unused, kept for old scripts
    FieldOption("min_region", default_help="24; regions under 1%% of their part go too", help="smallest tone region kept, pixels"),
    FieldOption("contact_sheet", flag="--no-contact-sheet", field_dest=True, help="don't write the contact sheet PNG"),
    FieldOption("method", default_help="", help="classic: thresholds fitted once per shot (default); learned: the shipped tonal "
                "U-Net, also writes a 'tonal' channel (5 classes; needs torch)"),
]
"""The tone options ``shade`` and ``cel`` share (types and defaults from :class:`ShadeJob`'s fields; ``--part`` is
parsed by :func:`parse_part_overrides`)."""


def add_tone_options(p: argparse.ArgumentParser) -> None:
    """Tone options shared by ``shade`` and ``cel``."""
    add_field_options(p, ShadeJob, TONE_OPTIONS[:3])
    p.add_argument("--part", action="append", metavar="PART:shadow=S|threshold_l=L|tones=N",
                   help="per-part control (repeatable): shadow=0.3 puts 30%% of the part in shadow over the shot; threshold_l=45 "
                        "makes everything darker than L* 45 shadow; tones=2|3|4. Default: fitted (two lightness modes: "
                        "2-means; one mode: its darker tail)")
    add_field_options(p, ShadeJob, TONE_OPTIONS[3:])


def tone_settings_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The job fields :func:`add_tone_options` sets (``tones`` ... ``min_region``), for ``ShadeJob`` and ``CelJob``."""
    return {**job_kwargs(args, ShadeJob, TONE_OPTIONS), "parts": parse_part_overrides(args.part)}


CLI_OPTIONS = [
    FieldOption("input", positional=True, path=True, help="plate pattern, e.g. 'plates/shot.####.exr'"),
    FieldOption("mattes", path=True, help="matte EXR pattern from roto"),
    FieldOption("output", flag="--out", path=True, help="tone EXR pattern (channel 'tone')"),
    FieldOption("model", path=True, help="apply this tone-model JSON (from an earlier shade run) instead of fitting"),
    FieldOption("frames", help="frame range (default: every plate frame on disk)"),
]
"""The ``inkpaint shade`` options before the tone options (see :mod:`inkpaint.ops.job_options`)."""


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("shade", help="split each part into base/shadow/highlight tones (fitted once per shot)")
    add_field_options(p, ShadeJob, CLI_OPTIONS)
    add_tone_options(p)
    add_common_options(p)
    p.set_defaults(make_job=_job_from_args)


def _job_from_args(args: argparse.Namespace) -> ShadeJob:
    color, output = common_settings(args)
    job = ShadeJob(**job_kwargs(args, ShadeJob, CLI_OPTIONS), **tone_settings_from_args(args), color=color, output_options=output)
    job.validate()
    return job


__all__ = ["ShadeJob", "ShadeStage", "JOB", "run", "add_cli", "PlateSource", "fit_shot", "model_path", "frame_lightness", "frame_lab", "shade_frame", "SHADE_MARGIN", "parse_part_overrides", "tone_settings_from_args"]

