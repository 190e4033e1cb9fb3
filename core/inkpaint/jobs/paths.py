"""Where jobs write things: manifests beside output sequences, the cel job's layer folders, pattern comparisons.

The hosts use these to find a finished job's results exactly as the engine names them.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any, Dict, Iterable

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
    ``sh_v1``); when the file name is only the frame number (``sh_v1/#####.jpg``), the folder's name (``sh_v1``);
    ``frames`` when neither has one. The cel job files its layers under it."""
    seq = FrameSequence.parse(pattern, what="input")
    stem = os.path.basename(seq.prefix).rstrip("._-")
    if not stem:
        stem = os.path.basename(os.path.abspath(os.path.dirname(seq.prefix) or ".")).strip("._-")
    return stem or "frames"


def layer_pattern(pattern: str, layer: str) -> str:
    """Sibling sequence of a layer: ``cel/shot.####.png`` -> ``cel/shot.colour.####.png``."""
    seq = FrameSequence.parse(pattern)
    token = pattern[len(seq.prefix) : len(pattern) - len(seq.suffix)]
    prefix = seq.prefix
    sep = "" if prefix == "" or prefix.endswith(("/", ".", "_", "-")) else "."
    return f"{prefix}{sep}{layer}.{token}{seq.suffix}"


def content_key(data: Dict[str, Any], leave_out: Iterable[str] = ()) -> str:
    """A hash (16 hex digits) of a JSON-ready dict without its ``leave_out`` keys: the hosts name result folders by
    it, so the same settings find the same results again and changed settings never overwrite earlier ones."""
    skip = set(leave_out)
    body = {k: v for k, v in data.items() if k not in skip}
    canon = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()[:16]


def file_digest(path: str) -> str:
    """SHA-256 (16 hex digits) of a file's bytes, ``""`` when unreadable: a palette or keyframe edited in place
    changes the keys that include it."""
    try:
        with open(path, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()[:16]
    except OSError:
        return ""


__all__ = ["content_key", "file_digest", "MANIFEST_SUFFIX", "manifest_path", "same_pattern", "shot_name", "layer_pattern"]
