"""Reading and writing frames through OpenImageIO (inkpaint.io.frames, inkpaint.io.atomic), on real files."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

from inkpaint.errors import FrameError, OutputError
from inkpaint.io.atomic import TEMP_MARK, atomic_path, remove_stale_temps, temp_target
from inkpaint.io.frames import Window, image_size, paste, read_attributes, read_channels, read_image, read_rgb, to_rgb, write_exr, write_png


def _ramp(h: int = 24, w: int = 32) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.stack([xx / (w - 1), yy / (h - 1), 0.5 * (xx + yy) / (w + h - 2)], axis=-1)


def _write_oiio(path: Path, pixels: np.ndarray, fmt: "oiio.TypeDesc") -> None:
    h, w, c = pixels.shape
    buf = oiio.ImageBuf(oiio.ImageSpec(w, h, c, fmt))
    buf.set_pixels(oiio.ROI(0, w, 0, h, 0, 1, 0, c), np.ascontiguousarray(pixels, np.float32))
    assert buf.write(str(path)), oiio.geterror()


def test_write_exr_is_half_with_named_channels_compression_and_metadata(tmp_path: Path) -> None:
    a = np.linspace(0, 1, 24 * 32, dtype=np.float32).reshape(24, 32)
    path = tmp_path / "m.0001.exr"
    write_exr(str(path), {"dancer.A": a, "hair.A": 1 - a, "A": a}, compression="piz",
              metadata={"inkpaint:job_hash": "abc123", "inkpaint:frame": 1})
    inp = oiio.ImageInput.open(str(path))
    spec = inp.spec()
    inp.close()
    assert sorted(spec.channelnames) == ["A", "dancer.A", "hair.A"]
    assert all(spec.channelformat(i) == oiio.HALF for i in range(spec.nchannels))
    assert spec.get_string_attribute("compression") == "piz"
    assert spec.get_string_attribute("inkpaint:job_hash") == "abc123"
    assert spec.get_string_attribute("Software").startswith("inkpaint ")
    ch = read_channels(str(path), ["hair.A", "dancer.A"])  # by name, whatever order OIIO stored them in
    np.testing.assert_allclose(ch["dancer.A"], a, atol=1e-3)
    np.testing.assert_allclose(ch["hair.A"], 1 - a, atol=1e-3)
    with pytest.raises(FrameError, match=r"no channel 'cloth\.A'.*dancer\.A"):
        read_channels(str(path), ["cloth.A"], frame=1)
    mode = stat.S_IMODE(os.stat(path).st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask  # not mkstemp's 0600: farm users must be able to read the frames


@pytest.mark.parametrize("compression", ["none", "zip", "dwaa:45", "rle", "zips", "piz"])
def test_write_exr_compressions(tmp_path: Path, compression: str) -> None:
    path = tmp_path / "c.exr"
    write_exr(str(path), {"A": np.ones((8, 8), np.float32)}, compression=compression)
    assert read_image(str(path)).attributes["compression"].split(":")[0] == compression.split(":")[0]


def test_write_exr_rejects_bad_input_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="unknown EXR compression"):
        write_exr(str(tmp_path / "x.exr"), {"A": np.zeros((4, 4))}, compression="lzma")
    with pytest.raises(OutputError, match="shape"):
        write_exr(str(tmp_path / "x.exr"), {"A": np.zeros((4, 4)), "B": np.zeros((4, 5))})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("ext, fmt", [("png", oiio.UINT8), ("jpg", oiio.UINT8), ("tif", oiio.UINT16), ("dpx", oiio.UINT16)])
def test_read_display_formats_as_srgb(tmp_path: Path, ext: str, fmt: "oiio.TypeDesc") -> None:
    rgb = _ramp()
    path = tmp_path / f"plate.{ext}"
    _write_oiio(path, rgb, fmt)
    out = read_rgb(str(path))
    assert out.shape == rgb.shape and out.dtype == np.float32
    tol = 0.03 if ext == "jpg" else 1 / 255
    np.testing.assert_allclose(out, rgb, atol=tol)  # sRGB files reach the model unchanged


def test_read_exr_rgba_picks_rgb_by_name(tmp_path: Path) -> None:
    rgb = _ramp() * 0.5
    path = tmp_path / "plate.exr"
    write_exr(str(path), {"A": np.ones(rgb.shape[:2]), "B": rgb[..., 2], "G": rgb[..., 1], "R": rgb[..., 0],
                          "depth.Z": np.full(rgb.shape[:2], 7.0)}, dtype="float")
    img = read_image(str(path))
    assert set(img.channels) == {"A", "B", "G", "R", "depth.Z"}
    np.testing.assert_allclose(img.channel("R"), rgb[..., 0], atol=1e-6)


def test_nan_and_inf_are_sanitised_with_a_warning_naming_frame_and_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    rgb = _ramp()
    rgb[0, 0, 0] = np.nan
    rgb[1, 1, 1] = np.inf
    rgb[2, 2, 2] = -np.inf
    path = tmp_path / "plate.0007.exr"
    write_exr(str(path), {c: rgb[..., i] for i, c in enumerate("RGB")}, dtype="float")
    with caplog.at_level(logging.WARNING, logger="inkpaint.io"):
        img = read_image(str(path), frame=7)
        out = read_rgb(str(path), frame=7)
    assert np.isfinite(img.pixels).all() and np.isfinite(out).all()
    assert img.pixels[0, 0, 0] == 0.0 and img.pixels[2, 2, 2] == 0.0 and img.pixels[1, 1, 1] > 1000
    assert any("frame 7" in r.getMessage() and "plate.0007.exr" in r.getMessage() and "3 NaN/inf" in r.getMessage()
               for r in caplog.records)


@pytest.mark.parametrize("ext", ["exr", "png"])
@pytest.mark.parametrize("keep", [0.0, 0.05, 0.6])
def test_truncated_or_empty_files_are_clear_errors(tmp_path: Path, ext: str, keep: float) -> None:
    good = tmp_path / f"good.{ext}"
    rgb = np.random.default_rng(1).random((64, 80, 3), dtype=np.float32)
    if ext == "exr":
        write_exr(str(good), {c: rgb[..., i] for i, c in enumerate("RGB")}, compression="none")
    else:
        write_png(str(good), rgb)
    data = good.read_bytes()
    bad = tmp_path / f"bad.0042.{ext}"
    bad.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(FrameError) as info:
        read_rgb(str(bad), frame=42)
    assert info.value.frame == 42 and info.value.path == str(bad)
    assert "frame 42" in str(info.value) and "bad.0042" in str(info.value)


def test_missing_file_is_a_frame_error(tmp_path: Path) -> None:
    with pytest.raises(FrameError, match="does not exist"):
        read_image(str(tmp_path / "nope.exr"), frame=3)


def test_atomic_path_leaves_no_temp_and_no_destination_on_failure(tmp_path: Path) -> None:
    dest = tmp_path / "out" / "f.0001.exr"
    with pytest.raises(RuntimeError):
        with atomic_path(dest) as tmp:
            assert TEMP_MARK in tmp.name and tmp.name.endswith(".exr") and tmp.parent == dest.parent
            tmp.write_bytes(b"half")
            raise RuntimeError("killed mid-write")
    assert list(dest.parent.iterdir()) == []
    dest.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_path(dest) as tmp:
            tmp.write_bytes(b"new, half")
            raise RuntimeError("boom")
    assert dest.read_bytes() == b"old"  # the previous complete file is untouched


def test_stale_temps_are_recognised_and_removed_only_for_owned_targets(tmp_path: Path) -> None:
    mine = tmp_path / ".shot.0001.k3j_x9ab.inkpaint-tmp.exr"
    theirs = tmp_path / ".shot.0099.abcdefgh.inkpaint-tmp.exr"
    other = tmp_path / "shot.0001.exr"
    for p in (mine, theirs, other):
        p.write_bytes(b"x")
    assert temp_target(mine.name) == "shot.0001.exr"
    assert temp_target(".shot.0001.contours.ab_12xyz.inkpaint-tmp.json") == "shot.0001.contours.json"
    assert temp_target(other.name) is None
    removed = remove_stale_temps(tmp_path, lambda name: name == "shot.0001.exr")
    assert removed == [mine]
    assert not mine.exists() and theirs.exists() and other.exists()


def test_write_png_8_and_16_bit(tmp_path: Path) -> None:
    rgb = _ramp()
    write_png(str(tmp_path / "a.png"), rgb)
    write_png(str(tmp_path / "b.png"), (rgb * 65535).astype(np.uint16))
    spec_b = oiio.ImageInput.open(str(tmp_path / "b.png")).spec()
    assert spec_b.format == oiio.UINT16
    np.testing.assert_allclose(read_image(str(tmp_path / "a.png")).pixels, rgb, atol=1 / 255)


# ---- data windows (bounding boxes) ---------------------------------------------------------------------------


def test_data_window_round_trip_reads_as_full_frame_with_zeros_outside(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    crop = rng.uniform(0.1, 1, (30, 40)).astype(np.float32)
    win = Window(50, 20, 40, 30)
    path = str(tmp_path / "bbox.0001.exr")
    write_exr(path, {"hair.A": crop, "A": crop * 0.5}, window=win, size=(128, 96))
    assert image_size(path) == (128, 96)
    attrs = read_attributes(path)
    assert attrs["data_window"] == win
    full = read_image(path)
    assert full.pixels.shape == (96, 128, 2) and full.window == Window(0, 0, 128, 96)
    hair = full.channel("hair.A")
    np.testing.assert_allclose(hair[win.slices], crop, atol=1e-3)
    outside = hair.copy()
    outside[win.slices] = 0
    assert not outside.any()
    data = read_image(path, window="data", channels=["A"])
    assert data.window == win and data.channels == ["A"] and data.frame_size == (128, 96)
    np.testing.assert_allclose(data.pixels[..., 0], crop * 0.5, atol=1e-3)
    # a window half outside the data window: the overlap is read, the rest is zero
    part = read_image(path, window=Window(70, 0, 40, 40), channels=["hair.A"]).pixels[..., 0]
    np.testing.assert_allclose(part[20:40, 0:20], crop[0:20, 20:40], atol=1e-3)
    assert not part[:20].any() and not part[:, 20:].any()


def test_window_read_decodes_only_the_rows_asked_for_and_matches_a_full_read(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    img = rng.uniform(0, 1, (200, 64, 3)).astype(np.float32)
    path = str(tmp_path / "plate.exr")
    write_exr(path, {c: img[..., i] for i, c in enumerate("RGB")}, compression="zip")  # 16-line chunks
    win = Window(10, 37, 30, 41)  # rows across chunk boundaries
    got = read_image(path, window=win, channels=["R", "G", "B"]).pixels
    full = read_image(path, channels=["R", "G", "B"]).pixels
    np.testing.assert_array_equal(got, full[win.slices])


def test_tiled_exr_window_read(tmp_path: Path) -> None:
    img = np.arange(48 * 64, dtype=np.float32).reshape(48, 64) / 4096
    path = str(tmp_path / "tiled.exr")
    spec = oiio.ImageSpec(64, 48, 1, oiio.FLOAT)
    spec.channelnames = ("Y",)
    spec.tile_width = spec.tile_height = 16
    buf = oiio.ImageBuf(spec)
    buf.set_pixels(oiio.ROI(0, 64, 0, 48, 0, 1, 0, 1), img[..., None])
    assert buf.write(path), oiio.geterror()
    win = Window(5, 7, 20, 30)
    np.testing.assert_array_equal(read_image(path, window=win).pixels[..., 0], img[win.slices])


def test_paste_and_window_algebra() -> None:
    a = Window(2, 3, 4, 5)
    b = Window(4, 0, 10, 4)
    assert a.intersect(b) == Window(4, 3, 2, 1)
    assert a.union(b) == Window(2, 0, 12, 8)
    assert a.intersect(Window(100, 100, 1, 1)).empty
    assert a.grow(3, (8, 9)) == Window(0, 0, 8, 9)
    px = np.arange(20, dtype=np.float32).reshape(5, 4)
    out = paste(px, a, Window(0, 0, 10, 10))
    np.testing.assert_array_equal(out[a.slices], px)
    assert out.sum() == px.sum()
    with pytest.raises(ValueError, match="shape"):
        paste(px, Window(0, 0, 3, 3), a)


def test_empty_window_writes_one_zero_pixel(tmp_path: Path) -> None:
    path = str(tmp_path / "empty.exr")
    write_exr(path, {"tone": np.zeros((0, 0), np.float32)}, window=Window(0, 0, 0, 0), size=(32, 16))
    img = read_image(path)
    assert img.pixels.shape == (16, 32, 1) and not img.pixels.any()


def test_non_colour_two_channel_exr_is_refused_not_read_as_grey(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from inkpaint.errors import FrameError
    from inkpaint.io.frames import read_rgb, write_exr

    p = str(tmp_path / "mattes.exr")
    write_exr(p, {"a.A": np.ones((4, 5), np.float32), "b.A": np.zeros((4, 5), np.float32)})
    with pytest.raises(FrameError, match="no colour .* channels; it has a.A, b.A"):
        read_rgb(p)
    grey = str(tmp_path / "grey.exr")
    write_exr(grey, {"Y": np.full((4, 5), 0.5, np.float32), "A": np.ones((4, 5), np.float32)})
    assert read_rgb(grey).shape == (4, 5, 3)


def test_fully_transparent_png_is_an_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from inkpaint.errors import FrameError
    from inkpaint.io.frames import read_rgb, write_png

    p = str(tmp_path / "clear.png")
    write_png(p, np.zeros((4, 5, 4), np.uint8))
    with pytest.raises(FrameError, match="fully transparent"):
        read_rgb(p)
    rgba = np.zeros((4, 5, 4), np.uint8)
    rgba[1, 1, 3] = 255
    write_png(p, rgba)
    assert read_rgb(p).shape == (4, 5, 3)


def test_writes_verify_the_file_and_leave_nothing_on_failure(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A writer that 'succeeds' but leaves a cut-short file (what OIIO's PNG writer does on a full disk) is caught
    before the rename: no destination, no temp, an error naming the file."""
    from inkpaint.errors import OutputError
    from inkpaint.io import frames

    real = frames.oiio.ImageOutput.create

    class Short:
        def __init__(self, out):  # type: ignore[no-untyped-def]
            self.out, self.path = out, None

        def open(self, path, spec):  # type: ignore[no-untyped-def]
            self.path = path
            return self.out.open(path, spec)

        def write_image(self, px):  # type: ignore[no-untyped-def]
            return self.out.write_image(px)

        def geterror(self):  # type: ignore[no-untyped-def]
            return self.out.geterror()

        def close(self):  # type: ignore[no-untyped-def]
            ok = self.out.close()
            with open(self.path, "r+b") as fh:
                fh.truncate(max(0, fh.seek(0, 2) - 20))
            return ok

    monkeypatch.setattr(frames.oiio.ImageOutput, "create", staticmethod(lambda p: Short(real(p))))
    dest = tmp_path / "f.png"
    with pytest.raises(OutputError, match="f.png.*incomplete"):
        frames.write_png(str(dest), np.zeros((8, 8, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []


def test_half_plates_sanitised_and_converted_like_the_slow_paths(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A half plate's NaN/inf check is one integer pass and its R, G, B pixels go to the colour conversion without
    a copy: the same pixels as numpy's isfinite and the copying path (each channel different, so a wrong order
    shows), and the image read is left as it was."""
    from inkpaint.io.colour import convert
    from inkpaint.spec import ColorSettings

    rng = np.random.default_rng(11)
    rgb = np.stack([rng.uniform(0.0, 0.3, (70, 90)), rng.uniform(0.3, 0.6, (70, 90)), rng.uniform(0.6, 2.0, (70, 90))], axis=2).astype(np.float32)
    clean = tmp_path / "clean.0001.exr"
    write_exr(str(clean), {c: rgb[..., i] for i, c in enumerate("RGB")})
    img = read_image(str(clean), frame=1, keep_half=True)
    assert img.channels == ["R", "G", "B"] and img.pixels.dtype == np.float16
    before = img.pixels.copy()
    want = np.clip(convert(np.ascontiguousarray(img.pixels[..., [0, 1, 2]]), "lin_rec709_scene", "sRGB"), 0, 1)
    for space in ("lin_rec709_scene", "srgb_rec709_scene"):  # a table, and no conversion at all
        got = to_rgb(img, ColorSettings(input_colorspace=space))
        assert got is not img.pixels and np.array_equal(img.pixels, before)
    np.testing.assert_array_equal(to_rgb(img, ColorSettings(input_colorspace="lin_rec709_scene")), want)
    rgb[3, 4, 0], rgb[5, 6, 1], rgb[7, 8, 2] = np.nan, np.inf, -np.inf
    dirty = tmp_path / "dirty.0002.exr"
    write_exr(str(dirty), {c: rgb[..., i] for i, c in enumerate("RGB")})
    with caplog.at_level(logging.WARNING, logger="inkpaint.io"):
        px = read_image(str(dirty), frame=2, keep_half=True).pixels
    assert np.isfinite(px).all() and px[3, 4, 0] == 0 and px[5, 6, 1] == 65504 and px[7, 8, 2] == 0
    assert any("3 NaN/inf" in r.getMessage() and "dirty.0002.exr" in r.getMessage() for r in caplog.records)


def test_write_png_compression_level_keeps_pixels(tmp_path: Path) -> None:
    """The zlib level changes the file's size, never its pixels; a level outside 0..9 is refused."""
    rng = np.random.default_rng(3)
    img = np.repeat(rng.integers(0, 256, (64, 96, 1), dtype=np.uint8), 3, axis=2)
    img[:32] = 40  # a flat half: compressible
    sizes = {}
    for level in (0, 9):
        path = str(tmp_path / f"l{level}.png")
        write_png(path, img, compression_level=level)
        sizes[level] = os.path.getsize(path)
        back = oiio.ImageBuf(path).get_pixels(oiio.UINT8)
        assert np.array_equal(back, img)
    assert sizes[9] < sizes[0]
    with pytest.raises(ValueError, match="0..9"):
        write_png(str(tmp_path / "bad.png"), img, compression_level=10)
