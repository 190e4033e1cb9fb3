"""Keyframe colours: a colour table, per-segment colours from a coloured keyframe, paint clicks, segment JSON.

Colour indices are rows of a :class:`ColourTable`; index 0 is the background (transparent), -1 means unpainted.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np

from ..palette import Palette, parse_rgb
from .segments import Segmentation

BACKGROUND = 0
UNPAINTED = -1


@dataclasses.dataclass
class ColourTable:
    """The colours a shot is painted with.

    Attributes:
        rgb: ``(K, 3)`` uint8; row 0 is the background (written transparent).
        names: ``K`` names: ``"background"``, ``"part/tone"`` for palette colours, ``"#rrggbb"`` otherwise.
        palette: the design sheet, if any (then every colour but the background comes from it).
    """

    rgb: np.ndarray
    names: list[str]
    palette: Palette | None = None

    @classmethod
    def create(cls, palette: Palette | None = None) -> "ColourTable":
        rgb = [np.array([255, 255, 255], np.uint8)]
        names = ["background"]
        if palette is not None:
            cols, labels = palette.colors()
            rgb.extend(cols)
            names.extend(f"{p}/{t}" for p, t in labels)
        return cls(np.array(rgb, np.uint8).reshape(-1, 3), names, palette)

    def __len__(self) -> int:
        return len(self.names)

    def add(self, rgb: tuple[int, int, int]) -> int:
        """Index of an exact colour, appended when new (only without a palette)."""
        hit = np.flatnonzero((self.rgb[1:] == np.array(rgb, np.uint8)).all(1))
        if len(hit):
            return int(hit[0]) + 1
        self.rgb = np.vstack([self.rgb, np.array(rgb, np.uint8)[None]])
        self.names.append("#%02x%02x%02x" % tuple(int(v) for v in rgb))
        return len(self.names) - 1

    def lookup(self, value: Any, where: str) -> int:
        """Index of a colour given as a palette index (int), ``"part/tone"``, ``"part"`` (normal), ``"#rrggbb"``,
        ``"background"`` or ``[r, g, b]``.

        Raises:
            ValueError: the colour is unknown (names ``where``).
        """
        if isinstance(value, bool):
            raise ValueError(f"{where}: {value!r} is not a colour")
        if isinstance(value, int):
            if not 0 <= value < len(self):
                raise ValueError(f"{where}: colour index {value} is out of range 0..{len(self) - 1}")
            return value
        if isinstance(value, str):
            text = value.strip()
            if text in self.names:
                return self.names.index(text)
            if text.isdigit():
                return self.lookup(int(text), where)
            if self.palette is not None and text in self.palette.entries:
                return self.names.index(f"{text}/normal")
            if text.startswith("#") or "/" not in text:
                try:
                    rgb = parse_rgb(text, where)
                except Exception:
                    rgb = None
                if rgb is not None:
                    return self.snap(rgb)[0]
            known = ", ".join(self.names[:12]) + (" ..." if len(self.names) > 12 else "")
            raise ValueError(f"{where}: unknown colour {value!r}; give a palette index, 'part/tone' or '#rrggbb' (known: {known})")
        if isinstance(value, (list, tuple)) and len(value) == 3:
            return self.snap(parse_rgb(list(value), where))[0]
        raise ValueError(f"{where}: {value!r} is not a colour")

    def rgb_ids(self) -> np.ndarray:
        """``(K,)`` int64 per colour index, an id shared by the indices with the same RGB (two parts painted one
        colour look alike in the output, so they count as agreeing)."""
        return np.unique(self.rgb, axis=0, return_inverse=True)[1].reshape(-1)

    def snap(self, rgb: tuple[int, int, int]) -> tuple[int, float]:
        """``(index, distance)``: the nearest palette colour, or the exact colour (added) without a palette."""
        if self.palette is None:
            return self.add(rgb), 0.0
        idx, dist = self.palette.nearest(np.array(rgb, np.uint8)[None])
        return int(idx[0]) + 1, float(dist[0])


def pack_rgb(rgb: np.ndarray) -> np.ndarray:
    """``(..., 3)`` uint8 -> ``(...)`` int64 ``r << 16 | g << 8 | b``."""
    a = rgb.astype(np.int64)
    return (a[..., 0] << 16) | (a[..., 1] << 8) | a[..., 2]


@dataclasses.dataclass
class KeyColours:
    """Colours of one keyframe's segments.

    Attributes:
        index: ``(n + 1,)`` int32 colour index per segment (-1 unpainted; entry 0 unused).
        distance: ``(n + 1,)`` float32 distance (8-bit sRGB units) from the keyframe's colour to the snapped palette
            colour (0 without a palette).
        share: ``(n + 1,)`` float32 fraction of the segment's pixels that had the majority colour.
    """

    index: np.ndarray
    distance: np.ndarray
    share: np.ndarray


def rgba8(pixels: np.ndarray, channels: list[str]) -> np.ndarray:
    """A painted image as ``(H, W, 4)`` uint8 RGBA, looked up by channel name (``R``/``G``/``B``/``A``, layer
    prefixes ignored); a greyscale image is repeated into RGB and a missing alpha is opaque.

    Args:
        pixels: ``(H, W, C)`` float values in 0..1, as read.
        channels: the ``C`` channel names.
    """
    names = [c.split(".")[-1].upper() for c in channels]
    if all(k in names for k in "RGB"):
        rgb = np.stack([pixels[..., names.index(k)] for k in "RGB"], -1)
    else:
        rgb = np.repeat(pixels[..., :1], 3, -1)
    a = pixels[..., names.index("A")] if "A" in names else np.ones(pixels.shape[:2], np.float32)
    return np.clip(np.rint(np.dstack([rgb, a]) * 255.0), 0, 255).astype(np.uint8)


def colours_from_image(seg: Segmentation, rgba: np.ndarray, table: ColourTable) -> KeyColours:
    """Each segment's majority colour in a coloured keyframe, snapped to the palette.

    Args:
        seg: the keyframe's segmentation.
        rgba: ``(H, W, 3|4)`` uint8 keyframe colours (transparent or pure white = background).
        table: colour table; without a palette, new exact colours are appended.

    Returns:
        :class:`KeyColours`.

    Raises:
        ValueError: ``rgba`` and the segmentation differ in size.
    """
    if rgba.shape[:2] != seg.shape:
        raise ValueError(f"keyframe is {rgba.shape[1]}x{rgba.shape[0]} but the line art is {seg.shape[1]}x{seg.shape[0]}")
    code = pack_rgb(rgba[..., :3])
    white = (1 << 24) - 1
    if rgba.shape[2] >= 4:
        code = np.where(rgba[..., 3] < 128, white, code)
    lab = seg.labels.reshape(-1)
    m = lab > 0
    pairs = (lab[m].astype(np.int64) << 24) | code.reshape(-1)[m]
    uniq, counts = np.unique(pairs, return_counts=True)
    segs = (uniq >> 24).astype(np.int64)
    # majority per segment: sort by (segment, count) and take the last of each segment
    order = np.lexsort((counts, segs))
    last = np.r_[segs[order][1:] != segs[order][:-1], True]
    win = order[last]
    n = seg.n
    index = np.full(n + 1, -1, np.int32)
    distance = np.zeros(n + 1, np.float32)
    share = np.zeros(n + 1, np.float32)
    wcode = uniq[win] & white
    wseg = segs[win]
    share[wseg] = counts[win] / np.maximum(seg.area[wseg], 1)
    ucodes, inv = np.unique(wcode, return_inverse=True)
    for j, c in enumerate(ucodes.tolist()):  # one entry per distinct colour (a few dozen), not per segment
        if c == white:
            idx, d = BACKGROUND, 0.0
        else:
            idx, d = table.snap(((c >> 16) & 255, (c >> 8) & 255, c & 255))
        sel = wseg[inv == j]
        index[sel] = idx
        distance[sel] = d
    return KeyColours(index, distance, share)


def colours_from_clicks(seg: Segmentation, clicks: list[tuple[float, float, Any]], table: ColourTable, where: str) -> KeyColours:
    """Paint-bucket clicks: the segment under each ``(x, y)`` pixel takes the click's colour (later clicks win).

    Raises:
        ValueError: a click is outside the frame or names an unknown colour (names ``where[i]``).
    """
    h, w = seg.shape
    index = np.full(seg.n + 1, -1, np.int32)
    for i, (x, y, value) in enumerate(clicks):
        xi, yi = int(round(x)), int(round(y))
        if not (0 <= xi < w and 0 <= yi < h):
            raise ValueError(f"{where}[{i}]: click ({x}, {y}) is outside the {w}x{h} frame")
        sid = int(seg.fill[yi, xi])
        if sid == 0:
            raise ValueError(f"{where}[{i}]: click ({x}, {y}) hits no segment (the frame has no enclosed region)")
        index[sid] = table.lookup(value, f"{where}[{i}]")
    return KeyColours(index, np.zeros(seg.n + 1, np.float32), (index >= 0).astype(np.float32))


def colours_from_json(seg: Segmentation, path: str, table: ColourTable) -> KeyColours:
    """Per-segment colours from JSON: inkpaint's per-frame segment file (``{"segments": [{"id", "color"}...]}``)
    or a plain ``{"<id>": colour}`` mapping. Segments without a colour (or ``null``) stay unpainted.

    Raises:
        ValueError: unreadable file, a segment id not in the frame, or an unknown colour (names the file and id).
    """
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read segments JSON '{path}': {exc}") from exc
    items: list[tuple[Any, Any]]
    if isinstance(data, dict) and isinstance(data.get("segments"), list):
        items = [(s.get("id"), s.get("name") or s.get("color")) for s in data["segments"] if isinstance(s, dict)]
    elif isinstance(data, dict):
        items = list(data.items())
    else:
        raise ValueError(f"'{path}': expected an object with 'segments' or {{id: colour}}")
    index = np.full(seg.n + 1, -1, np.int32)
    for sid, value in items:
        try:
            k = int(sid)
        except (TypeError, ValueError):
            raise ValueError(f"'{path}': segment id {sid!r} is not an integer") from None
        if not 1 <= k <= seg.n:
            raise ValueError(f"'{path}': segment {k} does not exist in this frame (it has 1..{seg.n}); segment ids "
                             "depend on the line art and the segmentation settings (max_gap, speck_size, line_threshold)")
        if value is None or value == "unpainted":
            continue
        index[k] = table.lookup(value, f"'{path}' segment {k}")
    return KeyColours(index, np.zeros(seg.n + 1, np.float32), (index >= 0).astype(np.float32))
