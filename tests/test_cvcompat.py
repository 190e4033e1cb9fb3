"""inkpaint.cvcompat: the typed OpenCV wrappers return what the raw calls return."""

from __future__ import annotations

import cv2
import numpy as np

from inkpaint import cvcompat


def _frames() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    a = cv2.GaussianBlur(rng.integers(0, 256, (64, 80), dtype=np.uint8), (7, 7), 2.0)
    return a, np.roll(a, 2, axis=1)  # b is a shifted 2 px right


def test_flow_calc_is_the_raw_call() -> None:
    a, b = _frames()
    flow = cvcompat.flow_calc(cvcompat.dis_optical_flow(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM), a, b)
    raw = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM).calc(a, b, None)  # type: ignore[attr-defined]
    assert flow.shape == (64, 80, 2) and flow.dtype == np.float32
    np.testing.assert_array_equal(flow, raw)
    assert abs(float(np.median(flow[16:48, 16:64, 0])) - 2.0) < 0.5  # a(p) ~ b(p + flow): +2 px in x


def test_compare_scalar() -> None:
    labels = np.array([[0, 1, 2], [2, 2, 0]], np.int32)
    out = cvcompat.compare_scalar(labels, 2, cv2.CMP_EQ)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, np.where(labels == 2, 255, 0))


def test_grab_cut_with_mask_updates_the_mask() -> None:
    img = np.zeros((40, 40, 3), np.uint8)
    img[10:30, 10:30] = (0, 200, 0)
    img += np.random.default_rng(0).integers(0, 20, img.shape, dtype=np.uint8)
    mask = np.full((40, 40), cv2.GC_PR_BGD, np.uint8)
    mask[8:32, 8:32] = cv2.GC_PR_FGD
    mask[18:22, 18:22] = cv2.GC_FGD
    mask[:3] = cv2.GC_BGD
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cvcompat.grab_cut_with_mask(img, mask, bgd, fgd, 3)
    fg = (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)
    assert fg[12:28, 12:28].all() and not fg[9, 9] and not fg[0].any()
    assert fgd.any()


def test_half_casts_match_numpy_for_every_shape() -> None:
    """to_half / to_float32 give numpy's values (bit for bit, NaN and overflow included), for tiny arrays (numpy path),
    planes, (H, W, C) images and strided channel views (OpenCV path)."""
    rng = np.random.default_rng(5)
    big = rng.uniform(-70000.0, 70000.0, (64, 96, 4)).astype(np.float32)
    big[0, 0, 0], big[1, 1, 1] = np.nan, 1e-8
    for a in (big[:1, :1, 0], big[:2, :1], big[..., 0], big[..., 1], big, big[..., :3], big.reshape(-1)):
        with np.errstate(over="ignore"):
            want = a.astype(np.float16)
        got = cvcompat.to_half(a)
        assert got.dtype == np.float16 and got.shape == a.shape
        assert np.array_equal(got.view(np.uint16), want.view(np.uint16))
        back = cvcompat.to_float32(got)
        assert back.dtype == np.float32 and back.shape == a.shape
        assert np.array_equal(back, want.astype(np.float32), equal_nan=True)
    h = cvcompat.to_half(big)
    assert cvcompat.to_half(h) is h
    f = big[..., 0].copy()
    assert cvcompat.to_float32(f) is f
