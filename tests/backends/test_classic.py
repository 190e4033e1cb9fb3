"""inkpaint.backends.classic: keyframes from box/points/mask, propagation on a synthetic clip, objects, resume."""

from __future__ import annotations

import numpy as np
import pytest

from inkpaint.backends.base import Keyframe, RotoRequest
from inkpaint.backends.classic import create_backend, grabcut_keyframe
from inkpaint.errors import SpecError
from inkpaint.metrics.roto import region_similarity
from inkpaint.progress import RunContext

H, W = 120, 160


def _disc(cx: float, cy: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[0:H, 0:W]
    return (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r


def _truth(i: int) -> dict[str, np.ndarray]:
    """Two objects: a red disc moving right and a blue square moving down (they never touch)."""
    sq = np.zeros((H, W), bool)
    sq[15 + 2 * i : 45 + 2 * i, 105:135] = True
    return {"red": _disc(35 + 3 * i, 60, 18), "blue": sq}


def _frame(i: int) -> np.ndarray:
    rng = np.random.default_rng(i)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    img = np.stack([0.35 + 0.15 * np.sin(xx / 7), 0.45 + 0.15 * np.cos(yy / 9), 0.3 + 0.1 * np.sin((xx + yy) / 11)], -1)
    t = _truth(i)
    img[t["red"]] = (0.85, 0.15, 0.1)
    img[t["blue"]] = (0.1, 0.2, 0.9)
    img += rng.normal(0, 0.02, img.shape)
    return np.clip(img, 0, 1).astype(np.float32)


class Clip:
    frames = list(range(12))
    size = (W, H)

    def __init__(self) -> None:
        self.reads: list[int] = []

    def rgb(self, frame: int) -> np.ndarray:
        self.reads.append(frame)
        return _frame(frame)


def _run(request: RotoRequest, clip: Clip | None = None) -> dict[int, dict[str, np.ndarray]]:
    out: dict[int, dict[str, np.ndarray]] = {}
    for fm in create_backend({}).track(clip or Clip(), request, RunContext()):
        for name, logit in fm.logits.items():
            assert logit.shape == (H, W) and logit.dtype == np.float32
            out.setdefault(fm.frame, {})[name] = logit > 0
    return out


def test_keyframe_from_box_points_and_mask() -> None:
    img, truth = _frame(0), _truth(0)["red"]
    box = grabcut_keyframe(img, Keyframe(0, box=(12, 37, 58, 83)))
    assert region_similarity(box, truth) > 0.85
    pts = grabcut_keyframe(img, Keyframe(0, points=np.array([[35, 60, 1], [30, 55, 1], [100, 100, 0]], np.float32)))
    assert region_similarity(pts, truth) > 0.8
    rough = _disc(35, 60, 22)  # a loose mask is taken as is
    assert np.array_equal(grabcut_keyframe(img, Keyframe(0, mask=rough)), rough)


def test_propagation_follows_moving_objects_without_overlap() -> None:
    t0 = _truth(0)
    req = RotoRequest(frames=Clip.frames, objects=["red", "blue"], direction="forward",
                      keyframes={"red": [Keyframe(0, mask=t0["red"])], "blue": [Keyframe(0, box=(103, 13, 137, 47))]})
    out = _run(req)
    assert sorted(out) == Clip.frames
    for f in Clip.frames:
        t = _truth(f)
        assert region_similarity(out[f]["red"], t["red"]) > 0.7, f  # a static mask is ~0 by frame 11
        assert region_similarity(out[f]["blue"], t["blue"]) > 0.7, f  # a static box would be ~0.15 by frame 11
        assert not (out[f]["red"] & out[f]["blue"]).any(), f  # several objects in one pass, no overlap
    last = out[Clip.frames[-1]]["red"]
    static = t0["red"]
    assert region_similarity(last, _truth(11)["red"]) > region_similarity(static, _truth(11)["red"]) + 0.3


def test_resume_from_done_frames() -> None:
    t0 = _truth(0)
    done = frozenset(range(6))
    loaded: list[int] = []

    def load_done(frame: int) -> dict[str, np.ndarray]:
        loaded.append(frame)
        return {"red": _truth(frame)["red"]}

    req = RotoRequest(frames=Clip.frames, objects=["red"], direction="forward",
                      keyframes={"red": [Keyframe(0, mask=t0["red"])]}, done=done, load_done=load_done)
    clip = Clip()
    out = _run(req, clip)
    assert loaded == [5]  # restarts from the last done frame
    assert min(clip.reads) == 5  # frames before it are not read again
    assert set(out) >= set(range(6, 12)) and not (set(out) & set(range(5)))
    for f in range(6, 12):
        assert region_similarity(out[f]["red"], _truth(f)["red"]) > 0.8


def test_backward_and_unknown_option() -> None:
    t = _truth(11)
    req = RotoRequest(frames=Clip.frames, objects=["red"], direction="both", keyframes={"red": [Keyframe(11, mask=t["red"])]})
    out = _run(req)
    assert region_similarity(out[0]["red"], _truth(0)["red"]) > 0.8
    with pytest.raises(SpecError, match="backend_options.bogus"):
        create_backend({"bogus": 1})


def test_segment_returns_logits() -> None:
    res = create_backend({}).segment(_frame(0), {"red": Keyframe(0, box=(12, 37, 58, 83))})
    assert region_similarity(res["red"] > 0, _truth(0)["red"]) > 0.85
