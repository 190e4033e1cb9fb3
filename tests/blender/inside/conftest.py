"""Fixtures for the tests that run inside real Blender (``bpy`` as a module, its own venv).

This folder is run by ``tests/blender/test_in_blender.py`` with the Blender venv's interpreter; the main test run
(engine venv, no bpy) does not collect it. Blender's user folders point at a temporary directory so the tests never
touch the real user configuration, and the add-on is installed the way a user installs it: the extension zip built
by Blender's own extension builder, installed with ``bpy.ops.extensions.package_install_files``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

_USER = tempfile.mkdtemp(prefix="inkpaint-blender-user-")
os.environ["BLENDER_USER_EXTENSIONS"] = os.path.join(_USER, "extensions")
os.environ["BLENDER_USER_CONFIG"] = os.path.join(_USER, "config")
os.environ["BLENDER_USER_SCRIPTS"] = os.path.join(_USER, "scripts")

import pytest  # noqa: E402

bpy = pytest.importorskip("bpy", reason="bpy (Blender as a Python module) is not installed in this interpreter")

ROOT = Path(__file__).resolve().parents[3]
SHARED = Path(os.environ.get("INKPAINT_SHARED", ROOT.parent / "shared"))
DAVIS = SHARED / "data" / "davis2016"
ADDON = "bl_ext.user_default.inkpaint"
SEQ = "blackswan"
N_FRAMES = 10


def engine_python() -> str:
    """The engine venv's interpreter (runs the worker)."""
    exe = os.environ.get("INKPAINT_TEST_PYTHON") or str(ROOT / ".venv" / ("Scripts/python.exe" if os.name == "nt" else "bin/python"))
    if not os.path.exists(exe):
        pytest.fail(f"engine Python not found at {exe}; set INKPAINT_TEST_PYTHON (install/bootstrap.py --test does)")
    return exe


def blender_ext_script() -> Path:
    """Blender's own extension builder/validator (what ``blender --command extension`` runs)."""
    base = Path(bpy.utils.resource_path("LOCAL"))
    found = sorted(base.glob("scripts/addons_core/bl_pkg/cli/blender_ext.py"))
    if not found:
        pytest.fail(f"Blender's extension CLI (bl_pkg/cli/blender_ext.py) not found under {base}")
    return found[-1]


@pytest.fixture(scope="session")
def extension_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import importlib.util

    out = tmp_path_factory.mktemp("dist")
    spec = importlib.util.spec_from_file_location("inkpaint_install_blender", ROOT / "install" / "blender.py")
    installer = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(installer)  # type: ignore[union-attr]
    source = installer.stage_source(tmp_path_factory.mktemp("ext-source") / "inkpaint")  # add-on + vendored jobs
    subprocess.run(
        [sys.executable, str(blender_ext_script()), "build", "--source-dir", str(source), "--output-dir", str(out)],
        check=True,
        capture_output=True,
        text=True,
    )
    zips = list(out.glob("inkpaint-*.zip"))
    assert len(zips) == 1, f"expected one extension zip in {out}, found {zips}"
    return zips[0]


@pytest.fixture(scope="session")
def addon(extension_zip: Path):  # type: ignore[no-untyped-def]
    """The add-on installed from its zip and enabled, with the worker pointed at the engine venv."""
    if ADDON not in bpy.context.preferences.addons:
        res = bpy.ops.extensions.package_install_files(filepath=str(extension_zip), repo="user_default", enable_on_install=True)
        assert res == {"FINISHED"}
    assert ADDON in bpy.context.preferences.addons, "the extension did not enable"
    prefs = bpy.context.preferences.addons[ADDON].preferences
    prefs.worker_executable = engine_python()
    yield sys.modules[ADDON]


@pytest.fixture(scope="session")
def davis_frames(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first frames of a DAVIS-2016 sequence, copied so the clip is short (JPEG, 854x480, numbered from 0)."""
    src = DAVIS / "JPEGImages" / "480p" / SEQ
    if not src.is_dir():
        pytest.skip(f"DAVIS-2016 data not found at {src} (clone the project with ../shared beside it)")
    dst = tmp_path_factory.mktemp("plate")
    for i in range(N_FRAMES):
        shutil.copy2(src / f"{i:05d}.jpg", dst / f"{i:05d}.jpg")
    return dst


def gt_mask(frame: int) -> "np.ndarray":  # type: ignore[name-defined]  # noqa: F821
    """Ground-truth mask of ``frame`` as bool (H, W), top row first (read with Blender's image loader)."""
    import numpy as np

    img = bpy.data.images.load(str(DAVIS / "Annotations" / "480p" / SEQ / f"{frame:05d}.png"), check_existing=False)
    try:
        w, h = img.size
        px = np.empty(w * h * img.channels, np.float32)
        img.pixels.foreach_get(px)
        return px.reshape(h, w, img.channels)[::-1, :, 0] > 0.5
    finally:
        bpy.data.images.remove(img)


@pytest.fixture()
def clip(addon, davis_frames: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A fresh MovieClip of the DAVIS frames, active in the scene, with its output folder in ``tmp_path``."""
    clip = bpy.data.movieclips.load(str(davis_frames / "00000.jpg"))
    clip.name = f"{SEQ}_{tmp_path.name}"[:60]
    scene = bpy.context.scene
    scene.active_clip = clip
    scene.frame_start, scene.frame_end = 1, N_FRAMES
    scene.frame_set(1)
    clip.inkpaint.output_dir = str(tmp_path / "out") + os.sep
    yield clip
