"""Tone scores on synth_dev, as ``../shared/docs/metrics.md`` (Tones) defines them.

- **Accuracy / IoU**: per-pixel accuracy and per-class IoU of predicted tone classes against ``tone/NNNN.png``
  inside the character mask (``label > 0``). A 2-tone method is scored with GT classes {2, 3} merged into shadow
  and 4 merged into material; inkpaint's codes map the same way (2 and 4 -> shadow, 1 and 3 -> base).
- **Flicker**: the fraction of in-mask pixels (character in both frames) whose tone changes between consecutive
  frames, among those whose plate pixel changed by less than 2/255 (all channels).
- Per clip over all its frames, then the mean over clips.

The ground-truth *parts* are the mattes (``parts/NNNN.png`` categories, one ``<category>.A`` channel each), written
as a roto-style EXR sequence by :func:`write_synth_mattes`; the shade job then runs on the real files.

CLI::

    inkpaint eval shade --data ../shared/data/synth_dev [--tones 2] [--baseline] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import FrameError, SpecError
from ..io.frames import read_image, write_exr
from ..palette import part_name

# ----------------------------------------------------------------------------------------------------------------
# synth_dev access


@dataclasses.dataclass
class SynthClip:
    """One synth_dev clip in memory.

    Attributes:
        name: clip folder name.
        plate: ``(F, H, W, 3)`` uint8 sRGB.
        parts: ``(F, H, W)`` uint8 part categories (0 background).
        label: ``(F, H, W)`` int32 part-instance ids (0 background).
        tone: ``(F, H, W)`` uint8 GT tone classes (0 bg, 1 material, 2 attached, 3 cast, 4 highlight).
        meta: ``meta.json``.
        vocabulary: category id -> name (``parts.json``).
    """

    name: str
    plate: np.ndarray
    parts: np.ndarray
    label: np.ndarray
    tone: np.ndarray
    meta: dict[str, Any]
    vocabulary: dict[int, str]
    path: Path

    @property
    def frames(self) -> list[int]:
        return list(range(len(self.plate)))


def _imread(path: Path, flags: int = cv2.IMREAD_UNCHANGED) -> np.ndarray:
    img = cv2.imread(str(path), flags)
    if img is None:
        raise FrameError("cannot read image", path=str(path))
    return img


def load_synth_clip(clip_dir: str | os.PathLike[str]) -> SynthClip:
    """Read a synth_dev clip (plate, parts, label, tone, meta).

    Raises:
        FrameError: a frame is missing or unreadable.
    """
    d = Path(clip_dir)
    n = len(sorted((d / "plate").glob("*.png")))
    if n == 0:
        raise FrameError(f"no plate frames in '{d / 'plate'}'")
    plate = np.stack([cv2.cvtColor(_imread(d / "plate" / f"{i:04d}.png", cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB) for i in range(n)])
    parts = np.stack([_imread(d / "parts" / f"{i:04d}.png") for i in range(n)]).astype(np.uint8)
    label = np.stack([_imread(d / "label" / f"{i:04d}.png") for i in range(n)]).astype(np.int32)
    tone = np.stack([_imread(d / "tone" / f"{i:04d}.png") for i in range(n)]).astype(np.uint8)
    meta = json.loads((d / "meta.json").read_text())
    vocab = {int(k): str(v) for k, v in json.loads((d / "parts.json").read_text()).items()}
    return SynthClip(d.name, plate, parts, label, tone, meta, vocab, d)


@contextlib.contextmanager
def eval_folder(work_dir: str | os.PathLike[str] | None, prefix: str) -> Iterator[Path]:
    """Where an evaluation writes its outputs: ``work_dir`` (kept), else a temporary folder removed afterwards."""
    if work_dir is not None:
        yield Path(work_dir)
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        yield Path(tmp)


def synth_clips(data_dir: str | os.PathLike[str], names: Sequence[str] | None = None) -> list[Path]:
    """The clip folders of a synth_dev-style data set (``clip_*`` with a ``plate/`` folder)."""
    root = Path(data_dir)
    found = sorted(p for p in root.glob("clip_*") if (p / "plate").is_dir())
    if names:
        missing = [n for n in names if not (root / n / "plate").is_dir()]
        if missing:
            raise SpecError("--clips", f"clip(s) {', '.join(missing)} not found in '{root}'")
        found = [root / n for n in names]
    if not found:
        raise SpecError("--data", f"no clips (clip_*/plate/) in '{root}'")
    return found


def synth_part_maps(clip: SynthClip, by: str = "category") -> tuple[np.ndarray, list[str]]:
    """Ground-truth part maps of a clip and their channel-safe names.

    Args:
        by: ``"category"`` (``parts/``: skin, hair, ...) or ``"palette"`` (``label`` grouped by the palette key
            each instance is painted with: shirt, collar, ..., matching ``colorbook.yml``).

    Returns:
        ``(maps, names)``: ``(F, H, W)`` uint8 part index (0 background, ``i + 1`` = ``names[i]``).
    """
    if by == "category":
        ids = [int(i) for i in np.unique(clip.parts) if i > 0]
        lut = np.zeros(256, np.uint8)
        for j, i in enumerate(ids, start=1):
            lut[i] = j
        return lut[clip.parts], [part_name(clip.vocabulary.get(i, f"part{i}")) for i in ids]
    if by == "palette":
        labels = clip.meta["labels"]
        keys: list[str] = []
        lut16 = np.zeros(int(clip.label.max()) + 1, np.uint8)
        for lid in sorted(int(k) for k in labels):
            if lid > lut16.size - 1:
                continue
            key = part_name(labels[str(lid)].get("palette_key") or labels[str(lid)]["part_type"])
            if key not in keys:
                keys.append(key)
            lut16[lid] = keys.index(key) + 1
        maps = lut16[clip.label]
        present = [k for j, k in enumerate(keys, start=1) if (maps == j).any()]
        remap = np.zeros(len(keys) + 1, np.uint8)
        for j, k in enumerate(keys, start=1):
            if k in present:
                remap[j] = present.index(k) + 1
        return remap[maps], present
    raise ValueError(f"by must be 'category' or 'palette', got {by!r}")


def write_synth_mattes(clip: SynthClip, pattern: str, by: str = "category") -> list[str]:
    """Write a clip's ground-truth parts as a roto-style matte sequence (``<part>.A`` per part, plus ``A``).

    Args:
        clip: the clip.
        pattern: output EXR pattern with a frame token; frame ``i`` is the clip's ``NNNN.png`` frame ``i``.
        by: see :func:`synth_part_maps`.

    Returns:
        The part names (channel order of ``inkpaint:objects``).
    """
    from ..io.sequence import FrameSequence

    seq = FrameSequence.parse(pattern, what="mattes")
    maps, names = synth_part_maps(clip, by)
    for f in clip.frames:
        m = maps[f]
        channels = {f"{n}.A": (m == j).astype(np.float32) for j, n in enumerate(names, start=1)}
        channels["A"] = (m > 0).astype(np.float32)
        write_exr(seq.path(f), channels, metadata={"inkpaint:objects": ",".join(names)})
    return names


# ----------------------------------------------------------------------------------------------------------------
# Scores


def gt_two_tone(tone: np.ndarray) -> np.ndarray:
    """synth_dev tone classes -> 0 bg, 1 base (material, highlight), 2 shadow (attached, cast)."""
    lut = np.array([0, 1, 2, 2, 1] + [0] * 251, np.uint8)
    return lut[tone]


def pred_two_tone(tone: np.ndarray) -> np.ndarray:
    """inkpaint tone codes -> 0 outside, 1 base (base, highlight), 2 shadow (shadow, second shadow)."""
    lut = np.array([0, 1, 2, 1, 2] + [0] * 251, np.uint8)
    return lut[tone]


@dataclasses.dataclass
class ToneCounts:
    """Pixel counts accumulated over frames (for per-clip scores)."""

    correct: int = 0
    total: int = 0
    inter: dict[int, int] = dataclasses.field(default_factory=dict)
    union: dict[int, int] = dataclasses.field(default_factory=dict)
    changed: int = 0
    stable: int = 0

    def accuracy(self) -> float:
        return self.correct / self.total if self.total else float("nan")

    def iou(self, k: int) -> float:
        u = self.union.get(k, 0)
        return self.inter.get(k, 0) / u if u else float("nan")

    def flicker(self) -> float:
        return self.changed / self.stable if self.stable else 0.0


def add_frame(counts: ToneCounts, pred: np.ndarray, gt: np.ndarray, mask: np.ndarray, classes: Sequence[int] = (1, 2)) -> None:
    """Accumulate accuracy and IoU counts of one frame (``pred``/``gt`` already in the same class space)."""
    if pred.shape != gt.shape or gt.shape != mask.shape:
        raise ValueError(f"pred {pred.shape}, gt {gt.shape} and mask {mask.shape} must be the same (H, W)")
    p = pred[mask]
    g = gt[mask]
    counts.correct += int(np.count_nonzero(p == g))
    counts.total += int(p.size)
    for k in classes:
        a = p == k
        b = g == k
        counts.inter[k] = counts.inter.get(k, 0) + int(np.count_nonzero(a & b))
        counts.union[k] = counts.union.get(k, 0) + int(np.count_nonzero(a | b))


def add_flicker(counts: ToneCounts, pred0: np.ndarray, pred1: np.ndarray, plate0: np.ndarray, plate1: np.ndarray, mask0: np.ndarray, mask1: np.ndarray) -> None:
    """Accumulate flicker counts between two consecutive frames (plates uint8 ``(H, W, 3)``)."""
    stable = (np.abs(plate0.astype(np.int16) - plate1.astype(np.int16)).max(axis=2) < 2) & mask0 & mask1
    counts.stable += int(np.count_nonzero(stable))
    counts.changed += int(np.count_nonzero(stable & (pred0 != pred1)))


def score_clip(pred: np.ndarray, clip: SynthClip, *, two_tone: bool = True) -> ToneCounts:
    """Score predicted tone codes ``(F, H, W)`` of a clip.

    Args:
        pred: inkpaint tone codes (0..4) per frame.
        two_tone: score base/shadow (metrics.md's 2-tone rule); else 5-class codes mapped to the GT classes
            (shadow and second shadow -> attached+cast, highlight -> 4) with IoU for base, shadow, highlight.
    """
    counts = ToneCounts()
    mask = clip.label > 0
    if two_tone:
        p_all = pred_two_tone(pred)
        g_all = gt_two_tone(clip.tone)
        classes: tuple[int, ...] = (1, 2)
    else:
        p_all = np.array([0, 1, 2, 4, 2] + [0] * 251, np.uint8)[pred]
        g_all = np.array([0, 1, 2, 2, 4] + [0] * 251, np.uint8)[clip.tone]
        classes = (1, 2, 4)
    for f in clip.frames:
        add_frame(counts, p_all[f], g_all[f], mask[f], classes)
        if f > 0:
            add_flicker(counts, p_all[f - 1], p_all[f], clip.plate[f - 1], clip.plate[f], mask[f - 1], mask[f])
    return counts


def kmeans_per_frame(plate: np.ndarray, parts: np.ndarray, attempts: int = 3, seed: int = 0) -> np.ndarray:
    """Seed 000's shading: per frame, ``cv2.kmeans(k=2)`` on L* inside each part; the lighter cluster is base.

    Args:
        plate: ``(H, W, 3)`` uint8 sRGB.
        parts: ``(H, W)`` part labels (0 outside).

    Returns:
        ``(H, W)`` uint8 codes 0 outside, 1 base, 2 shadow.
    """
    cv2.setRNGSeed(seed)
    lstar = cv2.cvtColor(plate.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)[..., 0]
    out = np.zeros(parts.shape, np.uint8)
    crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    for p in np.unique(parts):
        if p == 0:
            continue
        m = parts == p
        v = lstar[m].reshape(-1, 1).astype(np.float32)
        if len(v) < 2:
            out[m] = 1
            continue
        _, lab, centres = cv2.kmeans(v, 2, None, crit, attempts, cv2.KMEANS_PP_CENTERS)
        hi = int(np.argmax(centres[:, 0]))
        out[m] = np.where(lab[:, 0] == hi, 1, 2)
    return out


@dataclasses.dataclass
class ShadeScores:
    """Scores of one method over clips."""

    method: str
    clips: dict[str, dict[str, float]]

    def mean(self) -> dict[str, float]:
        keys = next(iter(self.clips.values())).keys() if self.clips else []
        return {k: float(np.nanmean([c[k] for c in self.clips.values()])) for k in keys}

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "mean": self.mean(), "clips": self.clips}


def _clip_row(counts: ToneCounts, two_tone: bool) -> dict[str, float]:
    row = {"accuracy": counts.accuracy(), "iou_base": counts.iou(1), "iou_shadow": counts.iou(2), "flicker": counts.flicker()}
    if not two_tone:
        row["iou_highlight"] = counts.iou(4)
    return row


def evaluate_shade(
    data_dir: str | os.PathLike[str],
    *,
    clips: Sequence[str] | None = None,
    tones: int = 2,
    work_dir: str | os.PathLike[str] | None = None,
    baseline: bool = True,
    shade_options: dict[str, Any] | None = None,
    method: str = "classic",
) -> list[ShadeScores]:
    """Run ``inkpaint shade`` on every clip with ground-truth parts as mattes and score it (and the baseline).

    Args:
        data_dir: synth_dev-style folder.
        clips: clip names (default all).
        tones: tone count for the shade job; accuracy/IoU/flicker are always 2-tone, and with ``tones >= 3`` the
            highlight IoU is added from a 5-class scoring.
        work_dir: where mattes and tone frames are written (default: a temporary folder, removed after).
        baseline: also score seed 000's per-frame k-means.
        shade_options: extra :class:`~inkpaint.ops.shade.ShadeJob` fields.
        method: ``classic`` or ``learned``; the learned method's ``tonal`` channel adds the 5-class scores
            (:func:`inkpaint.metrics.tonal.tonal_row`: acc5, mean IoU 1-4, per-class IoU incl. cast shadow, flicker5).
    """
    from ..ops.shade import ShadeJob
    from ..ops.shade import run as run_shade
    from ..progress import RunContext

    ours = ShadeScores(f"inkpaint shade (tones={tones}, fitted once per shot)" if method == "classic" else f"inkpaint shade --method learned (tones={tones}, tonal U-Net)", {})
    base = ShadeScores("per-frame cv2.kmeans(k=2) on L* per part (seed 000)", {})
    with eval_folder(work_dir, "inkpaint-eval-shade-") as root:
        for d in synth_clips(data_dir, clips):
            clip = load_synth_clip(d)
            mattes = str(root / d.name / "mattes" / "parts.####.exr")
            write_synth_mattes(clip, mattes)
            out = str(root / d.name / "tone" / "tone.####.exr")
            job = ShadeJob(input=str(d / "plate" / "####.png"), mattes=mattes, output=out, tones=tones, **{"contact_sheet": False, **(shade_options or {}), **({"method": method} if method != "classic" else {})})
            job.output_options.overwrite = True
            run_shade(job, RunContext())
            pred = np.stack([np.rint(read_image(out.replace("####", f"{f:04d}")).channel("tone")).astype(np.uint8) for f in clip.frames])
            row = _clip_row(score_clip(pred, clip), True)
            if tones >= 3:
                row["iou_highlight"] = score_clip(pred, clip, two_tone=False).iou(4)
            if method == "learned":
                from .tonal import score_tonal_clip, tonal_row

                tonal = np.stack([np.rint(read_image(out.replace("####", f"{f:04d}")).channel("tonal")).astype(np.uint8) for f in clip.frames])
                row.update(tonal_row(score_tonal_clip(tonal, clip)))
            ours.clips[d.name] = row
            if baseline:
                km = np.stack([kmeans_per_frame(clip.plate[f], clip.parts[f] * (clip.label[f] > 0)) for f in clip.frames])
                base.clips[d.name] = _clip_row(score_clip(km, clip), True)
    return [ours, base] if baseline else [ours]


def format_table(results: Sequence[ShadeScores]) -> str:
    lines = []
    for r in results:
        lines.append(r.method)
        keys = list(r.mean())
        lines.append("  " + "clip".ljust(10) + "".join(k.rjust(15) for k in keys))
        for name, row in r.clips.items():
            lines.append("  " + name.ljust(10) + "".join(f"{row[k]:15.4f}" for k in keys))
        lines.append("  " + "mean".ljust(10) + "".join(f"{v:15.4f}" for v in r.mean().values()))
    if len(results) == 2:
        a, b = results[0].mean()["flicker"], results[1].mean()["flicker"]
        lines.append(f"flicker ratio (baseline / inkpaint): {b / a:.1f}x" if a > 0 else "flicker ratio: inkpaint has no flicker")
    return "\n".join(lines)


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("shade", help="tone accuracy, IoU and flicker on synth_dev (GT parts as mattes) vs per-frame k-means")
    p.add_argument("--data", required=True, help="synth_dev-style folder (clip_*/plate, parts, label, tone)")
    p.add_argument("--clips", help="comma-separated clip names (default: all)")
    p.add_argument("--tones", type=int, default=2, help="tone count of the shade job (scores are 2-tone; 3+ adds highlight IoU)")
    p.add_argument("--work-dir", help="keep mattes and tone frames here (default: a temporary folder)")
    p.add_argument("--no-baseline", action="store_true", help="skip the per-frame k-means baseline")
    p.add_argument("--method", choices=["classic", "learned"], default="classic", help="shade method to score; learned adds "
                   "5-class accuracy, mean IoU over classes 1-4 and per-class IoU (cast shadow on its own) from the 'tonal' channel")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_cmd_eval)


def _cmd_eval(args: argparse.Namespace) -> int:
    names = [c.strip() for c in (args.clips or "").split(",") if c.strip()] or None
    results = evaluate_shade(args.data, clips=names, tones=args.tones, work_dir=args.work_dir, baseline=not args.no_baseline, method=args.method)
    if args.json:
        json.dump([r.to_dict() for r in results], sys.stdout, indent=2)
        print()
    else:
        print(format_table(results))
    return 0
