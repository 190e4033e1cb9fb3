"""Finds the engine's stdlib-only contract package ``inkpaint.jobs`` (job classes, worker client) for the add-on.

A Blender extension must be self-contained, so ``install/blender.py`` copies ``core/inkpaint/jobs`` into the
extension as ``_vendor/inkpaint_jobs`` when it builds the zip (one source of truth in the repository, nothing
copied by hand). Run from a checkout (``blender_addon/`` itself), the checkout's ``core/`` is used instead.
"""

from __future__ import annotations

import os
import sys

try:
    from ._vendor import inkpaint_jobs as jobs  # type: ignore[attr-defined]
    from ._vendor.inkpaint_jobs import client  # type: ignore[attr-defined]
except ImportError:  # run from a checkout's blender_addon/: its core/inkpaint/jobs (stdlib only)
    _core = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "core")
    if not os.path.isdir(os.path.join(_core, "inkpaint", "jobs")):
        raise ImportError("inkpaint: this add-on was built without its job package (_vendor/inkpaint_jobs); "
                          "build it with install/blender.py") from None
    if _core not in sys.path:
        sys.path.insert(0, _core)
    from inkpaint import jobs
    from inkpaint.jobs import client

__all__ = ["jobs", "client"]
