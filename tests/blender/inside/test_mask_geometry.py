"""Engine outlines -> Mask splines -> Blender's own rasteriser lands on the same pixels, for any frame shape."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import bpy
from blender_helpers import polygon_raster, render_mask
from conftest import ADDON


@pytest.mark.parametrize("size", [(854, 480), (300, 520), (256, 256)])
def test_keyed_splines_rasterise_onto_the_outline(addon, size) -> None:  # type: ignore[no-untyped-def]
    results = sys.modules[f"{ADDON}.results"]
    w, h = size
    t = np.linspace(0, 2 * np.pi, 200, endpoint=False)
    # an off-centre blob with a dent, different on each frame; pixels, top-left origin
    outlines = {
        f: [{"points": np.stack([w * (0.35 + 0.02 * f) + w * 0.2 * np.cos(t) * (1 + 0.15 * np.sin(3 * t)),
                                 h * 0.3 + h * 0.18 * np.sin(t)], 1).tolist(), "hole": False, "area": 1000.0}]
        for f in range(3)
    }
    contours = {f: {"objects": {"blob": o}} for f, o in outlines.items()}
    mask = bpy.data.masks.new(f"geom-{w}x{h}")
    layer = results.key_object_layer(mask, "blob", contours, {0: 11, 1: 12, 2: 13}, (w, h), (1.0, 1.0), 64)
    assert len(layer.splines) == 1 and len(layer.splines[0].points) == 64
    for f in range(3):
        ref = polygon_raster(np.asarray(outlines[f][0]["points"]), (w, h))
        got = render_mask(mask, (w, h), 11 + f) > 0.5
        score = float((ref & got).sum() / (ref | got).sum())
        assert score > 0.97, f"{w}x{h} frame {f}: IoU {score:.3f}"
