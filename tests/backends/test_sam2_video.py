"""The sam2 roto backend on the real sam2 code (SAM2.1 tiny config, random weights, CPU, 128 px model input).

Random weights make the masks meaningless, so these tests check what does not depend on learned weights: where
prompts take effect (a mask prompt is output as is on its frame), which frames and objects each pass yields, that
the state stays the same size as the clip grows, that corrections and resume recompute exactly the frames they
should, and that frames are written per frame and resumed after SIGKILL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the sam2 backend needs torch (python install/bootstrap.py --with sam2)")
pytest.importorskip("sam2", reason="the sam2 backend needs the sam2 package (python install/bootstrap.py --with sam2)")

from inkpaint.backends.base import Keyframe, RotoRequest  # noqa: E402
from inkpaint.backends.sam2_video import (  # noqa: E402
    Sam2Backend,
    _memory_indices,
    create_backend,
    dirty_frames,
    plan_passes,
)
from inkpaint.errors import SpecError  # noqa: E402
from inkpaint.progress import RunContext  # noqa: E402

pytestmark = pytest.mark.sam2

W, H = 96, 64
OPTIONS = {"model": "tiny", "random_weights": True, "device": "cpu", "image_size": 128}


class SyntheticPlate:
    """A FrameSource of a red square sliding right over grey, a green bar, and a count of reads."""

    def __init__(self, n: int, first: int = 1001) -> None:
        self.frames = list(range(first, first + n))
        self.size = (W, H)
        self.reads: list[int] = []

    def rgb(self, frame: int) -> np.ndarray:
        self.reads.append(frame)
        img = np.full((H, W, 3), 0.25, np.float32)
        x = 8 + (frame - self.frames[0]) % 50
        img[24:44, x : x + 20] = (0.9, 0.2, 0.1)
        img[4:14, 60:86] = (0.1, 0.8, 0.3)
        return img


def box_mask(x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    m = np.zeros((H, W), bool)
    m[y0:y1, x0:x1] = True
    return m


def pts(*rows: tuple[float, float, int]) -> np.ndarray:
    return np.asarray(rows, np.float32).reshape(-1, 3)


@pytest.fixture(scope="module")
def backend() -> Sam2Backend:
    with pytest.warns(UserWarning, match="RANDOM weights"):
        return create_backend(dict(OPTIONS))


def run(backend: Sam2Backend, plate: SyntheticPlate, request: RotoRequest) -> dict[int, dict[str, np.ndarray]]:
    """Track and merge yields per frame (as the roto op does). Each (frame, object) must come exactly once."""
    out: dict[int, dict[str, np.ndarray]] = {}
    for fm in backend.track(plate, request, RunContext()):
        got = out.setdefault(fm.frame, {})
        for name, logit in fm.logits.items():
            assert logit.shape == (H, W) and logit.dtype == np.float32
            assert name not in got or fm.frame == _first_key(request, name), f"{name} yielded twice on {fm.frame}"
            got.setdefault(name, logit)
    return out


def _first_key(request: RotoRequest, name: str) -> int:
    return request.keyframes[name][0].frame


def test_prompts_on_any_frame_both_directions_several_objects(backend: Sam2Backend) -> None:
    plate = SyntheticPlate(20)
    f = plate.frames
    keyframes = {
        "square": [Keyframe(f[6], pts((20, 34, 1)))],
        "bar": [Keyframe(f[6], pts((70, 9, 1), (10, 55, 0)), box=(58, 2, 88, 16))],
        "ghost": [Keyframe(f[13], mask=box_mask(30, 20, 50, 40))],
    }
    req = RotoRequest(f, list(keyframes), keyframes, "both")
    out = run(backend, plate, req)
    assert sorted(out) == f
    for frame in f:
        assert sorted(out[frame]) == ["bar", "ghost", "square"], frame
    # The mask prompt is taken as the output on its own frame (SAM2.1 feeds input masks through): exact region.
    ghost = out[f[13]]["ghost"] > 0
    inter = (ghost & box_mask(30, 20, 50, 40)).sum() / (ghost | box_mask(30, 20, 50, 40)).sum()
    assert inter > 0.9
    # The encoder ran once per processed frame, not once per object.
    passes = backend.stats.passes
    assert passes == [("forward", f[6], f[-1]), ("backward", f[13], f[0])]
    assert backend.stats.frames_encoded == (len(f) - 6) + 14

    fwd = run(backend, plate, RotoRequest(f, list(keyframes), keyframes, "forward"))
    assert sorted(fwd) == f[6:]
    assert all(sorted(fwd[x]) == (["bar", "square"] if x < f[13] else ["bar", "ghost", "square"]) for x in fwd)
    bwd = run(backend, plate, RotoRequest(f, list(keyframes), keyframes, "backward"))
    assert sorted(bwd) == f[: 14]
    assert all(sorted(bwd[x]) == (["bar", "ghost", "square"] if x <= f[6] else ["ghost"]) for x in bwd)


def test_several_keyframes_later_one_wins_from_its_frame(backend: Sam2Backend) -> None:
    plate = SyntheticPlate(12)
    f = plate.frames
    k2 = box_mask(60, 2, 90, 18)
    keyframes = {"obj": [Keyframe(f[2], pts((20, 34, 1))), Keyframe(f[7], mask=k2)]}
    out = run(backend, plate, RotoRequest(f, ["obj"], keyframes, "both"))
    assert sorted(out) == f
    got = out[f[7]]["obj"] > 0
    assert (got == k2).mean() > 0.97  # the second keyframe's mask is the output on its frame


def test_segment_caches_the_embedding(backend: Sam2Backend) -> None:
    plate = SyntheticPlate(3)
    img = plate.rgb(plate.frames[0])
    before = backend.stats.frames_encoded
    a = backend.segment(img, {"square": Keyframe(0, pts((20, 34, 1)))}, cache_key="plate@1")
    assert a["square"].shape == (H, W)
    b = backend.segment(img, {"square": Keyframe(0, pts((20, 34, 1), (60, 8, 0))), "bar": Keyframe(0, box=(58, 2, 88, 16))}, cache_key="plate@1")
    assert set(b) == {"square", "bar"}
    assert backend.stats.frames_encoded == before + 1  # the second click did not re-encode
    # Same key but a different picture (plate re-rendered): the fingerprint forces a new encode.
    backend.segment(plate.rgb(plate.frames[2]) * 0.5, {"square": Keyframe(0, pts((20, 34, 1)))}, cache_key="plate@1")
    assert backend.stats.frames_encoded == before + 2
    m = box_mask(10, 10, 40, 40)
    c = backend.segment(img, {"m": Keyframe(0, mask=m)}, cache_key="plate@1")
    assert ((c["m"] > 0) == m).mean() > 0.97


@pytest.mark.parametrize("n", [16, 64])
def test_memory_bounded_as_clip_grows(backend: Sam2Backend, n: int) -> None:
    plate = SyntheticPlate(n)
    f = plate.frames
    keyframes = {name: [Keyframe(f[0], pts((20 + 10 * i, 34, 1)))] for i, name in enumerate(["a", "b", "c"])}
    out = run(backend, plate, RotoRequest(f, list(keyframes), keyframes, "forward"))
    assert sorted(out) == f
    s = backend.stats
    net = backend.net
    # What is held does not depend on n: SAM2's own limits (6 spatial memories, 15 pointers), 1 keyframe,
    # the current frame plus the prefetch queue.
    assert s.max_spatial_memories_per_object == net.num_maskmem - 1
    assert s.max_recent_per_object == min(n, net.max_obj_ptrs_in_encoder) - 1
    assert s.max_conditioning_per_object == 1
    assert s.max_frames_held <= backend.opts.prefetch + 1
    # Three objects clicked on one frame: one encoder run and one batched step per frame.
    assert s.frames_encoded == n
    assert s.batches == n - 1
    # The plate was read once per frame, in order (no preload, no re-reads).
    assert plate.reads == f


def test_memory_window_matches_sam2s_reads() -> None:
    assert _memory_indices(10, False, 7, 1) == {9, 8, 7, 6, 5, 4}
    assert _memory_indices(10, True, 7, 1) == {11, 12, 13, 14, 15, 16}
    assert _memory_indices(20, False, 7, 5) == {19, 15, 10, 5, 0, -5}


def test_correction_recomputes_only_what_it_changes(backend: Sam2Backend) -> None:
    plate = SyntheticPlate(16)
    f = plate.frames
    base = {"a": [Keyframe(f[2], pts((20, 34, 1)))], "b": [Keyframe(f[2], pts((70, 9, 1)))]}
    old = RotoRequest(f, ["a", "b"], base, "both")
    first = run(backend, plate, old)
    corrected = {"a": [base["a"][0], Keyframe(f[9], mask=box_mask(40, 20, 70, 44))], "b": base["b"]}
    new = RotoRequest(f, ["a", "b"], corrected, "both")
    dirty = dirty_frames(old, new)
    assert dirty == f[9:]
    # "past" conditioning: a full rerun of the corrected request leaves the frames before the correction identical.
    full = run(backend, plate, new)
    for x in f[:9]:
        for name in ("a", "b"):
            np.testing.assert_allclose(full[x][name], first[x][name], atol=1e-4)
    assert not np.allclose(full[f[9]]["a"], first[f[9]]["a"])
    # Rerun with the clean frames marked done: only the dirty frames are produced, restarting from f[8].
    done = frozenset(x for x in f if x not in dirty)
    resumed = RotoRequest(f, ["a", "b"], corrected, "both", done, lambda x: {n: first[x][n] > 0 for n in ("a", "b")})
    plate.reads.clear()
    out = run(backend, plate, resumed)
    assert sorted(out) == dirty
    # Read: the earlier keyframe (it still conditions "a"), then from the restart point on; nothing else.
    assert plate.reads == [f[2]] + f[8:]
    assert backend.stats.passes == [("forward", f[8], f[-1])]
    assert ((out[f[9]]["a"] > 0) == box_mask(40, 20, 70, 44)).mean() > 0.97
    # Stock-style conditioning on every keyframe: the correction dirties the whole object.
    assert dirty_frames(old, new, "all") == f
    # An unchanged request has nothing dirty; a new object dirties every frame.
    assert dirty_frames(old, old) == []
    more = dict(base, c=[Keyframe(f[5], pts((10, 10, 1)))])
    assert dirty_frames(old, RotoRequest(f, ["a", "b", "c"], more, "both")) == f


def test_plan_passes() -> None:
    f = list(range(1, 11))
    kf = {"a": [Keyframe(3), Keyframe(7)], "b": [Keyframe(5)]}
    both = plan_passes(RotoRequest(f, ["a", "b"], kf, "both"))
    assert [(p.direction, p.order[0], p.order[-1]) for p in both] == [("forward", 2, 9), ("backward", 4, 0)]
    assert both[0].keys == {"a": [2, 6], "b": [4]} and both[1].keys == {"a": [2], "b": [4]}
    assert both[1].active(3) == ["b"] and sorted(both[1].active(2)) == ["a", "b"]
    back = plan_passes(RotoRequest(f, ["a", "b"], kf, "backward"))
    assert [(p.direction, p.order[0]) for p in back] == [("backward", 6)]
    assert back[0].keys == {"a": [6, 2], "b": [4]}


def test_options_are_checked() -> None:
    with pytest.raises(SpecError, match="backend_options.model"):
        create_backend({"model": "huge"})
    with pytest.raises(SpecError, match="backend_options.image_size"):
        create_backend({"model": "tiny", "image_size": 100})
    with pytest.raises(SpecError, match="backend_options.wobble"):
        create_backend({"wobble": 1})
    with pytest.raises(SpecError, match="backend_options.device"):
        create_backend({**OPTIONS, "device": "cuda:7" if torch.cuda.is_available() else "cuda"})


def test_no_torchvision_needed(backend: Sam2Backend) -> None:
    assert "torchvision" not in sys.modules
    assert "sam2.utils.transforms" not in sys.modules


# ----------------------------------------------------------------------------------------------------------------
# Through the roto operation: per-frame outputs on disk, resume after SIGKILL


def write_plate(folder: Path, n: int) -> str:
    from inkpaint.io.frames import write_exr

    plate = SyntheticPlate(n)
    folder.mkdir(parents=True, exist_ok=True)
    for fr in plate.frames:
        rgb = plate.rgb(fr) ** 2.2  # scene-linear EXR: the reader converts it to display RGB
        write_exr(str(folder / f"plate.{fr:04d}.exr"), {"R": rgb[..., 0], "G": rgb[..., 1], "B": rgb[..., 2]})
    return str(folder / "plate.####.exr")


def test_roto_job_writes_per_frame_and_resumes_after_kill(tmp_path: Path) -> None:
    from inkpaint.io.frames import read_channels

    n = 40
    plate = write_plate(tmp_path / "plate", n)
    job = {
        "type": "roto",
        "input": plate,
        "output": str(tmp_path / "roto" / "m.####.exr"),
        "objects": [
            {"name": "square", "prompts": [{"frame": 1001, "points": [[20, 34, 1]]}]},
            {"name": "bar", "prompts": [{"frame": 1001, "box": [58, 2, 88, 16]}]},
        ],
        "backend": "sam2",
        "backend_options": {**OPTIONS, "prefetch": 1},
        "direction": "forward",
    }
    spec = tmp_path / "job.json"
    spec.write_text(json.dumps(job))
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    cmd = [sys.executable, "-m", "inkpaint.cli", "run", str(spec)]
    out_dir = tmp_path / "roto"

    def written() -> list[Path]:
        return sorted(p for p in out_dir.glob("m.*.exr")) if out_dir.exists() else []

    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while len(written()) < 8 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, f"job ended before it could be killed: {proc.communicate()[1].decode()[-2000:]}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = {p.name: p.stat().st_mtime_ns for p in written()}
    assert 8 <= len(first) < n
    # Every file present is whole and carries both objects and the union.
    for p in written():
        ch = read_channels(str(p), ["square.A", "bar.A", "A"])
        assert ch["A"].shape == (H, W)

    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    result = json.loads(r.stdout)
    assert len(written()) == n
    assert len(result["skipped"]) == len(first)
    assert sorted(result["written"]) == [x for x in range(1001, 1001 + n) if f"m.{x:04d}.exr" not in first]
    for name, mtime in first.items():  # frames from the killed run are kept untouched
        assert (out_dir / name).stat().st_mtime_ns == mtime
    for p in written():
        ch = read_channels(str(p), ["square.A", "bar.A", "A"])
        assert np.all((ch["square.A"] > 0.5) & (ch["bar.A"] > 0.5) == 0)  # no overlaps
