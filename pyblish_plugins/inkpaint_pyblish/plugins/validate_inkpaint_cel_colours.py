"""Validate finished cels: alpha in every frame, and flat fills painted with the recorded palette's colours."""

from __future__ import annotations

import os
import sys

try:
    import inkpaint_pyblish  # noqa: F401
except ImportError:  # loaded from PYBLISHPLUGINPATH without pyblish_plugins/ on sys.path
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import pyblish.api

from inkpaint_pyblish import lib


class ValidateInkpaintCelColours(pyblish.api.InstancePlugin):
    """Finish and cel jobs: the cel frames have alpha, and their flat fills use palette colours.

    - **alpha**: every frame of ``result.outputs.cel`` has an ``A`` channel (header only);
    - **palette** (when the job records one: ``job.palette``): on ``sample_frames`` frames spread over the range,
      ``sample_pixels`` filled pixels of the flat colour layer (EXR ``colour.R/G/B/A``, converted back to 8-bit
      sRGB; PNG: the ``<name>.colour.####.png`` sibling) are each within ``tolerance`` (8-bit RGB distance) of a
      palette colour; a flat fill is opaque, so partial alpha inside it is an error too. Only the layer's data
      window is decoded. Without a colour layer (``layers: false``) the composite is used when it holds no ink and
      no background; otherwise the colour check is skipped with a warning.

    Settings (``context.data["inkpaintSettings"]`` keys, else environment variables): ``cel_sample_frames``
    (``$INKPAINT_PUBLISH_CEL_SAMPLE_FRAMES``, default 3), ``cel_sample_pixels`` (``..._CEL_SAMPLE_PIXELS``, 2048),
    ``cel_colour_tolerance`` (``..._CEL_COLOUR_TOLERANCE``, 1.0).
    """

    order = pyblish.api.ValidatorOrder
    families = ["finish", "cel"]
    label = "inkpaint: cel alpha and palette colours"

    sample_frames = 3
    sample_pixels = 2048
    tolerance = 1.0

    def process(self, instance: pyblish.api.Instance) -> None:
        data = instance.data
        if not lib.usable(data):
            return
        outputs = {o.name: o for o in lib.outputs_of(data)}
        if "cel" not in outputs or outputs["cel"].seq is None:
            raise pyblish.api.ValidationError(f"'{data['manifestPath']}': result.outputs.cel: missing; a {data['jobType']} job records its cel frames there")
        cel = outputs["cel"]
        problems = []
        for frame in data["frames"]:
            path = cel.path(frame)
            present = lib.channel_names(data, path, frame)
            if present is None:
                continue  # reported by the output-frames check
            if "A" not in present:
                problems.append(f"cel: {lib.where(path, frame)}: no alpha channel 'A'; channels present: {', '.join(present)}")
        problems += self.palette_problems(instance, cel, outputs)
        if problems:
            raise pyblish.api.ValidationError(lib.problem_text(lib.subject(data), problems))

    def palette_problems(self, instance: pyblish.api.Instance, cel: "lib.Output", outputs: dict) -> list[str]:
        from inkpaint.errors import FrameError, InkpaintError
        from inkpaint.palette import load_palette
        from inkpaint.spec import resolve_path

        data = instance.data
        job = data["jobSpec"]
        if job is None:
            self.log.warning("palette check skipped: the job spec does not load (reported by the manifest check)")
            return []
        if not getattr(job, "palette", None):
            self.log.info("no palette recorded: colour check skipped")
            return []
        ctx, env = instance.context.data, os.environ
        n_frames = lib.setting(ctx, "cel_sample_frames", env, "INKPAINT_PUBLISH_CEL_SAMPLE_FRAMES", self.sample_frames, int)
        n_pixels = lib.setting(ctx, "cel_sample_pixels", env, "INKPAINT_PUBLISH_CEL_SAMPLE_PIXELS", self.sample_pixels, int)
        tolerance = lib.setting(ctx, "cel_colour_tolerance", env, "INKPAINT_PUBLISH_CEL_COLOUR_TOLERANCE", self.tolerance, float)
        palette_path = resolve_path(job, job.palette)
        try:
            palette = load_palette(palette_path)
        except InkpaintError as exc:
            return [f"job.palette: cannot check colours against the recorded palette: {exc}"]
        colours, labels = palette.colors()
        png = cel.pattern.lower().endswith(".png")
        if png:
            layer = outputs.get("colour")
            channels = None
        else:
            layer, channels = cel, ["colour.R", "colour.G", "colour.B", "colour.A"]
        if layer is None or layer.seq is None or (not png and not getattr(job, "layers", True)):
            if getattr(job, "ink", None) or getattr(job, "over", None):
                self.log.warning("%s: no flat colour layer and the composite holds ink or a background: colour check skipped", data["manifestPath"])
                return []
            layer, channels = cel, (None if png else ["R", "G", "B", "A"])
        problems = []
        for frame in lib.sample_frames(data["frames"], n_frames):
            path = layer.path(frame)
            try:
                sample = lib.sample_fill(path, frame, channels, linear=not png, count=n_pixels)
            except FrameError as exc:
                if os.path.exists(path):  # a missing file is reported by the output-frames check
                    problems.append(f"{layer.name}: {exc}")
                continue
            if sample.partial_alpha:
                problems.append(f"{layer.name}: {lib.where(path, frame)}: {sample.partial_alpha} of {sample.filled} filled pixel(s) have partial alpha; a flat fill is opaque")
            if not len(sample.rgb):
                continue
            idx, dist = palette.nearest(sample.rgb)
            bad = dist > tolerance
            if bad.any():
                i = int(bad.argmax())
                part, tone = labels[int(idx[i])]
                x, y = (int(v) for v in sample.xy[i])
                problems.append(
                    f"{layer.name}: {lib.where(path, frame)}: {int(bad.sum())} of {len(sample.rgb)} sampled flat-fill pixel(s) are "
                    f"not colours of the palette '{palette_path}' (first at x={x}, y={y}: RGB {tuple(int(c) for c in sample.rgb[i])}, "
                    f"nearest {part}/{tone} {tuple(int(c) for c in colours[int(idx[i])])} at distance {float(dist[i]):.1f}; tolerance {tolerance})"
                )
        return problems
