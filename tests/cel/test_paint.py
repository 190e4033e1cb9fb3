"""inkpaint.cel.paint: exact palette colours, ink over, compositing."""

from __future__ import annotations

import numpy as np
import pytest

from inkpaint.cel.paint import ink_over, linear_to_srgb, over, paint_cel, srgb_to_linear, unpremultiply


def test_paint_cel_exact_colours() -> None:
    lut = np.zeros((3, 5, 3), np.uint8)
    lut[1, 1] = (10, 20, 30)
    lut[1, 2] = (1, 2, 3)
    lut[2, 1] = (200, 100, 50)
    lut[2, 3] = (255, 255, 255)
    labels = np.array([[0, 1, 1], [2, 2, 2]], np.uint8)
    tone = np.array([[0, 1, 2], [1, 3, 0]], np.uint8)
    out = paint_cel(labels, tone, lut)
    assert out.dtype == np.uint8 and out.shape == (2, 3, 4)
    assert tuple(out[0, 1]) == (10, 20, 30, 255) and tuple(out[0, 2]) == (1, 2, 3, 255)
    assert tuple(out[1, 1]) == (255, 255, 255, 255)
    assert tuple(out[1, 2]) == (200, 100, 50, 255)  # tone 0 inside a part paints base
    assert tuple(out[0, 0]) == (0, 0, 0, 0)
    with pytest.raises(ValueError):
        paint_cel(labels, tone, lut[:2])


def test_ink_over_and_composite() -> None:
    colour = np.zeros((1, 3, 4), np.uint8)
    colour[0, :2] = (200, 100, 50, 255)
    ink = np.array([[0.0, 1.0, 0.5]], np.float32)
    comp = ink_over(colour, ink, (0, 0, 0))
    assert comp[0, 0] == pytest.approx([200 / 255, 100 / 255, 50 / 255, 1.0])
    assert comp[0, 1] == pytest.approx([0, 0, 0, 1])
    assert comp[0, 2] == pytest.approx([0, 0, 0, 0.5])  # half-covered ink outside the part
    bg = np.full((1, 3, 3), 1.0, np.float32)
    o = over(comp, bg)
    assert o[0, 2] == pytest.approx([0.5, 0.5, 0.5, 1.0])
    assert unpremultiply(comp)[0, 2] == pytest.approx([0, 0, 0, 0.5])


def test_fast_paths_match_the_general_ones() -> None:
    """paint_cel with more than 31 parts (wide index) and ink_over(binary_alpha=True) on painted cels."""
    rng = np.random.default_rng(1)
    lut = srgb_to_linear(rng.integers(0, 256, (40, 5, 3)).astype(np.uint8))
    labels = rng.integers(0, 40, (30, 20)).astype(np.uint8)
    tone = rng.integers(0, 6, (30, 20)).astype(np.uint8)
    out = paint_cel(labels, tone, lut)
    t = np.where(tone == 0, 1, np.minimum(tone, 4))
    want = np.where(labels[..., None] > 0, np.concatenate([lut[labels, t], np.ones((30, 20, 1), np.float32)], axis=2), 0)
    np.testing.assert_array_equal(out, want)
    ink = np.where(rng.uniform(0, 1, (30, 20)) > 0.8, rng.uniform(0, 1, (30, 20)), 0).astype(np.float32)
    np.testing.assert_array_equal(ink_over(out, ink, (0.1, 0.2, 0.3), binary_alpha=True), ink_over(out, ink, (0.1, 0.2, 0.3)))


def test_srgb_round_trip_is_exact_for_8_bit() -> None:
    v = np.arange(256, dtype=np.uint8)
    back = np.rint(linear_to_srgb(srgb_to_linear(v).astype(np.float16).astype(np.float32)) * 255)
    assert (back == v).all()  # through half float, as stored in EXR
