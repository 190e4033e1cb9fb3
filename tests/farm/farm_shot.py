"""A small shot on disk for the farm tests: a moving two-part figure (``body``, ``head``) as scene-linear EXRs, box
prompts on the first frame, a design sheet, and job specs (roto, cel from prompts) that reference them."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))

from cel.scene import PALETTE, scene_arrays  # noqa: E402


def write_shot(folder: Path, frames: int = 6, size: tuple[int, int] = (96, 72)) -> dict[str, Any]:
    """Write ``plate/sh.####.exr`` (frames 1..frames), ``prompts.json`` and ``palette.yml`` under ``folder``."""
    from inkpaint.io.frames import write_exr

    (folder / "plate").mkdir(parents=True, exist_ok=True)
    for f in range(1, frames + 1):
        _, _, rgb = scene_arrays(f, size)
        write_exr(str(folder / "plate" / f"sh.{f:04d}.exr"), {"R": rgb[..., 0], "G": rgb[..., 1], "B": rgb[..., 2]})
    body, head, _ = scene_arrays(1, size)
    objects = []
    for name, m in (("body", body), ("head", head)):
        ys, xs = (m > 0).nonzero()
        objects.append({"name": name, "prompts": [{"frame": 1, "box": [int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())]},
                                                   {"frame": 1, "points": [[int(xs.mean()), int(ys.mean()), 1]]}]})
    (folder / "prompts.json").write_text(json.dumps({"objects": objects}))
    (folder / "palette.yml").write_text(PALETTE)
    return {"plate": str(folder / "plate" / "sh.####.exr"), "objects": objects, "palette": str(folder / "palette.yml"),
            "frames": f"1-{frames}"}


def roto_spec(shot: dict[str, Any], out: str) -> dict[str, Any]:
    return {"schema_version": 1, "type": "roto", "input": shot["plate"], "output": out, "frames": shot["frames"],
            "objects": shot["objects"]}


def cel_spec(shot: dict[str, Any], out_dir: str, **extra: Any) -> dict[str, Any]:
    return {"schema_version": 1, "type": "cel", "input": shot["plate"], "objects": shot["objects"],
            "palette": shot["palette"], "out_dir": out_dir, "frames": shot["frames"], "fit_samples": 3, **extra}


def save(spec: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(spec, indent=2))
    return path
