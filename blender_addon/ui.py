"""The Clip Editor sidebar tab "Inkpaint": objects, prompts, tracking, preview, Shade and Paint sections."""

from __future__ import annotations

import bpy

from . import runner


class INKPAINT_UL_objects(bpy.types.UIList):
    """Objects / parts of the clip, with their colour, point count and whether they are tracked."""

    bl_idname = "INKPAINT_UL_objects"

    def draw_item(self, context, layout, data, item, icon, active_data, active_propname, index):  # type: ignore[no-untyped-def]
        row = layout.row(align=True)
        row.prop(item, "color", text="")
        row.prop(item, "name", text="", emboss=False)
        n_add = sum(1 for p in item.points if p.label == "ADD")
        n_sub = len(item.points) - n_add
        row.label(text=f"+{n_add} -{n_sub}" + (" M" if item.use_mask and item.mask else ""))
        row.prop(item, "enabled", text="", icon="CHECKBOX_HLT" if item.enabled else "CHECKBOX_DEHLT", emboss=False)


class _ClipPanel:
    bl_space_type = "CLIP_EDITOR"
    bl_region_type = "UI"
    bl_category = "Inkpaint"

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        space = context.space_data
        return space is not None and getattr(space, "clip", None) is not None


class INKPAINT_PT_main(_ClipPanel, bpy.types.Panel):
    bl_label = "Inkpaint"
    bl_idname = "INKPAINT_PT_main"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        clip = context.space_data.clip
        s = clip.inkpaint
        row = layout.row()
        row.template_list("INKPAINT_UL_objects", "", s, "objects", s, "active_object_index", rows=3)
        col = row.column(align=True)
        col.operator("inkpaint.object_add", icon="ADD", text="")
        col.operator("inkpaint.object_remove", icon="REMOVE", text="")
        if s.objects:
            obj = s.objects[min(s.active_object_index, len(s.objects) - 1)]
            box = layout.box()
            row = box.row(align=True)
            row.operator("inkpaint.add_points", icon="RESTRICT_SELECT_OFF")
            op = row.operator("inkpaint.points_clear", icon="X", text="Frame")
            op.frame = context.scene.frame_current
            row.operator("inkpaint.points_clear", icon="TRASH", text="All")
            box.prop(obj, "use_mask")
            if obj.use_mask:
                box.prop(obj, "mask")
                if obj.mask is not None:
                    box.prop_search(obj, "mask_layer", obj.mask, "layers", text="Layer")
                box.prop(obj, "mask_frame")
        layout.prop(s, "show_overlay")
        if s.status:
            layout.label(text=s.status, icon="INFO")


class INKPAINT_PT_track(_ClipPanel, bpy.types.Panel):
    bl_label = "Track"
    bl_idname = "INKPAINT_PT_track"
    bl_parent_id = "INKPAINT_PT_main"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        s = context.space_data.clip.inkpaint
        layout.prop(s, "backend")
        if s.backend == "sam2":
            row = layout.row(align=True)
            row.prop(s, "model")
            row.prop(s, "device", text="")
        layout.prop(s, "direction", expand=True)
        layout.prop(s, "use_clip_range")
        if not s.use_clip_range:
            row = layout.row(align=True)
            row.prop(s, "frame_start")
            row.prop(s, "frame_end")
        layout.prop(s, "output_dir")
        col = layout.column(heading="Output")
        col.prop(s, "pixels")
        col.prop(s, "cryptomatte")
        col.prop(s, "overwrite")
        col.prop(s, "contour_tolerance")
        col.prop(s, "spline_points")
        row = layout.row(align=True)
        row.operator("inkpaint.preview_frame", icon="HIDE_OFF")
        row.operator("inkpaint.roto", icon="TRACKING", text="Track")
        layout.operator("inkpaint.save_farm_bundle", icon="EXPORT", text="Save Farm Bundle")
        if runner.busy():
            layout.operator("inkpaint.cancel", icon="CANCEL")
        if s.result_mask is not None:
            layout.label(text=f"Mask: {s.result_mask.name}", icon="MOD_MASK")


class INKPAINT_PT_shade(_ClipPanel, bpy.types.Panel):
    bl_label = "Shade"
    bl_idname = "INKPAINT_PT_shade"
    bl_parent_id = "INKPAINT_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        s = context.space_data.clip.inkpaint
        layout.prop(s, "palette")
        layout.prop(s, "tones")
        layout.prop(s, "shade_method")
        layout.prop(s, "ink_width")
        layout.prop(s, "finish_over_clip")
        col = layout.column()
        col.enabled = bool(s.mattes_pattern)
        col.operator("inkpaint.shade", icon="SHADING_RENDERED")
        if not s.mattes_pattern:
            layout.label(text="Track objects first", icon="INFO")


class INKPAINT_PT_paint(_ClipPanel, bpy.types.Panel):
    bl_label = "Paint"
    bl_idname = "INKPAINT_PT_paint"
    bl_parent_id = "INKPAINT_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        s = context.space_data.clip.inkpaint
        layout.prop(s, "paint_lines")
        layout.prop(s, "paint_keys")
        layout.prop(s, "paint_refs")
        layout.prop(s, "paint_palette")
        layout.prop(s, "paint_direction")
        layout.prop(s, "paint_method")
        col = layout.column(align=True)
        col.prop(s, "paint_max_gap")
        col.prop(s, "paint_speck_size")
        col.prop(s, "paint_line_threshold")
        col.prop(s, "paint_confidence")
        layout.prop(s, "paint_composite_lines")
        layout.operator("inkpaint.paint", icon="BRUSH_DATA")


CLASSES = [INKPAINT_UL_objects, INKPAINT_PT_main, INKPAINT_PT_track, INKPAINT_PT_shade, INKPAINT_PT_paint]
