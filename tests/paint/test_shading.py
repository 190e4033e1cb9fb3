"""Shading from colour lines + design sheet: blue line = shadow boundary, red = highlight boundary."""

import numpy as np

from inkpaint.palette import Palette, PaletteEntry
from inkpaint.paint.colours import ColourTable, colours_from_image
from inkpaint.paint.propagate import METHOD_LINES, FrameColours, propagate_colours
from inkpaint.paint.segments import LINE_BLACK, LINE_BLUE, LINE_RED, segment_lines
from inkpaint.paint.shading import ToneModel, enforce_line_tones, line_adjacency, shade_from_lines

HAIR = PaletteEntry("hair", normal=(40, 24, 91), shadow=(17, 6, 60), highlight=(130, 90, 185))
SKIN = PaletteEntry("skin", normal=(140, 107, 87), shadow=(96, 56, 49), highlight=(212, 187, 156))


def _table() -> ColourTable:
    return ColourTable.create(Palette({"hair": HAIR, "skin": SKIN}))


def _art(shadow_x: int = 40) -> np.ndarray:
    """A black box (hair) split by a blue shadow line at ``shadow_x``, a red-bounded highlight blob in the lit
    part, and a separate black box (skin) beside it."""
    img = np.ones((64, 96, 3), np.float32)
    img[8:56, 8] = img[8:56, 56] = 0
    img[8, 8:57] = img[55, 8:57] = 0
    img[9:55, shadow_x] = (0, 0, 1)  # blue: shadow boundary
    img[20, 14:22] = img[27, 14:22] = (1, 0, 0)  # red: highlight boundary
    img[20:28, 14] = img[20:28, 21] = (1, 0, 0)
    img[8:56, 64] = img[8:56, 88] = 0
    img[8, 64:89] = img[55, 64:89] = 0
    return img


def _ids(seg):
    return {"lit": int(seg.labels[40, 30]), "shadow": int(seg.labels[40, 50]), "hl": int(seg.labels[23, 17]),
            "skin": int(seg.labels[30, 75]), "bg": int(seg.labels[2, 2])}


def test_line_adjacency_kinds():
    seg = segment_lines(_art())
    ids = _ids(seg)
    adj = line_adjacency(seg)
    kind = {(int(a), int(b)): int(k) for a, b, k in zip(adj.a, adj.b, adj.kind)}
    pair = lambda x, y: (min(ids[x], ids[y]), max(ids[x], ids[y]))  # noqa: E731
    assert kind[pair("lit", "shadow")] == LINE_BLUE
    assert kind[pair("lit", "hl")] == LINE_RED
    assert kind[pair("lit", "bg")] == LINE_BLACK
    assert pair("hl", "shadow") not in kind


def test_clicks_shade_from_colour_lines():
    seg = segment_lines(_art())
    ids = _ids(seg)
    table = _table()
    tones = ToneModel.from_table(table)
    assert tones is not None
    idx = np.full(seg.n + 1, -1, np.int32)
    idx[ids["lit"]] = table.lookup("hair", "click")  # one click, the part's normal colour
    idx[ids["skin"]] = table.lookup("skin/shadow", "click")
    out = shade_from_lines(seg, idx, tones)
    assert table.names[out[ids["lit"]]] == "hair/normal"
    assert table.names[out[ids["shadow"]]] == "hair/shadow"
    assert table.names[out[ids["hl"]]] == "hair/highlight"
    assert table.names[out[ids["skin"]]] == "skin/shadow"  # clicked: never changed
    assert out[ids["bg"]] == -1  # across a black line: nothing derived
    # vice versa: clicking the shadow gives the lit side the normal colour
    idx2 = np.full(seg.n + 1, -1, np.int32)
    idx2[ids["shadow"]] = table.lookup("hair/shadow", "click")
    out2 = shade_from_lines(seg, idx2, tones)
    assert table.names[out2[ids["lit"]]] == "hair/normal"
    assert table.names[out2[ids["hl"]]] == "hair/highlight"


def test_no_palette_no_tone_model():
    assert ToneModel.from_table(ColourTable.create(None)) is None


def test_enforce_line_tones_fixes_a_wrong_vote():
    seg = segment_lines(_art())
    ids = _ids(seg)
    table = _table()
    tones = ToneModel.from_table(table)
    k = len(table)
    normal, shadow = table.lookup("hair/normal", "t"), table.lookup("hair/shadow", "t")
    share = np.zeros((seg.n + 1, k))
    idx = np.full(seg.n + 1, -1, np.int32)
    conf = np.zeros(seg.n + 1, np.float32)
    for name, c, s in (("lit", normal, 0.95), ("shadow", normal, 0.6), ("hl", table.lookup("hair/highlight", "t"), 0.9),
                       ("skin", table.lookup("skin", "t"), 1.0), ("bg", 0, 1.0)):
        share[ids[name], c] = s
        if name == "shadow":
            share[ids[name], shadow] = 0.4
        idx[ids[name]], conf[ids[name]] = c, s
    new, newc = enforce_line_tones(seg, share, idx, conf, tones, strength=2.0)
    assert new[ids["shadow"]] == shadow  # the vote said normal, the blue line says shadow
    assert new[ids["lit"]] == normal  # the big confident region is not flipped by its neighbour
    assert table.names[new[ids["skin"]]] == "skin/normal"
    # a frozen (keyframe) segment never changes
    frozen = np.zeros(seg.n + 1, bool)
    frozen[ids["shadow"]] = True
    kept, _ = enforce_line_tones(seg, share, idx, conf, tones, strength=2.0, fixed=frozen)
    assert kept[ids["shadow"]] == normal


def test_propagation_keeps_thin_shadow_across_blue_line():
    """A thin shadow sliver that moves: the warped vote is mostly "normal"; the blue line makes it the shadow."""
    table = _table()
    tones = ToneModel.from_table(table)
    ref = segment_lines(_art(shadow_x=52))
    tgt = segment_lines(_art(shadow_x=46))  # the shadow widens from 3 to 9 px
    key = np.full(ref.shape + (3,), 255, np.uint8)
    key[9:55, 9:52] = HAIR.normal
    key[9:55, 52:56] = HAIR.shadow
    key[20:28, 14:22] = HAIR.highlight
    key[9:55, 65:88] = SKIN.normal
    kc = colours_from_image(ref, key, table)
    ref_col = FrameColours(kc.index, np.ones(ref.n + 1, np.float32), np.ones(ref.n + 1, np.uint8))
    sid = int(tgt.labels[40, 50])
    plain = propagate_colours(ref, ref_col, tgt, len(table), flow=np.zeros(ref.shape + (2,), np.float32))
    assert table.names[plain.index[sid]] == "hair/normal"  # inclusion voting alone gets it wrong
    lined = propagate_colours(ref, ref_col, tgt, len(table), flow=np.zeros(ref.shape + (2,), np.float32), tones=tones)
    assert table.names[lined.index[sid]] == "hair/shadow"
    assert lined.method[sid] == METHOD_LINES
    assert table.names[lined.index[int(tgt.labels[40, 30])]] == "hair/normal"
