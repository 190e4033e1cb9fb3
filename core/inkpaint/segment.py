"""Interactive single-frame segmentation ("segment this frame with these clicks"), used by the worker and hosts."""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Any

import numpy as np

from .backends.base import Keyframe
from .errors import SpecError
from .io.frames import read_rgb, write_exr
from .io.sequence import FrameSequence
from .jobs.names import check_unique_names
from .spec import ColorSettings, decode


@dataclasses.dataclass
class SegmentObject:
    """Prompts for one object on the frame being segmented (same fields as a roto prompt, without ``frame``)."""

    name: str
    points: list[tuple[float, float, int]] | None = None
    box: tuple[float, float, float, float] | None = None
    mask: str | None = None

    def check(self, path: str) -> None:
        from .ops.roto import Prompt, RotoObject

        RotoObject(self.name, [Prompt(0)]).check(path)
        Prompt(0, self.points, self.box, self.mask).check(path)


@dataclasses.dataclass
class SegmentRequest:
    """A ``segment`` request.

    Attributes:
        input: an image path, or a frame pattern together with ``frame``.
        frame: the frame to segment when ``input`` is a pattern.
        objects: objects and their prompts on this frame.
        backend: roto backend name.
        backend_options: its options (``model``, ``device`` ...).
        output: where to write the mask EXR (``<object>.A`` + ``A``); default: a file in the worker's temp folder.
        color: input colour management.
    """

    input: str
    objects: list[SegmentObject]
    frame: int | None = None
    backend: str = "classic"
    backend_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    output: str | None = None
    color: ColorSettings = dataclasses.field(default_factory=ColorSettings)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SegmentRequest":
        body = {k: v for k, v in data.items() if k not in ("id", "type")}
        req = decode(cls, body, "")
        if not req.objects:
            raise SpecError("objects", "no objects to segment")
        check_unique_names(req.objects)
        return req

    def image_path(self) -> str:
        try:
            seq = FrameSequence.parse(self.input)
        except SpecError:
            return self.input
        if self.frame is None:
            raise SpecError("frame", f"input '{self.input}' is a sequence pattern; say which frame to segment")
        return seq.path(self.frame)


def run_segment(req: SegmentRequest, backend: Any, output: str) -> dict[str, Any]:
    """Segment one frame and write the mask EXR. Returns the ``result`` payload."""
    from .ops.roto import read_mask_prompt, resolve_overlaps

    t0 = time.perf_counter()
    path = req.image_path()
    image = read_rgb(path, req.color, frame=req.frame)
    h, w = image.shape[:2]
    prompts: dict[str, Keyframe] = {}
    for i, obj in enumerate(req.objects):
        kf = Keyframe(req.frame or 0)
        if obj.points:
            kf.points = np.asarray(obj.points, np.float32).reshape(-1, 3)
            out = (kf.points[:, 0] < 0) | (kf.points[:, 0] > w) | (kf.points[:, 1] < 0) | (kf.points[:, 1] > h)
            if out.any():
                k = int(np.argmax(out))
                raise SpecError(f"objects[{i}].points[{k}]", f"point ({kf.points[k, 0]:g}, {kf.points[k, 1]:g}) is outside the {w}x{h} image")
        if obj.box is not None:
            x0, y0, x1, y1 = obj.box
            if x0 < 0 or y0 < 0 or x1 > w or y1 > h:
                raise SpecError(f"objects[{i}].box", f"box {list(obj.box)} is outside the {w}x{h} image")
        kf.box = obj.box
        if obj.mask:
            kf.mask = read_mask_prompt(obj.mask, (w, h), f"objects[{i}].mask")
        if kf.mask is None and kf.box is None and len(kf.points) == 0:
            raise SpecError(f"objects[{i}]", f"object {obj.name!r} has no points, box or mask")
        prompts[obj.name] = kf
    logits = backend.segment(image, prompts, cache_key=f"{path}@{req.frame}")
    names = [o.name for o in req.objects]
    mattes = resolve_overlaps(logits, names, (h, w))
    channels = {f"{n}.A": m for n, m in mattes.items()}
    channels["A"] = np.clip(sum(mattes.values()), 0, 1).astype(np.float32)
    write_exr(output, channels, metadata={"inkpaint:objects": ",".join(names), "inkpaint:frame": int(req.frame or 0),
                                          "inkpaint:segment_output": os.path.abspath(output)})
    return {
        "mask": output,
        "frame": req.frame,
        "width": w,
        "height": h,
        "objects": names,
        "coverage": {n: float((m > 0.5).mean()) for n, m in mattes.items()},
        "seconds": round(time.perf_counter() - t0, 4),
    }
