"""Reading and writing frames with OpenImageIO.

Reads return float32 ``(H, W, C)`` numpy arrays with channels looked up by *name* (OIIO sorts EXR channels by
name on write, so indices are never trusted). Writes are atomic: a temp file beside the destination is renamed
into place, so an interrupted job never leaves a half-written frame.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import OpenImageIO as oiio

from .. import __version__
from ..errors import FrameError, OutputError
from ..spec import ColorSettings
from .atomic import atomic_path
from .colour import convert, guess_colorspace

log = logging.getLogger("inkpaint.io")

EXR_COMPRESSIONS = ("none", "rle", "zip", "zips", "piz", "pxr24", "b44", "b44a", "dwaa", "dwab", "htj2k")


@dataclasses.dataclass
class ImageData:
    """Pixels and metadata of one image.

    Attributes:
        pixels: ``(H, W, C)`` float32 (integer formats are normalised to 0..1).
        channels: channel names, one per ``pixels[..., c]``.
        attributes: the file's metadata (``oiio:ColorSpace``, ``compression``, ``inkpaint:*`` ...).
        path: the file read.
    """

    pixels: np.ndarray
    channels: list[str]
    attributes: dict[str, Any]
    path: str

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    def channel(self, name: str) -> np.ndarray:
        """One channel by name, ``(H, W)`` float32. Raises ``KeyError`` naming the file when absent."""
        try:
            return self.pixels[..., self.channels.index(name)]
        except ValueError:
            raise KeyError(f"'{self.path}' has no channel {name!r}; it has {', '.join(self.channels)}") from None


def _open_input(path: str, frame: int | None) -> oiio.ImageInput:
    if not os.path.isfile(path):
        raise FrameError("file does not exist", frame=frame, path=path)
    inp = oiio.ImageInput.open(path)
    if inp is None:
        raise FrameError(f"cannot read image: {oiio.geterror() or 'unknown format or corrupt file'}", frame=frame, path=path)
    return inp


def read_attributes(path: str, frame: int | None = None) -> dict[str, Any]:
    """The metadata of ``path`` (no pixels are decoded)."""
    inp = _open_input(path, frame)
    try:
        spec = inp.spec()
        attrs = {a.name: a.value for a in spec.extra_attribs}
        attrs["width"], attrs["height"], attrs["channelnames"] = spec.width, spec.height, list(spec.channelnames)
        return attrs
    finally:
        inp.close()


def image_size(path: str, frame: int | None = None) -> tuple[int, int]:
    """``(width, height)`` of ``path`` without decoding pixels."""
    attrs = read_attributes(path, frame)
    return int(attrs["width"]), int(attrs["height"])


def read_image(path: str, *, frame: int | None = None, sanitize: bool = True) -> ImageData:
    """Read every channel of ``path`` as float32.

    NaN and infinite pixels are replaced by 0 (or the nearest finite value for ±inf) with a warning naming the
    frame and file.

    Raises:
        FrameError: the file is missing, unreadable, truncated or corrupt (names the frame and file).
    """
    inp = _open_input(path, frame)
    try:
        spec = inp.spec()
        data = inp.read_image(0, 0, 0, spec.nchannels, oiio.FLOAT)
        if data is None or (hasattr(inp, "has_error") and inp.has_error):
            raise FrameError(f"cannot decode pixels: {inp.geterror() or 'corrupt or truncated file'}", frame=frame, path=path)
        attrs = {a.name: a.value for a in spec.extra_attribs}
        channels = list(spec.channelnames)
    finally:
        inp.close()
    pixels = np.asarray(data, dtype=np.float32).reshape(spec.height, spec.width, spec.nchannels)
    if sanitize:
        finite = np.isfinite(pixels)
        if not finite.all():
            bad = int(pixels.size - np.count_nonzero(finite))
            where = f"frame {frame} '{path}'" if frame is not None else f"'{path}'"
            log.warning("%s: %d NaN/inf pixel value(s) replaced (NaN -> 0, +inf -> 65504, -inf -> 0)", where, bad)
            pixels = np.nan_to_num(pixels, nan=0.0, posinf=float(np.finfo(np.float16).max), neginf=0.0)
    return ImageData(pixels, channels, attrs, path)


def _rgb_indices(channels: list[str]) -> list[int] | None:
    names = [c.split(".")[-1].upper() for c in channels]
    top = [i for i, c in enumerate(channels) if "." not in c]  # prefer the unlayered R, G, B
    for pool in (top, list(range(len(channels)))):
        pick = {}
        for i in pool:
            n = names[i]
            if n in ("R", "G", "B", "RED", "GREEN", "BLUE") and n[0] not in pick:
                pick[n[0]] = i
        if len(pick) == 3:
            return [pick["R"], pick["G"], pick["B"]]
    return None


def to_rgb(image: ImageData, color: ColorSettings | None = None, frame: int | None = None) -> np.ndarray:
    """Colour-managed RGB of ``image`` in the job's working space.

    Returns:
        ``(H, W, 3)`` float32, display-referred (sRGB by default), clipped to 0..1.
    """
    color = color or ColorSettings()
    ch = image.channels
    idx = _rgb_indices(ch)
    if idx is not None:
        rgb = image.pixels[..., idx]
    else:
        lum = [i for i, c in enumerate(ch) if c.upper() in ("Y", "L", "LUM", "LUMINANCE", "GRAY", "GREY")]
        i0 = lum[0] if lum else 0
        if not lum and ch and ch[0].upper() == "A" and len(ch) == 1:
            raise FrameError("image has only an alpha channel; expected RGB or luminance", frame=frame, path=image.path)
        rgb = np.repeat(image.pixels[..., i0 : i0 + 1], 3, axis=2)
    src = color.input_colorspace
    if src == "auto":
        src = guess_colorspace(image.path, image.attributes.get("oiio:ColorSpace"))
    rgb = convert(np.ascontiguousarray(rgb), src, color.working_colorspace, ocio_config=color.ocio_config, path=image.path, frame=frame)
    return np.clip(rgb, 0.0, 1.0)


def read_rgb(path: str, color: ColorSettings | None = None, *, frame: int | None = None) -> np.ndarray:
    """Read ``path`` as colour-managed display RGB, ``(H, W, 3)`` float32 in 0..1."""
    return to_rgb(read_image(path, frame=frame), color, frame)


def read_channels(path: str, names: list[str] | None = None, *, frame: int | None = None) -> dict[str, np.ndarray]:
    """Read channels by name.

    Args:
        path: the image.
        names: channels wanted; ``None`` returns all.

    Returns:
        name -> ``(H, W)`` float32.

    Raises:
        FrameError: a wanted channel is absent (lists the ones present).
    """
    img = read_image(path, frame=frame)
    if names is None:
        names = img.channels
    out = {}
    for n in names:
        if n not in img.channels:
            raise FrameError(f"has no channel {n!r}; channels present: {', '.join(img.channels)}", frame=frame, path=path)
        out[n] = img.pixels[..., img.channels.index(n)]
    return out


def _spec_attributes(spec: oiio.ImageSpec, metadata: Mapping[str, Any] | None) -> None:
    spec.attribute("Software", f"inkpaint {__version__}")
    for key, value in (metadata or {}).items():
        if isinstance(value, bool):
            spec.attribute(key, int(value))
        elif isinstance(value, (int, float, str)):
            spec.attribute(key, value)
        else:
            import json

            spec.attribute(key, json.dumps(value))


def write_exr(
    path: str,
    channels: Mapping[str, np.ndarray],
    *,
    metadata: Mapping[str, Any] | None = None,
    compression: str = "zip",
    dtype: str = "half",
    channel_types: Mapping[str, str] | None = None,
) -> None:
    """Write named channels to an OpenEXR file, atomically.

    Args:
        path: destination ``.exr``.
        channels: name -> ``(H, W)`` array; names like ``dancer.A`` make Nuke layers. All the same shape.
        metadata: extra header attributes (``inkpaint:job_hash`` ...). ``Software`` is always set.
        compression: one of :data:`EXR_COMPRESSIONS` (``dwaa:45`` style quality suffixes are accepted).
        dtype: ``"half"`` (default) or ``"float"``; use ``"uint"`` for id channels.
        channel_types: per-channel ``"half"``/``"float"`` overriding ``dtype`` (not with ``dtype="uint"``).
            Cryptomatte ranked channels (``<layer>NN.R|G|B|A`` of a layer named in ``cryptomatte/<key>/name``
            metadata) are always written as float: a half cannot hold their IDs.

    Raises:
        OutputError: unknown compression, mismatched shapes, or the write failed (names the file).
    """
    if not channels:
        raise OutputError(f"'{path}': no channels to write")
    if compression.split(":")[0] not in EXR_COMPRESSIONS:
        raise OutputError(f"unknown EXR compression {compression!r}; choose one of {', '.join(EXR_COMPRESSIONS)}")
    names = list(channels)
    arrays = [np.asarray(channels[n]) for n in names]
    shape = arrays[0].shape
    for n, a in zip(names, arrays):
        if a.shape != shape or a.ndim != 2:
            raise OutputError(f"'{path}': channel {n!r} has shape {a.shape}, expected {shape} (H, W)")
    h, w = shape
    fmt = {"half": oiio.HALF, "float": oiio.FLOAT, "uint": oiio.UINT32}[dtype]
    spec = oiio.ImageSpec(w, h, len(names), fmt)
    spec.channelnames = tuple(names)
    per_channel = _channel_types(names, dtype, channel_types, metadata)
    if per_channel is not None:
        spec.channelformats = tuple(oiio.TypeDesc(oiio.FLOAT if t == "float" else oiio.HALF) for t in per_channel)
    spec.alpha_channel = names.index("A") if "A" in names else -1
    spec.attribute("compression", compression)
    _spec_attributes(spec, metadata)
    stack = np.stack(arrays, axis=-1)
    stack = stack.astype(np.uint32 if dtype == "uint" else np.float32, copy=False)
    _write_buffer(path, spec, stack)


def _channel_types(
    names: list[str], dtype: str, channel_types: Mapping[str, str] | None, metadata: Mapping[str, Any] | None
) -> list[str] | None:
    """Per-channel formats when they differ from ``dtype`` (else ``None``); see :func:`write_exr`."""
    types = {n: dtype for n in names}
    for n, t in (channel_types or {}).items():
        if n not in types:
            raise OutputError(f"channel_types names channel {n!r}, which is not written; channels: {', '.join(names)}")
        if t not in ("half", "float") or dtype == "uint":
            raise OutputError(f"channel_types[{n!r}] = {t!r}: use 'half' or 'float' (and a float dtype)")
        types[n] = t
    layers = [str(v) for k, v in (metadata or {}).items() if str(k).startswith("cryptomatte/") and str(k).endswith("/name")]
    if layers and dtype != "uint":
        from ..cryptomatte import is_cryptomatte_channel

        for n in names:
            if is_cryptomatte_channel(n, layers):
                types[n] = "float"
    out = [types[n] for n in names]
    return None if all(t == dtype for t in out) else out


def _write_buffer(path: str, spec: oiio.ImageSpec, pixels: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        out = oiio.ImageOutput.create(str(tmp))
        if out is None:
            raise OutputError(f"cannot write '{path}': {oiio.geterror()}")
        try:
            if not out.open(str(tmp), spec):
                raise OutputError(f"cannot write '{path}': {out.geterror()}")
            if not out.write_image(np.ascontiguousarray(pixels)):
                raise OutputError(f"cannot write '{path}': {out.geterror()}")
        finally:
            out.close()


def write_png(path: str, pixels: np.ndarray, *, metadata: Mapping[str, Any] | None = None) -> None:
    """Write an 8- or 16-bit PNG (or any OIIO format chosen by extension), atomically.

    Args:
        pixels: ``(H, W)`` or ``(H, W, C)`` uint8/uint16, or float in 0..1 (stored as 8-bit).
    """
    arr = np.asarray(pixels)
    if arr.ndim == 2:
        arr = arr[..., None]
    h, w, c = arr.shape
    if arr.dtype == np.uint16:
        fmt = oiio.UINT16
    elif arr.dtype == np.uint8:
        fmt = oiio.UINT8
    else:
        arr = np.clip(np.rint(arr * 255.0), 0, 255).astype(np.uint8)
        fmt = oiio.UINT8
    spec = oiio.ImageSpec(w, h, c, fmt)
    spec.channelnames = tuple(["R", "G", "B", "A"][:c] if c in (3, 4) else (["Y", "A"][:c] if c <= 2 else [f"c{i}" for i in range(c)]))
    if c in (2, 4):
        spec.alpha_channel = c - 1
    _spec_attributes(spec, metadata)
    _write_buffer(path, spec, arr)
