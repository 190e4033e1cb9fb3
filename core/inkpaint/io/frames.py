"""Reading and writing frames with OpenImageIO.

EXR pixels are decoded and encoded by OpenEXR's own bindings where they can be (:mod:`inkpaint.io.exr`: same files,
less CPU); OIIO opens every file, reads every header and does everything else.

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
from ..cvcompat import to_half
from ..errors import FrameError, MissingChannelError, OutputError
from ..spec import ColorSettings
from . import exr
from .atomic import atomic_path, describe_failure
from .colour import convert, guess_colorspace
from .verify import frame_is_complete

log = logging.getLogger("inkpaint.io")

EXR_COMPRESSIONS = ("none", "rle", "zip", "zips", "piz", "pxr24", "b44", "b44a", "dwaa", "dwab", "htj2k")


@dataclasses.dataclass(frozen=True)
class Window:
    """A rectangle of pixels in a frame, in pixel coordinates relative to the frame's (display window's) top-left
    corner, y down, as OpenEXR data windows and Nuke bounding boxes are.

    Attributes:
        x: left column.
        y: top row.
        width: columns (>= 0).
        height: rows (>= 0).
    """

    x: int
    y: int
    width: int
    height: int

    @classmethod
    def full(cls, size: tuple[int, int]) -> "Window":
        """The whole frame of ``size`` = ``(width, height)``."""
        return cls(0, 0, int(size[0]), int(size[1]))

    @classmethod
    def from_slices(cls, box: tuple[slice, slice], within: "Window | None" = None) -> "Window":
        """From ``(rows, cols)`` slices such as :func:`inkpaint.cel.labels.bounding_box` returns.

        Args:
            within: the window the sliced array covers (``None``: the slices are frame coordinates).
        """
        rows, cols = box
        x0, y0 = (within.x, within.y) if within is not None else (0, 0)
        return cls(int(cols.start) + x0, int(rows.start) + y0, int(cols.stop - cols.start), int(rows.stop - rows.start))

    @property
    def slices(self) -> tuple[slice, slice]:
        """``(rows, cols)`` slices of this window in a full-frame ``(H, W, ...)`` array."""
        return slice(self.y, self.y + self.height), slice(self.x, self.x + self.width)

    @property
    def empty(self) -> bool:
        return self.width <= 0 or self.height <= 0

    def intersect(self, other: "Window") -> "Window":
        """The overlap (an empty window when there is none)."""
        x0, y0 = max(self.x, other.x), max(self.y, other.y)
        x1 = min(self.x + self.width, other.x + other.width)
        y1 = min(self.y + self.height, other.y + other.height)
        return Window(x0, y0, max(x1 - x0, 0), max(y1 - y0, 0))

    def union(self, other: "Window") -> "Window":
        """The smallest window holding both (an empty window adds nothing)."""
        if other.empty:
            return self
        if self.empty:
            return other
        x0, y0 = min(self.x, other.x), min(self.y, other.y)
        x1 = max(self.x + self.width, other.x + other.width)
        y1 = max(self.y + self.height, other.y + other.height)
        return Window(x0, y0, x1 - x0, y1 - y0)

    def grow(self, margin: int, size: tuple[int, int]) -> "Window":
        """This window grown by ``margin`` px on every side, clipped to a frame of ``size`` = ``(width, height)``."""
        grown = Window(self.x - margin, self.y - margin, self.width + 2 * margin, self.height + 2 * margin)
        return grown.intersect(Window.full(size))


def paste(pixels: np.ndarray, src: Window, dst: Window) -> np.ndarray:
    """Re-frame ``pixels`` that cover ``src`` onto ``dst``: crop what lies outside ``dst``, zero-fill the rest.

    Args:
        pixels: ``(src.height, src.width, ...)`` array.
        src: where ``pixels`` sit in the frame.
        dst: the window wanted.

    Returns:
        ``(dst.height, dst.width, ...)`` array of the same dtype (``pixels`` itself when the windows are equal).
    """
    if pixels.shape[:2] != (src.height, src.width):
        raise ValueError(f"pixels have shape {pixels.shape[:2]}, the window is {src.height}x{src.width}")
    if src == dst:
        return pixels
    out = np.zeros((dst.height, dst.width) + pixels.shape[2:], pixels.dtype)
    common = src.intersect(dst)
    if not common.empty:
        out[common.y - dst.y : common.y - dst.y + common.height, common.x - dst.x : common.x - dst.x + common.width] = pixels[
            common.y - src.y : common.y - src.y + common.height, common.x - src.x : common.x - src.x + common.width
        ]
    return out


@dataclasses.dataclass
class ImageData:
    """Pixels and metadata of one image.

    Attributes:
        pixels: ``(h, w, C)`` float32 (float16 when read with ``keep_half``; integer formats are normalised to 0..1) covering :attr:`window` of the frame;
            by default the window is the whole frame (the display window), with zeros where the file's data window
            holds no pixels.
        channels: channel names, one per ``pixels[..., c]`` (``pixels[c]`` when :attr:`planar`).
        attributes: the file's metadata (``oiio:ColorSpace``, ``compression``, ``inkpaint:*`` ...).
        path: the file read.
        window: where ``pixels`` sit in the frame (``None``: the whole frame).
        size: the frame's ``(width, height)`` (the display window; ``None``: the pixels' size).
        planar: ``pixels`` is ``(C, h, w)``, one contiguous plane per channel (read with ``planar=True``).
    """

    pixels: np.ndarray
    channels: list[str]
    attributes: dict[str, Any]
    path: str
    window: Window | None = None
    size: tuple[int, int] | None = None
    planar: bool = False

    @property
    def frame_size(self) -> tuple[int, int]:
        """The frame's ``(width, height)``, whatever part of it was read."""
        return self.size if self.size is not None else (self.width, self.height)

    @property
    def width(self) -> int:
        return int(self.pixels.shape[2 if self.planar else 1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[1 if self.planar else 0])

    def channel(self, name: str) -> np.ndarray:
        """One channel by name, ``(H, W)`` float32. Raises ``KeyError`` naming the file when absent."""
        try:
            i = self.channels.index(name)
            return self.pixels[i] if self.planar else self.pixels[..., i]
        except ValueError:
            raise KeyError(f"'{self.path}' has no channel {name!r}; it has {', '.join(self.channels)}") from None


MAX_PIXELS_ENV = "INKPAINT_MAX_PIXELS"
DEFAULT_MAX_PIXELS = 16384 * 16384
"""Frames whose header claims more pixels than this (display or data window; ``$INKPAINT_MAX_PIXELS`` overrides)
are refused before anything is allocated: a corrupt or hostile header cannot exhaust memory."""


def max_pixels() -> int:
    """The pixel-count limit for one frame (:data:`DEFAULT_MAX_PIXELS` or ``$INKPAINT_MAX_PIXELS``)."""
    text = os.environ.get(MAX_PIXELS_ENV, "").strip()
    try:
        return max(1, int(text)) if text else DEFAULT_MAX_PIXELS
    except ValueError:
        return DEFAULT_MAX_PIXELS


def _open_input(path: str, frame: int | None) -> oiio.ImageInput:
    if not os.path.isfile(path):
        raise FrameError("file does not exist", frame=frame, path=path)
    inp = oiio.ImageInput.open(path)
    if inp is None:
        raise FrameError(f"cannot read image: {oiio.geterror() or 'unknown format or corrupt file'}", frame=frame, path=path)
    spec = inp.spec()
    limit = max_pixels()
    for what, w, h in (("frame", spec.full_width, spec.full_height), ("data window", spec.width, spec.height)):
        if w < 0 or h < 0 or w * h > limit or spec.nchannels > 4096:
            inp.close()
            raise FrameError(
                f"the header claims a {w}x{h} {what} with {spec.nchannels} channel(s), over the limit of {limit} pixels "
                f"(set ${MAX_PIXELS_ENV} to allow larger frames); the file is corrupt or not a frame", frame=frame, path=path)
    return inp


def read_attributes(path: str, frame: int | None = None) -> dict[str, Any]:
    """The metadata of ``path`` (no pixels are decoded)."""
    inp = _open_input(path, frame)
    try:
        spec = inp.spec()
        attrs = {a.name: a.value for a in spec.extra_attribs}
        attrs["width"], attrs["height"], attrs["channelnames"] = spec.full_width, spec.full_height, list(spec.channelnames)
        attrs["data_window"] = _data_window(spec)
        return attrs
    finally:
        inp.close()


def _data_window(spec: oiio.ImageSpec) -> Window:
    """Where the file's pixels are, relative to its display window."""
    return Window(spec.x - spec.full_x, spec.y - spec.full_y, spec.width, spec.height)


def image_size(path: str, frame: int | None = None) -> tuple[int, int]:
    """``(width, height)`` of ``path`` (its display window: the frame size) without decoding pixels."""
    attrs = read_attributes(path, frame)
    return int(attrs["width"]), int(attrs["height"])


def read_image(
    path: str,
    *,
    frame: int | None = None,
    sanitize: bool = True,
    channels: list[str] | None = None,
    window: Window | str | None = None,
    keep_half: bool = False,
    planar: bool = False,
) -> ImageData:
    """Read channels of ``path`` as float32 (or as float16, see ``keep_half``).

    Data windows are honoured: pixels are placed in the frame (the display window), zeros where the file holds
    none, so a bounding-box EXR (Nuke's, or inkpaint's own) reads like a full frame. Only the scanlines and channels
    asked for are decoded.

    Args:
        path: the image.
        frame: frame number, named in errors.
        sanitize: replace NaN/inf (see below).
        channels: channel names to read, in this order; ``None`` reads every channel in the file's order.
        window: the region to return: ``None`` the whole frame; ``"data"`` the file's data window (clipped to the
            frame: the fastest read, nothing outside it is decoded or allocated); or a :class:`Window`.
        keep_half: return float16 pixels when every channel read is stored as half (nothing is lost; it saves two
            conversions for callers that work on half values, such as the half-indexed colour LUTs).
        planar: return ``(C, h, w)`` pixels, one contiguous plane per channel (what OpenCV wants per channel),
            without an interleaved copy in between.

    NaN and infinite pixels are replaced by 0 (or the nearest finite value for ±inf) with a warning naming the
    frame and file.

    Raises:
        FrameError: the file is missing, unreadable, truncated or corrupt, or lacks a wanted channel (names the
            frame, the file and the channels present).
    """
    inp = _open_input(path, frame)
    try:
        spec = inp.spec()
        names = list(spec.channelnames)
        if channels is None:
            idx = list(range(spec.nchannels))
        else:
            missing = [c for c in channels if c not in names]
            if missing:
                raise MissingChannelError(f"has no channel{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}; channels present: {', '.join(names)}", frame=frame, path=path)
            idx = [names.index(c) for c in channels]
        size = (spec.full_width, spec.full_height)
        data_win = _data_window(spec)
        full = Window.full(size)
        if window is None:
            want = full
        elif isinstance(window, str):
            if window != "data":
                raise ValueError(f"window must be None, 'data' or a Window, got {window!r}")
            want = data_win.intersect(full)
        else:
            want = window
        read_win = want.intersect(data_win)
        ch0, ch1 = (min(idx), max(idx) + 1) if idx else (0, 0)
        formats = list(spec.channelformats) or [spec.format] * spec.nchannels
        native_half = all(formats[i] == oiio.TypeDesc(oiio.HALF) for i in range(ch0, ch1))
        fmt = oiio.HALF if native_half else oiio.FLOAT
        half_only = all(formats[i] == oiio.TypeDesc(oiio.HALF) for i in idx)
        dtype = np.float16 if keep_half and half_only else np.float32
        if want.width * want.height > max_pixels() or want.width < 0 or want.height < 0:
            raise FrameError(f"the window asked for ({want.width}x{want.height}) is over the limit of {max_pixels()} pixels", frame=frame, path=path)
        try:
            out = np.zeros((len(idx), want.height, want.width) if planar else (want.height, want.width, len(idx)), dtype)
        except MemoryError:
            raise FrameError(f"not enough memory for a {want.width}x{want.height}x{len(idx)} frame", frame=frame, path=path) from None
        hwc = np.moveaxis(out, 0, -1) if planar else out  # (h, w, C) either way; planar writes go to the planes
        region = hwc[read_win.y - want.y : read_win.y - want.y + read_win.height, read_win.x - want.x : read_win.x - want.x + read_win.width]
        planes = None
        if not read_win.empty and idx and inp.format_name() == "openexr" and not spec.deep and exr.enabled():
            if int(spec.getattribute("oiio:subimages") or 1) == 1 and all(formats[i].basetype in (oiio.HALF, oiio.FLOAT) for i in idx):
                y0 = read_win.y + spec.full_y
                try:
                    planes = exr.read_rows(path, [names[i] for i in idx], half_only, y0, y0 + read_win.height - 1)
                except (OSError, RuntimeError, ValueError) as exc:
                    raise FrameError(f"cannot decode pixels: {exc or 'corrupt or truncated file'}", frame=frame, path=path) from exc
        if planes is not None:
            cols = slice(read_win.x - data_win.x, read_win.x - data_win.x + read_win.width)
            for k, plane in enumerate(planes):
                region[..., k] = plane[:, cols]
            if sanitize:
                _sanitize(region, path, frame)
        elif not read_win.empty and idx:
            if spec.tile_width == 0 and (read_win.y, read_win.height) != (data_win.y, data_win.height):
                # only the scanlines needed (scanline files decode by chunks of 1-32 lines)
                y0 = read_win.y + spec.full_y
                data = inp.read_scanlines(0, 0, y0, y0 + read_win.height, 0, ch0, ch1, fmt)
                row0 = read_win.y
            else:
                data = inp.read_image(0, 0, ch0, ch1, fmt)
                row0 = data_win.y
            if data is None or (hasattr(inp, "has_error") and inp.has_error):
                raise FrameError(f"cannot decode pixels: {inp.geterror() or 'corrupt or truncated file'}", frame=frame, path=path)
            data = np.asarray(data).reshape(-1, data_win.width, ch1 - ch0)
            sub = data[read_win.y - row0 : read_win.y - row0 + read_win.height, read_win.x - data_win.x : read_win.x - data_win.x + read_win.width]
            pick = [i - ch0 for i in idx]
            region[...] = sub if pick == list(range(ch1 - ch0)) else sub[..., pick]
            if sanitize:
                _sanitize(region, path, frame)
        attrs = {a.name: a.value for a in spec.extra_attribs}
        channel_names = [names[i] for i in idx]
    finally:
        inp.close()
    return ImageData(out, channel_names, attrs, path, want, size, planar)


def _sanitize(pixels: np.ndarray, path: str, frame: int | None) -> None:
    """Replace NaN/inf in place (NaN -> 0, +inf -> the largest half, -inf -> 0), warning with the count."""
    if pixels.dtype == np.float16 and pixels.size:
        # all-ones exponent bits = inf or NaN: one integer pass (numpy's isfinite on half is ~20x slower)
        if int(np.bitwise_and(pixels.view(np.uint16), 0x7C00).max()) < 0x7C00:
            return
    finite = np.isfinite(pixels)
    if not finite.all():
        bad = int(pixels.size - np.count_nonzero(finite))
        where = f"frame {frame} '{path}'" if frame is not None else f"'{path}'"
        log.warning("%s: %d NaN/inf pixel value(s) replaced (NaN -> 0, +inf -> 65504, -inf -> 0)", where, bad)
        np.nan_to_num(pixels, copy=False, nan=0.0, posinf=float(np.finfo(np.float16).max), neginf=0.0)


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
    px = image.pixels
    if idx == [0, 1, 2] and px.ndim == 3 and px.shape[2] == 3:
        rgb = px  # already R, G, B (a plate's usual read): no copy (convert and the clip below make new arrays)
    elif idx is not None:
        rgb = image.pixels[..., idx]
    else:
        lum = [i for i, c in enumerate(ch) if c.upper() in ("Y", "L", "LUM", "LUMINANCE", "GRAY", "GREY")]
        i0 = lum[0] if lum else 0
        if not lum and ch and ch[0].upper() == "A" and len(ch) == 1:
            raise FrameError("image has only an alpha channel; expected RGB or luminance", frame=frame, path=image.path)
        if not lum and len(ch) > 1:  # e.g. a matte EXR (a.A, b.A) given as a plate: not grey, not colour
            shown = ", ".join(ch[:8]) + (" ..." if len(ch) > 8 else "")
            raise FrameError(f"image has no colour (R, G, B) or luminance (Y) channels; it has {shown}", frame=frame, path=image.path)
        rgb = np.repeat(image.pixels[..., i0 : i0 + 1], 3, axis=2)
    alpha = [i for i, c in enumerate(ch) if c.upper() == "A"]
    if alpha and not image.path.lower().endswith(".exr") and not np.any(image.pixels[..., alpha[0]]):
        raise FrameError("image is fully transparent (alpha 0 everywhere), so it shows nothing; line art with "
                         "transparency is read by its alpha as paint input, not as a colour image", frame=frame, path=image.path)
    src = color.input_colorspace
    if src == "auto":
        src = guess_colorspace(image.path, image.attributes.get("oiio:ColorSpace"))
    rgb = convert(np.ascontiguousarray(rgb), src, color.working_colorspace, ocio_config=color.ocio_config, path=image.path, frame=frame)
    return np.clip(rgb, 0.0, 1.0, dtype=np.float32)


def read_rgb(path: str, color: ColorSettings | None = None, *, frame: int | None = None) -> np.ndarray:
    """Read ``path`` as colour-managed display RGB, ``(H, W, 3)`` float32 in 0..1."""
    return to_rgb(read_image(path, frame=frame), color, frame)


def read_channels(path: str, names: list[str] | None = None, *, frame: int | None = None, window: Window | str | None = None) -> dict[str, np.ndarray]:
    """Read channels by name.

    Args:
        path: the image.
        names: channels wanted; ``None`` returns all.
        window: region to read (see :func:`read_image`); ``None`` = the whole frame.

    Returns:
        name -> ``(H, W)`` float32.

    Raises:
        FrameError: a wanted channel is absent (lists the ones present).
    """
    img = read_image(path, frame=frame, channels=names, window=window)
    return {n: img.pixels[..., i] for i, n in enumerate(img.channels)}


def _spec_attributes(spec: oiio.ImageSpec, metadata: Mapping[str, Any] | None) -> None:
    spec.attribute("Software", f"inkpaint {__version__}")
    for key, value in (metadata or {}).items():
        spec.attribute(key, exr.attribute_value(value))


def write_exr(
    path: str,
    channels: Mapping[str, np.ndarray],
    *,
    metadata: Mapping[str, Any] | None = None,
    compression: str = "zip",
    dtype: str = "half",
    channel_types: Mapping[str, str] | None = None,
    window: Window | None = None,
    size: tuple[int, int] | None = None,
) -> None:
    """Write named channels to an OpenEXR file, atomically.

    Args:
        path: destination ``.exr``.
        channels: name -> ``(H, W)`` array (float32, or float16 written as is); names like ``dancer.A`` make Nuke
            layers. All the same shape: the whole frame, or ``window`` of it.
        window: where the arrays sit in the frame: written as the EXR data window (Nuke's bounding box), the rest
            of the frame reads as zero. ``None``: the arrays are the whole frame. An empty window writes one zero
            pixel at the top-left corner (OpenEXR needs at least one).
        size: the frame's ``(width, height)`` (the display window); required with ``window``.
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
    names = sorted(channels)  # OpenEXR stores channels sorted by name: hand them over in that order
    arrays = [np.asarray(channels[n]) for n in names]
    shape = arrays[0].shape
    for n, a in zip(names, arrays):
        if a.shape != shape or a.ndim != 2:
            raise OutputError(f"'{path}': channel {n!r} has shape {a.shape}, expected {shape} (H, W)")
    h, w = shape
    if window is not None:
        if size is None:
            raise OutputError(f"'{path}': a data window needs the frame size")
        if window.empty:
            window = Window(0, 0, 1, 1)
            arrays = [np.zeros((1, 1), a.dtype) for a in arrays]
            h, w = 1, 1
        elif (h, w) != (window.height, window.width):
            raise OutputError(f"'{path}': channels are {w}x{h}, the data window {window} is {window.width}x{window.height}")
    per_channel = _channel_types(names, dtype, channel_types, metadata)
    attributes = exr.header_metadata(metadata, f"inkpaint {__version__}") if exr.takes(compression) else None
    if attributes is not None:
        # OpenEXR's own encoder (io/exr.py): the same file OIIO writes, for less CPU
        as_type = {"half": np.float16, "float": np.float32, "uint": np.uint32}
        with np.errstate(over="ignore"):  # beyond 65504 becomes inf, as OIIO's own conversion does
            planes = {n: to_half(a) if t == "half" and a.dtype == np.float32 else a.astype(as_type[t], copy=False)
                      for n, a, t in zip(names, arrays, per_channel or [dtype] * len(names))}
        origin = (window.x, window.y) if window is not None else (0, 0)
        frame_size = (int(size[0]), int(size[1])) if window is not None and size is not None else (w, h)
        with atomic_path(path, verify=frame_is_complete) as tmp:
            try:
                exr.write(str(tmp), planes, origin=origin, size=frame_size, compression=compression, attributes=attributes)
            except (RuntimeError, ValueError, TypeError) as exc:
                raise OutputError(describe_failure(path, str(exc), probe=tmp)) from exc
        return
    fmt = {"half": oiio.HALF, "float": oiio.FLOAT, "uint": oiio.UINT32}[dtype]
    spec = oiio.ImageSpec(w, h, len(names), fmt)
    if window is not None and size is not None:
        spec.x, spec.y = window.x, window.y
        spec.full_x, spec.full_y, spec.full_width, spec.full_height = 0, 0, int(size[0]), int(size[1])
    spec.channelnames = tuple(names)
    if per_channel is not None:
        spec.channelformats = tuple(oiio.TypeDesc(oiio.FLOAT if t == "float" else oiio.HALF) for t in per_channel)
    spec.alpha_channel = names.index("A") if "A" in names else -1
    spec.attribute("compression", compression)
    _spec_attributes(spec, metadata)
    if dtype == "half" and per_channel is None:
        with np.errstate(over="ignore"):  # beyond 65504 becomes inf, as OIIO's own conversion does
            stack = np.stack([a.astype(np.float16, copy=False) for a in arrays], axis=-1)  # numpy's conversion is the faster one
    else:
        stack = np.stack(arrays, axis=-1).astype(np.uint32 if dtype == "uint" else np.float32, copy=False)
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
    """Write ``pixels`` through OIIO, checking every step: open, write, close (OIIO reports a failed flush there),
    then the file itself (:func:`inkpaint.io.verify.frame_is_complete`) before it is renamed into place."""
    with atomic_path(path, verify=frame_is_complete) as tmp:
        out = oiio.ImageOutput.create(str(tmp))
        if out is None:
            raise OutputError(f"cannot write '{path}': {oiio.geterror()}")
        ok = False
        error = ""
        try:
            if not out.open(str(tmp), spec):
                error = out.geterror() or "cannot open the file for writing"
            elif not out.write_image(np.ascontiguousarray(pixels)):
                error = out.geterror() or "writing the pixels failed"
            else:
                ok = True
        finally:
            closed = out.close()
        if ok and not closed:
            error = out.geterror() or "closing the file failed"
        if error or not closed:
            raise OutputError(describe_failure(path, error or "closing the file failed", probe=tmp))


def write_png(path: str, pixels: np.ndarray, *, metadata: Mapping[str, Any] | None = None,
              compression_level: int | None = None) -> None:
    """Write an 8- or 16-bit PNG (or any OIIO format chosen by extension), atomically.

    Args:
        pixels: ``(H, W)`` or ``(H, W, C)`` uint8/uint16, or float in 0..1 (stored as 8-bit).
        compression_level: PNG zlib level 0-9 (``None``: OIIO's default, 6); ignored for other formats.
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
    if compression_level is not None and path.lower().endswith(".png"):
        if not 0 <= compression_level <= 9:
            raise ValueError(f"PNG compression level must be 0..9, got {compression_level}")
        spec.attribute("png:compressionLevel", int(compression_level))
    _write_buffer(path, spec, arr)
