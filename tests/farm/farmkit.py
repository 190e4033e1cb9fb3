"""Helpers of the farm tests: the CLI and ``openjd`` as subprocesses, and output comparison (a module with its own
name, so ``from farmkit import ...`` never picks up another folder's conftest)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))


BIN = Path(sys.executable).parent
IGNORED_ATTRS = {"DateTime", "oiio:SourcePath"}
"""Header attributes that differ between two writes of the same frame (time of writing, where it was read from)."""


def openjd() -> str:
    exe = shutil.which("openjd", path=str(BIN)) or shutil.which("openjd")
    if exe is None:
        pytest.skip("openjd-cli is not installed (pip install openjd-cli; it is in the test extra)")
    return exe


def env() -> dict[str, str]:
    """This interpreter's bin folder first on PATH, so ``inkpaint`` and ``openjd`` are the ones under test."""
    e = dict(os.environ)
    e["PATH"] = f"{BIN}{os.pathsep}{e.get('PATH', '')}"
    return e


def inkpaint(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    p = subprocess.run([sys.executable, "-m", "inkpaint", *args], capture_output=True, text=True, env=env())
    if check and p.returncode != 0:
        raise AssertionError(f"inkpaint {' '.join(args)} exited {p.returncode}:\n{p.stderr[-3000:]}")
    return p


def openjd_run(bundle: Path, *extra: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """``openjd run <bundle>/template.yaml --job-param file://<bundle>/job_params.yaml ...``."""
    cmd = [openjd(), "run", str(bundle / "template.yaml"), "--job-param", f"file://{bundle / 'job_params.yaml'}", *extra]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env(), timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"openjd run exited {p.returncode}:\n{p.stdout[-6000:]}\n{p.stderr[-2000:]}")
    return p


def frame_files(folder: Path) -> list[Path]:
    """Every output file under ``folder`` but run reports (manifests, contact sheets) and lock files, relative to it."""
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file()
                  and not p.name.endswith((".inkpaint.json", ".contact.png")) and ".lock" not in p.name
                  and not p.name.startswith("."))


def _json_result(path: Path) -> Any:
    """A JSON output without its per-run report (the tone model's ``shot`` figures: shares over the frames a run
    shaded, which a farm chunk does not write)."""
    data = json.loads(path.read_text())
    if isinstance(data, dict):
        data.pop("shot", None)
    return data


def read_frame(path: Path) -> tuple[np.ndarray, dict[str, Any]]:
    import OpenImageIO as oiio

    buf = oiio.ImageBuf(str(path))
    if buf.has_error:
        raise AssertionError(f"{path}: {buf.geterror()}")
    spec = buf.spec()
    attrs = {a.name: a.value for a in spec.extra_attribs if a.name not in IGNORED_ATTRS}
    attrs["_window"] = (spec.x, spec.y, spec.width, spec.height, spec.full_width, spec.full_height)
    attrs["_channels"] = tuple(spec.channelnames)
    return buf.get_pixels(), attrs


def assert_same_outputs(a: Path, b: Path) -> int:
    """The same files under ``a`` and ``b`` with equal pixels and headers (but write times); returns the count."""
    fa, fb = frame_files(a), frame_files(b)
    assert fa == fb, f"different files: {sorted(set(fa) ^ set(fb))[:10]}"
    for rel in fa:
        if rel.suffix == ".json":
            assert _json_result(a / rel) == _json_result(b / rel), rel
            continue
        pa, ma = read_frame(a / rel)
        pb, mb = read_frame(b / rel)
        assert ma == mb, f"{rel}: headers differ: { {k: (ma.get(k), mb.get(k)) for k in set(ma) | set(mb) if ma.get(k) != mb.get(k)} }"
        assert pa.shape == pb.shape and np.array_equal(pa, pb), f"{rel}: pixels differ"
    return len(fa)
