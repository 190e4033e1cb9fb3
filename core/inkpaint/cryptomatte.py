"""Cryptomatte layers from per-object mattes (Psyop Cryptomatte specification 1.1/1.2).

A Cryptomatte "type" (layer) such as ``CryptoObject`` is stored as ranked ID/coverage pairs::

    CryptoObject00.R  ID of rank 0        CryptoObject00.G  coverage of rank 0
    CryptoObject00.B  ID of rank 1        CryptoObject00.A  coverage of rank 1
    CryptoObject01.R  ID of rank 2        ...

Per pixel, the objects present are sorted by coverage (highest first). An ID is the 32-bit MurmurHash3 (x86_32,
seed 0) of the object's UTF-8 name, reinterpreted as a float32 after moving the exponent off 0 and 255 so that no
ID is a denormal, infinity or NaN. Empty ranks hold ID 0 and coverage 0. ID channels must be stored as 32-bit
float (a half float cannot hold the hash): :func:`inkpaint.io.frames.write_exr` writes every channel of a layer
named in ``cryptomatte/<key>/name`` metadata as float.

The header carries, under a 7-hex-digit key derived from the layer name::

    cryptomatte/<key>/name        CryptoObject
    cryptomatte/<key>/hash        MurmurHash3_32
    cryptomatte/<key>/conversion  uint32_to_float32
    cryptomatte/<key>/manifest    {"dancer": "4b1f7c0e", ...}   (name -> 8 hex digits of the float's bits)

Nuke's Cryptomatte node, Blender's Cryptomatte node and Fusion's Cryptomatte fuse can then pick objects by name.
"""

from __future__ import annotations

import dataclasses
import json
import re
import struct
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

DEFAULT_LAYER = "CryptoObject"
"""The layer (Cryptomatte type) name the roto operation writes."""

DEFAULT_LEVELS = 6
"""Ranks written per pixel; the specification's suggested default (3 RGBA layers). Constant for every frame."""

HASH_NAME = "MurmurHash3_32"
CONVERSION = "uint32_to_float32"
METADATA_PREFIX = "cryptomatte/"

_C1 = 0xCC9E2D51
_C2 = 0x1B873593
_MASK = 0xFFFFFFFF
_LAYER_RX = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def murmurhash3_32(data: bytes | str, seed: int = 0) -> int:
    """MurmurHash3 x86_32 of ``data`` (a ``str`` is hashed as UTF-8).

    Returns:
        The hash as an unsigned 32-bit integer.
    """
    key = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    h = seed & _MASK
    n_blocks = len(key) // 4
    for (k,) in struct.iter_unpack("<I", key[: n_blocks * 4]):
        k = (k * _C1) & _MASK
        k = ((k << 15) | (k >> 17)) & _MASK
        k = (k * _C2) & _MASK
        h ^= k
        h = ((h << 13) | (h >> 19)) & _MASK
        h = (h * 5 + 0xE6546B64) & _MASK
    tail = key[n_blocks * 4 :]
    k = 0
    if len(tail) >= 3:
        k ^= tail[2] << 16
    if len(tail) >= 2:
        k ^= tail[1] << 8
    if len(tail) >= 1:
        k ^= tail[0]
        k = (k * _C1) & _MASK
        k = ((k << 15) | (k >> 17)) & _MASK
        k = (k * _C2) & _MASK
        h ^= k
    h ^= len(key)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _MASK
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _MASK
    h ^= h >> 16
    return h


def name_to_bits(name: str) -> int:
    """The uint32 bit pattern of ``name``'s float ID: its MurmurHash3 with the float exponent kept in 1..254.

    An exponent of 0 (zero/denormal) or 255 (inf/NaN) has its lowest bit flipped, exactly as Psyop's reference
    ``mm3hash_float`` does (equivalent to the specification's clamp to ``[1, 254]``).
    """
    bits = murmurhash3_32(name)
    exponent = (bits >> 23) & 0xFF
    if exponent in (0, 255):
        bits ^= 1 << 23
    return bits


def bits_to_float(bits: int) -> float:
    """Reinterpret a uint32 bit pattern as a float32 (returned as a Python float, exactly representable)."""
    return float(struct.unpack("<f", struct.pack("<I", bits & _MASK))[0])


def float_to_bits(value: float) -> int:
    """The uint32 bit pattern of ``value`` as a float32."""
    return int(struct.unpack("<I", struct.pack("<f", value))[0])


def name_to_id(name: str) -> float:
    """The Cryptomatte float32 ID of ``name``."""
    return bits_to_float(name_to_bits(name))


def id_to_hex(value: float) -> str:
    """The manifest form of an ID: 8 lowercase hex digits of its float32 bits."""
    return f"{float_to_bits(value):08x}"


def hex_to_id(text: str) -> float:
    """Inverse of :func:`id_to_hex`."""
    return bits_to_float(int(text, 16))


def layer_key(layer: str) -> str:
    """The 7-character metadata key of a layer: the first 7 hex digits of the MurmurHash3 of its name.

    This is what Blender writes; Psyop's Nuke tools hash the exponent-fixed ID instead, which differs only when the
    raw hash has an exponent of 0 or 255 (not the case for the usual layer names). Readers find a layer by its
    ``name`` entry, never by recomputing the key, so both forms are read everywhere.
    """
    return f"{murmurhash3_32(layer):08x}"[:7]


def manifest(names: Sequence[str]) -> dict[str, str]:
    """``{name: hex ID}`` for ``names``.

    Raises:
        ValueError: two names hash to the same ID (they could not be told apart), or a name is empty.
    """
    out: dict[str, str] = {}
    seen: dict[int, str] = {}
    for name in names:
        if not name:
            raise ValueError("Cryptomatte names must be non-empty")
        bits = name_to_bits(name)
        if bits in seen and seen[bits] != name:
            raise ValueError(f"Cryptomatte ID collision: {seen[bits]!r} and {name!r} both hash to {bits:08x}; rename one")
        seen[bits] = name
        out[name] = f"{bits:08x}"
    return out


def cryptomatte_layer(
    mattes: Mapping[str, np.ndarray],
    names: Sequence[str] | None = None,
    *,
    layer: str = DEFAULT_LAYER,
    levels: int = DEFAULT_LEVELS,
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Encode per-object mattes as a Cryptomatte layer.

    Args:
        mattes: object name -> ``(H, W)`` coverage in 0..1 (float; values outside are clipped). Mattes may
            overlap; each pixel ranks the objects present by coverage.
        names: objects to encode, in tie-break order (default: the mapping's order). Every name must be in
            ``mattes``.
        layer: the Cryptomatte type name (``CryptoObject``, ``CryptoMaterial`` ...); letters, digits, ``_``.
        levels: ranks per pixel, an even number >= 2 (``levels / 2`` RGBA layers). Keep it the same for every
            frame of a sequence.

    Returns:
        ``(channels, metadata)``: channel name (``CryptoObject00.R`` ...) -> ``(H, W)`` float32, and the header
        attributes (``cryptomatte/<key>/name``, ``/hash``, ``/conversion``, ``/manifest``).

    Raises:
        ValueError: bad ``levels`` or layer name, no objects, a name missing from ``mattes``, mismatched shapes,
            or an ID collision.
    """
    if levels < 2 or levels % 2:
        raise ValueError(f"levels must be an even number >= 2, got {levels}")
    if not _LAYER_RX.match(layer):
        raise ValueError(f"Cryptomatte layer name {layer!r} must be letters, digits and _ (not starting with a digit)")
    order = list(names) if names is not None else list(mattes)
    if not order:
        raise ValueError("no objects to encode in the Cryptomatte layer")
    missing = [n for n in order if n not in mattes]
    if missing:
        raise ValueError(f"no matte for object(s) {missing}; mattes are given for {sorted(mattes)}")
    shape = np.asarray(mattes[order[0]]).shape
    if len(shape) != 2:
        raise ValueError(f"matte {order[0]!r} has shape {shape}; expected (H, W)")
    for n in order:
        if np.asarray(mattes[n]).shape != shape:
            raise ValueError(f"matte {n!r} has shape {np.asarray(mattes[n]).shape}, expected {shape} like {order[0]!r}")
    table = manifest(order)
    ids = np.array([int(table[n], 16) for n in order], dtype=np.uint32).view(np.float32)

    coverage = np.stack([np.clip(np.asarray(mattes[n], dtype=np.float32), 0.0, 1.0) for n in order])
    n_obj = len(order)
    take = min(levels, n_obj)
    if n_obj == 1:
        rank = np.zeros((1, *shape), dtype=np.intp)
    else:
        # Highest coverage first; ties keep the names' order (stable sort of the negated coverage).
        rank = np.argsort(-coverage, axis=0, kind="stable")[:take]
    rank_cov = np.take_along_axis(coverage, rank, axis=0)
    rank_ids = np.where(rank_cov > 0.0, ids[rank], np.float32(0.0)).astype(np.float32)
    rank_cov = rank_cov.astype(np.float32)

    channels: dict[str, np.ndarray] = {}
    zeros = np.zeros(shape, np.float32)
    for r in range(levels):
        block, pair = divmod(r, 2)
        id_ch, cov_ch = ("R", "G") if pair == 0 else ("B", "A")
        prefix = f"{layer}{block:02d}."
        channels[prefix + id_ch] = rank_ids[r] if r < take else zeros
        channels[prefix + cov_ch] = rank_cov[r] if r < take else zeros
    key = layer_key(layer)
    metadata = {
        f"{METADATA_PREFIX}{key}/name": layer,
        f"{METADATA_PREFIX}{key}/hash": HASH_NAME,
        f"{METADATA_PREFIX}{key}/conversion": CONVERSION,
        f"{METADATA_PREFIX}{key}/manifest": json.dumps(table, separators=(",", ":")),
    }
    return channels, metadata


# ----------------------------------------------------------------------------------------------------------------
# Reading (used by tests and by hosts that want to check what they got)


@dataclasses.dataclass
class CryptomatteInfo:
    """One Cryptomatte type found in a file's header.

    Attributes:
        name: the layer name (``CryptoObject``).
        key: its 7-character metadata key.
        hash: the hash method named in the header.
        conversion: the conversion method named in the header.
        manifest: name -> hex ID (empty when the file carries none).
    """

    name: str
    key: str
    hash: str
    conversion: str
    manifest: dict[str, str]


def read_metadata(attributes: Mapping[str, Any]) -> dict[str, CryptomatteInfo]:
    """Find the Cryptomatte types described by header attributes (``exr/`` prefixes, as Nuke shows them, allowed).

    Returns:
        layer name -> :class:`CryptomatteInfo`.
    """
    by_key: dict[str, dict[str, Any]] = {}
    for attr, value in attributes.items():
        m = re.match(r"^(?:exr/)?cryptomatte/([^/]+)/(.+)$", str(attr))
        if m:
            by_key.setdefault(m.group(1), {})[m.group(2)] = value
    out: dict[str, CryptomatteInfo] = {}
    for key, fields in by_key.items():
        if "name" not in fields:
            continue
        raw = fields.get("manifest", "{}")
        try:
            table = json.loads(raw) if isinstance(raw, str) else dict(raw)
        except ValueError:
            table = {}
        out[str(fields["name"])] = CryptomatteInfo(
            str(fields["name"]), key, str(fields.get("hash", "")), str(fields.get("conversion", "")), table
        )
    return out


def rank_count(channels: Mapping[str, Any], layer: str = DEFAULT_LAYER) -> int:
    """How many ranks (ID/coverage pairs) ``channels`` hold for ``layer``."""
    n = 0
    while f"{layer}{n // 2:02d}.{'R' if n % 2 == 0 else 'B'}" in channels:
        n += 1
    return n


def extract_matte(channels: Mapping[str, np.ndarray], names: str | Sequence[str], layer: str = DEFAULT_LAYER) -> np.ndarray:
    """Decode the matte of one or more objects the way Cryptomatte keyers do: sum the coverage of every rank whose
    ID matches.

    Args:
        channels: channel name -> ``(H, W)`` float32 (at least the layer's ranked channels).
        names: object name(s) to extract.
        layer: the Cryptomatte type name.

    Returns:
        ``(H, W)`` float32 matte in 0..1.

    Raises:
        KeyError: the layer's channels are absent.
    """
    wanted = [names] if isinstance(names, str) else list(names)
    levels = rank_count(channels, layer)
    if levels == 0:
        raise KeyError(f"no {layer}00.R channel; channels present: {', '.join(sorted(channels))}")
    targets = np.array([name_to_bits(n) for n in wanted], dtype=np.uint32)
    out: np.ndarray | None = None
    for r in range(levels):
        block, pair = divmod(r, 2)
        id_ch, cov_ch = ("R", "G") if pair == 0 else ("B", "A")
        ids = np.ascontiguousarray(channels[f"{layer}{block:02d}.{id_ch}"], dtype=np.float32).view(np.uint32)
        cov = np.asarray(channels[f"{layer}{block:02d}.{cov_ch}"], dtype=np.float32)
        hit = np.isin(ids, targets)
        part = np.where(hit, cov, np.float32(0.0))
        out = part if out is None else out + part
    assert out is not None
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def is_cryptomatte_channel(channel: str, layers: Sequence[str]) -> bool:
    """Whether ``channel`` is a ranked channel (``<layer>NN.R|G|B|A``) of one of ``layers``."""
    for layer in layers:
        if re.fullmatch(re.escape(layer) + r"\d{2,}\.[RGBA]", channel):
            return True
    return False


__all__ = [
    "DEFAULT_LAYER",
    "DEFAULT_LEVELS",
    "murmurhash3_32",
    "name_to_bits",
    "name_to_id",
    "id_to_hex",
    "hex_to_id",
    "layer_key",
    "manifest",
    "cryptomatte_layer",
    "CryptomatteInfo",
    "read_metadata",
    "rank_count",
    "extract_matte",
    "is_cryptomatte_channel",
]
