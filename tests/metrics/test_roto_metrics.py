"""inkpaint.metrics.roto: DAVIS J, F and J&F (metrics.md) on arrays with known answers, and `inkpaint eval roto`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from inkpaint.errors import FrameError
from inkpaint.io.frames import write_exr, write_png
from inkpaint.metrics.roto import (
    boundary_f_measure,
    boundary_map,
    boundary_tolerance,
    disk,
    evaluate,
    region_similarity,
)


def _rect(h: int, w: int, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[y0:y1, x0:x1] = True
    return m


def test_region_similarity_known_values() -> None:
    a = _rect(10, 10, 0, 4, 0, 4)  # 16 px
    b = _rect(10, 10, 2, 6, 2, 6)  # 16 px, overlap 2x2 = 4
    assert region_similarity(a, b) == pytest.approx(4 / 28)
    assert region_similarity(a, a) == 1.0
    assert region_similarity(a, np.zeros_like(a)) == 0.0
    empty = np.zeros((5, 5), bool)
    assert region_similarity(empty, empty) == 1.0  # both empty: J = 1
    with pytest.raises(ValueError):
        region_similarity(a, a[:5])


def test_boundary_map_is_davis_seg2bmap() -> None:
    m = _rect(6, 6, 1, 4, 1, 4)
    b = boundary_map(m)
    # seg2bmap marks a pixel that differs from its east, south or south-east neighbour.
    expected = np.array([
        [1, 1, 1, 1, 0, 0],
        [1, 0, 0, 1, 0, 0],
        [1, 0, 0, 1, 0, 0],
        [1, 1, 1, 1, 0, 0],
        [0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0],
    ], bool)
    # Check against a direct transcription of the toolkit's rule.
    e, s, se = np.zeros_like(m), np.zeros_like(m), np.zeros_like(m)
    e[:, :-1] = m[:, 1:]
    s[:-1, :] = m[1:, :]
    se[:-1, :-1] = m[1:, 1:]
    ref = (m ^ e) | (m ^ s) | (m ^ se)
    ref[-1, :] = m[-1, :] ^ e[-1, :]
    ref[:, -1] = m[:, -1] ^ s[:, -1]
    ref[-1, -1] = False
    assert np.array_equal(b, ref)
    assert np.array_equal(b, expected)
    assert not boundary_map(np.zeros((4, 4), bool)).any()


def test_tolerance_and_disk() -> None:
    assert boundary_tolerance((480, 854)) == 8  # ceil(0.008 * 979.6)
    assert boundary_tolerance((1080, 1920)) == 18
    d = disk(2)
    assert d.shape == (5, 5) and d.sum() == 13  # skimage.morphology.disk(2)


def test_boundary_f_known_values() -> None:
    h, w = 100, 100  # tolerance ceil(0.008 * 141.4) = 2
    gt = _rect(h, w, 20, 60, 20, 60)
    assert boundary_f_measure(gt, gt) == 1.0
    # A shift within the tolerance matches every boundary pixel; far beyond it matches none.
    assert boundary_f_measure(np.roll(gt, 2, axis=1), gt) == pytest.approx(1.0)
    assert boundary_f_measure(_rect(h, w, 70, 90, 70, 90), gt) == 0.0
    # Part of the predicted boundary matches: a second, far-away box touching the GT's corner.
    pred = gt | _rect(h, w, 62, 102, 62, 102)[:h, :w]
    bp, bg = boundary_map(pred), boundary_map(gt)
    f = boundary_f_measure(pred, gt)
    assert 0.0 < f < 1.0
    # Cross-check by brute force: boundary pixels within Euclidean distance 2 of the other boundary.
    yp, xp = np.nonzero(bp)
    yg, xg = np.nonzero(bg)
    d2 = (yp[:, None] - yg[None, :]) ** 2 + (xp[:, None] - xg[None, :]) ** 2
    prec = np.mean(d2.min(axis=1) <= 4)
    rec = np.mean(d2.min(axis=0) <= 4)
    assert f == pytest.approx(2 * prec * rec / (prec + rec))
    # Empty-boundary conventions of the DAVIS toolkit.
    empty = np.zeros((h, w), bool)
    assert boundary_f_measure(empty, empty) == 1.0
    assert boundary_f_measure(empty, gt) == 0.0
    assert boundary_f_measure(gt, empty) == 0.0


def _write_clip(tmp_path: Path) -> tuple[str, str, dict[int, tuple[float, float]]]:
    """GT PNGs and predicted EXRs for 5 frames; returns patterns and the expected (J, F) of frames 1..3."""
    h, w = 40, 60  # tolerance ceil(0.008 * 72.1) = 1
    (tmp_path / "gt").mkdir()
    (tmp_path / "pred").mkdir()
    expected = {}
    for f in range(5):
        gt = _rect(h, w, 10, 30, 10 + 2 * f, 30 + 2 * f)
        if f in (0, 4):
            pred = np.zeros((h, w), bool)  # the first and last frames are wrong, but not scored
        elif f == 1:
            pred = gt.copy()
            expected[f] = (1.0, 1.0)
        elif f == 2:
            pred = _rect(h, w, 10, 30, 10 + 2 * f + 10, 30 + 2 * f + 10)  # 10 px shift: J = 200 / 600
            expected[f] = (200 / 600, boundary_f_measure(pred, gt))
        else:
            pred = np.zeros((h, w), bool)
            expected[f] = (0.0, 0.0)
        write_png(str(tmp_path / "gt" / f"{f:05d}.png"), (gt * 255).astype(np.uint8))
        write_exr(str(tmp_path / "pred" / f"{f + 1000:04d}.exr"), {"dancer.A": pred.astype(np.float32), "A": pred.astype(np.float32)})
    return str(tmp_path / "pred" / "####.exr"), str(tmp_path / "gt" / "%05d.png"), expected


def test_evaluate_tiny_clip_known_answer(tmp_path: Path) -> None:
    pred, gt, expected = _write_clip(tmp_path)
    scores = evaluate(pred, gt, channel="dancer.A", frame_offset=1000)
    seq = scores.sequences[0]
    assert seq.frames == [1, 2, 3]
    assert seq.j == pytest.approx([expected[f][0] for f in (1, 2, 3)])
    assert seq.f == pytest.approx([expected[f][1] for f in (1, 2, 3)])
    j = np.mean([expected[f][0] for f in (1, 2, 3)])
    fm = np.mean([expected[f][1] for f in (1, 2, 3)])
    assert scores.jf == pytest.approx((j + fm) / 2)
    with pytest.raises(FrameError, match="channel 'nope'"):
        evaluate(pred, gt, channel="nope", frame_offset=1000)
    with pytest.raises(FrameError, match="missing"):
        evaluate(pred, gt, frame_offset=0)


def test_cli_multi_sequence(tmp_path: Path, inkpaint_exe: list[str]) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        _write_clip(tmp_path / name)
    pred = str(tmp_path / "{seq}" / "pred" / "####.exr")
    gt = str(tmp_path / "{seq}" / "gt" / "%05d.png")
    ref = evaluate(pred, gt, sequences=["a", "b"], frame_offset=1000)
    r = subprocess.run([*inkpaint_exe, "eval", "roto", "--pred", pred, "--gt", gt, "--sequences", "a,b",
                        "--frame-offset", "1000", "--json"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert [s["sequence"] for s in out["sequences"]] == ["a", "b"]
    assert out["mean"]["J&F"] == pytest.approx(ref.jf, abs=1e-6)
    assert out["sequences"][0]["frames_scored"] == 3
    r = subprocess.run([*inkpaint_exe, "eval", "roto", "--pred", pred, "--gt", gt, "--frame-offset", "1000"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:5] == ["sequence", "frames", "J-mean", "F-mean", "J&F-mean"]
    assert [ln.split()[0] for ln in lines[1:]] == ["a", "b", "mean"]  # folders discovered from the GT pattern
    assert float(lines[-1].split()[4]) == pytest.approx(ref.jf, abs=1e-3)
