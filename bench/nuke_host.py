"""Nuke adapter overhead, measured through the fake nuke API with the real worker (classic backend).

Side by side in one session, on the demo clip (320x240 EXR, --frames frames):

- in-process: ``run_job`` of the roto job (the engine alone);
- adapter, terminal mode: InkpaintRoto's Track (plan + worker start + JSON lines + Read/Copy graph update);
- adapter, GUI mode: the same through the background thread, ProgressTask and executeInMainThread;
- worker cold start (process up to ``ready``) and warm "Preview this frame" latency (segment request).

Run: ``.venv/bin/python bench/nuke_host.py [--frames 24] [--repeat 3]``. Prints medians and ratios.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "nuke" / "fake_nuke"))
sys.path.insert(0, str(ROOT / "nuke_plugin"))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    import nuke

    import inkpaint_nuke
    from inkpaint.demo import make_clip
    from inkpaint.ops.base import run_job
    from inkpaint.spec import load_job
    from inkpaint_nuke import roto_node, worker_client

    work = Path(tempfile.mkdtemp(prefix="inkpaint-nuke-bench-"))
    os.environ["INKPAINT_WORKER"] = sys.executable
    plate, _ = make_clip(work, frames=args.frames)
    times: dict[str, list[float]] = {"in-process run_job": [], "adapter terminal": [], "adapter GUI": [], "worker cold start": [], "preview (warm)": []}

    def node_for(gui: bool) -> nuke.Group:
        nuke._fake.reset(gui=gui)
        read = nuke.nodes.Read(file=plate, first=1, last=args.frames)
        node = inkpaint_nuke.create_roto(inpanel=False)
        nuke._fake.user_connect(node, 0, read)
        roto_node.add_object(node, "ball")
        roto_node.add_point(node, 1, (80, 120), frame=1)
        roto_node.add_object(node, "block")
        roto_node.add_box(node, (206, 146, 274, 204), frame=1)
        return node

    for r in range(args.repeat):
        os.environ["INKPAINT_NUKE_CACHE"] = str(work / f"cache{r}")
        node = node_for(False)
        plan = roto_node.plan(node)
        job = load_job({**plan.job, "output": str(work / f"inproc{r}" / "m.####.exr")})
        t0 = time.perf_counter()
        run_job(job)
        times["in-process run_job"].append(time.perf_counter() - t0)

        worker_client.shutdown_shared()
        t0 = time.perf_counter()
        worker_client.shared_client([sys.executable, "-m", "inkpaint.cli", "worker"])
        times["worker cold start"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        roto_node.track(node)
        times["adapter terminal"].append(time.perf_counter() - t0)

        os.environ["INKPAINT_NUKE_CACHE"] = str(work / f"gui{r}")
        node = node_for(True)
        t0 = time.perf_counter()
        nuke._fake.press(node["track"])
        nuke._fake.run_until(lambda node=node: str(node["inkpaint_status"].value()).startswith("tracked"), timeout=600)
        times["adapter GUI"].append(time.perf_counter() - t0)
        nuke.frame(1)
        t0 = time.perf_counter()
        nuke._fake.press(node["preview"])
        nuke._fake.run_until(lambda node=node: str(node["inkpaint_status"].value()).startswith("preview"), timeout=600)
        times["preview (warm)"].append(time.perf_counter() - t0)
    worker_client.shutdown_shared()
    med = {k: statistics.median(v) for k, v in times.items()}
    base = med["in-process run_job"]
    print(f"demo clip {args.frames} frames 320x240, classic backend, {args.repeat} repeats (median seconds)")
    for k, v in med.items():
        ratio = f"  x{v / base:.2f} of in-process" if k.startswith("adapter") else ""
        print(f"  {k:22s} {v:7.3f} s{ratio}")
    print(f"  adapter overhead (terminal, warm worker): {med['adapter terminal'] - base:+.3f} s for {args.frames} frames")
    return 0


if __name__ == "__main__":
    sys.exit(main())
