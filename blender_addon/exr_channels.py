"""Read one channel of an engine EXR and re-write it as a layer Blender can open (no bpy, no engine import).

Why: Blender 5.0 opens a single-part EXR whose channels are all bare non-RGBA names (the engine's tone EXR:
``tone``, and with the learned method ``tonal``) as a plain image and returns garbage pixels (half bits read as
denormal floats; checked with bpy 5.0.1), while a layered channel (``tonal.V``) opens as a multilayer image whose
Image node has a ``tonal`` output. So the add-on decodes the channel itself (scanline EXRs with NONE, ZIPS or ZIP
compression, HALF/FLOAT/UINT pixels: what the engine writes with its default ``zip`` compression) and writes an
uncompressed single-layer EXR beside it.

Pure Python + numpy (bundled with Blender) + zlib.
"""

from __future__ import annotations

import os
import struct
import zlib

import numpy as np

_MAGIC = 20000630
_COMPRESSION_LINES = {0: 1, 2: 1, 3: 16}  # NONE, ZIPS, ZIP: scanlines per chunk
_PIXEL = {0: ("<u4", 4), 1: ("<f2", 2), 2: ("<f4", 4)}  # UINT, HALF, FLOAT


class ExrError(ValueError):
    """The file is not an EXR this reader handles; the message names the file and why."""


def _header(data: bytes, path: str) -> tuple[dict[str, tuple[str, bytes]], int]:
    if len(data) < 8 or struct.unpack_from("<i", data, 0)[0] != _MAGIC:
        raise ExrError(f"'{path}' is not an OpenEXR file")
    if struct.unpack_from("<i", data, 4)[0] & 0x1E00:  # tiled, long names, deep or multipart
        raise ExrError(f"'{path}': only single-part scanline EXRs are read here")
    pos, attrs = 8, {}
    while data[pos] != 0:
        end = data.index(b"\0", pos)
        name = data[pos:end].decode()
        tend = data.index(b"\0", end + 1)
        kind = data[end + 1 : tend].decode()
        (size,) = struct.unpack_from("<i", data, tend + 1)
        attrs[name] = (kind, data[tend + 5 : tend + 5 + size])
        pos = tend + 5 + size
    return attrs, pos + 1


def _channels(raw: bytes) -> list[tuple[str, int]]:
    out, pos = [], 0
    while raw[pos] != 0:
        end = raw.index(b"\0", pos)
        (ptype,) = struct.unpack_from("<i", raw, end + 1)
        out.append((raw[pos:end].decode(), ptype))
        pos = end + 1 + 16  # pixel type, pLinear + 3 reserved, xSampling, ySampling
    return out


def _unzip(block: bytes) -> bytes:
    """ZIP/ZIPS chunk -> raw bytes: inflate, undo the byte predictor (running sum mod 256), de-interleave."""
    raw = np.frombuffer(zlib.decompress(block), np.uint8).astype(np.int64)
    t = (np.cumsum(np.concatenate([raw[:1], raw[1:] - 128])) & 0xFF).astype(np.uint8)
    half = (len(t) + 1) // 2
    out = np.empty(len(t), np.uint8)
    out[0::2], out[1::2] = t[:half], t[half:]
    return out.tobytes()


def read_channel(path: str, name: str) -> np.ndarray:
    """Channel ``name`` of the EXR at ``path`` as ``(H, W)`` float32 over its display window (0 outside the data
    window).

    Raises:
        ExrError: not a readable EXR, an unsupported compression, or no channel ``name`` (the message lists the
            channels there are).
    """
    with open(path, "rb") as fh:
        data = fh.read()
    attrs, pos = _header(data, path)
    chans = _channels(attrs["channels"][1])
    names = [c for c, _ in chans]
    if name not in names:
        raise ExrError(f"'{path}' has no channel '{name}' (channels: {', '.join(names)})")
    (comp,) = struct.unpack("<B", attrs["compression"][1][:1])
    if comp not in _COMPRESSION_LINES:
        raise ExrError(f"'{path}': compression {comp} is not read here (only none, zips, zip)")
    dx0, dy0, dx1, dy1 = struct.unpack("<4i", attrs["dataWindow"][1])
    wx0, wy0, wx1, wy1 = struct.unpack("<4i", attrs["displayWindow"][1])
    w, h = dx1 - dx0 + 1, dy1 - dy0 + 1
    lines = _COMPRESSION_LINES[comp]
    nchunks = (h + lines - 1) // lines
    offsets = struct.unpack_from(f"<{nchunks}Q", data, pos)
    plane = np.zeros((h, w), np.float32)
    for off in offsets:
        y, size = struct.unpack_from("<ii", data, off)
        block = data[off + 8 : off + 8 + size]
        n = min(lines, dy1 + 1 - y)
        expect = n * w * sum(_PIXEL[p][1] for _, p in chans)
        raw = block if (comp == 0 or size == expect) else _unzip(block)
        at = 0
        for row in range(n):
            for cname, ptype in chans:
                dtype, nbytes = _PIXEL[ptype]
                if cname == name:
                    plane[y - dy0 + row] = np.frombuffer(raw, dtype, w, at).astype(np.float32)
                at += w * nbytes
    full = np.zeros((wy1 - wy0 + 1, wx1 - wx0 + 1), np.float32)
    ys, xs = max(dy0, wy0), max(dx0, wx0)
    ye, xe = min(dy1, wy1), min(dx1, wx1)
    if ye >= ys and xe >= xs:
        full[ys - wy0 : ye - wy0 + 1, xs - wx0 : xe - wx0 + 1] = plane[ys - dy0 : ye - dy0 + 1, xs - dx0 : xe - dx0 + 1]
    return full


def write_layer(path: str, layer: str, plane: np.ndarray) -> str:
    """Write ``plane`` (``(H, W)``) as the FLOAT channel ``<layer>.V`` of an uncompressed EXR (Blender opens it as a
    multilayer image with a ``<layer>`` output). Written to a temporary name and renamed (atomic)."""
    h, w = plane.shape
    chname = f"{layer}.V".encode() + b"\0"
    chlist = chname + struct.pack("<iB3xii", 2, 0, 1, 1) + b"\0"

    def attr(name: str, kind: str, value: bytes) -> bytes:
        return name.encode() + b"\0" + kind.encode() + b"\0" + struct.pack("<i", len(value)) + value

    box = struct.pack("<4i", 0, 0, w - 1, h - 1)
    header = struct.pack("<ii", _MAGIC, 2) + b"".join([
        attr("channels", "chlist", chlist), attr("compression", "compression", b"\0"),
        attr("dataWindow", "box2i", box), attr("displayWindow", "box2i", box),
        attr("lineOrder", "lineOrder", b"\0"), attr("pixelAspectRatio", "float", struct.pack("<f", 1.0)),
        attr("screenWindowCenter", "v2f", struct.pack("<ff", 0.0, 0.0)), attr("screenWindowWidth", "float", struct.pack("<f", 1.0)),
    ]) + b"\0"
    rows = np.ascontiguousarray(plane, "<f4")
    start = len(header) + 8 * h
    offsets = [start + y * (8 + 4 * w) for y in range(h)]
    body = b"".join(struct.pack("<ii", y, 4 * w) + rows[y].tobytes() for y in range(h))
    tmp = f"{path}.tmp{os.getpid()}"
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(tmp, "wb") as fh:
        fh.write(header + struct.pack(f"<{h}Q", *offsets) + body)
    os.replace(tmp, path)
    return path
