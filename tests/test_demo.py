"""``inkpaint demo`` works from any folder, writes mattes and a contact sheet, and says where they are."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import OpenImageIO as oiio

from inkpaint.io.frames import read_image


def _demo(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "inkpaint", "demo", "-q", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120, env={**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", "")})


def _printed(stdout: str, key: str) -> str:
    m = re.search(rf"^\s*{key}:\s+(\S+)", stdout, re.M)
    assert m, f"demo did not print its {key}: {stdout}"
    return m.group(1)


def test_demo_from_another_folder_prints_where_things_are(tmp_path: Path) -> None:
    cwd = tmp_path / "somewhere" / "else"
    cwd.mkdir(parents=True)
    res = _demo(cwd, "--frames", "5", "--size", "128x96")
    assert res.returncode == 0, res.stderr
    folder = Path(_printed(res.stdout, "folder"))
    assert folder == cwd / "inkpaint-demo"  # the default, relative to where it was run
    sheet = Path(_printed(res.stdout, "contact sheet"))
    spec = oiio.ImageInput.open(str(sheet)).spec()
    assert (spec.width, spec.height) > (128, 96) and spec.nchannels == 3
    mattes = _printed(res.stdout, "mattes")
    assert mattes == str(folder / "roto" / "demo.####.exr")
    frames = sorted((folder / "roto").glob("demo.*.exr"))
    assert len(frames) == 5
    img = read_image(str(frames[0]))
    assert {"ball.A", "block.A", "A"} <= set(img.channels)
    assert (img.channel("ball.A") > 0.5).sum() > 300
    assert Path(_printed(res.stdout, "contours").replace("####", "0001")).exists()
    job = Path(_printed(res.stdout, "job spec"))
    assert json.loads(job.read_text())["type"] == "roto"
    assert "inkpaint run " + str(job) in res.stdout
    # Again, from yet another folder and with an absolute --out-dir: it resumes (nothing left to do).
    res = _demo(tmp_path, "--frames", "5", "--size", "128x96", "--out-dir", str(folder))
    assert res.returncode == 0, res.stderr
    assert "written 0 frame(s), 5 already done" in res.stdout
    # A shorter demo in the same folder replaces the longer one's results instead of mixing them.
    res = _demo(cwd, "--frames", "3", "--size", "128x96")
    assert res.returncode == 0, res.stderr
    assert len(sorted((folder / "roto").glob("demo.*.exr"))) == 3
    assert len(sorted((folder / "plate").glob("demo.*.exr"))) == 3
