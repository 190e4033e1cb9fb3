#!/usr/bin/env python3
"""Build the Inkpaint Blender extension zip and install it.

    python install/blender.py                          # build + install into the newest Blender found
    python install/blender.py --blender /path/blender  # use this Blender binary
    python install/blender.py --zip-only               # just build dist/inkpaint-<version>.zip
    python install/blender.py --target-dir DIR         # copy the extension into DIR/inkpaint (no Blender needed)
    python install/blender.py --worker .venv/bin/python   # also set the add-on's worker executable (needs Blender)
    python install/blender.py --uninstall [--target-dir DIR]   # remove the extension folder again

With a Blender binary (``--blender``, ``$BLENDER`` or ``blender`` on PATH) the zip is built and validated by
``blender --command extension build`` and installed with ``blender --command extension install-file -r
user_default -e``, exactly as the Extensions preferences would. Without one, the zip is built here (the same
layout: the add-on files at the zip's root) and the extension is copied into the user extensions folder
(``<Blender config>/<version>/extensions/user_default/inkpaint``), to be enabled in Preferences > Add-ons.

Nothing is installed into Blender's Python: the add-on runs the engine in its own environment (the worker).
The engine's stdlib-only job package (``core/inkpaint/jobs``: job classes, worker client) is vendored into the
extension as ``_vendor/inkpaint_jobs`` at build time (extensions must be self-contained; the repository keeps one
copy).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "blender_addon"
EXTENSION_ID = "inkpaint"
EXCLUDE_DIRS = {"__pycache__", ".git"}
EXCLUDE_SUFFIXES = {".pyc", ".zip"}
JOBS_PACKAGE = ROOT / "core" / "inkpaint" / "jobs"
VENDOR_DIR = "_vendor"


def manifest_version(source: Path = SOURCE) -> str:
    text = (source / "blender_manifest.toml").read_text(encoding="utf-8")
    m = re.search(r'^version\s*=\s*"([^"]+)"', text, re.M)
    if not m:
        raise SystemExit(f"error: no version in {source / 'blender_manifest.toml'}")
    return m.group(1)


def addon_files(source: Path = SOURCE) -> list[Path]:
    """The files that make up the extension, relative to ``source`` (without the vendored job package)."""
    return [rel for rel, _ in _tree(source)]


def _tree(source: Path) -> list[tuple[Path, Path]]:
    out = []
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if path.is_dir() or any(part in EXCLUDE_DIRS for part in rel.parts) or path.suffix in EXCLUDE_SUFFIXES:
            continue
        out.append((rel, path))
    return out


def extension_files(source: Path = SOURCE) -> list[tuple[Path, Path]]:
    """``(path in the extension, file on disk)`` for every file of the built extension: the add-on's files and
    the engine's job package as ``_vendor/inkpaint_jobs``."""
    files = [(rel, path) for rel, path in _tree(source) if rel.parts[0] != VENDOR_DIR]
    files.append((Path(VENDOR_DIR) / "__init__.py", Path(__file__)))  # placeholder, written empty by stage_source
    files += [(Path(VENDOR_DIR) / "inkpaint_jobs" / rel, path) for rel, path in _tree(JOBS_PACKAGE)]
    return files


def stage_source(dest: Path, source: Path = SOURCE) -> Path:
    """Write the extension's source tree (add-on + vendored job package) into ``dest``; returns ``dest``."""
    for rel, path in extension_files(source):
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        if rel == Path(VENDOR_DIR) / "__init__.py":
            (dest / rel).write_text('"""Vendored at build time by install/blender.py; do not edit."""\n', encoding="utf-8")
        else:
            shutil.copy2(path, dest / rel)
    return dest


def find_blender(explicit: str | None) -> str | None:
    """A Blender binary: ``--blender``, ``$BLENDER``, then ``blender`` on PATH."""
    for cand in (explicit, os.environ.get("BLENDER"), shutil.which("blender")):
        if cand and (os.path.isfile(cand) or shutil.which(cand)):
            return cand
    if explicit:
        raise SystemExit(f"error: Blender binary '{explicit}' does not exist")
    return None


def build_zip(out_dir: Path, blender: str | None) -> Path:
    """Build ``inkpaint-<version>.zip`` in ``out_dir`` (with Blender's own builder when a binary is available)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{EXTENSION_ID}-{manifest_version()}.zip"
    with tempfile.TemporaryDirectory(prefix="inkpaint-ext-") as tmpdir:
        staged = stage_source(Path(tmpdir) / EXTENSION_ID)
        if blender:
            run([blender, "--factory-startup", "--command", "extension", "build", "--source-dir", str(staged), "--output-dir", str(out_dir)])
            if not target.exists():
                raise SystemExit(f"error: Blender did not write {target}")
            return target
        fd, tmp = tempfile.mkstemp(prefix=target.name, suffix=".part", dir=out_dir)
        os.close(fd)
        try:
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
                for rel, _ in _tree(staged):
                    zf.write(staged / rel, rel.as_posix())
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return target


def user_extensions_dir(blender_version: str | None) -> Path:
    """``<config>/<version>/extensions/user_default`` for this OS (``$BLENDER_USER_EXTENSIONS`` wins)."""
    env = os.environ.get("BLENDER_USER_EXTENSIONS")
    if env:
        return Path(env) / "user_default"
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming")) / "Blender Foundation" / "Blender"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support" / "Blender"
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "blender"
    version = blender_version
    if version is None:
        found = sorted(
            (p.name for p in base.glob("*") if re.fullmatch(r"\d+\.\d+", p.name)),
            key=lambda v: tuple(int(x) for x in v.split(".")),
        ) if base.is_dir() else []
        if not found:
            raise SystemExit(
                f"error: no Blender configuration found in {base}; start Blender once, or pass --blender-version "
                "or --target-dir"
            )
        version = found[-1]
    return base / version / "extensions" / "user_default"


def copy_into(target_dir: Path) -> Path:
    """Copy the extension into ``target_dir/inkpaint`` (replacing an older copy atomically enough: new dir, swap)."""
    dest = target_dir / EXTENSION_ID
    target_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{EXTENSION_ID}-", dir=target_dir))
    try:
        stage_source(staging)
        old = None
        if dest.exists():
            old = target_dir / f".{EXTENSION_ID}-old-{os.getpid()}"
            dest.rename(old)
        staging.rename(dest)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return dest


def uninstall(target_dir: Path) -> bool:
    """Remove ``target_dir/inkpaint`` if it is this extension (its ``blender_manifest.toml`` says ``id =
    "inkpaint"``); returns whether it was there. Anything else at that path is left alone (an error says so)."""
    dest = target_dir / EXTENSION_ID
    if not dest.exists():
        return False
    manifest = dest / "blender_manifest.toml"
    if not manifest.is_file() or not re.search(rf'^id\s*=\s*"{EXTENSION_ID}"', manifest.read_text(encoding="utf-8"), re.M):
        raise SystemExit(f"error: {dest} is not the Inkpaint extension (no blender_manifest.toml with id = \"{EXTENSION_ID}\"); left as is")
    shutil.rmtree(dest)
    return True


def set_worker(blender: str, worker: str) -> None:
    """Enable the extension and store the worker executable in Blender's saved preferences."""
    expr = (
        "import bpy, addon_utils; "
        f"addon_utils.enable('bl_ext.user_default.{EXTENSION_ID}', default_set=True); "
        f"bpy.context.preferences.addons['bl_ext.user_default.{EXTENSION_ID}'].preferences.worker_executable = {worker!r}; "
        "bpy.ops.wm.save_userpref()"
    )
    run([blender, "-b", "--python-expr", expr])


def run(cmd: list[str]) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--blender", help="Blender binary (default: $BLENDER, then 'blender' on PATH)")
    ap.add_argument("--no-blender", action="store_true", help="don't use a Blender binary even if one is found")
    ap.add_argument("--dist", default=str(ROOT / "dist"), help="where the zip is written (default: dist/)")
    ap.add_argument("--zip-only", action="store_true", help="build the zip and stop")
    ap.add_argument("--target-dir", help="copy the extension into this extensions repository folder instead")
    ap.add_argument("--blender-version", help="config version folder to install into without a binary (e.g. 5.0)")
    ap.add_argument("--worker", help="engine Python or 'inkpaint' executable to store in the add-on preferences")
    ap.add_argument("--uninstall", action="store_true", help="remove the extension (from --target-dir, else the user "
                    "extensions folder of --blender-version or the newest Blender configuration)")
    args = ap.parse_args(argv)
    if args.uninstall:
        target = Path(args.target_dir).expanduser().resolve() if args.target_dir else user_extensions_dir(args.blender_version)
        removed = uninstall(target)
        print(f"{'removed' if removed else 'not installed:'} {target / EXTENSION_ID}")
        return 0

    blender = None if args.no_blender else find_blender(args.blender)
    zip_path = build_zip(Path(args.dist), blender)
    print(f"built {zip_path}")
    if args.zip_only:
        return 0
    if args.target_dir:
        dest = copy_into(Path(args.target_dir).expanduser().resolve())
        print(f"installed into {dest} (enable 'Inkpaint' in Preferences > Add-ons)")
    elif blender:
        run([blender, "--command", "extension", "install-file", "-r", "user_default", "-e", str(zip_path)])
        print("installed and enabled in Blender's user_default repository")
    else:
        dest = copy_into(user_extensions_dir(args.blender_version))
        print(f"no Blender binary found: copied into {dest} (enable 'Inkpaint' in Preferences > Add-ons)")
    if args.worker:
        if not blender:
            print(f"note: set Preferences > Add-ons > Inkpaint > Worker executable to {args.worker} (no Blender binary to do it)")
        else:
            set_worker(blender, os.path.abspath(args.worker))
            print(f"worker executable set to {os.path.abspath(args.worker)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
