"""Read any folder of clips in the synth format (``../shared/data/synth_dev/README.md``) for training.

A *clip* is a folder with one sub-folder per map (``plate/``, ``tone/``, ``parts/``, ``label/``, ``line/``, ``gt/``)
holding ``0000.png`` .. ``NNNN.png``, frame ``i`` of every folder showing the same instant. A *data set* is any
folder that holds clips at any depth (``synth_train/`` holds ``a/clip_000`` .. and ``b/clip_000`` ..), so a studio
can train on its own renders laid out the same way. Only the maps a task asks for are required.

numpy + OpenCV only: no torch here.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from ..errors import FrameError, SpecError

MAPS = ("plate", "tone", "parts", "label", "line", "gt")
"""The per-frame folders of the clip format."""


@dataclasses.dataclass
class ClipInfo:
    """One clip folder, validated.

    Attributes:
        path: the clip folder.
        name: its path relative to the data set root (``a/clip_003``), used in logs and splits.
        frames: frame numbers present in every required folder, sorted.
    """

    path: Path
    name: str
    frames: list[int]


def _frame_numbers(folder: Path) -> set[int]:
    out = set()
    for p in folder.glob("*.png"):
        if p.stem.isdigit():
            out.add(int(p.stem))
    return out


def find_clips(root: str | os.PathLike[str], maps: Sequence[str] = ("plate", "tone", "parts")) -> list[ClipInfo]:
    """Every clip under ``root`` (a clip folder itself, or any folder of clips at any depth), validated.

    A folder counts as a clip when it has a ``plate/`` sub-folder. Each clip must have every folder in ``maps``,
    and every frame of ``plate/`` must exist in each of them.

    Args:
        root: data set folder.
        maps: the folders the task needs.

    Returns:
        The clips sorted by name.

    Raises:
        SpecError: ``root`` is not a folder or holds no clip (``--data``).
        FrameError: a clip lacks a required folder or a frame file (names the missing file).
    """
    r = Path(root)
    if not r.is_dir():
        raise SpecError("--data", f"'{r}' is not a folder")
    dirs = [r] if (r / "plate").is_dir() else sorted(p.parent for p in r.rglob("plate") if p.is_dir())
    if not dirs:
        raise SpecError("--data", f"no clips in '{r}' (a clip is a folder with a plate/ folder of NNNN.png frames)")
    clips = []
    for d in dirs:
        name = d.relative_to(r).as_posix() if d != r else d.name
        frames = _frame_numbers(d / "plate")
        if not frames:
            raise FrameError(f"clip '{name}' has no frames in plate/ (expected 0000.png ...)", path=str(d / "plate"))
        for m in maps:
            folder = d / m
            if not folder.is_dir():
                raise FrameError(f"clip '{name}' has no {m}/ folder, which this training needs ({', '.join(maps)})", path=str(folder))
            missing = sorted(frames - _frame_numbers(folder))
            if missing:
                raise FrameError(f"clip '{name}': {len(missing)} {m} frame(s) missing", path=str(folder / f"{missing[0]:04d}.png"))
        clips.append(ClipInfo(d, name, sorted(frames)))
    return clips


def read_map(clip: ClipInfo, name: str, frame: int) -> np.ndarray:
    """One frame of one map: ``plate``/``gt``/``line`` as ``(H, W, 3)`` uint8 RGB, the others ``(H, W)`` integer.

    Raises:
        FrameError: unreadable file (names it).
    """
    path = clip.path / name / f"{frame:04d}.png"
    flags = cv2.IMREAD_COLOR if name in ("plate", "gt", "line") else cv2.IMREAD_UNCHANGED
    img = cv2.imread(str(path), flags)
    if img is None:
        raise FrameError("cannot read image", frame=frame, path=str(path))
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    return img


def load_clip(clip: ClipInfo, maps: Sequence[str], frames: Sequence[int] | None = None) -> dict[str, np.ndarray]:
    """Stack the frames of ``maps`` of one clip: ``{map: (F, H, W[, 3])}``.

    Raises:
        FrameError: unreadable file, or a frame whose size differs from the clip's first plate (names it).
    """
    frames = list(frames if frames is not None else clip.frames)
    out: dict[str, np.ndarray] = {}
    size = None
    for m in maps:
        arrs = []
        for f in frames:
            a = read_map(clip, m, f)
            if size is None:
                size = a.shape[:2]
            elif a.shape[:2] != size:
                raise FrameError(f"is {a.shape[1]}x{a.shape[0]}, the clip's plate is {size[1]}x{size[0]}", frame=f, path=str(clip.path / m / f"{f:04d}.png"))
            arrs.append(a)
        out[m] = np.stack(arrs)
    return out


def split_clips(clips: Sequence[ClipInfo], val_split: str | float, seed: int) -> tuple[list[ClipInfo], list[ClipInfo]]:
    """Hold out whole clips for validation (frames of one clip are too alike to split).

    Args:
        clips: all clips.
        val_split: a fraction (``0.15``: that share of clips, at least one, chosen with ``seed``) or a
            comma-separated list of clip names (``a/clip_003,b/clip_001``).
        seed: picks the clips for a fractional split.

    Returns:
        ``(train, val)``.

    Raises:
        SpecError: a named clip does not exist, or the split leaves no training clip (``--val-split``).
    """
    by_name = {c.name: c for c in clips}
    try:
        frac = float(val_split)
    except (TypeError, ValueError):
        names = [n.strip() for n in str(val_split).split(",") if n.strip()]
        missing = [n for n in names if n not in by_name]
        if missing:
            raise SpecError("--val-split", f"clip(s) {', '.join(missing)} not in the data set (have {', '.join(by_name)})") from None
        val_names = set(names)
    else:
        if not 0.0 <= frac < 1.0:
            raise SpecError("--val-split", f"a fraction must be in [0, 1), got {frac}")
        k = 0 if frac == 0 else max(1, round(frac * len(clips)))
        rng = np.random.default_rng(seed)
        val_names = {clips[i].name for i in rng.permutation(len(clips))[:k]}
    train = [c for c in clips if c.name not in val_names]
    val = [c for c in clips if c.name in val_names]
    if not train:
        raise SpecError("--val-split", "leaves no clip to train on")
    return train, val
