"""Package trained weights: safetensors + a sidecar JSON (size, SHA-256, model card data), verified on every load.

``export_weights`` writes ``NAME.safetensors`` (tensors only: nothing is unpickled on load) and ``NAME.json`` beside
it: ``{"file", "size", "sha256", "format": "safetensors", ...card}``, where the card holds what the model is
(architecture config, classes, input), how it was made (data, seed, command, time) and how well it does
(metrics). ``load_weights`` re-hashes the file and refuses a missing, truncated, corrupted or swapped file with a
:class:`~inkpaint.errors.CheckpointError` that names the file and the command that rebuilds it.

torch and safetensors are imported inside the functions only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import CheckpointError
from ..io.atomic import atomic_path, atomic_write_text
from ..models import sha256_file


def sidecar_path(weights: str | os.PathLike[str]) -> Path:
    """``x/tonal_unet.safetensors`` -> ``x/tonal_unet.json``."""
    p = Path(weights)
    return p.with_suffix(".json")


def export_weights(state_dict: dict[str, Any], path: str | os.PathLike[str], card: dict[str, Any]) -> dict[str, Any]:
    """Write ``state_dict`` as safetensors at ``path`` and its sidecar JSON (atomic, both).

    Args:
        state_dict: name -> tensor (moved to CPU, made contiguous).
        path: the ``.safetensors`` file.
        card: JSON-able model-card data stored in the sidecar (and, flattened to strings, in the file's header).

    Returns:
        The sidecar record.
    """
    from safetensors.torch import save_file

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in state_dict.items()}
    meta = {"inkpaint_card": json.dumps(card, sort_keys=True)}
    with atomic_path(p) as tmp:
        save_file(tensors, str(tmp), metadata=meta)
    size, sha = sha256_file(p)
    record = {"file": p.name, "format": "safetensors", "size": size, "sha256": sha, **card}
    atomic_write_text(sidecar_path(p), json.dumps(record, indent=2, sort_keys=True) + "\n")
    return record


def verify_weights(path: str | os.PathLike[str], rebuild: str) -> dict[str, Any]:
    """Check ``path`` against its sidecar: present, size, SHA-256.

    Args:
        path: the ``.safetensors`` file.
        rebuild: the command that rebuilds it (quoted in every error).

    Returns:
        The sidecar record.

    Raises:
        CheckpointError: file or sidecar missing or unreadable, size or hash differs.
    """
    p = Path(path)
    side = sidecar_path(p)
    if not p.is_file():
        raise CheckpointError(f"model weights '{p}' are missing. Rebuild them with `{rebuild}`.")
    try:
        rec = json.loads(side.read_text(encoding="utf-8"))
        want_size, want_sha = int(rec["size"]), str(rec["sha256"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"model weights '{p}' have no readable size/SHA-256 record '{side}' ({exc}). Rebuild them with `{rebuild}`.") from exc
    size = p.stat().st_size
    if size != want_size:
        raise CheckpointError(f"model weights '{p}' are {size} bytes but {want_size} were recorded in '{side}' (truncated or replaced). Rebuild them with `{rebuild}`.")
    _, sha = sha256_file(p)
    if sha != want_sha:
        raise CheckpointError(f"model weights '{p}' have SHA-256 {sha}, but '{side}' records {want_sha} (corrupted or replaced). Rebuild them with `{rebuild}`.")
    return rec


def load_weights(path: str | os.PathLike[str], rebuild: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify, then load: ``(state_dict of CPU tensors, sidecar record)``.

    Raises:
        CheckpointError: see :func:`verify_weights`; also a file that safetensors cannot parse.
    """
    rec = verify_weights(path, rebuild)
    from safetensors.torch import load_file

    try:
        sd = load_file(str(path), device="cpu")
    except Exception as exc:  # safetensors raises its own SafetensorError
        raise CheckpointError(f"model weights '{path}' cannot be read as safetensors ({exc}). Rebuild them with `{rebuild}`.") from exc
    return sd, rec
