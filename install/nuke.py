#!/usr/bin/env python3
"""Install (or uninstall) the inkpaint Nuke plugin for the current user.

Adds, between marker comments, a ``nuke.pluginAddPath(...)`` line for this checkout's ``nuke_plugin/`` folder to
``~/.nuke/init.py``. Running it again replaces the block (idempotent); ``--uninstall`` removes it and leaves the
rest of the file as it was. The file is rewritten atomically with its permissions kept, and a backup
``init.py.inkpaint-backup`` is kept the first time it is changed.

Usage::

    python install/nuke.py [--nuke-dir ~/.nuke] [--worker /path/to/inkpaint/.venv/bin/python] [--uninstall]

``--worker`` also writes ``inkpaint_prefs.json`` in the Nuke folder (the plugin's preferences file), so Nuke
knows which Python runs the worker; without it the ``INKPAINT_WORKER`` variable or an ``inkpaint`` on PATH is used.
The worker is stored as an absolute path (Nuke starts it from its own working folder, so ``.venv/bin/python``
would not resolve there); a bare command name is looked up on PATH. ``--uninstall`` also removes the prefs file.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path

BEGIN = "# >>> inkpaint >>> (managed by install/nuke.py; edits inside this block are replaced)"
END = "# <<< inkpaint <<<"
PLUGIN_DIR = Path(__file__).resolve().parent.parent / "nuke_plugin"


def block(plugin_dir: Path) -> str:
    path = str(plugin_dir).replace("\\", "/")
    return f"{BEGIN}\nimport nuke\nnuke.pluginAddPath({path!r})\n{END}\n"


def strip_block(text: str) -> str:
    """``text`` without the managed block (and without the blank line that separated it)."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    inside = False
    for line in lines:
        if line.rstrip("\r\n") == BEGIN:
            inside = True
            if out and out[-1].strip() == "":
                out.pop()
            continue
        if inside:
            if line.rstrip("\r\n") == END:
                inside = False
            continue
        out.append(line)
    if inside:
        raise SystemExit(f"inkpaint: the inkpaint block in the Nuke init.py has no end marker ({END!r}); fix it by hand")
    return "".join(out)


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one rename, keeping its permission bits (a new file gets 0644 less umask)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o644 & ~umask
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, mode)  # mkstemp makes 0600: keep the file readable as it was
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def absolute_worker(worker: str) -> str:
    """The worker executable as an absolute path: an absolute path kept (a note when it is not there), a relative
    one (``.venv/bin/python``, ``~/...``) made absolute, a bare command name (``inkpaint``) looked up on PATH.

    Raises:
        SystemExit: a relative path that does not exist, or a command that is not on PATH.
    """
    expanded = os.path.expanduser(worker)
    if os.path.isabs(expanded):
        if not os.path.exists(expanded):  # may be a studio path mounted later: say so, keep it
            print(f"inkpaint: note: the worker '{expanded}' does not exist on this machine (yet)", file=sys.stderr)
        return expanded
    if os.sep in expanded or (os.altsep and os.altsep in expanded) or os.path.exists(expanded):
        full = os.path.abspath(expanded)
        if not os.path.exists(full):
            raise SystemExit(f"inkpaint: --worker {worker!r}: '{full}' does not exist")
        return full
    found = shutil.which(expanded)
    if found is None:
        raise SystemExit(f"inkpaint: --worker {worker!r} is not a path and not a command on PATH")
    return os.path.abspath(found)


def install(nuke_dir: Path, plugin_dir: Path = PLUGIN_DIR, worker: str | None = None) -> Path:
    init = nuke_dir / "init.py"
    old = init.read_text(encoding="utf-8") if init.exists() else ""
    body = strip_block(old)
    if body and not body.endswith("\n"):
        body += "\n"
    new = body + ("\n" if body.strip() else "") + block(plugin_dir)
    if old and new != old:
        backup = nuke_dir / "init.py.inkpaint-backup"
        if not backup.exists():
            backup.write_text(old, encoding="utf-8")
    if new != old:
        write_atomic(init, new)
    if worker:
        prefs = nuke_dir / "inkpaint_prefs.json"
        data = json.loads(prefs.read_text(encoding="utf-8")) if prefs.exists() else {}
        data["worker"] = absolute_worker(worker)
        new_prefs = json.dumps(data, indent=2) + "\n"
        if not prefs.exists() or prefs.read_text(encoding="utf-8") != new_prefs:
            write_atomic(prefs, new_prefs)
    return init


def uninstall(nuke_dir: Path) -> bool:
    """Remove the block and the plugin's prefs file; returns whether anything was there."""
    removed = False
    prefs = nuke_dir / "inkpaint_prefs.json"
    if prefs.exists():
        prefs.unlink()
        removed = True
    init = nuke_dir / "init.py"
    if not init.exists():
        return removed
    old = init.read_text(encoding="utf-8")
    new = strip_block(old)
    if new == old:
        return removed
    write_atomic(init, new)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="install the inkpaint Nuke plugin (adds nuke_plugin/ to ~/.nuke/init.py)")
    parser.add_argument("--nuke-dir", default=os.path.join(os.path.expanduser("~"), ".nuke"), help="the user's Nuke folder (default ~/.nuke)")
    parser.add_argument("--worker", help="Python (or inkpaint executable) that runs the worker; written to inkpaint_prefs.json")
    parser.add_argument("--uninstall", action="store_true", help="remove the plugin path again")
    args = parser.parse_args(argv)
    nuke_dir = Path(args.nuke_dir).expanduser()
    if args.uninstall:
        removed = uninstall(nuke_dir)
        print(f"inkpaint: {'removed from' if removed else 'was not installed in'} {nuke_dir} (init.py block, inkpaint_prefs.json)")
        return 0
    if not (PLUGIN_DIR / "menu.py").is_file():
        print(f"inkpaint: {PLUGIN_DIR} does not look like the plugin folder (no menu.py)", file=sys.stderr)
        return 1
    init = install(nuke_dir, PLUGIN_DIR, args.worker)
    print(f"inkpaint: {init} now adds {PLUGIN_DIR} to Nuke's plugin path; restart Nuke")
    return 0


if __name__ == "__main__":
    sys.exit(main())
