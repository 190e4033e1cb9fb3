"""The learned tone method: shipped weights (checksum, accuracy on a synth_dev frame), errors, the tonal channel."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from inkpaint.cel.tonal_model import REBUILD, TONE_MAPS, WEIGHTS, tone_codes
from inkpaint.errors import CheckpointError


def _load_fixture():  # tests/training/fixture.py (tests/ is not a package, so load it by path)
    import importlib.util

    spec = importlib.util.spec_from_file_location("inkpaint_training_fixture", Path(__file__).resolve().parent.parent / "training" / "fixture.py")
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


make_clip = _load_fixture().make_clip


def test_tone_codes_map_the_five_classes() -> None:
    tonal = np.array([[0, 1, 2, 3, 4]], np.uint8)
    assert tone_codes(tonal, 2).tolist() == [[0, 1, 2, 2, 1]]
    assert tone_codes(tonal, 3).tolist() == [[0, 1, 2, 2, 3]]
    assert tone_codes(tonal, 4).tolist() == [[0, 1, 2, 4, 3]]  # cast shadow = second shadow
    per_pixel = np.array([[2, 2, 2, 4, 3]], np.uint8)
    assert tone_codes(tonal, per_pixel).tolist() == [[0, 1, 2, 4, 3]]


def test_shipped_weights_are_small_and_recorded() -> None:
    import json

    side = json.loads(WEIGHTS.with_suffix(".json").read_text())
    assert WEIGHTS.stat().st_size == side["size"] <= 10 * 1024 * 1024
    assert len(side["sha256"]) == 64 and side["training"]["seed"] == 3
    assert (WEIGHTS.parent / "MODEL_CARD.md").is_file()


def test_shipped_weights_predict_a_synth_dev_frame(shared_data: Path) -> None:
    pytest.importorskip("torch", reason="the learned method needs torch")
    pytest.importorskip("safetensors", reason="the learned method needs safetensors")
    from inkpaint.cel.tonal_model import TonalPredictor
    from inkpaint.metrics.tones import load_synth_clip

    clip = load_synth_clip(shared_data / "synth_dev" / "clip_000")
    pred = TonalPredictor(device="cpu", stabilise=False)  # verifies size + SHA-256 on load
    f = 5
    mask = clip.label[f] > 0
    out = pred.predict(clip.plate[f], clip.parts[f] * mask, frame=f)
    assert not out[~mask].any()
    acc5 = float((out[mask] == clip.tone[f][mask]).mean())
    two = np.array([0, 1, 2, 2, 1])
    acc2 = float((two[out[mask]] == two[clip.tone[f][mask]]).mean())
    assert acc5 > 0.85 and acc2 > 0.9, (acc5, acc2)


def test_shot_colour_table_gives_one_answer_per_part_and_colour() -> None:
    from inkpaint.cel.tonal_model import ShotColourTable

    table = ShotColourTable(bits=5)
    rgb = np.array([[0.5, 0.25, 0.125]] * 4 + [[0.875, 0.75, 0.625]], np.float32)  # on bin corners: one bin each
    part = np.array([1, 1, 1, 2, 1])
    groups = np.array([[1, 0, 0], [0, 1, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1]], np.float32)
    out = table.update_and_read(rgb, part, groups, prior=0.0)
    # the three part-1 pixels of one colour share the mean of what the model said about them; part 2 is its own
    np.testing.assert_allclose(out[:3], [[1 / 3, 2 / 3, 0]] * 3, atol=1e-5)
    np.testing.assert_allclose(out[3], [1, 0, 0], atol=1e-5)
    np.testing.assert_allclose(out[4], [0, 0, 1], atol=1e-5)
    # a later frame: the same colour is read from everything seen so far (its own vote with weight ``prior``)
    later = table.update_and_read(rgb[:1], part[:1], np.array([[1, 0, 0]], np.float32), prior=1.0)
    np.testing.assert_allclose(later[0], [(1 + 1 + 1) / 5, 2 / 5, 0], atol=1e-5)


def test_reset_starts_a_new_shot_table(shared_data: Path) -> None:
    pytest.importorskip("torch", reason="the learned method needs torch")
    pytest.importorskip("safetensors", reason="the learned method needs safetensors")
    from inkpaint.cel.tonal_model import TonalPredictor
    from inkpaint.metrics.tones import load_synth_clip

    clip = load_synth_clip(shared_data / "synth_dev" / "clip_000")
    parts = clip.parts * (clip.label > 0)
    pred = TonalPredictor(device="cpu")
    first = pred.predict(clip.plate[0], parts[0], frame=0)
    pred.predict(clip.plate[1], parts[1], frame=1)
    assert pred.table.table[:, 0].sum() > 0
    pred.reset()
    assert not pred.table.table.any()
    np.testing.assert_array_equal(pred.predict(clip.plate[0], parts[0], frame=0), first)  # same as a fresh shot


def test_changed_weights_are_refused_with_the_rebuild_command(tmp_path: Path) -> None:
    pytest.importorskip("torch", reason="the learned method needs torch")
    pytest.importorskip("safetensors", reason="the learned method needs safetensors")
    from inkpaint.cel.tonal_model import TonalPredictor

    w = tmp_path / WEIGHTS.name
    shutil.copy(WEIGHTS, w)
    shutil.copy(WEIGHTS.with_suffix(".json"), w.with_suffix(".json"))
    raw = bytearray(w.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    w.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError) as err:
        TonalPredictor(w, "cpu")
    assert str(w) in str(err.value) and "SHA-256" in str(err.value) and "inkpaint train tonal" in str(err.value)
    assert "inkpaint train tonal" in REBUILD


def _fixture_shot(tmp_path: Path) -> tuple[str, str]:
    from inkpaint.metrics.tones import load_synth_clip, write_synth_mattes

    clip_dir = make_clip(tmp_path / "clip", frames=3, size=96)
    mattes = str(tmp_path / "mattes" / "parts.####.exr")
    write_synth_mattes(load_synth_clip(clip_dir), mattes)
    return str(clip_dir / "plate" / "####.png"), mattes


def _shade(plate: str, mattes: str, out: str, env: dict[str, str] | None = None, pre: str = "") -> subprocess.CompletedProcess[str]:
    code = pre + "import sys; from inkpaint.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, "shade", plate, "--mattes", mattes, "--out", out, "--method", "learned",
                           "--tones", "4", "-q"], capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=300)


def test_tonal_channel_round_trips_through_the_exr_writer(tmp_path: Path) -> None:
    pytest.importorskip("torch", reason="the learned method needs torch")
    pytest.importorskip("safetensors", reason="the learned method needs safetensors")
    import cv2

    from inkpaint.cel.tonal_model import TonalPredictor
    from inkpaint.io.frames import read_image

    plate, mattes = _fixture_shot(tmp_path)
    out = str(tmp_path / "tone" / "shot.####.exr")
    r = _shade(plate, mattes, out)
    assert r.returncode == 0, r.stderr
    pred = TonalPredictor(device="cpu")
    for f in range(3):
        img = read_image(out.replace("####", f"{f:04d}"))
        tonal = np.rint(img.channel("tonal")).astype(np.uint8)
        tone = np.rint(img.channel("tone")).astype(np.uint8)
        parts = cv2.imread(str(tmp_path / "clip" / "parts" / f"{f:04d}.png"), cv2.IMREAD_UNCHANGED)
        rgb = cv2.cvtColor(cv2.imread(plate.replace("####", f"{f:04d}")), cv2.COLOR_BGR2RGB)
        assert set(np.unique(tonal)) <= {0, 1, 2, 3, 4} and not tonal[parts == 0].any() and tonal[parts > 0].all()
        assert np.array_equal(tone, TONE_MAPS[4][tonal])
        direct = pred.predict(rgb, parts, frame=f)
        assert float((direct == tonal).mean()) > 0.99


def test_missing_weights_name_the_file_and_the_training_command(tmp_path: Path) -> None:
    pytest.importorskip("torch", reason="the learned method needs torch")
    plate, mattes = _fixture_shot(tmp_path)
    missing = tmp_path / "nowhere" / "tonal_unet.safetensors"
    r = _shade(plate, mattes, str(tmp_path / "t" / "s.####.exr"), env={"INKPAINT_TONAL_WEIGHTS": str(missing)})
    assert r.returncode == 1
    assert str(missing) in r.stderr and "inkpaint train tonal" in r.stderr


def test_without_torch_learned_fails_with_the_install_command(tmp_path: Path) -> None:
    plate, mattes = _fixture_shot(tmp_path)
    block = ("import importlib.abc, sys\n"
             "class B(importlib.abc.MetaPathFinder):\n"
             "    def find_spec(self, name, path=None, target=None):\n"
             "        if name.split('.')[0] == 'torch': raise ImportError('No module named torch', name='torch')\n"
             "sys.meta_path.insert(0, B())\n")
    r = _shade(plate, mattes, str(tmp_path / "t" / "s.####.exr"), pre=block)
    assert r.returncode == 1, r.stderr
    assert "pip install" in r.stderr and "torch" in r.stderr and "classic" in r.stderr


def test_cel_job_with_the_learned_method_writes_the_tonal_channel(tmp_path: Path) -> None:
    pytest.importorskip("torch", reason="the learned method needs torch")
    pytest.importorskip("safetensors", reason="the learned method needs safetensors")
    import json

    from inkpaint.demo import make_palette, make_plate, make_prompts
    from inkpaint.io.frames import read_image

    folder = tmp_path / "clip"
    folder.mkdir()
    plate, _ = make_plate(folder, 3, (128, 96))
    prompts, pal = make_prompts(folder, (128, 96)), make_palette(folder)
    code = "import sys; from inkpaint.cli import main; sys.exit(main(sys.argv[1:]))"
    r = subprocess.run([sys.executable, "-c", code, "-q", "cel", plate, "--prompts", prompts, "--palette", pal, "--out-dir",
                        str(tmp_path / "cel"), "--method", "learned", "--tones", "3"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["summary"]["stages"]["shade"]["written"] == 3
    img = read_image(str(tmp_path / "cel" / "tone" / "demo.0002.exr"))
    tonal = np.rint(img.channel("tonal")).astype(np.uint8)
    tone = np.rint(img.channel("tone")).astype(np.uint8)
    assert tonal.max() >= 1 and np.array_equal(tone, TONE_MAPS[3][tonal])
