"""The core is host-agnostic: importing every ``core/inkpaint`` module never imports nuke, bpy or pyblish, and the
default path (package, CLI, registry, operations, classic backend) never imports torch or sam2.

Runs in a fresh interpreter where a meta-path finder makes ``import nuke``/``bpy``/``pyblish`` raise.
"""

from __future__ import annotations

import json
import subprocess
import sys

from inkpaint.registry import ROTO_BACKENDS

PROBE = r"""
import importlib, importlib.abc, json, pkgutil, sys

BLOCKED = ("nuke", "bpy", "pyblish")


class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"host module {name!r} imported by the core")
        return None


sys.meta_path.insert(0, Blocker())
skip = set(json.loads(sys.argv[1]))

import inkpaint
import inkpaint.cli

inkpaint.cli.build_parser()  # imports every operation module the CLI lists
from inkpaint.registry import load_backend, available_backends

load_backend("classic")
default_path = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "sam2"))

imported, failed = [], {}
for mod in pkgutil.walk_packages(inkpaint.__path__, "inkpaint."):
    if mod.name in skip:
        continue
    try:
        importlib.import_module(mod.name)
        imported.append(mod.name)
    except Exception as exc:  # reported, not hidden: a module that cannot import is a failure too
        failed[mod.name] = f"{type(exc).__name__}: {exc}"
hosts = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "sam2"))
print(json.dumps({"default_path": default_path, "imported": imported, "failed": failed, "hosts": hosts, "heavy": heavy}))
"""


def test_core_modules_never_import_hosts_nor_torch_on_the_default_path() -> None:
    # Only the registered sam2 backend module may import torch at import time; it is skipped from the walk.
    # inkpaint.__main__ is `python -m inkpaint` itself: importing it runs the CLI (it imports only inkpaint.cli).
    skip = [ROTO_BACKENDS["sam2"], "inkpaint.__main__"]
    out = subprocess.run([sys.executable, "-c", PROBE, json.dumps(skip)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["default_path"] == [], f"the default path imported {report['default_path'][:5]}"
    assert report["failed"] == {}, report["failed"]
    assert report["hosts"] == []
    assert report["heavy"] == [], f"importing core modules pulled in {report['heavy'][:5]}"
    for must in ("inkpaint.cli", "inkpaint.worker", "inkpaint.ops.roto", "inkpaint.backends.classic", "inkpaint.io.frames"):
        assert must in report["imported"]
