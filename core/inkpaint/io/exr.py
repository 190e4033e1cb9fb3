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

import io
import json
import os
import struct
import time
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any

import numpy as np

from ..cvcompat import to_float32

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
    if mod is None or legacy is None:
        return None
    fast = _read_rows_unlocked(mod, path, names, half, y0, y1)
    if fast is not None:
        return fast
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


#: Scanlines per chunk by the EXR compression code (NO, RLE, ZIPS, ZIP, PIZ, PXR24, B44, B44A, DWAA, DWAB).
_CHUNK_LINES = (1, 1, 1, 16, 32, 16, 32, 32, 32, 256)
_MAGIC = 20000630
_NOT_SINGLE_SCANLINE = 0x200 | 0x800 | 0x1000  # version flags: tiled, deep (non-image), multi-part


def _header_attributes(head: bytes) -> tuple[dict[str, tuple[int, int]], int] | None:
    """``name -> (offset, size)`` of a single-part scanline EXR header's attribute values, and where the header
    ends (the offset table's start); ``None`` when ``head`` is not such a header or is cut short."""
    if len(head) < 8:
        return None
    magic, version = struct.unpack_from("<iI", head, 0)
    if magic != _MAGIC or version & _NOT_SINGLE_SCANLINE:
        return None
    pos, attrs = 8, {}
    while pos < len(head) and head[pos] != 0:
        name_end = head.find(b"\0", pos)
        type_end = head.find(b"\0", name_end + 1) if name_end >= 0 else -1
        if type_end < 0 or type_end + 5 > len(head):
            return None
        (size,) = struct.unpack_from("<i", head, type_end + 1)
        attrs[head[pos:name_end].decode("latin-1")] = (type_end + 5, size)
        pos = type_end + 5 + size
    return (attrs, pos + 1) if pos < len(head) else None


def _read_rows_unlocked(mod: ModuleType, path: str, names: Sequence[str], half: bool, y0: int, y1: int) -> list[np.ndarray] | None:
    """:func:`read_rows` through ``OpenEXR.File``, which decodes without holding Python's GIL (the legacy
    ``InputFile.channels`` holds it for the whole decode, ~11 ms per 1080p plate's window, so the cel job's other
    threads could not run Python meanwhile: half of that job's GIL time was this one call).

    ``OpenEXR.File`` decodes every row of a file, so it is handed a file holding only the chunks of rows
    ``y0..y1``: the header with its ``dataWindow`` rows narrowed in place (same size), a shorter offset table and
    the chunks' bytes as stored (no recompression). Pixels are those of the legacy reader (tests compare them for
    every compression). With :func:`inkpaint.allocator.tune_allocator` the in-memory copy costs no page faults; the
    decode then takes the legacy reader's CPU. Returns ``None`` (the caller uses the legacy reader) for anything else: tiled, deep or
    multi-part files, another line order, channels asked for being less than half of the file's (every channel is
    decoded here), subsampled channels, or a layout not as expected.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 16)
            parsed = _header_attributes(head)
            if parsed is None:
                return None
            attrs, table = parsed
            if "chunkCount" in attrs or "dataWindow" not in attrs or "compression" not in attrs or "channels" not in attrs:
                return None
            order = attrs.get("lineOrder")
            if order is not None and head[order[0]] != 0:  # INCREASING_Y only
                return None
            compression = head[attrs["compression"][0]]
            if compression >= len(_CHUNK_LINES):
                return None
            lines = _CHUNK_LINES[compression]
            dw = attrs["dataWindow"][0]
            xmin, ymin, xmax, ymax = struct.unpack_from("<iiii", head, dw)
            if not (ymin <= y0 <= y1 <= ymax):
                return None
            chunks = (ymax - ymin) // lines + 1
            if table + 8 * chunks > len(head):
                fh.seek(0)
                head = fh.read(table + 8 * chunks)
                if len(head) < table + 8 * chunks:
                    return None
            offsets = np.frombuffer(head, "<u8", chunks, table).astype(np.int64)
            c0, c1 = (y0 - ymin) // lines, (y1 - ymin) // lines
            start = int(offsets[c0])
            end = int(offsets[c1 + 1]) if c1 + 1 < chunks else os.fstat(fh.fileno()).st_size
            if end <= start or end > os.fstat(fh.fileno()).st_size or (np.diff(offsets[c0 : c1 + 2]) <= 0).any():
                return None  # chunks not stored one after another in row order
            ys = []
            for o in offsets[c0 : c1 + 1]:
                fh.seek(int(o))
                ys.append(struct.unpack("<i", fh.read(4))[0])
            if ys != [ymin + lines * c for c in range(c0, c1 + 1)]:
                return None
            prefix = bytearray(head[:table])
            ny0, ny1 = ymin + c0 * lines, min(ymin + (c1 + 1) * lines - 1, ymax)
            struct.pack_into("<iiii", prefix, dw, xmin, ny0, xmax, ny1)
            prefix += (offsets[c0 : c1 + 1] - start + table + 8 * (c1 - c0 + 1)).astype("<u8").tobytes()
            fh.seek(start)
            body = fh.read(end - start)
            if len(body) != end - start:
                return None
            # one in-memory file: OpenEXR.File then decodes with the GIL released (a Python stream object would
            # have it call back into Python, holding the GIL, for every chunk)
            f = mod.File(io.BytesIO(bytes(prefix) + body), separate_channels=True)
            channels = f.channels()
    except (OSError, struct.error, ValueError):
        return None  # the legacy reader reports what is wrong with the file
    if len(names) * 2 < len(channels) or any(n not in channels for n in names):
        return None
    planes = []
    for n in names:
        pix = channels[n].pixels
        if pix.ndim != 2 or pix.shape != (ny1 - ny0 + 1, xmax - xmin + 1) or pix.dtype not in (np.float16, np.float32):
            return None  # subsampled or integer channels: the legacy reader
        pix = pix[y0 - ny0 : y1 - ny0 + 1]
        if half and pix.dtype != np.float16:
            return None
        planes.append(pix if half or pix.dtype == np.float32 else to_float32(pix))
    return planes


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
