"""Quality control a person can look at: contact sheets and per-frame overlays."""

from .contact_sheet import ContactSheet, SheetRow, label_image, part_tint, pick_frames, tint_parts

__all__ = ["ContactSheet", "SheetRow", "label_image", "part_tint", "pick_frames", "tint_parts"]
