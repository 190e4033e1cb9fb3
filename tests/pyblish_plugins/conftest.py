"""Fixtures for the pyblish plug-in tests: the package on sys.path, the plug-ins registered for each test, tiny real
inkpaint jobs run into tmp folders, and a helper that publishes and returns the failures by check."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
for p in (ROOT / "pyblish_plugins", ROOT / "tests"):  # the package; tests/cel/scene.py (the shared cel scene)
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import pyblish.api  # noqa: E402
import pyblish.util  # noqa: E402

import inkpaint_pyblish  # noqa: E402


@pytest.fixture(autouse=True)
def registered() -> Iterator[None]:
    """The inkpaint plug-ins registered the way a studio does it, for this test only."""
    inkpaint_pyblish.register()
    yield
    inkpaint_pyblish.deregister()


@dataclasses.dataclass
class Published:
    """A finished publish: the context, and each failed check as ``(plugin class name, manifest or None) -> message``."""

    context: Any
    failures: dict[tuple[str, str | None], str]

    @property
    def instances(self) -> dict[str, Any]:
        """Collected inkpaint instances by manifest path."""
        return {i.data["manifestPath"]: i for i in self.context if "manifestPath" in i.data}

    def failed(self, plugin: str) -> dict[str | None, str]:
        """Messages of one check, by manifest path."""
        return {m: msg for (p, m), msg in self.failures.items() if p == plugin}


def publish(paths: list[Path | str], settings: dict[str, Any] | None = None, *, validate_only: bool = False) -> Published:
    """Run pyblish on ``paths`` (``pyblish.util.publish``, or ``collect`` + ``validate``)."""
    context = pyblish.api.Context()
    context.data["inkpaintPublishPaths"] = [str(p) for p in paths]
    if settings:
        context.data["inkpaintSettings"] = settings
    if validate_only:
        pyblish.util.collect(context)
        pyblish.util.validate(context)
    else:
        pyblish.util.publish(context)
    failures = {}
    for r in context.data["results"]:
        if r["error"] is not None:
            inst = r["instance"]
            failures[(r["plugin"].__name__, inst.data.get("manifestPath") if inst is not None else None)] = str(r["error"])
    return Published(context, failures)


# ----------------------------------------------------------------------------------------------------------------
# Tiny real jobs


@dataclasses.dataclass
class Run:
    """A job run into a tmp folder."""

    manifest: Path
    result: Any
    folder: Path


@pytest.fixture()
def roto_run(tmp_path: Path) -> Run:
    """The classic roto backend on a 3-frame 96x72 clip (objects ``ball`` and ``block``), with contours."""
    from inkpaint.demo import make_clip
    from inkpaint.ops.base import run_job
    from inkpaint.ops.roto import RotoJob, load_prompts

    plate, prompts = make_clip(tmp_path / "clip", frames=3, size=(96, 72))
    job = RotoJob(input=plate, output=str(tmp_path / "roto" / "m.####.exr"), objects=load_prompts(prompts), contours=True)
    result = run_job(job)
    return Run(Path(result.manifest), result, tmp_path / "roto")


def run_cel(folder: Path, cel_format: str = "exr") -> Run:
    """A cel job from ready mattes (shade, ink and finish fused) on the shared 2-frame cel scene."""
    from cel.scene import write_scene

    from inkpaint.ops.base import run_job
    from inkpaint.ops.cel import CelJob

    s = write_scene(folder / "in", frames=2)
    job = CelJob(input=s["plate"], objects=[], mattes=s["mattes"], palette=s["palette"], out_dir=str(folder / "cel"), cel_format=cel_format)
    result = run_job(job)
    return Run(Path(result.manifest), result, folder / "cel")


@pytest.fixture()
def cel_run(tmp_path: Path) -> Run:
    return run_cel(tmp_path)


PAINT_PALETTE = """skin on skin: [[250, 230, 220], [240, 200, 180], [200, 150, 140]]
shirt on top: [[180, 221, 208], [115, 156, 150], [69, 104, 107]]
"""


def _line_art(shift: int) -> np.ndarray:
    """48x64 line art: a box split in two by a vertical line, moving right by ``shift`` px."""
    img = np.full((48, 64, 3), 255, np.uint8)
    x0 = 8 + shift
    img[8:40, x0] = img[8:40, x0 + 40] = img[8:40, x0 + 20] = 0
    img[8, x0 : x0 + 41] = img[39, x0 : x0 + 41] = 0
    return img


def run_paint(folder: Path, *, clicks_only_left: bool = False) -> Run:
    """``paint`` on 4 frames of synthetic line art, forward from a painted keyframe 1 (or one click on the left
    half only, which leaves the right half unpainted)."""
    from inkpaint.io.frames import write_png
    from inkpaint.ops.base import run_job
    from inkpaint.ops.paint import PaintJob, PaintKey

    (folder / "line").mkdir(parents=True)
    for i, f in enumerate(range(1, 5)):
        write_png(str(folder / "line" / f"{f:04d}.png"), _line_art(i))
    (folder / "pal.yml").write_text(PAINT_PALETTE)
    if clicks_only_left:
        key = PaintKey(1, clicks=[[18, 20, "skin/normal"]])
    else:
        key_img = np.full((48, 64, 3), 255, np.uint8)
        key_img[9:39, 9:28] = (240, 200, 180)
        key_img[9:39, 29:48] = (115, 156, 150)
        write_png(str(folder / "key1.png"), key_img)
        key = PaintKey(1, image=str(folder / "key1.png"))
    job = PaintJob(input=str(folder / "line" / "####.png"), output=str(folder / "paint" / "####.png"), keys=[key],
                   palette=str(folder / "pal.yml"), direction="forward")
    result = run_job(job)
    return Run(Path(result.manifest), result, folder / "paint")


@pytest.fixture()
def paint_run(tmp_path: Path) -> Run:
    return run_paint(tmp_path)


@pytest.fixture()
def publisher() -> Any:
    """:func:`publish`, for the tests."""
    return publish


@pytest.fixture()
def make_cel() -> Any:
    """:func:`run_cel`, for the tests."""
    return run_cel


@pytest.fixture()
def make_paint() -> Any:
    """:func:`run_paint`, for the tests."""
    return run_paint
