"""Fixtures for the Nuke adapter tests: the fake ``nuke`` module and ``nuke_plugin/`` on sys.path, a fresh fake
session per test, and a real ``inkpaint worker`` (this venv's Python) with the cache in a temp folder."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
for p in (str(HERE / "fake_nuke"), str(ROOT / "nuke_plugin")):
    if p not in sys.path:
        sys.path.insert(0, p)

import nuke  # noqa: E402  (the fake)

assert "fake_nuke" in (nuke.__file__ or ""), f"expected the fake nuke, got {nuke.__file__}"


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """A fresh terminal-mode session whose worker is this venv's Python, caching under ``tmp_path/cache``."""
    from inkpaint_nuke import runner, worker_client

    monkeypatch.setenv("INKPAINT_WORKER", sys.executable)
    monkeypatch.setenv("INKPAINT_NUKE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("INKPAINT_NUKE_PREFS", str(tmp_path / "no-prefs.json"))
    nuke._fake.reset(gui=False)
    yield nuke._fake
    runner.wait_all(timeout=60)
    worker_client.shutdown_shared()


@pytest.fixture
def clip(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A small scene-linear EXR clip (frames 1-4, 320x240) with two moving objects: a red ball and a blue block."""
    from inkpaint.demo import make_clip

    folder = tmp_path_factory.mktemp("clip")
    plate, _ = make_clip(folder, frames=4)
    return {"plate": plate, "first": 1, "last": 4, "width": 320, "height": 240,
            # ball centre on frame 1 (top-left origin): (80, 120); block: x 210-270, y 40-90
            "ball": (80.0, 120.0), "block": (240.0, 65.0)}
