"""Blender add-on overhead: the roto operator end to end vs the same job on the engine CLI, side by side.

Run with the Blender venv's interpreter (bpy 5.0.1); the worker and the CLI run in the engine venv:

    .venv-blender/bin/python bench/blender_host.py [--frames 50] [--seq blackswan] [--repeats 2]

Prints, per run: the CLI wall time (`python -m inkpaint.cli roto ... --contours`, a fresh process), the add-on's
`bpy.ops.inkpaint.roto` wall time (building the job, the worker run, keying the Mask and wiring the compositor; the
worker already running, as in a session), the part of it spent applying results, and the ratio add-on / CLI. Also
times keying a long shot (1000 frames) from synthetic outlines, the Mask cost that grows with shot length.
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

ROOT = Path(__file__).resolve().parent.parent
_USER = tempfile.mkdtemp(prefix="inkpaint-bench-blender-")
os.environ["BLENDER_USER_EXTENSIONS"] = os.path.join(_USER, "extensions")
os.environ["BLENDER_USER_CONFIG"] = os.path.join(_USER, "config")

import bpy  # noqa: E402
import numpy as np  # noqa: E402

ADDON = "bl_ext.user_default.inkpaint"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=50)
    ap.add_argument("--seq", default="blackswan")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--engine-python", default=os.environ.get("INKPAINT_TEST_PYTHON", str(ROOT / ".venv" / "bin" / "python")))
    args = ap.parse_args()
    shared = Path(os.environ.get("INKPAINT_SHARED", ROOT.parent / "shared")) / "data" / "davis2016"
    work = Path(tempfile.mkdtemp(prefix="inkpaint-bench-"))
    plate = work / "plate"
    plate.mkdir()
    for i in range(args.frames):
        shutil.copy2(shared / "JPEGImages" / "480p" / args.seq / f"{i:05d}.jpg", plate / f"{i:05d}.jpg")
    gt0 = str(shared / "Annotations" / "480p" / args.seq / "00000.png")

    sys.path.insert(0, str(ROOT / "install"))
    import blender as installer  # install/blender.py

    installer.copy_into(Path(os.environ["BLENDER_USER_EXTENSIONS"]) / "user_default")
    import addon_utils

    addon_utils.enable(ADDON, default_set=True)
    bpy.context.preferences.addons[ADDON].preferences.worker_executable = args.engine_python
    runner = sys.modules[f"{ADDON}.runner"]
    results = sys.modules[f"{ADDON}.results"]

    print(f"blender {bpy.app.version_string}; {args.seq} {args.frames} frames 854x480, classic backend, GT mask prompt on frame 0")
    runner.client(bpy.context)  # warm worker, as in a session
    apply_times: list[float] = []
    orig_apply = results.apply_roto

    def timed_apply(*a, **k):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        try:
            return orig_apply(*a, **k)
        finally:
            apply_times.append(time.perf_counter() - t)

    results.apply_roto = timed_apply
    for rep in range(args.repeats):
        out = work / f"run{rep}"
        prompts = out / "prompts.json"
        out.mkdir()
        prompts.write_text(json.dumps({"objects": [{"name": "obj", "prompts": [{"frame": 0, "mask": gt0}]}]}))
        t = time.perf_counter()
        subprocess.run(
            [args.engine_python, "-m", "inkpaint.cli", "-q", "roto", str(plate / "#####.jpg"), "--prompts", str(prompts),
             "--out", str(out / "cli" / "obj.####.exr"), "--contours", "--direction", "forward"],
            check=True, capture_output=True,
        )
        cli = time.perf_counter() - t

        clip = bpy.data.movieclips.load(str(plate / "00000.jpg"))
        clip.name = f"bench{rep}"
        s = clip.inkpaint
        s.output_dir = str(out / "addon") + os.sep
        obj = s.objects.add()
        obj.name = "obj"
        # the same prompt as the CLI run: the frame-0 GT, drawn as a Mask from its outline and rasterised by Blender
        outline = json.loads(subprocess.run(
            [args.engine_python, "-c", "import json,sys;from inkpaint.io.frames import read_image;from inkpaint.contours import mask_contours;"
             "print(json.dumps(mask_contours(read_image(sys.argv[1]).pixels[...,0]>0.5,0.5)))", gt0],
            check=True, capture_output=True, text=True).stdout)
        geometry = sys.modules[f"{ADDON}.geometry"]
        mask = bpy.data.masks.new(f"gt{rep}")
        lay = mask.layers.new(name="prompt")
        for o in outline:
            co = geometry.pixels_to_mask(np.asarray(o["points"]), 854, 480)
            sp = lay.splines.new()
            sp.points.add(len(co) - 1)
            sp.use_cyclic = True
            for p, c in zip(sp.points, co):
                p.co = c
            for p in sp.points:
                p.handle_type = "VECTOR"
        obj.mask, obj.mask_layer, obj.mask_frame, obj.use_mask = mask, "prompt", 1, True
        t = time.perf_counter()
        assert bpy.ops.inkpaint.roto(clip=clip.name, direction="forward") == {"FINISHED"}
        addon = time.perf_counter() - t
        print(f"run {rep}: CLI {cli:.2f} s ({args.frames / cli:.1f} fps) | add-on operator {addon:.2f} s "
              f"({args.frames / addon:.1f} fps), of which applying results {apply_times[-1]:.2f} s | ratio add-on/CLI {addon / cli:.2f}")

    # keying cost on a long shot
    n = 1000
    t_ = np.linspace(0, 2 * np.pi, 150, endpoint=False)
    contours = {f: {"objects": {"obj": [{"points": np.stack([400 + 120 * np.cos(t_) + f * 0.1, 240 + 90 * np.sin(t_)], 1).tolist(),
                                          "hole": False, "area": 30000.0}]}} for f in range(n)}
    mask = bpy.data.masks.new("long")
    t = time.perf_counter()
    results.key_object_layer(mask, "obj", contours, {f: f + 1 for f in range(n)}, (854, 480), (1.0, 1.0), 0)
    dt = time.perf_counter() - t
    print(f"keying one 96-point spline over {n} frames: {dt:.2f} s ({n / dt:.0f} frames/s)")
    runner.shutdown()
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
