"""The finish operation: exact palette colours, ink on top, layers, background, PNG, bad input."""

from __future__ import annotations

import sys
import subprocess
from pathlib import Path

import numpy as np
import pytest

from inkpaint.cel.paint import linear_to_srgb
from inkpaint.errors import FrameError
from inkpaint.io.frames import read_image, write_png
from inkpaint.ops.base import run_job
from inkpaint.ops.finish import FinishJob, layer_pattern
from inkpaint.ops.ink import InkJob
from inkpaint.ops.shade import ShadeJob
from inkpaint.palette import PaletteError
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the shared cel test scene
from cel.scene import scene_arrays, write_scene  # noqa: E402


@pytest.fixture()
def staged(tmp_path: Path) -> dict[str, str]:
    s = write_scene(tmp_path / "in", frames=2)
    s["tones"] = str(tmp_path / "tone" / "t.####.exr")
    s["ink"] = str(tmp_path / "ink" / "i.####.exr")
    run_job(ShadeJob(input=s["plate"], mattes=s["mattes"], output=s["tones"]))
    run_job(InkJob(mattes=s["mattes"], output=s["ink"], width=2))
    return s


def test_finish_cli_exr_exact_colours_and_layers(tmp_path: Path, staged: dict[str, str], inkpaint_exe: list[str]) -> None:
    out = tmp_path / "cel" / "shot.####.exr"
    r = subprocess.run(
        [*inkpaint_exe, "-q", "finish", "--mattes", staged["mattes"], "--tones", staged["tones"], "--ink", staged["ink"],
         "--palette", staged["palette"], "--out", str(out)], capture_output=True, text=True,
    )
    assert r.returncode == 0, r.stderr
    img = read_image(str(tmp_path / "cel" / "shot.0001.exr"))
    assert {"R", "G", "B", "A", "colour.R", "colour.G", "colour.B", "colour.A", "ink.A", "tone"} <= set(img.channels)
    tone = np.rint(img.channel("tone")).astype(int)
    ink = img.channel("ink.A")
    col = np.stack([img.channel(c) for c in ("colour.R", "colour.G", "colour.B")], -1)
    srgb = np.rint(linear_to_srgb(col) * 255).astype(int)
    body, head, _ = scene_arrays(1)
    inside_body = (body > 0) & (ink == 0)
    # every colour-layer pixel of the body is exactly one of its palette colours, chosen by tone
    assert (srgb[inside_body & (tone == 1)] == (200, 120, 80)).all()
    assert (srgb[inside_body & (tone == 2)] == (120, 60, 40)).all()
    comp = np.stack([img.channel(c) for c in "RGB"], -1)
    flat = inside_body & (tone > 0)
    assert np.allclose(comp[flat], col[flat])  # no blending away from the ink
    lined = ink > 0.99
    assert np.allclose(np.rint(linear_to_srgb(comp[lined]) * 255), (10, 5, 20))  # ink on top, palette ink colour
    assert (img.channel("A")[((body + head) == 0) & (ink == 0)] == 0).all()


def test_finish_png_over_background(tmp_path: Path, staged: dict[str, str]) -> None:
    bg = np.full((72, 96, 3), 255, np.uint8)
    bg[..., 2] = 0
    write_png(str(tmp_path / "bg.png"), bg)
    out = str(tmp_path / "png" / "c.####.png")
    run_job(FinishJob(mattes=staged["mattes"], palette=staged["palette"], output=out, tones=staged["tones"], ink=staged["ink"], over=str(tmp_path / "bg.png")))
    comp = np.rint(read_image(str(tmp_path / "png" / "c.0001.png")).pixels * 255).astype(int)
    assert comp.shape[2] == 4 and (comp[..., 3] == 255).all()
    assert tuple(comp[0, 0, :3]) == (255, 255, 0)  # background shows outside the character
    body, _, _ = scene_arrays(1)
    colours = {tuple(c) for c in comp[(body > 0), :3]}
    assert (200, 120, 80) in colours and (120, 60, 40) in colours
    for layer in ("colour", "ink", "tone"):
        assert Path(layer_pattern(out, layer).replace("####", "0001")).exists()


def test_palette_and_mattes_name_different_parts(tmp_path: Path, staged: dict[str, str]) -> None:
    pal = tmp_path / "p.yml"
    pal.write_text("parts:\n  body: {normal: [1, 2, 3]}\n  hat: {normal: [4, 5, 6]}\n")
    with pytest.raises(PaletteError) as exc:
        run_job(FinishJob(mattes=staged["mattes"], palette=str(pal), output=str(tmp_path / "c.####.exr")))
    msg = str(exc.value)
    assert "not in the palette: head" in msg and "not in the mattes: hat" in msg
    assert not list(tmp_path.glob("c.*.exr"))


def test_malformed_palette_is_named(tmp_path: Path, staged: dict[str, str]) -> None:
    pal = tmp_path / "bad.yml"
    pal.write_text("parts:\n  body: {normal: [1, 2]}\n  head: {normal: [4, 5, 6]}\n")
    with pytest.raises(PaletteError, match=r"bad.yml.*line 2.*part 'body'.*field 'normal'.*wrong length"):
        run_job(FinishJob(mattes=staged["mattes"], palette=str(pal), output=str(tmp_path / "c.####.exr")))


def test_empty_mattes_frame_gives_empty_cel(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    s = write_scene(tmp_path / "in", frames=2, empty=(2,))
    res = run_job(FinishJob(mattes=s["mattes"], palette=s["palette"], output=str(tmp_path / "c.####.exr")))
    assert res.summary["empty_frames"] == [2] and res.written == [1, 2]
    assert read_image(str(tmp_path / "c.0002.exr")).channel("A").max() == 0
    assert "empty" in caplog.text


def test_background_size_mismatch(tmp_path: Path, staged: dict[str, str]) -> None:
    write_png(str(tmp_path / "bg.png"), np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(FrameError, match="same resolution"):
        run_job(FinishJob(mattes=staged["mattes"], palette=staged["palette"], output=str(tmp_path / "c.####.exr"), over=str(tmp_path / "bg.png")))
