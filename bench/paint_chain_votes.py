"""Which keyframe votes should a chained frame take? Classic chained segment accuracy per clip for merge rules.

    nice -n 10 .venv/bin/python bench/paint_chain_votes.py --data ../shared/data/synth_train/a --clips clip_006,clip_011

Each clip is run as ``inkpaint eval paint --mode chained`` runs it (GT keyframe 0, forward, the job's defaults, the
classical vote), in process, with each frame's two DIS flows (to the previous frame, to the keyframe) computed once
and shared by the rules. Scores are the share of our segments whose colour equals the GT's (close to BasicPBC Acc on
this clean line art; unpainted = wrong). Rules:

- ``before``: the neighbour's vote, then the keyframe's direct vote at the old 0.25 px residual margin;
- ``direct-0.1``, ``direct-0.05``: the same at a smaller margin;
- ``shipped``: :func:`inkpaint.paint.chain.chained_colours` (direct at ``KEY_RESIDUAL_MARGIN``, then the keyframe
  through the composed flow at ``COMPOSED_RESIDUAL_MARGIN``) without the structural arbitration;
- ``structure``: the same with :mod:`inkpaint.paint.structure` (what the op runs since session 4: where the votes
  disagree the keyframe's segment graph picks; on the first step, among the vote's runner-up colours).

Use it on synth_train clips to choose; synth_dev is for the final measurement only.
"""

from __future__ import annotations

import argparse
import functools
import os

import numpy as np

from inkpaint.jobs.paint import PaintJob, PaintKey
from inkpaint.ops import paint as op
from inkpaint.paint.chain import KeyTrack, chained_colours, merge_by_residual
from inkpaint.paint.colours import colours_from_image
from inkpaint.paint.propagate import dense_flow, flow_image, propagate_colours, tiny_rule_agreement, tiny_rule_holds

RULES = ("before", "direct-0.1", "direct-0.05", "shipped", "structure")


def run_clip(clip: str) -> dict[str, float]:
    frames = sorted(int(f[:-4]) for f in os.listdir(os.path.join(clip, "line")) if f.endswith(".png"))
    pal = os.path.join(clip, "colorbook.yml")
    job = PaintJob(input=os.path.join(clip, "line", "####.png"), output=os.path.join(clip, "unused", "####.png"),
                   keys=[PaintKey(frames[0], image=os.path.join(clip, "gt", f"{frames[0]:04d}.png"))],
                   palette=pal if os.path.exists(pal) else None, direction="forward", method="classic")
    job.validate()
    plan = op.PaintPlan.create(job)
    notes = op.FrameNotes()
    segs = {f: op.SegmentSource(plan, notes)(f) for f in frames}
    k = frames[0]
    kcol = op.key_colours(plan, k, segs[k], notes)
    gt = {f: colours_from_image(segs[f], op._read_key_rgba(os.path.join(clip, "gt", f"{f:04d}.png"), f), plan.table).index
          for f in frames}
    agree, evidence = tiny_rule_agreement(segs[k], kcol, job.tiny_segments, same_rgb=plan.table.rgb_ids())
    tiny = job.tiny_segments if tiny_rule_holds(agree, evidence) else 0
    images = {f: flow_image(segs[f]) for f in frames}
    cols = {r: {k: kcol} for r in RULES}
    tracks = {r: KeyTrack() for r in RULES}
    scores: dict[str, list[float]] = {r: [] for r in RULES}
    for prev, f in zip(frames, frames[1:]):
        vote = functools.partial(propagate_colours, target=segs[f], n_colours=len(plan.table), confidence=job.confidence,
                                 tones=plan.tones, line_strength=job.line_shading, tiny=tiny)
        step = dense_flow(images[f], images[prev])
        direct = vote(segs[k], kcol, flow=dense_flow(images[f], images[k])) if prev != k else None
        for r in RULES:
            if r in ("shipped", "structure"):
                col = chained_colours(vote, segs[f], segs[prev], cols[r][prev], segs[k], kcol, tracks[r],
                                      (lambda d=direct: d) if direct is not None else None, step=step,
                                      n_colours=len(plan.table) if r == "structure" else 0, tiny=tiny)
            else:
                col = vote(segs[prev], cols[r][prev], flow=step)
                if direct is not None:
                    col = merge_by_residual(col, direct, {"before": 0.25, "direct-0.1": 0.1, "direct-0.05": 0.05}[r])
            cols[r][f] = col
            scores[r].append(float((col.index[1:] == gt[f][1:]).mean()))
    return {r: float(np.mean(s)) for r, s in scores.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="../shared/data/synth_train/a")
    ap.add_argument("--clips", default="", help="comma-separated clip names (default: all)")
    a = ap.parse_args()
    names = [c for c in a.clips.split(",") if c] or sorted(d for d in os.listdir(a.data) if os.path.isdir(os.path.join(a.data, d, "line")))
    rows = {}
    for name in names:
        rows[name] = run_clip(os.path.join(a.data, name))
        print(f"{name}: " + "  ".join(f"{r} {v:.4f}" for r, v in rows[name].items()), flush=True)
    print("mean: " + "  ".join(f"{r} {np.mean([row[r] for row in rows.values()]):.4f}" for r in RULES))


if __name__ == "__main__":
    main()
