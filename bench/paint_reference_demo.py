"""Reference mode on the hand-drawn basicpbc_demo clips (no ground truth): a painted keyframe as ``--ref``, beside the
plain keyframe path, on one contact sheet per clip (:mod:`inkpaint.qc.contact_sheet`).

    nice -n 10 .venv/bin/python bench/paint_reference_demo.py --out /work/runs/s2_16_demo [--method classic]

Per clip three runs: ``--ref GT=LINE`` (the keyframe's own line art), ``--ref GT`` (line art derived from the painted
image), and ``--key`` (the keyframe path, for comparison). The sheet shows, per picked frame: the line art, the
reference-mode fill and QC overlay (magenta = unpainted, yellow = low confidence), the derived-line run's QC, and the
keyframe run's fill. Prints timings and per-run unpainted / low-confidence counts.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from inkpaint.io.frames import read_image
from inkpaint.jobs.spec import OutputSettings
from inkpaint.ops.base import run_job
from inkpaint.ops.paint import PaintJob, PaintKey, PaintRef
from inkpaint.progress import RunContext
from inkpaint.qc.contact_sheet import ContactSheet, pick_frames

DEMO = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "basicpbc_demo")


def _rgb(path: str) -> np.ndarray:
    img = read_image(path)
    px = img.pixels
    names = [c.split(".")[-1].upper() for c in img.channels]
    rgb = np.stack([px[..., names.index(k)] for k in "RGB"], -1) if all(k in names for k in "RGB") else np.repeat(px[..., :1], 3, -1)
    if "A" in names:  # fills: transparent -> white paper
        a = px[..., names.index("A")][..., None]
        rgb = rgb * a + (1 - a)
    return np.clip(rgb, 0, 1).astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--method", default="classic")
    ap.add_argument("--clips", default="laughing_girl,smoke_explosion")
    a = ap.parse_args()
    for clip in a.clips.split(","):
        root = os.path.join(DEMO, clip)
        lines = sorted(os.listdir(os.path.join(root, "line")))
        digits = len(lines[0]) - 4
        frames = [int(f[:-4]) for f in lines]
        gt = sorted(os.listdir(os.path.join(root, "gt")))[0]
        kf = int(gt[:-4])
        direction = "forward" if kf == frames[0] else "backward"
        pattern = os.path.join(root, "line", "#" * digits + ".png")
        key_img, key_line = os.path.join(root, "gt", gt), os.path.join(root, "line", gt)
        runs = {
            "ref": dict(keys=[], refs=[PaintRef(key_img, key_line)]),
            "ref_derived": dict(keys=[], refs=[PaintRef(key_img)]),
            "key": dict(keys=[PaintKey(kf, image=key_img)], refs=[]),
        }
        outs = {}
        for name, kw in runs.items():
            out = os.path.join(a.out, clip, name, "#" * digits + ".png")
            job = PaintJob(input=pattern, output=out, direction=direction, method=a.method,
                           output_options=OutputSettings(overwrite=True),
                           **kw)
            t0 = time.perf_counter()
            res = run_job(job, RunContext())
            s = res.summary or {}
            print(f"{clip} {name}: {time.perf_counter() - t0:.1f} s, {len(frames)} frames, unpainted {s.get('unpainted_segments')}, "
                  f"low-confidence {s.get('low_confidence_segments')}, method {s.get('method')}")
            outs[name] = out
        sheet = ContactSheet(f"{clip}: reference mode (--ref {gt}) vs keyframe path, method {a.method}",
                             ["line", "ref: fill", "ref: QC", "ref (derived line): QC", "key: fill"], cell_width=260)
        for f in pick_frames(frames, 6):
            num = f"{f:0{digits}d}"
            at = {name: o.replace("#" * digits, num) for name, o in outs.items()}
            sheet.add([_rgb(os.path.join(root, "line", num + ".png")), _rgb(at["ref"]), _rgb(at["ref"].replace(".png", ".qc.png")),
                       _rgb(at["ref_derived"].replace(".png", ".qc.png")), _rgb(at["key"])], label=str(f))
        sheet.footer.append(f"reference = {gt} (painted keyframe); magenta = unpainted, yellow = low confidence")
        print("sheet:", sheet.write(os.path.join(a.out, f"{clip}_reference_sheet.png")))


if __name__ == "__main__":
    main()
