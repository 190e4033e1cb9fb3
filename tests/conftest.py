"""Shared fixtures. Tests mirror the package tree: tests/io, tests/ops, tests/backends, tests/metrics, ..."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("INKPAINT_SHARED", ROOT.parent / "shared"))
DATA = SHARED / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; tests that need it skip with a reason when it is absent."""
    if not DATA.is_dir():
        pytest.skip(f"shared data not found at {DATA} (set INKPAINT_SHARED or clone with ../shared beside the repo)")
    return DATA


@pytest.fixture(scope="session")
def inkpaint_exe() -> list[str]:
    """Command prefix that runs the CLI as a subprocess with this interpreter."""
    return [sys.executable, "-m", "inkpaint.cli"]
