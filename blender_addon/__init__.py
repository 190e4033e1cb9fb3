"""Inkpaint for Blender: AI roto, ink/shade/finish and paint bucket from the Movie Clip Editor.

``register()`` and ``unregister()`` only wire things up; the work happens in the engine's worker process, which
the add-on starts with the Python configured in its preferences. See docs/blender.md.
"""

from __future__ import annotations

import logging

log = logging.getLogger("inkpaint.blender")

_registered: list[type] = []


def register() -> None:
    try:
        import bpy

        from . import farm, operators, overlay, props, stages, ui

        props.register()
        for cls in [*operators.CLASSES, *stages.CLASSES, *farm.CLASSES, *ui.CLASSES]:
            bpy.utils.register_class(cls)
            _registered.append(cls)
        overlay.register()
    except Exception:
        log.exception("Inkpaint add-on failed to register")
        raise


def unregister() -> None:
    try:
        import bpy

        from . import overlay, props, runner

        runner.unregister()
        overlay.unregister()
        while _registered:
            cls = _registered.pop()
            if getattr(cls, "is_registered", False):
                bpy.utils.unregister_class(cls)
        props.unregister()
    except Exception:
        log.exception("Inkpaint add-on failed to unregister cleanly")
        raise
