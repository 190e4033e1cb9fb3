"""pyblish plug-ins that check inkpaint job outputs on the farm (collect + validate, no extraction).

A studio makes them available in one of two ways:

- Python: ``import inkpaint_pyblish; inkpaint_pyblish.register()`` (with ``pyblish_plugins/`` on ``sys.path``);
- environment: add ``<repo>/pyblish_plugins/inkpaint_pyblish/plugins`` to ``PYBLISHPLUGINPATH`` (pyblish-base's
  variable; the plug-in files put ``pyblish_plugins/`` on ``sys.path`` themselves).

The plug-ins find the JSON manifests inkpaint writes beside every output sequence (``<prefix>.inkpaint.json``) in
the folders or files named by ``context.data["inkpaintPublishPaths"]`` or ``$INKPAINT_PUBLISH_PATHS``, make one
pyblish instance per job and validate it. See ``docs/pyblish.md``.

This package imports inkpaint (its spec loader, frame reader and palette); inkpaint never imports pyblish.
"""

from __future__ import annotations

import os

import pyblish.api

PLUGIN_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "plugins")
"""The folder holding the plug-in files (what ``register()`` registers and ``PYBLISHPLUGINPATH`` may name)."""


def register() -> None:
    """Register the inkpaint plug-ins with pyblish (``pyblish.api.register_plugin_path``)."""
    pyblish.api.register_plugin_path(PLUGIN_PATH)


def deregister() -> None:
    """Remove the plug-in folder registered by :func:`register` (no-op when it is not registered)."""
    if os.path.normpath(PLUGIN_PATH) in pyblish.api.registered_paths():
        pyblish.api.deregister_plugin_path(PLUGIN_PATH)


__all__ = ["PLUGIN_PATH", "register", "deregister"]
