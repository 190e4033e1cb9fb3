"""How far can a chained paint job get by choosing, per segment, among the colour sources it already has?

    .venv/bin/python bench/paint_sources.py [--data ../shared/data/synth_dev] [--clips clip_000,clip_003]

A chained frame f is coloured from the tool's own frame f-1 (the chain), and the paint op also votes it from the
keyframe, directly and through the chain's composed flow, and keeps, per segment, a keyframe vote where its flow
explains the line art better (``ops.paint._merge_key_vote``, ``paint.chain.merge_by_residual``). This script runs the same code (``segment_lines`` with the job's defaults, DIS
flow, ``propagate_colours`` with the colour-line rule and the calibrated tiny-segment pass) on every synth_dev clip
from its GT keyframe 0 and scores each frame with the issue's metrics (``metrics.paint.frame_scores``) for:

- **op**: the paint op's rule (what ``inkpaint eval paint --mode chained`` scores);
- **oracle chain|key**: per segment, whichever of the two votes has the GT colour (the chain then continues from
  that frame), an upper bound for any arbiter between these two sources;
- **oracle chain|key|f-2**: the same with a third source, the tool's own frame f-2 (one more DIS per frame).

No timing: this measures a ceiling, not speed. Each DIS flow is computed once and shared by the three modes;
under a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from inkpaint.io.frames import read_image
from inkpaint.metrics.paint import _rgba, frame_scores, gt_segments
from inkpaint.ops.paint import PaintJob, _fill_rgba, _merge_key_vote
from inkpaint.paint.chain import COMPOSED_RESIDUAL_MARGIN, KeyTrack, merge_by_residual
from inkpaint.paint.colours import ColourTable, colours_from_image
from inkpaint.paint.propagate import (METHOD_KEY, FrameColours, dense_flow, flow_image, propagate_colours,
                                      tiny_rule_agreement, tiny_rule_holds)
from inkpaint.paint.segments import segment_lines
from inkpaint.paint.shading import ToneModel
from inkpaint.palette import load_palette

DEFAULTS = PaintJob(input="", output="", keys=[])


def _clip(path: str) -> dict:
    table = ColourTable.create(load_palette(os.path.join(path, "colorbook.yml")))
    frames = sorted(int(f[:-4]) for f in os.listdir(os.path.join(path, "line")) if f.endswith(".png"))
    segs, gt_idx, scoring = [], [], []
    for f in frames:
        img = read_image(os.path.join(path, "line", f"{f:04d}.png"))
        seg = segment_lines(img.pixels, img.channels, threshold=DEFAULTS.line_threshold, max_gap=DEFAULTS.max_gap,
                            speck_size=DEFAULTS.speck_size)
        gt = _rgba(os.path.join(path, "gt", f"{f:04d}.png"))
        segs.append(seg)
        gt_idx.append(colours_from_image(seg, gt, table).index.astype(np.int32))
        n, lab = gt_segments(_rgba(os.path.join(path, "line", f"{f:04d}.png")))  # the metric's own reading
        scoring.append((n, lab, gt))
    return {"table": table, "segs": segs, "gt": gt_idx, "scoring": scoring, "flows": {}}


def _flow(clip: dict, target: int, ref: int) -> np.ndarray:
    """DIS flow target -> ref, computed once per pair for all modes."""
    flows = clip["flows"]
    if (target, ref) not in flows:
        if "images" not in clip:
            clip["images"] = [flow_image(s) for s in clip["segs"]]
        flows[target, ref] = dense_flow(clip["images"][target], clip["images"][ref])
    return flows[target, ref]


def _run(clip: dict, mode: str) -> tuple[float, float]:
    table, segs, gts = clip["table"], clip["segs"], clip["gt"]
    tones = ToneModel.from_table(table)
    same = table.rgb_ids()
    key = FrameColours(gts[0].copy(), np.where(gts[0] >= 0, 1.0, 0.0).astype(np.float32),
                       np.where(gts[0] >= 0, METHOD_KEY, 0).astype(np.uint8))
    tiny = DEFAULTS.tiny_segments if tiny_rule_holds(*tiny_rule_agreement(segs[0], key, DEFAULTS.tiny_segments,
                                                                           same_rgb=same)) else 0
    done = {0: key}
    accs, pixs = [], []
    track = KeyTrack()  # the keyframe's flow composed along the chain, as the op (paint/chain.py)
    for f in range(1, len(segs)):
        to_key = track.advance(_flow(clip, f, f - 1))
        def vote(r: int, f: int = f) -> FrameColours:
            return propagate_colours(segs[r], done[r], segs[f], len(table), confidence=DEFAULTS.confidence,
                                     flow=_flow(clip, f, r), tones=tones,
                                     line_strength=DEFAULTS.line_shading, tiny=tiny)
        chain = vote(f - 1)
        if f == 1:
            col = chain
        elif mode == "op":
            composed = propagate_colours(segs[0], key, segs[f], len(table), confidence=DEFAULTS.confidence, flow=to_key,
                                         tones=tones, line_strength=DEFAULTS.line_shading, tiny=tiny)
            col = merge_by_residual(_merge_key_vote(chain, vote(0)), composed, COMPOSED_RESIDUAL_MARGIN)
        else:
            sources = [chain, vote(0)] + ([vote(f - 2)] if mode == "oracle3" and f > 2 else [])
            g = same[gts[f]]

            def right(i: np.ndarray, g: np.ndarray = g) -> np.ndarray:
                return (i >= 0) & (same[np.clip(i, 0, None)] == g)

            index = chain.index.copy()
            for s in sources[1:]:
                take = ~right(index) & right(s.index)
                index = np.where(take, s.index, index).astype(np.int32)
            col = FrameColours(index, chain.confidence, chain.method, chain.residual)
        done[f] = col
        n, lab, gt = clip["scoring"][f]
        s = frame_scores(lab, n, _fill_rgba(segs[f], col, table), gt)
        accs.append(s["acc"])
        pixs.append(s["pix_acc"])
    return float(np.mean(accs)), float(np.mean(pixs))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="../shared/data/synth_dev")
    ap.add_argument("--clips", default="", help="comma-separated clip names (default: all)")
    a = ap.parse_args()
    names = [c for c in a.clips.split(",") if c] or sorted(
        d for d in os.listdir(a.data) if os.path.isdir(os.path.join(a.data, d, "line")))
    modes = {"op": "op (chain + keyframe by residual)", "oracle2": "oracle chain|key", "oracle3": "oracle chain|key|f-2"}
    res: dict[str, list[tuple[float, float]]] = {m: [] for m in modes}
    for name in names:
        clip = _clip(os.path.join(a.data, name))
        row = []
        for m in modes:
            res[m].append(_run(clip, m))
            row.append(f"{res[m][-1][0]:.3f}/{res[m][-1][1]:.4f}")
        print(f"{name}: " + "  ".join(f"{m} {r}" for m, r in zip(modes, row)), flush=True)
    print("\nchained, mean over clips (Acc / Pix-Acc):")
    base = np.mean([p for _, p in res["op"]])
    for m, label in modes.items():
        acc, pix = np.mean([x for x, _ in res[m]]), np.mean([p for _, p in res[m]])
        print(f"  {label:36s} Acc {acc:.4f}  Pix-Acc {pix:.4f}  (Pix-Acc errors x{(1 - pix) / (1 - base):.2f} of op)")


if __name__ == "__main__":
    main()
