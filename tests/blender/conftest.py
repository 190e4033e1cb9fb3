"""``tests/blender/inside`` imports bpy: the main run (engine venv, no bpy) leaves it to test_in_blender.py."""

from __future__ import annotations

import importlib.util

collect_ignore = [] if importlib.util.find_spec("bpy") is not None else ["inside"]
