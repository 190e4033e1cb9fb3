#!/usr/bin/env python3
"""Multi-part roto on synth_dev plates: one object per part category, clicks from each part's frame-0 truth.

For each clip of ``../shared/data/synth_dev``: every part category present on frame 0 (``parts/0000.png``: skin,
hair, top, ...) becomes one object, prompted on frame 0 with a box and three positive points derived from that
category's frame-0 mask (the same derivation as ``bench/roto_classic_davis.py``). All parts are tracked together
by the classic backend; the per-object logits are made exclusive exactly as the roto op does
(``resolve_overlaps``); per-part J (IoU) is scored on every frame after the keyframe. Reported, never tuned on.

``--before REV`` also runs the classic backend as it was at git revision REV (loaded from ``git show``), in the
same run, for a before/after table.

    python bench/roto_parts_synth.py --before 5e45589
    python bench/roto_parts_synth.py --backend-options '{"growth_colour": "both"}'
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "core"))
sys.path.insert(0, str(ROOT / "bench"))

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "synth_dev"


def load_backend_at(rev: str | None) -> Any:
    """The classic backend module now (``None``) or at git revision ``rev``."""
    if rev is None:
        from inkpaint.backends import classic

        return classic
    src = subprocess.run(["git", "show", f"{rev}:core/inkpaint/backends/classic.py"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    tmp = Path(tempfile.mkdtemp()) / "classic_before.py"
    tmp.write_text(src)
    spec = importlib.util.spec_from_file_location("inkpaint.backends._classic_before", tmp)
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[spec.name] = mod  # type: ignore[union-attr]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


class Plate:
    def __init__(self, clip: Path, n: int) -> None:
        self.clip = clip
        self.frames = list(range(n))
        from inkpaint.io.frames import read_rgb

        self._read = read_rgb
        img = self.rgb(0)
        self.size = (img.shape[1], img.shape[0])

    def rgb(self, frame: int) -> np.ndarray:
        return self._read(str(self.clip / "plate" / f"{frame:04d}.png"))


def run_clip(module: Any, clip: Path, names_by_id: dict[int, str], options: dict[str, Any] | None = None) -> dict[str, list[float]]:
    import cv2

    from inkpaint.backends.base import Keyframe, RotoRequest
    from inkpaint.metrics.roto import region_similarity
    from inkpaint.ops.roto import resolve_overlaps
    from inkpaint.progress import RunContext
    from roto_classic_davis import click_prompts

    n = len(list((clip / "parts").glob("*.png")))
    parts = [cv2.imread(str(clip / "parts" / f"{f:04d}.png"), cv2.IMREAD_UNCHANGED) for f in range(n)]
    ids = [int(v) for v in np.unique(parts[0]) if v != 0 and np.count_nonzero(parts[0] == v) >= 3]
    names = [names_by_id[i] for i in ids]
    kfs = {}
    for i, name in zip(ids, names):
        box, pts = click_prompts(parts[0] == i)
        kfs[name] = [Keyframe(0, np.asarray(pts, np.float32), box=tuple(box))]  # type: ignore[arg-type]
    plate = Plate(clip, n)
    req = RotoRequest(plate.frames, names, kfs, "forward")
    backend = module.create_backend(dict(options or {}))
    h, w = parts[0].shape
    scores: dict[str, list[float]] = {nm: [] for nm in names}
    for fm in backend.track(plate, req, RunContext()):
        if fm.frame == 0:
            continue
        mattes = resolve_overlaps(fm.logits, names, (h, w))
        for i, name in zip(ids, names):
            scores[name].append(region_similarity(mattes[name] >= 0.5, parts[fm.frame] == i))
    return scores


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--before", help="git revision of the classic backend to compare with (e.g. 5e45589)")
    ap.add_argument("--json", help="also write the scores here")
    ap.add_argument("--backend-options", default="{}", help="JSON object of classic backend options for 'after' (the current code)")
    args = ap.parse_args()
    import cv2

    cv2.setNumThreads(1)
    data = Path(args.data)
    names_by_id = {int(k): v for k, v in json.loads((data / "parts.json").read_text()).items()}
    clips = sorted(p for p in data.iterdir() if p.is_dir() and (p / "parts").is_dir())
    versions = {"after": None} if not args.before else {"before": args.before, "after": None}
    table: dict[str, dict[str, dict[str, float]]] = {}
    for label, rev in versions.items():
        module = load_backend_at(rev)
        t0 = time.perf_counter()
        for clip in clips:
            s = run_clip(module, clip, names_by_id, json.loads(args.backend_options) if rev is None else None)
            table.setdefault(clip.name, {})[label] = {k: float(np.mean(v)) for k, v in s.items()}
        print(f"# {label}: {time.perf_counter() - t0:.1f} s", flush=True)
    labels = list(versions)
    print("clip      part        " + "  ".join(f"{lb + ' J':>9}" for lb in labels))
    per_label: dict[str, list[float]] = {lb: [] for lb in labels}
    for clip, by in table.items():
        for part in by[labels[-1]]:
            print(f"{clip:<9} {part:<10}  " + "  ".join(f"{by[lb][part]:9.3f}" for lb in labels))
            for lb in labels:
                per_label[lb].append(by[lb][part])
    print("mean over parts      " + "  ".join(f"{np.mean(per_label[lb]):9.3f}" for lb in labels))
    if args.json:
        Path(args.json).write_text(json.dumps(table, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
