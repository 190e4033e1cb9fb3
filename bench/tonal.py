"""Benchmark: the learned tonal segmenter (issue 15) — quality on synth_dev, speed at 1920x1080, contact sheet.

    nice -n 5 .venv/bin/python bench/tonal.py --eval  [--weights W] [--threads 2]   # synth_dev, side by side
    nice -n 5 .venv/bin/python bench/tonal.py --speed [--frames 24]                  # 1080p fps of the model
    nice -n 5 .venv/bin/python bench/tonal.py --sheet docs/tonal_contact_sheet.png   # plate | GT | prediction

``--eval`` runs the predictor on every synth_dev clip with ground-truth parts as mattes (the same setting as
``inkpaint eval shade``) with and without flow stabilisation, and prints 5-class accuracy, per-class IoU, mean IoU
over classes 1-4, 2-tone accuracy and flicker (metrics.md); ``--classic`` adds the classical tone fit and seed 000's
per-frame k-means through ``inkpaint eval shade``'s harness.

``--speed`` upsamples synth_dev clip_000 to a 1920x1080 shot (the character 1080 px tall, centred) and times the
predictor per frame (crop to the parts' box, scale to 540 px, U-Net, flow stabilisation, upsampling) and the
U-Net alone on a full 960x540 working frame (the worst case: a matte covering the whole frame).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "core"))

from inkpaint.cel.tonal_model import FLIP, TonalPredictor  # noqa: E402
from inkpaint.metrics.tonal import evaluate_tonal_model, predict_clip  # noqa: E402
from inkpaint.metrics.tones import load_synth_clip  # noqa: E402

DEV = ROOT.parent / "shared" / "data" / "synth_dev"
DAVIS = ROOT.parent / "shared" / "data" / "davis2016"
TONAL_COLOURS = np.array([[0.1, 0.1, 0.1], [0.93, 0.86, 0.70], [0.45, 0.42, 0.62], [0.20, 0.22, 0.45], [1.0, 1.0, 0.55]], np.float32)
"""Display colours of the tonal classes 0..4 (bg, material, attached, cast, highlight)."""


def _fmt(rows: dict[str, dict[str, float]], keys: list[str]) -> str:
    out = ["clip".ljust(10) + "".join(k.rjust(10) for k in keys)]
    for name, r in rows.items():
        out.append(name.ljust(10) + "".join(f"{r[k]:10.4f}" for k in keys))
    return "\n".join(out)


def run_eval(args: argparse.Namespace) -> dict[str, object]:
    keys = ["acc5", "miou", "iou1", "iou2", "iou3", "iou4", "acc2", "flicker", "flicker2"]
    res: dict[str, object] = {}
    variants = {
        "learned (shipped: flow-stabilised + shot colour table)": dict(stabilise=True, table=True),
        "learned (flow-stabilised, no table)": dict(stabilise=True, table=False),
        "learned (per-frame)": dict(stabilise=False, table=False),
    }
    clips = args.clips.split(",") if args.clips else None
    for name, opts in variants.items():
        pred = TonalPredictor(args.weights, args.device, threads=args.threads, flip=args.flip, **opts)
        t0 = time.perf_counter()
        rows = evaluate_tonal_model(args.data, pred, clips)
        print(f"\n{name}  ({time.perf_counter() - t0:.1f} s)\n" + _fmt(rows, keys))
        res[name] = rows
    if args.classic:
        from inkpaint.metrics.tones import evaluate_shade, format_table

        results = evaluate_shade(args.data, tones=2)
        print("\n" + format_table(results))
        res["classic"] = [r.to_dict() for r in results]
    return res


def run_speed(args: argparse.Namespace) -> dict[str, float]:
    import torch

    clip = load_synth_clip(DEV / "clip_000")
    H, W = 1080, 1920
    s = H / clip.plate.shape[1]
    size = int(round(clip.plate.shape[2] * s))
    x0 = (W - size) // 2
    plates, parts = [], []
    for f in clip.frames:
        p = np.zeros((H, W, 3), np.uint8)
        q = np.zeros((H, W), np.uint8)
        p[:, x0 : x0 + size] = cv2.resize(clip.plate[f], (size, H), interpolation=cv2.INTER_LINEAR)
        q[:, x0 : x0 + size] = cv2.resize(clip.parts[f] * (clip.label[f] > 0), (size, H), interpolation=cv2.INTER_NEAREST)
        plates.append(p.astype(np.float32) / 255)
        parts.append(q)
    pred = TonalPredictor(args.weights, args.device, threads=args.threads, flip=args.flip)
    box_frac = float(np.mean([(lambda ys, xs: (ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1) / (H * W))(*np.nonzero(q)) for q in parts]))
    pred.predict(plates[0], parts[0], frame=0)  # warm-up
    pred.reset()
    pred.seconds = {k: 0.0 for k in pred.seconds}
    n = args.frames
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(n):
        pred.predict(plates[i % len(plates)], parts[i % len(parts)], frame=i)
    per = (time.perf_counter() - t0) / n
    cpu = (time.process_time() - c0) / n
    full = np.random.default_rng(0).standard_normal((1, pred.in_channels, 544, 960)).astype(np.float32)
    pred.logits(full)
    t1, c1 = time.perf_counter(), time.process_time()
    for _ in range(max(3, n // 4)):
        pred.logits(full)
    per_full = (time.perf_counter() - t1) / max(3, n // 4)
    cpu_full = (time.process_time() - c1) / max(3, n // 4)
    out = {
        "frames": n, "threads": torch.get_num_threads(), "parts_box_fraction_of_frame": round(box_frac, 3),
        "predict_fps_1080p": round(1 / per, 2), "model_ms": round(1000 * pred.seconds["model"] / n, 1),
        "flow_ms": round(1000 * pred.seconds["flow"] / n, 1), "table_ms": round(1000 * pred.seconds["table"] / n, 1), "predict_ms": round(1000 * per, 1),
        "unet_full_960x544_ms": round(1000 * per_full, 1), "unet_full_frame_fps": round(1 / per_full, 2),
        # CPU seconds per frame (all threads): on a machine shared with other jobs, wall time mostly measures the
        # queue; cpu_s / threads is the wall time the same work takes on that many otherwise idle cores
        "predict_cpu_s": round(cpu, 3), "unet_full_cpu_s": round(cpu_full, 3),
        "predict_fps_if_cores_idle": round(torch.get_num_threads() / cpu, 2) if cpu else None,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(out, indent=2))
    return out


def _tonal_rgb(classes: np.ndarray) -> np.ndarray:
    return TONAL_COLOURS[classes]


def run_sheet(args: argparse.Namespace) -> str:
    from inkpaint.qc.contact_sheet import ContactSheet

    pred = TonalPredictor(args.weights, args.device, threads=args.threads)
    sheet = ContactSheet("inkpaint tonal U-Net (issue 15): plate | ground truth | learned (flow-stabilised, shot colour table, flip)",
                         ["plate", "ground truth", "learned"], cell_width=200)
    for name in ("clip_000", "clip_002", "clip_004", "clip_005"):
        clip = load_synth_clip(DEV / name)
        p = predict_clip(pred, clip)
        f = clip.frames[len(clip.frames) // 2]
        m = clip.label[f] > 0
        sheet.add([clip.plate[f].astype(np.float32) / 255, _tonal_rgb(np.where(m, clip.tone[f], 0)), _tonal_rgb(p[f])], label=f"dev{name[-3:]} f{f}")
    for seq in ("dance-jump", "rollerblade"):
        imgs = sorted((DAVIS / "JPEGImages" / "480p" / seq).glob("*.jpg"))
        anns = sorted((DAVIS / "Annotations" / "480p" / seq).glob("*.png"))
        pred.reset()
        mid = len(imgs) // 2
        for k in range(mid - 3, mid + 1):  # a few frames so the stabiliser has history
            rgb = cv2.cvtColor(cv2.imread(str(imgs[k])), cv2.COLOR_BGR2RGB).astype(np.float32) / 255
            mask = (cv2.imread(str(anns[k]), cv2.IMREAD_GRAYSCALE) > 127).astype(np.uint8)
            cls = pred.predict(rgb, mask, frame=k)
        ys, xs = np.nonzero(mask)
        pad = 24
        y0, y1, x0, x1 = max(0, ys.min() - pad), min(mask.shape[0], ys.max() + pad), max(0, xs.min() - pad), min(mask.shape[1], xs.max() + pad)
        crop = (slice(y0, y1), slice(x0, x1))  # the person's box: at 854x480 the dancer is small
        sheet.add([rgb[crop], None, _tonal_rgb(cls)[crop]], label=f"{seq[:6]} {mid}")
    sheet.footer.append("colours: material = cream, attached shadow = lilac, cast shadow = dark blue, highlight = yellow; "
                        "GT parts (dev) / DAVIS person annotation as mattes; DAVIS (dance-jump, rollerblade; cropped to the person) has no tone ground truth")
    sheet.footer.append("bench/tonal.py --sheet")
    return sheet.write(args.sheet)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--eval", action="store_true")
    ap.add_argument("--classic", action="store_true", help="with --eval: also the classical fit and k-means")
    ap.add_argument("--speed", action="store_true")
    ap.add_argument("--sheet", help="write the contact sheet PNG here")
    ap.add_argument("--data", default=str(DEV))
    ap.add_argument("--weights", default=None, help="safetensors weights (default: the shipped ones)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--clips", help="with --eval: only these clips of --data (comma-separated names)")
    ap.add_argument("--flip", action=argparse.BooleanOptionalAction, default=FLIP,
                    help="test-time flip averaging (default: the predictor's, %(default)s)")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    res: dict[str, object] = {}
    if args.eval:
        res["eval"] = run_eval(args)
    if args.speed:
        res["speed"] = run_speed(args)
    if args.sheet:
        print("contact sheet:", run_sheet(args))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
