"""Validate a paint-bucket run: unpainted and low-confidence segments under the studio's thresholds."""

from __future__ import annotations

import os
import sys

try:
    import inkpaint_pyblish  # noqa: F401
except ImportError:  # loaded from PYBLISHPLUGINPATH without pyblish_plugins/ on sys.path
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import pyblish.api

from inkpaint_pyblish import lib


class ValidateInkpaintPaintQC(pyblish.api.InstancePlugin):
    """Paint jobs: what the QC overlay would show, counted and held under thresholds.

    - **unpainted** segments (no confident match; transparent holes in the fill): from the run summary
      (``result.summary.per_frame[f].unpainted``), cross-checked against each frame's ``.segments.json``;
    - **low-confidence** segments (painted by propagation under ``inkpaint.ops.paint.LOW_CONFIDENCE``, tinted yellow
      in the QC overlay): counted from each frame's ``.segments.json``; without segment JSON (``segments_output: ""``)
      from the run summary (``per_frame[f].low_confidence``), else skipped with a warning (older runs).

    Totals over the shot must not exceed ``max_unpainted`` (default 0) and ``max_low_confidence`` (default 0).
    Settings: ``context.data["inkpaintSettings"]["paint_max_unpainted"]`` / ``["paint_max_low_confidence"]``, else
    ``$INKPAINT_PUBLISH_PAINT_MAX_UNPAINTED`` / ``$INKPAINT_PUBLISH_PAINT_MAX_LOW_CONFIDENCE``. The error lists the
    worst frames with their QC overlay files.
    """

    order = pyblish.api.ValidatorOrder
    families = ["paint"]
    label = "inkpaint: paint unpainted / low-confidence segments"

    max_unpainted = 0
    max_low_confidence = 0

    def process(self, instance: pyblish.api.Instance) -> None:
        from inkpaint.errors import FrameError

        data = instance.data
        if not lib.usable(data):
            return
        ctx, env = instance.context.data, os.environ
        max_unpainted = lib.setting(ctx, "paint_max_unpainted", env, "INKPAINT_PUBLISH_PAINT_MAX_UNPAINTED", self.max_unpainted, int)
        max_low = lib.setting(ctx, "paint_max_low_confidence", env, "INKPAINT_PUBLISH_PAINT_MAX_LOW_CONFIDENCE", self.max_low_confidence, int)
        path = data["manifestPath"]
        per_frame = data["summary"].get("per_frame")
        if not isinstance(per_frame, dict):
            raise pyblish.api.ValidationError(f"'{path}': result.summary.per_frame: missing; a paint run records its per-frame counts there")
        outputs = {o.name: o for o in lib.outputs_of(data)}
        segments = outputs.get("segments")
        qc = outputs.get("qc")
        problems: list[str] = []
        unpainted: dict[int, int] = {}
        low: dict[int, int] = {}
        for frame in data["frames"]:
            counts = per_frame.get(str(frame))
            if not isinstance(counts, dict) or not isinstance(counts.get("unpainted"), int):
                problems.append(f"'{path}': result.summary.per_frame.{frame}.unpainted: missing")
                continue
            unpainted[frame] = counts["unpainted"]
            if segments is None or segments.seq is None:
                if isinstance(counts.get("low_confidence"), int):  # recorded by the run itself (inkpaint >= this one)
                    low[frame] = counts["low_confidence"]
                continue
            seg_path = segments.path(frame)
            try:
                frame_qc = lib.paint_frame_qc(lib.header(data, seg_path, frame), seg_path, frame)
            except FrameError as exc:
                if os.path.exists(seg_path):  # a missing file is reported by the output-frames check
                    problems.append(f"segments: {exc}")
                continue
            low[frame] = len(frame_qc.low_confidence)
            if len(frame_qc.unpainted) != counts["unpainted"]:
                problems.append(
                    f"segments: {lib.where(seg_path, frame)}: {len(frame_qc.unpainted)} unpainted segment(s), but the run "
                    f"summary says {counts['unpainted']} (result.summary.per_frame.{frame}.unpainted)"
                )
        if segments is None and not low:
            self.log.warning("%s: the paint job wrote no segments JSON: low-confidence segments not counted", path)

        def worst(counts: dict[int, int]) -> str:
            top = sorted((f for f in counts if counts[f]), key=lambda f: (-counts[f], f))[:5]
            return "; ".join(f"frame {f}: {counts[f]}" + (f" (QC '{qc.path(f)}')" if qc is not None and qc.seq is not None else "") for f in top)

        total_unpainted, total_low = sum(unpainted.values()), sum(low.values())
        if total_unpainted > max_unpainted:
            problems.append(f"result.summary: {total_unpainted} unpainted segment(s) over {len(unpainted)} frame(s), more than the {max_unpainted} allowed (paint_max_unpainted); worst: {worst(unpainted)}")
        if total_low > max_low:
            problems.append(f"segments: {total_low} low-confidence segment(s) over {len(low)} frame(s), more than the {max_low} allowed (paint_max_low_confidence); worst: {worst(low)}")
        if problems:
            raise pyblish.api.ValidationError(lib.problem_text(lib.subject(data), problems))
        self.log.info("%d unpainted, %d low-confidence segment(s) (allowed %d / %d)", total_unpainted, total_low, max_unpainted, max_low)
