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
import dataclasses
import hashlib
import importlib.util
import logging
import queue
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import cv2
import numpy as np

from ..errors import BackendError, CheckpointError, SpecError
from ..progress import RunContext
from .base import FrameMasks, FrameSource, Keyframe, RotoBackend, RotoRequest

if TYPE_CHECKING:  # torch is imported lazily, only when the backend is created
    import torch

log = logging.getLogger("inkpaint.sam2")

MODELS = ("tiny", "small", "base_plus", "large")

DEFAULTS: dict[str, Any] = {
    "model": "base_plus",
    "checkpoint": None,
    "device": "auto",
    "precision": "auto",
    "compile": False,
    "image_size": None,
    "conditioning": "past",
    "prefetch": 2,
    "random_weights": False,
    "seed": 0,
}

IMG_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMG_STD = np.array([0.229, 0.224, 0.225], np.float32)

PassDirection = Literal["forward", "backward"]


# ----------------------------------------------------------------------------------------------------------------
# Options


@dataclasses.dataclass
class Sam2Options:
    """Validated backend options (see the module docstring)."""

    model: str = "base_plus"
    checkpoint: str | None = None
    device: str = "auto"
    precision: Literal["auto", "float32", "bfloat16"] = "auto"
    compile: bool = False
    image_size: int | None = None
    conditioning: Literal["past", "all"] = "past"
    prefetch: int = 2
    random_weights: bool = False
    seed: int = 0

    @classmethod
    def from_dict(cls, options: dict[str, Any]) -> "Sam2Options":
        unknown = sorted(set(options) - set(DEFAULTS))
        if unknown:
            raise SpecError(f"backend_options.{unknown[0]}", f"unknown option for the sam2 backend; known: {', '.join(DEFAULTS)}")
        o = {**DEFAULTS, **{k: v for k, v in options.items() if v is not None}}
        if o["model"] not in MODELS:
            raise SpecError("backend_options.model", f"{o['model']!r} is not a SAM2.1 model; choose one of {', '.join(MODELS)}")
        if o["precision"] not in ("auto", "float32", "bfloat16"):
            raise SpecError("backend_options.precision", f"{o['precision']!r}: choose auto, float32 or bfloat16")
        if o["conditioning"] not in ("past", "all"):
            raise SpecError("backend_options.conditioning", f"{o['conditioning']!r}: choose past or all")
        if o["image_size"] is not None:
            if not isinstance(o["image_size"], int) or o["image_size"] < 64 or o["image_size"] % 32:
                raise SpecError("backend_options.image_size", f"{o['image_size']!r}: must be an integer >= 64 and a multiple of 32")
        if not isinstance(o["prefetch"], int) or o["prefetch"] < 0:
            raise SpecError("backend_options.prefetch", "must be an integer >= 0")
        if o["checkpoint"] is not None and o["random_weights"]:
            raise SpecError("backend_options.random_weights", "cannot be combined with checkpoint")
        if not isinstance(o["device"], str):
            raise SpecError("backend_options.device", "must be a string (auto, cuda, cuda:N, mps, cpu)")
        return cls(**o)


def create_backend(options: dict[str, Any]) -> "Sam2Backend":
    """Load the model named by ``options`` and return a backend holding it (the worker keeps it between jobs)."""
    return Sam2Backend(Sam2Options.from_dict(options))


# ----------------------------------------------------------------------------------------------------------------
# Model loading


def _import_torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise BackendError(f"the sam2 backend needs torch ({exc}); install it with: python install/bootstrap.py --with sam2") from exc
    return torch


def pick_device(name: str) -> "torch.device":
    """``auto`` -> CUDA, else MPS, else CPU; otherwise the named device, checked to exist.

    Raises:
        SpecError: the named device is not available (``backend_options.device``).
    """
    torch = _import_torch()
    mps = getattr(torch.backends, "mps", None)
    has_mps = bool(mps is not None and mps.is_available())
    if name in ("auto", ""):
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if has_mps else torch.device("cpu")
    try:
        dev = torch.device(name)
    except (RuntimeError, ValueError) as exc:
        raise SpecError("backend_options.device", f"{name!r} is not a device (auto, cuda, cuda:N, mps, cpu)") from exc
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise SpecError("backend_options.device", f"{name!r} requested, but this torch build sees no CUDA GPU")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise SpecError("backend_options.device", f"{name!r}: only {torch.cuda.device_count()} CUDA device(s)")
    elif dev.type == "mps" and not has_mps:
        raise SpecError("backend_options.device", "'mps' requested, but MPS is not available here")
    elif dev.type not in ("cpu", "cuda", "mps"):
        raise SpecError("backend_options.device", f"{name!r}: use auto, cuda, cuda:N, mps or cpu")
    return dev


def load_weights(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint with ``torch.load(weights_only=True)``; accepts sam2's ``{"model": state_dict}`` or a bare
    state dict.

    Raises:
        CheckpointError: unreadable, not loadable weights-only, or not a state dict (names the file).
    """
    torch = _import_torch()
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"checkpoint '{p}' does not exist")
    try:
        obj = torch.load(str(p), map_location="cpu", weights_only=True)
    except Exception as exc:  # UnpicklingError, RuntimeError (zip/format), EOFError ...
        raise CheckpointError(f"checkpoint '{p}' cannot be loaded as weights only (corrupt, truncated, or not a torch checkpoint): {exc}") from exc
    sd = obj.get("model") if isinstance(obj, dict) and isinstance(obj.get("model"), dict) else obj
    if not isinstance(sd, dict) or not sd or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise CheckpointError(f"checkpoint '{p}' holds no state dict (expected {{'model': state_dict}} as SAM2 saves it)")
    return sd


def check_state_dict(model: Any, sd: dict[str, Any], path: str | Path, config: str) -> None:
    """Check that ``sd`` has exactly ``model``'s keys and shapes.

    Raises:
        CheckpointError: listing missing, unexpected and mis-shaped keys (up to 8 of each) and naming the config.
    """
    expected = model.state_dict()
    missing = sorted(set(expected) - set(sd))
    unexpected = sorted(set(sd) - set(expected))
    shapes = sorted(k for k in set(expected) & set(sd) if tuple(expected[k].shape) != tuple(sd[k].shape))
    if not (missing or unexpected or shapes):
        return

    def some(keys: list[str]) -> str:
        return ", ".join(keys[:8]) + (f" ... (+{len(keys) - 8})" if len(keys) > 8 else "")

    parts = []
    if missing:
        parts.append(f"{len(missing)} missing key(s): {some(missing)}")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected key(s): {some(unexpected)}")
    if shapes:
        parts.append(
            f"{len(shapes)} key(s) with another shape: "
            + some([f"{k} {tuple(sd[k].shape)} vs {tuple(expected[k].shape)}" for k in shapes])
        )
    raise CheckpointError(f"checkpoint '{path}' does not match {config} (is --model right?): " + "; ".join(parts))


@dataclasses.dataclass
class LoadedModel:
    """A SAM2 network ready for inference.

    Attributes:
        net: the ``SAM2VideoPredictor`` module (used for its network only, never its inference state).
        device: where it runs.
        autocast: dtype for ``torch.autocast`` (bf16 on CUDA), or ``None``.
        config: the sam2 config it was built from.
        weights: the checkpoint path, or ``"random"``.
    """

    net: Any
    device: Any
    autocast: Any
    config: str
    weights: str


def load_model(opts: Sam2Options) -> LoadedModel:
    """Build the SAM2.1 network for ``opts.model`` and load verified weights.

    Official weights come from the models folder and are verified against the lock file; a custom ``checkpoint``
    is loaded weights-only with a warning (no official checksum) and its keys checked against the config.

    Raises:
        CheckpointError: missing/unverifiable/mismatched weights.
        BackendError: torch or sam2 not importable.
    """
    torch = _import_torch()
    from ..models import official_checkpoint, resolve_official

    try:
        import sam2  # noqa: F401  (initialises hydra's config search path)
        from sam2.build_sam import build_sam2_video_predictor
    except ImportError as exc:
        raise BackendError(f"the sam2 backend needs the sam2 package ({exc}); install it with: python install/bootstrap.py --with sam2") from exc
    config = official_checkpoint(opts.model).config
    device = pick_device(opts.device)
    if opts.random_weights:
        weights_path = None
        warnings.warn("sam2: RANDOM weights (random_weights=true): masks are meaningless; for tests and benchmarks only", stacklevel=2)
    elif opts.checkpoint:
        weights_path = Path(opts.checkpoint).expanduser()
        if not weights_path.is_file():
            raise CheckpointError(f"--checkpoint '{weights_path}' does not exist")
        log.warning("custom checkpoint '%s' has no official checksum; loading it weights-only and checking its keys against %s", weights_path, config)
    else:
        weights_path = resolve_official(opts.model)  # raises with the install command when missing/bad
    overrides = [f"++model.image_size={opts.image_size}"] if opts.image_size else []
    if opts.random_weights:
        torch.manual_seed(int(opts.seed))
    net = build_sam2_video_predictor(config, ckpt_path=None, device="cpu", mode="eval", hydra_overrides_extra=overrides)
    if weights_path is not None:
        sd = load_weights(weights_path)
        check_state_dict(net, sd, weights_path, config)
        net.load_state_dict(sd, strict=True)
        del sd
    net = net.to(device).eval()
    autocast = None
    if device.type == "cuda":
        if opts.precision in ("auto", "bfloat16"):
            autocast = torch.bfloat16
        if torch.cuda.get_device_properties(device).major >= 8:
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
    elif opts.precision == "bfloat16":
        autocast = torch.bfloat16
    if opts.compile:
        _maybe_compile(net, device, opts.model)
    return LoadedModel(net, device, autocast, config, str(weights_path) if weights_path else "random")


def _maybe_compile(net: Any, device: Any, model: str) -> None:
    """``torch.compile`` the network's parts where CUDA and Triton exist; each part falls back to eager on error."""
    torch = _import_torch()
    if device.type != "cuda" or importlib.util.find_spec("triton") is None:
        log.info("torch.compile skipped: it needs a CUDA device and Triton (device %s, triton %s)", device, importlib.util.find_spec("triton") is not None)
        return
    parts = ["memory_attention", "memory_encoder", "sam_prompt_encoder", "sam_mask_decoder"]
    if model != "tiny":  # sam2's own note: Hiera-T does not support compilation
        parts.append("image_encoder")
    for name in parts:
        mod = getattr(net, name)
        eager = mod.forward
        compiled = torch.compile(eager, dynamic=True)
        state = {"ok": True}

        def guarded(*args: Any, _eager: Any = eager, _compiled: Any = compiled, _state: dict[str, bool] = state, _name: str = name, _mod: Any = mod, **kwargs: Any) -> Any:
            if _state["ok"]:
                try:
                    return _compiled(*args, **kwargs)
                except Exception as exc:  # compile failures surface on the first call
                    _state["ok"] = False
                    _mod.forward = _eager
                    log.warning("torch.compile of %s failed, using eager mode: %s", _name, exc)
            return _eager(*args, **kwargs)

        mod.forward = guarded


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


# ----------------------------------------------------------------------------------------------------------------
# Frames


class FramePrefetcher:
    """Reads frames in processing order on a background thread and turns them into model inputs.

    At most ``depth`` prepared frames wait in the queue; the source is only touched from this thread while it runs.
    """

    def __init__(self, source: FrameSource, frames: list[int], prepare: Any, depth: int, lock: threading.Lock) -> None:
        self.frames = frames
        self.prepare = prepare
        self.source = source
        self.lock = lock
        self.depth = depth
        self.q: queue.Queue[tuple[int, Any]] = queue.Queue(maxsize=max(depth, 1))
        self.stop = threading.Event()
        self.pos = 0
        self.thread: threading.Thread | None = None
        if depth > 0:
            self.thread = threading.Thread(target=self._run, name="inkpaint-sam2-frames", daemon=True)
            self.thread.start()

    def _read(self, frame: int) -> Any:
        with self.lock:
            rgb = self.source.rgb(frame)
        return self.prepare(rgb)

    def _run(self) -> None:
        for f in self.frames:
            if self.stop.is_set():
                return
            try:
                item: tuple[int, Any] = (f, self._read(f))
            except BaseException as exc:  # hand read errors to the consumer
                item = (f, exc)
            while not self.stop.is_set():
                try:
                    self.q.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if isinstance(item[1], BaseException):
                return

    def get(self, frame: int) -> Any:
        if self.thread is None:
            return self._read(frame)
        f, data = self.q.get()
        if isinstance(data, BaseException):
            raise data
        assert f == frame, f"prefetch order mismatch: expected frame {frame}, got {f}"
        return data

    def held(self) -> int:
        return self.q.qsize()

    def close(self) -> None:
        self.stop.set()
        if self.thread is not None:
            while True:
                try:
                    self.q.get_nowait()
                except queue.Empty:
                    break
            self.thread.join(timeout=5)


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
