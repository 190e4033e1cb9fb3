"""Model checkpoints: where they live, what was downloaded, and verification on every load.

Checkpoints live in one folder: ``$INKPAINT_MODELS`` if set, else a per-user cache
(``$XDG_CACHE_HOME/inkpaint/models`` or ``~/.cache/inkpaint/models`` on Linux, ``~/Library/Caches/inkpaint/models``
on macOS, ``%LOCALAPPDATA%\\inkpaint\\models`` on Windows).

Beside the checkpoints, a lock file (:data:`LOCK_NAME`) records each file's size and SHA-256 *as downloaded* (Meta
publishes no checksums for SAM2, so the first download is the reference). Every load re-hashes the file and compares
it with that record, so a truncated, corrupted or swapped file is refused with an error naming the file.

``python install/models.py --model tiny`` downloads and records a checkpoint; ``--from FILE`` records a copy
obtained some other way (an offline farm), and ``--verify`` checks what is there.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from .errors import CheckpointError
from .io.atomic import atomic_write_text

LOCK_NAME = "inkpaint-models.lock.json"
"""File name of the lock file, in the models folder."""

LOCK_VERSION = 1

SAM2_BASE_URL = "https://dl.fbaipublicfiles.com/segment_anything_2/092824"
"""Meta's published base URL for the SAM 2.1 checkpoints (facebookresearch/sam2, checkpoints/download_ckpts.sh)."""


@dataclasses.dataclass(frozen=True)
class OfficialCheckpoint:
    """One official checkpoint.

    Attributes:
        model: the name users pass (``--model tiny``).
        filename: file name in the models folder.
        url: Meta's download URL.
        config: the matching config inside the ``sam2`` package.
    """

    model: str
    filename: str
    url: str
    config: str


SAM2_CHECKPOINTS: dict[str, OfficialCheckpoint] = {
    m: OfficialCheckpoint(m, f"sam2.1_hiera_{m}.pt", f"{SAM2_BASE_URL}/sam2.1_hiera_{m}.pt", f"configs/sam2.1/sam2.1_hiera_{c}.yaml")
    for m, c in (("tiny", "t"), ("small", "s"), ("base_plus", "b+"), ("large", "l"))
}
"""SAM 2.1 checkpoints by model name (``tiny``, ``small``, ``base_plus``, ``large``)."""


def install_command(model: str) -> str:
    """The command that downloads and records the official checkpoint of ``model``."""
    return f"python install/models.py --model {model}"


def models_dir() -> Path:
    """The models folder: ``$INKPAINT_MODELS``, else the per-user cache (not created here)."""
    env = os.environ.get("INKPAINT_MODELS")
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "inkpaint" / "models"


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 22) -> tuple[int, str]:
    """``(size in bytes, SHA-256 hex digest)`` of a file, read in 4 MiB chunks."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while True:
            block = fh.read(chunk)
            if not block:
                break
            h.update(block)
            size += len(block)
    return size, h.hexdigest()


def lock_path(folder: Path) -> Path:
    return folder / LOCK_NAME


def read_lock(folder: Path) -> dict[str, dict[str, Any]]:
    """The lock file's records, file name -> ``{"size", "sha256", "url", "recorded_at"}`` (empty if no lock file).

    Raises:
        CheckpointError: the lock file exists but is not valid.
    """
    p = lock_path(folder)
    if not p.exists():
        return {}
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        files = data["files"]
        if not isinstance(files, dict):
            raise TypeError("'files' is not an object")
        return files
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"lock file '{p}' is unreadable or corrupt ({exc}); re-download with {install_command('<model>')}") from exc


def record_checkpoint(path: str | os.PathLike[str], url: str | None = None, *, size_sha: tuple[int, str] | None = None) -> dict[str, Any]:
    """Record ``path``'s size and SHA-256 in the lock file of its folder (atomic read-modify-write).

    Args:
        path: the checkpoint, already in the models folder.
        url: where it was downloaded from (``None`` for a copy recorded with ``--from``).
        size_sha: precomputed ``(size, sha256)``, to avoid hashing twice.

    Returns:
        The record written.
    """
    p = Path(path)
    size, sha = size_sha or sha256_file(p)
    records = read_lock(p.parent)
    entry = {"size": size, "sha256": sha, "url": url, "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    records[p.name] = entry
    payload = {"version": LOCK_VERSION, "note": "sizes and SHA-256 as downloaded; inkpaint verifies every load against them", "files": records}
    atomic_write_text(lock_path(p.parent), json.dumps(payload, indent=2, sort_keys=True) + "\n")
    return entry


def verify_checkpoint(path: str | os.PathLike[str], model: str | None = None) -> dict[str, Any]:
    """Check ``path`` against its lock record: size first (cheap), then SHA-256.

    Args:
        path: a checkpoint in a models folder.
        model: its model name, used in the suggested fix.

    Returns:
        The lock record.

    Raises:
        CheckpointError: no record, or the size or hash differs (names the file and the fix).
    """
    p = Path(path)
    fix = install_command(model) if model else install_command("<model>")
    rec = read_lock(p.parent).get(p.name)
    if rec is None:
        raise CheckpointError(
            f"checkpoint '{p}' has no size/SHA-256 record in '{lock_path(p.parent)}', so it cannot be verified. "
            f"Download it with `{fix}`, or record a copy you trust with `{fix} --from '{p}'`."
        )
    size = p.stat().st_size
    if size != rec.get("size"):
        raise CheckpointError(
            f"checkpoint '{p}' is {size} bytes but {rec.get('size')} bytes were recorded at download "
            f"(truncated or replaced). Delete it and run `{fix}`."
        )
    _, sha = sha256_file(p)
    if sha != rec.get("sha256"):
        raise CheckpointError(
            f"checkpoint '{p}' has SHA-256 {sha}, but {rec.get('sha256')} was recorded at download "
            f"(corrupted or replaced). Delete it and run `{fix}`."
        )
    return rec


def official_checkpoint(model: str) -> OfficialCheckpoint:
    """The official checkpoint entry of ``model``.

    Raises:
        CheckpointError: unknown model name (lists the known ones).
    """
    try:
        return SAM2_CHECKPOINTS[model]
    except KeyError:
        raise CheckpointError(f"unknown SAM2 model {model!r}; choose one of {', '.join(SAM2_CHECKPOINTS)}") from None


def resolve_official(model: str, folder: Path | None = None) -> Path:
    """The verified path of ``model``'s official checkpoint.

    Raises:
        CheckpointError: the file is missing (names the file, the folder and the install command), or fails
            verification.
    """
    ck = official_checkpoint(model)
    folder = folder or models_dir()
    path = folder / ck.filename
    if not path.is_file():
        env = "" if os.environ.get("INKPAINT_MODELS") else " (set $INKPAINT_MODELS to use another folder)"
        raise CheckpointError(
            f"SAM2 checkpoint '{ck.filename}' for --model {model} is not in the models folder '{folder}'{env}. "
            f"Download it with `{install_command(model)}` (from {ck.url}), or put a copy there and record it with "
            f"`{install_command(model)} --from /path/to/{ck.filename}`."
        )
    verify_checkpoint(path, model)
    return path
