"""The add-on's EXR channel reader/writer (blender_addon/exr_channels.py; pure numpy, imported by path, no bpy)
against OpenImageIO: the engine's tone EXRs (bare ``tone``/``tonal`` channels) in every compression the reader
takes, with full and tight data windows, and the layer it writes for Blender."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from inkpaint.io.frames import read_channels, write_exr

_spec = importlib.util.spec_from_file_location("inkpaint_blender_exr", Path(__file__).resolve().parents[2] / "blender_addon" / "exr_channels.py")
exr = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(exr)  # type: ignore[union-attr]


@pytest.mark.parametrize("compression", ["zip", "zips", "none"])
@pytest.mark.parametrize("tight", [False, True])
def test_reads_the_tonal_channel_like_oiio(tmp_path: Path, compression: str, tight: bool) -> None:
    from inkpaint.io.frames import Window

    rng = np.random.default_rng(3)
    tonal = rng.integers(0, 5, (37, 53)).astype(np.float32)
    path = str(tmp_path / "tone.0001.exr")
    if tight:
        win = Window(x=7, y=5, width=20, height=19)
        write_exr(path, {"tone": np.ones((19, 20), np.float32), "tonal": tonal[5:24, 7:27]}, compression=compression,
                  window=win, size=(53, 37))
        want = np.zeros_like(tonal)
        want[5:24, 7:27] = tonal[5:24, 7:27]
    else:
        write_exr(path, {"tone": (tonal > 1).astype(np.float32), "tonal": tonal}, compression=compression)
        want = tonal
    got = exr.read_channel(path, "tonal")
    np.testing.assert_array_equal(got, read_channels(path)["tonal"])
    np.testing.assert_array_equal(got, want)
    with pytest.raises(exr.ExrError, match="no channel 'nope'.*tonal, tone|no channel 'nope'.*tone"):
        exr.read_channel(path, "nope")


def test_writes_a_layer_oiio_reads_back(tmp_path: Path) -> None:
    plane = np.arange(12 * 9, dtype=np.float32).reshape(9, 12) % 5
    out = exr.write_layer(str(tmp_path / "tonal" / "t.0001.exr"), "tonal", plane)
    chans = read_channels(out)
    assert list(chans) == ["tonal.V"]
    np.testing.assert_array_equal(chans["tonal.V"], plane)
    with pytest.raises(exr.ExrError, match="not an OpenEXR"):
        (tmp_path / "bad.exr").write_bytes(b"nope nope")
        exr.read_channel(str(tmp_path / "bad.exr"), "tonal")
