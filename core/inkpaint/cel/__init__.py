"""Cel production on arrays: part mattes -> labels, ink lines, tone regions, flat painted cels.

Plain functions on numpy arrays (shapes checked at the boundary); the operations in :mod:`inkpaint.ops` read and
write the frames.
"""

from .ink import InkLines, draw_ink, line_coverage
from .labels import bounding_box, mattes_to_labels, region_edges
from .paint import ink_over, over, paint_cel, unpremultiply
from .tones import (
    PartTones,
    PartToneModel,
    ToneHistograms,
    ToneModel,
    assign_tones,
    fit_tone_model,
    lightness,
    sample_frames,
)

__all__ = [
    "InkLines",
    "draw_ink",
    "line_coverage",
    "bounding_box",
    "mattes_to_labels",
    "region_edges",
    "ink_over",
    "over",
    "paint_cel",
    "unpremultiply",
    "PartTones",
    "PartToneModel",
    "ToneHistograms",
    "ToneModel",
    "assign_tones",
    "fit_tone_model",
    "lightness",
    "sample_frames",
]
