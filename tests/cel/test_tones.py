"""inkpaint.cel.tones: fitting once per shot, tone codes, overrides, cleanup."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from inkpaint.cel.tones import (
    PartTones,
    ToneHistograms,
    ToneModel,
    assign_tones,
    fit_tone_model,
    is_unimodal,
    lightness,
    otsu,
    sample_frames,
)
from inkpaint.cel.tones import N_BINS, TAIL_SHARE, PartToneModel, _F_HI, _F_LO, feature, fit_warnings


def scene(seed: int = 0, h: int = 60, w: int = 80) -> tuple[np.ndarray, np.ndarray]:
    """Two parts; each has a lit left half and a shadowed right half with noise. Returns (labels, L*)."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((h, w), np.uint8)
    labels[5:55, 5:40] = 1
    labels[5:55, 40:75] = 2
    lstar = np.zeros((h, w), np.float32)
    lit = {1: 70.0, 2: 30.0}
    for k in (1, 2):
        m = labels == k
        cols = np.where(m)[1]
        left = cols < (22 if k == 1 else 57)
        vals = np.where(left, lit[k], lit[k] * 0.4) + rng.normal(0, 1.5, m.sum())
        lstar[m] = vals
    return labels, lstar


def test_lightness_of_srgb() -> None:
    rgb = np.zeros((2, 2, 3), np.float32)
    rgb[0, 0] = 1.0
    rgb[1, 1] = 0.5
    L = lightness(rgb)
    assert L.shape == (2, 2)
    assert L[0, 0] == pytest.approx(100, abs=0.5) and L[0, 1] == pytest.approx(0, abs=0.5)
    assert L[1, 1] == pytest.approx(53.4, abs=1.0)  # sRGB 0.5 grey
    with pytest.raises(ValueError):
        lightness(np.zeros((2, 2)))


def test_otsu_splits_two_modes() -> None:
    centres = np.arange(10, dtype=float)
    hist = np.array([0, 5, 10, 5, 0, 0, 0, 4, 8, 4])
    k, lo, hi = otsu(hist, centres)
    assert 4 <= k <= 7 and lo == pytest.approx(2.0) and hi == pytest.approx(8.0)
    assert otsu(np.zeros(10), centres)[0] == 0


def fit(frames: list[tuple[np.ndarray, np.ndarray]], tones: int = 2, smooth_px: int = 0, **kw: object) -> ToneModel:
    h = ToneHistograms(2, smooth_px)
    for i, (labels, lstar) in enumerate(frames):
        h.add(labels, lstar, i)
    return fit_tone_model(h, ["a", "b"], tones, **kw)  # type: ignore[arg-type]


def test_two_tones_per_part_thresholds() -> None:
    labels, lstar = scene()
    model = fit([(labels, lstar)])
    a, b = model.parts
    assert 28 < a.shadow < 70 and 12 < b.shadow < 30  # each part its own split
    tone = assign_tones(labels, lstar, model)
    assert tone.dtype == np.uint8 and set(np.unique(tone)) == {0, 1, 2}
    assert (tone[10:50, 8:20] == 1).all() and (tone[10:50, 25:38] == 2).all()
    assert (tone[10:50, 42:55] == 1).all() and (tone[10:50, 60:73] == 2).all()
    assert (tone[labels == 0] == 0).all()


def test_fitted_once_applies_identically_to_every_frame() -> None:
    frames = [scene(seed) for seed in range(3)]
    model = fit(frames)
    labels, lstar = frames[0]
    # a frame whose lit side got brighter: per-frame k-means would move the split; the shot model keeps tones
    brighter = lstar.copy()
    brighter[:, :22] += 5
    t0 = assign_tones(labels, lstar, model)
    t1 = assign_tones(labels, brighter, model)
    assert (t0 == t1).all()


def test_highlight_and_second_shadow() -> None:
    labels, lstar = scene()
    lstar[20:26, 10:16] = 98.0  # a specular spot on part a
    lstar[30:45, 30:38] = 8.0  # a deep shadow on part a
    model = fit([(labels, lstar)], tones=4, min_region=4)
    tone = assign_tones(labels, lstar, model)
    assert (tone[21:25, 11:15] == 3).all()
    assert (tone[32:43, 31:37] == 4).all()
    assert (tone[10:50, 25:29] == 2).all()


def test_part_overrides_tones_and_bias() -> None:
    labels, lstar = scene()
    lstar[20:26, 10:16] = 98.0
    model = fit([(labels, lstar)], tones=2, overrides={"a": PartTones(tones=3), "b": PartTones(bias=-100.0)}, min_region=4)
    tone = assign_tones(labels, lstar, model)
    assert (tone[21:25, 11:15] == 3).all()  # a got highlights
    assert not (tone[labels == 2] == 2).any()  # b's threshold pushed below everything: no shadow
    with pytest.raises(ValueError, match="tones must be 2, 3 or 4"):
        fit([(labels, lstar)], overrides={"a": PartTones(tones=5)})


def test_min_region_removes_specks() -> None:
    labels, lstar = scene()
    lstar[30, 10] = 5.0  # a one-pixel dark speck in the lit half
    lstar[30, 30] = 80.0  # a one-pixel lit speck in the shadow half
    model = fit([(labels, lstar)], min_region=8)
    tone = assign_tones(labels, lstar, model)
    assert tone[30, 10] == 1 and tone[30, 30] == 2
    raw = assign_tones(labels, lstar, ToneModel(model.parts, hysteresis=0.0, min_region=0, min_region_frac=0.0))
    assert raw[30, 10] == 2


@pytest.mark.parametrize("shot_mostly_shadow", [False, True])
def test_single_mode_part_is_split_at_its_dark_tail_never_all_shadow(shot_mostly_shadow: bool) -> None:
    """Seed 000's promise: every part gets a shadow. A one-mode part is split at its darker tail (about
    TAIL_SHARE of it), says so, and is never painted all in its shadow colour, even when the other parts of the
    shot are mostly in shadow (the hiker case that used to paint whole parts in the shadow colour)."""
    rng = np.random.default_rng(1)
    labels, lstar = scene()
    m = labels == 2
    yy, xx = np.mgrid[0 : labels.shape[0], 0 : labels.shape[1]]
    bump = np.exp(-(((yy - 30) / 25.0) ** 2 + ((xx - 57) / 18.0) ** 2))  # gentle form shading, one mode
    lstar[m] = (30 + 14 * bump + rng.normal(0, 1.0, labels.shape))[m]
    if shot_mostly_shadow:
        lstar[5:55, 5:30] = 25 + rng.normal(0, 1.5, (50, 25))  # part a: mostly shadow
    model = fit([(labels, lstar)], smooth_px=2)
    b = model.parts[1]
    assert b.single_mode and b.method == "tail"
    tone = assign_tones(labels, lstar, model)
    share = float(np.mean(tone[m] == 2))
    assert 0.03 < share < 0.3, share
    assert b.share == pytest.approx(TAIL_SHARE, abs=0.02)
    warns = fit_warnings(model)
    assert any("'b'" in w and "one lightness mode" in w for w in warns), warns
    assert is_unimodal(np.bincount(np.clip(rng.normal(500, 40, 5000).astype(int), 0, 1023), minlength=1024))


@pytest.mark.parametrize("target", [0.15, 0.3, 0.6])
def test_shadow_share_control_moves_measured_share(target: float) -> None:
    """``shadow=`` (share of the part in shadow over the shot) lands within 0.05 on every part, over frames
    the model was not fitted on too."""
    rng = np.random.default_rng(3)
    frames = []
    yy, xx = np.mgrid[0:60, 0:80].astype(np.float32)
    for i in range(6):
        labels, _ = scene(seed=i)
        # form shading: light falling off across each part (moving a little per frame), plus sensor noise
        lstar = 35 + 25 * np.cos((xx - 0.5 * i) / 18.0) * np.cos((yy - 30) / 40.0) + rng.normal(0, 2.0, labels.shape)
        lstar = np.clip(lstar, 0, 100).astype(np.float32)
        frames.append((labels, lstar))
    model = fit(frames[::2], shadow=target, smooth_px=2)  # fitted on every other frame, measured on all
    shares = {1: [], 2: []}
    for labels, lstar in frames:
        tone = assign_tones(labels, lstar, model)
        for k in (1, 2):
            shares[k].append(np.mean(tone[labels == k] == 2))
    for k in (1, 2):
        assert np.mean(shares[k]) == pytest.approx(target, abs=0.05), (k, shares[k])
        assert model.parts[k - 1].method == "share"


def test_threshold_in_lstar_and_bad_settings() -> None:
    labels, lstar = scene()
    model = fit([(labels, lstar)], overrides={"a": PartTones(threshold_l=50.0)})
    a = model.parts[0]
    assert a.method == "threshold" and a.shadow == pytest.approx(50.0, abs=1e-3)
    assert 0.3 < a.share < 0.7
    with pytest.raises(ValueError, match="shadow share must be within 0..1"):
        fit([(labels, lstar)], overrides={"a": PartTones(shadow=1.5)})
    with pytest.raises(ValueError, match="shadow share must be within 0..1"):
        fit([(labels, lstar)], shadow=-0.1)


def test_part_empty_everywhere_is_left_alone() -> None:
    labels, lstar = scene()
    labels[labels == 2] = 0
    model = fit([(labels, lstar)])
    assert model.parts[1].method == "empty" and model.parts[1].samples == 0
    tone = assign_tones(labels, lstar, model)
    assert (tone[labels == 1] > 0).all() and (tone[labels == 0] == 0).all()
    assert any("'b'" in w and "empty on every" in w for w in fit_warnings(model))


def test_model_round_trip_and_sampling() -> None:
    labels, lstar = scene()
    model = fit([(labels, lstar)], tones=3)
    again = ToneModel.from_dict(model.to_dict())
    assert again == model
    assert sample_frames(list(range(1, 101)), 5) == [1, 26, 51, 75, 100]
    assert sample_frames([1, 2], 12) == [1, 2]


def test_shape_checks() -> None:
    labels, lstar = scene()
    model = fit([(labels, lstar)])
    with pytest.raises(ValueError):
        assign_tones(labels, lstar[:10], model)
    with pytest.raises(ValueError):
        assign_tones(np.full_like(labels, 7), lstar, model)


def test_model_is_plain_json_with_tiny_and_one_mode_parts() -> None:
    """Every model field is a plain Python value (the worker's JSON encoder takes no numpy bools)."""
    import json

    rng = np.random.default_rng(2)
    labels, lstar = scene()
    labels[labels == 2] = 0
    labels[30:35, 50:55] = 2  # 25 px: fitted on the shot's pooled histogram
    lstar[labels == 1] = 50 + rng.normal(0, 3, int((labels == 1).sum()))  # one mode
    model = fit([(labels, lstar)], smooth_px=2)
    assert model.parts[1].pooled is True and model.parts[0].single_mode is True
    json.dumps(model.to_dict(), allow_nan=False)  # no numpy scalars, no NaN
    back = ToneModel.from_dict(json.loads(json.dumps(model.to_dict())))
    assert back.parts[0].method == model.parts[0].method and back.smooth_px == model.smooth_px


def test_four_tones_always_get_a_second_shadow_and_missing_highlights_are_reported() -> None:
    rng = np.random.default_rng(5)
    labels, lstar = scene()
    m = labels == 1
    lstar[m] = np.where(np.where(m)[1][None, :].T[:, 0] < 22, 70.0, 28.0) + rng.normal(0, 1.0, int(m.sum()))  # two flat modes
    model = fit([(labels, lstar)], tones=4)
    a = model.parts[0]
    assert a.shadow2 is not None and a.shadow2 < a.shadow
    tone = assign_tones(labels, lstar, model)
    assert (tone[m] == 4).mean() > 0.005  # a second shadow exists although the shadow side has one (noisy, flat) mode
    if a.highlight is not None and a.highlight > 100:
        assert any("'a' gets no highlight" in w for w in fit_warnings(model))


def two_material_frame(seed: int = 0, h: int = 80, w: int = 120) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One part of two materials side by side: a light green jacket (left) and a dark blue shirt (right), each
    lit on its top half and in shadow on its bottom half (the shirt's lit side is darker than the jacket's shadow).
    Returns (labels, rgb, truth: 2 where shadow, material: 1 jacket / 2 shirt)."""
    import cv2

    rng = np.random.default_rng(seed)
    labels = np.zeros((h, w), np.uint8)
    labels[5:75, 5:115] = 1
    lab = np.zeros((h, w, 3), np.float32)
    material = np.zeros((h, w), np.uint8)
    material[5:75, 5:60] = 1
    material[5:75, 60:115] = 2
    truth = np.where(labels > 0, 1, 0).astype(np.uint8)
    truth[40:75] *= 2
    colours = {1: ((72.0, -30.0, 25.0), (38.0, -25.0, 18.0)), 2: ((26.0, 15.0, -40.0), (11.0, 8.0, -22.0))}
    for k, (lit, dark) in colours.items():
        for rows, c in ((slice(5, 40), lit), (slice(40, 75), dark)):
            m = np.zeros((h, w), bool)
            m[rows] = material[rows] == k
            lab[m] = np.array(c, np.float32) + rng.normal(0, 0.8, (int(m.sum()), 3)).astype(np.float32)
    rgb = np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB), 0, 1)
    return labels, rgb, truth, material


def test_a_part_of_two_materials_is_split_per_material() -> None:
    """A dark material next to a light one: one lightness threshold makes the dark shirt all shadow; the material
    split (chroma clusters fitted once per shot, a threshold each) shades each on its own."""
    from inkpaint.cel.tones import fit_from_frames, lab_planes

    frames = [two_material_frame(seed) for seed in range(3)]
    planes = [lab_planes(rgb) for _, rgb, _, _ in frames]
    model = fit_from_frames([(i, f[0], p[0], p[1]) for i, (f, p) in enumerate(zip(frames, planes))], ["top"], 2, smoothing=0)
    mats = model.parts[0].materials
    assert len(mats) == 2 and model.has_materials
    assert sorted(round(m["weight"], 1) for m in mats) == [0.5, 0.5]
    labels, _, truth, material = frames[0]
    lstar, chroma = planes[0]
    tone = assign_tones(labels, lstar, model, chroma=chroma)
    for k in (1, 2):
        m = material == k
        assert np.mean(tone[m] == truth[m]) > 0.97, k
    # without the chroma codes each pixel falls back to the part's single lightness threshold, which cannot be
    # right for both materials (here: the jacket's shadow is lighter than the shirt's lit side)
    flat = assign_tones(labels, lstar, model)
    inside = labels > 0
    assert np.mean(flat[inside] == truth[inside]) < 0.8 < np.mean(tone[inside] == truth[inside])
    # the materials round-trip through the model file and classify the same
    again = ToneModel.from_dict(model.to_dict())
    assert np.array_equal(assign_tones(labels, lstar, again, chroma=chroma), tone)


def test_shading_alone_is_not_a_second_material() -> None:
    """A lit and a shaded side of one colour differ in lightness and chroma, not in hue: one material."""
    from inkpaint.cel.tones import fit_from_frames, lab_planes

    labels, rgb, _, material = two_material_frame()
    rgb = rgb.copy()
    rgb[material == 2] = rgb[(material == 1)][: int((material == 2).sum())]  # jacket colours only
    lstar, chroma = lab_planes(rgb)
    model = fit_from_frames([(0, labels, lstar, chroma)], ["top"], 2, smoothing=0)
    assert model.parts[0].materials == [] and not model.has_materials


def test_a_mostly_dark_material_is_not_all_shadow() -> None:
    """A part that is mostly one dark material (a dark uniform: one broad lightness mode, no dip) with lighter bits:
    the 2-means split would call most of it shadow; its shadow is the darker side of the dark class instead."""
    from inkpaint.cel.tones import GUESS_MAX_SHARE, MIN_AUTO_SHARE, fit_part

    rng = np.random.default_rng(0)
    lstar = np.concatenate([np.exp(rng.normal(np.log(17.0), 0.3, 80000)), rng.uniform(28.0, 80.0, 20000)])
    hist = np.histogram(feature(lstar), bins=N_BINS, range=(_F_LO, _F_HI))[0]
    assert is_unimodal(hist)
    fit = fit_part(hist, 2)
    assert fit["method"] == "dark"
    assert MIN_AUTO_SHARE <= fit["share"] <= GUESS_MAX_SHARE
    assert 10.0 < fit["shadow"] < 20.0  # inside the dark material's own range
    model = ToneModel([PartToneModel(name="uniform", **{**fit, "samples": 100000})])
    assert any("mostly one dark material" in w for w in fit_warnings(model))


def test_split_goes_where_lightness_changes_fastest() -> None:
    """Between the two classes the threshold follows the mean lightness gradient (the terminator), not the
    histogram's thinnest point, when the gradients are known; without them, the thinnest point."""
    from inkpaint.cel.tones import _bin_centres, _to_lstar, fit_part

    rng = np.random.default_rng(1)
    lstar = np.concatenate([rng.normal(20.0, 2.0, 40000), rng.normal(60.0, 4.0, 60000), rng.uniform(25.0, 55.0, 8000)])
    hist = np.histogram(feature(lstar), bins=N_BINS, range=(_F_LO, _F_HI))[0]
    centres = _bin_centres()
    plain = fit_part(hist, 2)
    # interior pixels near L* 35 sit on steep slopes (the terminator); elsewhere the surfaces are flat
    counts = hist.astype(np.int64)
    sums = counts * np.where(np.abs(np.exp(centres) - 2.0 - 35.0) < 1.5, 6.0, 1.0)
    steep = fit_part(hist, 2, grad=(sums.astype(np.float64), counts))
    assert steep["method"] == plain["method"] == "otsu"
    assert abs(steep["shadow"] - 35.0) < 2.5 and abs(plain["shadow"] - 35.0) > 2.5
    assert _to_lstar(float(feature(steep["shadow"]))) == pytest.approx(steep["shadow"])


def two_character_frame(seed: int = 0, second_in_shadow: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One part ("hair") on two characters: a dark-haired head (lit L* 22, shadow 9) and a light-haired one (lit
    75, shadow 35), apart; each lit on its left 70 %. ``second_in_shadow``: the light piece is all shadow instead
    (one character's hair, a strand behind the head). Returns (labels, L*, truth tone codes)."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((60, 100), np.uint8)
    labels[10:50, 5:45] = 1
    labels[10:50, 55:95] = 1
    lstar = np.zeros(labels.shape, np.float32)
    truth = np.zeros(labels.shape, np.uint8)
    for x0, (lit, dark) in ((5, (22.0, 9.0)), (55, (75.0, 35.0))):
        lit_cols = slice(x0, x0 + (0 if second_in_shadow and x0 == 55 else 28))
        piece = (slice(10, 50), slice(x0, x0 + 40))
        lstar[piece] = dark
        truth[piece] = 2
        lstar[10:50, lit_cols] = lit
        truth[10:50, lit_cols] = 1
        lstar[piece] += rng.normal(0.0, 1.0, (40, 40)).astype(np.float32)
    if second_in_shadow:
        lstar[10:50, 55:95] = 9.0 + rng.normal(0.0, 1.0, (40, 40)).astype(np.float32)
    return labels, lstar, truth


def test_one_part_on_two_characters_is_fitted_per_instance() -> None:
    """One part over two characters of different albedo: the part-wide split would call the dark-haired character
    all shadow; its pieces are grouped by lightness range and each group gets its own split, also after a round
    trip through the model file."""
    from inkpaint.cel.tones import fit_from_frames

    frames = [two_character_frame(seed) for seed in range(3)]
    model = fit_from_frames([(i, lab, lst) for i, (lab, lst, _) in enumerate(frames)], ["hair"], 2, smoothing=0)
    inst = model.parts[0].instances
    assert len(inst) == 2 and [g["method"] for g in inst] == ["otsu", "otsu"]
    assert 9.0 < inst[0]["shadow"] < 22.0 and 35.0 < inst[1]["shadow"] < 75.0
    labels, lstar, truth = frames[0]
    tone = assign_tones(labels, lstar, model)
    assert np.mean(tone[labels > 0] == truth[labels > 0]) > 0.97
    part_wide = ToneModel([dataclasses.replace(model.parts[0], instances=[])], smooth_px=0, min_region=model.min_region)
    flat = assign_tones(labels, lstar, part_wide)
    assert np.mean(flat[labels > 0] == truth[labels > 0]) < 0.8
    again = ToneModel.from_dict(model.to_dict())
    assert np.array_equal(assign_tones(labels, lstar, again), tone)
    # the job summary says so: each group's mean lightness and threshold
    from inkpaint.cel.tones import ToneStats
    from inkpaint.ops.tone_qc import part_figures

    stats = ToneStats(1)
    stats.add(0, labels, tone)
    fig = part_figures(model, stats, ["hair"])["hair"]
    assert [round(g["threshold_l"], 2) for g in fig["instances"]] == [round(g["shadow"], 2) for g in inst]
    assert fig["instances"][0]["centre_l"] < 22.0 < fig["instances"][1]["centre_l"]


def test_a_piece_all_in_shadow_is_not_another_instance() -> None:
    """A piece of the part that is only in shadow has a darker range too, but no lit side of its own: no split per
    instance (it would be split in two)."""
    from inkpaint.cel.tones import fit_from_frames

    frames = [two_character_frame(seed, second_in_shadow=True) for seed in range(3)]
    model = fit_from_frames([(i, lab, lst) for i, (lab, lst, _) in enumerate(frames)], ["hair"], 2, smoothing=0)
    assert model.parts[0].instances == []


def glossy_frame(seed: int = 0, highlight: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One blue glossy part: a lit side whose lightness falls from L* 30 to 14 towards the terminator (70 %), a
    shadow side at L* 10, and (``highlight``) a round desaturated specular highlight at L* 85 on the lit side.
    Returns (labels, sRGB 0..1, truth tone codes)."""
    import cv2

    rng = np.random.default_rng(seed)
    labels = np.zeros((80, 100), np.uint8)
    labels[10:70, 10:90] = 1
    cols = np.arange(10, 90)
    lit = cols < 70
    lstar = np.zeros(labels.shape, np.float32)
    truth = np.zeros(labels.shape, np.uint8)
    lstar[10:70, 10:90] = np.where(lit, 30.0 - 16.0 * (cols - 10) / 60.0, 10.0)[None, :]
    truth[10:70, 10:90] = np.where(lit, 1, 2)[None, :]
    lstar += rng.normal(0.0, 0.7, lstar.shape).astype(np.float32)
    a, b = 0.3 * lstar, -0.9 * lstar  # one hue; chroma follows lightness as shading does
    if highlight:
        yy, xx = np.mgrid[0:80, 0:100]
        spot = (yy - 30) ** 2 + (xx - 25) ** 2 < 12**2
        lstar[spot], a[spot], b[spot] = 85.0, 2.0, -6.0
    rgb = np.clip(cv2.cvtColor(np.dstack([lstar, a, b]).astype(np.float32), cv2.COLOR_Lab2RGB), 0.0, 1.0)
    rgb[labels == 0] = 0.0
    return labels, rgb, truth


@pytest.mark.parametrize("refit", [True, False])
def test_a_specular_highlight_is_left_out_of_the_split(refit: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """A glossy part's bright desaturated highlight makes the 2-means split separate the highlight from the rest,
    calling the dim lit side shadow; left out (as specular: brighter than the median and much less saturated than
    the part's bright half), the split finds the terminator."""
    import inkpaint.cel.tones as tones_mod
    from inkpaint.cel.tones import fit_from_frames, lab_planes

    if not refit:
        monkeypatch.setattr(tones_mod, "SPECULAR_MAX_SHARE", 0.0)
    frames = [glossy_frame(seed) for seed in range(3)]
    planes = [lab_planes(rgb) for _, rgb, _ in frames]
    model = fit_from_frames([(i, f[0], p[0], p[1]) for i, (f, p) in enumerate(zip(frames, planes))], ["hair"], 2, smoothing=0)
    part = model.parts[0]
    labels, _, truth = frames[0]
    tone = assign_tones(labels, planes[0][0], model, chroma=planes[0][1])
    acc = float(np.mean(tone[labels > 0] == truth[labels > 0]))
    if refit:
        assert 0.03 < part.specular < 0.2 and acc > 0.97
    else:
        assert part.specular == 0.0 and acc < 0.7
    plain = [glossy_frame(seed, highlight=False) for seed in range(2)]
    pp = [lab_planes(rgb) for _, rgb, _ in plain]
    model = fit_from_frames([(i, f[0], p[0], p[1]) for i, (f, p) in enumerate(zip(plain, pp))], ["hair"], 2, smoothing=0)
    assert model.parts[0].specular == 0.0  # no highlight: nothing left out
