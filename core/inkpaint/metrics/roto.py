"""DAVIS J&F for roto mattes (semi-supervised protocol), as ``../shared/docs/metrics.md`` defines it.

- **J** (region similarity): ``|P ∩ G| / |P ∪ G|``; 1 when both are empty.
- **F** (boundary F-measure): one-pixel boundaries of P and G (the DAVIS toolkit's ``seg2bmap``), matched with a
  tolerance of ``ceil(0.008 · image diagonal)`` pixels (a disk dilation; 8 px at 854×480). Both boundaries empty
  gives 1, one empty gives 0.
- Every frame is scored except the first and the last of the evaluated range (the DAVIS toolkit's ``[1:-1]``).
- Per sequence: the mean over frames; overall: the mean over sequences. ``J&F = (J + F) / 2``.

Recall (fraction of frames above 0.5) and decay (first-quarter mean minus last-quarter mean) are reported as the
DAVIS toolkit computes them.

CLI::

    inkpaint eval roto --pred 'out/####.exr' --gt 'gt/%05d.png'
    inkpaint eval roto --pred 'out/{seq}/####.exr' --gt 'DAVIS/Annotations/480p/{seq}/%05d.png' \\
        --sequences blackswan,dog --channel dancer.A --json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import FrameError, SpecError
from ..io.frames import read_image
from ..io.sequence import FrameSequence

BOUNDARY_TOLERANCE = 0.008
"""Boundary match tolerance as a fraction of the image diagonal (DAVIS)."""

SEQ_TOKEN = "{seq}"


# ----------------------------------------------------------------------------------------------------------------
# Per-frame scores


def _check_pair(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred = np.asarray(pred)
    gt = np.asarray(gt)
    if pred.ndim != 2 or pred.shape != gt.shape:
        raise ValueError(f"prediction {pred.shape} and ground truth {gt.shape} must be the same (H, W)")
    return pred.astype(bool, copy=False), gt.astype(bool, copy=False)


def region_similarity(pred: np.ndarray, gt: np.ndarray) -> float:
    """J: intersection over union of two masks.

    Args:
        pred: ``(H, W)`` bool (or 0/1) predicted mask.
        gt: ``(H, W)`` bool ground-truth mask.

    Returns:
        IoU in 0..1; 1.0 when both masks are empty.
    """
    p, g = _check_pair(pred, gt)
    union = np.count_nonzero(p | g)
    if union == 0:
        return 1.0
    return float(np.count_nonzero(p & g) / union)


def boundary_map(mask: np.ndarray) -> np.ndarray:
    """One-pixel-wide boundary of a mask, as the DAVIS toolkit's ``seg2bmap`` draws it.

    A pixel is on the boundary when it differs from its east, south or south-east neighbour.

    Args:
        mask: ``(H, W)`` bool.

    Returns:
        ``(H, W)`` bool.
    """
    seg = np.asarray(mask).astype(bool)
    e = np.zeros_like(seg)
    s = np.zeros_like(seg)
    se = np.zeros_like(seg)
    e[:, :-1] = seg[:, 1:]
    s[:-1, :] = seg[1:, :]
    se[:-1, :-1] = seg[1:, 1:]
    b = (seg ^ e) | (seg ^ s) | (seg ^ se)
    b[-1, :] = seg[-1, :] ^ e[-1, :]
    b[:, -1] = seg[:, -1] ^ s[:, -1]
    b[-1, -1] = False
    return b


def disk(radius: int) -> np.ndarray:
    """A disk structuring element: ``(2r+1, 2r+1)`` uint8, 1 where ``x² + y² <= r²`` (as skimage's ``disk``)."""
    r = int(radius)
    y, x = np.mgrid[-r : r + 1, -r : r + 1]
    return ((x * x + y * y) <= r * r).astype(np.uint8)


def boundary_tolerance(shape: tuple[int, int], fraction: float = BOUNDARY_TOLERANCE) -> int:
    """Match tolerance in pixels: ``ceil(fraction · diagonal)`` (8 at 854×480)."""
    return int(math.ceil(fraction * math.hypot(shape[0], shape[1])))


def boundary_f_measure(pred: np.ndarray, gt: np.ndarray, tolerance: int | None = None) -> float:
    """F: the boundary F-measure of DAVIS.

    Args:
        pred: ``(H, W)`` bool predicted mask.
        gt: ``(H, W)`` bool ground-truth mask.
        tolerance: match radius in pixels; default ``ceil(0.008 · diagonal)``.

    Returns:
        F in 0..1: 1 when both boundaries are empty, 0 when exactly one is.
    """
    p, g = _check_pair(pred, gt)
    radius = boundary_tolerance(p.shape) if tolerance is None else int(tolerance)
    bp = boundary_map(p)
    bg = boundary_map(g)
    n_p = int(np.count_nonzero(bp))
    n_g = int(np.count_nonzero(bg))
    if n_p == 0 and n_g == 0:
        return 1.0
    if n_p == 0 or n_g == 0:
        return 0.0
    k = disk(radius)
    dil_p = cv2.dilate(bp.view(np.uint8), k) > 0
    dil_g = cv2.dilate(bg.view(np.uint8), k) > 0
    precision = np.count_nonzero(bp & dil_g) / n_p
    recall = np.count_nonzero(bg & dil_p) / n_g
    if precision + recall == 0:
        return 0.0
    return float(2.0 * precision * recall / (precision + recall))


def frame_scores(pred: np.ndarray, gt: np.ndarray) -> tuple[float, float]:
    """``(J, F)`` of one frame (see :func:`region_similarity`, :func:`boundary_f_measure`)."""
    return region_similarity(pred, gt), boundary_f_measure(pred, gt)


def davis_statistics(values: Sequence[float]) -> tuple[float, float, float]:
    """Mean, recall (fraction > 0.5) and decay of per-frame scores, as the DAVIS toolkit's ``db_statistics``."""
    v = np.asarray(values, np.float64)
    if v.size == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(np.mean(v))
    recall = float(np.mean(v > 0.5))
    ids = (np.round(np.linspace(1, len(v), 5) + 1e-10) - 1).astype(int)
    bins = [v[ids[i] : ids[i + 1] + 1] for i in range(4)]
    decay = float(np.mean(bins[0]) - np.mean(bins[3]))
    return mean, recall, decay


# ----------------------------------------------------------------------------------------------------------------
# Sequences


@dataclasses.dataclass
class SequenceScores:
    """Per-frame scores of one sequence (first and last frames already excluded).

    Attributes:
        name: the sequence name (``""`` for a single unnamed sequence).
        frames: the scored ground-truth frames.
        j: per-frame J, same order as ``frames``.
        f: per-frame F.
        fp: per-frame false-positive share ``|P \\ G| / |P|`` (0 when nothing is predicted): how much of the
            matte lies on background.
    """

    name: str
    frames: list[int]
    j: list[float]
    f: list[float]
    fp: list[float] = dataclasses.field(default_factory=list)

    @property
    def fp_mean(self) -> float:
        return float(np.mean(self.fp)) if self.fp else float("nan")

    @property
    def j_mean(self) -> float:
        return float(np.mean(self.j)) if self.j else float("nan")

    @property
    def f_mean(self) -> float:
        return float(np.mean(self.f)) if self.f else float("nan")

    @property
    def jf(self) -> float:
        return 0.5 * (self.j_mean + self.f_mean)

    def to_dict(self, per_frame: bool = False) -> dict[str, Any]:
        jm, jr, jd = davis_statistics(self.j)
        fm, fr, fd = davis_statistics(self.f)
        out: dict[str, Any] = {
            "sequence": self.name,
            "frames_scored": len(self.frames),
            "J": jm, "F": fm, "J&F": 0.5 * (jm + fm),
            "J_recall": jr, "J_decay": jd, "F_recall": fr, "F_decay": fd,
            "FP_share": self.fp_mean,
        }
        if per_frame:
            out["per_frame"] = [{"frame": fr_, "J": j, "F": f} for fr_, j, f in zip(self.frames, self.j, self.f)]
        return out


@dataclasses.dataclass
class RotoScores:
    """Scores of one or more sequences; the summary is the mean over sequences."""

    sequences: list[SequenceScores]

    @property
    def j_mean(self) -> float:
        return float(np.mean([s.j_mean for s in self.sequences]))

    @property
    def f_mean(self) -> float:
        return float(np.mean([s.f_mean for s in self.sequences]))

    @property
    def jf(self) -> float:
        return 0.5 * (self.j_mean + self.f_mean)

    def to_dict(self, per_frame: bool = False) -> dict[str, Any]:
        return {
            "metric": "DAVIS J&F (first and last frames excluded)",
            "sequences": [s.to_dict(per_frame) for s in self.sequences],
            "mean": {"J": self.j_mean, "F": self.f_mean, "J&F": self.jf},
        }

    def table(self, per_frame: bool = False) -> str:
        """A plain-text table: one row per sequence, then the mean."""
        width = max([len("sequence")] + [len(s.name or "-") for s in self.sequences])
        lines = [f"{'sequence':<{width}}  frames  J-mean  F-mean  J&F-mean  J-recall  J-decay"]
        for s in self.sequences:
            d = s.to_dict()
            lines.append(
                f"{s.name or '-':<{width}}  {len(s.frames):>6}  {d['J']:6.3f}  {d['F']:6.3f}  {d['J&F']:8.3f}"
                f"  {d['J_recall']:8.3f}  {d['J_decay']:7.3f}"
            )
            if per_frame:
                for fr, j, f in zip(s.frames, s.j, s.f):
                    lines.append(f"{'':<{width}}  {fr:>6}  {j:6.3f}  {f:6.3f}  {0.5 * (j + f):8.3f}")
        if len(self.sequences) > 1:
            lines.append(f"{'mean':<{width}}  {sum(len(s.frames) for s in self.sequences):>6}  {self.j_mean:6.3f}  {self.f_mean:6.3f}  {self.jf:8.3f}")
        return "\n".join(lines)


def score_masks(pairs: Iterable[tuple[int, np.ndarray, np.ndarray]], name: str = "") -> SequenceScores:
    """Score ``(frame, pred, gt)`` triples of one sequence, all frames (drop the ends yourself).

    Args:
        pairs: ``(frame, pred (H, W) bool, gt (H, W) bool)``.
        name: the sequence name.
    """
    frames, js, fs, fps = [], [], [], []
    for frame, pred, gt in pairs:
        j, f = frame_scores(pred, gt)
        frames.append(int(frame))
        js.append(j)
        fs.append(f)
        fps.append(false_positive_share(pred, gt))
    return SequenceScores(name, frames, js, fs, fps)


def false_positive_share(pred: np.ndarray, gt: np.ndarray) -> float:
    """Share of the predicted pixels that are background in the ground truth: ``|P \\ G| / |P|``.

    Args:
        pred: ``(H, W)`` bool predicted mask.
        gt: ``(H, W)`` bool ground-truth mask.

    Returns:
        0..1; 0 when nothing is predicted.
    """
    p, g = _check_pair(pred, gt)
    n = np.count_nonzero(p)
    return float(np.count_nonzero(p & ~g) / n) if n else 0.0


def scored_frames(frames: Sequence[int]) -> list[int]:
    """The frames the protocol scores: all but the first and the last."""
    frames = sorted(frames)
    return frames[1:-1]


def read_gt_mask(path: str, frame: int | None = None) -> np.ndarray:
    """A ground-truth PNG as bool ``(H, W)``: the first channel (or alpha-only) above 127 of 255."""
    img = read_image(path, frame=frame)
    ch = [c.upper() for c in img.channels]
    idx = 0
    if len(ch) > 1 and "A" in ch and not any(c in ("R", "Y") for c in ch):
        idx = ch.index("A")
    return img.pixels[..., idx] > (127.5 / 255.0)


def read_pred_mask(path: str, channel: str, frame: int | None = None) -> np.ndarray:
    """A predicted matte as bool ``(H, W)``: channel ``channel`` (by name) above 0.5.

    Raises:
        FrameError: the file is missing or unreadable, or has no such channel (lists those it has).
    """
    img = read_image(path, frame=frame)
    if channel not in img.channels:
        if len(img.channels) == 1:
            return img.pixels[..., 0] > 0.5  # a one-channel mask image (PNG): that channel is the matte
        raise FrameError(f"has no channel {channel!r}; channels present: {', '.join(img.channels)} (use --channel)", frame=frame, path=path)
    return img.channel(channel) > 0.5


def evaluate_sequence(
    pred: str,
    gt: str,
    *,
    frames: str | list[int] | None = None,
    channel: str = "A",
    frame_offset: int = 0,
    name: str = "",
) -> SequenceScores:
    """Score one predicted matte sequence against its ground truth.

    Args:
        pred: predicted matte pattern (EXR with a ``channel`` channel, or one-channel images).
        gt: ground-truth mask pattern (PNG 0/255).
        frames: ground-truth frames to evaluate (default: every ground-truth frame on disk). The first and last
            of them are not scored.
        channel: the matte channel of the prediction, by name (``A``, ``dancer.A``).
        frame_offset: prediction frame = ground-truth frame + ``frame_offset``.
        name: the sequence name for reports.

    Raises:
        FrameError: a frame is missing, unreadable, or the two differ in size (names the frame and file).
        SpecError: fewer than three frames to evaluate.
    """
    gt_seq = FrameSequence.parse(gt, what="--gt")
    pred_seq = FrameSequence.parse(pred, what="--pred")
    all_frames = gt_seq.resolve_frames(frames)
    if len(all_frames) < 3:
        raise SpecError("--frames", f"{name or gt}: need at least 3 frames (the first and last are not scored), got {len(all_frames)}")
    keep = scored_frames(all_frames)
    missing = [f for f in keep if not os.path.isfile(pred_seq.path(f + frame_offset))]
    if missing:
        shown = ", ".join(str(f + frame_offset) for f in missing[:10])
        raise FrameError(f"{len(missing)} predicted frame(s) missing: {shown}", frame=missing[0] + frame_offset, path=pred_seq.path(missing[0] + frame_offset))

    def pairs() -> Iterable[tuple[int, np.ndarray, np.ndarray]]:
        for f in keep:
            g = read_gt_mask(gt_seq.path(f), f)
            p = read_pred_mask(pred_seq.path(f + frame_offset), channel, f + frame_offset)
            if p.shape != g.shape:
                raise FrameError(
                    f"prediction is {p.shape[1]}x{p.shape[0]} but the ground truth '{gt_seq.path(f)}' is {g.shape[1]}x{g.shape[0]}",
                    frame=f + frame_offset, path=pred_seq.path(f + frame_offset),
                )
            yield f, p, g

    return score_masks(pairs(), name)


def discover_sequences(gt: str) -> list[str]:
    """Sequence names for a ``{seq}`` ground-truth pattern: the folders that match where ``{seq}`` stands."""
    head, _, tail = gt.partition(SEQ_TOKEN)
    parent = Path(head) if head.endswith(("/", os.sep)) else None
    if parent is None or not tail.startswith(("/", os.sep)):
        raise SpecError("--sequences", f"cannot list sequences for '{gt}'; {SEQ_TOKEN} must be a whole folder name, or pass --sequences")
    if not parent.is_dir():
        raise SpecError("--gt", f"folder '{parent}' does not exist")
    return sorted(p.name for p in parent.iterdir() if p.is_dir() and not p.name.startswith("."))


def evaluate(
    pred: str,
    gt: str,
    *,
    sequences: Sequence[str] | None = None,
    frames: str | list[int] | None = None,
    channel: str = "A",
    frame_offset: int = 0,
) -> RotoScores:
    """Score one sequence, or several when the patterns contain ``{seq}``.

    Args:
        pred: predicted matte pattern; may contain ``{seq}``.
        gt: ground-truth pattern; may contain ``{seq}``.
        sequences: sequence names substituted for ``{seq}`` (default: every folder found for the GT pattern).
        frames, channel, frame_offset: see :func:`evaluate_sequence`.
    """
    if SEQ_TOKEN in pred or SEQ_TOKEN in gt or sequences:
        if SEQ_TOKEN not in gt or SEQ_TOKEN not in pred:
            raise SpecError("--pred" if SEQ_TOKEN not in pred else "--gt", f"with several sequences both patterns need {SEQ_TOKEN}")
        names = list(sequences) if sequences else discover_sequences(gt)
        if not names:
            raise SpecError("--sequences", "no sequences to evaluate")
        return RotoScores([
            evaluate_sequence(pred.replace(SEQ_TOKEN, n), gt.replace(SEQ_TOKEN, n), frames=frames, channel=channel, frame_offset=frame_offset, name=n)
            for n in names
        ])
    return RotoScores([evaluate_sequence(pred, gt, frames=frames, channel=channel, frame_offset=frame_offset)])


# ----------------------------------------------------------------------------------------------------------------
# CLI


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "roto",
        help="DAVIS J, F and J&F of roto mattes against ground-truth masks",
        description="Score predicted mattes against ground-truth masks (DAVIS J&F; first and last frames are not scored).",
    )
    p.add_argument("--pred", required=True, help="predicted mattes, e.g. 'out/####.exr' or 'out/{seq}/####.exr'")
    p.add_argument("--gt", required=True, help="ground truth masks, e.g. 'Annotations/480p/{seq}/%%05d.png' (> 127 is inside)")
    p.add_argument("--sequences", help="comma-separated names for {seq} (default: every folder matching the --gt pattern)")
    p.add_argument("--frames", help="ground-truth frames to evaluate, e.g. 0-49 (default: all on disk)")
    p.add_argument("--channel", default="A", help="matte channel of the prediction, by name (default A; e.g. dancer.A)")
    p.add_argument("--frame-offset", type=int, default=0, help="prediction frame = ground-truth frame + this")
    p.add_argument("--per-frame", action="store_true", help="also list every frame's J and F")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=_cmd_eval)


def _cmd_eval(args: argparse.Namespace) -> int:
    names = [s for s in (args.sequences or "").split(",") if s.strip()] or None
    scores = evaluate(args.pred, args.gt, sequences=names, frames=args.frames, channel=args.channel, frame_offset=args.frame_offset)
    if args.json:
        json.dump(scores.to_dict(per_frame=args.per_frame), sys.stdout, indent=2)
        print()
    else:
        print(scores.table(per_frame=args.per_frame))
    return 0
