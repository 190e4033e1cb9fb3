"""Runs the add-on's tests inside real Blender (``bpy`` 5.0.1 in its own venv) and reports each one here.

The engine venv (numpy 2) cannot import bpy (numpy < 2), so the tests in ``tests/blender/inside`` run in a
subprocess with the Blender venv's interpreter: ``$INKPAINT_BLENDER_PYTHON`` (set by ``install/bootstrap.py
--test``), else ``.venv-blender/bin/python``. The worker they start is this interpreter (``$INKPAINT_TEST_PYTHON``
or ``sys.executable``). Every inner test becomes one test here, passing, failing (with the inner failure text) or
skipping exactly as it did inside Blender.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INSIDE = Path(__file__).resolve().parent / "inside"


def blender_python() -> str | None:
    exe = os.environ.get("INKPAINT_BLENDER_PYTHON")
    if exe:
        return exe
    default = ROOT / ".venv-blender" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    return str(default) if default.exists() else None


@functools.lru_cache(maxsize=1)
def bpy_problem() -> str | None:
    """Why Blender-as-a-module cannot run here, or ``None``."""
    exe = blender_python()
    if exe is None:
        return (
            "bpy is not installed: no $INKPAINT_BLENDER_PYTHON and no .venv-blender "
            "(install/bootstrap.py --test creates it; bpy 5.0.1 needs Python 3.11)"
        )
    if not os.path.exists(exe):
        return f"INKPAINT_BLENDER_PYTHON={exe} does not exist"
    r = subprocess.run([exe, "-c", "import bpy, pytest; print(bpy.app.version_string)"], capture_output=True, text=True)
    if r.returncode != 0:
        return f"bpy cannot be imported by {exe}: {(r.stderr.strip().splitlines() or ['?'])[-1]}"
    return None


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["INKPAINT_TEST_PYTHON"] = os.environ.get("INKPAINT_TEST_PYTHON", sys.executable)
    env.pop("PYTHONPATH", None)
    return env


def _base_args() -> list[str]:
    return ["-m", "pytest", str(INSIDE), "-p", "no:cacheprovider", "--rootdir", str(ROOT), "-o", "addopts="]


@functools.lru_cache(maxsize=1)
def inner_ids() -> tuple[str, ...]:
    """Test ids inside Blender (collected once), or a single placeholder when bpy is unavailable."""
    if bpy_problem():
        return ("bpy-unavailable",)
    # the same selection as inner_run (slow in-Blender tests, such as the Mask fidelity runs, are run by hand:
    # .venv-blender/bin/python -m pytest tests/blender/inside -m slow -o addopts=)
    r = subprocess.run([blender_python(), *_base_args(), "--collect-only", "-q", "-m", "not slow"], capture_output=True, text=True, env=_env(), cwd=ROOT)  # type: ignore[list-item]
    ids = tuple(line.split("::", 1)[1] for line in r.stdout.splitlines() if "::" in line)
    return ids or ("collection-failed",)


@functools.lru_cache(maxsize=1)
def inner_run() -> tuple[dict[str, tuple[str, str]], str]:
    """Run every inner test once in one Blender process; returns ({test id: (outcome, text)}, output tail)."""
    tmp = tempfile.mkdtemp(prefix="inkpaint-bpy-tests-")
    junit = os.path.join(tmp, "junit.xml")
    cmd = [blender_python(), *_base_args(), "-q", "-m", "not slow", f"--junitxml={junit}", f"--basetemp={os.path.join(tmp, 'tmp')}"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=900)  # type: ignore[list-item]
    tail = (r.stdout + r.stderr)[-4000:]
    results: dict[str, tuple[str, str]] = {}
    if os.path.exists(junit):
        for case in ET.parse(junit).getroot().iter("testcase"):
            name = case.get("name", "")
            outcome, text = "passed", ""
            for child in case:
                if child.tag in ("failure", "error"):
                    outcome, text = "failed", f"{child.get('message', '')}\n{child.text or ''}"
                    break
                if child.tag == "skipped":
                    outcome, text = "skipped", child.get("message", "")
            results[name] = (outcome, text)
    return results, tail


@pytest.mark.blender
@pytest.mark.parametrize("inner", inner_ids())
def test_in_blender(inner: str) -> None:
    problem = bpy_problem()
    if problem:
        pytest.skip(problem)
    if inner == "collection-failed":
        pytest.fail("collecting the in-Blender tests failed: run " + " ".join([str(blender_python()), *_base_args(), "--collect-only"]))
    results, tail = inner_run()
    if inner not in results:
        pytest.fail(f"{inner} did not report a result (did Blender crash?). Output tail:\n{tail}")
    outcome, text = results[inner]
    if outcome == "failed":
        pytest.fail(f"in Blender: {text}", pytrace=False)
    if outcome == "skipped":
        pytest.skip(f"in Blender: {text}")
