"""io/exr.py: OpenEXR's codec gives the same files and pixels as OpenImageIO's, and falls back to OIIO cleanly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

from inkpaint.errors import FrameError
from inkpaint.io import exr
from inkpaint.io.frames import Window, read_attributes, read_image, write_exr

pytest.importorskip("OpenEXR")


def _channels(h: int = 37, w: int = 53) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    return {
        "R": rng.uniform(0, 1, (h, w)).astype(np.float32),
        "G": rng.uniform(-2, 70000, (h, w)).astype(np.float32),  # beyond half's range: inf, as OIIO does
        "B": np.zeros((h, w), np.float32),
        "A": (rng.uniform(0, 1, (h, w)) > 0.5).astype(np.float32),
        "dancer.A": rng.uniform(0, 1, (h, w)).astype(np.float32),
        "tone": rng.integers(0, 5, (h, w)).astype(np.float32),
    }


def _write_both(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, **kw: object) -> tuple[str, str]:
    a, b = str(tmp_path / f"openexr_{name}.exr"), str(tmp_path / f"oiio_{name}.exr")
    monkeypatch.delenv(exr.CODEC_ENV, raising=False)
    write_exr(a, **kw)  # type: ignore[arg-type]
    monkeypatch.setenv(exr.CODEC_ENV, "oiio")
    write_exr(b, **kw)  # type: ignore[arg-type]
    monkeypatch.delenv(exr.CODEC_ENV)
    return a, b


def _header(path: str) -> dict[str, object]:
    attrs = read_attributes(path)
    attrs.pop("DateTime")
    return attrs


def _formats(path: str) -> list[str]:
    inp = oiio.ImageInput.open(path)
    try:
        spec = inp.spec()
        return [str(t) for t in (spec.channelformats or [spec.format] * spec.nchannels)]
    finally:
        inp.close()


@pytest.mark.parametrize("compression", ["zip", "none", "rle", "piz", "dwaa"])
@pytest.mark.parametrize("windowed", [False, True])
def test_openexr_and_oiio_write_the_same_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compression: str, windowed: bool) -> None:
    ch = _channels()
    kw: dict[str, object] = {
        "channels": ch,
        "compression": compression,
        "metadata": {"inkpaint:job_hash": "abc123", "inkpaint:frame": 7, "inkpaint:gain": 0.1, "inkpaint:flag": True,
                     "inkpaint:parts": ["a", "b"], "oiio:ColorSpace": "lin_rec709_scene"},
    }
    if windowed:
        kw.update(window=Window(11, 5, 53, 37), size=(120, 64))
    a, b = _write_both(tmp_path, monkeypatch, f"{compression}{int(windowed)}", **kw)
    assert _header(a) == _header(b)
    assert _formats(a) == _formats(b) == ["half"] * 6
    for codec in ("openexr", "oiio"):  # and each reader reads both files the same
        monkeypatch.setenv(exr.CODEC_ENV, codec)
        ia, ib = read_image(a, sanitize=False), read_image(b, sanitize=False)
        assert ia.channels == ib.channels and sorted(ia.channels) == sorted(ch)
        if compression == "dwaa":  # lossy: the two encoders need not agree bit for bit
            np.testing.assert_allclose(ia.pixels, ib.pixels, atol=0.02)
        else:
            np.testing.assert_array_equal(ia.pixels, ib.pixels)
    if compression != "dwaa":
        got = read_image(a, sanitize=False, window="data")
        assert np.isinf(got.channel("G")).sum() == np.count_nonzero(ch["G"] > 65519)


def test_float_uint_and_cryptomatte_channels_keep_their_types(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = np.arange(12, dtype=np.uint32).reshape(3, 4) * 123457
    a, b = _write_both(tmp_path, monkeypatch, "uint", channels={"id": ids}, dtype="uint")
    assert _formats(a) == _formats(b) == ["uint"]
    np.testing.assert_array_equal(read_image(a).pixels, read_image(b).pixels)  # uint reads go through OIIO
    rank = {"crypto00.R": np.full((3, 4), 1.5e-30, np.float32), "crypto00.G": np.full((3, 4), 0.25, np.float32), "R": np.ones((3, 4), np.float32)}
    meta = {"cryptomatte/abc1234/name": "crypto", "cryptomatte/abc1234/hash": "MurmurHash3_32"}
    a, b = _write_both(tmp_path, monkeypatch, "crypto", channels=rank, metadata=meta)
    assert _formats(a) == _formats(b) == ["half", "float", "float"]  # R, crypto00.G, crypto00.R
    assert _header(a) == _header(b)
    assert read_image(a).channel("crypto00.R")[0, 0] == np.float32(1.5e-30)


def test_row_window_reads_match_between_codecs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ch = _channels(90, 70)
    path = str(tmp_path / "plate.exr")
    write_exr(path, ch, window=Window(4, 9, 70, 90), size=(100, 120))
    want = Window(20, 30, 40, 50)  # rows 30..79 of the frame: inside the data window, but not chunk aligned
    got = {}
    for codec in ("openexr", "oiio"):
        monkeypatch.setenv(exr.CODEC_ENV, codec)
        got[codec] = read_image(path, channels=["B", "R", "tone"], window=want, sanitize=False)
    np.testing.assert_array_equal(got["openexr"].pixels, got["oiio"].pixels)
    np.testing.assert_array_equal(got["openexr"].channel("R"), ch["R"].astype(np.float16).astype(np.float32)[21:71, 16:56])


def test_openexr_rows_are_decoded_for_exr_and_oiio_is_used_when_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(tmp_path / "m.exr")
    write_exr(path, {"A": np.ones((4, 5), np.float32)})
    calls: list[tuple[int, int]] = []
    real = exr.read_rows

    def spy(p: str, names: list[str], half: bool, y0: int, y1: int) -> list[np.ndarray] | None:
        calls.append((y0, y1))
        return real(p, names, half, y0, y1)

    monkeypatch.setattr(exr, "read_rows", spy)
    assert read_image(path).channel("A").sum() == 20
    assert calls == [(0, 3)]
    monkeypatch.setenv(exr.CODEC_ENV, "oiio")
    assert not exr.enabled() and not exr.takes("zip")
    assert read_image(path).channel("A").sum() == 20
    assert calls == [(0, 3)]


def test_quality_suffix_and_renamed_metadata_go_through_oiio(tmp_path: Path) -> None:
    assert not exr.takes("dwaa:45")
    assert exr.header_metadata({"ImageDescription": "x"}, "inkpaint") is None  # OIIO maps it to 'comments'
    assert exr.header_metadata({"oiio:ColorSpace": "srgb", "inkpaint:n": 2**40}, "inkpaint") is None
    path = str(tmp_path / "d.exr")
    write_exr(path, {"R": np.ones((8, 8), np.float32)}, compression="dwaa:45", metadata={"ImageDescription": "hello"})
    attrs = read_attributes(path)
    assert attrs["compression"].startswith("dwaa") and attrs["ImageDescription"] == "hello"


def test_corrupt_exr_is_a_frame_error_from_the_openexr_path(tmp_path: Path) -> None:
    path = tmp_path / "bad.0003.exr"
    rng = np.random.default_rng(0)
    write_exr(str(path), {"R": rng.uniform(0, 1, (64, 64)).astype(np.float32)})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(FrameError) as err:
        read_image(str(path), frame=3)
    assert "frame 3" in str(err.value) and "bad.0003.exr" in str(err.value)


@pytest.mark.parametrize("codec", ["openexr", "oiio"])
def test_keep_half_returns_the_stored_halves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, codec: str) -> None:
    monkeypatch.setenv(exr.CODEC_ENV, codec)
    ch = _channels(20, 30)
    path = str(tmp_path / "h.exr")
    write_exr(path, ch, channel_types={"tone": "float"}, window=Window(3, 4, 30, 20), size=(40, 30))
    half = read_image(path, channels=["R", "G"], keep_half=True, sanitize=False)
    assert half.pixels.dtype == np.float16
    np.testing.assert_array_equal(half.pixels.astype(np.float32), read_image(path, channels=["R", "G"], sanitize=False).pixels)
    mixed = read_image(path, channels=["R", "tone"], keep_half=True)  # a float channel: nothing is rounded
    assert mixed.pixels.dtype == np.float32 and np.array_equal(mixed.channel("tone")[4:24, 3:33], ch["tone"])


@pytest.mark.parametrize("codec", ["openexr", "oiio"])
def test_planar_reads_are_the_same_pixels_as_planes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, codec: str) -> None:
    monkeypatch.setenv(exr.CODEC_ENV, codec)
    ch = _channels(20, 30)
    path = str(tmp_path / "p.exr")
    write_exr(path, ch, window=Window(3, 4, 30, 20), size=(40, 30))
    for window in (None, "data", Window(10, 8, 25, 12)):
        hwc = read_image(path, channels=["tone", "R"], window=window, sanitize=False)
        chw = read_image(path, channels=["tone", "R"], window=window, sanitize=False, planar=True)
        assert chw.planar and chw.pixels.shape == (2, hwc.height, hwc.width) and (chw.width, chw.height) == (hwc.width, hwc.height)
        assert chw.pixels.flags.c_contiguous
        np.testing.assert_array_equal(chw.pixels, np.moveaxis(hwc.pixels, -1, 0))
        np.testing.assert_array_equal(chw.channel("R"), hwc.channel("R"))


def _legacy_rows(path: str, names: list[str], half: bool, y0: int, y1: int) -> list[np.ndarray]:
    import Imath
    import OpenEXR

    f = OpenEXR.InputFile(path)
    try:
        dw = f.header()["dataWindow"]
        ptype = Imath.PixelType(Imath.PixelType.HALF if half else Imath.PixelType.FLOAT)
        raw = f.channels(names, ptype, y0, y1)
    finally:
        f.close()
    return [np.frombuffer(b, np.float16 if half else np.float32).reshape(y1 - y0 + 1, dw.max.x - dw.min.x + 1) for b in raw]


@pytest.mark.parametrize("compression", ["zip", "zips", "none", "rle", "piz", "pxr24", "b44", "dwaa", "dwab"])
def test_rows_decoded_without_the_gil_are_the_legacy_readers_rows(tmp_path: Path, compression: str) -> None:
    """read_rows hands OpenEXR.File (which decodes with Python's GIL released) a file of only the chunks holding
    the rows asked for; every compression (chunks of 1 to 256 rows), row ranges on and off chunk boundaries, half
    and float output, give the legacy InputFile reader's values bit for bit."""
    import OpenEXR

    rng = np.random.default_rng(7)
    h, w = 300, 61
    ch = {c: rng.uniform(-1, 4, (h, w)).astype(np.float32) for c in ("R", "G", "B")}
    path = str(tmp_path / f"p_{compression}.exr")
    write_exr(path, ch, window=Window(5, 11, w, h), size=(80, 340), compression=compression)
    for y0, y1 in ((11, 310), (11, 11), (40, 41), (27, 300), (43, 300), (310, 310), (100, 267)):
        for half in (True, False):
            fast = exr._read_rows_unlocked(OpenEXR, path, ["B", "R"], half, y0, y1)
            assert fast is not None, (compression, y0, y1)
            for a, b in zip(fast, _legacy_rows(path, ["B", "R"], half, y0, y1)):
                assert a.dtype == b.dtype and a.shape == b.shape
                assert np.array_equal(a.view(np.uint16 if half else np.uint32), b.view(np.uint16 if half else np.uint32)), (compression, y0, y1, half)


def test_unlocked_rows_fall_back_to_the_legacy_reader(tmp_path: Path) -> None:
    """Files or requests the chunk splice does not cover go to the legacy reader: a few channels of many (all would
    be decoded), rows outside the data window, tiled files, a truncated file (the legacy reader's error)."""
    import OpenEXR

    rng = np.random.default_rng(8)
    many = {f"p{i}.A": rng.uniform(0, 1, (40, 30)).astype(np.float32) for i in range(6)}
    path = str(tmp_path / "m.exr")
    write_exr(path, many)
    assert exr._read_rows_unlocked(OpenEXR, path, ["p0.A"], False, 0, 39) is None
    assert exr._read_rows_unlocked(OpenEXR, path, sorted(many), False, 0, 39) is not None
    assert exr._read_rows_unlocked(OpenEXR, path, sorted(many), False, 0, 40) is None
    np.testing.assert_array_equal(exr.read_rows(path, ["p0.A"], False, 3, 9)[0], _legacy_rows(path, ["p0.A"], False, 3, 9)[0])
    tiled = str(tmp_path / "t.exr")
    spec = oiio.ImageSpec(32, 32, 1, oiio.HALF)
    spec.tile_width = spec.tile_height = 16
    out = oiio.ImageOutput.create(tiled)
    assert out.open(tiled, spec)
    out.write_image(np.ones((32, 32, 1), np.float16))
    out.close()
    assert exr._read_rows_unlocked(OpenEXR, tiled, ["Y"], True, 0, 31) is None
    cut = tmp_path / "cut.exr"
    cut.write_bytes(Path(path).read_bytes()[:400])
    assert exr._read_rows_unlocked(OpenEXR, str(cut), sorted(many), False, 0, 39) is None


def test_float32_planes_are_stored_as_numpys_halves(tmp_path: Path) -> None:
    """write_exr converts float32 planes (and channel views of an RGBA array) to half with OpenCV: the stored
    halves are numpy's ``astype`` of every finite value (over 65504 -> inf, denormals, -0), NaN stays NaN; a 1x1
    plane (the empty-window case) too."""
    rng = np.random.default_rng(9)
    rgba = rng.uniform(-1.0, 2.0, (90, 80, 4)).astype(np.float32)
    rgba[rgba > 1.5] = 0.0  # runs of zeros, as cels have
    rgba[0, :10, 0] = [70000.0, 65519.0, 65520.0, 1e-7, -1e-8, -0.0, 6e-5, np.nan, -np.inf, np.inf]
    ch = {"R": rgba[..., 0], "G": rgba[..., 1], "B": rgba[..., 2], "A": rgba[..., 3]}
    path = str(tmp_path / "h.exr")
    write_exr(path, ch)
    got = read_image(path, channels=["R", "G", "B", "A"], keep_half=True, sanitize=False).pixels
    with np.errstate(over="ignore"):
        want = rgba.astype(np.float16)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    fin = ~np.isnan(want)
    assert np.array_equal(got.view(np.uint16)[fin], want.view(np.uint16)[fin])
    write_exr(path, {"R": np.full((1, 1), 0.5, np.float32), "G": np.zeros((1, 1), np.float32)})
    assert read_image(path, channels=["R"]).pixels.shape == (1, 1, 1)
