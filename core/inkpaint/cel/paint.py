"""Painting flat cels: palette colours per (part, tone) in one gather, ink on top, optional background."""

from __future__ import annotations

import numpy as np


def paint_cel(labels: np.ndarray, tone: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """Paint the colour layer: every pixel gets the exact palette colour of its part and tone; no blending.

    Args:
        labels: ``(H, W)`` uint8 part labels (0 outside).
        tone: ``(H, W)`` uint8 tone codes (0 outside, 1 base, 2 shadow, 3 highlight, 4 second shadow).
        lut: ``(P + 1, 5, 3)`` colours by ``[label, tone]``: uint8 sRGB (:meth:`inkpaint.palette.Palette.tone_lut`)
            or float (e.g. linearised with :func:`srgb_to_linear`).

    Returns:
        ``(H, W, 4)`` straight-alpha RGBA of the lut's dtype; alpha is opaque (255 or 1.0) inside a part;
        outside every part (label 0) the pixel is transparent black, so the result is premultiplied as well.
    """
    if labels.shape != tone.shape or labels.ndim != 2:
        raise ValueError(f"labels {labels.shape} and tone {tone.shape} must be the same (H, W)")
    if lut.ndim != 3 or lut.shape[1:] != (5, 3):
        raise ValueError(f"lut must be (P + 1, 5, 3), got {lut.shape}")
    if labels.size and int(labels.max()) >= lut.shape[0]:
        raise ValueError(f"labels go up to {int(labels.max())} but the lut has {lut.shape[0] - 1} parts")
    # one gather from an RGBA table: alpha opaque for parts, 0 for label 0; a part pixel with tone 0 (no tone
    # there) is painted as base, tones above 4 as 4. ``np.take`` on whole rows is ~10x faster than fancy indexing.
    opaque = 255 if lut.dtype == np.uint8 else 1.0
    rgba = np.zeros(lut.shape[:1] + (8, 4), lut.dtype)
    rgba[:, :5, :3] = lut
    rgba[:, 5:, :3] = lut[:, 4:5]
    rgba[1:, :, 3] = opaque
    rgba[1:, 0, :3] = lut[1:, 1]
    rgba[0] = 0  # outside every part: transparent black, whatever the lut's row 0 holds
    small = lut.shape[0] * 8 <= 256
    idx = labels * np.uint8(8) if small else labels.astype(np.intp) * 8
    idx += np.minimum(tone, 7).astype(idx.dtype, copy=False)
    return np.take(rgba.reshape(-1, 4), idx, axis=0)


def srgb_to_linear(values: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 sRGB decoding of 8-bit values (or 0..1 floats when not uint8) to linear float32."""
    v = np.asarray(values)
    x = v.astype(np.float64) / 255.0 if v.dtype == np.uint8 else v.astype(np.float64)
    lin = np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)
    return lin.astype(np.float32)


def linear_to_srgb(values: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 sRGB encoding of linear values to 0..1 float32."""
    x = np.clip(np.asarray(values, np.float64), 0.0, None)
    enc = np.where(x <= 0.0031308, x * 12.92, 1.055 * np.power(x, 1 / 2.4) - 0.055)
    return enc.astype(np.float32)


def ink_over(
    colour: np.ndarray,
    ink_alpha: np.ndarray,
    ink_rgb: tuple[float, float, float] | np.ndarray,
    *,
    binary_alpha: bool = False,
) -> np.ndarray:
    """Put the ink line over a straight-alpha colour layer.

    Args:
        colour: ``(H, W, 4)`` straight-alpha RGBA (:func:`paint_cel`): uint8 (scaled by 1/255) or float 0..1.
        ink_alpha: ``(H, W)`` float32 line coverage 0..1.
        ink_rgb: line colour in the same encoding as ``colour`` (8-bit values for uint8, else floats).
        binary_alpha: ``colour``'s alpha is only 0 (with RGB 0) or opaque, as :func:`paint_cel` paints it, so it is
            already premultiplied and the multiply is skipped.

    Returns:
        ``(H, W, 4)`` float32 **premultiplied** RGBA in 0..1; pixels with no ink keep the exact palette colour.
    """
    if colour.shape[:2] != ink_alpha.shape or colour.shape[2] != 4:
        raise ValueError(f"colour {colour.shape} and ink {ink_alpha.shape} must share (H, W); colour must be RGBA")
    scale = np.float32(1.0 / 255.0) if colour.dtype == np.uint8 else np.float32(1.0)
    out = colour.astype(np.float32)
    if colour.dtype == np.uint8:
        out *= scale
    if not binary_alpha:
        out[..., :3] *= out[..., 3:4]  # premultiply
    # lines cover a few percent of the pixels: blend only those (elsewhere the result is the colour itself)
    on = np.flatnonzero(ink_alpha)
    if on.size:
        a_i = np.clip(ink_alpha.reshape(-1)[on], 0.0, 1.0)[:, None].astype(np.float32)
        ink = np.append(np.asarray(ink_rgb, np.float32) * scale, np.float32(1.0))
        flat = out.reshape(-1, 4)
        flat[on] = ink * a_i + flat[on] * (1.0 - a_i)
    return out


def over(fg: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """Premultiplied ``fg`` over ``bg``.

    Args:
        fg: ``(H, W, 4)`` float32 premultiplied RGBA.
        bg: ``(H, W, 3)`` (opaque) or ``(H, W, 4)`` premultiplied float32.

    Returns:
        ``(H, W, 4)`` float32 premultiplied RGBA.
    """
    if fg.shape[:2] != bg.shape[:2]:
        raise ValueError(f"foreground {fg.shape[:2]} and background {bg.shape[:2]} differ in size")
    if bg.shape[2] == 3:
        bg = np.concatenate([bg, np.ones(bg.shape[:2] + (1,), bg.dtype)], axis=2)
    a = fg[..., 3:4]
    return (fg + bg.astype(np.float32) * (1.0 - a)).astype(np.float32)


def unpremultiply(rgba: np.ndarray) -> np.ndarray:
    """Straight-alpha RGBA from premultiplied ``(H, W, 4)`` float32 (RGB 0 where alpha is 0)."""
    a = rgba[..., 3:4]
    out = rgba.copy()
    np.divide(rgba[..., :3], a, out=out[..., :3], where=a > 0)
    out[..., :3] = np.where(a > 0, out[..., :3], 0)
    return out
