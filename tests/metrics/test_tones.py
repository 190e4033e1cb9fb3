"""inkpaint.metrics.tones (and .ink): the Tones rules of metrics.md on arrays, and the synth_dev evaluation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inkpaint.metrics.ink import canny_per_part, gt_boundaries, line_fscore
from inkpaint.metrics.tones import (
    ToneCounts,
    add_flicker,
    add_frame,
    evaluate_shade,
    gt_two_tone,
    kmeans_per_frame,
    load_synth_clip,
    pred_two_tone,
    synth_part_maps,
    write_synth_mattes,
)
from inkpaint.ops.sources import MatteSource


def test_two_tone_merging() -> None:
    assert gt_two_tone(np.array([0, 1, 2, 3, 4])).tolist() == [0, 1, 2, 2, 1]
    assert pred_two_tone(np.array([0, 1, 2, 3, 4])).tolist() == [0, 1, 2, 1, 2]


def test_accuracy_iou_and_flicker_counts() -> None:
    gt = np.array([[1, 1, 2, 2]])
    pred = np.array([[1, 2, 2, 2]])
    mask = np.array([[True, True, True, False]])
    c = ToneCounts()
    add_frame(c, pred, gt, mask)
    assert c.accuracy() == pytest.approx(2 / 3)
    assert c.iou(1) == pytest.approx(1 / 2) and c.iou(2) == pytest.approx(1 / 2)
    plate0 = np.zeros((1, 4, 3), np.uint8)
    plate1 = plate0.copy()
    plate1[0, 3] = 50  # changed plate pixel: not counted
    p0 = np.array([[1, 1, 2, 2]])
    p1 = np.array([[2, 1, 2, 1]])
    m = np.ones((1, 4), bool)
    add_flicker(c, p0, p1, plate0, plate1, m, m)
    assert c.stable == 3 and c.changed == 1 and c.flicker() == pytest.approx(1 / 3)


def test_kmeans_baseline_splits_each_part() -> None:
    plate = np.zeros((10, 20, 3), np.uint8)
    plate[:, :5] = 200
    plate[:, 5:10] = 60
    plate[:, 10:15] = 120
    plate[:, 15:] = 20
    parts = np.zeros((10, 20), np.uint8)
    parts[:, :10] = 1
    parts[:, 10:] = 2
    t = kmeans_per_frame(plate, parts)
    assert (t[:, :5] == 1).all() and (t[:, 5:10] == 2).all() and (t[:, 10:15] == 1).all() and (t[:, 15:] == 2).all()


def test_line_fscore_tolerance() -> None:
    gt = np.zeros((20, 20), bool)
    gt[10, 2:18] = True
    near = np.roll(gt, 2, axis=0)
    far = np.roll(gt, 4, axis=0)
    assert line_fscore(near, gt) == (1.0, 1.0, 1.0)
    assert line_fscore(far, gt)[2] == 0.0
    assert line_fscore(np.zeros_like(gt), np.zeros_like(gt)) == (1.0, 1.0, 1.0)
    assert line_fscore(np.zeros_like(gt), gt) == (0.0, 0.0, 0.0)
    parts = np.zeros((20, 20), np.uint8)
    parts[5:15, 5:15] = 3
    assert line_fscore(canny_per_part(parts), gt_boundaries(parts))[2] > 0.9


def test_synth_mattes_are_roto_style(shared_data: Path, tmp_path: Path) -> None:
    clip = load_synth_clip(shared_data / "synth_dev" / "clip_001")
    names = write_synth_mattes(clip, str(tmp_path / "m.####.exr"))
    src = MatteSource(str(tmp_path / "m.####.exr"), clip.frames)
    assert src.names == names and "skin" in names and "hair" in names
    maps, _ = synth_part_maps(clip)
    assert (src.labels(3) == maps[3]).all()
    pmaps, pnames = synth_part_maps(clip, "palette")
    assert "shirt" in pnames or "jacket" in pnames or "dress" in pnames or len(pnames) > len(names)
    assert ((pmaps > 0) == (clip.label > 0)).all()


def test_shade_beats_per_frame_kmeans_on_one_clip(shared_data: Path, tmp_path: Path) -> None:
    ours, base = evaluate_shade(shared_data / "synth_dev", clips=["clip_002"], work_dir=tmp_path)
    o, b = ours.mean(), base.mean()
    assert o["accuracy"] > b["accuracy"] + 0.1
    assert o["flicker"] * 5 <= b["flicker"]


@pytest.mark.slow
def test_shade_targets_on_synth_dev(shared_data: Path, tmp_path: Path) -> None:
    ours, base = evaluate_shade(shared_data / "synth_dev", work_dir=tmp_path)
    o, b = ours.mean(), base.mean()
    assert o["accuracy"] >= 0.88
    assert o["flicker"] <= 0.004
    assert o["flicker"] * 5 <= b["flicker"]
