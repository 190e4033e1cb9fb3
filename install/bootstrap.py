#!/usr/bin/env python3
"""Set up inkpaint's environments on a fresh machine, then run the demo or the tests.

    python3 install/bootstrap.py --demo     # core env (.venv), then `inkpaint demo` (no weights), its contact sheet's path last
    python3 install/bootstrap.py --test     # core + sam2 + test deps, Blender-as-a-module env, then all tests
    python3 install/bootstrap.py --hosts    # a workstation: worker env (.venv), Nuke plugin, Blender extension
    python3 install/bootstrap.py --hosts --uninstall   # remove the Nuke plugin and Blender extension again

Environments:
- ``.venv``: the engine and worker (numpy 2, OpenImageIO, OpenCV; with ``--with sam2``: CPU/GPU torch and sam2).
- ``.venv-blender``: Blender as a Python module (``bpy==5.0.1``, which needs numpy < 2) for the add-on's tests. The
  add-on itself never imports the engine: it starts the worker from ``.venv``, exactly as inside Blender.

sam2 is installed with ``--no-deps --no-build-isolation`` and ``SAM2_BUILD_CUDA=0``: its metadata demands torchvision,
which the CPU torch wheel cannot load and the video-predictor path never imports, and an isolated build would
download a second, multi-GB torch just to build it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TORCH = os.environ.get("INKPAINT_TORCH", "torch==2.13.0")
SAM2 = "sam2==1.1.0"
BPY = "bpy==5.0.1"


def _bin(env: Path, name: str) -> Path:
    return env / ("Scripts" if os.name == "nt" else "bin") / name


def sh(*cmd: str | Path, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, env={**os.environ, **(env or {})}, cwd=ROOT)


def make_env(path: Path) -> Path:
    py = _bin(path, "python")
    if not py.exists():
        venv.EnvBuilder(with_pip=True).create(path)
    return py


def pip(py: Path, *args: str, env: dict[str, str] | None = None) -> None:
    sh(py, "-m", "pip", "install", "--disable-pip-version-check", "-q", *args, env=env)


def core_env(extras: set[str]) -> Path:
    py = make_env(ROOT / ".venv")
    spec = "." + (f"[{','.join(sorted(extras))}]" if extras else "")
    if "sam2" in extras:
        pip(py, TORCH)  # first, so nothing below pulls another torch
    pip(py, "-e", spec)
    if "sam2" in extras:
        pip(py, "--no-deps", "--no-build-isolation", SAM2, env={"SAM2_BUILD_CUDA": "0"})
    return py


def blender_env() -> Path | None:
    if sys.version_info[:2] != (3, 11):
        print(f"note: bpy 5.0.1 needs Python 3.11 (this is {sys.version.split()[0]}); Blender tests will skip", flush=True)
        return None
    py = make_env(ROOT / ".venv-blender")
    pip(py, BPY, "numpy>=1.26,<2", "pytest>=8")
    return py


def hosts(uninstall: bool, nuke_dir: str | None = None, blender_dir: str | None = None) -> int:
    """Everything a workstation needs, idempotent: the worker environment (``.venv``, created when it has no
    ``inkpaint``), the Nuke plugin (``install/nuke.py --worker <abs .venv python>``) and the Blender extension
    (``install/blender.py --worker ...``). With ``uninstall`` the plugin, its prefs and the extension are removed
    (``.venv`` stays: it is this checkout's). A host whose user folder is not there (no Blender configured) is
    skipped with a note, not an error.
    """
    nuke = [sys.executable, str(ROOT / "install" / "nuke.py")] + (["--nuke-dir", nuke_dir] if nuke_dir else [])
    blender = [sys.executable, str(ROOT / "install" / "blender.py")] + (["--target-dir", blender_dir] if blender_dir else [])
    if uninstall:
        sh(*nuke, "--uninstall")
        r = subprocess.run([*blender, "--uninstall"], cwd=ROOT)
        if r.returncode != 0:
            print("note: Blender extension not removed (see above)", flush=True)
        return 0
    py = _bin(ROOT / ".venv", "python")
    if not _bin(ROOT / ".venv", "inkpaint").exists():
        py = core_env(set())
    else:
        print(f"worker environment: {ROOT / '.venv'} (has inkpaint)", flush=True)
    sh(*nuke, "--worker", str(py))
    r = subprocess.run([*blender, *(["--no-blender"] if blender_dir else []), "--worker", str(py)], cwd=ROOT)
    if r.returncode != 0:
        print("note: Blender extension not installed (no Blender configuration found; start Blender once, or pass "
              "--blender-dir), the rest is", flush=True)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--with", dest="extras", default="", help="comma-separated extras for .venv (sam2, test)")
    ap.add_argument("--demo", action="store_true", help="run `inkpaint demo` afterwards")
    ap.add_argument("--test", action="store_true", help="install everything for the tests and run them")
    ap.add_argument("--no-blender", action="store_true", help="skip the Blender-as-a-module environment")
    ap.add_argument("--hosts", action="store_true", help="set up a workstation: worker env, Nuke plugin, Blender extension")
    ap.add_argument("--uninstall", action="store_true", help="with --hosts: remove the Nuke plugin and Blender extension")
    ap.add_argument("--nuke-dir", help="with --hosts: the user's Nuke folder (default ~/.nuke)")
    ap.add_argument("--blender-dir", help="with --hosts: a Blender extensions repository folder to copy into (default: "
                    "installed through a Blender binary, else the newest Blender configuration's user_default)")
    args = ap.parse_args()
    if args.uninstall and not args.hosts:
        ap.error("--uninstall goes with --hosts")
    if args.hosts:
        return hosts(args.uninstall, args.nuke_dir, args.blender_dir)
    extras = {e for e in args.extras.split(",") if e}
    if args.test:
        extras |= {"sam2", "test"}
    py = core_env(extras)
    rc = 0
    sheet = None
    if args.demo:
        demo_dir = ROOT / "inkpaint-demo"
        sh(_bin(ROOT / ".venv", "inkpaint"), "demo", "--out-dir", str(demo_dir))
        sheet = demo_dir / "contact_sheet.png"  # inkpaint.demo.SHEET_NAME; this script cannot import the engine
    if args.test:
        bpy_py = None if args.no_blender else blender_env()
        env = {"INKPAINT_TEST_PYTHON": str(py)}
        if bpy_py is not None:
            env["INKPAINT_BLENDER_PYTHON"] = str(bpy_py)
        # The slow tests (data-set runs) fit CI's budget, so --test runs them too: "slow or not slow" selects all.
        r = subprocess.run([str(py), "-m", "pytest", "-q", "-m", "slow or not slow"], cwd=ROOT, env={**os.environ, **env})
        rc = r.returncode
    if sheet is not None:  # the last line a newcomer sees: the picture that explains the product
        print(f"\ninkpaint demo contact sheet (open it): {sheet}", flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
