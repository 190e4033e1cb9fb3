"""The tonal U-Net (after seed 003) and the input features it sees, shared by training and inference.

torch is imported lazily inside :func:`build_tonal_unet`, so importing this module costs numpy only; the
feature code (:func:`tonal_features`) is plain numpy and is what both ``inkpaint train tonal`` and the learned
shade method feed the network, so the two can never drift apart.

Input (``IN_CHANNELS`` = 5 planes, at the working resolution):

- 0-2: the plate in display sRGB, 0..1, mapped to -1..1. Colour, not greyscale: on synth_train a linear split of
  RGB separates lit from shadow pixels of a part 98.1 % vs 96.6 % for the best luma threshold, and cast from
  attached shadow 88.2 % vs 83.9 % (``MODEL_CARD.md``); the extra two input planes cost nothing measurable.
- 3: the union of the part mattes (1 inside a part, 0 outside);
- 4: the part-boundary map (1 where the part index differs from a 4-neighbour's, incl. the silhouette);
- 5 (6-plane networks): :func:`relative_lightness`, log luma relative to the mean of its part.

Output: ``N_CLASSES`` = 4 logits per pixel for the tonal classes 1..4 of ``docs/metrics.md`` (material, attached
shadow, cast shadow, highlight); class 0 (background) is everything outside the mattes and is not predicted.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

IN_CHANNELS = 5
N_CLASSES = 4
"""Logits per pixel: tonal classes 1..4 (class = argmax + 1)."""

CLASS_NAMES = {0: "background", 1: "material", 2: "attached shadow", 3: "cast shadow", 4: "highlight"}
"""The five tonal classes, coded as in ``docs/metrics.md``."""


@dataclasses.dataclass(frozen=True)
class TonalNetConfig:
    """Architecture of the tonal U-Net.

    Attributes:
        width: channels at half resolution; the encoder doubles them to 1/4 and 1/8 and keeps 4x at 1/16.
        in_channels: input planes (see the module docstring).
        n_classes: output logits.
    """

    width: int = 16
    in_channels: int = IN_CHANNELS
    n_classes: int = N_CLASSES

    def to_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TonalNetConfig":
        return cls(**{k: int(d[k]) for k in ("width", "in_channels", "n_classes") if k in d})


def part_boundaries(parts: np.ndarray) -> np.ndarray:
    """1 where a pixel's part index differs from its right or lower neighbour's (both sides marked).

    Args:
        parts: ``(H, W)`` integer part index, 0 outside every part.

    Returns:
        ``(H, W)`` float32 in {0, 1}.
    """
    b = np.zeros(parts.shape, bool)
    dx = parts[:, 1:] != parts[:, :-1]
    dy = parts[1:, :] != parts[:-1, :]
    b[:, 1:] |= dx
    b[:, :-1] |= dx
    b[1:, :] |= dy
    b[:-1, :] |= dy
    return b.astype(np.float32)


def relative_lightness(rgb: np.ndarray, parts: np.ndarray) -> np.ndarray:
    """``log(Y' + 0.02)`` minus its mean over the pixel's part (0 outside the parts), clipped to ±2.

    How much darker or lighter a pixel is than the rest of its part: the cue the classic tone fit thresholds, given
    to the network per part over the whole frame (a 3x3-conv U-Net cannot average over a whole part by itself).
    Computed on whole parts: training computes it on the full frame before cropping.

    Args:
        rgb: ``(H, W, 3)`` display-sRGB, float 0..1 or uint8.
        parts: ``(H, W)`` integer part index (0 outside every part).

    Returns:
        ``(H, W)`` float32.
    """
    x = rgb.astype(np.float32) * (1.0 / 255.0) if rgb.dtype == np.uint8 else rgb.astype(np.float32)
    y = np.log(np.clip(x[..., 0] * 0.2126 + x[..., 1] * 0.7152 + x[..., 2] * 0.0722, 0.0, 1.0) + 0.02)
    idx = parts.astype(np.int64).ravel()
    n = np.bincount(idx)
    mean = np.bincount(idx, weights=y.ravel().astype(np.float64), minlength=len(n)) / np.maximum(n, 1)
    rel = np.clip(y - mean[parts.astype(np.int64)].astype(np.float32), -2.0, 2.0)
    rel[parts == 0] = 0.0
    return rel.astype(np.float32)


def tonal_features(rgb: np.ndarray, parts: np.ndarray, *, boundaries: bool = True, channels: int = IN_CHANNELS, rel: np.ndarray | None = None) -> np.ndarray:
    """The network input for one frame.

    Args:
        rgb: ``(H, W, 3)`` display-sRGB plate, float in 0..1 or uint8.
        parts: ``(H, W)`` integer part index (0 outside every part).
        boundaries: give the part-boundary plane (False: zeros, as when the mattes are one object).
        channels: 5 (plate, matte, boundaries) or 6 (+ :func:`relative_lightness`), as the network was trained.
        rel: the relative-lightness plane when precomputed (training computes it on the whole frame).

    Returns:
        ``(channels, H, W)`` float32.
    """
    if rgb.dtype == np.uint8:
        x = rgb.astype(np.float32) * (2.0 / 255.0) - 1.0
    else:
        x = np.clip(rgb.astype(np.float32), 0.0, 1.0) * 2.0 - 1.0
    out = np.empty((channels,) + parts.shape, np.float32)
    out[0:3] = np.moveaxis(x, -1, 0)
    out[3] = parts > 0
    out[4] = part_boundaries(parts) if boundaries else 0.0
    if channels == 6:
        out[5] = relative_lightness(rgb, parts) if rel is None else rel
    elif channels != 5:
        raise ValueError(f"tonal features have 5 or 6 planes, not {channels}")
    return out


def build_tonal_unet(config: TonalNetConfig | None = None) -> Any:
    """A fresh (random) tonal U-Net, a ``torch.nn.Module``.

    Seed 003's U-Net (4 levels of double 3x3 conv + ReLU, skip connections) made small for the cel pass: the first
    conv has stride 2 (the U-Net runs at half the working resolution), widths 16/32/64/64 instead of 64..1024,
    one conv per decoder level, dilated convs at 1/16 for a wide view (cast shadows are decided by what is far
    away), and a 3x3 refinement at full resolution that sees the upsampled logits next to the input planes so
    class edges follow the plate.
    """
    import torch
    from torch import nn
    from torch.nn import functional as F

    cfg = config or TonalNetConfig()
    c = cfg.width

    def cbr(i: int, o: int, stride: int = 1, dil: int = 1) -> nn.Sequential:
        return nn.Sequential(nn.Conv2d(i, o, 3, stride, padding=dil, dilation=dil, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True))

    class TonalUNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = cbr(cfg.in_channels, c, 2)
            self.e1 = cbr(c, c)
            self.e2 = nn.Sequential(cbr(c, 2 * c, 2), cbr(2 * c, 2 * c))
            self.e3 = nn.Sequential(cbr(2 * c, 4 * c, 2), cbr(4 * c, 4 * c))
            self.e4 = nn.Sequential(cbr(4 * c, 4 * c, 2), cbr(4 * c, 4 * c, dil=2), cbr(4 * c, 4 * c, dil=4))
            self.d3 = cbr(8 * c, 2 * c)
            self.d2 = cbr(4 * c, c)
            self.d1 = cbr(2 * c, c)
            self.head = nn.Conv2d(c, cfg.n_classes, 1)
            self.refine = nn.Conv2d(cfg.n_classes + cfg.in_channels, cfg.n_classes, 3, padding=1)

        @staticmethod
        def _up(a: "torch.Tensor", like: "torch.Tensor") -> "torch.Tensor":
            return F.interpolate(a, size=like.shape[-2:], mode="bilinear", align_corners=False)

        def forward(self, x: "torch.Tensor") -> "torch.Tensor":
            """``(N, 5, H, W)`` features -> ``(N, 4, H, W)`` logits."""
            x1 = self.e1(self.stem(x))
            x2 = self.e2(x1)
            x3 = self.e3(x2)
            x4 = self.e4(x3)
            y = self.d3(torch.cat([self._up(x4, x3), x3], 1))
            y = self.d2(torch.cat([self._up(y, x2), x2], 1))
            y = self.d1(torch.cat([self._up(y, x1), x1], 1))
            logits = self._up(self.head(y), x)
            return logits + self.refine(torch.cat([logits, x], 1))

    return TonalUNet()
