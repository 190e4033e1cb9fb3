"""SAM 2.1 backend, part 2: the typed inference state and pass planning (see :mod:`inkpaint.backends.sam2_video`).

Per-object memories, the passes a request needs, which frames a correction changes (:func:`dirty_frames`) and
which memories the next frame reads (:func:`_memory_indices`). No torch import: plain data and arithmetic.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any, Literal

import numpy as np

from .base import Keyframe, RotoRequest

PassDirection = Literal["forward", "backward"]


# ----------------------------------------------------------------------------------------------------------------
# Typed inference state


@dataclasses.dataclass
class MemoryEntry:
    """One object's SAM2 output on one frame, as far as later frames need it.

    Attributes:
        maskmem_features: ``(1, C_mem, h, w)`` bf16 spatial memory, or ``None`` once only the pointer is needed.
        obj_ptr: ``(1, C)`` object pointer.
        object_score_logits: ``(1, 1)`` object-presence logit.
        pred_masks: ``(1, 1, S/4, S/4)`` low-res mask logits (kept on conditioning frames, which are output as is).
    """

    maskmem_features: Any
    obj_ptr: Any
    object_score_logits: Any
    pred_masks: Any = None


@dataclasses.dataclass
class ObjectMemory:
    """What one object carries through a pass.

    Attributes:
        name: the object.
        start: frame index (into ``request.frames``) where the object joins this pass.
        keys: keyframe indices this pass may condition on, in processing order.
        conditioning: index -> entry for keyframes (and a resume seed) computed so far.
        recent: index -> entry for the bounded window of non-conditioning memories.
    """

    name: str
    start: int
    keys: list[int]
    conditioning: dict[int, MemoryEntry] = dataclasses.field(default_factory=dict)
    recent: dict[int, MemoryEntry] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class PassPlan:
    """One propagation pass over the range for every object it covers.

    Attributes:
        direction: ``forward`` (increasing frames) or ``backward``.
        order: frame indices in processing order.
        starts: object -> index where it joins (its first keyframe in processing order).
        keys: object -> its keyframe indices in this pass's span, in processing order.
    """

    direction: PassDirection
    order: list[int]
    starts: dict[str, int]
    keys: dict[str, list[int]]

    def position(self, idx: int) -> int:
        return idx - self.order[0] if self.direction == "forward" else self.order[0] - idx

    def active(self, idx: int) -> list[str]:
        """Objects this pass covers at frame index ``idx``."""
        p = self.position(idx)
        return [n for n, s in self.starts.items() if self.position(s) <= p]


@dataclasses.dataclass
class TrackStats:
    """Sizes the backend held while tracking (for tests and benchmarks: they must not grow with the shot)."""

    frames_encoded: int = 0
    frames_yielded: int = 0
    max_frames_held: int = 0
    max_recent_per_object: int = 0
    max_spatial_memories_per_object: int = 0
    max_conditioning_per_object: int = 0
    batches: int = 0
    passes: list[tuple[str, int, int]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class FrameFeatures:
    """The image encoder's output for one frame (batch 1), expanded per batch on demand."""

    index: int
    backbone_fpn: list[Any]
    vision_pos_enc: list[Any]

    def batched(self, net: Any, batch: int) -> tuple[list[Any], list[Any], list[tuple[int, int]]]:
        out = {
            "backbone_fpn": [f.expand(batch, -1, -1, -1) for f in self.backbone_fpn],
            "vision_pos_enc": [p.expand(batch, -1, -1, -1) for p in self.vision_pos_enc],
        }
        _, feats, pos, sizes = net._prepare_backbone_features(out)
        return feats, pos, sizes


@dataclasses.dataclass
class PassState:
    """The whole inference state of one pass: objects' memories and the current frame's features only."""

    plan: PassPlan
    objects: dict[str, ObjectMemory]
    maskmem_pos_enc: list[Any] | None = None
    features: FrameFeatures | None = None


# ----------------------------------------------------------------------------------------------------------------
# Planning


def keyframe_digest(kf: Keyframe) -> str:
    """A stable digest of one keyframe's prompts (points, box, mask)."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(kf.points, np.float32).tobytes())
    h.update(repr(None if kf.box is None else tuple(float(v) for v in kf.box)).encode())
    if kf.mask is not None:
        m = np.ascontiguousarray(kf.mask, bool)
        h.update(repr(m.shape).encode())
        h.update(np.packbits(m).tobytes())
    return h.hexdigest()[:16]


def plan_passes(request: RotoRequest) -> list[PassPlan]:
    """Split a request into at most two passes (forward, backward), each carrying every object it covers.

    ``forward``/``both``: a forward pass from each object's first keyframe to the end. ``both``: a backward pass from
    each object's first keyframe to the start. ``backward``: a backward pass from each object's last keyframe to the
    start. Keyframes outside ``request.frames`` are ignored.
    """
    index = {f: i for i, f in enumerate(request.frames)}
    n = len(request.frames)
    keys = {o: sorted(index[k.frame] for k in request.keyframes.get(o, []) if k.frame in index) for o in request.objects}
    keys = {o: k for o, k in keys.items() if k}
    plans: list[PassPlan] = []
    if not keys:
        return plans
    if request.direction in ("forward", "both"):
        starts = {o: k[0] for o, k in keys.items()}
        first = min(starts.values())
        plans.append(PassPlan("forward", list(range(first, n)), starts, dict(keys)))
    if request.direction in ("backward", "both"):
        starts = {o: (k[0] if request.direction == "both" else k[-1]) for o, k in keys.items()}
        bkeys = {o: sorted((i for i in k if i <= starts[o]), reverse=True) for o, k in keys.items()}
        last = max(starts.values())
        plans.append(PassPlan("backward", list(range(last, -1, -1)), starts, bkeys))
    return plans


def _signatures(request: RotoRequest, conditioning: str) -> dict[tuple[str, int], tuple[Any, ...]]:
    """(object, frame) -> what its result on that frame depends on (pass, start, keyframes that condition it)."""
    digests = {o: {k.frame: keyframe_digest(k) for k in request.keyframes.get(o, [])} for o in request.objects}
    out: dict[tuple[str, int], tuple[Any, ...]] = {}
    for plan in plan_passes(request):
        for o, start in plan.starts.items():
            keys = plan.keys[o] if conditioning == "past" else sorted({request.frames.index(f) for f in digests[o] if f in request.frames})
            all_keys = tuple((request.frames[k], digests[o][request.frames[k]]) for k in keys)
            reached: list[tuple[int, str]] = []
            ki = 0
            for idx in plan.order[plan.position(start) :]:
                if conditioning == "past":
                    while ki < len(keys) and plan.position(keys[ki]) <= plan.position(idx):
                        reached.append((request.frames[keys[ki]], digests[o][request.frames[keys[ki]]]))
                        ki += 1
                    sig: tuple[Any, ...] = (plan.direction, request.frames[start], tuple(reached))
                else:
                    sig = (plan.direction, request.frames[start], all_keys)
                out.setdefault((o, request.frames[idx]), sig)
    return out


def dirty_frames(old: RotoRequest, new: RotoRequest, conditioning: str = "past") -> list[int]:
    """Frames of ``new`` whose mattes differ from ``old``'s because prompts changed (a correction).

    With ``past`` conditioning a changed, added or removed keyframe of an object at frame *k* dirties that object
    from *k* on in the direction of each pass that reaches *k*; other objects are unaffected (but a frame is written
    whole, so every object on a dirty frame is recomputed). With ``all`` conditioning a change dirties every frame of
    that object. A different frame list or direction dirties everything.

    Rerunning ``new`` with ``done`` = every frame not listed (and ``load_done`` reading the old mattes) recomputes
    exactly these frames: each pass restarts from the last clean frame before them.
    """
    if old.frames != new.frames or old.direction != new.direction:
        return list(new.frames)
    a, b = _signatures(old, conditioning), _signatures(new, conditioning)
    dirty = {f for (o, f) in set(a) | set(b) if a.get((o, f)) != b.get((o, f))}
    return sorted(f for f in new.frames if f in dirty)


def _memory_indices(idx: int, reverse: bool, num_maskmem: int, stride: int) -> set[int]:
    """Frame indices whose spatial memory SAM2 reads when tracking ``idx`` (``_prepare_memory_conditioned_features``)."""
    out = set()
    for t_pos in range(1, num_maskmem):
        t_rel = num_maskmem - t_pos
        if t_rel == 1:
            prev = idx + t_rel if reverse else idx - t_rel
        elif not reverse:
            prev = ((idx - 2) // stride) * stride - (t_rel - 2) * stride
        else:
            prev = -(-(idx + 2) // stride) * stride + (t_rel - 2) * stride
        out.add(prev)
    return out
