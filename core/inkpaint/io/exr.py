"""OpenEXR's own codec for EXR pixels, beside OpenImageIO.

OpenImageIO stays the frame I/O layer: it opens every file, reads headers, windows, channel names and metadata,
handles every other format and the colour management, and is the fall-back for anything this module does not take.
What this module does is decode and encode the *pixels* of plain EXR files with the ``OpenEXR`` Python bindings
(the Academy Software Foundation's reference implementation), because in the wheels this project installs they are
cheaper per value than OIIO's EXR plugin (``bench/exr_codec.py``, 1080p shot, process CPU: bounding-box
mattes read with 2.0x less, a plate's bounding-box rows 1.6x, the 10-channel cel written 1.5x; see
``docs/benchmarks.md``). The pixels and the header are the same either way (``tests/io/test_exr.py`` writes and
reads with both and compares).

``INKPAINT_EXR_CODEC=oiio`` turns it off (everything goes through OIIO); without the ``OpenEXR`` module, or for
files and options it does not cover (deep or multi-part files, ``dwaa:45``-style quality suffixes, metadata OIIO
would rename), OIIO is used as before.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any

import numpy as np

CODEC_ENV = "INKPAINT_EXR_CODEC"

_COMPRESSIONS = {
    "none": "NO_COMPRESSION",
    "rle": "RLE_COMPRESSION",
    "zips": "ZIPS_COMPRESSION",
    "zip": "ZIP_COMPRESSION",
    "piz": "PIZ_COMPRESSION",
    "pxr24": "PXR24_COMPRESSION",
    "b44": "B44_COMPRESSION",
    "b44a": "B44A_COMPRESSION",
    "dwaa": "DWAA_COMPRESSION",
    "dwab": "DWAB_COMPRESSION",
}

_module: ModuleType | None | bool = False  # False: not imported yet


def _openexr() -> ModuleType | None:
    """The ``OpenEXR`` module, or ``None`` when it is not installed or turned off by ``$INKPAINT_EXR_CODEC``."""
    global _module
    if os.environ.get(CODEC_ENV, "").strip().lower() == "oiio":
        return None
    if _module is False:
        try:
            import OpenEXR  # the ASWF bindings (pip: openexr)

            _module = OpenEXR
        except ImportError:  # pragma: no cover - openexr is a dependency; OIIO does the work without it
            _module = None
    return _module if isinstance(_module, ModuleType) else None


def enabled() -> bool:
    """Whether EXR pixels go through OpenEXR (else OpenImageIO)."""
    return _openexr() is not None


def takes(compression: str) -> bool:
    """Whether :func:`write` encodes this compression (names with a quality suffix are left to OIIO)."""
    return _openexr() is not None and compression in _COMPRESSIONS


def read_rows(path: str, names: Sequence[str], half: bool, y0: int, y1: int) -> list[np.ndarray] | None:
    """Decode scanlines ``y0..y1`` (inclusive, the file's pixel rows) of channels ``names``.

    Only the chunks holding those rows and only those channels are decoded.

    Args:
        path: a single-part, flat (not deep) EXR.
        names: channel names, all present in the file.
        half: return float16 (every channel is stored as half) rather than float32.
        y0, y1: first and last row, in the file's coordinates (as its data window is).

    Returns:
        One ``(y1 - y0 + 1, data window width)`` array per name, or ``None`` when OpenEXR is not used (the caller
        reads with OIIO).
    """
    mod = _openexr()
    legacy = getattr(mod, "InputFile", None) if mod is not None else None
    if legacy is None:
        return None
    import Imath  # ships with the OpenEXR bindings

    f = legacy(path)
    try:
        header = f.header()
        sampling = header.get("channels", {})
        if any((getattr(sampling.get(n), "xSampling", 1), getattr(sampling.get(n), "ySampling", 1)) != (1, 1) for n in names):
            return None  # subsampled channels (luminance/chroma files): OIIO reads them
        dw = header["dataWindow"]
        width = dw.max.x - dw.min.x + 1
        ptype = Imath.PixelType(Imath.PixelType.HALF if half else Imath.PixelType.FLOAT)
        raw = f.channels(list(names), ptype, y0, y1)
    finally:
        f.close()
    dtype = np.float16 if half else np.float32
    return [np.frombuffer(b, dtype).reshape(y1 - y0 + 1, width) for b in raw]


def header_metadata(metadata: Mapping[str, Any] | None, software: str) -> dict[str, Any] | None:
    """The EXR header attributes OIIO would write for ``metadata`` (see :func:`inkpaint.io.frames.write_exr`).

    Returns:
        Attributes for :func:`write`, or ``None`` when ``metadata`` holds a key OIIO renames or types on its own
        (``oiio:*`` other than ``oiio:ColorSpace``, EXR standard attributes ...): those are left to OIIO.
    """
    out: dict[str, Any] = {"Software": software, "capDate": time.strftime("%Y:%m:%d %H:%M:%S")}
    for key, value in (metadata or {}).items():
        if key == "oiio:ColorSpace":
            out["colorInteropID"] = str(value)
            continue
        if key.startswith(("oiio:", "openexr:")) or (":" not in key and not key.startswith("cryptomatte/")):
            return None
        value = attribute_value(value)
        if isinstance(value, int) and not -(2**31) <= value < 2**31:
            return None
        out[key] = value
    return out


def attribute_value(value: Any) -> int | float | str:
    """A metadata value as a header attribute stores it: bools as ints, numbers and strings as they are, anything
    else as JSON (both writers, OIIO's and this one, use this)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float | str):
        return value
    return json.dumps(value)


def write(
    path: str,
    channels: Mapping[str, np.ndarray],
    *,
    origin: tuple[int, int],
    size: tuple[int, int],
    compression: str,
    attributes: Mapping[str, Any],
) -> bool:
    """Encode a scanline EXR with OpenEXR (``path`` is written directly: the caller makes it atomic).

    Args:
        channels: name -> ``(h, w)`` array: float16 (half), float32 (float) or uint32 (uint), as stored.
        origin: ``(x, y)`` of the data window in the frame; the data window is ``w x h`` from there.
        size: the frame's ``(width, height)``: the display window.
        compression: a name of :data:`inkpaint.io.frames.EXR_COMPRESSIONS` without a quality suffix.
        attributes: from :func:`header_metadata`.

    Returns:
        ``False`` when OpenEXR is not used or does not take this compression (nothing was written).
    """
    mod = _openexr()
    if mod is None or not takes(compression):
        return False
    first = next(iter(channels.values()))
    h, w = first.shape
    x, y = origin
    header: dict[str, Any] = {
        "type": mod.scanlineimage,
        "compression": getattr(mod, _COMPRESSIONS[compression]),
        "dataWindow": (np.array([x, y], np.int32), np.array([x + w - 1, y + h - 1], np.int32)),
        "displayWindow": (np.array([0, 0], np.int32), np.array([size[0] - 1, size[1] - 1], np.int32)),
        "lineOrder": mod.INCREASING_Y,
        "pixelAspectRatio": 1.0,
        "screenWindowCenter": np.zeros(2, np.float32),
        "screenWindowWidth": 1.0,
        **attributes,
    }
    mod.File(header, {n: np.ascontiguousarray(a) for n, a in channels.items()}).write(path)
    return True


__all__ = ["CODEC_ENV", "enabled", "takes", "read_rows", "header_metadata", "attribute_value", "write"]
