"""install/nuke.py (idempotent, preserves the user's init.py, uninstalls) and the start-up files' robustness."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
INSTALLER = ROOT / "install" / "nuke.py"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(INSTALLER), *args], capture_output=True, text=True, check=True)


def test_install_is_idempotent_and_uninstall_restores(tmp_path: Path) -> None:
    nuke_dir = tmp_path / ".nuke"
    nuke_dir.mkdir()
    user = "import nuke\nnuke.pluginAddPath('/studio/tools')  # the user's own line\n"
    (nuke_dir / "init.py").write_text(user)
    _run("--nuke-dir", str(nuke_dir))
    once = (nuke_dir / "init.py").read_text()
    _run("--nuke-dir", str(nuke_dir), "--worker", "/opt/ink/.venv/bin/python")
    twice = (nuke_dir / "init.py").read_text()
    assert once == twice and once.startswith(user)
    assert once.count("# >>> inkpaint >>>") == 1 and f"nuke.pluginAddPath({str(ROOT / 'nuke_plugin')!r})" in once
    assert (nuke_dir / "init.py.inkpaint-backup").read_text() == user
    assert json.loads((nuke_dir / "inkpaint_prefs.json").read_text())["worker"] == "/opt/ink/.venv/bin/python"
    # The block really adds the path when Nuke runs init.py.
    import nuke

    ns: dict[str, object] = {}
    exec(compile(twice, "init.py", "exec"), ns)
    assert str(ROOT / "nuke_plugin") in nuke.pluginPath()
    out = _run("--nuke-dir", str(nuke_dir), "--uninstall")
    assert "removed" in out.stdout and (nuke_dir / "init.py").read_text() == user
    assert "was not installed" in _run("--nuke-dir", str(nuke_dir), "--uninstall").stdout


def test_install_into_a_new_nuke_folder(tmp_path: Path) -> None:
    nuke_dir = tmp_path / "fresh" / ".nuke"
    _run("--nuke-dir", str(nuke_dir))
    text = (nuke_dir / "init.py").read_text()
    assert text.startswith("# >>> inkpaint >>>") and text.rstrip().endswith("# <<< inkpaint <<<")


def test_broken_block_is_refused(tmp_path: Path) -> None:
    (tmp_path / "init.py").write_text("# >>> inkpaint >>> (managed by install/nuke.py; edits inside this block are replaced)\nimport nuke\n")
    proc = subprocess.run([sys.executable, str(INSTALLER), "--nuke-dir", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode != 0 and "no end marker" in proc.stderr


@pytest.mark.parametrize("startup", ["init.py", "menu.py"])
def test_startup_files_log_instead_of_raising(startup: str, fake: object, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    source = (ROOT / "nuke_plugin" / startup).read_text()
    # Simulate a broken install: the package cannot be imported.
    monkeypatch.setitem(sys.modules, "inkpaint_nuke", None)
    with caplog.at_level(logging.ERROR, logger="inkpaint.nuke"):
        exec(compile(source, startup, "exec"), {"__name__": "__main__"})
    assert f"inkpaint: {startup} failed" in caplog.text
    # No UI in init.py; menu.py only imports and calls.
    if startup == "init.py":
        assert "toolbar" not in source and "menu(" not in source
    else:
        code = [line.strip() for line in source.splitlines() if line.strip() and not line.strip().startswith("#")]
        start = code.index("try:")  # after the minimum-Nuke gate (a message on Nuke 13 and older)
        assert code[:2] == ["import sys", "if sys.version_info < (3, 9):  # Nuke 13 and older: say so in the Script Editor instead of failing on imports"]
        assert code[start : start + 3] == ["try:", "import inkpaint_nuke.menu_setup", "inkpaint_nuke.menu_setup.register()"]
