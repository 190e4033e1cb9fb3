"""Reference mode as issue 16 measures it: keyframe = GT of frame 0, colour only the clip's last frame (``--frames 0,LAST``).

    .venv/bin/python bench/paint_reference_mode.py [--data ../shared/data/synth_dev] [--methods classic,learned]
        [--via ref|key|ref-derived] [--clips clip_000,...]

Runs the real paint op (``PaintJob(frames="0,LAST")``, palette = the clip's colorbook) per clip and method and scores
the last frame with the BasicPBC metrics (``metrics.paint.frame_scores``, unpainted = wrong). ``--via ref`` (default)
gives GT frame 0 as a reference with its line art (``--ref gt/0000.png=line/0000.png``: reference mode,
:mod:`inkpaint.paint.reference`); ``ref-derived`` gives only the GT image (line art derived from its colour edges);
``key`` gives it as keyframe 0 (the plain keyframe path, the measurement before reference mode existed).
"""

from __future__ import annotations

import argparse
import os
import tempfile

import numpy as np

from inkpaint.metrics.paint import _rgba, frame_scores, gt_segments
from inkpaint.ops.base import run_job
from inkpaint.ops.paint import PaintJob, PaintKey, PaintRef
from inkpaint.progress import RunContext


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "synth_dev"))
    ap.add_argument("--methods", default="classic,learned")
    ap.add_argument("--clips", default="")
    ap.add_argument("--via", choices=["ref", "ref-derived", "key"], default="ref")
    ap.add_argument("--confidence", type=float, default=0.5, help="PaintJob.confidence (0 = paint every segment's best guess)")
    a = ap.parse_args()
    names = [c for c in a.clips.split(",") if c] or sorted(d for d in os.listdir(a.data) if os.path.isdir(os.path.join(a.data, d, "line")))
    methods = a.methods.split(",")
    rows: dict[str, dict[str, dict[str, float]]] = {m: {} for m in methods}
    with tempfile.TemporaryDirectory() as tmp:
        for c in names:
            clip = os.path.join(a.data, c)
            frames = sorted(int(f[:-4]) for f in os.listdir(os.path.join(clip, "line")) if f.endswith(".png"))
            last = frames[-1]
            n, lab = gt_segments(_rgba(os.path.join(clip, "line", f"{last:04d}.png")))
            gt = _rgba(os.path.join(clip, "gt", f"{last:04d}.png"))
            for m in methods:
                out = os.path.join(tmp, c, m)
                gt0 = os.path.join(clip, "gt", f"{frames[0]:04d}.png")
                line0 = os.path.join(clip, "line", f"{frames[0]:04d}.png")
                keys = [PaintKey(frames[0], image=gt0)] if a.via == "key" else []
                refs = [] if a.via == "key" else [PaintRef(gt0, line0 if a.via == "ref" else None)]
                job = PaintJob(input=os.path.join(clip, "line", "####.png"), output=os.path.join(out, "####.png"),
                               keys=keys, refs=refs,
                               palette=os.path.join(clip, "colorbook.yml"), direction="forward", frames=f"{frames[0]},{last}",
                               qc_output="", lines_output="", method=m, confidence=a.confidence)
                run_job(job, RunContext())
                rows[m][c] = frame_scores(lab, n, _rgba(os.path.join(out, f"{last:04d}.png")), gt)
    print(f"reference mode (GT frame 0 via {a.via}, confidence {a.confidence:g}, only the last frame painted); Acc / Pix-Acc per clip")
    print("  " + "method".ljust(9) + "".join(c.rjust(18) for c in names) + "mean".rjust(18))
    for m in methods:
        cells = [f"{rows[m][c]['acc']:.3f} / {rows[m][c]['pix_acc']:.3f}" for c in names]
        mean = f"{np.mean([rows[m][c]['acc'] for c in names]):.3f} / {np.mean([rows[m][c]['pix_acc'] for c in names]):.3f}"
        print("  " + m.ljust(9) + "".join(x.rjust(18) for x in cells) + mean.rjust(18))


if __name__ == "__main__":
    main()
