"""Colour design sheets: the palette of every part's normal, shadow and highlight colours.

Two YAML forms are read by :func:`load_palette`:

**inkpaint design sheet** (a ``parts`` mapping; every key but ``normal`` is optional)::

    inkpaint_palette: 1            # format version (optional)
    ink: [20, 16, 24]              # line colour of the finished cel (default black)
    parts:
      skin:
        normal: [240, 204, 180]
        shadow: [201, 150, 140]    # one shadow ...
        highlight: [255, 236, 222]
        category: skin
        description: face and hands
      hair:
        normal: "#54431e"          # hex strings work too
        shadow: [[49, 22, 158], [30, 10, 110]]   # ... or two: first and second shadow
        highlight: [178, 147, 255]

  ``shadow2`` may also be given as its own key. A part without ``shadow`` is flat: its shadow tone is painted
  with the normal colour.

**BasicPBC colorbook** (one line per part; ``shadow2`` may be ``null`` or left out)::

    # {description} on {category}: [highlight, normal, shadow, shadow2|null]
    shirt on top: [[180, 221, 208], [115, 156, 150], [69, 104, 107]]
    eye highlight on eye: [[227, 255, 254], [215, 249, 255], [137, 162, 178], null]

  A part's name is its description made channel-safe (``eye highlight`` -> ``eye_highlight``, ``char2 hair`` ->
  ``char2_hair``), which is the name of its ``<part>.A`` matte channel.

Colours are 8-bit sRGB triples (0..255). ``[r, g, b, 255]`` is accepted as an opaque RGB; any other length, a
non-integer or an out-of-range value is an error naming the file, the line, the entry and the field.

Tone codes (the ``tone`` channel written by ``inkpaint shade``) map to palette colours as
``1 -> normal, 2 -> shadow, 3 -> highlight, 4 -> shadow2``; a missing highlight falls back to normal and a
missing shadow2 to shadow (see :meth:`PaletteEntry.color`).
"""

from __future__ import annotations

import dataclasses
import os
import re
import reprlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .errors import InkpaintError
from .jobs.names import MAX_NAME_LENGTH

RGB = tuple[int, int, int]

TONE_OUTSIDE = 0
TONE_BASE = 1
TONE_SHADOW = 2
TONE_HIGHLIGHT = 3
TONE_SHADOW2 = 4
TONE_FIELDS: dict[int, str] = {TONE_BASE: "normal", TONE_SHADOW: "shadow", TONE_HIGHLIGHT: "highlight", TONE_SHADOW2: "shadow2"}
"""Tone code of the ``tone`` channel -> palette field."""


class PaletteError(InkpaintError):
    """A palette file is malformed, or does not match the parts it is used with."""


MAX_PALETTE_BYTES = 1 << 20
"""A palette file larger than this (1 MiB; a design sheet of hundreds of parts is a few kB) is refused unread."""

MAX_PALETTE_NODES = 200_000
"""Most YAML nodes a palette may expand to, counting every alias as a copy of what it names (a 526-byte alias
"bomb" expands to billions): a file over it is refused before anything is built from it."""

_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 80
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 8
_REPR.maxlevel = 3


def _short(value: Any) -> str:
    """A bounded ``repr`` for error messages: strings, lists and nesting cut (``...``), whatever ``value`` holds."""
    return _REPR.repr(value)


@dataclasses.dataclass(frozen=True)
class PaletteEntry:
    """The colours of one part.

    Attributes:
        name: channel-safe part name (matches the ``<name>.A`` matte channel).
        normal: base colour, 8-bit sRGB.
        shadow: first shadow colour (equal to ``normal`` for flat parts).
        shadow2: second, darker shadow, or ``None``.
        highlight: highlight colour, or ``None``.
        category: free grouping (BasicPBC's ``{category}``: ``hair``, ``top`` ...); ``""`` when not given.
        description: human-readable description (BasicPBC's ``{description}``).
    """

    name: str
    normal: RGB
    shadow: RGB
    shadow2: RGB | None = None
    highlight: RGB | None = None
    category: str = ""
    description: str = ""

    def color(self, tone: int) -> RGB:
        """The colour painted for a tone code (1 base, 2 shadow, 3 highlight, 4 second shadow).

        Missing colours fall back: highlight -> normal, shadow2 -> shadow.

        Raises:
            ValueError: ``tone`` is not 1..4.
        """
        if tone == TONE_BASE:
            return self.normal
        if tone == TONE_SHADOW:
            return self.shadow
        if tone == TONE_HIGHLIGHT:
            return self.highlight if self.highlight is not None else self.normal
        if tone == TONE_SHADOW2:
            return self.shadow2 if self.shadow2 is not None else self.shadow
        raise ValueError(f"tone code must be 1..4, got {tone}")

    def tones(self) -> list[tuple[str, RGB]]:
        """``(tone name, colour)`` for every colour this entry defines, in the order normal, shadow, shadow2, highlight."""
        out: list[tuple[str, RGB]] = [("normal", self.normal), ("shadow", self.shadow)]
        if self.shadow2 is not None:
            out.append(("shadow2", self.shadow2))
        if self.highlight is not None:
            out.append(("highlight", self.highlight))
        return out


@dataclasses.dataclass
class Palette:
    """A colour design sheet: one :class:`PaletteEntry` per part, plus the ink colour.

    Attributes:
        entries: part name -> entry, in file order.
        ink: line colour, 8-bit sRGB.
        source: the file it was read from (``""`` when built in code).
    """

    entries: dict[str, PaletteEntry]
    ink: RGB = (0, 0, 0)
    source: str = ""

    def __post_init__(self) -> None:
        self._colors: tuple[np.ndarray, list[tuple[str, str]]] | None = None

    # mapping-like access -------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[PaletteEntry]:
        return iter(self.entries.values())

    def __contains__(self, name: object) -> bool:
        return name in self.entries

    def __getitem__(self, name: str) -> PaletteEntry:
        try:
            return self.entries[name]
        except KeyError:
            raise PaletteError(f"palette {self._where()}has no part {_short(name)}; it has {', '.join(self.entries) or 'none'}") from None

    @property
    def names(self) -> list[str]:
        """Part names in file order."""
        return list(self.entries)

    def _where(self) -> str:
        return f"'{self.source}' " if self.source else ""

    # colours -------------------------------------------------------------------------------------------------
    def colors(self) -> tuple[np.ndarray, list[tuple[str, str]]]:
        """Every distinct colour of the palette and what it is.

        Returns:
            ``(colors, labels)``: ``colors`` is ``(N, 3)`` uint8 sRGB, in file order (per part: normal, shadow,
            shadow2, highlight); ``labels[i]`` is the ``(part, tone name)`` that first uses ``colors[i]``
            (a colour shared by several parts/tones appears once, labelled by its first use).
        """
        if self._colors is None:
            seen: dict[RGB, int] = {}
            labels: list[tuple[str, str]] = []
            for e in self.entries.values():
                for tone, rgb in e.tones():
                    if rgb not in seen:
                        seen[rgb] = len(labels)
                        labels.append((e.name, tone))
            arr = np.array(list(seen), dtype=np.uint8).reshape(-1, 3)
            self._colors = (arr, labels)
        arr, labels = self._colors
        return arr.copy(), list(labels)

    def nearest(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The nearest palette colour of every pixel (Euclidean distance in 8-bit sRGB units).

        Args:
            rgb: ``(..., 3)`` colours in 0..255 units (uint8, or any integer/float dtype on that scale).

        Returns:
            ``(index, distance)``: ``(...)`` int32 indices into :meth:`colors` and ``(...)`` float32 distances
            (0 where the colour is exactly a palette colour).

        Raises:
            ValueError: ``rgb`` does not end in a 3-channel axis, or the palette is empty.
        """
        arr = np.asarray(rgb)
        if arr.ndim < 1 or arr.shape[-1] != 3:
            raise ValueError(f"rgb must have shape (..., 3), got {arr.shape}")
        colors, _ = self.colors()
        if len(colors) == 0:
            raise ValueError("the palette has no colours")
        lead = arr.shape[:-1]
        flat = arr.reshape(-1, 3)
        pal = colors.astype(np.float32)
        if flat.dtype == np.uint8:
            # few distinct colours in a cel: solve on the unique ones, then gather.
            key = (flat[:, 0].astype(np.uint32) << 16) | (flat[:, 1].astype(np.uint32) << 8) | flat[:, 2]
            uniq, inverse = np.unique(key, return_inverse=True)
            u = np.stack([(uniq >> 16) & 255, (uniq >> 8) & 255, uniq & 255], axis=1).astype(np.float32)
            idx_u, dist_u = _nearest_dense(u, pal)
            return idx_u[inverse].reshape(lead), dist_u[inverse].reshape(lead)
        idx, dist = _nearest_dense(flat.astype(np.float32), pal)
        return idx.reshape(lead), dist.reshape(lead)

    def tone_lut(self, parts: Sequence[str], *, outside: RGB = (0, 0, 0)) -> np.ndarray:
        """A lookup table from (part label, tone code) to colour, for painting a whole frame in one gather.

        Args:
            parts: part names; label ``i + 1`` is ``parts[i]``, label 0 is outside every part.
            outside: colour of label 0 and of tone 0.

        Returns:
            ``(len(parts) + 1, 5, 3)`` uint8: ``lut[label, tone]``.

        Raises:
            PaletteError: a part is not in the palette.
        """
        lut = np.empty((len(parts) + 1, 5, 3), np.uint8)
        lut[:] = outside
        for i, name in enumerate(parts):
            e = self[name]
            for tone in TONE_FIELDS:
                lut[i + 1, tone] = e.color(tone)
        return lut

    def check_parts(self, parts: Sequence[str], *, what: str = "mattes") -> None:
        """Check the palette and a set of parts name the same parts.

        Args:
            parts: the part names of the other side (e.g. the ``<part>.A`` channels of the mattes).
            what: how the other side is named in the error (``"mattes 'roto/shot.1001.exr'"``).

        Raises:
            PaletteError: listing the parts missing from the palette and those missing from ``parts``.
        """
        have = set(self.entries)
        other = set(parts)
        no_colour = [p for p in parts if p not in have]
        no_matte = [p for p in self.entries if p not in other]
        if no_colour or no_matte:
            lines = [f"palette {self._where()}and {what} name different parts:"]
            if no_colour:
                lines.append(f"  in the {what.split(' ')[0]} but not in the palette: {', '.join(no_colour)}")
            if no_matte:
                lines.append(f"  in the palette but not in the {what.split(' ')[0]}: {', '.join(no_matte)}")
            lines.append(f"  palette parts: {', '.join(self.entries) or 'none'}; {what.split(' ')[0]} parts: {', '.join(parts) or 'none'}")
            raise PaletteError("\n".join(lines))


def _nearest_dense(x: np.ndarray, pal: np.ndarray, chunk: int = 1 << 16) -> tuple[np.ndarray, np.ndarray]:
    """Nearest row of ``pal`` (K, 3) for every row of ``x`` (N, 3), in chunks so memory stays bounded."""
    n = len(x)
    idx = np.empty(n, np.int32)
    dist = np.empty(n, np.float32)
    p2 = (pal * pal).sum(1)
    for s in range(0, n, chunk):
        xs = x[s : s + chunk]
        d2 = (xs * xs).sum(1, keepdims=True) - 2.0 * xs @ pal.T + p2[None]
        k = np.argmin(d2, axis=1)
        idx[s : s + chunk] = k
        # exact distance for the winner (the expanded form loses precision near 0)
        dist[s : s + chunk] = np.sqrt(((xs - pal[k]) ** 2).sum(1))
    return idx, dist


# ----------------------------------------------------------------------------------------------------------------
# Reading


_NAME_BAD = re.compile(r"[^A-Za-z0-9_]+")


def part_name(text: str) -> str:
    """Make a channel-safe part name from a description: ``"eye highlight"`` -> ``"eye_highlight"``."""
    name = _NAME_BAD.sub("_", str(text).strip()).strip("_")
    if not name:
        return "_"
    return "_" + name if name[0].isdigit() else name


class _Map(dict):
    """A YAML mapping that remembers the line of each key (1-based)."""

    line: int = 0
    lines: dict[Any, int]


class _Seq(list):
    line: int = 0


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_map(loader: _LineLoader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    out = _Map()
    out.line = node.start_mark.line + 1
    out.lines = {}
    for k_node, v_node in node.value:
        key = loader.construct_object(k_node, deep=True)
        line = k_node.start_mark.line + 1
        try:
            hash(key)
        except TypeError:
            raise PaletteError(f"{loader.name}: line {line}: a mapping key must be text, got {_short(key)}") from None
        if key in out.lines:
            raise PaletteError(f"{loader.name}: line {line}: entry {_short(key)} is given twice (first on line {out.lines[key]})")
        out[key] = loader.construct_object(v_node, deep=True)
        out.lines[key] = line
    return out


def _construct_seq(loader: _LineLoader, node: yaml.SequenceNode) -> _Seq:
    out = _Seq(loader.construct_object(v, deep=True) for v in node.value)
    out.line = node.start_mark.line + 1
    return out


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


def _line_of(value: Any, fallback: int) -> int:
    return int(getattr(value, "line", 0) or fallback)


def parse_rgb(value: Any, where: str) -> RGB:
    """Check and convert one colour: ``[r, g, b]`` (0..255 integers), ``[r, g, b, 255]`` or ``"#rrggbb"``.

    Args:
        where: the location named in errors (``"'design.yml' line 4, part 'skin', field 'shadow'"``).

    Raises:
        PaletteError: naming ``where`` and what is wrong.
    """
    if isinstance(value, str):
        m = re.fullmatch(r"#?([0-9A-Fa-f]{6})", value.strip())
        if not m:
            raise PaletteError(f"{where}: bad RGB {_short(value)}; give [r, g, b] with 0..255 integers or '#rrggbb'")
        h = m.group(1)
        return (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16))
    if not isinstance(value, (list, tuple)):
        raise PaletteError(f"{where}: bad RGB {_short(value)}; give [r, g, b] with 0..255 integers")
    vals = list(value)
    if len(vals) == 4 and vals[3] == 255:
        vals = vals[:3]
    if len(vals) != 3:
        raise PaletteError(f"{where}: bad RGB {_short(list(value))}: wrong length {len(value)}, expected 3 values [r, g, b]")
    out = []
    for v in vals:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and not v.is_integer()):
            raise PaletteError(f"{where}: bad RGB {_short(list(value))}: {_short(v)} is not an integer")
        if not 0 <= v <= 255:
            raise PaletteError(f"{where}: bad RGB {_short(list(value))}: {_short(v)} is outside 0..255")
        out.append(int(v))
    return (out[0], out[1], out[2])


def load_palette(path: str | os.PathLike[str]) -> Palette:
    """Read a colour design sheet: inkpaint's design-sheet YAML or BasicPBC's ``colorbook.yml``.

    The form is detected from the content: a top-level ``parts`` mapping is a design sheet; a mapping of
    ``"{description} on {category}": [highlight, normal, shadow, shadow2|null]`` lists is a colorbook.

    Args:
        path: the YAML file.

    Returns:
        The palette, parts in file order.

    Raises:
        PaletteError: the file is unreadable, not YAML, or malformed; the message names the file, the line,
            the entry and the field (e.g. ``'design.yml' line 7, part 'hair', field 'shadow': bad RGB ...``).
    """
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_PALETTE_BYTES:
            raise PaletteError(f"palette '{p}' is {size} bytes, over the limit of {MAX_PALETTE_BYTES}; is it a palette?")
        raw = p.read_bytes()
    except OSError as exc:
        raise PaletteError(f"cannot read palette '{p}': {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PaletteError(f"palette '{p}' is not UTF-8 text (bad byte at offset {exc.start}); is it a YAML file?") from None
    if "\x00" in text:
        raise PaletteError(f"palette '{p}' holds NUL bytes: it is a binary file, not YAML")
    loader = _LineLoader(text)
    loader.name = f"'{p}'"
    try:
        node = loader.get_single_node()
        if node is not None:
            nodes = _expanded_size(node, MAX_PALETTE_NODES)
            if nodes > MAX_PALETTE_NODES:
                raise PaletteError(
                    f"'{p}': the YAML expands to more than {MAX_PALETTE_NODES} values (aliases counted as copies); "
                    "a palette lists a few colours per part; is it an alias bomb?")
        data = loader.construct_document(node) if node is not None else None
    except RecursionError:
        raise PaletteError(f"'{p}': the YAML is nested too deeply to be a palette") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" line {mark.line + 1}" if mark is not None else ""
        raise PaletteError(f"'{p}'{at}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    finally:
        loader.dispose()
    if data is None:
        raise PaletteError(f"'{p}': the palette is empty")
    if not isinstance(data, dict):
        raise PaletteError(f"'{p}': a palette must be a YAML mapping, got {type(data).__name__}")
    assert isinstance(data, _Map)  # every mapping the loader builds is a _Map
    if "parts" in data and isinstance(data["parts"], dict):
        pal = _design_sheet(data, str(p))
    else:
        pal = _colorbook(data, str(p))
    if not pal.entries:
        raise PaletteError(f"'{p}': the palette lists no parts")
    return pal


def _expanded_size(root: yaml.Node, limit: int) -> int:
    """How many nodes ``root`` stands for with every alias expanded, counting up to just over ``limit``.

    Shared nodes (anchors and their aliases) are sized once and counted per use, so this runs in time linear in
    the *document*, not in its expansion.
    """
    sizes: dict[int, int] = {}

    def size(node: yaml.Node, depth: int) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        if depth > 200:
            raise RecursionError
        total = 1
        if isinstance(node, yaml.SequenceNode):
            for child in node.value:
                total += size(child, depth + 1)
                if total > limit:
                    break
        elif isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                total += size(k, depth + 1) + size(v, depth + 1)
                if total > limit:
                    break
        sizes[id(node)] = total
        return total

    return size(root, 0)


def _add_entry(entries: dict[str, PaletteEntry], lines: dict[str, tuple[int, str]], entry: PaletteEntry, line: int, key: str, src: str) -> None:
    if len(entry.name) > MAX_NAME_LENGTH:
        raise PaletteError(f"'{src}' line {line}: part name {_short(entry.name)} is {len(entry.name)} characters long; "
                           f"a part (layer) name may have at most {MAX_NAME_LENGTH}")
    if entry.name in entries:
        first_line, first_key = lines[entry.name]
        raise PaletteError(
            f"'{src}' line {line}: entry {_short(key)} has the same part name {_short(entry.name)} as entry {_short(first_key)} on line {first_line}"
        )
    entries[entry.name] = entry
    lines[entry.name] = (line, key)


def _design_sheet(data: _Map, src: str) -> Palette:
    version = data.get("inkpaint_palette", 1)
    if version != 1:
        raise PaletteError(f"'{src}' line {data.lines.get('inkpaint_palette', 1)}: inkpaint_palette {_short(version)} is not supported (this inkpaint reads 1)")
    known_top = {"inkpaint_palette", "ink", "parts", "name", "description"}
    for k in data:
        if k not in known_top:
            raise PaletteError(f"'{src}' line {data.lines[k]}: unknown top-level field {_short(k)}; known: {', '.join(sorted(known_top))}")
    ink: RGB = (0, 0, 0)
    if "ink" in data:
        ink = parse_rgb(data["ink"], f"'{src}' line {data.lines['ink']}, field 'ink'")
    parts = data["parts"]
    assert isinstance(parts, _Map)
    entries: dict[str, PaletteEntry] = {}
    lines: dict[str, tuple[int, str]] = {}
    known = ("normal", "shadow", "shadow2", "highlight", "category", "description")
    for key, spec in parts.items():
        line = parts.lines[key]
        name = str(key)
        if name != part_name(name):
            raise PaletteError(
                f"'{src}' line {line}, part {_short(name)}: not a valid part name (letters, digits, _; not starting with a "
                f"digit), e.g. {_short(part_name(name))}; it must match the part's matte channel '<part>.A'"
            )
        if not isinstance(spec, _Map):
            raise PaletteError(f"'{src}' line {line}, part {_short(name)}: expected a mapping with normal/shadow/highlight, got {_short(spec)}")
        for k in spec:
            if k not in known:
                raise PaletteError(f"'{src}' line {spec.lines[k]}, part {_short(name)}: unknown field {_short(k)}; known: {', '.join(known)}")

        def where(field: str, spec: _Map = spec, line: int = line, name: str = name) -> str:
            return f"'{src}' line {spec.lines.get(field, line)}, part {_short(name)}, field '{field}'"

        if "normal" not in spec:
            raise PaletteError(f"'{src}' line {line}, part {_short(name)}, field 'normal': required field is missing")
        normal = parse_rgb(spec["normal"], where("normal"))
        shadow = normal
        shadow2: RGB | None = None
        raw = spec.get("shadow")
        if raw is not None:
            if isinstance(raw, list) and raw and all(isinstance(v, (list, str)) for v in raw):
                if len(raw) > 2:
                    raise PaletteError(f"{where('shadow')}: wrong length {len(raw)}; give one colour or two [first, second]")
                shadow = parse_rgb(raw[0], where("shadow") + "[0]")
                if len(raw) == 2:
                    shadow2 = parse_rgb(raw[1], where("shadow") + "[1]")
            else:
                shadow = parse_rgb(raw, where("shadow"))
        if spec.get("shadow2") is not None:
            if shadow2 is not None:
                raise PaletteError(f"{where('shadow2')}: the second shadow is given twice (also in 'shadow')")
            shadow2 = parse_rgb(spec["shadow2"], where("shadow2"))
        highlight = parse_rgb(spec["highlight"], where("highlight")) if spec.get("highlight") is not None else None
        category = str(spec.get("category") or "")
        description = str(spec.get("description") or "")
        _add_entry(entries, lines, PaletteEntry(name, normal, shadow, shadow2, highlight, category, description), line, name, src)
    return Palette(entries, ink, src)


def _colorbook(data: _Map, src: str) -> Palette:
    entries: dict[str, PaletteEntry] = {}
    lines: dict[str, tuple[int, str]] = {}
    fields = ("highlight", "normal", "shadow", "shadow2")
    for key, value in data.items():
        line = data.lines[key]
        text = str(key)
        if " on " in text:
            description, category = (s.strip() for s in text.rsplit(" on ", 1))
        else:
            description, category = text.strip(), ""
        at = f"'{src}' line {line}, entry {_short(text)}"
        if not isinstance(value, list):
            raise PaletteError(
                f"{at}: expected [highlight, normal, shadow, shadow2|null] (BasicPBC colorbook) or a design sheet with a "
                f"'parts' mapping; got {_short(value)}"
            )
        if len(value) not in (3, 4):
            raise PaletteError(f"{at}: wrong length {len(value)}; expected [highlight, normal, shadow] or [highlight, normal, shadow, shadow2|null]")
        cols: dict[str, RGB | None] = {}
        for i, v in enumerate(value):
            f = fields[i]
            if v is None and f in ("highlight", "shadow2"):
                cols[f] = None
            else:
                cols[f] = parse_rgb(v, f"{at}, field '{f}' (item {i})")
        normal = cols["normal"]
        shadow = cols["shadow"]
        assert normal is not None and shadow is not None
        entry = PaletteEntry(part_name(description), normal, shadow, cols.get("shadow2"), cols.get("highlight"), category, description)
        _add_entry(entries, lines, entry, line, text, src)
    return Palette(entries, (0, 0, 0), src)


def save_palette(palette: Palette, path: str | os.PathLike[str]) -> None:
    """Write ``palette`` as an inkpaint design sheet (atomic)."""
    from .io.atomic import atomic_write_text

    parts: dict[str, Any] = {}
    for e in palette:
        d: dict[str, Any] = {"normal": list(e.normal), "shadow": list(e.shadow)}
        if e.shadow2 is not None:
            d["shadow2"] = list(e.shadow2)
        if e.highlight is not None:
            d["highlight"] = list(e.highlight)
        if e.category:
            d["category"] = e.category
        if e.description:
            d["description"] = e.description
        parts[e.name] = d
    body = {"inkpaint_palette": 1, "ink": list(palette.ink), "parts": parts}
    atomic_write_text(path, yaml.safe_dump(body, sort_keys=False, default_flow_style=None))


__all__ = [
    "RGB",
    "TONE_OUTSIDE",
    "TONE_BASE",
    "TONE_SHADOW",
    "TONE_HIGHLIGHT",
    "TONE_SHADOW2",
    "TONE_FIELDS",
    "PaletteError",
    "PaletteEntry",
    "Palette",
    "load_palette",
    "save_palette",
    "parse_rgb",
    "part_name",
]
