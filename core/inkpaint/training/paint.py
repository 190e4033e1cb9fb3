"""``inkpaint train paint``: train the learned inclusion matcher (:mod:`inkpaint.paint.matcher`, seed 002).

Data: every clip under ``--data`` with ``line/``, ``gt/`` and a ``colorbook.yml`` (the synth format); whole clips are
held out for validation (``--val-split``) and pick the shipped checkpoint. Never point ``--data`` at an evaluation
set (synth_dev).

A training sample is a frame pair 0-2 frames apart (either order) of one clip. Half of the pairs are clean (the
target shifted by a whole number of px, which keeps the line art exact); the other half thicken both frames' line art
by a 3x3 min-pool (dark ink wins, so lines never vanish) and move the target by a random rotation (+-12 deg),
scale (0.85-1.15x) and translation (+-6 %) with nearest sampling. Reference colours are the ground truth snapped to
the clip's colorbook (as the paint op reads a keyframe); the classical path runs on the pair exactly as at inference
(DIS flow, vote, second pass, colour-line tones, tiny segments) and its result is an input of the matcher.

Loss (inclusion matching): per target segment, ``-log`` of the summed probability of the candidates whose colour is
the segment's ground-truth colour, or of the dustbin when no candidate has it; mean over segments.
Validation: segment accuracy of the matcher's colours (and of the classical colours, for reference) on consecutive
pairs of the held-out clips.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import shlex
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..paint.matcher import (WEIGHTS, MatcherConfig, PairInputs, build_matcher, colour_probabilities, pair_inputs,
                             to_tensors)
from .clips import ClipInfo, find_clips, read_map, split_clips
from .loop import add_run_options

log = logging.getLogger("inkpaint.training.paint")

MAPS = ("line", "gt")
WEIGHTS_NAME = WEIGHTS.name


class PaintClips:
    """Line art, ground truth and colour table of the clips, read lazily and cached (numpy only)."""

    def __init__(self, clips: list[ClipInfo]) -> None:
        from ..paint.colours import ColourTable
        from ..palette import load_palette

        self.clips = clips
        self.tables = []
        for c in clips:
            pal = c.path / "colorbook.yml"
            self.tables.append(ColourTable.create(load_palette(pal) if pal.exists() else None))
        self._img: dict[tuple[int, str, int], np.ndarray] = {}

    def image(self, ci: int, name: str, frame: int) -> np.ndarray:
        key = (ci, name, frame)
        if key not in self._img:
            self._img[key] = read_map(self.clips[ci], name, frame)
        return self._img[key]


def _affine(rng: np.random.Generator, shape: tuple[int, int], strong: bool) -> np.ndarray:
    h, w = shape
    if not strong:
        dx, dy = (int(v) for v in rng.integers(-10, 11, 2))
        return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]])
    ang = rng.uniform(-12, 12)
    s = float(np.exp(rng.uniform(np.log(0.85), np.log(1.15))))
    M = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), ang, s)
    M[:, 2] += rng.uniform(-0.06, 0.06, 2) * np.array([w, h])
    return M


def make_pair(data: PaintClips, ci: int, a: int, b: int,
              rng: np.random.Generator | None) -> tuple[PairInputs, np.ndarray, np.ndarray] | None:
    """One training/validation sample: the matcher inputs, the target's ground-truth colour per segment
    (``(nt + 1,)`` int64, -1 unknown) and the classical colour per segment. ``rng=None``: no augmentation. ``None``
    when a frame has no segments."""
    from ..paint.colours import colours_from_image
    from ..paint.propagate import (METHOD_KEY, FrameColours, TINY_SEGMENT, dense_flow, flow_image, propagate_colours,
                                   tiny_rule_agreement, tiny_rule_holds)
    from ..paint.segments import segment_lines
    from ..paint.shading import ToneModel

    table = data.tables[ci]
    lr, gr = data.image(ci, "line", a), data.image(ci, "gt", a)
    lt, gtt = data.image(ci, "line", b), data.image(ci, "gt", b)
    if rng is not None:
        strong = bool(rng.random() < 0.5)
        if strong:
            k = np.ones((3, 3), np.uint8)
            lr, lt = cv2.erode(lr, k), cv2.erode(lt, k)
        M = _affine(rng, lt.shape[:2], strong)
        h, w = lt.shape[:2]
        lt = cv2.warpAffine(lt, M, (w, h), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=(255, 255, 255))
        gtt = cv2.warpAffine(gtt, M, (w, h), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=(255, 255, 255))
    ref = segment_lines(lr.astype(np.float32) / 255.0, ["R", "G", "B"])
    tgt = segment_lines(lt.astype(np.float32) / 255.0, ["R", "G", "B"])
    if ref.n == 0 or tgt.n == 0:
        return None
    kc = colours_from_image(ref, gr, table)
    idx = kc.index.astype(np.int32)
    ref_col = FrameColours(idx, np.where(idx >= 0, 1.0, 0.0).astype(np.float32), np.where(idx >= 0, METHOD_KEY, 0).astype(np.uint8))
    gt_idx = colours_from_image(tgt, gtt, table).index.astype(np.int64)
    agree, ev = tiny_rule_agreement(ref, ref_col, TINY_SEGMENT, same_rgb=table.rgb_ids())
    flow = dense_flow(flow_image(tgt), flow_image(ref))
    classic = propagate_colours(ref, ref_col, tgt, len(table), confidence=0.5, flow=flow, tones=ToneModel.from_table(table),
                                line_strength=3.0, tiny=TINY_SEGMENT if tiny_rule_holds(agree, ev) else 0)
    inputs = pair_inputs(ref, ref_col, tgt, table.rgb, flow, classic)
    gt_idx[0] = -1
    return inputs, gt_idx, classic.index


def pair_loss(logits: Any, inputs: dict[str, Any], gt: Any) -> Any:
    """Inclusion-matching loss of one pair (see the module docstring)."""
    import torch

    logp = torch.log_softmax(logits, 1)
    pos = (inputs["cand_colour"] == gt[:, None]) & inputs["cand_valid"]
    has = pos.any(1)
    lp_pos = torch.logsumexp(logp[:, :-1].masked_fill(~pos, -1e4), 1)
    per = -torch.where(has, lp_pos, logp[:, -1])
    keep = gt >= 0
    keep[0] = False
    return per[keep].mean() if bool(keep.any()) else logits.sum() * 0.0


def _sample_frames(clip: ClipInfo, rng: np.random.Generator) -> tuple[int, int]:
    fr = clip.frames
    i = int(rng.integers(len(fr)))
    d = int(rng.integers(0, 3))
    j = i + d if rng.random() < 0.5 else i - d
    j = int(np.clip(j, 0, len(fr) - 1))
    return fr[i], fr[j]


def train_paint(args: argparse.Namespace) -> dict[str, Any]:
    """Run the training described by the CLI arguments; returns the packaged weights' sidecar record."""
    import torch

    from .loop import fit, load_checkpoint, seed_everything
    from .package import export_weights

    if args.threads:
        torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    clips = find_clips(args.data, ())
    clips = [c for c in clips if (c.path / "line").is_dir() and (c.path / "gt").is_dir()]
    train_clips, val_clips = split_clips(clips, args.val_split, args.seed)
    train, val = PaintClips(train_clips), PaintClips(val_clips)
    t0 = time.perf_counter()
    val_pairs = []
    for ci, c in enumerate(val_clips):
        for a in c.frames[: -1 : args.val_frame_step]:
            s = make_pair(val, ci, a, a + 1, None)
            if s is not None:
                val_pairs.append(s)
    log.info("data: %d train clips, %d val clips (%d val pairs built in %.1f s)", len(train_clips), len(val_clips), len(val_pairs), time.perf_counter() - t0)
    cfg = MatcherConfig(width=args.width, dim=args.dim)
    model = build_matcher(cfg)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    config = {"task": "paint", "data": str(Path(args.data).resolve()), "train_clips": [c.name for c in train_clips],
              "val_clips": [c.name for c in val_clips], "seed": args.seed, "epochs": args.epochs,
              "steps_per_epoch": args.steps_per_epoch, "batch": args.batch, "lr": args.lr, "net": cfg.to_dict()}

    def train_epoch(epoch: int, rng: np.random.Generator):
        for _ in range(args.steps_per_epoch):
            batch: list[tuple[dict[str, Any], Any]] = []
            while len(batch) < args.batch:
                ci = int(rng.integers(len(train_clips)))
                a, b = _sample_frames(train_clips[ci], rng)
                s = make_pair(train, ci, a, b, rng)
                if s is not None:
                    batch.append((to_tensors(s[0]), torch.from_numpy(s[1])))
            yield batch

    def loss_fn(m: Any, batch: list[Any]) -> Any:
        return sum(pair_loss(m(x), x, g) for x, g in batch) / len(batch)

    def validate(m: Any) -> dict[str, float]:
        if not val_pairs:
            return {"acc": float("nan")}
        ok = ok_c = tot = 0
        for inputs, gt, classic in val_pairs:
            logits = m(to_tensors(inputs)).numpy()
            colour, _, _ = colour_probabilities(logits, inputs.cand_colour)
            pred = np.where(colour >= 0, colour, classic)
            keep = gt >= 0
            ok += int((pred[keep] == gt[keep]).sum())
            ok_c += int((classic[keep] == gt[keep]).sum())
            tot += int(keep.sum())
        return {"acc": round(ok / max(1, tot), 5), "classic_acc": round(ok_c / max(1, tot), 5), "segments": tot}

    res = fit(model=model, optimizer=optimizer, train_epoch=train_epoch, loss_fn=loss_fn, validate=validate,
              out_dir=args.out, epochs=args.epochs, seed=args.seed, steps_per_epoch=args.steps_per_epoch, base_lr=args.lr,
              score_key="acc", config=config, resume=args.resume)
    out = Path(args.out)
    best = load_checkpoint(out / "checkpoints" / "best.pt")
    log_lines = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines() if x.strip()]
    card = {
        "model": "inkpaint paint matcher: learned inclusion matching (after seed 002)",
        "input": "line ink + colours (reference: its own; target: flow-warped reference colours) + target flag at "
                 "192 px, per-segment geometry, classical vote/result per candidate",
        "net": cfg.to_dict(),
        "params": int(sum(p.numel() for p in model.parameters())),
        "training": {"data": str(args.data), "train_clips": config["train_clips"], "val_clips": config["val_clips"],
                     "seed": args.seed, "epochs": args.epochs, "best_epoch": int(best["epoch"]),
                     "steps_per_epoch": args.steps_per_epoch, "batch": args.batch, "lr": args.lr,
                     "threads": torch.get_num_threads(), "train_seconds": log_lines[-1]["elapsed"] if log_lines else None,
                     "torch": torch.__version__, "machine": platform.machine(), "command": train_command(args)},
        "validation": best["val"],
        "licence": "same licence as inkpaint; trained only on data generated by ../shared/tools/synth",
    }
    rec = export_weights(best["model"], out / WEIGHTS_NAME, card)
    (out / "paint_matcher.md").write_text(model_card_markdown(rec), encoding="utf-8")
    log.info("packaged %s (%d bytes), best epoch %d val %s (fit %.0f s)", out / WEIGHTS_NAME, rec["size"], best["epoch"], best["val"], res.seconds)
    return rec


def train_command(args: argparse.Namespace) -> str:
    """The ``inkpaint train paint`` command line that reproduces this run."""
    parts = ["inkpaint", "train", "paint", "--data", str(args.data), "--val-split", str(args.val_split), "--out", str(args.out),
             "--epochs", str(args.epochs), "--seed", str(args.seed), "--steps-per-epoch", str(args.steps_per_epoch),
             "--batch", str(args.batch), "--lr", str(args.lr), "--width", str(args.width), "--dim", str(args.dim),
             "--val-frame-step", str(args.val_frame_step)]
    return " ".join(shlex.quote(p) for p in parts)


def model_card_markdown(rec: dict[str, Any]) -> str:
    """A human-readable model card from a sidecar record."""
    t = rec.get("training", {})
    return "\n".join([
        f"# {rec.get('model')}", "",
        f"- File: `{rec['file']}` ({rec['size']} bytes), SHA-256 `{rec['sha256']}` (verified on every load).",
        f"- Architecture: {json.dumps(rec.get('net'))}, {rec.get('params')} parameters.",
        f"- Input: {rec.get('input')}.",
        f"- Data: `{t.get('data')}`; {len(t.get('train_clips', []))} train clips; held-out validation clips {', '.join(t.get('val_clips', []))}.",
        f"- Seed {t.get('seed')}, {t.get('epochs')} epochs x {t.get('steps_per_epoch')} steps x {t.get('batch')} pairs, best epoch "
        f"{t.get('best_epoch')}; {t.get('train_seconds')} s on CPU ({t.get('threads')} threads), torch {t.get('torch')}.",
        f"- Command: `{t.get('command')}`",
        f"- Validation (held-out synth_train clips, consecutive pairs, segment accuracy): {json.dumps(rec.get('validation'))}",
        f"- Licence: {rec.get('licence')}.", "",
    ])


def add_cli(sub: argparse._SubParsersAction) -> None:
    """``inkpaint train paint``."""
    p = sub.add_parser("paint", help="train the learned inclusion matcher of the paint bucket (seed 002)")
    add_run_options(p, data_help="folder of clips (line/, gt/, colorbook.yml per clip, any depth)", epochs=10, seed=16, steps_per_epoch=20)
    p.add_argument("--batch", type=int, default=2, help="frame pairs per step (default 2)")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--width", type=int, default=24, help="CNN width (default 24)")
    p.add_argument("--dim", type=int, default=48, help="segment token size (default 48)")
    p.add_argument("--val-frame-step", type=int, default=3, help="validate on every Nth consecutive pair of the held-out clips")
    p.set_defaults(handler=_cmd_train)


def _cmd_train(args: argparse.Namespace) -> int:
    from .loop import run_training

    return run_training(train_paint, args, Path(args.out) / WEIGHTS_NAME)
