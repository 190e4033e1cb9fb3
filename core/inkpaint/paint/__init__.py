"""Paint bucket: segments from line art, keyframe colours, propagation through a shot (seed 002).

Plain array functions; the job, CLI and file layout live in :mod:`inkpaint.ops.paint`.
"""

from .segments import LINE_BLACK, LINE_BLUE, LINE_GREEN, LINE_NONE, LINE_RED, LineArt, Segmentation, binarize_lines, segment_lines

__all__ = ["LINE_NONE", "LINE_BLACK", "LINE_RED", "LINE_BLUE", "LINE_GREEN", "LineArt", "Segmentation", "binarize_lines", "segment_lines"]
