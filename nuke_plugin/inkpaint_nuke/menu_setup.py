"""Menu entries (called from ``menu.py``): Nodes > Inkpaint > InkpaintRoto / InkpaintShade / InkpaintPaint."""

from __future__ import annotations

import nuke


def register() -> None:
    """Add the Inkpaint menu to the Nodes toolbar (GUI only; does nothing in terminal mode)."""
    if not nuke.env["gui"]:
        return
    toolbar = nuke.toolbar("Nodes")
    if toolbar is None:
        return
    menu = toolbar.addMenu("Inkpaint")
    menu.addCommand("InkpaintRoto", "import inkpaint_nuke; inkpaint_nuke.create_roto()")
    menu.addCommand("InkpaintShade", "import inkpaint_nuke; inkpaint_nuke.create_shade()")
    menu.addCommand("InkpaintPaint", "import inkpaint_nuke; inkpaint_nuke.create_paint()")
    menu.addCommand("Worker settings", "import inkpaint_nuke.callbacks; inkpaint_nuke.callbacks.print_settings()")
