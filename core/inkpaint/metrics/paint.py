"""BasicPBC paint-bucket metrics (seed 002), exactly as ``docs/metrics.md`` defines them, and ``inkpaint eval paint``.

Per target frame, on the ground-truth segmentation L (4-connected regions of non-line pixels of the GT line art):
p_i = majority colour of the prediction inside segment i, g_i = majority GT colour; BG = transparent or pure white
(all BG colours compare equal).

- Acc = #{p_i = g_i} / #segments; Acc-Thres: the same over segments with n_i > 10 px;
- Pix-Acc = sum n_i [p_i = g_i] / sum n_i; Pix-F-Acc: Pix-Acc over segments with g_i not BG;
- Pix-B-MIoU = sum n_i [p_i in BG and g_i in BG] / sum n_i [p_i in BG or g_i in BG] (1.0 when the denominator is 0).

Frames are averaged per clip (keyframe skipped), then clips. Unpainted segments (transparent in the prediction)
count as predicted background, i.e. wrong unless the segment is background. ``precision`` is the accuracy over the
segments the tool did paint (not left unpainted), from its per-frame segment JSON.

CLI::

    inkpaint eval paint --data ../shared/data/synth_dev --mode consecutive|chained|both [--clips clip_000] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from typing import Any, Literal

import cv2
import numpy as np

from ..io.frames import read_image

BG_CODE = -1
METRICS = ("acc", "acc_thres", "pix_acc", "pix_f_acc", "pix_b_miou")
Method = Literal["auto", "learned", "classic"]  # PaintJob.method


def _codes(rgba: np.ndarray) -> np.ndarray:
    """``(H, W, 3|4)`` uint8 -> int64 colour codes, BG (transparent or pure white) = -1."""
    a = rgba.astype(np.int64)
    code = (a[..., 0] << 16) | (a[..., 1] << 8) | a[..., 2]
    bg = code == 0xFFFFFF
    if rgba.shape[-1] >= 4:
        bg |= rgba[..., 3] < 128
    return np.where(bg, BG_CODE, code)


def gt_segments(line_rgb: np.ndarray) -> tuple[int, np.ndarray]:
    """GT segments: 4-connected components of non-line (pure white) pixels of the GT line art."""
    free = (line_rgb[..., :3] == 255).all(-1)
    if line_rgb.shape[-1] >= 4:
        free |= line_rgb[..., 3] == 0
    n, lab = cv2.connectedComponents(free.astype(np.uint8), connectivity=4, ltype=cv2.CV_32S)
    return n - 1, lab


def _majority(labels: np.ndarray, n: int, codes: np.ndarray) -> np.ndarray:
    m = labels > 0
    lab = labels[m].astype(np.int64)
    c = codes[m]
    uc, inv = np.unique(c, return_inverse=True)
    pair = lab * len(uc) + inv.reshape(-1)
    cnt = np.bincount(pair, minlength=(n + 1) * len(uc)).reshape(n + 1, len(uc))
    return uc[cnt.argmax(1)]


def frame_scores(labels: np.ndarray, n: int, pred_rgba: np.ndarray, gt_rgba: np.ndarray) -> dict[str, float]:
    """The five BasicPBC metrics of one frame.

    Args:
        labels: ``(H, W)`` int GT segment ids 1..n (0 = line).
        n: number of segments.
        pred_rgba: ``(H, W, 3|4)`` uint8 prediction.
        gt_rgba: ``(H, W, 3|4)`` uint8 ground truth colours.
    """
    if pred_rgba.shape[:2] != labels.shape or gt_rgba.shape[:2] != labels.shape:
        raise ValueError(f"prediction {pred_rgba.shape[:2]}, ground truth {gt_rgba.shape[:2]} and labels {labels.shape} differ")
    if n == 0:
        return {k: 1.0 for k in METRICS}
    p = _majority(labels, n, _codes(pred_rgba))[1:]
    g = _majority(labels, n, _codes(gt_rgba))[1:]
    size = np.bincount(labels.reshape(-1), minlength=n + 1)[1 : n + 1].astype(np.float64)
    ok = p == g
    big = size > 10
    fg = g != BG_CODE
    pbg, gbg = p == BG_CODE, g == BG_CODE
    union = (size * (pbg | gbg)).sum()
    return {
        "acc": float(ok.mean()),
        "acc_thres": float(ok[big].mean()) if big.any() else 1.0,
        "pix_acc": float((size * ok).sum() / size.sum()),
        "pix_f_acc": float((size * ok)[fg].sum() / size[fg].sum()) if fg.any() else 1.0,
        "pix_b_miou": float((size * (pbg & gbg)).sum() / union) if union > 0 else 1.0,
    }


def _rgba(path: str) -> np.ndarray:
    img = read_image(path)
    px = np.clip(np.rint(img.pixels * 255), 0, 255).astype(np.uint8)
    if px.shape[2] == 1:
        px = np.repeat(px, 3, 2)
    return px


def evaluate_clip(clip: str, mode: str, work: str, method: Method = "auto") -> dict[str, Any]:
    """Run the real paint op on one synth_dev-style clip and score it (mode ``consecutive`` or ``chained``)."""
    from ..ops.base import run_job
    from ..ops.paint import PaintJob, PaintKey
    from ..progress import RunContext

    frames = sorted(int(f[:-4]) for f in os.listdir(os.path.join(clip, "line")) if f.endswith(".png"))
    pal = os.path.join(clip, "colorbook.yml")
    palette = pal if os.path.exists(pal) else None
    out = os.path.join(work, os.path.basename(clip), mode if method == "auto" else f"{mode}-{method}")
    preds: dict[int, str] = {}
    if mode == "chained":
        job = PaintJob(input=os.path.join(clip, "line", "####.png"), output=os.path.join(out, "####.png"),
                       keys=[PaintKey(frames[0], image=os.path.join(clip, "gt", f"{frames[0]:04d}.png"))],
                       palette=palette, direction="forward", qc_output="", lines_output="", method=method)
        run_job(job, RunContext())
        preds = {f: os.path.join(out, f"{f:04d}") for f in frames[1:]}
    else:
        for a, b in zip(frames, frames[1:]):
            job = PaintJob(input=os.path.join(clip, "line", "####.png"), output=os.path.join(out, f"pair{a:04d}", "####.png"),
                           keys=[PaintKey(a, image=os.path.join(clip, "gt", f"{a:04d}.png"))], palette=palette,
                           direction="forward", frames=f"{a}-{b}", qc_output="", lines_output="", method=method)
            run_job(job, RunContext())
            preds[b] = os.path.join(out, f"pair{a:04d}", f"{b:04d}")
    rows = []
    painted = correct_painted = 0
    for f, base in preds.items():
        n, lab = gt_segments(_rgba(os.path.join(clip, "line", f"{f:04d}.png")))
        pred = _rgba(base + ".png")
        gt = _rgba(os.path.join(clip, "gt", f"{f:04d}.png"))
        rows.append(frame_scores(lab, n, pred, gt))
        # precision of what was painted: segments not flagged unpainted (our segmentation equals GT's on clean art)
        with open(base + ".segments.json", encoding="utf-8") as fh:
            segs = json.load(fh)["segments"]
        ours = read_image(base + ".labels.png").pixels[..., 0]
        ours = np.rint(ours * 65535).astype(np.int64)
        status = np.array(["line"] + [s["status"] for s in segs])
        flagged = np.isin(status, ["unpainted"])
        p = _majority(lab, n, _codes(pred))[1:]
        g = _majority(lab, n, _codes(gt))[1:]
        # the tool's segment under each GT segment (majority)
        theirs = _majority(lab, n, ours)[1:]
        was_painted = ~flagged[np.clip(theirs, 0, len(status) - 1)]
        painted += int(was_painted.sum())
        correct_painted += int((was_painted & (p == g)).sum())
    mean = {k: float(np.mean([r[k] for r in rows])) for k in METRICS}
    mean["precision"] = correct_painted / painted if painted else 1.0
    mean["painted_fraction"] = painted / max(1, sum(gt_segments(_rgba(os.path.join(clip, 'line', f'{f:04d}.png')))[0] for f in preds))
    return mean


def evaluate_paint(data: str, modes: list[str], clips: list[str] | None = None, work_dir: str | None = None,
                   method: Method = "auto") -> dict[str, Any]:
    """Score every clip of ``data`` in each mode. Returns ``{mode: {"clips": {name: scores}, "mean": scores}}``."""
    names = clips or sorted(d for d in os.listdir(data) if os.path.isdir(os.path.join(data, d, "line")))
    res: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="inkpaint-eval-paint-") as tmp:
        work = work_dir or tmp
        for mode in modes:
            per = {c: evaluate_clip(os.path.join(data, c), mode, work, method) for c in names}
            keys = list(next(iter(per.values())))
            res[mode] = {"clips": per, "mean": {k: float(np.mean([v[k] for v in per.values()])) for k in keys}}
    return res


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("paint", help="BasicPBC metrics (Acc, Acc-Thres, Pix-Acc, Pix-F-Acc, Pix-B-MIoU) of the paint op")
    p.add_argument("--data", required=True, help="synth_dev-style folder (clip_*/line, gt, colorbook.yml)")
    p.add_argument("--mode", choices=["consecutive", "chained", "both"], default="both")
    p.add_argument("--clips", help="comma-separated clip names (default: all)")
    p.add_argument("--work-dir", help="keep the painted frames here")
    p.add_argument("--method", choices=["auto", "learned", "classic"], default="auto", help="paint method (as inkpaint paint)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_cmd_eval)


def _cmd_eval(args: argparse.Namespace) -> int:
    modes = ["consecutive", "chained"] if args.mode == "both" else [args.mode]
    names = [c.strip() for c in (args.clips or "").split(",") if c.strip()] or None
    res = evaluate_paint(args.data, modes, names, args.work_dir, args.method)
    if args.json:
        json.dump(res, sys.stdout, indent=2)
        print()
        return 0
    cols = list(METRICS) + ["precision", "painted_fraction"]
    for mode, r in res.items():
        print(mode)
        print("  " + "clip".ljust(10) + "".join(k.rjust(17) for k in cols))
        for name, row in r["clips"].items():
            print("  " + name.ljust(10) + "".join(f"{row[k]:17.4f}" for k in cols))
        print("  " + "mean".ljust(10) + "".join(f"{r['mean'][k]:17.4f}" for k in cols))
    return 0
