"""Ink line scores: F-score of line pixels against ground-truth part boundaries (synth_dev).

- Ground truth: the boundaries of ``parts/NNNN.png`` (pixels with a 4-neighbour of another part category,
  background included), i.e. the silhouette and the lines where parts meet.
- Prediction: the hard (binary) ink lines, ``ink_hard.A`` of ``inkpaint ink`` run on the ground-truth parts.
- Matching with a tolerance of 2 px (a disk dilation): precision = ``|P ∩ dil(G)| / |P|``, recall =
  ``|G ∩ dil(P)| / |G|``, F = ``2PR / (P + R)``; both empty gives 1, one empty gives 0.
- Mean over the frames of a clip, then over clips. Seed 000's way (``cv2.Canny`` on each part mask) is scored
  alongside.

CLI::

    inkpaint eval ink --data ../shared/data/synth_dev [--width 2] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from ..cel.labels import region_edges
from ..io.frames import read_image
from .tones import eval_folder, load_synth_clip, synth_clips, synth_part_maps, write_synth_mattes

TOLERANCE = 2


def line_fscore(pred: np.ndarray, gt: np.ndarray, tolerance: int = TOLERANCE) -> tuple[float, float, float]:
    """Precision, recall and F-score of line pixels with a distance tolerance.

    Args:
        pred: ``(H, W)`` bool predicted line pixels.
        gt: ``(H, W)`` bool ground-truth boundary pixels.
        tolerance: match radius in pixels.

    Returns:
        ``(precision, recall, f)``.
    """
    if pred.shape != gt.shape or pred.ndim != 2:
        raise ValueError(f"pred {pred.shape} and gt {gt.shape} must be the same (H, W)")
    p = pred.astype(bool)
    g = gt.astype(bool)
    np_, ng = int(p.sum()), int(g.sum())
    if np_ == 0 and ng == 0:
        return 1.0, 1.0, 1.0
    if np_ == 0 or ng == 0:
        return 0.0, 0.0, 0.0
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * tolerance + 1, 2 * tolerance + 1))
    dg = cv2.dilate(g.view(np.uint8), disk).astype(bool)
    dp = cv2.dilate(p.view(np.uint8), disk).astype(bool)
    precision = float((p & dg).sum()) / np_
    recall = float((g & dp).sum()) / ng
    f = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return precision, recall, f


def gt_boundaries(parts: np.ndarray) -> np.ndarray:
    """Boundary pixels of a part map ``(H, W)``: both sides of every change of part (background included)."""
    return region_edges(parts)


def canny_per_part(parts: np.ndarray) -> np.ndarray:
    """Seed 000's lines: ``cv2.Canny`` on each part's mask, OR-ed. ``(H, W)`` bool."""
    out = np.zeros(parts.shape, bool)
    for p in np.unique(parts):
        if p == 0:
            continue
        out |= cv2.Canny(((parts == p) * 255).astype(np.uint8), 100, 200) > 0
    return out


def evaluate_ink(
    data_dir: str | os.PathLike[str],
    *,
    clips: Sequence[str] | None = None,
    width: float = 2.0,
    work_dir: str | os.PathLike[str] | None = None,
    baseline: bool = True,
) -> dict[str, Any]:
    """Run ``inkpaint ink`` on every clip (GT parts as mattes) and score its hard lines against GT boundaries."""
    from ..ops.ink import InkJob
    from ..ops.ink import run as run_ink
    from ..progress import RunContext

    rows: dict[str, dict[str, float]] = {}
    base_rows: dict[str, dict[str, float]] = {}
    with eval_folder(work_dir, "inkpaint-eval-ink-") as root:
        for d in synth_clips(data_dir, clips):
            clip = load_synth_clip(d)
            mattes = str(root / d.name / "mattes" / "parts.####.exr")
            write_synth_mattes(clip, mattes)
            maps, _ = synth_part_maps(clip)
            out = str(root / d.name / "ink" / "ink.####.exr")
            job = InkJob(mattes=mattes, output=out, width=width)
            job.output_options.overwrite = True
            run_ink(job, RunContext())
            ours, base = [], []
            for f in clip.frames:
                gt = gt_boundaries(maps[f])
                pred = read_image(out.replace("####", f"{f:04d}")).channel("ink_hard.A") > 0.5
                ours.append(line_fscore(pred, gt))
                if baseline:
                    base.append(line_fscore(canny_per_part(maps[f]), gt))
            rows[d.name] = dict(zip(("precision", "recall", "f"), np.mean(ours, axis=0).tolist()))
            if baseline:
                base_rows[d.name] = dict(zip(("precision", "recall", "f"), np.mean(base, axis=0).tolist()))

    def mean(r: dict[str, dict[str, float]]) -> dict[str, float]:
        return {k: float(np.mean([v[k] for v in r.values()])) for k in ("precision", "recall", "f")}

    result: dict[str, Any] = {"inkpaint": {"width": width, "mean": mean(rows), "clips": rows}}
    if baseline:
        result["canny_per_part"] = {"mean": mean(base_rows), "clips": base_rows}
    return result


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ink", help="F-score of ink lines against GT part boundaries on synth_dev (2-px tolerance)")
    p.add_argument("--data", required=True, help="synth_dev-style folder")
    p.add_argument("--clips", help="comma-separated clip names (default: all)")
    p.add_argument("--width", type=float, default=2.0, help="ink line width in pixels (default 2)")
    p.add_argument("--work-dir", help="keep mattes and ink frames here")
    p.add_argument("--no-baseline", action="store_true", help="skip Canny-per-part")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_cmd_eval)


def _cmd_eval(args: argparse.Namespace) -> int:
    names = [c.strip() for c in (args.clips or "").split(",") if c.strip()] or None
    res = evaluate_ink(args.data, clips=names, width=args.width, work_dir=args.work_dir, baseline=not args.no_baseline)
    if args.json:
        json.dump(res, sys.stdout, indent=2)
        print()
        return 0
    for method, r in res.items():
        print(method)
        print("  " + "clip".ljust(10) + "".join(k.rjust(12) for k in ("precision", "recall", "f")))
        for name, row in r["clips"].items():
            print("  " + name.ljust(10) + "".join(f"{row[k]:12.4f}" for k in ("precision", "recall", "f")))
        print("  " + "mean".ljust(10) + "".join(f"{r['mean'][k]:12.4f}" for k in ("precision", "recall", "f")))
    return 0
