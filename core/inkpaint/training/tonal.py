"""``inkpaint train tonal``: train the five-class tonal segmenter (seed 003) on clips in the synth format.

Data: every clip under ``--data`` with ``plate/``, ``tone/``, ``parts/`` and ``label/`` (see
:mod:`inkpaint.training.clips`); whole clips are held out for validation (``--val-split``) and pick the shipped
checkpoint (best 5-class mean IoU over classes 1-4 on them). Never point ``--data`` at an evaluation set.

Training samples are random crops (``--crop`` px, centred on a character pixel 90 % of the time) at a random scale
(0.6-1.3x, so other resolutions and character sizes are seen), flipped left/right, with plate colour jitter
(per-channel gain, gamma) and the part-boundary plane dropped 20 % of the time (mattes that are one object).
Loss: class-balanced cross-entropy inside the character mask (weights ``frequency ** -0.5`` measured on the
training clips) plus 0.5 x soft Dice over classes 1-4 (which tracks IoU on the rare classes).

The run folder gets ``log.jsonl``, ``checkpoints/`` and, at the end, the packaged ``tonal_unet.safetensors`` +
``tonal_unet.json`` (sidecar with size, SHA-256 and the model card data) + ``MODEL_CARD.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import platform
import shlex
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..cel.tonal_net import CLASS_NAMES, N_CLASSES, TonalNetConfig, build_tonal_unet, relative_lightness, tonal_features
from .clips import ClipInfo, find_clips, load_clip, split_clips
from .loop import add_run_options

log = logging.getLogger("inkpaint.training.tonal")

MAPS = ("plate", "tone", "parts", "label")
WEIGHTS_NAME = "tonal_unet.safetensors"


@dataclasses.dataclass
class TonalData:
    """Frames of several clips held in memory.

    Attributes:
        plate: ``(N, H, W, 3)`` uint8 sRGB.
        parts: ``(N, H, W)`` uint8 part category (0 outside the characters).
        tone: ``(N, H, W)`` uint8 tonal class 0..4.
        mask: ``(N, H, W)`` bool character mask (``label > 0``).
        clip_of: ``(N,)`` clip index of each frame.
        names: clip names.
        rel: ``(N, H, W)`` float16 relative lightness per frame (6-plane networks), else ``None``.
    """

    plate: np.ndarray
    parts: np.ndarray
    tone: np.ndarray
    mask: np.ndarray
    clip_of: np.ndarray
    names: list[str]
    rel: np.ndarray | None = None

    @property
    def channels(self) -> int:
        return 5 if self.rel is None else 6

    @classmethod
    def load(cls, clips: list[ClipInfo], frame_step: int = 1, channels: int = 5) -> "TonalData":
        pl, pa, to, ma, co = [], [], [], [], []
        for i, c in enumerate(clips):
            d = load_clip(c, MAPS, c.frames[::frame_step])
            m = d["label"] > 0
            pl.append(d["plate"])
            pa.append(np.where(m, d["parts"], 0).astype(np.uint8))
            to.append(d["tone"].astype(np.uint8))
            ma.append(m)
            co.append(np.full(len(m), i))
        data = cls(np.concatenate(pl), np.concatenate(pa), np.concatenate(to), np.concatenate(ma), np.concatenate(co), [c.name for c in clips])
        if channels == 6:
            data.rel = np.stack([relative_lightness(data.plate[i], data.parts[i]) for i in range(len(data.plate))]).astype(np.float16)
        return data

    def class_frequencies(self) -> np.ndarray:
        """In-mask frequency of classes 1..4, ``(4,)``."""
        counts = np.bincount(self.tone[self.mask].ravel(), minlength=5)[1:5].astype(np.float64)
        return counts / max(1.0, counts.sum())


def class_weights(freq: np.ndarray) -> np.ndarray:
    """``freq ** -0.5``, normalised so the expected weight of a pixel is 1 (classes absent get weight 0)."""
    w = np.where(freq > 0, np.maximum(freq, 1e-6) ** -0.5, 0.0)
    return (w / max(1e-12, float((w * freq).sum()))).astype(np.float32)


def sample_crop(data: TonalData, rng: np.random.Generator, crop: int, *, scale_range: tuple[float, float] = (0.6, 1.3), jitter: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """One training sample: ``(features (5, crop, crop) float32, target (crop, crop) int64)``.

    Target is the tonal class - 1 inside the character mask and -100 (ignored) outside.
    """
    i = int(rng.integers(len(data.plate)))
    H, W = data.mask.shape[1:]
    s = float(np.exp(rng.uniform(np.log(scale_range[0]), np.log(scale_range[1]))))
    src = crop / s
    ys, xs = np.nonzero(data.mask[i]) if rng.random() < 0.9 else (np.array([]), np.array([]))
    if len(ys):
        j = int(rng.integers(len(ys)))
        cy, cx = float(ys[j]), float(xs[j])
        cy += rng.uniform(-0.3, 0.3) * src
        cx += rng.uniform(-0.3, 0.3) * src
    else:
        cy, cx = rng.uniform(0, H), rng.uniform(0, W)
    # affine map from output crop pixels to source pixels
    flip = rng.random() < 0.5
    a = 1.0 / s
    M = np.array([[-a if flip else a, 0.0, cx + (src / 2 if flip else -src / 2)], [0.0, a, cy - src / 2]], np.float64)
    # shift so output pixel centres map to source pixel centres
    M[:, 2] += M[:, :2] @ np.array([0.5, 0.5]) - 0.5
    flags = cv2.WARP_INVERSE_MAP
    plate = cv2.warpAffine(data.plate[i], M, (crop, crop), flags=cv2.INTER_LINEAR | flags, borderMode=cv2.BORDER_REFLECT)
    parts = cv2.warpAffine(data.parts[i], M, (crop, crop), flags=cv2.INTER_NEAREST | flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    tone = cv2.warpAffine(data.tone[i], M, (crop, crop), flags=cv2.INTER_NEAREST | flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    rel = None
    if data.rel is not None:  # computed on the whole frame (whole parts), warped like the plate
        rel = cv2.warpAffine(data.rel[i].astype(np.float32), M, (crop, crop), flags=cv2.INTER_LINEAR | flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        rel[parts == 0] = 0.0
    x = plate.astype(np.float32) / 255.0
    if jitter:
        gain = rng.uniform(0.85, 1.15, 3).astype(np.float32) * np.float32(rng.uniform(0.85, 1.15))
        gamma = np.float32(np.exp(rng.uniform(np.log(0.8), np.log(1.25))))
        x = np.clip(x * gain, 0, 1) ** gamma
        if rel is not None:
            rel = np.clip(rel * gamma, -2.0, 2.0)  # log(Y^g) = g log Y: a gamma scales relative log lightness
    feats = tonal_features(x, parts, boundaries=not (jitter and rng.random() < 0.2), channels=data.channels, rel=rel)
    target = np.where(parts > 0, tone.astype(np.int64) - 1, -100)
    target[(parts > 0) & (tone == 0)] = -100
    return feats, target


class Confusion:
    """5x5 confusion counts inside the mask (rows = ground truth, columns = prediction)."""

    def __init__(self) -> None:
        self.m = np.zeros((5, 5), np.int64)

    def add(self, pred: np.ndarray, gt: np.ndarray, mask: np.ndarray) -> None:
        self.m += np.bincount(gt[mask].astype(np.int64) * 5 + pred[mask].astype(np.int64), minlength=25).reshape(5, 5)

    def metrics(self) -> dict[str, float]:
        m = self.m
        total = max(1, int(m.sum()))
        out: dict[str, float] = {"acc5": float(np.trace(m)) / total}
        ious = []
        for k in range(1, 5):
            u = m[k, :].sum() + m[:, k].sum() - m[k, k]
            iou = float(m[k, k] / u) if u else float("nan")
            out[f"iou{k}"] = iou
            if u:
                ious.append(iou)
        out["miou"] = float(np.mean(ious)) if ious else float("nan")
        lit_g = m[[1, 4], :].sum(0)
        sh_g = m[[2, 3], :].sum(0)
        two = lit_g[[0, 1, 4]].sum() + sh_g[[2, 3]].sum()
        out["acc2"] = float(two) / total
        return out


def predict_frames(model: Any, plate: np.ndarray, parts: np.ndarray, batch: int = 4, channels: int = 5) -> np.ndarray:
    """Classes 0..4 of frames at their own resolution (0 outside the parts): ``(N, H, W)`` uint8."""
    import torch

    dev = next(model.parameters()).device
    out = np.zeros(parts.shape, np.uint8)
    for s in range(0, len(plate), batch):
        x = np.stack([tonal_features(plate[i], parts[i], channels=channels) for i in range(s, min(len(plate), s + batch))])
        with torch.no_grad():
            logits = model(torch.from_numpy(x).to(dev))
        cls = logits.argmax(1).cpu().numpy().astype(np.uint8) + 1
        out[s : s + len(x)] = np.where(parts[s : s + len(x)] > 0, cls, 0)
    return out


def _loss(model: Any, batch: tuple[Any, Any], weights: Any) -> Any:
    import torch
    from torch.nn import functional as F

    x, y = batch
    logits = model(x)
    ce = F.cross_entropy(logits, y, weight=weights, ignore_index=-100)
    valid = (y >= 0).unsqueeze(1)
    prob = logits.softmax(1) * valid
    onehot = F.one_hot(y.clamp(min=0), N_CLASSES).permute(0, 3, 1, 2).to(prob.dtype) * valid
    inter = (prob * onehot).sum((0, 2, 3))
    denom = prob.sum((0, 2, 3)) + onehot.sum((0, 2, 3))
    present = onehot.sum((0, 2, 3)) > 0
    dice = 1 - (2 * inter + 1) / (denom + 1)
    dice = dice[present].mean() if bool(present.any()) else torch.zeros((), device=logits.device)
    return ce + 0.5 * dice


def train_tonal(args: argparse.Namespace) -> dict[str, Any]:
    """Run the training described by the CLI arguments; returns the packaged weights' sidecar record."""
    import torch

    from .loop import fit, load_checkpoint, pick_device, seed_everything
    from .package import export_weights

    if args.threads:
        torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    device = pick_device(args.device)
    clips = find_clips(args.data, MAPS)
    train_clips, val_clips = split_clips(clips, args.val_split, args.seed)
    for extra in getattr(args, "extra_data", None) or []:  # training only: the held-out split stays on --data
        train_clips += find_clips(extra, MAPS)
    t0 = time.perf_counter()
    train = TonalData.load(train_clips, channels=args.in_channels)
    val = TonalData.load(val_clips, frame_step=args.val_frame_step, channels=args.in_channels) if val_clips else None
    log.info("data: %d train clips (%d frames), %d val clips; loaded in %.1f s", len(train_clips), len(train.plate), len(val_clips), time.perf_counter() - t0)
    freq = train.class_frequencies()
    weights = class_weights(freq)
    cfg = TonalNetConfig(width=args.width, in_channels=args.in_channels)
    model = build_tonal_unet(cfg)
    init = getattr(args, "init", None)
    if init:  # fine-tune: start from packaged weights (checksum verified), e.g. the shipped ones
        from ..errors import SpecError
        from .package import load_weights

        sd, rec = load_weights(init, "inkpaint train tonal ... (the run that made these weights)")
        if TonalNetConfig.from_dict(rec.get("net", {})) != cfg:
            raise SpecError("--init", f"'{init}' holds a net {rec.get('net')}, this run builds {cfg.to_dict()} (--width/--in-channels)")
        model.load_state_dict(sd)
    model = model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    wt = torch.from_numpy(weights).to(device)
    config = {
        "task": "tonal", "data": str(Path(args.data).resolve()), "train_clips": [c.name for c in train_clips],
        "val_clips": [c.name for c in val_clips], "seed": args.seed, "epochs": args.epochs, "steps_per_epoch": args.steps_per_epoch,
        "batch": args.batch, "crop": args.crop, "lr": args.lr, "net": cfg.to_dict(), "class_weights": weights.tolist(),
    }
    if init:
        config["init"] = str(Path(init).resolve())
    if getattr(args, "extra_data", None):
        config["extra_data"] = [str(Path(e).resolve()) for e in args.extra_data]

    def train_epoch(epoch: int, rng: np.random.Generator):
        for _ in range(args.steps_per_epoch):
            xs, ys = zip(*(sample_crop(train, rng, args.crop) for _ in range(args.batch)))
            yield torch.from_numpy(np.stack(xs)).to(device), torch.from_numpy(np.stack(ys)).to(device)

    def validate(m: Any) -> dict[str, float]:
        if val is None:
            return {"miou": float("nan")}
        conf = Confusion()
        pred = predict_frames(m, val.plate, val.parts, channels=val.channels)
        for i in range(len(pred)):
            conf.add(pred[i], val.tone[i], val.mask[i])
        return {k: round(v, 5) for k, v in conf.metrics().items()}

    fit(model=model, optimizer=optimizer, train_epoch=train_epoch, loss_fn=lambda m, b: _loss(m, b, wt), validate=validate,
        out_dir=args.out, epochs=args.epochs, seed=args.seed, steps_per_epoch=args.steps_per_epoch, base_lr=args.lr,
        score_key="miou", config=config, resume=args.resume)
    out = Path(args.out)
    best = load_checkpoint(out / "checkpoints" / "best.pt")
    log_lines = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines() if x.strip()]
    card = {
        "model": "inkpaint tonal U-Net (after seed 003)",
        "classes": {str(k): v for k, v in CLASS_NAMES.items()},
        "input": "display-sRGB plate (3) + union of part mattes (1) + part-boundary map (1)" + (" + lightness relative to the part mean (1)" if args.in_channels == 6 else "") + ", at the working resolution",
        "net": cfg.to_dict(),
        "params": int(sum(p.numel() for p in model.parameters())),
        "training": {
            "data": str(args.data), "extra_data": [str(e) for e in getattr(args, "extra_data", None) or []],
            "init": str(init) if init else None, "train_clips": config["train_clips"], "val_clips": config["val_clips"], "seed": args.seed,
            "epochs": args.epochs, "best_epoch": int(best["epoch"]), "steps_per_epoch": args.steps_per_epoch, "batch": args.batch,
            "crop": args.crop, "lr": args.lr, "class_frequencies": [round(float(f), 5) for f in freq],
            "class_weights": [round(float(w), 4) for w in weights], "device": str(device), "threads": torch.get_num_threads(),
            "train_seconds": log_lines[-1]["elapsed"] if log_lines else None, "torch": torch.__version__,
            "machine": platform.machine(), "command": train_command(args),
        },
        "validation": best["val"],
        "licence": "same licence as inkpaint; trained only on data generated by ../shared/tools/synth",
    }
    rec = export_weights(best["model"], out / WEIGHTS_NAME, card)
    (out / "MODEL_CARD.md").write_text(model_card_markdown(rec), encoding="utf-8")
    log.info("packaged %s (%d bytes, sha256 %s), best epoch %d val %s", out / WEIGHTS_NAME, rec["size"], rec["sha256"], best["epoch"], best["val"])
    return rec


def train_command(args: argparse.Namespace) -> str:
    """The ``inkpaint train tonal`` command line that reproduces this run."""
    parts = ["inkpaint", "train", "tonal", "--data", str(args.data), "--val-split", str(args.val_split), "--out", str(args.out),
             "--epochs", str(args.epochs), "--seed", str(args.seed), "--steps-per-epoch", str(args.steps_per_epoch),
             "--batch", str(args.batch), "--crop", str(args.crop), "--lr", str(args.lr), "--width", str(args.width), "--in-channels", str(args.in_channels),
             "--val-frame-step", str(args.val_frame_step)]
    for extra in getattr(args, "extra_data", None) or []:
        parts += ["--extra-data", str(extra)]
    if getattr(args, "init", None):
        parts += ["--init", str(args.init)]
    return " ".join(shlex.quote(p) for p in parts)


def model_card_markdown(rec: dict[str, Any]) -> str:
    """A human-readable model card from a sidecar record."""
    t = rec.get("training", {})
    v = rec.get("validation", {})
    lines = [
        f"# {rec.get('model', 'model')}", "",
        f"- File: `{rec['file']}` ({rec['size']} bytes), SHA-256 `{rec['sha256']}` (verified on every load).",
        f"- Architecture: {json.dumps(rec.get('net'))}, {rec.get('params')} parameters.",
        f"- Input: {rec.get('input')}.",
        f"- Classes: {json.dumps(rec.get('classes'))} (class 0 = outside the mattes, not predicted).",
        f"- Data: `{t.get('data')}`; train clips {len(t.get('train_clips', []))}, held-out validation clips {', '.join(t.get('val_clips', []))}.",
        f"- Seed {t.get('seed')}, {t.get('epochs')} epochs x {t.get('steps_per_epoch')} steps x batch {t.get('batch')} crops of {t.get('crop')} px, "
        f"best epoch {t.get('best_epoch')}; {t.get('train_seconds')} s on {t.get('device')} ({t.get('threads')} threads), torch {t.get('torch')}.",
        f"- Command: `{t.get('command')}`",
        f"- Validation (held-out synth_train clips, in-mask): {json.dumps(v)}",
        f"- Licence: {rec.get('licence')}.", "",
    ]
    return "\n".join(lines)


def add_cli(sub: argparse._SubParsersAction) -> None:
    """``inkpaint train tonal``."""
    p = sub.add_parser("tonal", help="train the five-class tonal segmenter (seed 003) on clips in the synth format")
    add_run_options(p, data_help="folder of clips (plate/, tone/, parts/, label/ per clip, any depth)", epochs=36, seed=3, steps_per_epoch=50)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--crop", type=int, default=224, help="training crop size in px (default 224)")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--width", type=int, default=16, help="U-Net width at half resolution (default 16)")
    p.add_argument("--in-channels", type=int, choices=[5, 6], default=6, help="input planes: 5 = plate, matte, part "
                   "boundaries; 6 = + lightness relative to the part's mean (default 6)")
    p.add_argument("--val-frame-step", type=int, default=3, help="validate on every Nth frame of the held-out clips")
    p.add_argument("--device", default="auto", help="auto (CUDA, else MPS, else CPU), cuda, cuda:N, mps, cpu")
    p.add_argument("--extra-data", action="append", default=[], metavar="DIR",
                   help="more clip folders for training only (repeatable); validation stays on --data's held-out clips")
    p.add_argument("--init", default=None, metavar="WEIGHTS",
                   help="start from these packaged weights (.safetensors + sidecar, checksum verified; e.g. the shipped "
                        "core/inkpaint/weights/tonal_unet.safetensors) instead of random ones: fine-tuning")
    p.set_defaults(handler=_cmd_train)


def _cmd_train(args: argparse.Namespace) -> int:
    from .loop import run_training

    return run_training(train_tonal, args, Path(args.out) / WEIGHTS_NAME)
