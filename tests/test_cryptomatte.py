"""Cryptomatte encoding (core/inkpaint/cryptomatte.py): hash vectors, the reference float conversion, ranking,
decoding, and a round trip through real OIIO files checked with the OpenEXR package."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import numpy as np
import pytest

from inkpaint import cryptomatte as cm
from inkpaint.errors import OutputError
from inkpaint.io.frames import read_attributes, read_channels, write_exr

# Published MurmurHash3_x86_32 vectors (SMHasher / Wikipedia test table).
MURMUR_VECTORS = [
    (b"", 0, 0x00000000),
    (b"", 1, 0x514E28B7),
    (b"", 0xFFFFFFFF, 0x81F16F39),
    (b"\x00\x00\x00\x00", 0, 0x2362F9DE),
    (b"hello", 0, 0x248BFA47),
    (b"The quick brown fox jumps over the lazy dog", 0, 0x2E4FF723),
    (b"aaaa", 0x9747B28C, 0x5A97808A),
    (b"Hello, world!", 0x9747B28C, 0x24884CBA),
]

# Manifest entries printed in the Cryptomatte specification 1.1 (name -> hex of the float ID).
SPEC_MANIFEST = {"bunny": "13851a76", "default": "42c9679f", "bunny_porcelain_mat": "b24b26d4"}


@pytest.mark.parametrize("data,seed,expected", MURMUR_VECTORS)
def test_murmurhash3_vectors(data: bytes, seed: int, expected: int) -> None:
    assert cm.murmurhash3_32(data, seed) == expected


def test_murmurhash3_hashes_str_as_utf8() -> None:
    assert cm.murmurhash3_32("héllo") == cm.murmurhash3_32("héllo".encode("utf-8"))
    assert cm.murmurhash3_32("héllo") != cm.murmurhash3_32("héllo".encode("latin-1"))


def test_manifest_matches_specification_examples() -> None:
    assert cm.manifest(list(SPEC_MANIFEST)) == SPEC_MANIFEST


def _reference_mm3hash_float(name: str) -> float:
    """Psyop's cryptomatte_utilities.mm3hash_float (Nuke gizmo 1.2+), with mmh3.hash's signed result emulated."""
    hash_32 = cm.murmurhash3_32(name)
    if hash_32 >= 1 << 31:
        hash_32 -= 1 << 32  # mmh3.hash returns a signed int
    exp = hash_32 >> 23 & 255
    if exp == 0 or exp == 255:
        hash_32 ^= 1 << 23
    return struct.unpack("<f", struct.pack("<L", hash_32 & 0xFFFFFFFF))[0]


def _spec_hash_to_float(h: int) -> float:
    """The specification's C++ ``hash_to_float`` (exponent clamped to [1, 254])."""
    mantissa = h & ((1 << 23) - 1)
    exponent = min(max((h >> 23) & 0xFF, 1), 254)
    bits = (h >> 31) << 31 | exponent << 23 | mantissa
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def test_ids_match_reference_implementations_including_exponent_fix() -> None:
    names = [f"obj{i}" for i in range(1500)] + ["bunny", "CryptoObject", "dancer_left_arm", "漢字", ""[:0] + "x"]
    fixed = 0
    for name in names:
        h = cm.murmurhash3_32(name)
        ours = cm.name_to_id(name)
        assert struct.pack("<f", ours) == struct.pack("<f", _reference_mm3hash_float(name)), name
        assert struct.pack("<f", ours) == struct.pack("<f", _spec_hash_to_float(h)), name
        assert math.isfinite(ours) and (ours == 0.0 or abs(ours) >= np.finfo(np.float32).tiny), name
        fixed += ((h >> 23) & 0xFF) in (0, 255)
    assert fixed >= 6  # obj45/obj522/obj566 (exponent 0) and obj520/obj957/obj1000 (255) are among them


def test_ids_agree_with_mmh3_when_available() -> None:
    mmh3 = pytest.importorskip("mmh3", reason="the mmh3 package is not installed (optional cross-check)")
    for i in range(500):
        name = f"part_{i}_{'é' * (i % 5)}"
        assert cm.murmurhash3_32(name) == mmh3.hash(name, signed=False)


def test_id_hex_round_trip_and_layer_key() -> None:
    for name in ("bunny", "obj45", "obj520"):
        value = cm.name_to_id(name)
        assert cm.hex_to_id(cm.id_to_hex(value)) == value
    assert cm.layer_key("CryptoObject") == f"{cm.murmurhash3_32('CryptoObject'):08x}"[:7] == "3ae39a5"
    assert len(cm.layer_key("CryptoMaterial")) == 7


def _two_objects(h: int = 24, w: int = 32) -> dict[str, np.ndarray]:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a = np.clip(12.5 - xx, 0.0, 1.0)  # left part, soft edge at x = 12
    b = np.clip(xx - 18.5, 0.0, 1.0) * (yy < 20)  # right part
    return {"dancer": a.astype(np.float32), "prop": b.astype(np.float32)}


def test_layer_channels_metadata_and_ranks() -> None:
    mattes = _two_objects()
    channels, meta = cm.cryptomatte_layer(mattes, ["dancer", "prop"])
    assert sorted(channels) == sorted(f"CryptoObject{i:02d}.{c}" for i in range(3) for c in "RGBA")
    assert all(v.dtype == np.float32 and v.shape == (24, 32) for v in channels.values())
    key = cm.layer_key("CryptoObject")
    assert meta[f"cryptomatte/{key}/name"] == "CryptoObject"
    assert meta[f"cryptomatte/{key}/hash"] == "MurmurHash3_32"
    assert meta[f"cryptomatte/{key}/conversion"] == "uint32_to_float32"
    assert json.loads(meta[f"cryptomatte/{key}/manifest"]) == cm.manifest(["dancer", "prop"])
    r0 = channels["CryptoObject00.R"]
    dancer_id, prop_id = cm.name_to_id("dancer"), cm.name_to_id("prop")
    assert r0[5, 2] == np.float32(dancer_id) and channels["CryptoObject00.G"][5, 2] == 1.0
    assert r0[5, 30] == np.float32(prop_id)
    # Nothing there: ID 0 and coverage 0 (the spec's "no object" value).
    assert r0[22, 30] == 0.0 and channels["CryptoObject00.G"][22, 30] == 0.0
    assert not channels["CryptoObject01.R"].any() and not channels["CryptoObject02.G"].any()


def test_overlapping_mattes_are_ranked_by_coverage() -> None:
    a = np.full((2, 3), 0.3, np.float32)
    b = np.array([[0.6, 0.1, 0.0], [0.3, 0.9, 0.2]], np.float32)
    c = np.array([[0.1, 0.5, 0.0], [0.0, 0.0, 0.7]], np.float32)
    channels, _ = cm.cryptomatte_layer({"a": a, "b": b, "c": c}, levels=4)
    ids = {n: np.float32(cm.name_to_id(n)) for n in "abc"}
    r0, g0, b0, a0 = (channels[f"CryptoObject00.{x}"] for x in "RGBA")
    r1, g1 = channels["CryptoObject01.R"], channels["CryptoObject01.G"]
    assert r0[0, 0] == ids["b"] and g0[0, 0] == np.float32(0.6)
    assert b0[0, 0] == ids["a"] and a0[0, 0] == np.float32(0.3)
    assert r1[0, 0] == ids["c"] and g1[0, 0] == np.float32(0.1)
    # Tie (0.3 vs 0.3): the names' order decides, a before b.
    assert r0[1, 0] == ids["a"] and b0[1, 0] == ids["b"]
    # Coverage never increases with rank.
    assert (g0 >= a0).all() and (a0 >= g1).all()
    # Absent objects at a rank get ID 0.
    assert r1[0, 2] == 0.0 and g1[0, 2] == 0.0
    for n, m in (("a", a), ("b", b), ("c", c)):
        np.testing.assert_array_equal(cm.extract_matte(channels, n), m)


def test_decoding_ranks_recovers_the_object_of_every_pixel() -> None:
    rng = np.random.default_rng(3)
    h, w, names = 40, 50, ["head", "torso", "arm_l", "arm_r", "legs"]
    owner = rng.integers(-1, len(names), size=(h, w))
    alpha = rng.uniform(0.05, 1.0, size=(h, w)).astype(np.float32)
    mattes = {n: np.where(owner == i, alpha, 0.0).astype(np.float32) for i, n in enumerate(names)}
    channels, meta = cm.cryptomatte_layer(mattes, names, levels=2)
    table = {cm.hex_to_id(v): k for k, v in json.loads(next(v for k, v in meta.items() if k.endswith("/manifest"))).items()}
    rank0 = channels["CryptoObject00.R"]
    decoded = np.array([[table.get(float(v), None) for v in row] for row in rank0], dtype=object)
    expected = np.array([[names[o] if o >= 0 else None for o in row] for row in owner], dtype=object)
    assert (decoded == expected).all()
    np.testing.assert_array_equal(channels["CryptoObject00.G"], alpha * (owner >= 0))


def test_bad_arguments_are_clear() -> None:
    m = _two_objects()
    with pytest.raises(ValueError, match="even"):
        cm.cryptomatte_layer(m, levels=3)
    with pytest.raises(ValueError, match="no matte for object"):
        cm.cryptomatte_layer(m, ["dancer", "ghost"])
    with pytest.raises(ValueError, match="shape"):
        cm.cryptomatte_layer({"a": np.zeros((4, 4)), "b": np.zeros((4, 5))})
    with pytest.raises(ValueError, match="layer name"):
        cm.cryptomatte_layer(m, layer="Crypto Object")


def test_id_collision_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cm, "name_to_bits", lambda name: 0x3F800000)
    with pytest.raises(ValueError, match="collision"):
        cm.manifest(["a", "b"])


def test_round_trip_through_oiio_and_openexr(tmp_path: Path) -> None:
    OpenEXR = pytest.importorskip("OpenEXR", reason="the OpenEXR python package is not installed")
    mattes = _two_objects()
    channels, meta = cm.cryptomatte_layer(mattes)
    out = tmp_path / "crypto.0001.exr"
    payload = {f"{n}.A": m for n, m in mattes.items()}
    payload.update(channels)
    payload["A"] = np.clip(mattes["dancer"] + mattes["prop"], 0, 1)
    write_exr(str(out), payload, metadata=meta)  # no channel_types: the metadata makes the ID channels float

    back = read_channels(str(out))
    for n in ("dancer", "prop"):
        np.testing.assert_array_equal(cm.extract_matte(back, n), mattes[n])
    info = cm.read_metadata(read_attributes(str(out)))["CryptoObject"]
    assert info.manifest == cm.manifest(["dancer", "prop"]) and info.hash == "MurmurHash3_32"

    exr = OpenEXR.File(str(out))
    types = {name: ch.pixels.dtype for name, ch in exr.channels().items()}
    flat: dict[str, np.dtype] = {}
    for name, dtype in types.items():  # OpenEXR may group RGBA layers; split them back into channels
        ch = exr.channels()[name]
        if ch.pixels.ndim == 3:
            for c in "RGBA"[: ch.pixels.shape[2]]:
                flat[f"{name}.{c}" if name else c] = dtype
        else:
            flat[name] = dtype
    crypto = [c for c in flat if c.startswith("CryptoObject")]
    assert len(crypto) == 12
    assert all(flat[c] == np.float32 for c in crypto), {c: flat[c] for c in crypto}
    assert flat["dancer.A"] == np.float16 and flat["A"] == np.float16
    header = exr.header()
    key = cm.layer_key("CryptoObject")
    assert header[f"cryptomatte/{key}/name"] == "CryptoObject"
    assert json.loads(header[f"cryptomatte/{key}/manifest"])["dancer"] == cm.id_to_hex(cm.name_to_id("dancer"))
    # A half-float ID would not survive: check the stored ID bits are exact.
    stored = exr.channels()
    r = stored["CryptoObject00.R"].pixels if "CryptoObject00.R" in stored else stored["CryptoObject00"].pixels[..., 0]
    assert r[5, 2] == np.float32(cm.name_to_id("dancer"))


def test_write_exr_channel_types(tmp_path: Path) -> None:
    OpenEXR = pytest.importorskip("OpenEXR", reason="the OpenEXR python package is not installed")
    out = tmp_path / "t.exr"
    ramp = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)
    write_exr(str(out), {"depth.Z": ramp + 1e-5, "A": ramp}, channel_types={"depth.Z": "float"})
    types = {k: v.pixels.dtype for k, v in OpenEXR.File(str(out)).channels().items()}
    assert types.get("depth.Z") == np.float32 and types.get("A") == np.float16
    with pytest.raises(OutputError, match="not written"):
        write_exr(str(out), {"A": ramp}, channel_types={"B": "float"})
    with pytest.raises(OutputError, match="half"):
        write_exr(str(out), {"A": ramp}, channel_types={"A": "double"})


def test_roto_job_writes_a_cryptomatte_nuke_can_key(tmp_path: Path) -> None:
    """The roto operation with ``cryptomatte: true``: the CryptoObject keyed by name equals the object's matte."""
    from inkpaint.demo import make_clip
    from inkpaint.ops.base import run_job
    from inkpaint.ops.roto import RotoJob, load_prompts

    plate, prompts = make_clip(tmp_path, frames=3)
    objects = load_prompts(prompts)
    job = RotoJob(input=plate, output=str(tmp_path / "roto" / "m.####.exr"), objects=objects, cryptomatte=True)
    result = run_job(job)
    for f in result.frames:
        path = str(tmp_path / "roto" / f"m.{f:04d}.exr")
        ch = read_channels(path)
        assert cm.rank_count(ch) == cm.DEFAULT_LEVELS
        for name in ("ball", "block"):
            keyed = cm.extract_matte(ch, name)
            assert (keyed > 0.5).sum() > 50, f"{name} is (nearly) empty on frame {f}"
            np.testing.assert_allclose(keyed, ch[f"{name}.A"], atol=2e-3)  # the .A layer is half float
        assert cm.read_metadata(read_attributes(path))["CryptoObject"].manifest == cm.manifest(["ball", "block"])
