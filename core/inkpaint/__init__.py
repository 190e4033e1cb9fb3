"""inkpaint: AI rotoscoping and anime cel production for compositing apps.

The core package is host-agnostic: it never imports ``nuke``, ``bpy`` or ``pyblish``,
and heavy learned backends (torch, sam2) are imported lazily by the backend that needs them.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
