"""Colour management through OCIO: scene-linear EXR -> display sRGB, $OCIO honoured, built-in fall-back, overrides."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from inkpaint.errors import FrameError, SpecError
from inkpaint.io.frames import read_rgb, write_exr, write_png
from inkpaint.spec import ColorSettings

# A config whose "sRGB" is a pure 1/2 power: results that follow it prove the config was really used.
TINY_CONFIG = textwrap.dedent(
    """\
    ocio_profile_version: 2

    roles:
      default: raw
      scene_linear: lin_rec709_scene

    file_rules:
      - !<Rule> {name: Default, colorspace: default}

    displays:
      sRGB:
        - !<View> {name: Raw, colorspace: raw}

    colorspaces:
      - !<ColorSpace>
        name: raw
        isdata: true
      - !<ColorSpace>
        name: lin_rec709_scene
      - !<ColorSpace>
        name: sRGB
        aliases: [srgb_rec709_scene]
        from_scene_reference: !<ExponentTransform> {value: 2.0, style: pass_thru, direction: inverse}
    """
)


def _srgb_oetf(x: np.ndarray) -> np.ndarray:
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)


@pytest.fixture()
def grey_exr(tmp_path: Path) -> Path:
    path = tmp_path / "plate.1001.exr"
    values = np.array([0.0, 0.01, 0.18, 0.5, 1.0, 4.0], np.float32)
    plane = np.tile(values, (4, 1))
    write_exr(str(path), {"R": plane, "G": plane, "B": plane}, dtype="float")
    return path


@pytest.fixture()
def tiny_config(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.ocio"
    path.write_text(TINY_CONFIG)
    return path


def test_linear_exr_becomes_display_srgb_with_the_builtin_config(grey_exr: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OCIO", raising=False)
    out = read_rgb(str(grey_exr), frame=1001)
    expected = np.clip(_srgb_oetf(np.array([0.0, 0.01, 0.18, 0.5, 1.0, 4.0])), 0, 1)
    np.testing.assert_allclose(out[0, :, 0], expected, atol=2e-3)
    assert abs(out[0, 2, 1] - 0.4614) < 2e-3  # 18% grey


def test_builtin_config_by_uri(grey_exr: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OCIO", raising=False)
    out = read_rgb(str(grey_exr), ColorSettings(ocio_config="ocio://default"))
    assert abs(out[0, 2, 0] - 0.4614) < 2e-3


def test_ocio_env_is_honoured(grey_exr: Path, tiny_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCIO", str(tiny_config))
    out = read_rgb(str(grey_exr))
    np.testing.assert_allclose(out[0, 1:4, 0], np.sqrt([0.01, 0.18, 0.5]), atol=2e-3)


def test_ocio_env_is_honoured_in_a_fresh_process(grey_exr: Path, tiny_config: Path) -> None:
    code = (
        "import sys; from inkpaint.io.frames import read_rgb; "
        f"print(round(float(read_rgb({str(grey_exr)!r})[0, 2, 0]), 4))"
    )
    env = {"OCIO": str(tiny_config), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert abs(float(out.stdout.strip()) - np.sqrt(0.18)) < 2e-3


def test_job_config_overrides_env(grey_exr: Path, tiny_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCIO", str(tiny_config))
    out = read_rgb(str(grey_exr), ColorSettings(ocio_config="ocio://default"))
    assert abs(out[0, 2, 0] - 0.4614) < 2e-3


def test_per_job_input_colorspace_override(grey_exr: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OCIO", raising=False)
    # The EXR declared as already display-encoded: values pass through (then clip to 0..1).
    out = read_rgb(str(grey_exr), ColorSettings(input_colorspace="srgb_rec709_scene"))
    np.testing.assert_allclose(out[0, :, 0], [0.0, 0.01, 0.18, 0.5, 1.0, 1.0], atol=1e-6)
    # ACEScg input: a real gamut + transfer conversion through the config.
    out = read_rgb(str(grey_exr), ColorSettings(input_colorspace="ACEScg"))
    assert abs(out[0, 2, 0] - 0.4614) < 0.01  # neutral grey stays neutral


def test_png_is_taken_as_srgb(tmp_path: Path, tiny_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCIO", str(tiny_config))
    rgb = np.full((4, 4, 3), 0.5, np.float32)
    write_png(str(tmp_path / "p.png"), rgb)
    np.testing.assert_allclose(read_rgb(str(tmp_path / "p.png")), rgb, atol=1 / 255)
    # ...unless the job says otherwise: PNG holding linear data, through the tiny config's 1/2 power.
    out = read_rgb(str(tmp_path / "p.png"), ColorSettings(input_colorspace="lin_rec709_scene"))
    np.testing.assert_allclose(out, np.sqrt(128 / 255), atol=2e-3)


def test_broken_configs_and_unknown_spaces_are_clear_errors(grey_exr: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OCIO", raising=False)
    with pytest.raises(SpecError) as info:
        read_rgb(str(grey_exr), ColorSettings(ocio_config=str(tmp_path / "missing.ocio")))
    assert info.value.field == "color.ocio_config" and "missing.ocio" in str(info.value)
    monkeypatch.setenv("OCIO", str(tmp_path / "also-missing.ocio"))
    with pytest.raises(SpecError) as info:
        read_rgb(str(grey_exr))
    assert info.value.field == "$OCIO" and "also-missing.ocio" in str(info.value)
    monkeypatch.delenv("OCIO")
    with pytest.raises(FrameError) as ferr:
        read_rgb(str(grey_exr), ColorSettings(input_colorspace="NoSuchSpace"), frame=1001)
    assert ferr.value.frame == 1001 and "NoSuchSpace" in str(ferr.value) and "--colorspace" in str(ferr.value)


def test_half_lut_matches_full_ocio_transform_and_is_skipped_for_matrices() -> None:
    """The baked per-channel LUT must give exactly what OCIO gives, and never stand in for a gamut matrix."""
    import numpy as np

    from inkpaint.io.colour import _channel_lut, _colorconvert, convert

    x = np.random.default_rng(3).uniform(-0.1, 6.0, (64, 48, 3)).astype(np.float16).astype(np.float32)
    fast = convert(x, "lin_rec709_scene", "sRGB")
    full = _colorconvert(x, "lin_rec709_scene", "sRGB", "")
    assert _channel_lut("lin_rec709_scene", "sRGB", "") is not None
    np.testing.assert_allclose(fast, full, rtol=1e-6, atol=1e-7)
    assert _channel_lut("ACEScg", "sRGB", "") is None  # channel-mixing: never a per-channel table


def test_gamut_conversions_take_the_matrix_and_curve_path_within_half_precision() -> None:
    """ACEScg (the built-in config's scene_linear) -> sRGB is a gamut matrix then a per-channel curve: the fast path
    reproduces the full OCIO transform to half precision, and a transform that is not of that shape is refused."""
    import numpy as np

    from inkpaint.io.colour import BUILTIN_CONFIG, _colorconvert, _matrix_then_lut, convert

    x = np.random.default_rng(4).uniform(-0.05, 6.0, (64, 48, 3)).astype(np.float16).astype(np.float32)
    assert _matrix_then_lut("scene_linear", "srgb_rec709_scene", BUILTIN_CONFIG) is not None
    fast = convert(x, "scene_linear", "srgb_rec709_scene", ocio_config=BUILTIN_CONFIG)
    full = _colorconvert(x, "scene_linear", "srgb_rec709_scene", BUILTIN_CONFIG)
    np.testing.assert_allclose(fast, full, rtol=2e-3, atol=2e-4)
    # ACEScct -> sRGB is a log curve, then a matrix, then a curve: not "matrix then curve" -> full OCIO path.
    assert _matrix_then_lut("ACEScct", "srgb_rec709_scene", BUILTIN_CONFIG) is None
    np.testing.assert_allclose(
        convert(x[..., :3] * 0.1, "ACEScct", "srgb_rec709_scene", ocio_config=BUILTIN_CONFIG),
        _colorconvert(x[..., :3] * 0.1, "ACEScct", "srgb_rec709_scene", BUILTIN_CONFIG),
        rtol=1e-6,
    )


def test_untagged_exr_takes_the_configs_scene_linear_role(tmp_path: Path, tiny_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An untagged EXR is read in the config's ``scene_linear`` role: ACEScg in the built-in studio config (a
    saturated ACEScg red leaves sRGB's gamut, so it differs from reading it as Linear Rec.709), the tiny config's
    Linear Rec.709 when that config is the job's."""
    from inkpaint.io.colour import BUILTIN_CONFIG, config_in_use, convert, guess_colorspace

    monkeypatch.delenv("OCIO", raising=False)
    assert guess_colorspace("/a/plate.0001.exr", None) == "scene_linear"
    assert guess_colorspace("/a/plate.0001.exr", "ACEScct") == "ACEScct"  # the file's tag wins
    assert guess_colorspace("/a/plate.0001.png", None) == "srgb_rec709_scene"
    assert config_in_use(None) == BUILTIN_CONFIG == "ocio://studio-config-latest"
    path = tmp_path / "red.exr"
    plane = np.full((2, 2), 0.18, np.float32)
    write_exr(str(path), {"R": plane * 2, "G": plane, "B": plane * 0.5}, dtype="float")
    rgb = np.array([[[0.36, 0.18, 0.09]]], np.float32)
    out = read_rgb(str(path))[0, 0]
    np.testing.assert_allclose(out, np.clip(convert(rgb, "ACEScg", "sRGB"), 0, 1)[0, 0], atol=1e-5)
    assert np.abs(out - np.clip(convert(rgb, "lin_rec709_scene", "sRGB"), 0, 1)[0, 0]).max() > 0.02
    tiny = read_rgb(str(path), ColorSettings(ocio_config=str(tiny_config)))[0, 0]
    np.testing.assert_allclose(tiny, np.sqrt([0.36, 0.18, 0.09]), atol=5e-4)  # scene_linear = lin_rec709 there


def test_builtin_config_knows_camera_and_aces_names(grey_exr: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Names a Nuke Read carries under an ACES/studio config resolve in the built-in config (no $OCIO, no job
    config); Nuke's own nuke-default names (rec709, Cineon, AlexaV3LogC) are not in it (the Nuke adapter maps or
    ships them)."""
    monkeypatch.delenv("OCIO", raising=False)
    for name in ("ACES - ACEScg", "ACEScg", "ACEScct", "ARRI LogC3 (EI800)", "Camera Rec.709", "Linear Rec.709 (sRGB)"):
        out = read_rgb(str(grey_exr), ColorSettings(input_colorspace=name))
        assert out.shape == (4, 6, 3) and np.isfinite(out).all(), name
    for name in ("Cineon", "AlexaV3LogC"):
        with pytest.raises(FrameError, match=name):
            read_rgb(str(grey_exr), ColorSettings(input_colorspace=name))


def test_tables_are_baked_once_when_threads_convert_at_the_same_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two fit threads converting their first plates at once bake each table once, with one call per
    source/destination pair (PyOpenColorIO's processor here; an OIIO call costs ~60 ms whatever its size), and get
    the same pixels as the full path."""
    import threading

    from inkpaint.io import colour

    for cached in (colour._baked, colour._channel_lut, colour._matrix_then_lut):
        cached.cache_clear()
    calls: list[tuple[str, str]] = []
    oiio_calls: list[tuple[str, str]] = []
    real, real_ocio = colour._colorconvert, colour._ocio_baked

    def counting(pixels: np.ndarray, src: str, dst: str, config: str, **kw: object) -> np.ndarray:
        oiio_calls.append((src, dst))
        return real(pixels, src, dst, config, **kw)  # type: ignore[arg-type]

    def counting_ocio(src: str, dst: str, config: str) -> np.ndarray | None:
        calls.append((src, dst))
        return real_ocio(src, dst, config)

    monkeypatch.setattr(colour, "_colorconvert", counting)
    monkeypatch.setattr(colour, "_ocio_baked", counting_ocio)
    x = np.random.default_rng(5).uniform(0.0, 4.0, (32, 24, 3)).astype(np.float16).astype(np.float32)
    start = threading.Barrier(2)
    out: list[np.ndarray] = []

    def convert_one() -> None:
        start.wait()
        out.append(colour.convert(x, "ACEScg", "sRGB", ocio_config=colour.BUILTIN_CONFIG))

    threads = [threading.Thread(target=convert_one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(out) == 2 and np.array_equal(out[0], out[1])
    assert len(calls) == len(set(calls)), f"a table was baked twice: {calls}"
    assert len(calls) <= 3, calls  # ACEScg -> sRGB, ACEScg -> linear Rec.709, linear Rec.709 -> sRGB
    assert oiio_calls == [], oiio_calls  # every name known to PyOpenColorIO: OIIO never loads the config again
    for cached in (colour._baked, colour._channel_lut, colour._matrix_then_lut):
        cached.cache_clear()  # later tests bake with the real function again
    full = real(x, "ACEScg", "sRGB", colour.BUILTIN_CONFIG)
    np.testing.assert_allclose(out[0], full, rtol=2e-3, atol=2e-4)


@pytest.mark.parametrize("config", ["ocio://studio-config-latest", "ocio://default", "ocio://cg-config-latest", "tiny"])
def test_pyopencolorio_tables_match_oiio(config: str, tiny_config: Path) -> None:
    """Tables are baked with PyOpenColorIO processors from one loaded config (a few ms) instead of OIIO's
    colorconvert (~60 ms a call: OIIO loads the config each time). PyOpenColorIO (2.6 here) is newer than OIIO's
    bundled OCIO (2.5.1): the built-in ``-latest`` configs are pinned to OIIO's version, and OIIO's informal names
    (``sRGB``, ``linear``) resolve to the same spaces. Every name pair the readers use gives OIIO's table to 1e-3
    relative (in practice bit-identical), non-finite values included."""
    from inkpaint.io import colour

    cfg = str(tiny_config) if config == "tiny" else config
    if config == "tiny":
        pairs = [("lin_rec709_scene", "sRGB"), ("scene_linear", "sRGB"), ("scene_linear", "srgb_rec709_scene")]
    else:
        srcs = ["scene_linear", "ACEScg", "ACES2065-1", "ACEScct", "lin_rec709_scene", "Linear Rec.709 (sRGB)", "linear", "lin_srgb", "sRGB"]
        if "studio" in config:
            srcs += ["ARRI LogC3 (EI800)", "Camera Rec.709"]
        pairs = [(s, d) for s in srcs for d in ("sRGB", "srgb_rec709_scene", "lin_rec709_scene") if s != d]
    sample = colour._sample()
    for src, dst in pairs:
        fast = colour._ocio_baked(src, dst, cfg)
        assert fast is not None, (config, src, dst)  # PyOpenColorIO resolved both names: no OIIO call
        ref = colour._colorconvert(sample, src, dst, cfg)[0]
        assert np.array_equal(np.isfinite(fast), np.isfinite(ref)), (config, src, dst)
        ok = np.isfinite(ref)
        np.testing.assert_allclose(fast[ok], ref[ok], rtol=1e-3, atol=1e-6, err_msg=f"{config}: {src} -> {dst}")


def test_names_pyopencolorio_cannot_resolve_fall_back_to_oiio(tiny_config: Path) -> None:
    """A name only OIIO resolves (its informal ``linear`` in a file config) and an unknown one are left to OIIO:
    the first still converts, the second is OIIO's clear error."""
    from inkpaint.io import colour

    assert colour._ocio_baked("linear", "sRGB", str(tiny_config)) is None
    assert colour._ocio_baked("NoSuchSpace", "sRGB", colour.BUILTIN_CONFIG) is None
    x = np.full((2, 2, 3), 0.18, np.float32)
    np.testing.assert_allclose(colour.convert(x, "linear", "sRGB", ocio_config=str(tiny_config)), np.sqrt(0.18), atol=2e-3)
    with pytest.raises(FrameError, match="NoSuchSpace"):
        colour.convert(x, "NoSuchSpace", "sRGB", ocio_config=colour.BUILTIN_CONFIG)
