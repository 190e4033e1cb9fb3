"""The roto backend contract: typed prompts, a frame source, and a generator of per-frame object logits.

A backend module registered in :data:`inkpaint.registry.ROTO_BACKENDS` exposes
``create_backend(options: dict) -> RotoBackend``. The roto operation owns reading prompts, overlap resolution,
output writing and resume; a backend only turns pixels and prompts into per-object logits.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable, Iterator
from typing import Literal, Protocol

import numpy as np

from ..progress import RunContext

Direction = Literal["forward", "backward", "both"]


@dataclasses.dataclass
class Keyframe:
    """Prompts for one object on one frame (all prompts given on that frame, merged).

    Attributes:
        frame: the frame number.
        points: ``(N, 3)`` float32 rows of ``x, y, label`` in pixels, top-left origin; label 1 = positive, 0 = negative.
        box: ``(x0, y0, x1, y1)`` in pixels, or ``None``.
        mask: ``(H, W)`` bool, or ``None``.
    """

    frame: int
    points: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 3), np.float32))
    box: tuple[float, float, float, float] | None = None
    mask: np.ndarray | None = None

    @property
    def positive_points(self) -> np.ndarray:
        return self.points[self.points[:, 2] > 0.5, :2]

    @property
    def negative_points(self) -> np.ndarray:
        return self.points[self.points[:, 2] <= 0.5, :2]


@dataclasses.dataclass
class FrameMasks:
    """A backend's answer for one frame.

    Attributes:
        frame: the frame number.
        logits: object name -> ``(H, W)`` float32 logits; ``> 0`` is inside. ``sigmoid(logit)`` is used as the
            soft matte edge, so a logit of about ``signed distance in pixels`` gives a 1-px anti-aliased edge.
        confidence: optional object name -> 0..1, how much the backend trusts this frame's answer (1 on a
            keyframe); ``None`` lets the roto op estimate it from the logits.
    """

    frame: int
    logits: dict[str, np.ndarray]
    confidence: dict[str, float] | None = None


class FrameSource(Protocol):
    """Colour-managed frames, read on demand (never the whole clip at once)."""

    frames: list[int]
    size: tuple[int, int]

    def rgb(self, frame: int) -> np.ndarray:
        """``(H, W, 3)`` float32 display RGB in 0..1 of ``frame``."""
        ...


@dataclasses.dataclass
class RotoRequest:
    """Everything a backend needs to track objects through a range.

    Attributes:
        frames: sorted frames to cover.
        objects: object names, in channel order.
        keyframes: object -> its keyframes, sorted by frame (several allowed; a later one wins from its frame on).
        direction: ``forward`` (frames before an object's first keyframe stay empty), ``backward`` (each frame
            takes the nearest keyframe at or after it) or ``both``.
        done: frames already written by an earlier run of this job; a backend need not yield them.
        load_done: returns the object masks (bool ``(H, W)``) of a done frame, to restart tracking from it.
    """

    frames: list[int]
    objects: list[str]
    keyframes: dict[str, list[Keyframe]]
    direction: Direction = "both"
    done: frozenset[int] = frozenset()
    load_done: Callable[[int], dict[str, np.ndarray]] | None = None

    def expected_objects(self, frame: int) -> list[str]:
        """Objects a backend will yield logits for on ``frame`` (the others are empty there)."""
        out = []
        for name in self.objects:
            keys = [k.frame for k in self.keyframes.get(name, [])]
            if not keys:
                continue
            if self.direction == "both" or (self.direction == "forward" and frame >= keys[0]) or (
                self.direction == "backward" and frame <= keys[-1]
            ):
                out.append(name)
        return out


@dataclasses.dataclass
class Track:
    """One propagation run: objects carried from ``start`` through ``frames`` (``frames[0] == start``).

    ``seed`` says where the start mask comes from: ``"keyframe"`` (the objects' prompts on ``start``) or
    ``"done"`` (the masks already written for ``start`` by an earlier run, when resuming).
    """

    start: int
    direction: Literal["forward", "backward"]
    frames: list[int]
    objects: list[str]
    seed: Literal["keyframe", "done"] = "keyframe"


def plan_tracks(request: RotoRequest) -> list[Track]:
    """Split a request into propagation runs, grouping objects that share the same run.

    Rules: on frames at or after an object's first keyframe, the latest keyframe at or before the frame governs
    (forward run); before the first keyframe, the first keyframe governs (backward run). With ``backward`` only,
    each frame takes the nearest keyframe at or after it. Frames already done are skipped; a run that starts
    inside done frames restarts from the last done frame (``seed="done"``).
    """
    frames = sorted(request.frames)
    fset = set(frames)
    runs: dict[tuple[int, str, tuple[int, ...]], list[str]] = {}
    for name in request.objects:
        keys = sorted({k.frame for k in request.keyframes.get(name, [])})
        keys = [k for k in keys if k in fset]
        if not keys:
            continue
        spans: list[tuple[int, str, list[int]]] = []
        if request.direction in ("forward", "both"):
            for i, k in enumerate(keys):
                nxt = keys[i + 1] if i + 1 < len(keys) else None
                spans.append((k, "forward", [f for f in frames if f >= k and (nxt is None or f < nxt)]))
        if request.direction == "both":
            spans.append((keys[0], "backward", [f for f in reversed(frames) if f <= keys[0]]))
        if request.direction == "backward":
            for i, k in enumerate(keys):
                prv = keys[i - 1] if i > 0 else None
                spans.append((k, "backward", [f for f in reversed(frames) if f <= k and (prv is None or f > prv)]))
        for start, direction, span in spans:
            runs.setdefault((start, direction, tuple(span)), []).append(name)
    tracks: list[Track] = []
    for (_start, direction, frames_in_run), names in sorted(runs.items(), key=lambda kv: (kv[0][1] != "forward", kv[0][0])):
        span_list = list(frames_in_run)
        # Resume: skip the leading run of done frames, restarting from the last of them.
        seed: Literal["keyframe", "done"] = "keyframe"
        i = 0
        while i < len(span_list) and span_list[i] in request.done:
            i += 1
        if i == len(span_list):
            continue
        if i > 0:
            span_list = span_list[i - 1 :]
            seed = "done"
        # A run whose start frame is a keyframe in the backward direction repeats the keyframe frame already
        # produced by its forward twin; the operation ignores the duplicate.
        tracks.append(Track(span_list[0], direction, span_list, names, seed))  # type: ignore[arg-type]
    return tracks


class RotoBackend(abc.ABC):
    """A roto backend instance, possibly holding a loaded model. Reused across jobs by the worker."""

    name: str = ""

    @abc.abstractmethod
    def track(self, source: FrameSource, request: RotoRequest, ctx: RunContext) -> Iterator[FrameMasks]:
        """Yield logits for every frame of ``request.frames`` not in ``request.done``.

        A frame may be yielded more than once with different objects (e.g. once by a forward and once by a
        backward run); the operation merges them and writes the frame when its expected objects are all in.
        Frames should be yielded as soon as they are final, in processing order, so memory stays flat.
        """

    @abc.abstractmethod
    def segment(self, image: np.ndarray, prompts: dict[str, Keyframe], *, cache_key: str | None = None) -> dict[str, np.ndarray]:
        """Interactive single-frame segmentation.

        Args:
            image: ``(H, W, 3)`` float32 display RGB in 0..1.
            prompts: object -> its prompts on this frame.
            cache_key: identifies the image (path + frame); a backend may cache its embedding under it so that a
                new click on the same frame does not re-encode.

        Returns:
            object -> ``(H, W)`` float32 logits.
        """

    def close(self) -> None:  # noqa: B027  (an optional hook: backends without models keep this no-op)
        """Release models and caches."""
