"""Where jobs write things: manifests beside output sequences, the cel job's layer folders, pattern comparisons.

The hosts use these to find a finished job's results exactly as the engine names them.
"""

from __future__ import annotations

import os

from .errors import SpecError
from .frames import FrameSequence

MANIFEST_SUFFIX = ".inkpaint.json"


def manifest_path(pattern: str) -> str:
    """Where the manifest of an output sequence lives: ``roto/shot.####.exr`` -> ``roto/shot.inkpaint.json``."""
    seq = FrameSequence.parse(pattern)
    base = seq.prefix.rstrip("._-")
    if os.path.basename(base) == "":
        base = os.path.join(base, "frames")
    return base + MANIFEST_SUFFIX


def same_pattern(a: str, b: str) -> bool:
    """Whether two frame patterns name the same files (frame 1 of each resolves to the same path)."""
    try:
        pa, pb = FrameSequence.parse(a).path(1), FrameSequence.parse(b).path(1)
    except SpecError:
        return False
    return os.path.normcase(os.path.abspath(pa)) == os.path.normcase(os.path.abspath(pb))


def shot_name(pattern: str) -> str:
    """The shot name of a plate pattern: its file name before the frame token (``plates/sh_v1.####.exr`` ->
    ``sh_v1``), ``frames`` when that is empty. The cel job files its layers under it."""
    seq = FrameSequence.parse(pattern, what="input")
    stem = os.path.basename(seq.prefix).rstrip("._-")
    return stem or "frames"


def layer_pattern(pattern: str, layer: str) -> str:
    """Sibling sequence of a layer: ``cel/shot.####.png`` -> ``cel/shot.colour.####.png``."""
    seq = FrameSequence.parse(pattern)
    token = pattern[len(seq.prefix) : len(pattern) - len(seq.suffix)]
    prefix = seq.prefix
    sep = "" if prefix == "" or prefix.endswith(("/", ".", "_", "-")) else "."
    return f"{prefix}{sep}{layer}.{token}{seq.suffix}"


__all__ = ["MANIFEST_SUFFIX", "manifest_path", "same_pattern", "shot_name", "layer_pattern"]
