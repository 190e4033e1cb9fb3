"""Reference mode end to end: `inkpaint paint LINE --ref REF_IMAGE[=REF_LINE] --palette ...` as a subprocess, real
PNG files through OIIO: exact palette colours, a reference of another size and place, several references combining,
a reference too small to use."""

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from inkpaint.io.frames import read_image, write_png

PAL = """skin on skin: [[250, 230, 220], [240, 200, 180], [200, 150, 140]]
shirt on top: [[180, 221, 208], [115, 156, 150], [69, 104, 107]]
hair on hair: [[120, 90, 70], [90, 60, 40], [50, 30, 20]]
badge on accessory: [[255, 250, 150], [230, 200, 40], [180, 150, 20]]
"""
SKIN, SHIRT, HAIR, BADGE = (240, 200, 180), (115, 156, 150), (90, 60, 40), (230, 200, 40)
PALETTE = {tuple(c) for line in PAL.splitlines() for c in json.loads(line.split(": ", 1)[1])}


def _draw(size, cx, cy, s, *, lines, badge=True, colours=(SKIN, SHIRT, HAIR, BADGE)):
    """A character: box body (skin | shirt halves), round head (hair), a round badge on the shirt."""
    img = np.full((size, size, 3), 255, np.uint8)
    x0, x1, y0, y1 = int(cx - 20 * s), int(cx + 20 * s), int(cy - 25 * s), int(cy + 25 * s)
    head, bc = (int(cx), int(y0 - 16 * s)), (int(cx + 10 * s), int(cy))
    skin, shirt, hair, bad = colours
    if lines:
        cv2.rectangle(img, (x0, y0), (x1, y1), (0, 0, 0), 1, cv2.LINE_8)
        cv2.line(img, (int(cx), y0), (int(cx), y1), (0, 0, 0), 1, cv2.LINE_8)
        cv2.circle(img, head, int(14 * s), (0, 0, 0), 1, cv2.LINE_8)
        if badge:
            cv2.circle(img, bc, int(6 * s), (0, 0, 0), 1, cv2.LINE_8)
    else:
        cv2.rectangle(img, (x0, y0), (int(cx), y1), skin, -1)
        cv2.rectangle(img, (int(cx), y0), (x1, y1), shirt, -1)
        cv2.circle(img, head, int(14 * s), hair, -1, cv2.LINE_8)
        if badge:
            cv2.circle(img, bc, int(6 * s), bad, -1, cv2.LINE_8)
    return img


CENTRES = [(50 + 4 * i, 72) for i in range(4)]


@pytest.fixture()
def shot(tmp_path):
    os.makedirs(tmp_path / "line")
    for f, (cx, cy) in enumerate(CENTRES):
        write_png(str(tmp_path / "line" / f"{f:04d}.png"), _draw(128, cx, cy, 1.0, lines=True))
    (tmp_path / "pal.yml").write_text(PAL)
    return tmp_path


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "inkpaint", *args, "-q"], cwd=cwd, capture_output=True, text=True)


def _rgba(path):
    return np.rint(read_image(str(path)).pixels * 255).astype(np.uint8)


def _probe(px, cx, cy):
    """Colours at the skin half, the shirt (off the badge), the head and the badge of a frame."""
    return {"skin": tuple(px[cy - 15, cx - 10, :3]), "shirt": tuple(px[cy - 18, cx + 10, :3]),
            "hair": tuple(px[cy - 25 - 16, cx, :3]), "badge": tuple(px[cy, cx + 10, :3])}


def test_reference_of_another_size_and_place_with_derived_line_art_gives_exact_palette_colours(shot):
    # a 2x larger painted reference, elsewhere in its frame, colours a little off the palette, no line art given
    off = ((242, 198, 181), (113, 158, 149), (92, 61, 38), (228, 203, 41))
    write_png(str(shot / "ref.png"), _draw(300, 170, 160, 2.0, lines=False, colours=off))
    r = _cli("paint", "line/####.png", "--ref", "ref.png", "--out", "paint/####.png", "--palette", "pal.yml", cwd=shot)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["written"] == [0, 1, 2, 3]
    for f, (cx, cy) in enumerate(CENTRES):
        px = _rgba(shot / "paint" / f"{f:04d}.png")
        colours = {tuple(c[:3]) for c in px.reshape(-1, 4) if c[3]}
        assert colours <= PALETTE, f"frame {f}: colours outside the palette {colours - PALETTE}"
        assert _probe(px, cx, cy) == {"skin": SKIN, "shirt": SHIRT, "hair": HAIR, "badge": BADGE}, f"frame {f}"
        assert px[2, 2, 3] == 0  # background transparent
    manifest = json.loads((shot / "paint" / "paint.inkpaint.json").read_text()) if (shot / "paint" / "paint.inkpaint.json").exists() else None
    summary = res.get("summary") or (manifest or {}).get("summary", {})
    ref = summary["references"][0]
    assert ref["line_derived"] and ref["size"] == [300, 300]
    assert 0 < ref["snapped"]["max_distance"] < 5
    assert any("not in the palette" in w for w in summary["warnings"])


def test_several_references_combine(shot):
    # front: no badge drawn; second view: the badge, with its line art
    write_png(str(shot / "front.png"), _draw(256, 128, 140, 2.0, lines=False, badge=False))
    write_png(str(shot / "side.png"), _draw(128, 56, 74, 1.0, lines=False))
    write_png(str(shot / "side_line.png"), _draw(128, 56, 74, 1.0, lines=True))
    r = _cli("paint", "line/####.png", "--ref", "front.png", "--out", "one/####.png", "--palette", "pal.yml",
             "--frames", "0", cwd=shot)
    assert r.returncode == 0, r.stderr
    alone = _probe(_rgba(shot / "one" / "0000.png"), *CENTRES[0])
    assert alone["badge"] != BADGE  # the front view has no badge: it cannot know its colour
    r = _cli("paint", "line/####.png", "--ref", "front.png", "--ref", "side.png=side_line.png", "--out", "both/####.png",
             "--palette", "pal.yml", cwd=shot)
    assert r.returncode == 0, r.stderr
    for f, (cx, cy) in enumerate(CENTRES):
        got = _probe(_rgba(shot / "both" / f"{f:04d}.png"), cx, cy)
        assert got == {"skin": SKIN, "shirt": SHIRT, "hair": HAIR, "badge": BADGE}, f"frame {f}"


def test_reference_too_small_is_a_clear_error(shot):
    write_png(str(shot / "thumb.png"), _draw(12, 6, 7, 0.1, lines=False))
    r = _cli("paint", "line/####.png", "--ref", "thumb.png", "--out", "paint/####.png", "--palette", "pal.yml", cwd=shot)
    assert r.returncode != 0
    assert "thumb.png" in r.stderr and "scale" in r.stderr and "12x12" in r.stderr


def test_reference_line_art_of_another_size_is_a_clear_error(shot):
    write_png(str(shot / "ref.png"), _draw(128, 56, 74, 1.0, lines=False))
    write_png(str(shot / "ref_line.png"), _draw(100, 56, 74, 1.0, lines=True))
    r = _cli("paint", "line/####.png", "--ref", "ref.png=ref_line.png", "--out", "paint/####.png", cwd=shot)
    assert r.returncode != 0
    assert "ref_line.png" in r.stderr and "100x100" in r.stderr
