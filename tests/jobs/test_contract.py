"""inkpaint.jobs: stdlib only, importable by the hosts' Pythons, the one source of the job classes."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
CORE = ROOT / "core"

BLOCKED = ("numpy", "OpenImageIO", "cv2", "torch", "sam2", "PIL", "yaml", "nuke", "bpy")

JOBS = {
    "roto": {"type": "roto", "input": "p.####.exr", "output": "m.####.exr",
             "objects": [{"name": "dog", "prompts": [{"frame": 1, "box": [0, 0, 5, 5], "points": [[2, 2, 1]]}]}]},
    "shade": {"type": "shade", "input": "p.####.exr", "mattes": "m.####.exr", "output": "t.####.exr",
              "parts": {"dog": {"tones": 3}}},
    "ink": {"type": "ink", "mattes": "m.####.exr", "output": "i.####.exr", "width_reference": 1080},
    "finish": {"type": "finish", "mattes": "m.####.exr", "palette": "pal.yml", "output": "c.####.png"},
    "cel": {"type": "cel", "input": "p.####.exr", "objects": [], "mattes": "m.####.exr", "palette": "pal.yml",
            "out_dir": "out", "over": "bg.png", "over_color": {"input_colorspace": "sRGB"}},
    "paint": {"type": "paint", "input": "l.####.png", "output": "f.####.png",
              "keys": [{"frame": 1, "clicks": [[3, 4, "#ff0000"]]}]},
}

PROBE = r"""
import importlib.abc, json, sys
BLOCKED = %(blocked)r

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"blocked third-party import: {name}")
        return None

sys.meta_path.insert(0, Block())
sys.path.insert(0, %(core)r)
import pkgutil, importlib
import inkpaint.jobs as jobs
for m in pkgutil.iter_modules(jobs.__path__):
    importlib.import_module("inkpaint.jobs." + m.name)
out = {}
for name, data in json.loads(%(jobs)r).items():
    job = jobs.load_job(data)
    assert type(job).from_dict(job.to_dict()) == job
    out[name] = job.job_hash()
print(json.dumps({"hashes": out, "python": list(sys.version_info[:2])}))
"""


def _probe(python: str) -> dict:
    code = PROBE % {"blocked": BLOCKED, "core": str(CORE), "jobs": json.dumps(JOBS)}
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    out = subprocess.run([python, "-I", "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def host_pythons() -> list[str]:
    """The pyenv interpreters of the hosts' Python versions found on this machine (3.9, 3.10, 3.11)."""
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    found = []
    for minor in ("3.9", "3.10", "3.11"):
        cands = sorted(glob.glob(os.path.join(root, "versions", f"{minor}.*", "bin", "python3")))
        if cands:
            found.append(cands[-1])
    return found


def test_package_imports_no_third_party_module_and_decodes_every_job_type() -> None:
    result = _probe(sys.executable)
    assert set(result["hashes"]) == set(JOBS)


def test_engine_hashes_match_the_stdlib_package() -> None:
    """The engine (which re-exports the classes) hashes a job exactly as a host's Python does."""
    from inkpaint.spec import load_job

    result = _probe(sys.executable)
    for name, data in JOBS.items():
        assert load_job(data).job_hash() == result["hashes"][name], name


@pytest.mark.parametrize("python", host_pythons() or [pytest.param(None, marks=pytest.mark.skip("no pyenv Pythons"))])
def test_package_and_nuke_plugin_import_under_each_host_python(python: str) -> None:
    result = _probe(python)
    assert result["hashes"] == _probe(sys.executable)["hashes"]
    code = (
        "import sys; sys.path[:0] = [%r, %r];\n"
        "import importlib, pkgutil, nuke, inkpaint_nuke\n"
        "for m in pkgutil.iter_modules(inkpaint_nuke.__path__): importlib.import_module('inkpaint_nuke.' + m.name)\n"
        "print('ok', sys.version_info[:2])"
    ) % (str(ROOT / "tests" / "nuke" / "fake_nuke"), str(ROOT / "nuke_plugin"))
    out = subprocess.run([python, "-I", "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.startswith("ok"), out.stderr


def test_ops_reexport_the_same_classes() -> None:
    import inkpaint.jobs as jobs
    from inkpaint import errors, spec
    from inkpaint.io import sequence
    from inkpaint.ops import cel, finish, ink, paint, roto, shade

    assert roto.RotoJob is jobs.RotoJob and roto.JOB is jobs.RotoJob and roto.RotoObject is jobs.RotoObject
    assert paint.PaintJob is jobs.PaintJob and shade.ShadeJob is jobs.ShadeJob and ink.InkJob is jobs.InkJob
    assert finish.FinishJob is jobs.FinishJob and cel.CelJob is jobs.CelJob
    assert errors.SpecError is jobs.SpecError and spec.JobSpec is jobs.JobSpec
    assert sequence.FrameSequence is jobs.FrameSequence
    from inkpaint.cel.tones import PartTones
    from inkpaint.paint.propagate import TINY_SEGMENT
    from inkpaint.worker import PROTOCOL_VERSION

    assert PartTones is jobs.PartTones
    assert TINY_SEGMENT == jobs.paint.TINY_SEGMENT
    assert PROTOCOL_VERSION == jobs.PROTOCOL_VERSION


@pytest.mark.parametrize("name,ok", [("dog", True), ("_x2", True), ("all", False), ("None", False), ("rgba", False),
                                     ("2nd", False), ("a-b", False), ("", False)])
def test_one_name_rule(name: str, ok: bool) -> None:
    from inkpaint.jobs import SpecError, check_name, name_problem

    assert (name_problem(name) is None) is ok
    if not ok:
        with pytest.raises(SpecError, match="objects"):
            check_name(name, "objects")


def test_type_hints_read_pipe_unions_without_python_310() -> None:
    """The fallback evaluator turns ``A | B`` into ``Union[A, B]`` (what 3.9 needs), nested too."""
    from typing import Optional, Union

    from inkpaint.jobs.spec import _evaluate

    ns = {"Union": Union}
    assert _evaluate("int | None", ns) == Optional[int]
    assert _evaluate("list[tuple[float, float, int]] | None", ns) == Optional[list[tuple[float, float, int]]]
    assert _evaluate("dict[str, int | str]", ns) == dict[str, Union[int, str]]


def test_manifest_path_and_shot_name() -> None:
    from inkpaint.jobs import manifest_path, shot_name

    assert manifest_path("roto/m.####.exr") == "roto/m.inkpaint.json"
    assert manifest_path("roto/####.exr") == os.path.join("roto", "frames") + ".inkpaint.json"
    assert shot_name("plates/sh_v1.%04d.exr") == "sh_v1"


def test_protocol_version_mismatch_is_a_clear_error() -> None:
    from inkpaint.jobs.protocol import PROTOCOL_VERSION, Event, ProtocolError, check_ready

    check_ready(Event.parse(json.dumps({"event": "ready", "protocol": PROTOCOL_VERSION, "version": "x"})))
    bad = Event.parse(json.dumps({"event": "ready", "protocol": PROTOCOL_VERSION + 1, "version": "9.9"}))
    with pytest.raises(ProtocolError, match=r"protocol %d.*same inkpaint version" % PROTOCOL_VERSION):
        check_ready(bad)
    fatal = Event.parse(json.dumps({"event": "error", "id": "r1", "fatal": True, "error": {"type": "X", "message": "boom"}}))
    assert fatal.ends("r2") and fatal.error is not None and fatal.error.message == "boom"
    assert not Event.parse('{"event": "progress", "id": "r1"}').ends("r1")
    with pytest.raises(ProtocolError):
        Event.parse("not json")


def test_older_nuke_gets_a_clear_message() -> None:
    """Nuke 13 (Python 3.7): menu.py/init.py print why inkpaint is not loaded; importing the package says so too."""
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    found = sorted(glob.glob(os.path.join(root, "versions", "3.7.*", "bin", "python3")))
    if not found:
        pytest.skip("no pyenv Python 3.7")
    for script in ("menu.py", "init.py"):
        out = subprocess.run([found[-1], "-I", script], capture_output=True, text=True, timeout=60, cwd=ROOT / "nuke_plugin")
        assert out.returncode == 0 and "needs Nuke 14 or newer" in out.stdout and not out.stderr, out.stderr
    out = subprocess.run([found[-1], "-I", "-c", "import sys; sys.path.insert(0, '.'); import inkpaint_nuke"],
                         capture_output=True, text=True, timeout=60, cwd=ROOT / "nuke_plugin")
    assert out.returncode != 0 and "ImportError: inkpaint needs Nuke 14 or newer (Python 3.9+)" in out.stderr


def test_versions_agree() -> None:
    """One version: the engine's (inkpaint.__version__, which pyproject reads), the Nuke plugin's and the Blender
    extension's manifest."""
    import re

    import inkpaint

    nuke_init = (ROOT / "nuke_plugin" / "inkpaint_nuke" / "__init__.py").read_text()
    manifest = (ROOT / "blender_addon" / "blender_manifest.toml").read_text()
    nuke_version = re.search(r'^__version__ = "([^"]+)"', nuke_init, re.M)
    blender_version = re.search(r'^version\s*=\s*"([^"]+)"', manifest, re.M)
    assert nuke_version and blender_version
    assert nuke_version.group(1) == blender_version.group(1) == inkpaint.__version__
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"## {inkpaint.__version__}" in changelog or "## Unreleased" in changelog


@pytest.mark.slow
def test_jobs_package_type_checks() -> None:
    out = subprocess.run([sys.executable, "-m", "mypy", str(CORE / "inkpaint" / "jobs")], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
