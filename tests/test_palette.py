"""Tests for inkpaint.palette: design-sheet and BasicPBC colorbook reading, errors, nearest colour, LUTs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inkpaint.palette import Palette, PaletteEntry, PaletteError, load_palette, part_name, save_palette

DESIGN = """\
inkpaint_palette: 1
ink: [20, 16, 24]
parts:
  skin:
    normal: [240, 204, 180]
    shadow: [201, 150, 140]
    highlight: [255, 236, 222]
    category: skin
  hair:
    normal: "#54431e"
    shadow: [[49, 22, 158], [30, 10, 110]]
  pupil:
    normal: [10, 10, 10]
"""


def write(tmp_path: Path, text: str, name: str = "p.yml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_design_sheet(tmp_path: Path) -> None:
    pal = load_palette(write(tmp_path, DESIGN))
    assert pal.names == ["skin", "hair", "pupil"]
    assert pal.ink == (20, 16, 24)
    assert pal["hair"].normal == (0x54, 0x43, 0x1E)
    assert pal["hair"].shadow == (49, 22, 158) and pal["hair"].shadow2 == (30, 10, 110)
    assert pal["hair"].highlight is None and pal["hair"].color(3) == pal["hair"].normal
    assert pal["pupil"].shadow == pal["pupil"].normal  # flat part
    assert pal["skin"].color(4) == pal["skin"].shadow  # shadow2 falls back to shadow
    assert pal["skin"].category == "skin"


def test_colorbook_synth_dev(shared_data: Path) -> None:
    pal = load_palette(shared_data / "synth_dev" / "clip_000" / "colorbook.yml")
    e = pal["eye_highlight"]
    assert e.description == "eye highlight" and e.category == "eye"
    assert e.highlight == (227, 255, 254) and e.normal == (215, 249, 255) and e.shadow == (137, 162, 178)
    assert e.shadow2 is None


def test_colorbook_four_entries_and_null(tmp_path: Path) -> None:
    pal = load_palette(write(tmp_path, "hair on hair: [null, [1, 2, 3], [4, 5, 6], [7, 8, 9]]\nchar2 hair on hair: [[1,1,1], [2,2,2], [3,3,3], null]\n"))
    assert pal["hair"].highlight is None and pal["hair"].shadow2 == (7, 8, 9)
    assert pal["char2_hair"].shadow2 is None and pal["char2_hair"].highlight == (1, 1, 1)


@pytest.mark.parametrize(
    "text, needles",
    [
        ("skin on skin: [[1,2,3], [1,2], [1,2,3]]\n", ["line 1", "'skin on skin'", "field 'normal'", "wrong length 2"]),
        ("a on b: [[1,2,3], [1,2,3], [1,2,3]]\nskin on skin: [[1,2,3], [1,2,300], [1,2,3]]\n", ["line 2", "field 'normal'", "outside 0..255"]),
        ("skin on skin: [[1,2,3], [1,2,3]]\n", ["line 1", "wrong length 2"]),
        ("skin on skin: [[1,2,3], [1.5,2,3], [1,2,3]]\n", ["not an integer"]),
        ("parts:\n  skin:\n    normal: [1, 2, 3]\n    shadow: [1, 2, x]\n", ["line 4", "part 'skin'", "field 'shadow'", "bad RGB"]),
        ("parts:\n  skin:\n    shadow: [1, 2, 3]\n", ["line 2", "field 'normal'", "missing"]),
        ("parts:\n  skin:\n    normal: [1, 2, 3]\n    shade: [1, 2, 3]\n", ["line 4", "unknown field 'shade'"]),
        ("parts:\n  eye highlight:\n    normal: [1, 2, 3]\n", ["not a valid part name", "eye_highlight"]),
        ("a on b: [[1,2,3], [1,2,3], [1,2,3]]\na on c: [[1,2,3], [1,2,3], [1,2,3]]\n", ["line 2", "same part name 'a'", "line 1"]),
        ("parts: [\n", ["not valid YAML"]),
        ("", ["empty"]),
    ],
)
def test_malformed_palettes_name_file_line_and_field(tmp_path: Path, text: str, needles: list[str]) -> None:
    path = write(tmp_path, text)
    with pytest.raises(PaletteError) as exc:
        load_palette(path)
    msg = str(exc.value)
    assert str(path) in msg
    for n in needles:
        assert n in msg, (n, msg)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PaletteError, match="cannot read palette"):
        load_palette(tmp_path / "nope.yml")


def test_colors_are_distinct_with_labels() -> None:
    pal = Palette({
        "a": PaletteEntry("a", (1, 1, 1), (2, 2, 2), None, (3, 3, 3)),
        "b": PaletteEntry("b", (1, 1, 1), (4, 4, 4), (5, 5, 5)),
    })
    colors, labels = pal.colors()
    assert colors.dtype == np.uint8 and colors.shape == (5, 3)
    assert labels == [("a", "normal"), ("a", "shadow"), ("a", "highlight"), ("b", "shadow"), ("b", "shadow2")]


def test_nearest_vectorised_matches_brute_force() -> None:
    pal = Palette({"a": PaletteEntry("a", (200, 10, 10), (100, 0, 0), None, (255, 128, 128)), "b": PaletteEntry("b", (10, 200, 10), (0, 90, 0))})
    colors, _ = pal.colors()
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (37, 41, 3)).astype(np.uint8)
    idx, dist = pal.nearest(img)
    assert idx.shape == (37, 41) and dist.shape == (37, 41)
    brute = np.sqrt(((img[..., None, :].astype(np.float64) - colors[None, None].astype(np.float64)) ** 2).sum(-1))
    np.testing.assert_allclose(dist, brute.min(-1), atol=1e-3)
    assert (brute[np.arange(37)[:, None], np.arange(41)[None], idx] <= brute.min(-1) + 1e-6).all()
    fidx, fdist = pal.nearest(img.astype(np.float32))
    np.testing.assert_array_equal(fidx, idx)
    i, d = pal.nearest(colors)
    np.testing.assert_array_equal(i, np.arange(len(colors)))
    assert (d == 0).all()
    with pytest.raises(ValueError):
        pal.nearest(np.zeros((4, 4)))


def test_tone_lut_and_check_parts() -> None:
    pal = Palette({"a": PaletteEntry("a", (1, 1, 1), (2, 2, 2), None, (3, 3, 3)), "b": PaletteEntry("b", (9, 9, 9), (8, 8, 8), (7, 7, 7))})
    lut = pal.tone_lut(["b", "a"])
    assert lut.shape == (3, 5, 3)
    assert tuple(lut[1, 4]) == (7, 7, 7) and tuple(lut[2, 3]) == (3, 3, 3) and tuple(lut[2, 4]) == (2, 2, 2)
    assert (lut[0] == 0).all() and (lut[:, 0] == 0).all()
    pal.check_parts(["b", "a"])
    with pytest.raises(PaletteError) as exc:
        pal.check_parts(["a", "c"], what="mattes 'roto.1001.exr'")
    msg = str(exc.value)
    assert "not in the palette: c" in msg and "not in the mattes: b" in msg


def test_save_round_trip(tmp_path: Path) -> None:
    pal = load_palette(write(tmp_path, DESIGN))
    save_palette(pal, tmp_path / "out.yml")
    again = load_palette(tmp_path / "out.yml")
    assert again.entries == pal.entries and again.ink == pal.ink


def test_part_name() -> None:
    assert part_name("eye highlight") == "eye_highlight"
    assert part_name("char2 hair") == "char2_hair"
    assert part_name("2nd-layer") == "_2nd_layer"
