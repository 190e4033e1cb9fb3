"""Type-check nuke_plugin/ against the types-nuke stubs (Nuke 13.2's API)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


def test_mypy_against_types_nuke() -> None:
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed (pip install mypy types-nuke)")
    stubs = [Path(p) / "nuke-stubs" for p in sys.path if (Path(p) / "nuke-stubs").is_dir()]
    if not stubs:
        pytest.skip("the types-nuke stubs are not installed (pip install types-nuke)")
    # Run in a clean process so the fake nuke on this test session's sys.path cannot shadow the stubs.
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--python-version", "3.11", "--no-incremental", "--strict-optional",
         "--disallow-untyped-defs", "--warn-unused-ignores", "--no-error-summary",
         "nuke_plugin/inkpaint_nuke", "nuke_plugin/init.py", "nuke_plugin/menu.py", "nuke_plugin/selftest.py"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
