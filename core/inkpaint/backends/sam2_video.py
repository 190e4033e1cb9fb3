"""SAM 2.1 roto backend: streamed frames, all objects in one batched state, bounded memory, resumable.

How it differs from stock ``SAM2VideoPredictor`` (which it reuses for the network, not for state):

- **Frames** come from the engine's :class:`~inkpaint.backends.base.FrameSource` (OIIO, colour-managed EXR/DPX/...),
  one at a time, resized and normalised on a background thread a couple of frames ahead. No JPEG round-trip, no
  whole-clip preload: at most ``prefetch + 1`` frames are held.
- **State** is typed (:class:`PassState`, :class:`ObjectMemory`, :class:`MemoryEntry`). SAM2 attends to its
  conditioning frames plus the ``num_maskmem - 1`` most recent memories, and to object pointers of the last
  ``max_obj_ptrs_in_encoder - 1`` frames. After each frame the window is pruned to exactly what the next frame will
  read (memory features for the 6 recent frames, pointers only for the 15 recent ones), so host and GPU memory are
  flat in shot length.
- **Objects** are tracked together: the image encoder runs once per frame, and objects whose memories have the same
  layout (e.g. every part clicked on the same frame, the seed's workflow) go through memory attention, the mask
  decoder and the memory encoder as one batch.
- **Prompts** (± points, box, mask, combinations) on any frame, for any object. Each object's first keyframe starts it;
  a forward pass and a backward pass (``direction``) cover the range.

Conditioning (option ``conditioning``):

- ``"past"`` (default): a frame is conditioned only on keyframes the pass has already reached (in processing order).
  A keyframe at frame *k* therefore changes an object only from *k* on in the direction of each pass that reaches
  it; the result on a frame never depends on prompts "ahead" of it. This is what makes corrections and resume
  exact: see :func:`dirty_frames`.
- ``"all"``: stock SAM2 behaviour, every keyframe of an object conditions every frame of it. A correction anywhere
  changes the whole object.

Resume and corrections: a pass whose first frames are already done (``request.done``) restarts from the last of
them, re-seeding each object active there from the written matte (``request.load_done``) as a mask prompt, and
yields only the frames after it. After a correction, :func:`dirty_frames` lists the frames that change; a rerun with
every other frame marked done recomputes only those.

Options (``backend_options``): ``model`` (tiny, small, base_plus, large), ``checkpoint`` (custom weights of the
model's config), ``device`` (auto, cuda, cuda:N, mps, cpu), ``precision`` (auto = bf16 autocast on CUDA, float32
elsewhere), ``compile`` (torch.compile where CUDA + Triton exist), ``image_size`` (model input size, a multiple of
32; default the config's 1024), ``conditioning`` (past, all), ``prefetch`` (frames read ahead), ``random_weights``
(tests and benchmarks only: random initialisation, no checkpoint) and ``seed`` (for random weights).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np

from ..errors import SpecError
from ..progress import RunContext
from .base import FrameMasks, FrameSource, Keyframe, RotoBackend, RotoRequest

log = logging.getLogger("inkpaint.sam2")

# The backend is split along its concerns; every name stays importable from here.
from .sam2_frames import FramePrefetcher  # noqa: E402
from .sam2_model import (  # noqa: E402
    DEFAULTS,
    IMG_MEAN,
    IMG_STD,
    MODELS,
    LoadedModel,
    Sam2Options,
    _import_torch,
    _maybe_compile,
    check_state_dict,
    load_model,
    load_weights,
    pick_device,
)
from .sam2_state import (  # noqa: E402
    FrameFeatures,
    MemoryEntry,
    ObjectMemory,
    PassDirection,
    PassPlan,
    PassState,
    TrackStats,
    _memory_indices,
    _signatures,
    dirty_frames,
    keyframe_digest,
    plan_passes,
)

__all__ = [
    "DEFAULTS", "IMG_MEAN", "IMG_STD", "MODELS", "FrameFeatures", "FramePrefetcher", "LoadedModel", "MemoryEntry",
    "ObjectMemory", "PassDirection", "PassPlan", "PassState", "Sam2Backend", "Sam2Options", "TrackStats",
    "check_state_dict", "create_backend", "dirty_frames", "keyframe_digest", "load_model", "load_weights",
    "pick_device", "plan_passes",
    # private helpers, importable from here as before the split
    "_import_torch", "_maybe_compile", "_memory_indices", "_signatures",
]


def create_backend(options: dict[str, Any]) -> "Sam2Backend":
    """Load the model named by ``options`` and return a backend holding it (the worker keeps it between jobs)."""
    return Sam2Backend(Sam2Options.from_dict(options))


# ----------------------------------------------------------------------------------------------------------------
# The backend


class Sam2Backend(RotoBackend):
    """SAM 2.1 video tracking with a streamed, bounded, batched state. See the module docstring."""

    name = "sam2"

    def __init__(self, opts: Sam2Options) -> None:
        self.opts = opts
        t0 = time.perf_counter()
        self.model = load_model(opts)
        self.load_seconds = time.perf_counter() - t0
        net = self.model.net
        self.net = net
        self.image_size = int(net.image_size)
        self.num_maskmem = int(net.num_maskmem)
        self.mem_stride = int(net.memory_temporal_stride_for_eval)
        self.stats = TrackStats()
        self._segment_cache: OrderedDict[str, tuple[str, FrameFeatures]] = OrderedDict()
        self._source_lock = threading.Lock()
        torch = _import_torch()
        self._torch = torch
        self._mean = torch.tensor(IMG_MEAN, device=self.model.device).view(1, 3, 1, 1)
        self._std = torch.tensor(IMG_STD, device=self.model.device).view(1, 3, 1, 1)
        log.info("sam2 %s on %s (%s weights, input %d px) loaded in %.1f s", opts.model, self.model.device, self.model.weights, self.image_size, self.load_seconds)

    # -- low-level steps -----------------------------------------------------------------------------------------

    def _inference(self) -> contextlib.ExitStack:
        stack = contextlib.ExitStack()
        stack.enter_context(self._torch.inference_mode())
        if self.model.autocast is not None:
            stack.enter_context(self._torch.autocast(self.model.device.type, dtype=self.model.autocast))
        return stack

    def prepare(self, rgb: np.ndarray) -> np.ndarray:
        """``(H, W, 3)`` float RGB 0..1 -> ``(S, S, 3)`` float32 at the model's input size (area filter when shrinking)."""
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) RGB frame, got shape {rgb.shape}")
        s = self.image_size
        h, w = rgb.shape[:2]
        interp = cv2.INTER_AREA if (h > s or w > s) else cv2.INTER_LINEAR
        return cv2.resize(np.ascontiguousarray(rgb, np.float32), (s, s), interpolation=interp)

    def encode(self, index: int, prepared: np.ndarray) -> FrameFeatures:
        """Run the image encoder on one prepared frame."""
        torch = self._torch
        x = torch.from_numpy(prepared).permute(2, 0, 1).unsqueeze(0)
        if self.model.device.type == "cuda":
            x = x.pin_memory().to(self.model.device, non_blocking=True)
        else:
            x = x.to(self.model.device)
        x = (x - self._mean) / self._std
        out = self.net.forward_image(x)
        self.stats.frames_encoded += 1
        return FrameFeatures(index, list(out["backbone_fpn"]), list(out["vision_pos_enc"]))

    def _prompt_tensors(self, kf: Keyframe | None, mask: np.ndarray | None, size: tuple[int, int]) -> tuple[Any, Any]:
        """SAM2 point inputs (box corners first, labels 2/3) and a ``(1, 1, S, S)`` mask input from a keyframe."""
        torch = self._torch
        w, h = size
        s = self.image_size
        dev = self.model.device
        point_inputs = None
        if kf is not None and (len(kf.points) or kf.box is not None):
            coords, labels = [], []
            if kf.box is not None:
                x0, y0, x1, y1 = kf.box
                coords += [(x0, y0), (x1, y1)]
                labels += [2, 3]
            for x, y, lab in kf.points:
                coords.append((x, y))
                labels.append(1 if lab > 0.5 else 0)
            c = torch.tensor(coords, dtype=torch.float32).view(1, -1, 2)
            c = c / torch.tensor([w, h], dtype=torch.float32) * s
            point_inputs = {"point_coords": c.to(dev), "point_labels": torch.tensor(labels, dtype=torch.int32).view(1, -1).to(dev)}
        m = mask if mask is not None else (kf.mask if kf is not None else None)
        mask_inputs = None
        if m is not None:
            if m.shape != (h, w):
                raise ValueError(f"mask prompt is {m.shape[1]}x{m.shape[0]}, the frame is {w}x{h}")
            mt = torch.from_numpy(np.ascontiguousarray(m, np.float32))[None, None].to(dev)
            mt = torch.nn.functional.interpolate(mt, size=(s, s), mode="bilinear", align_corners=False, antialias=True)
            mask_inputs = (mt >= 0.5).float()
        return point_inputs, mask_inputs

    def condition(self, feats: FrameFeatures, kf: Keyframe | None, size: tuple[int, int], num_frames: int, *,
                  mask: np.ndarray | None = None, memory: bool = True) -> tuple[MemoryEntry, list[Any] | None]:
        """A conditioning output for one object on one frame from its prompts alone (no memory), like SAM on an image.

        Points and a mask together: the mask is decoded first and its logits refine the points' result, as stock
        SAM2 does for clicks added on top of a mask.

        Returns:
            The entry, and SAM2's memory positional encoding (``None`` when ``memory`` is off).
        """
        torch = self._torch
        vf, vp, sizes = feats.batched(self.net, 1)
        points, mask_in = self._prompt_tensors(kf, mask, size)
        empty: dict[str, dict[int, Any]] = {"cond_frame_outputs": {}, "non_cond_frame_outputs": {}}
        common = dict(frame_idx=feats.index, is_init_cond_frame=True, current_vision_feats=vf, current_vision_pos_embeds=vp,
                      feat_sizes=sizes, output_dict=empty, num_frames=num_frames)
        if points is not None and mask_in is not None:
            first = self.net.track_step(point_inputs=None, mask_inputs=mask_in, run_mem_encoder=False, **common)
            prev = torch.clamp(first["pred_masks"], -32.0, 32.0)
            out = self.net.track_step(point_inputs=points, mask_inputs=None, run_mem_encoder=memory, prev_sam_mask_logits=prev, **common)
        else:
            out = self.net.track_step(point_inputs=points, mask_inputs=mask_in, run_mem_encoder=memory, **common)
        mem = out["maskmem_features"]
        return MemoryEntry(None if mem is None else mem.to(torch.bfloat16), out["obj_ptr"], out["object_score_logits"],
                           out["pred_masks"].float()), out.get("maskmem_pos_enc")

    def to_video_logits(self, pred_masks: Any, size: tuple[int, int]) -> np.ndarray:
        """``(B, 1, h, w)`` low-res logits -> ``(B, H, W)`` float32 logits at the plate's resolution."""
        w, h = size
        up = self._torch.nn.functional.interpolate(pred_masks.float(), size=(h, w), mode="bilinear", align_corners=False)
        return up[:, 0].to("cpu", self._torch.float32).numpy()

    # -- tracking -------------------------------------------------------------------------------------------------

    def track(self, source: FrameSource, request: RotoRequest, ctx: RunContext) -> Iterator[FrameMasks]:
        self.stats = TrackStats()
        size = (int(source.size[0]), int(source.size[1]))
        n = len(request.frames)
        kf_by_index: dict[str, dict[int, Keyframe]] = {}
        index = {f: i for i, f in enumerate(request.frames)}
        for o in request.objects:
            kf_by_index[o] = {index[k.frame]: k for k in request.keyframes.get(o, []) if k.frame in index}
        cond_cache: dict[tuple[str, int], MemoryEntry] = {}  # keyframe outputs shared by the passes
        pos_enc_holder: list[Any] = []
        for plan in plan_passes(request):
            order = plan.order
            # Resume: skip the leading run of done frames and restart from the last of them.
            j = 0
            while j < len(order) and request.frames[order[j]] in request.done:
                j += 1
            if j == len(order):
                continue
            restart = order[j - 1] if j > 0 else None
            if restart is not None:
                order = order[j - 1 :]
            self.stats.passes.append((plan.direction, request.frames[order[0]], request.frames[order[-1]]))
            yield from self._run_pass(source, request, plan, order, restart, kf_by_index, cond_cache, pos_enc_holder, size, n, ctx)

    def _run_pass(self, source: FrameSource, request: RotoRequest, plan: PassPlan, order: list[int], restart: int | None,
                  kf_by_index: dict[str, dict[int, Keyframe]], cond_cache: dict[tuple[str, int], MemoryEntry],
                  pos_enc_holder: list[Any], size: tuple[int, int], n: int, ctx: RunContext) -> Iterator[FrameMasks]:
        torch = self._torch
        reverse = plan.direction == "backward"
        step = -1 if reverse else 1
        past = self.opts.conditioning == "past"
        state = PassState(plan, {o: ObjectMemory(o, s, plan.keys[o]) for o, s in plan.starts.items()})
        if pos_enc_holder:
            state.maskmem_pos_enc = pos_enc_holder[0]

        def cond_entry(o: str, idx: int, feats: FrameFeatures) -> MemoryEntry:
            key = (o, idx)
            if key not in cond_cache:
                entry, pos = self.condition(feats, kf_by_index[o][idx], size, n)
                cond_cache[key] = entry
                if pos is not None and state.maskmem_pos_enc is None:
                    state.maskmem_pos_enc = [p[0:1].clone() for p in pos]
                    pos_enc_holder[:] = [state.maskmem_pos_enc]
            return cond_cache[key]

        # Keyframes needed before the pass reaches them: all of them ("all"), or those already passed (resume).
        first_pos = plan.position(order[0])
        pre: dict[int, list[str]] = {}
        for o, mem in state.objects.items():
            ks = kf_by_index[o].keys() if not past else [k for k in mem.keys if plan.position(k) < first_pos]
            for k in ks:
                if (o, k) not in cond_cache:
                    pre.setdefault(k, []).append(o)
        with self._inference():
            for k, objs in sorted(pre.items()):
                with self._source_lock:
                    rgb = source.rgb(request.frames[k])
                feats = self.encode(k, self.prepare(rgb))
                for o in objs:
                    cond_entry(o, k, feats)
                del feats
        for o, mem in state.objects.items():
            ks = kf_by_index[o].keys() if not past else [k for k in mem.keys if plan.position(k) < first_pos]
            for k in ks:
                mem.conditioning[k] = cond_cache[(o, k)]
        prefetch = FramePrefetcher(source, [request.frames[i] for i in order], self.prepare, self.opts.prefetch, self._source_lock)
        try:
            for idx in order:
                ctx.check_cancel()
                frame = request.frames[idx]
                prepared = prefetch.get(frame)
                active = plan.active(idx)
                with self._inference():
                    feats = self.encode(idx, prepared)
                    state.features = feats
                    del prepared
                    logits_low: dict[str, Any] = {}
                    # Objects on a conditioning frame: prompted keyframe, or the resume seed.
                    tracked: list[str] = []
                    seed_masks = request.load_done(frame) if (idx == restart and request.load_done is not None) else {}
                    for o in active:
                        mem = state.objects[o]
                        if idx == restart:
                            if idx in kf_by_index[o] and idx in mem.keys:
                                mem.conditioning[idx] = cond_entry(o, idx, feats)
                            elif o in seed_masks:
                                entry, pos = self.condition(feats, None, size, n, mask=seed_masks[o])
                                if pos is not None and state.maskmem_pos_enc is None:
                                    state.maskmem_pos_enc = [p[0:1].clone() for p in pos]
                                mem.conditioning[idx] = entry
                            continue
                        if idx in kf_by_index[o] and idx in mem.keys:
                            entry = cond_entry(o, idx, feats)
                            mem.conditioning[idx] = entry
                            logits_low[o] = entry.pred_masks
                        else:
                            tracked.append(o)
                    for group in self._groups(state, tracked, idx, past):
                        out = self._track_group(state, group, idx, feats, n, reverse, past)
                        for o, pm in out.items():
                            logits_low[o] = pm
                    self._prune(state, idx + step, reverse, n)
                    self._note_sizes(state, prefetch)
                    state.features = None
                    del feats
                    if idx == restart or frame in request.done or not logits_low:
                        continue
                    names = [o for o in request.objects if o in logits_low]
                    full = self.to_video_logits(torch.cat([logits_low[o] for o in names]), size)
                self.stats.frames_yielded += 1
                yield FrameMasks(frame, {o: full[i] for i, o in enumerate(names)})
        finally:
            prefetch.close()

    def _cond_used(self, mem: ObjectMemory, idx: int, past: bool, plan: PassPlan) -> list[int]:
        if not past:
            return sorted(mem.conditioning)
        p = plan.position(idx)
        return sorted(k for k in mem.conditioning if plan.position(k) <= p)

    def _groups(self, state: PassState, names: list[str], idx: int, past: bool) -> list[list[str]]:
        """Objects whose memories have the same layout on ``idx`` (so they can run as one batch)."""
        groups: dict[tuple[Any, ...], list[str]] = {}
        for o in names:
            mem = state.objects[o]
            key = (
                tuple(self._cond_used(mem, idx, past, state.plan)),
                tuple(sorted(mem.recent)),
                tuple(sorted(k for k, e in mem.recent.items() if e.maskmem_features is not None)),
            )
            groups.setdefault(key, []).append(o)
        return list(groups.values())

    def _track_group(self, state: PassState, names: list[str], idx: int, feats: FrameFeatures, n: int, reverse: bool,
                     past: bool) -> dict[str, Any]:
        """Track objects with identical memory layout on frame ``idx`` as one batch; stores their new memories."""
        torch = self._torch
        b = len(names)
        mems = [state.objects[o] for o in names]
        pos = state.maskmem_pos_enc
        pos_b = None if pos is None else [p.expand(b, -1, -1, -1) for p in pos]

        def cat(entries: list[MemoryEntry]) -> dict[str, Any]:
            e0 = entries[0]
            return {
                "maskmem_features": None if e0.maskmem_features is None else torch.cat([e.maskmem_features for e in entries]),
                "maskmem_pos_enc": pos_b,
                "pred_masks": None,
                "obj_ptr": torch.cat([e.obj_ptr for e in entries]),
                "object_score_logits": torch.cat([e.object_score_logits for e in entries]),
            }

        cond_idx = self._cond_used(mems[0], idx, past, state.plan)
        output_dict = {
            "cond_frame_outputs": {k: cat([m.conditioning[k] for m in mems]) for k in cond_idx},
            "non_cond_frame_outputs": {k: cat([m.recent[k] for m in mems]) for k in sorted(mems[0].recent)},
        }
        vf, vp, sizes = feats.batched(self.net, b)
        out = self.net.track_step(
            frame_idx=idx, is_init_cond_frame=False, current_vision_feats=vf, current_vision_pos_embeds=vp, feat_sizes=sizes,
            point_inputs=None, mask_inputs=None, output_dict=output_dict, num_frames=n, track_in_reverse=reverse, run_mem_encoder=True,
        )
        self.stats.batches += 1
        if state.maskmem_pos_enc is None and out.get("maskmem_pos_enc") is not None:
            state.maskmem_pos_enc = [p[0:1].clone() for p in out["maskmem_pos_enc"]]
        mem_feats = out["maskmem_features"].to(torch.bfloat16)
        result = {}
        for i, m in enumerate(mems):
            m.recent[idx] = MemoryEntry(mem_feats[i : i + 1].clone(), out["obj_ptr"][i : i + 1].clone(), out["object_score_logits"][i : i + 1].clone())
            result[m.name] = out["pred_masks"][i : i + 1]
        return result

    def _prune(self, state: PassState, next_idx: int, reverse: bool, n: int) -> None:
        """Keep only what tracking ``next_idx`` reads: spatial memories of the recent window, pointers of the last
        ``max_obj_ptrs_in_encoder - 1`` frames."""
        spatial = _memory_indices(next_idx, reverse, self.num_maskmem, self.mem_stride)
        ptrs: set[int] = set()
        if self.net.use_obj_ptrs_in_encoder:
            m = min(n, int(self.net.max_obj_ptrs_in_encoder))
            ptrs = {next_idx + t if reverse else next_idx - t for t in range(1, m)}
        for mem in state.objects.values():
            for k in list(mem.recent):
                if k in spatial:
                    continue
                if k in ptrs:
                    e = mem.recent[k]
                    if e.maskmem_features is not None:
                        mem.recent[k] = MemoryEntry(None, e.obj_ptr, e.object_score_logits)
                else:
                    del mem.recent[k]

    def _note_sizes(self, state: PassState, prefetch: FramePrefetcher) -> None:
        s = self.stats
        s.max_frames_held = max(s.max_frames_held, prefetch.held() + 1)
        for mem in state.objects.values():
            s.max_recent_per_object = max(s.max_recent_per_object, len(mem.recent))
            s.max_spatial_memories_per_object = max(s.max_spatial_memories_per_object, sum(e.maskmem_features is not None for e in mem.recent.values()))
            s.max_conditioning_per_object = max(s.max_conditioning_per_object, len(mem.conditioning))

    # -- interactive ----------------------------------------------------------------------------------------------

    def segment(self, image: np.ndarray, prompts: dict[str, Keyframe], *, cache_key: str | None = None) -> dict[str, np.ndarray]:
        """Single-frame segmentation; the frame's image embedding is cached under ``cache_key`` (2 most recent), so
        another click on the same frame only runs the prompt encoder and mask decoder."""
        if image.ndim != 3 or image.shape[2] != 3:
            raise SpecError("input", f"expected an RGB image, got an array of shape {image.shape}")
        h, w = image.shape[:2]
        fingerprint = hashlib.sha1(np.ascontiguousarray(image[:: max(1, h // 16), :: max(1, w // 16)]).tobytes()).hexdigest()
        fingerprint += f"{w}x{h}"
        with self._inference():
            feats = None
            if cache_key is not None and cache_key in self._segment_cache:
                fp, cached = self._segment_cache[cache_key]
                if fp == fingerprint:
                    feats = cached
                    self._segment_cache.move_to_end(cache_key)
            if feats is None:
                feats = self.encode(0, self.prepare(image))
                if cache_key is not None:
                    self._segment_cache[cache_key] = (fingerprint, feats)
                    while len(self._segment_cache) > 2:
                        self._segment_cache.popitem(last=False)
            out = {}
            for name, kf in prompts.items():
                entry, _ = self.condition(feats, kf, (w, h), 1, memory=False)
                out[name] = self.to_video_logits(entry.pred_masks, (w, h))[0]
        return out

    def close(self) -> None:
        """Drop cached embeddings. The model stays loaded: the worker reuses this instance between requests."""
        self._segment_cache.clear()
        if self.model.device.type == "cuda":
            self._torch.cuda.empty_cache()
