"""The shared contact-sheet renderer: layout, tints, flags, and a real PNG through OIIO."""

from __future__ import annotations

import numpy as np
import pytest

from inkpaint.io.frames import read_image
from inkpaint.qc import ContactSheet, part_tint, pick_frames, tint_parts


def test_pick_frames_spreads_and_keeps_ends() -> None:
    assert pick_frames(range(1001, 1101), 5) == [1001, 1026, 1051, 1075, 1100]
    assert pick_frames([3, 1, 2], 6) == [1, 2, 3]
    assert pick_frames([], 4) == []


def test_tint_parts_colours_each_part_and_rejects_wrong_shape() -> None:
    rgb = np.zeros((20, 20, 3), np.float32)
    a = np.zeros((20, 20), np.float32)
    a[2:10, 2:10] = 1
    b = np.zeros((20, 20), np.float32)
    b[12:18, 12:18] = 1
    out = tint_parts(rgb, [a, b], opacity=1.0)
    assert np.allclose(out[5, 5], part_tint(0))
    assert np.allclose(out[15, 15], part_tint(1))
    assert np.allclose(out[0, 19], 0)
    with pytest.raises(ValueError, match="matte 0"):
        tint_parts(rgb, [np.zeros((5, 5))])


def test_sheet_places_cells_and_flags_rows(tmp_path) -> None:
    red = np.zeros((30, 40, 3), np.float32)
    red[..., 0] = 1
    blue = np.zeros((30, 40, 3), np.float32)
    blue[..., 2] = 1
    sheet = ContactSheet("test", ["plate", "parts"], cell_width=80)
    sheet.add([red, blue], label="1001")
    sheet.add([blue, None], label="1002", flag="low confidence")
    with pytest.raises(ValueError, match="3 cells"):
        sheet.add([red, red, red])
    path = sheet.write(str(tmp_path / "sheet.png"))
    img = read_image(path).pixels
    for (r, c), want in {(0, 0): (1, 0, 0), (0, 1): (0, 0, 1), (1, 0): (0, 0, 1)}.items():
        x0, y0, w, h = sheet.cell_box(r, c)
        assert np.allclose(img[y0 + h // 2, x0 + w // 2, :3], want, atol=0.02), (r, c)
    x0, y0, w, h = sheet.cell_box(1, 1)
    assert img[y0 + h // 2, x0 + w // 2, :3].max() < 0.2  # empty cell stays background
    # the flagged row is framed in red just above its cells
    assert img[y0 - 3, x0 + w // 2, 0] > 0.8 and img[y0 - 3, x0 + w // 2, 1] < 0.3
