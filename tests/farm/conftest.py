"""Fixtures for the farm tests: a small shot on disk (helpers live in farmkit.py and farm_shot.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from farm_shot import write_shot  # noqa: E402


@pytest.fixture()
def shot(tmp_path: Path) -> dict[str, Any]:
    """A 6-frame 96x72 shot (plate, prompts, palette) under ``tmp_path/shot``."""
    return write_shot(tmp_path / "shot", frames=6)
