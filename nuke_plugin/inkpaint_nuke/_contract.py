"""Finds the engine's stdlib-only contract package ``inkpaint.jobs`` for the plugin (Nuke never imports the rest
of the engine).

The plugin is installed from a checkout (``install/nuke.py`` adds this checkout's ``nuke_plugin/`` to Nuke's plugin
path), so the package is the checkout's ``core/inkpaint/jobs``: when ``inkpaint`` is not importable already, the
checkout's ``core/`` folder is put on ``sys.path``. Only ``inkpaint/__init__.py`` (stdlib) and ``inkpaint.jobs``
are imported from it.
"""

from __future__ import annotations

import os
import sys

try:
    from inkpaint import jobs
    from inkpaint.jobs import client
except ImportError:  # a plain Nuke: use the checkout's core/ (one source of truth, nothing copied)
    _core = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "core")
    if not os.path.isdir(os.path.join(_core, "inkpaint", "jobs")):
        raise ImportError(f"inkpaint: the engine's job package is missing ({_core}/inkpaint/jobs); "
                          "install the plugin from an inkpaint checkout (python install/nuke.py)") from None
    sys.path.insert(0, _core)
    from inkpaint import jobs
    from inkpaint.jobs import client

__all__ = ["jobs", "client"]
