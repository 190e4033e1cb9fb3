"""Is a frame file whole? A cheap but real check that its pixels can be decoded, without decoding them.

A frame that exists and carries a job's hash is not necessarily complete: a full disk, a crashed file server or a
copy cut short can leave a file whose header is intact and whose pixels are not. Resume (:mod:`inkpaint.ops.base`),
the writers themselves (before a temp file is renamed into place), the farm helper and the pyblish output validator
all ask :func:`frame_is_complete`.

What is checked, by format:

- **OpenEXR** (single-part scanline or one-level tiled, the files inkpaint and most renderers write): the header
  parses, the chunk offset table is fully written (no zero entries), every chunk starts inside the file after the
  table, belongs to the data window, and its stored size ends inside the file. Reads the header, the table and 8-20
  bytes per chunk (a 1080p ZIP frame: 68 chunks).
- **PNG**: the signature, every chunk's length and CRC-32, an ``IHDR`` first, at least one ``IDAT`` and a final
  ``IEND``. Reads the file once (PNG frames are small; CRC-32 runs at GB/s).
- **Anything else** (and EXR layouts not covered above: multi-part, deep, mip-mapped): every pixel is decoded by
  OpenImageIO, which is what "complete" means, only slower.
"""

from __future__ import annotations

import dataclasses
import os
import struct
import zlib

_EXR_MAGIC = b"\x76\x2f\x31\x01"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

_EXR_LINES_PER_CHUNK = {0: 1, 1: 1, 2: 1, 3: 16, 4: 32, 5: 16, 6: 32, 7: 32, 8: 32, 9: 256, 10: 256, 11: 32}
"""Scanlines per chunk for each EXR compression code (NONE, RLE, ZIPS, ZIP, PIZ, PXR24, B44, B44A, DWAA, DWAB,
HTJ2K256, HTJ2K32). Codes not listed are checked through the table's own length (see :func:`_check_exr`)."""

_MAX_HEADER = 1 << 24
"""An EXR header larger than this (16 MiB) is refused as corrupt."""


@dataclasses.dataclass(frozen=True)
class FrameCheck:
    """The answer of :func:`frame_is_complete`: true when the file is whole.

    Attributes:
        ok: the pixels can be decoded.
        reason: why not (``""`` when ``ok``), e.g. ``"truncated: chunk 41 ends at byte 912004, the file has 65536"``.
    """

    ok: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.ok


_OK = FrameCheck(True)


def frame_is_complete(path: str | os.PathLike[str]) -> FrameCheck:
    """Whether the image file at ``path`` is whole (see the module docstring for what is checked).

    Never raises for a bad file: a missing, unreadable, empty, truncated or corrupt file gives a false
    :class:`FrameCheck` whose ``reason`` says what is wrong.

    Args:
        path: an image file (EXR, PNG, or any format OpenImageIO reads).

    Returns:
        A :class:`FrameCheck`, true when complete.
    """
    p = os.fspath(path)
    try:
        size = os.path.getsize(p)
        if size == 0:
            return FrameCheck(False, "the file is empty")
        with open(p, "rb") as fh:
            head = fh.read(8)
            if head[:4] == _EXR_MAGIC:
                fh.seek(4)
                reason = _check_exr(fh, size)
            elif head == _PNG_MAGIC:
                reason = _check_png(fh, size)
            else:
                reason = ""
                fh.close()
                return _check_decode(p)
    except OSError as exc:
        return FrameCheck(False, f"cannot read it: {exc.strerror or exc}")
    except (struct.error, ValueError, IndexError) as exc:
        return FrameCheck(False, f"corrupt: {exc}")
    if reason is None:  # a layout the fast check does not cover
        return _check_decode(p)
    return FrameCheck(False, reason) if reason else _OK


def _check_png(fh, size: int) -> str:
    """``""`` when every chunk is whole, its CRC right, IHDR first and IEND last; else the reason."""
    pos = 8
    first = True
    seen_idat = False
    n = 0
    while True:
        if pos + 8 > size:
            return f"truncated: no IEND chunk (the file ends after {n} chunk(s), at byte {size})"
        head = fh.read(8)
        if len(head) < 8:
            return f"truncated at byte {pos}"
        length, ctype = struct.unpack(">I4s", head)
        if length > 0x7FFFFFFF or pos + 12 + length > size:
            return f"truncated: chunk {ctype!r} at byte {pos} needs {length + 12} bytes, the file has {size - pos} left"
        data = fh.read(length)
        (crc,) = struct.unpack(">I", fh.read(4))
        if zlib.crc32(data, zlib.crc32(ctype)) & 0xFFFFFFFF != crc:
            return f"corrupt: CRC mismatch in chunk {ctype!r} at byte {pos}"
        if first and ctype != b"IHDR":
            return f"corrupt: the first chunk is {ctype!r}, not IHDR"
        first = False
        n += 1
        pos += 12 + length
        if ctype == b"IDAT":
            seen_idat = True
        elif ctype == b"IEND":
            if not seen_idat:
                return "corrupt: no IDAT (pixel data) chunk"
            return ""


def _read_cstr(buf: bytes, pos: int) -> tuple[str, int]:
    end = buf.index(b"\0", pos)
    return buf[pos:end].decode("latin-1"), end + 1


def _check_exr(fh, size: int) -> str | None:
    """``""`` when complete, a reason when not, ``None`` for layouts left to a full decode."""
    (version,) = struct.unpack("<i", fh.read(4))
    flags = version & ~0xFF
    tiled, deep, multipart = bool(flags & 0x200), bool(flags & 0x800), bool(flags & 0x1000)
    if deep or multipart:
        return None
    # the header: attributes (name\0 type\0 int32 size, value) until an empty name
    buf = fh.read(min(size, 1 << 16) - 8)

    def ensure(end: int) -> bool:
        nonlocal buf
        while len(buf) < end and 8 + len(buf) < min(size, _MAX_HEADER):
            more = fh.read(max(1 << 16, end - len(buf)))
            if not more:
                break
            buf += more
        return len(buf) >= end

    attrs: dict[str, tuple[str, bytes]] = {}
    pos = 0
    while True:
        ensure(pos + 520)  # name and type (<= 255 bytes each with their NULs) and the size
        if pos >= len(buf):
            return "truncated: the header is cut short"
        if buf[pos] == 0:
            pos += 1
            break
        try:
            name, pos = _read_cstr(buf, pos)
            typ, pos = _read_cstr(buf, pos)
        except ValueError:
            return "truncated or corrupt: the header is cut short"
        if pos + 4 > len(buf):
            return "truncated: the header is cut short"
        (n,) = struct.unpack_from("<i", buf, pos)
        pos += 4
        if n < 0 or n > _MAX_HEADER:
            return f"corrupt: header attribute {name!r} claims {n} bytes"
        if not ensure(pos + n):
            return "truncated: the header is cut short"
        attrs[name] = (typ, buf[pos:pos + n])
        pos += n
    table_start = 8 + pos
    if "dataWindow" not in attrs or "compression" not in attrs:
        return "corrupt: the header has no dataWindow or compression"
    x0, y0, x1, y1 = struct.unpack("<4i", attrs["dataWindow"][1][:16])
    width, height = x1 - x0 + 1, y1 - y0 + 1
    if width <= 0 or height <= 0:
        return f"corrupt: data window ({x0}, {y0})-({x1}, {y1})"
    comp = attrs["compression"][1][0]
    if tiled:
        if "tiles" not in attrs:
            return "corrupt: a tiled file without a tiles attribute"
        tx, ty, mode = struct.unpack("<IIB", attrs["tiles"][1][:9])
        if (mode & 0x0F) != 0 or tx == 0 or ty == 0:
            return None  # mip/rip-mapped: left to a full decode
        count = -(-width // tx) * -(-height // ty)
        chunk_head = 20  # tile x, tile y, level x, level y, data size
    else:
        lines = _EXR_LINES_PER_CHUNK.get(comp)
        chunk_head = 8  # y, data size
        if lines is None:
            count = -1
        else:
            count = -(-height // lines)
    if count < 0:  # unknown block height: the table ends where the first chunk begins
        fh.seek(table_start)
        (first,) = struct.unpack("<Q", fh.read(8))
        if first <= table_start or (first - table_start) % 8:
            return f"corrupt or incomplete: the chunk table's first entry is {first}"
        count = (first - table_start) // 8
    table_end = table_start + 8 * count
    if table_end > size:
        return f"truncated: the chunk table needs {table_end} bytes, the file has {size}"
    fh.seek(table_start)
    table = struct.unpack(f"<{count}Q", fh.read(8 * count))
    for i, off in enumerate(table):
        if off == 0:
            return f"incomplete: chunk {i} of {count} was never written (its table entry is 0)"
        if off < table_end or off + chunk_head > size:
            return f"truncated: chunk {i} of {count} starts at byte {off}, the file has {size}"
        fh.seek(off)
        head = fh.read(chunk_head)
        if tiled:
            cx, cy, _, _, n = struct.unpack("<5i", head)
            ok_pos = 0 <= cx and 0 <= cy
        else:
            cy, n = struct.unpack("<2i", head)
            ok_pos = y0 <= cy <= y1
        if not ok_pos:
            return f"corrupt: chunk {i} of {count} at byte {off} is not a chunk of this image"
        if n < 0 or off + chunk_head + n > size:
            return f"truncated: chunk {i} of {count} ends at byte {off + chunk_head + n}, the file has {size}"
    return ""


def _check_decode(path: str) -> FrameCheck:
    """Decode every pixel with OpenImageIO (formats and layouts the fast checks do not cover)."""
    import OpenImageIO as oiio

    inp = oiio.ImageInput.open(path)
    if inp is None:
        return FrameCheck(False, f"cannot open it: {oiio.geterror() or 'unknown format or corrupt file'}")
    try:
        for sub in range(int(inp.spec().getattribute("oiio:subimages") or 1)):
            if sub and not inp.seek_subimage(sub, 0):
                return FrameCheck(False, f"cannot read subimage {sub}: {inp.geterror()}")
            data = inp.read_image(sub, 0, 0, inp.spec().nchannels, oiio.UNKNOWN)
            if data is None or inp.has_error:
                return FrameCheck(False, f"cannot decode its pixels: {inp.geterror() or 'corrupt or truncated'}")
    finally:
        inp.close()
    return _OK


__all__ = ["FrameCheck", "frame_is_complete"]
