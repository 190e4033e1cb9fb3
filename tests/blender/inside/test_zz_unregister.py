"""Disabling the add-on leaves nothing behind (runs last: file name sorts after the other in-Blender tests)."""

from __future__ import annotations

import sys

import bpy
from conftest import ADDON


def test_unregister_leaves_nothing_behind(addon) -> None:  # type: ignore[no-untyped-def]
    import addon_utils

    runner = sys.modules[f"{ADDON}.runner"]
    worker = runner.client(bpy.context)  # a running worker must be stopped by unregister
    proc = worker.proc
    drain = runner._drain
    before_ops = set(dir(bpy.ops.inkpaint))
    assert before_ops

    addon_utils.disable(ADDON, default_set=True)

    assert ADDON not in bpy.context.preferences.addons
    assert not [name for name in dir(bpy.types) if name.startswith(("INKPAINT_", "InkpaintPreferences"))]
    assert not hasattr(bpy.types.MovieClip, "inkpaint")
    assert not bpy.app.timers.is_registered(drain)
    assert proc.poll() is not None, "the worker process is still running after unregister"
    for op in before_ops:
        try:
            getattr(bpy.ops.inkpaint, op).get_rna_type()
        except KeyError:
            continue
        raise AssertionError(f"operator inkpaint.{op} is still registered")

    # enabling again works (and the clips' settings come back, stored in the .blend as ID properties)
    addon_utils.enable(ADDON, default_set=True)
    assert hasattr(bpy.types.MovieClip, "inkpaint")
    assert bpy.ops.inkpaint.worker_check.get_rna_type() is not None
