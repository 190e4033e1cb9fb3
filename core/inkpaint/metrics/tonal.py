"""Five-class tonal scores (``docs/metrics.md``, Tones): accuracy, per-class IoU, mean IoU over 1-4, flicker.

Classes: 0 bg, 1 material, 2 attached shadow, 3 cast shadow, 4 highlight, scored inside the character mask
(``label > 0``). The 2-tone numbers of the same prediction ({2, 3} -> shadow, 4 -> material) come with them, so
the learned method can be put beside the classical tone fit and seed 000's k-means.

:func:`evaluate_tonal_model` runs a :class:`~inkpaint.cel.tonal_model.TonalPredictor` straight on synth clips
(ground-truth parts as mattes) without writing frames: the harness for ``bench/tonal.py`` and the tests.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from .tones import SynthClip, load_synth_clip, synth_clips

TWO_TONE = np.array([0, 1, 2, 2, 1], np.uint8)
"""Tonal class -> 2-tone class (0 bg, 1 material, 2 shadow)."""


@dataclasses.dataclass
class TonalCounts:
    """Confusion counts (5 x 5, rows = ground truth) and flicker counts of a prediction."""

    confusion: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((5, 5), np.int64))
    stable: int = 0
    changed: int = 0
    stable2: int = 0
    changed2: int = 0

    def add(self, pred: np.ndarray, gt: np.ndarray, mask: np.ndarray) -> None:
        """Accumulate one frame (``(H, W)`` classes 0..4 and the mask)."""
        self.confusion += np.bincount(gt[mask].astype(np.int64) * 5 + pred[mask].astype(np.int64), minlength=25).reshape(5, 5)

    def add_flicker(self, pred0: np.ndarray, pred1: np.ndarray, plate0: np.ndarray, plate1: np.ndarray, mask0: np.ndarray, mask1: np.ndarray) -> None:
        """Accumulate flicker between consecutive frames (plates uint8 ``(H, W, 3)``), 5-class and 2-tone."""
        stable = (np.abs(plate0.astype(np.int16) - plate1.astype(np.int16)).max(axis=2) < 2) & mask0 & mask1
        n = int(np.count_nonzero(stable))
        self.stable += n
        self.changed += int(np.count_nonzero(stable & (pred0 != pred1)))
        self.stable2 += n
        self.changed2 += int(np.count_nonzero(stable & (TWO_TONE[pred0] != TWO_TONE[pred1])))

    def scores(self) -> dict[str, float]:
        """``acc5, iou1..iou4, miou`` (mean over classes present in GT or prediction), ``iou_cast`` (= iou3),
        ``acc2``, ``flicker`` (5-class) and ``flicker2`` (2-tone)."""
        m = self.confusion
        total = max(1, int(m.sum()))
        out: dict[str, float] = {"acc5": float(np.trace(m)) / total}
        ious = []
        for k in range(1, 5):
            u = int(m[k, :].sum() + m[:, k].sum() - m[k, k])
            out[f"iou{k}"] = float(m[k, k]) / u if u else float("nan")
            if u:
                ious.append(out[f"iou{k}"])
        out["miou"] = float(np.mean(ious)) if ious else float("nan")
        out["iou_cast"] = out["iou3"]
        g2 = TWO_TONE[:, None] * np.ones((1, 5), np.uint8)
        p2 = TWO_TONE[None, :] * np.ones((5, 1), np.uint8)
        out["acc2"] = float(m[g2 == p2].sum()) / total
        out["flicker"] = self.changed / self.stable if self.stable else 0.0
        out["flicker2"] = self.changed2 / self.stable2 if self.stable2 else 0.0
        return out


def score_tonal_clip(pred: np.ndarray, clip: SynthClip) -> TonalCounts:
    """Score predicted classes ``(F, H, W)`` (0..4) of a clip against its ``tone`` maps."""
    counts = TonalCounts()
    mask = clip.label > 0
    for f in clip.frames:
        counts.add(pred[f], clip.tone[f], mask[f])
        if f > 0:
            counts.add_flicker(pred[f - 1], pred[f], clip.plate[f - 1], clip.plate[f], mask[f - 1], mask[f])
    return counts


def tonal_row(counts: TonalCounts) -> dict[str, float]:
    """The per-clip row reported by ``inkpaint eval shade`` for a method with a ``tonal`` channel."""
    s = counts.scores()
    return {"acc5": s["acc5"], "miou": s["miou"], "iou_material": s["iou1"], "iou_attached": s["iou2"], "iou_cast": s["iou3"],
            "iou_highlight5": s["iou4"], "flicker5": s["flicker"]}


def predict_clip(predictor: Any, clip: SynthClip) -> np.ndarray:
    """Run a :class:`~inkpaint.cel.tonal_model.TonalPredictor` over a synth clip with its GT parts as mattes."""
    predictor.reset()
    parts = clip.parts * (clip.label > 0)
    return np.stack([predictor.predict(clip.plate[f], parts[f], frame=f) for f in clip.frames])


def evaluate_tonal_model(data_dir: str | os.PathLike[str], predictor: Any, clips: Sequence[str] | None = None) -> dict[str, dict[str, float]]:
    """Scores (:meth:`TonalCounts.scores`) per clip and their mean (``"mean"``; flicker pooled per clip, then averaged)."""
    rows: dict[str, dict[str, float]] = {}
    for d in synth_clips(data_dir, clips):
        clip = load_synth_clip(d)
        rows[d.name] = score_tonal_clip(predict_clip(predictor, clip), clip).scores()
    keys = next(iter(rows.values())).keys()
    rows["mean"] = {k: float(np.nanmean([r[k] for n, r in rows.items() if n != "mean"])) for k in keys}
    return rows
