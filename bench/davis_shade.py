"""Shadow share on DAVIS-2016 person shots with the ground-truth mask as one part (issue 14's real-footage check).

    /work/main/.venv/bin/python bench/davis_shade.py [--data ../shared/data/davis2016] [--seqs dance-jump,hockey,...]
        [--work DIR] [--shade-args "--part person:shadow=0.3"]

Per sequence: the ``Annotations/480p`` masks are written as a one-part roto-style matte sequence (``person.A``), then
``inkpaint shade`` runs on the JPEG plates with default settings (plus ``--shade-args``), and the part's figures
from the result (shadow share over the shot, threshold in L*, how it was chosen) and its warnings are printed.
The target (issue 14): a share between 10 % and 60 % with default settings. The contact sheets stay in ``--work``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "core"))

from inkpaint.io.frames import write_exr  # noqa: E402

PEOPLE = ["dance-jump", "hockey", "rollerblade", "scooter-black", "bmx-trees", "kite-surf"]
"""DAVIS-2016 sequences (of the stored 11) whose ground truth is a person (with a bike, board or kite lines)."""


def write_mattes(data: Path, seq: str, out: Path, name: str = "person") -> str:
    """Write ``Annotations/480p/<seq>`` as ``out/mattes.#####.exr`` with one ``<name>.A`` channel; returns the pattern."""
    out.mkdir(parents=True, exist_ok=True)
    masks = sorted((data / "Annotations" / "480p" / seq).glob("*.png"))
    if not masks:
        raise SystemExit(f"no masks in {data / 'Annotations' / '480p' / seq}")
    for f in masks:
        m = (cv2.imread(str(f), cv2.IMREAD_GRAYSCALE) > 127).astype(np.float32)
        write_exr(str(out / f"mattes.{f.stem}.exr"), {f"{name}.A": m, "A": m}, metadata={"inkpaint:objects": name})
    return str(out / "mattes.#####.exr")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "davis2016"))
    ap.add_argument("--seqs", default=",".join(PEOPLE))
    ap.add_argument("--work", help="work folder (default: a temporary one, kept and printed)")
    ap.add_argument("--shade-args", default="", help="extra 'inkpaint shade' arguments")
    args = ap.parse_args()
    data = Path(args.data)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="inkpaint-davis-shade-"))
    print(f"work: {work}")
    print(f"{'sequence':16s} {'share':>7s} {'L*':>6s}  method     in 10-60%  warnings")
    for seq in [s.strip() for s in args.seqs.split(",") if s.strip()]:
        mattes = write_mattes(data, seq, work / seq / "roto")
        out = work / seq / "tone" / "t.####.exr"
        cmd = [sys.executable, "-m", "inkpaint", "-q", "shade", str(data / "JPEGImages" / "480p" / seq / "#####.jpg"),
               "--mattes", mattes, "--out", str(out), "--overwrite", *shlex.split(args.shade_args)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            print(f"{seq:16s} failed: {r.stderr.strip().splitlines()[-1] if r.stderr.strip() else r.returncode}")
            continue
        res = json.loads(r.stdout)
        t = res["summary"]["tones"]["person"]
        ok = t["share"] is not None and 0.10 <= t["share"] <= 0.60
        warns = "; ".join(res["summary"]["warnings"]) or "-"
        print(f"{seq:16s} {100 * (t['share'] or 0):6.1f}% {t['threshold_l']:6.1f}  {t['method']:10s} {'yes' if ok else 'NO':9s}  {warns}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
