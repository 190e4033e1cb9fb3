"""inkpaint for Nuke: InkpaintRoto, InkpaintShade and InkpaintPaint nodes.

Nuke never imports the engine (no torch, no OpenImageIO in Nuke's Python): the nodes build job specs, run them in
an ``inkpaint worker`` child process (see :mod:`inkpaint_nuke.settings` for which one) and read the results back
with internal Read nodes. Create nodes with :func:`create_roto`, :func:`create_shade`, :func:`create_paint`.
"""

from __future__ import annotations

import sys
from typing import Any

MIN_NUKE = 14
"""The oldest Nuke the plugin supports (Nuke 14 runs Python 3.9; Nuke 15 3.10; Nuke 16 3.11)."""
MIN_PYTHON = (3, 9)

if sys.version_info < MIN_PYTHON:
    raise ImportError(
        f"inkpaint needs Nuke {MIN_NUKE} or newer (Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]}+); this Nuke runs Python "
        f"{sys.version_info[0]}.{sys.version_info[1]}"
    )

__version__ = "0.1.0"
NODE_VERSION = 1
"""Version of the nodes' knob layout, stored in each node's hidden ``inkpaint_node`` knob."""


def create_roto(name: str | None = None, inpanel: bool = True) -> Any:
    """Create an InkpaintRoto node (main thread)."""
    from . import roto_node

    return roto_node.create(name, inpanel)


def create_shade(name: str | None = None, inpanel: bool = True) -> Any:
    """Create an InkpaintShade node (main thread)."""
    from . import shade_node

    return shade_node.create(name, inpanel)


def create_paint(name: str | None = None, inpanel: bool = True) -> Any:
    """Create an InkpaintPaint node (main thread)."""
    from . import paint_node

    return paint_node.create(name, inpanel)
