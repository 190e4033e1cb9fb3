"""Workstation installers: install/nuke.py stores the worker as an absolute path, keeps init.py's permissions and
removes its prefs on uninstall; ``bootstrap.py --hosts`` is idempotent and ``--uninstall`` leaves nothing of ours."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    p = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd)
    assert p.returncode == 0, p.stdout + p.stderr
    return p


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(folder)): (p.read_bytes(), stat.S_IMODE(p.stat().st_mode))
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_nuke_worker_is_absolute_permissions_kept_prefs_removed(tmp_path: Path) -> None:
    nuke = tmp_path / "nuke"
    nuke.mkdir()
    (nuke / "init.py").write_text("print('studio init')\n")
    (nuke / "init.py").chmod(0o750)
    venv_python = Path(sys.executable)
    rel = os.path.relpath(venv_python, tmp_path)  # as a user types it from their folder
    _run(str(ROOT / "install" / "nuke.py"), "--nuke-dir", str(nuke), "--worker", rel, cwd=tmp_path)
    worker = json.loads((nuke / "inkpaint_prefs.json").read_text())["worker"]
    assert os.path.isabs(worker) and os.path.samefile(worker, venv_python)
    assert stat.S_IMODE((nuke / "init.py").stat().st_mode) == 0o750
    assert "nuke.pluginAddPath(" in (nuke / "init.py").read_text()
    first = _snapshot(nuke)
    _run(str(ROOT / "install" / "nuke.py"), "--nuke-dir", str(nuke), "--worker", rel, cwd=tmp_path)
    assert _snapshot(nuke) == first  # idempotent
    _run(str(ROOT / "install" / "nuke.py"), "--nuke-dir", str(nuke), "--uninstall")
    assert not (nuke / "inkpaint_prefs.json").exists()
    assert (nuke / "init.py").read_text() == "print('studio init')\n"
    assert stat.S_IMODE((nuke / "init.py").stat().st_mode) == 0o750


def test_a_missing_worker_path_is_an_error(tmp_path: Path) -> None:
    p = subprocess.run([sys.executable, str(ROOT / "install" / "nuke.py"), "--nuke-dir", str(tmp_path),
                        "--worker", "no/such/python"], capture_output=True, text=True, cwd=tmp_path)
    assert p.returncode != 0 and "does not exist" in p.stderr + p.stdout
    assert not (tmp_path / "inkpaint_prefs.json").exists()


def test_bootstrap_hosts_is_idempotent_and_uninstalls(tmp_path: Path) -> None:
    if not (ROOT / ".venv" / "bin" / "inkpaint").exists():
        import pytest

        pytest.skip("needs this checkout's .venv (bootstrap --hosts would create it)")
    nuke, ext = tmp_path / "nuke", tmp_path / "ext"
    args = [str(ROOT / "install" / "bootstrap.py"), "--hosts", "--nuke-dir", str(nuke), "--blender-dir", str(ext)]
    _run(*args)
    assert (ext / "inkpaint" / "blender_manifest.toml").is_file()
    assert json.loads((nuke / "inkpaint_prefs.json").read_text())["worker"] == str(ROOT / ".venv" / "bin" / "python")
    first = {**_snapshot(nuke), **{f"ext/{k}": v for k, v in _snapshot(ext).items()}}
    _run(*args)
    assert {**_snapshot(nuke), **{f"ext/{k}": v for k, v in _snapshot(ext).items()}} == first
    _run(*args, "--uninstall")
    assert not (ext / "inkpaint").exists() and not (nuke / "inkpaint_prefs.json").exists()
    assert "inkpaint" not in (nuke / "init.py").read_text()
    _run(*args, "--uninstall")  # nothing left to remove is fine
