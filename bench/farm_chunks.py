"""Benchmark: a cel job run by ``openjd run`` as one render task vs N chunks, and what a task costs to start.

    /work/main/.venv/bin/python bench/farm_chunks.py [--frames 100] [--size 1920x1080] [--chunks 5] [--work DIR]

A shaded 6-part character (bench/cel_bench.make_scene: plate EXRs and roto-style mattes, not timed) gets a cel job
from its mattes (shade + ink + finish fused; roto is not chunkable and would be one task either way). Then, each
from an empty output folder, timed with the wall clock around ``openjd run`` (this machine's CPUs, one worker):

- **one task**: bundle with ``--chunk FRAMES``: steps fit, render (1 task), finalize;
- **N chunks, one session**: ``--chunk FRAMES/N``: fit, render (N tasks run one after another in one OpenJD
  session, the worker environment entered once), finalize;
- **N chunks, a session each**: the N render tasks as N separate ``openjd run --task-param`` calls (what a farm
  does when every task lands on a fresh worker: the environment is entered, and inkpaint checks the spec, per task).

Also: ``inkpaint run job.json --frames A-B`` on a chunk that is already complete (process start-up, spec load, resume
check of the chunk's frames): the most a warm, persistent per-session process could save per task.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "core"))

from cel_bench import make_scene  # noqa: E402

BIN = Path(sys.executable).parent


def _run(cmd: list[str]) -> float:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{p.stdout[-3000:]}\n{p.stderr[-2000:]}")
    return dt


def bundle(spec: Path, out: Path, chunk: int) -> Path:
    _run([str(BIN / "inkpaint"), "farm", "bundle", str(spec), "--out", str(out), "--chunk", str(chunk),
          "--env-venv", str(BIN.parent)])
    return out


def openjd(b: Path, *args: str) -> float:
    return _run([str(BIN / "openjd"), "run", str(b / "template.yaml"), "--job-param", f"file://{b / 'job_params.yaml'}", *args])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--chunks", type=int, default=5)
    ap.add_argument("--work", help="work folder (default: a temp folder, removed afterwards)")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="inkpaint-farm-bench-"))
    try:
        t0 = time.perf_counter()
        marker = work / "scene" / f"done-{args.frames}-{w}x{h}"
        if marker.exists():  # --work kept from an earlier run: the same scene
            folder = work / "scene"
            scene = {"plate": str(folder / "plate" / "shot.####.exr"), "mattes": str(folder / "roto" / "shot.####.exr"),
                     "palette": str(folder / "palette.yml")}
        else:
            scene = make_scene(work / "scene", args.frames, (w, h), 6)
            marker.touch()
        print(f"scene: {args.frames} frames {w}x{h}, 6 parts ({time.perf_counter() - t0:.1f} s, not timed)", flush=True)
        for old in work.glob("*"):  # every configuration starts from an empty output folder
            if old.name != "scene":
                shutil.rmtree(old) if old.is_dir() else old.unlink()
        size = args.frames // args.chunks
        rows: dict[str, dict[str, float]] = {}
        for label, chunk, separate in (("one task", args.frames, False), (f"{args.chunks} chunks, one session", size, False),
                                       (f"{args.chunks} chunks, a session each", size, True)):
            name = label.replace(" ", "_").replace(",", "")
            spec = work / f"{name}.json"
            spec.write_text(json.dumps({"schema_version": 1, "type": "cel", "input": scene["plate"], "objects": [],
                                        "mattes": scene["mattes"], "palette": scene["palette"],
                                        "out_dir": str(work / name), "frames": f"1-{args.frames}"}))
            b = bundle(spec, work / f"b_{name}", chunk)
            times = {"fit": openjd(b, "--step", "fit")}
            if separate:
                starts = range(1, args.frames + 1, size)
                times["render"] = sum(openjd(b, "--step", "render", "--task-param", f"Frames={s}-{min(s + size - 1, args.frames)}")
                                      for s in starts)
            else:
                times["render"] = openjd(b, "--step", "render")
            times["finalize"] = openjd(b, "--step", "finalize")
            times["total"] = sum(times.values())
            rows[label] = times
            print(f"{label:32s} " + "  ".join(f"{k} {v:6.2f} s" for k, v in times.items()), flush=True)
        warm = [_run([str(BIN / "inkpaint"), "run", str(work / "b_one_task" / "job.json"), "--frames", f"1-{size}", "-q"]) for _ in range(3)]
        print(f"inkpaint run --frames 1-{size} on complete frames (start-up + resume check): "
              f"{min(warm):.2f} s (best of 3)", flush=True)
        base = rows["one task"]["render"]
        for label, t in rows.items():
            print(f"render step, {label}: {t['render']:.2f} s ({t['render'] / base:.2f}x one task)")
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
