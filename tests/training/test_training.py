"""The training pipeline on a tiny fixture: clip reader errors, loss goes down, resume reproduces, packaging."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from inkpaint.errors import CheckpointError, FrameError, SpecError
from inkpaint.training.clips import find_clips, split_clips

from .fixture import make_dataset

torch = pytest.importorskip("torch", reason="training needs torch (pip install 'inkpaint[sam2]')")
pytest.importorskip("safetensors", reason="packaging needs safetensors")


def test_find_clips_names_the_missing_file(tmp_path: Path) -> None:
    root = make_dataset(tmp_path / "data", clips=2)
    assert [c.name for c in find_clips(root)] == ["clip_000", "clip_001"]
    (root / "clip_001" / "tone" / "0002.png").unlink()
    with pytest.raises(FrameError, match=r"clip_001.*tone.*0002\.png"):
        find_clips(root)
    with pytest.raises(FrameError, match="no line/ folder"):
        find_clips(root / "clip_000", ("plate", "label", "line"))
    with pytest.raises(SpecError, match="no clips"):
        find_clips(tmp_path / "data" / "clip_000" / "tone")


def test_split_holds_out_whole_clips(tmp_path: Path) -> None:
    clips = find_clips(make_dataset(tmp_path / "data", clips=3))
    train, val = split_clips(clips, "0.3", seed=1)
    assert len(val) == 1 and len(train) == 2 and not {c.name for c in val} & {c.name for c in train}
    assert split_clips(clips, "0.3", seed=1)[1][0].name == val[0].name  # deterministic
    train, val = split_clips(clips, "clip_002", seed=0)
    assert [c.name for c in val] == ["clip_002"]
    with pytest.raises(SpecError, match="clip_009"):
        split_clips(clips, "clip_009", seed=0)


def _args(data: Path, out: Path, epochs: int, resume: bool = False) -> argparse.Namespace:
    return argparse.Namespace(data=str(data), val_split="clip_002", out=str(out), epochs=epochs, seed=5, resume=resume,
                              steps_per_epoch=3, batch=2, crop=48, lr=3e-3, width=4, val_frame_step=1, device="cpu", threads=1, in_channels=6)


def test_loss_goes_down_on_a_fixed_batch(tmp_path: Path) -> None:
    from inkpaint.cel.tonal_net import TonalNetConfig, build_tonal_unet
    from inkpaint.training.loop import seed_everything
    from inkpaint.training.tonal import TonalData, _loss, class_weights, sample_crop

    seed_everything(0)
    data = TonalData.load(find_clips(make_dataset(tmp_path / "data", clips=2), ("plate", "tone", "parts", "label")))
    rng = np.random.default_rng(0)
    xs, ys = zip(*(sample_crop(data, rng, 48) for _ in range(4)))
    x, y = torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys))
    w = torch.from_numpy(class_weights(data.class_frequencies()))
    net = build_tonal_unet(TonalNetConfig(width=4))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(12):
        loss = _loss(net, (x, y), w)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.8 * losses[0], losses


def test_resume_reproduces_and_packages(tmp_path: Path) -> None:
    from inkpaint.training.package import load_weights, verify_weights
    from inkpaint.training.tonal import train_tonal

    data = make_dataset(tmp_path / "data", clips=3)
    rec = train_tonal(_args(data, tmp_path / "straight", 2))
    train_tonal(_args(data, tmp_path / "resumed", 1))
    rec2 = train_tonal(_args(data, tmp_path / "resumed", 2, resume=True))
    a = torch.load(tmp_path / "straight" / "checkpoints" / "last.pt", weights_only=True)
    b = torch.load(tmp_path / "resumed" / "checkpoints" / "last.pt", weights_only=True)
    assert a["epoch"] == b["epoch"] == 1
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    log = [json.loads(x) for x in (tmp_path / "resumed" / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [0, 1] and all("miou" in r["val"] and "train_loss" in r for r in log)
    assert rec["validation"] == rec2["validation"]  # same best checkpoint (the file differs only in its card: out dir, time)
    # packaged weights: sidecar records size + SHA-256; a changed byte is refused naming the file and the command
    weights = tmp_path / "resumed" / "tonal_unet.safetensors"
    sd, side = load_weights(weights, "REBUILD-CMD")
    assert side["size"] == weights.stat().st_size and "training" in side and (tmp_path / "resumed" / "MODEL_CARD.md").exists()
    raw = bytearray(weights.read_bytes())
    raw[-1] ^= 0xFF
    weights.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match=r"tonal_unet\.safetensors.*SHA-256.*REBUILD-CMD"):
        verify_weights(weights, "REBUILD-CMD")
    weights.unlink()
    with pytest.raises(CheckpointError, match=r"missing.*REBUILD-CMD"):
        verify_weights(weights, "REBUILD-CMD")


def test_resume_without_checkpoint_is_refused(tmp_path: Path) -> None:
    from inkpaint.training.tonal import train_tonal

    data = make_dataset(tmp_path / "data", clips=3)
    with pytest.raises(SpecError, match="no checkpoint"):
        train_tonal(_args(data, tmp_path / "none", 1, resume=True))


def test_fine_tune_starts_from_packaged_weights_and_trains_on_extra_clips(tmp_path: Path) -> None:
    from inkpaint.training.package import load_weights
    from inkpaint.training.tonal import train_command, train_tonal

    data = make_dataset(tmp_path / "data", clips=3)
    extra = make_dataset(tmp_path / "extra", clips=1)
    train_tonal(_args(data, tmp_path / "base", 1))
    base = tmp_path / "base" / "tonal_unet.safetensors"
    args = _args(data, tmp_path / "tuned", 1)
    args.init, args.extra_data, args.lr = str(base), [str(extra)], 0.0  # lr 0: the weights must stay the init's
    rec = train_tonal(args)
    assert rec["training"]["init"] == str(base) and rec["training"]["val_clips"] == ["clip_002"]
    assert len(rec["training"]["train_clips"]) == 3  # clip_000, clip_001 + the extra clip; never the held-out one
    a, _ = load_weights(base, "x")
    b, _ = load_weights(tmp_path / "tuned" / "tonal_unet.safetensors", "x")
    convs = [k for k in a if a[k].ndim == 4]  # conv kernels (batch-norm statistics still move with lr 0)
    assert convs and all(torch.equal(a[k], b[k]) for k in convs)
    assert "--init" in train_command(args) and "--extra-data" in train_command(args)
    wrong = _args(data, tmp_path / "wrong", 1)
    wrong.init, wrong.width = str(base), 8
    with pytest.raises(SpecError, match="--init"):
        train_tonal(wrong)
