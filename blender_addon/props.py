"""Add-on preferences and the per-clip settings (objects, prompts, run options) stored on each MovieClip."""

from __future__ import annotations

import re

import bpy
from bpy.props import (
    BoolProperty,
    CollectionProperty,
    EnumProperty,
    FloatProperty,
    FloatVectorProperty,
    IntProperty,
    PointerProperty,
    StringProperty,
)

from ._contract import jobs as J

ADDON_ID = __package__ or "inkpaint"

RESERVED_NAMES = J.RESERVED_NAMES
"""Layer names the engine refuses (they clash with built-in channels, Nuke's ``all``/``none`` included)."""

PALETTE = [
    (0.95, 0.35, 0.25), (0.25, 0.65, 0.95), (0.35, 0.85, 0.35), (0.95, 0.8, 0.2),
    (0.8, 0.4, 0.9), (0.2, 0.85, 0.8), (0.95, 0.55, 0.75), (0.6, 0.6, 0.6),
]


def channel_name(text: str) -> str:
    """Make ``text`` a valid, non-reserved engine layer name (letters, digits, underscore; no leading digit)."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", text.strip()) or "object"
    if name[0].isdigit():
        name = "_" + name
    if name.lower() in RESERVED_NAMES:
        name += "_1"
    return name


name_problem = J.name_problem
"""Why a name cannot be an engine layer name, or ``None`` when it can (the engine's one rule)."""


def addon_prefs(context: bpy.types.Context | None = None) -> "InkpaintPreferences | None":
    ctx = context or bpy.context
    addon = ctx.preferences.addons.get(ADDON_ID)
    return addon.preferences if addon is not None else None  # type: ignore[return-value]


class InkpaintPreferences(bpy.types.AddonPreferences):
    """Which engine runs the jobs."""

    bl_idname = ADDON_ID

    worker_executable: StringProperty(  # type: ignore[valid-type]
        name="Worker executable",
        description=(
            "Python interpreter with the inkpaint package (e.g. .../inkpaint/.venv/bin/python), or the 'inkpaint' "
            "command. Empty: $INKPAINT_WORKER, then 'inkpaint' on PATH"
        ),
        subtype="FILE_PATH",
        default="",
    )
    worker_args: StringProperty(  # type: ignore[valid-type]
        name="Extra arguments", description="Extra arguments before 'worker' (e.g. -v for debug logging)", default=""
    )
    default_backend: EnumProperty(  # type: ignore[valid-type]
        name="Default backend",
        items=[("classic", "Classic", "Optical-flow tracker, no model weights"), ("sam2", "SAM2", "SAM 2 video model (needs torch + a checkpoint)")],
        default="classic",
    )

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        layout.prop(self, "worker_executable")
        layout.prop(self, "worker_args")
        layout.prop(self, "default_backend")
        layout.operator("inkpaint.worker_check", icon="CHECKMARK")


class INKPAINT_PG_point(bpy.types.PropertyGroup):
    """A point prompt: where (frame coordinates, 0..1, bottom-left origin), on which scene frame, include or exclude."""

    frame: IntProperty(name="Frame", description="Scene frame the point is set on")  # type: ignore[valid-type]
    co: FloatVectorProperty(name="Position", size=2, description="Frame coordinates, 0..1 from the bottom-left corner")  # type: ignore[valid-type]
    label: EnumProperty(  # type: ignore[valid-type]
        name="Label",
        items=[("ADD", "Add", "Part of the object (+)"), ("SUBTRACT", "Subtract", "Not part of the object (-)")],
        default="ADD",
    )


def _object_name_update(self: "INKPAINT_PG_object", context: bpy.types.Context) -> None:
    fixed = channel_name(self.name)
    if fixed != self.name:
        self.name = fixed


class INKPAINT_PG_object(bpy.types.PropertyGroup):
    """An object or part to track: its name (becomes the EXR layer and the Mask layer), prompts and colour."""

    name: StringProperty(name="Name", default="object", update=_object_name_update)  # type: ignore[valid-type]
    enabled: BoolProperty(name="Track", default=True, description="Include this object in the next run")  # type: ignore[valid-type]
    color: FloatVectorProperty(name="Colour", subtype="COLOR", size=3, min=0.0, max=1.0, default=(0.95, 0.35, 0.25))  # type: ignore[valid-type]
    points: CollectionProperty(type=INKPAINT_PG_point)  # type: ignore[valid-type]
    use_mask: BoolProperty(name="Mask prompt", default=False, description="Use a layer of an existing Mask as a prompt")  # type: ignore[valid-type]
    mask: PointerProperty(name="Mask", type=bpy.types.Mask, description="Mask whose layer is the prompt")  # type: ignore[valid-type]
    mask_layer: StringProperty(name="Layer", description="Mask layer used as the prompt (empty: every layer)")  # type: ignore[valid-type]
    mask_frame: IntProperty(name="On frame", description="Scene frame on which the mask prompt holds")  # type: ignore[valid-type]


_DIRECTIONS = [
    ("both", "Both", "Track forward and backward from every prompted frame"),
    ("forward", "Forward", "Track forward from prompted frames"),
    ("backward", "Backward", "Track backward from prompted frames"),
]


class INKPAINT_PG_settings(bpy.types.PropertyGroup):
    """Everything the Inkpaint panel edits for one clip."""

    objects: CollectionProperty(type=INKPAINT_PG_object)  # type: ignore[valid-type]
    active_object_index: IntProperty(name="Active object", default=0)  # type: ignore[valid-type]

    # -- roto --
    use_clip_range: BoolProperty(name="Whole clip", default=True, description="Track every frame of the clip")  # type: ignore[valid-type]
    frame_start: IntProperty(name="Start", default=1, description="First scene frame to track")  # type: ignore[valid-type]
    frame_end: IntProperty(name="End", default=250, description="Last scene frame to track")  # type: ignore[valid-type]
    direction: EnumProperty(name="Direction", items=_DIRECTIONS, default="both")  # type: ignore[valid-type]
    backend: EnumProperty(  # type: ignore[valid-type]
        name="Backend",
        items=[("classic", "Classic", "Optical-flow tracker, no model weights"), ("sam2", "SAM2", "SAM 2 video model (torch + checkpoint)")],
        default="classic",
    )
    model: EnumProperty(  # type: ignore[valid-type]
        name="Model",
        items=[("tiny", "Tiny", ""), ("small", "Small", ""), ("base_plus", "Base+", ""), ("large", "Large", "")],
        default="tiny",
    )
    device: EnumProperty(  # type: ignore[valid-type]
        name="Device",
        items=[("auto", "Auto", "Best available"), ("cpu", "CPU", ""), ("cuda", "CUDA", ""), ("mps", "Metal (MPS)", "")],
        default="auto",
    )
    output_dir: StringProperty(  # type: ignore[valid-type]
        name="Output folder", subtype="DIR_PATH", default="//inkpaint/",
        description="Where mattes, outlines and cels are written (// = beside the .blend)",
    )
    pixels: EnumProperty(  # type: ignore[valid-type]
        name="Pixels",
        items=[
            ("AUTO", "Auto", "The clip's own files when the engine can read them, else a converted EXR sequence"),
            ("CLIP_FILES", "Clip files", "Always the clip's own image files"),
            ("CONVERT", "Convert", "Render the clip (with its colour space) to an EXR sequence first"),
        ],
        default="AUTO",
    )
    contour_tolerance: FloatProperty(name="Outline tolerance", default=1.0, min=0.0, soft_max=5.0, description="Outline simplification, pixels")  # type: ignore[valid-type]
    spline_points: IntProperty(name="Spline points", default=0, min=0, max=512, description="Points per Mask spline (0 = from the outline)")  # type: ignore[valid-type]
    cryptomatte: BoolProperty(name="Cryptomatte", default=False, description="Also write a CryptoObject layer and wire a Cryptomatte node")  # type: ignore[valid-type]
    overwrite: BoolProperty(name="Overwrite", default=False, description="Replace outputs written by a different run")  # type: ignore[valid-type]

    # -- results --
    result_mask: PointerProperty(name="Result mask", type=bpy.types.Mask)  # type: ignore[valid-type]
    roto_manifest: StringProperty(name="Roto manifest", subtype="FILE_PATH")  # type: ignore[valid-type]
    mattes_pattern: StringProperty(name="Mattes", subtype="FILE_PATH", description="The last roto run's matte EXR pattern")  # type: ignore[valid-type]
    plate_pattern: StringProperty(name="Plate", subtype="FILE_PATH", description="The frames the engine read")  # type: ignore[valid-type]
    plate_first_file: IntProperty(name="Plate first file frame")  # type: ignore[valid-type]
    plate_first_scene: IntProperty(name="Plate first scene frame")  # type: ignore[valid-type]
    preview_image: PointerProperty(name="Preview", type=bpy.types.Image)  # type: ignore[valid-type]
    preview_frame: IntProperty(name="Preview frame", default=-(2**30))  # type: ignore[valid-type]
    show_overlay: BoolProperty(name="Show prompts", default=True)  # type: ignore[valid-type]

    # -- shade (ink / shade / finish) --
    palette: StringProperty(name="Palette", subtype="FILE_PATH", description="Colour design sheet (YAML) or BasicPBC colorbook.yml")  # type: ignore[valid-type]
    tones: IntProperty(name="Tones", default=2, min=2, max=4, description="2 base/shadow, 3 adds highlight, 4 two shadows + highlight")  # type: ignore[valid-type]
    shade_method: EnumProperty(  # type: ignore[valid-type]
        name="Method",
        items=[("classic", "Classic", "Per-part thresholds fitted once per shot"),
               ("learned", "Learned", "The shipped tonal U-Net (needs torch in the worker); also writes the 'tonal' "
                "channel: 0 background, 1 material, 2 attached shadow, 3 cast shadow, 4 highlight")],
        default="classic",
    )
    tonal_pattern: StringProperty(name="Tonal classes", default="", description="The last learned shade run's tonal class frames (set by Shade)")  # type: ignore[valid-type]
    ink_width: FloatProperty(name="Line width", default=2.0, min=0.0, soft_max=10.0, description="Ink line width in pixels")  # type: ignore[valid-type]
    finish_over_clip: BoolProperty(name="Over the clip", default=False, description="Composite the cels over the clip's frames")  # type: ignore[valid-type]

    # -- paint bucket --
    paint_lines: StringProperty(name="Line art", subtype="FILE_PATH", description="Line-art frame pattern (e.g. //line/####.png) or one of its files")  # type: ignore[valid-type]
    paint_keys: StringProperty(name="Keyframes", description="Coloured keyframes: FRAME=PATH, comma-separated (file frame numbers)")  # type: ignore[valid-type]
    paint_palette: StringProperty(name="Palette", subtype="FILE_PATH", description="Optional colour design sheet to snap keyframe colours to")  # type: ignore[valid-type]
    paint_refs: StringProperty(name="References", description="Reference mode: coloured images of the character in any pose (design-sheet views), IMAGE[=LINE_ART] separated by ';'; keyframes become optional")  # type: ignore[valid-type]
    paint_direction: EnumProperty(  # type: ignore[valid-type]
        name="Direction",
        items=[("nearest", "Nearest key", "From the nearest keyframe"), ("forward", "Forward", ""), ("backward", "Backward", "")],
        default="nearest",
    )
    paint_method: EnumProperty(  # type: ignore[valid-type]
        name="Method",
        items=[("auto", "Auto", "The learned matcher where it is the better one, else classic"),
               ("learned", "Learned", "The inclusion matcher (needs torch in the worker)"),
               ("classic", "Classic", "Flow-carried colour vote")],
        default="auto",
    )
    paint_max_gap: IntProperty(name="Close gaps", default=0, min=0, soft_max=16, subtype="PIXEL", description="Close line breaks up to this many pixels (0 = off)")  # type: ignore[valid-type]
    paint_speck_size: IntProperty(name="Merge specks", default=0, min=0, soft_max=64, description="Segments of at most this many pixels merge into a neighbour (0 = off)")  # type: ignore[valid-type]
    paint_line_threshold: FloatProperty(name="Line threshold", default=0.5, min=0.01, max=1.0, description="Ink where alpha / distance from white is at least this")  # type: ignore[valid-type]
    paint_confidence: FloatProperty(name="Confidence", default=0.5, min=0.0, max=1.0, description="A carried segment needs this share of the vote, else it is left unpainted and flagged in the QC overlay")  # type: ignore[valid-type]
    paint_composite_lines: BoolProperty(name="Lines over fill", default=False, description="Draw the line layer over the fill in the painted frames")  # type: ignore[valid-type]
    paint_pattern: StringProperty(name="Painted frames", default="", description="The last paint job's fill pattern (set by Paint)")  # type: ignore[valid-type]
    paint_qc_pattern: StringProperty(name="QC overlays", default="", description="The last paint job's QC overlay pattern (set by Paint)")  # type: ignore[valid-type]

    # -- status --
    status: StringProperty(name="Status", default="")  # type: ignore[valid-type]


CLASSES = (InkpaintPreferences, INKPAINT_PG_point, INKPAINT_PG_object, INKPAINT_PG_settings)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.MovieClip.inkpaint = PointerProperty(type=INKPAINT_PG_settings)  # type: ignore[attr-defined]


def unregister() -> None:
    if hasattr(bpy.types.MovieClip, "inkpaint"):
        del bpy.types.MovieClip.inkpaint  # type: ignore[attr-defined]
    for cls in reversed(CLASSES):
        if getattr(cls, "is_registered", False):
            bpy.utils.unregister_class(cls)
