"""What the shade and cel jobs tell a person: per-part tone figures, warnings, and a contact sheet.

- :func:`part_figures`: per part, the chosen threshold (L*) and the shadow share over the shot, the fitted share,
  how the threshold was chosen, frames the part is missing on. Goes into the result JSON (``summary["tones"]``)
  and the tone model file, in the same units.
- :func:`tone_warnings` / :func:`palette_warnings`: the sentences that go into ``summary["warnings"]``; the jobs
  also log each one at level WARNING on the ``inkpaint`` logger, so the CLI prints it on stderr and the worker
  sends it as a ``log`` event with ``level: "warning"``.
- :func:`write_tone_sheet`: plate | parts | tones [| cel] on frames spread over the shot, a palette row for cels,
  through the shared :mod:`inkpaint.qc.contact_sheet` renderer.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from ..cel.paint import linear_to_srgb
from ..cel.tones import FEATURE_OFFSET, SHARE_WARN_HIGH, SHARE_WARN_LOW, ToneModel, ToneStats, fit_warnings
from ..io.frames import Window, read_image
from ..palette import TONE_BASE, TONE_HIGHLIGHT, TONE_SHADOW, TONE_SHADOW2
from ..qc.contact_sheet import ContactSheet, part_tint, pick_frames, tint_parts

if TYPE_CHECKING:
    from ..palette import Palette
    from .sources import MatteSource
    from .shade import PlateSource

log = logging.getLogger("inkpaint.shade")

SHEET_ROWS = 4
"""Frames on a contact sheet."""
SHEET_CELL_WIDTH = 360


def _frame_list(frames: list[int], limit: int = 6) -> str:
    s = ", ".join(str(f) for f in frames[:limit])
    return s + (f" ... ({len(frames)} frames)" if len(frames) > limit else "")


def part_figures(model: ToneModel | None, stats: ToneStats, names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per part: ``threshold_l`` (L*, shadow below), ``share`` (shadow + second shadow over the frames shaded in
    this run, 0..1; ``None`` when none were), ``fitted_share`` (on the fitted frames), ``method``, ``tones``,
    ``frames_missing`` (count) and, with highlights, ``highlight_l`` / ``highlight_share``; a part split per
    material (:func:`inkpaint.cel.tones.fit_materials`) lists ``materials`` (mean a*b*, weight, ``threshold_l``,
    ``fitted_share``, ``method`` each); a part fitted per instance group (:func:`inkpaint.cel.tones.fit_instances`)
    lists ``instances`` (``centre_l``: the group's mean lightness in L*, weight, ``threshold_l``, ``fitted_share``,
    ``method`` each); ``specular_share`` when highlights were left out of the 2-tone fit
    (:func:`inkpaint.cel.tones.refit_without_specular`)."""
    out: dict[str, dict[str, Any]] = {}
    for i, name in enumerate(names, start=1):
        share = stats.share(i)
        row: dict[str, Any] = {"share": None if math.isnan(share) else round(share, 4), "frames_missing": len(stats.missing[i])}
        if model is not None:
            p = model.parts[i - 1]
            row.update(
                threshold_l=round(p.shadow, 2), fitted_share=None if math.isnan(p.share) else round(p.share, 4),
                method=p.method, tones=p.tones,
            )
            if p.highlight is not None:
                row["highlight_l"] = round(p.highlight, 2)
                hs = stats.share(i, (TONE_HIGHLIGHT,))
                row["highlight_share"] = None if math.isnan(hs) else round(hs, 4)
            if p.shadow2 is not None:
                row["shadow2_l"] = round(p.shadow2, 2)
            if len(p.materials) > 1:  # split per material: each its own threshold (threshold_l is the part's fit)
                row["materials"] = [{"ab": m["ab"], "weight": m["weight"], "threshold_l": round(m["shadow"], 2),
                                     "fitted_share": round(m["share"], 4), "method": m["method"]} for m in p.materials]
            if p.specular > 0:  # share of the part left out of its 2-tone fit as specular highlights
                row["specular_share"] = p.specular
            if len(p.instances) > 1:  # split per instance group (e.g. one part on two characters)
                row["instances"] = [{"centre_l": round(math.exp(g["centre"]) - FEATURE_OFFSET, 2), "weight": g["weight"],
                                     "threshold_l": round(g["shadow"], 2), "fitted_share": round(g["share"], 4),
                                     "method": g["method"]} for g in p.instances]
        out[name] = row
    return out


def tone_warnings(model: ToneModel | None, stats: ToneStats, names: Sequence[str]) -> list[str]:
    """Warnings about a shade run: the fit's (:func:`~inkpaint.cel.tones.fit_warnings`), parts with under
    :data:`SHARE_WARN_LOW` or over :data:`SHARE_WARN_HIGH` of their pixels in shadow over the shot (unless the user
    set that part's share or threshold), parts missing on some or all frames."""
    out = fit_warnings(model) if model is not None else []
    counted = len(stats.frames)
    for i, name in enumerate(names, start=1):
        missing = stats.missing[i]
        if counted and len(missing) == counted:
            if not any(f"part '{name}' is empty" in w for w in out):
                out.append(f"part '{name}' is empty on every frame: it has no tones (its frames are left untouched)")
            continue
        if missing:
            out.append(f"part '{name}' vanished on {len(missing)} of {counted} frames ({_frame_list(missing)}): check its matte there")
        share = stats.share(i)
        user_set = model is not None and model.parts[i - 1].method in ("share", "threshold")
        if math.isnan(share) or user_set:
            continue
        if share < SHARE_WARN_LOW:
            out.append(f"part '{name}' is almost never in shadow ({100 * share:.1f}% over the shot); "
                       f"raise it with --part {name}:shadow=0.2 (or threshold_l=L*)")
        elif share > SHARE_WARN_HIGH:
            out.append(f"part '{name}' is nearly all shadow ({100 * share:.1f}% over the shot); "
                       f"lower it with --part {name}:shadow=0.4 (or threshold_l=L*)")
    return out


def palette_warnings(palette: "Palette", stats: ToneStats, names: Sequence[str], tones: dict[str, int]) -> list[str]:
    """Palette entries (a part, or one of its tone colours) no painted pixel used over the frames counted.

    Args:
        palette: the design sheet.
        stats: what the frames got.
        names: part names in label order.
        tones: each part's tone count (highlights are only expected with 3+, a second shadow with 4).
    """
    out: list[str] = []
    index = {n: i for i, n in enumerate(names, start=1)}
    if not stats.frames:
        return out
    for entry in palette:
        i = index.get(entry.name)
        if i is None or stats.pixels(i) == 0:
            out.append(f"palette entry '{entry.name}' was never used: the part is empty on every frame")
            continue
        c = stats.counts[i]
        if c[TONE_SHADOW] + c[TONE_SHADOW2] == 0 and entry.shadow != entry.normal:
            out.append(f"palette entry '{entry.name}': its shadow colour was never used")
        if c[TONE_BASE] + c[TONE_HIGHLIGHT] == 0:
            out.append(f"palette entry '{entry.name}': its normal colour was never used (the part is all shadow)")
        if entry.highlight is not None and tones.get(entry.name, 2) >= 3 and c[TONE_HIGHLIGHT] == 0:
            out.append(f"palette entry '{entry.name}': its highlight colour was never used")
    return out


def report(warnings: list[str], logger: logging.Logger = log) -> list[str]:
    """Log every warning (stderr in the CLI, ``log`` events in the worker); returns them."""
    for w in warnings:
        logger.warning("%s", w)
    return warnings


# ----------------------------------------------------------------------------------------------------------------
# contact sheet

_TONE_SHADE = np.array([0.0, 0.95, 0.45, 1.0, 0.25], np.float32)
"""How light each tone code is drawn in the tones column (times the part's tint; highlight mixes in white)."""


def tones_image(labels: np.ndarray, tone: np.ndarray) -> np.ndarray:
    """Tone codes drawn in each part's tint: base light, shadow dark, second shadow darker, highlight near white.

    Args:
        labels: ``(H, W)`` part labels.
        tone: ``(H, W)`` tone codes.

    Returns:
        ``(H, W, 3)`` float32 display RGB (grey outside the parts).
    """
    n = int(labels.max()) + 1 if labels.size else 1
    tints = np.stack([np.full(3, 0.22, np.float32)] + [part_tint(i) for i in range(n - 1)])
    img = tints[labels] * _TONE_SHADE[np.minimum(tone, 4)][..., None]
    hl = tone == TONE_HIGHLIGHT
    img[hl] = 0.5 * img[hl] + 0.5
    img[labels == 0] = 0.22
    return img.astype(np.float32)


def palette_image(palette: "Palette", names: Sequence[str], size: tuple[int, int]) -> np.ndarray:
    """The design sheet as swatches, one row per part: tint chip, name, normal (base), shadow [, highlight].

    Swatches are drawn in the palette's exact 8-bit sRGB values.

    Args:
        size: ``(width, height)`` of the image.
    """
    w, h = size
    u8 = np.full((h, w, 3), 31, np.uint8)  # RGB order; converted to float at the end
    cv2.putText(u8, "palette: part  base  shadow  highlight", (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (235, 235, 235), 1, cv2.LINE_AA)
    rows = max(len(names), 1)
    row_h = max(10, (h - 26) // rows)
    sw = max(12, (w - w // 3 - 12) // 3 - 4)
    for i, name in enumerate(names):
        y = 24 + i * row_h
        tint = tuple(int(round(255 * c)) for c in part_tint(i))
        cv2.rectangle(u8, (4, y + 1), (10, y + row_h - 2), tint, -1)
        cv2.putText(u8, name[:14], (14, y + row_h // 2 + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (235, 235, 235), 1, cv2.LINE_AA)
        if name not in palette:
            continue
        e = palette.entries[name]
        for k, colour in enumerate((e.normal, e.shadow, e.highlight)):
            if colour is None:
                continue
            x = w // 3 + k * (sw + 4)
            cv2.rectangle(u8, (x, y + 1), (x + sw, y + row_h - 2), tuple(int(c) for c in colour), -1)
    return u8.astype(np.float32) / 255.0


def _cel_display(path: str, frame: int, window: Window | None = None, size: tuple[int, int] | None = None) -> np.ndarray:
    """A cel frame (``window`` of it) as display RGB over mid grey (EXR: scene-linear premultiplied; PNG: sRGB
    straight alpha), reduced to ``size`` (width, height) when given: an EXR is reduced in linear light, before the
    sRGB encoding, which is both the correct average and ~10x fewer pixels to encode."""
    img = read_image(path, frame=frame, window=window)
    ch = [c.upper() for c in img.channels]
    px = img.pixels
    rgb = px[..., [ch.index("R"), ch.index("G"), ch.index("B")]] if all(c in ch for c in "RGB") else px[..., :3]
    a = px[..., ch.index("A")][..., None] if "A" in ch else np.ones(rgb.shape[:2] + (1,), np.float32)
    exr = path.lower().endswith(".exr")
    over = rgb + (1.0 - a) * 0.2 if exr else rgb * a + (1.0 - a) * 0.48  # linear / sRGB mid grey
    over = np.clip(over, 0.0, 1.0).astype(np.float32)
    if size is not None and (over.shape[1], over.shape[0]) != size:
        over = cv2.resize(over, size, interpolation=cv2.INTER_AREA)
    return np.clip(linear_to_srgb(over), 0.0, 1.0).astype(np.float32) if exr else over


def write_tone_sheet(
    path: str,
    title: str,
    frames: Sequence[int],
    plate: "PlateSource",
    mattes: "MatteSource",
    tone_path: Any,
    *,
    cel_path: Any = None,
    palette: "Palette | None" = None,
    flags: dict[int, str] | None = None,
    footer: Sequence[str] = (),
    rows: int = SHEET_ROWS,
) -> str:
    """Write the shade (plate | parts | tones) or cel (plate | parts | tones | cel) contact sheet.

    Frames are read back from the files the job wrote, so the sheet shows what is on disk.

    Args:
        path: PNG to write (atomically).
        title: first line.
        frames: the shot's frames; ``rows`` of them spread over it are shown.
        plate: the job's plate reader.
        mattes: the job's matte reader.
        tone_path: frame -> tone EXR path.
        cel_path: frame -> cel path (adds the cel column and a palette row), or ``None``.
        palette: shown as the first row of a cel sheet (every part's base, shadow and highlight colour).
        flags: frame -> reason to frame that row in red.
        footer: text lines under the grid.

    Returns:
        ``path``.
    """
    from .sources import read_tone

    cols = ["plate", "parts", "tones"] + (["cel"] if cel_path is not None else [])
    sheet = ContactSheet(title, cols, cell_width=SHEET_CELL_WIDTH)
    fw, fh = mattes.size
    picked = pick_frames(frames, rows)
    # the characters' region over the picked frames (padded), not the whole frame: fewer pixels to read and a
    # bigger character to look at
    parts_of = {f: mattes.part_labels(f) for f in picked}
    wins = [pl.window for pl in parts_of.values() if not pl.empty]
    if wins:
        x0, y0 = min(wn.x for wn in wins), min(wn.y for wn in wins)
        x1, y1 = max(wn.x + wn.width for wn in wins), max(wn.y + wn.height for wn in wins)
        pad = int(0.08 * max(x1 - x0, y1 - y0)) + 4
        x0, y0, x1, y1 = max(x0 - pad, 0), max(y0 - pad, 0), min(x1 + pad, fw), min(y1 + pad, fh)
        region = Window(x0, y0, x1 - x0, y1 - y0)
    else:
        region = Window.full(mattes.size)
    w, h = region.width, region.height
    if cel_path is not None and palette is not None:
        sw = SHEET_CELL_WIDTH
        sh = max(16, int(round(sw * h / max(w, 1))))
        cells: list[np.ndarray | None] = [None] * len(cols)
        cells[-1] = palette_image(palette, mattes.names, (sw, sh))
        sheet.add(cells, "palette")
    # every cell at the sheet's cell size (the frames are read whole, then reduced before any per-part work)
    tw = min(w, SHEET_CELL_WIDTH)
    th = max(1, int(round(h * tw / max(w, 1))))

    def small(img: np.ndarray, nearest: bool = False) -> np.ndarray:
        if img.shape[1] == tw:
            return img
        return cv2.resize(img, (tw, th), interpolation=cv2.INTER_NEAREST if nearest else cv2.INTER_AREA)

    for f in picked:
        rgb = small(plate.rgb(f, region))
        labels = small(parts_of[f].within(region), nearest=True)
        tone = small(read_tone(tone_path(f), f, mattes.size, region), nearest=True)
        row: list[np.ndarray | None] = [
            rgb,
            tint_parts(rgb, [labels == i for i in range(1, len(mattes.names) + 1)]),
            tones_image(labels, tone),
        ]
        if cel_path is not None:
            row.append(_cel_display(cel_path(f), f, region, size=(tw, th)))
        sheet.add(row, str(f), (flags or {}).get(f))
    sheet.footer = list(footer)
    return sheet.write(path)


def sheet_footer(figures: dict[str, dict[str, Any]], warnings: Sequence[str], model: ToneModel | None) -> list[str]:
    """Footer lines: one per part (threshold, share, how chosen), then the warnings."""
    lines = []
    if model is not None:
        lines.append(f"tones fitted once on frames {_frame_list(model.fitted_on)}; smoothing {model.smoothing:g} "
                     f"(radius {model.smooth_px} px), regions under {100 * model.min_region_frac:g}% of their part removed")
    for name, fig in figures.items():
        share = "-" if fig.get("share") is None else f"{100 * fig['share']:.0f}%"
        thr = f"shadow below L* {fig['threshold_l']:.1f}" if "threshold_l" in fig else ""
        if fig.get("materials"):
            thr = "2 materials, shadow below L* " + " / ".join(f"{m['threshold_l']:.1f}" for m in fig["materials"])
        if fig.get("instances"):
            thr = "2 instance groups, shadow below L* " + " / ".join(f"{g['threshold_l']:.1f}" for g in fig["instances"])
        lines.append(f"{name}: {thr}, {share} in shadow over the shot ({fig.get('method', '')})")
    lines += [f"WARNING: {w}" for w in warnings]
    return lines


__all__ = [
    "part_figures",
    "tone_warnings",
    "palette_warnings",
    "report",
    "tones_image",
    "palette_image",
    "write_tone_sheet",
    "sheet_footer",
]
