"""Frame I/O on OpenImageIO: sequence patterns, colour-managed reads, atomic half-float EXR writes."""

from .sequence import FrameSequence, parse_frame_range
from .frames import ImageData, Window, paste, read_image, read_rgb, read_channels, write_exr, write_png, image_size

__all__ = [
    "FrameSequence",
    "parse_frame_range",
    "ImageData",
    "Window",
    "paste",
    "read_image",
    "read_rgb",
    "read_channels",
    "write_exr",
    "write_png",
    "image_size",
]
