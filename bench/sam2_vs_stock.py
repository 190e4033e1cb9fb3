#!/usr/bin/env python3
"""inkpaint's sam2 backend against stock ``SAM2VideoPredictor`` used as seed 000 used it (one propagation per object).

Both run the same network (random weights: speed does not depend on them) on the same frames in the same run:
inkpaint reads an OIIO sequence (PNG here) through the engine's ``SequenceSource``; stock reads a JPEG folder built
from the same pixels (it accepts nothing else) with ``init_state`` once, then ``reset_state`` + clicks +
``propagate_in_video`` per object. Both produce full-resolution logits on the host for every frame and object.

    python bench/sam2_vs_stock.py throughput --objects 1 3 6 --frames 40
    python bench/sam2_vs_stock.py memory --lengths 50 200 1000 --objects 1
    python bench/sam2_vs_stock.py latency
    # GPU, published-anchor style (1920x1080, model input 1024), inkpaint only:
    python bench/sam2_vs_stock.py fps --device cuda --size 1920x1080 --image-size 1024 --models tiny small base_plus large --objects 1 6

Throughput prints frames per second (all objects) and the ratio inkpaint/stock; memory runs each (implementation,
length) in its own subprocess and prints peak host RSS (and peak CUDA memory on GPU); latency prints the time of a
first click on a frame (image encoder + decoder) and of further clicks on the same frame (cached embedding).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "core"))
warnings.filterwarnings("ignore")
os.environ.setdefault("TQDM_DISABLE", "1")  # stock's progress bars, before tqdm is imported


def synthetic_rgb(i: int, w: int, h: int) -> np.ndarray:
    """A textured background with six moving coloured blobs (one per object), float32 RGB 0..1."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([0.3 + 0.1 * np.sin(xx / 13 + i * 0.05), 0.3 + 0.1 * np.cos(yy / 17), 0.35 + 0.05 * np.sin((xx + yy) / 29)], -1)
    for k in range(6):
        cx = (0.12 + 0.15 * k) * w + 0.02 * w * np.sin(i * 0.1 + k)
        cy = (0.3 + 0.4 * (k % 2)) * h + 0.03 * h * np.cos(i * 0.07 + k)
        r = 0.06 * min(w, h) * (1 + 0.3 * (k % 3))
        inside = (xx - cx) ** 2 + (yy - cy) ** 2 < r * r
        img[inside] = np.array([(k * 0.37) % 1, (0.2 + k * 0.21) % 1, (0.8 - k * 0.13) % 1], np.float32)
    return img.astype(np.float32)


def object_points(n: int, w: int, h: int) -> list[tuple[float, float]]:
    return [((0.12 + 0.15 * k) * w + 0.02 * w * np.sin(k), (0.3 + 0.4 * (k % 2)) * h + 0.03 * h * np.cos(k)) for k in range(n)]


def make_clip(folder: Path, n: int, w: int, h: int) -> tuple[str, str]:
    """PNG sequence (inkpaint) and JPEG folder ``<index>.jpg`` (stock) of the same frames."""
    from PIL import Image

    from inkpaint.io.frames import write_png

    png, jpg = folder / "png", folder / "jpg"
    png.mkdir(parents=True, exist_ok=True)
    jpg.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        u8 = np.clip(synthetic_rgb(i, w, h) * 255 + 0.5, 0, 255).astype(np.uint8)
        write_png(str(png / f"plate.{i:04d}.png"), u8)
        Image.fromarray(u8).save(jpg / f"{i:05d}.jpg", quality=95)
    return str(png / "plate.####.png"), str(jpg)


def load_backend(args: argparse.Namespace, model: str | None = None):  # type: ignore[no-untyped-def]
    from inkpaint.backends.sam2_video import create_backend

    return create_backend({"model": model or args.model, "random_weights": True, "device": args.device, "image_size": args.image_size,
                           "compile": bool(getattr(args, "compile", False))})


def run_inkpaint(backend, pattern: str, n: int, n_obj: int, w: int, h: int) -> float:  # type: ignore[no-untyped-def]
    from inkpaint.backends.base import Keyframe, RotoRequest
    from inkpaint.ops.sources import SequenceSource
    from inkpaint.progress import RunContext
    from inkpaint.spec import ColorSettings

    frames = list(range(n))
    src = SequenceSource(pattern, frames, ColorSettings())
    names = [f"obj{k}" for k in range(n_obj)]
    kf = {nm: [Keyframe(0, np.array([[x, y, 1]], np.float32))] for nm, (x, y) in zip(names, object_points(n_obj, w, h))}
    req = RotoRequest(frames, names, kf, "forward")
    t0 = time.perf_counter()
    count = 0
    for fm in backend.track(src, req, RunContext()):
        count += len(fm.logits)
    _sync(backend)
    dt = time.perf_counter() - t0
    assert count == n * n_obj, (count, n, n_obj)
    return dt


def run_stock(net, jpg_dir: str, n: int, n_obj: int, w: int, h: int) -> float:  # type: ignore[no-untyped-def]
    import torch

    t0 = time.perf_counter()
    ctx = torch.autocast("cuda", dtype=torch.bfloat16) if net.device.type == "cuda" else _null()
    with torch.inference_mode(), ctx:
        state = net.init_state(jpg_dir)
        count = 0
        for k, (x, y) in enumerate(object_points(n_obj, w, h)):
            net.reset_state(state)
            net.add_new_points_or_box(state, frame_idx=0, obj_id=k, points=[[x, y]], labels=[1])
            for _, _, masks in net.propagate_in_video(state):
                masks.float().cpu().numpy()
                count += 1
    if net.device.type == "cuda":
        torch.cuda.synchronize()
    assert count == n * n_obj
    return time.perf_counter() - t0


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *a: object) -> None:
        return None


def _sync(backend) -> None:  # type: ignore[no-untyped-def]
    if backend.model.device.type == "cuda":
        import torch

        torch.cuda.synchronize()


def cmd_throughput(args: argparse.Namespace) -> None:
    w, h = args.size
    backend = load_backend(args)
    with tempfile.TemporaryDirectory() as tmp:
        pattern, jpg = make_clip(Path(tmp), args.frames, w, h)
        run_inkpaint(backend, pattern, min(4, args.frames), 1, w, h)  # warm-up
        print(f"# model {args.model}, input {backend.image_size} px, plate {w}x{h}, {args.frames} frames, device {backend.model.device}")
        print(f"# best of {args.repeats} alternating runs each (the machine is shared: the minimum is the least disturbed)")
        print("objects  inkpaint_fps  stock_fps  ratio")
        for n_obj in args.objects:
            tk, ts = [], []
            for _ in range(args.repeats):
                tk.append(run_inkpaint(backend, pattern, args.frames, n_obj, w, h))
                ts.append(run_stock(backend.net, jpg, args.frames, n_obj, w, h))
            print(f"{n_obj:7d}  {args.frames / min(tk):12.2f}  {args.frames / min(ts):9.2f}  {min(ts) / min(tk):5.2f}x", flush=True)


def _measure_one(args: argparse.Namespace) -> None:
    """Child process: one implementation at one length; prints JSON."""
    import torch

    w, h = args.size
    backend = load_backend(args)
    with tempfile.TemporaryDirectory() as tmp:
        pattern, jpg = make_clip(Path(tmp), args.length, w, h)
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if backend.model.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        if args.impl == "inkpaint":
            dt = run_inkpaint(backend, pattern, args.length, args.n_objects, w, h)
        else:
            dt = run_stock(backend.net, jpg, args.length, args.n_objects, w, h)
        rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        gpu = torch.cuda.max_memory_allocated() / 2**20 if backend.model.device.type == "cuda" else None
    print(json.dumps({"impl": args.impl, "frames": args.length, "seconds": dt, "peak_rss_mib": rss1 / 1024, "rss_before_mib": rss0 / 1024, "gpu_peak_mib": gpu}))


def cmd_memory(args: argparse.Namespace) -> None:
    print(f"# model {args.model}, input {args.image_size or 1024} px, plate {args.size[0]}x{args.size[1]}, {args.objects[0]} object(s), device {args.device}")
    print("impl      frames  seconds  peak_rss_MiB  rss_after_load_MiB  gpu_peak_MiB")
    for length in args.lengths:
        for impl in ("inkpaint", "stock"):
            cmd = [sys.executable, __file__, "_one", "--threads", str(args.threads), "--impl", impl, "--length", str(length), "--n-objects", str(args.objects[0]),
                   "--model", args.model, "--device", args.device, "--size", f"{args.size[0]}x{args.size[1]}"]
            cmd += ["--image-size", str(args.image_size or 0)]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                print(f"{impl:8s}  {length:6d}  failed: {r.stderr.strip().splitlines()[-1] if r.stderr.strip() else r.returncode}", flush=True)
                continue
            d = json.loads(r.stdout.strip().splitlines()[-1])
            gpu = f"{d['gpu_peak_mib']:.0f}" if d["gpu_peak_mib"] is not None else "-"
            print(f"{impl:8s}  {length:6d}  {d['seconds']:7.1f}  {d['peak_rss_mib']:12.0f}  {d['rss_before_mib']:18.0f}  {gpu:>12s}", flush=True)


def cmd_latency(args: argparse.Namespace) -> None:
    from inkpaint.backends.base import Keyframe

    w, h = args.size
    backend = load_backend(args)
    img = synthetic_rgb(0, w, h)
    pts = object_points(3, w, h)
    backend.segment(synthetic_rgb(1, w, h), {"a": Keyframe(0, np.array([[*pts[0], 1]], np.float32))}, cache_key="warm")
    firsts, agains = [], []
    for rep in range(args.repeats):
        key = f"plate@{rep}"
        im = img * (1 - 0.01 * rep)
        t0 = time.perf_counter()
        backend.segment(im, {"a": Keyframe(0, np.array([[*pts[0], 1]], np.float32))}, cache_key=key)
        firsts.append(time.perf_counter() - t0)
        for k in range(1, 3):
            t0 = time.perf_counter()
            backend.segment(im, {"a": Keyframe(0, np.array([[*pts[0], 1], [*pts[k], 0]], np.float32))}, cache_key=key)
            agains.append(time.perf_counter() - t0)
    print(f"# model {args.model}, input {backend.image_size} px, plate {w}x{h}, device {backend.model.device}")
    print(f"first click on a frame (encode + decode): median {1000 * np.median(firsts):.1f} ms")
    print(f"another click, same frame (cached):       median {1000 * np.median(agains):.1f} ms  ({np.median(firsts) / np.median(agains):.0f}x faster)")


def cmd_fps(args: argparse.Namespace) -> None:
    w, h = args.size
    with tempfile.TemporaryDirectory() as tmp:
        pattern, _ = make_clip(Path(tmp), args.frames, w, h)
        print(f"# inkpaint sam2, plate {w}x{h}, {args.frames} frames, device {args.device}, random weights")
        print("model      objects  fps")
        for model in args.models:
            backend = load_backend(args, model)
            run_inkpaint(backend, pattern, min(8, args.frames), 1, w, h)  # warm-up (and compile, if on)
            for n_obj in args.objects:
                dt = run_inkpaint(backend, pattern, args.frames, n_obj, w, h)
                print(f"{model:9s}  {n_obj:7d}  {args.frames / dt:6.1f}", flush=True)
            del backend


def main() -> None:
    def size(s: str) -> tuple[int, int]:
        a, b = s.lower().split("x")
        return int(a), int(b)

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["throughput", "memory", "latency", "fps", "_one"])
    ap.add_argument("--model", default="tiny")
    ap.add_argument("--models", nargs="+", default=["tiny", "small", "base_plus", "large"])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--size", type=size, default=(320, 180), help="plate WxH")
    ap.add_argument("--image-size", type=int, default=256, help="model input size (SAM2.1 default 1024); 0 = config's")
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--objects", type=int, nargs="+", default=[1, 3, 6])
    ap.add_argument("--lengths", type=int, nargs="+", default=[50, 200, 1000])
    ap.add_argument("--repeats", type=int, default=3, help="runs per measurement (throughput, latency)")
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads for both (0 = torch default); 1 avoids "
                    "OpenMP barrier stalls on an oversubscribed machine")
    ap.add_argument("--impl", choices=["inkpaint", "stock"])
    ap.add_argument("--length", type=int)
    ap.add_argument("--n-objects", type=int, default=1)
    args = ap.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)  # same for both implementations
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # inherited by the memory subprocesses
    if args.image_size == 0:
        args.image_size = None
    os.environ.setdefault("TQDM_DISABLE", "1")
    {"throughput": cmd_throughput, "memory": cmd_memory, "latency": cmd_latency, "fps": cmd_fps, "_one": _measure_one}[args.mode](args)


if __name__ == "__main__":
    main()
