import numpy as np

from inkpaint.paint.colours import ColourTable, colours_from_image
from inkpaint.paint.propagate import FrameColours, propagate_colours
from inkpaint.paint.segments import LINE_BLUE, LINE_RED, binarize_lines, segment_lines


def _two_boxes(shift=0, gap=False, colour=(0, 0, 0)):
    img = np.ones((64, 64, 3), np.float32)
    img[8:56, 8 + shift] = 0
    img[8:56, 56 + shift] = 0
    img[8, 8 + shift:57 + shift] = 0
    img[55, 8 + shift:57 + shift] = 0
    img[8:56, 32 + shift] = colour
    if gap:
        img[30:33, 32 + shift] = 1
    return img


def test_segments_and_colour_line_fill():
    seg = segment_lines(_two_boxes(colour=(1, 0, 0)))
    assert seg.n == 3  # outside + two boxes
    assert (seg.lines.kind == LINE_RED).sum() > 0
    # red line pixels are painted with an adjacent box, never 0
    assert set(np.unique(seg.fill[9:55, 32])) <= {seg.fill[20, 20], seg.fill[20, 40]}
    assert seg.fill.min() > 0


def test_gap_closing_splits_only_with_max_gap():
    assert segment_lines(_two_boxes(gap=True)).n == 2
    assert segment_lines(_two_boxes(gap=True), max_gap=4).n == 3


def test_specks_merge():
    img = _two_boxes()
    img[19:22, 19:22] = 0
    img[20, 20] = 1  # one white pixel enclosed by ink
    assert segment_lines(img).n == 4
    assert segment_lines(img, speck_size=2).n == 3


def test_alpha_only_greyscale_and_16bit():
    rgb = _two_boxes()
    alpha = 1.0 - rgb[..., 0]
    a = binarize_lines(alpha[..., None], ["A"])
    assert (a.ink == (alpha > 0.5)).all()
    grey = (rgb[..., 0] * 65535).astype(np.uint16)
    assert segment_lines(grey).n == 3
    aa = rgb.copy()
    aa[9:55, 33] = 0.6  # anti-aliased fringe stays non-ink at threshold 0.5
    assert segment_lines(aa).n == 3


def test_blue_line_kind():
    assert (segment_lines(_two_boxes(colour=(0, 0, 1))).lines.kind == LINE_BLUE).any()


def test_voting_and_unpainted_flagging():
    ref = segment_lines(_two_boxes())
    key = np.full((64, 64, 3), 255, np.uint8)
    key[9:55, 9:32] = (200, 10, 10)
    key[9:55, 33:56] = (10, 10, 200)
    table = ColourTable.create()
    kc = colours_from_image(ref, key, table)
    refc = FrameColours(kc.index, np.ones(ref.n + 1, np.float32), np.ones(ref.n + 1, np.uint8))
    tgt = segment_lines(_two_boxes(shift=2))
    out = propagate_colours(ref, refc, tgt, len(table))
    assert out.index[tgt.labels[30, 20]] == kc.index[ref.labels[30, 20]]
    assert out.index[tgt.labels[30, 45]] == kc.index[ref.labels[30, 45]]
    # nothing painted in the reference -> everything stays unpainted (flagged), never guessed
    blank = FrameColours(np.full(ref.n + 1, -1, np.int32), np.zeros(ref.n + 1, np.float32), np.zeros(ref.n + 1, np.uint8))
    none = propagate_colours(ref, blank, tgt, len(table))
    assert (none.index[1:] == -1).all()


def test_colour_table_ids_shared_by_equal_rgb():
    table = ColourTable.create()
    a = table.add((10, 20, 30))
    b = table.add((200, 0, 0))
    table.rgb = np.vstack([table.rgb, table.rgb[a][None]])  # a second entry painted like `a` (two parts, one colour)
    table.names.append("other/normal")
    ids = table.rgb_ids()
    assert ids.shape == (len(table),)
    assert ids[a] == ids[len(table) - 1]
    assert len({int(ids[0]), int(ids[a]), int(ids[b])}) == 3
