"""SAM 2.1 backend, part 1: options, devices, checkpoints and the network (see :mod:`inkpaint.backends.sam2_video`).

Torch and sam2 are imported lazily, when a model is loaded.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..errors import BackendError, CheckpointError, SpecError

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
