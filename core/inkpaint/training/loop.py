"""The training-loop convention every inkpaint model follows (tonal segmenter, paint matcher, ...).

A task supplies the model, the optimiser, one epoch's batches and a validation function; :func:`fit` does the rest
the same way for all of them:

- **Deterministic** given a seed: :func:`seed_everything` seeds Python, numpy and torch and asks torch for
  deterministic kernels; each epoch draws its batches from ``numpy.random.default_rng([seed, epoch])``, so an epoch's
  data does not depend on how the run got there (fresh or resumed).
- **Logged**: one JSON line per epoch in ``OUT/log.jsonl`` (``epoch``, ``train_loss``, ``lr``, ``seconds``,
  ``elapsed``, ``val`` = the task's validation metrics, ``best``).
- **Checkpointed** every epoch: ``OUT/checkpoints/last.pt`` (model, optimiser and scheduler state, epoch, torch RNG
  state, best score, config) and ``OUT/checkpoints/best.pt`` when the validation score improved, both written
  atomically; ``resume=True`` continues from ``last.pt`` and reproduces what an uninterrupted run would have done.

torch is imported inside the functions only.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import math
import os
import random
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SpecError
from ..io.atomic import atomic_write_bytes

log = logging.getLogger("inkpaint.training")

LOG_NAME = "log.jsonl"
LAST = "checkpoints/last.pt"
BEST = "checkpoints/best.pt"


def add_run_options(p: Any, *, data_help: str, epochs: int, seed: int, steps_per_epoch: int) -> None:
    """The options every ``inkpaint train TASK`` has, with the task's defaults: ``--data``, ``--val-split``, ``--out``,
    ``--epochs``, ``--seed``, ``--resume``, ``--steps-per-epoch`` and ``--threads`` (``p``: an argparse parser)."""
    p.add_argument("--data", required=True, help=data_help)
    p.add_argument("--val-split", default="0.15", help="held-out clips: a fraction (default 0.15) or comma-separated clip names")
    p.add_argument("--out", required=True, help="run folder (log.jsonl, checkpoints/, packaged weights)")
    p.add_argument("--epochs", type=int, default=epochs)
    p.add_argument("--seed", type=int, default=seed)
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoints/last.pt")
    p.add_argument("--steps-per-epoch", type=int, default=steps_per_epoch)
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")


def run_training(train: Callable[[Any], dict[str, Any]], args: Any, weights: Path) -> int:
    """The ``inkpaint train TASK`` handler every task shares: check torch and safetensors are importable (else a
    :class:`~inkpaint.errors.BackendError` with the install command), run ``train(args)`` and print what it packaged
    (weights path, size, SHA-256, validation metrics) as one JSON line. Returns the exit status."""
    try:
        import safetensors  # noqa: F401
        import torch  # noqa: F401
    except ImportError as exc:
        from ..errors import BackendError

        raise BackendError(
            f"training needs torch and safetensors ({exc.name} is missing): pip install 'inkpaint[sam2]' "
            "(or pip install torch safetensors)"
        ) from exc
    rec = train(args)
    print(json.dumps({"weights": str(weights), "size": rec["size"], "sha256": rec["sha256"], "validation": rec["validation"]}))
    return 0


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch, and make torch pick deterministic kernels."""
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    if hasattr(torch.backends, "cudnn"):
        torch.backends.cudnn.benchmark = False


def epoch_rng(seed: int, epoch: int) -> np.random.Generator:
    """The generator an epoch draws its data from (independent of earlier epochs, so resume reproduces)."""
    return np.random.default_rng([seed, epoch])


def pick_device(name: str = "auto") -> Any:
    """``auto`` -> CUDA, else MPS, else CPU; otherwise the named device (as the SAM2 backend does)."""
    from ..backends.sam2_video import pick_device as _pick

    return _pick(name)


def cosine_lr(step: int, total: int, base: float, warmup: int = 50, floor: float = 0.02) -> float:
    """Learning rate at ``step`` of ``total``: linear warm-up, then cosine decay to ``floor * base``."""
    if step < warmup:
        return base * (step + 1) / warmup
    t = min(1.0, (step - warmup) / max(1, total - warmup))
    return base * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t)))


@dataclasses.dataclass
class FitResult:
    """What :func:`fit` did.

    Attributes:
        epochs: epochs completed in total (incl. those before a resume).
        best_epoch: epoch of ``best.pt``.
        best_score: its validation score.
        seconds: wall time of this call.
        out_dir: the run folder.
    """

    epochs: int
    best_epoch: int
    best_score: float
    seconds: float
    out_dir: Path


def _save(path: Path, obj: dict[str, Any]) -> None:
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buf.getvalue())


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A checkpoint written by :func:`fit` (loaded with ``weights_only=True``: no code is unpickled).

    Raises:
        SpecError: missing file (``--resume``).
    """
    import torch

    p = Path(path)
    if not p.is_file():
        raise SpecError("--resume", f"no checkpoint at '{p}' to resume from")
    return torch.load(p, map_location="cpu", weights_only=True)


def fit(
    *,
    model: Any,
    optimizer: Any,
    train_epoch: Callable[[int, np.random.Generator], Iterable[Any]],
    loss_fn: Callable[[Any, Any], Any],
    validate: Callable[[Any], dict[str, float]],
    out_dir: str | os.PathLike[str],
    epochs: int,
    seed: int,
    steps_per_epoch: int,
    base_lr: float,
    score_key: str,
    config: dict[str, Any],
    resume: bool = False,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> FitResult:
    """Train ``model`` for ``epochs`` epochs following the convention in the module docstring.

    Args:
        model: a ``torch.nn.Module`` on its device.
        optimizer: its optimiser; the learning rate is set every step by :func:`cosine_lr`.
        train_epoch: ``(epoch, rng) -> batches`` of one epoch (``steps_per_epoch`` of them).
        loss_fn: ``(model, batch) -> scalar loss tensor``.
        validate: ``model -> metrics`` (called in eval mode under ``torch.no_grad``); must contain ``score_key``.
        out_dir: run folder (log, checkpoints).
        epochs: total epochs.
        seed: the run's seed (:func:`seed_everything` has been called by the task).
        steps_per_epoch: batches per epoch (for the learning-rate schedule).
        base_lr: peak learning rate.
        score_key: the validation metric that picks ``best.pt`` (higher is better).
        config: everything needed to rebuild the run (stored in checkpoints and compared on resume).
        resume: continue from ``out_dir/checkpoints/last.pt``.
        on_epoch: called with each log record.

    Returns:
        A :class:`FitResult`.

    Raises:
        SpecError: resume requested with no checkpoint, or with a different config.
    """
    import torch

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / LOG_NAME
    start_epoch, best_score, best_epoch = 0, -math.inf, -1
    if resume:
        ck = load_checkpoint(out / LAST)
        diff = {k for k in set(config) | set(ck["config"]) if k not in ("epochs", "resume") and config.get(k) != ck["config"].get(k)}
        if diff:
            raise SpecError("--resume", f"the checkpoint in '{out}' was made with different settings ({', '.join(sorted(diff))})")
        model.load_state_dict(ck["model"])
        optimizer.load_state_dict(ck["optimizer"])
        torch.set_rng_state(ck["torch_rng"])
        start_epoch, best_score, best_epoch = int(ck["epoch"]) + 1, float(ck["best_score"]), int(ck["best_epoch"])
        # drop log lines of epochs after the checkpoint (a run killed between checkpoint and log)
        if log_path.exists():
            keep = [ln for ln in log_path.read_text().splitlines() if ln.strip() and json.loads(ln)["epoch"] < start_epoch]
            log_path.write_text("".join(k + "\n" for k in keep))
        log.info("resumed from epoch %d (best %s at epoch %d)", start_epoch - 1, best_score, best_epoch)
    elif log_path.exists():
        log_path.unlink()
    total_steps = epochs * steps_per_epoch
    t_start = time.perf_counter()
    elapsed0 = 0.0
    if log_path.exists() and log_path.stat().st_size:
        elapsed0 = json.loads(log_path.read_text().splitlines()[-1]).get("elapsed", 0.0)
    for epoch in range(start_epoch, epochs):
        t0 = time.perf_counter()
        model.train()
        losses = []
        step = epoch * steps_per_epoch
        lr = base_lr
        for batch in train_epoch(epoch, epoch_rng(seed, epoch)):
            lr = cosine_lr(step, total_steps, base_lr)
            for g in optimizer.param_groups:
                g["lr"] = lr
            loss = loss_fn(model, batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
            step += 1
        model.eval()
        with torch.no_grad():
            val = validate(model)
        score = float(val[score_key])
        improved = score > best_score
        if improved:
            best_score, best_epoch = score, epoch
        state = {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "epoch": epoch,
            "best_score": best_score,
            "best_epoch": best_epoch,
            "torch_rng": torch.get_rng_state(),
            "config": config,
            "val": val,
        }
        _save(out / LAST, state)
        if improved:
            _save(out / BEST, state)
        rec = {
            "epoch": epoch,
            "train_loss": float(np.mean(losses)) if losses else float("nan"),
            "lr": lr,
            "seconds": round(time.perf_counter() - t0, 2),
            "elapsed": round(elapsed0 + time.perf_counter() - t_start, 2),
            "val": val,
            "best": improved,
        }
        with open(log_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(rec) + "\n")
        log.info("epoch %d loss %.4f val %s=%.4f%s (%.0f s)", epoch, rec["train_loss"], score_key, score, " *" if improved else "", rec["seconds"])
        if on_epoch:
            on_epoch(rec)
    return FitResult(epochs, best_epoch, best_score, time.perf_counter() - t_start, out)
