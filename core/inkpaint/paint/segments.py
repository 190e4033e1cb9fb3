"""Line art -> line-enclosed segments (label map), vectorised.

Steps (:func:`segment_lines`):

1. :func:`binarize_lines`: a pixel is ink when its alpha (line art with transparency) or its distance from white
   ``1 - min(R, G, B)`` (opaque line art; catches black *and* pure colour lines, anti-aliased ones by threshold)
   reaches ``threshold``. Ink pixels are classified black / red (highlight boundary) / blue (shadow boundary) /
   green (other colour line) by their dominant channel.
2. Segments are the 4-connected components of non-ink pixels (``cv2.connectedComponentsWithStats``), so a
   one-pixel diagonal line never leaks.
3. Gap closing (``max_gap`` px). Default ``gap_mode="ends"``: the ink is thinned (Zhang-Suen, on the ink pixels
   only), each stroke end is followed back along its skeleton to get its direction, and rays cast ahead of it (0,
   +-15, +-30 degrees) look for other ink; a gap of at most ``max_gap`` px is bridged with an invisible line
   (``LineArt.bridged``), so only real line breaks close and narrow necks of a region are never cut.
   ``gap_mode="trapped_ball"``: where a ball of diameter ``max_gap`` fits between the lines is a seed; a component
   holding several seeds is split between them (this also splits necks narrower than ``max_gap``).
4. Specks of at most ``speck_size`` pixels merge into the nearest segment.
5. Every ink pixel is then given the label of the nearest segment (``cv2.distanceTransformWithLabels``): the fill
   runs under the lines, and colour lines are painted with a region they bound.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

LINE_NONE = 0
LINE_BLACK = 1
LINE_RED = 2
LINE_BLUE = 3
LINE_GREEN = 4
LINE_KIND_NAMES = {LINE_NONE: "none", LINE_BLACK: "black", LINE_RED: "red", LINE_BLUE: "blue", LINE_GREEN: "green"}


@dataclasses.dataclass
class LineArt:
    """Binarised line art.

    Attributes:
        ink: ``(H, W)`` bool, line pixels.
        kind: ``(H, W)`` uint8, ``LINE_*`` code per pixel (``LINE_NONE`` off the lines).
        strength: ``(H, W)`` float32 ink coverage 0..1 (alpha or distance from white), for the line layer.
        color: ``(H, W, 3)`` float32 0..1 line colour (black for alpha-only art).
        bridged: ``(H, W)`` bool, pixels added to ``ink`` by gap closing (not drawn in the line layer: their
            ``strength`` stays 0); ``None`` when no gap was closed.
    """

    ink: np.ndarray
    kind: np.ndarray
    strength: np.ndarray
    color: np.ndarray
    bridged: np.ndarray | None = None


@dataclasses.dataclass
class Segmentation:
    """Line-enclosed segments of one frame.

    Attributes:
        labels: ``(H, W)`` int32, segment id 1..n on non-ink pixels, 0 on ink.
        fill: ``(H, W)`` int32, segment id on every pixel (ink pixels take their nearest segment); all zero when the
            frame has no segment.
        n: number of segments.
        area: ``(n + 1,)`` int64 pixel count per id in ``labels`` (index 0 = ink).
        centroid: ``(n + 1, 2)`` float64 ``(x, y)`` per id.
        lines: the binarised line art.
    """

    labels: np.ndarray
    fill: np.ndarray
    n: int
    area: np.ndarray
    centroid: np.ndarray
    lines: LineArt

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.labels.shape[0]), int(self.labels.shape[1]))


def binarize_lines(image: np.ndarray, channels: list[str] | None = None, threshold: float = 0.5) -> LineArt:
    """Find the ink of a line-art image.

    Args:
        image: ``(H, W)`` or ``(H, W, C)`` float 0..1 (as :func:`inkpaint.io.read_image` returns; 8/16-bit and
            greyscale files alike) or uint8/uint16.
        channels: channel names (``R G B A``, ``Y``, ``Y A``, ``A``); guessed from ``C`` when ``None``.
        threshold: ink when alpha / distance-from-white >= threshold (0..1).

    Returns:
        The :class:`LineArt`.

    Raises:
        ValueError: bad shape or threshold.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"line threshold must be in (0, 1], got {threshold}")
    arr = np.asarray(image)
    if arr.dtype == np.uint8:
        arr = arr.astype(np.float32) / 255.0
    elif arr.dtype == np.uint16:
        arr = arr.astype(np.float32) / 65535.0
    else:
        arr = arr.astype(np.float32, copy=False)
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3 or arr.shape[2] < 1:
        raise ValueError(f"line art must be (H, W) or (H, W, C), got {np.asarray(image).shape}")
    c = arr.shape[2]
    if channels is None:
        channels = {1: ["Y"], 2: ["Y", "A"], 3: ["R", "G", "B"]}.get(c, ["R", "G", "B", "A"] + [f"c{i}" for i in range(4, c)])
    names = [n.split(".")[-1].upper() for n in channels]
    alpha = arr[..., names.index("A")] if "A" in names else None
    if all(k in names for k in "RGB"):
        rgb = np.stack([arr[..., names.index(k)] for k in "RGB"], axis=-1)
    elif "Y" in names:
        rgb = np.repeat(arr[..., names.index("Y")][..., None], 3, axis=-1)
    elif names == ["A"]:
        rgb = np.zeros(arr.shape[:2] + (3,), np.float32)
    else:
        rgb = np.repeat(arr[..., :1], 3, axis=-1)
    if alpha is not None and float(alpha.min()) < 0.999:
        # transparency present: alpha says where the ink is (alpha-only art, or lines over a transparent canvas)
        strength = np.clip(alpha, 0.0, 1.0)
        color = rgb
        if names == ["A"] or (float(rgb.max()) == 0.0):
            color = np.zeros_like(rgb)
    else:
        strength = np.clip(1.0 - rgb.min(axis=-1), 0.0, 1.0)
        color = rgb
    ink = strength >= threshold
    # colour lines: the dominant channel clearly above the two others (anti-aliased edges included); only ink
    # pixels are classified, which keeps this cheap on large frames
    kind = np.zeros(ink.shape, np.uint8)
    idx = np.flatnonzero(ink)
    cv = color.reshape(-1, 3)[idx]
    r, g, b = cv[:, 0], cv[:, 1], cv[:, 2]
    margin = 0.25
    k = np.full(len(idx), LINE_BLACK, np.uint8)
    k[(r - np.maximum(g, b)) > margin] = LINE_RED
    k[(b - np.maximum(r, g)) > margin] = LINE_BLUE
    k[(g - np.maximum(r, b)) > margin] = LINE_GREEN
    kind.reshape(-1)[idx] = k
    return LineArt(ink, kind, strength.astype(np.float32), color.astype(np.float32))


def nearest_label_fill(labels: np.ndarray, holes: np.ndarray) -> np.ndarray:
    """Give every pixel of ``holes`` the label of the nearest pixel outside ``holes`` (Euclidean, vectorised).

    Args:
        labels: ``(H, W)`` int32 labels, read outside ``holes``.
        holes: ``(H, W)`` bool pixels to fill.

    Returns:
        ``(H, W)`` int32, ``labels`` with the holes filled (unchanged when there is nothing outside the holes).
    """
    if not holes.any() or holes.all():
        return labels.copy()
    src = holes.astype(np.uint8)  # zeros are the sources
    _, idx = cv2.distanceTransformWithLabels(src, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL)
    flat = labels.reshape(-1)
    sources = np.flatnonzero(src.reshape(-1) == 0)
    lut = np.zeros(len(sources) + 1, np.int32)
    lut[1:] = flat[sources]
    out = lut[idx.reshape(-1)].reshape(labels.shape)
    out[~holes] = labels[~holes]
    return out


def _neighbour_offsets(width: int) -> np.ndarray:
    """Flat offsets of the 8 neighbours P2..P9 (N, NE, E, SE, S, SW, W, NW) in a row-major image ``width`` wide."""
    return np.array([-width, -width + 1, 1, width + 1, width, width - 1, -1, -width - 1], np.int64)


def thin_lines(ink: np.ndarray, max_iter: int = 16) -> tuple[np.ndarray, int]:
    """Zhang-Suen thinning, vectorised over the border pixels of the ink only (never the whole frame per pass).

    Args:
        ink: ``(H, W)`` bool.
        max_iter: passes at most; strokes thicker than about ``2 * max_iter`` px keep a thick core (their ends are
            still found when thinner parts reach them).

    Returns:
        The skeleton as a flat bool array of the 1-px padded image ``(H + 2) * (W + 2)``, and the padded width.
    """
    h, w = ink.shape
    wp = w + 2
    pad = np.zeros((h + 2) * wp, bool)
    pad.reshape(h + 2, wp)[1:-1, 1:-1] = ink
    offs = _neighbour_offsets(wp)
    idx = np.flatnonzero(pad)
    active = idx[pad[idx[:, None] + offs].sum(1) < 8]  # only border pixels can go
    for _ in range(max_iter):
        changed = False
        for step in (0, 1):
            if len(active) == 0:
                break
            nb = pad[active[:, None] + offs]
            b = nb.sum(1)
            a = (~nb & np.roll(nb, -1, axis=1)).sum(1)
            p2, p4, p6, p8 = nb[:, 0], nb[:, 2], nb[:, 4], nb[:, 6]
            if step == 0:
                keep_shape = ~(p2 & p4 & p6) & ~(p4 & p6 & p8)
            else:
                keep_shape = ~(p2 & p4 & p8) & ~(p2 & p6 & p8)
            rm = (b >= 2) & (b <= 6) & (a == 1) & keep_shape
            if rm.any():
                gone = active[rm]
                pad[gone] = False
                changed = True
                near = (gone[:, None] + offs).reshape(-1)
                active = np.unique(np.concatenate([active[~rm], near[pad[near]]]))
        if not changed:
            break
    return pad, wp


def _stroke_ends(skel: np.ndarray, wp: int, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """End points of a padded flat skeleton and, for each, the point reached ``steps`` px back along its stroke."""
    offs = _neighbour_offsets(wp)
    idx = np.flatnonzero(skel)
    nb = skel[idx[:, None] + offs]
    b = nb.sum(1)
    a = (~nb & np.roll(nb, -1, axis=1)).sum(1)
    ends = idx[(b == 1) | ((b == 2) & (a == 1))]
    order = offs[[0, 2, 4, 6, 1, 3, 5, 7]]  # prefer 4-neighbours: follows staircases without skipping
    pos = ends.copy()
    hist = np.stack([ends, ends, ends], 1)  # the last positions, never stepped on again
    alive = np.ones(len(ends), bool)
    rows = np.arange(len(ends))
    for _ in range(steps):
        cand = pos[:, None] + order[None]
        ok = skel[cand] & ~(cand[:, :, None] == hist[:, None, :]).any(-1)
        has = ok.any(1) & alive
        nxt = np.where(has, cand[rows, ok.argmax(1)], pos)
        alive &= has
        hist = np.concatenate([hist[:, 1:], nxt[:, None]], 1)
        pos = nxt
    return ends, pos


def close_line_gaps(
    ink: np.ndarray, kind: np.ndarray, max_gap: float, angles: tuple[float, ...] = (0.0, -15.0, 15.0, -30.0, 30.0)
) -> tuple[np.ndarray, int]:
    """Bridge breaks in the line art: each stroke end is extended along its direction to the nearest other ink.

    A ray from a stroke end first leaves its own stroke, then crosses paper; when it meets ink again after at most
    ``max_gap`` px of paper, the ray up to that ink becomes a bridge (straight rays win ties over slanted ones).
    Work is per stroke end, vectorised (the ink is thinned with :func:`thin_lines`); no full-frame loop.

    Args:
        ink: ``(H, W)`` bool line pixels.
        kind: ``(H, W)`` uint8 ``LINE_*`` code; a bridge takes the kind of the stroke it extends.
        max_gap: the widest break closed, px.
        angles: ray directions tried, degrees off the stroke direction.

    Returns:
        ``(H, W)`` uint8 ``LINE_*`` code on bridge pixels (``LINE_NONE`` elsewhere), and the number of bridges.
    """
    h, w = ink.shape
    out = np.zeros((h, w), np.uint8)
    if max_gap <= 0 or not ink.any() or ink.all():
        return out, 0
    skel, wp = thin_lines(ink, max_iter=max(8, int(np.ceil(max_gap)) + 4))
    ends, back = _stroke_ends(skel, wp, steps=max(4, 2 * int(np.ceil(max_gap))))
    if len(ends) == 0:
        return out, 0
    ey, ex = np.divmod(ends, wp)
    by, bx = np.divmod(back, wp)
    ex, ey = (ex - 1).astype(np.float64), (ey - 1).astype(np.float64)
    d = np.stack([ex - (bx - 1), ey - (by - 1)], 1).astype(np.float64)
    norm = np.hypot(d[:, 0], d[:, 1])
    ok_dir = norm >= 2.0  # dots and 1-px stubs have no direction
    ex, ey, d = ex[ok_dir], ey[ok_dir], d[ok_dir] / norm[ok_dir, None]
    if len(ex) == 0:
        return out, 0
    ts = np.arange(0.5, float(max_gap) + 8.0 + 1e-6, 0.5)  # own half-width + the gap
    rows = np.arange(len(ex))
    best = np.full(len(ex), np.inf)
    best_t = np.zeros(len(ex))
    best_a = np.zeros(len(ex))
    for ang in angles:
        r = np.deg2rad(ang)
        dx = d[:, 0] * np.cos(r) - d[:, 1] * np.sin(r)
        dy = d[:, 0] * np.sin(r) + d[:, 1] * np.cos(r)
        xs = np.rint(ex[:, None] + dx[:, None] * ts[None]).astype(np.int64)
        ys = np.rint(ey[:, None] + dy[:, None] * ts[None]).astype(np.int64)
        inside = (xs >= 0) & (xs < w) & (ys >= 0) & (ys < h)
        on = np.zeros(xs.shape, bool)
        on[inside] = ink[ys[inside], xs[inside]]
        left_stroke = np.cumsum(~on, 1) > 0
        hit = on & left_stroke & inside
        first = np.where(hit.any(1), hit.argmax(1), 0)
        found = hit.any(1)
        paper = np.cumsum(~on, 1)[rows, first] * 0.5
        found &= paper <= max_gap
        cost = np.where(found, ts[first] * (1.0 + abs(ang) / 90.0), np.inf)
        better = cost < best
        best = np.where(better, cost, best)
        best_t = np.where(better, ts[first], best_t)
        best_a = np.where(better, ang, best_a)
    sel = np.flatnonzero(np.isfinite(best))
    if len(sel) == 0:
        return out, 0
    r = np.deg2rad(best_a[sel])
    dx = d[sel, 0] * np.cos(r) - d[sel, 1] * np.sin(r)
    dy = d[sel, 0] * np.sin(r) + d[sel, 1] * np.cos(r)
    use = ts[None] <= best_t[sel, None] + 1e-6
    xs = np.rint(ex[sel, None] + dx[:, None] * ts[None])[use].astype(np.int64)
    ys = np.rint(ey[sel, None] + dy[:, None] * ts[None])[use].astype(np.int64)
    src = np.broadcast_to(kind[ey[sel].astype(np.int64), ex[sel].astype(np.int64)][:, None], use.shape)[use]
    inside = (xs >= 0) & (xs < w) & (ys >= 0) & (ys < h)
    xs, ys, src = xs[inside], ys[inside], src[inside]
    paper = ~ink[ys, xs]
    out[ys[paper], xs[paper]] = np.where(src[paper] == LINE_NONE, LINE_BLACK, src[paper])
    return out, int(len(sel))


def _split_gaps(labels: np.ndarray, n: int, free: np.ndarray, max_gap: int) -> np.ndarray:
    """Trapped-ball gap closing: split components that hold several ball-sized seeds. Returns new labels (ids may skip)."""
    radius = max_gap / 2.0
    dist = cv2.distanceTransform(free.astype(np.uint8), cv2.DIST_L2, 5)
    core = dist > radius
    ns, seeds = cv2.connectedComponents(core.astype(np.uint8), connectivity=4, ltype=cv2.CV_32S)
    if ns <= 2:
        return labels
    # the component each seed lies in; components with >= 2 seeds are split
    at = np.flatnonzero(seeds.reshape(-1))
    pos = np.zeros(ns, np.int64)
    pos[seeds.reshape(-1)[at]] = at  # any pixel of each seed
    seed_comp = labels.reshape(-1)[pos].astype(np.int64)
    seed_comp[0] = 0
    per_comp = np.bincount(seed_comp[1:], minlength=n + 1)
    split = per_comp >= 2
    split[0] = False
    if not split.any():
        return labels
    region = split[labels] & free
    grown = np.where(region, seeds, 0).astype(np.int32)
    grown[~split[seed_comp][grown] & (grown > 0)] = 0
    kernel = np.ones((3, 3), np.uint8)
    for _ in range(int(np.ceil(radius)) + 2):
        todo = region & (grown == 0)
        if not todo.any():
            break
        dil = cv2.dilate(grown.astype(np.float32), kernel).astype(np.int32)
        take = todo & (dil > 0)
        grown[take] = dil[take]
    rest = region & (grown == 0)
    if rest.any():  # pixels the growth did not reach: nearest seed of the same component, else their own piece
        near = nearest_label_fill(np.where(grown > 0, grown, 0), ~(grown > 0))
        ok = rest & (seed_comp[near] == labels)
        grown[ok] = near[ok]
    out = labels.astype(np.int64) + 0
    out[region & (grown > 0)] = (n + 1 + grown[region & (grown > 0)]).astype(np.int64)
    still = region & (grown == 0)
    if still.any():
        k, extra = cv2.connectedComponents(still.astype(np.uint8), connectivity=4, ltype=cv2.CV_32S)
        out[still] = n + 1 + ns + extra[still]
    return out.astype(np.int32)


def segment_lines(
    image: np.ndarray | LineArt,
    channels: list[str] | None = None,
    *,
    threshold: float = 0.5,
    max_gap: int = 0,
    speck_size: int = 0,
    gap_mode: str = "ends",
) -> Segmentation:
    """Segment line art into line-enclosed regions.

    Args:
        image: line art (see :func:`binarize_lines`) or an already binarised :class:`LineArt`.
        channels: channel names of ``image``.
        threshold: ink threshold 0..1.
        max_gap: close line breaks up to this many pixels (0 = off).
        speck_size: segments of at most this many pixels merge into the nearest segment (0 = off).
        gap_mode: ``"ends"`` (extend stroke ends across breaks, :func:`close_line_gaps`) or ``"trapped_ball"``.

    Returns:
        The :class:`Segmentation`; ids are 1..n (in raster order of first pixel when no gap was split).

    Raises:
        ValueError: unknown ``gap_mode``.
    """
    if gap_mode not in ("ends", "trapped_ball"):
        raise ValueError(f"gap_mode must be 'ends' or 'trapped_ball', got {gap_mode!r}")
    lines = image if isinstance(image, LineArt) else binarize_lines(image, channels, threshold)
    if max_gap > 0 and gap_mode == "ends":
        bridge_kind, n_bridges = close_line_gaps(lines.ink, lines.kind, max_gap)
        if n_bridges:
            bridged = bridge_kind > 0
            lines = dataclasses.replace(
                lines, ink=lines.ink | bridged, kind=np.where(bridged, bridge_kind, lines.kind), bridged=bridged
            )
    free = ~lines.ink
    n, labels, stats, cents = cv2.connectedComponentsWithStats(free.astype(np.uint8), connectivity=4, ltype=cv2.CV_32S)
    n -= 1
    changed = False
    if n > 0 and max_gap > 0 and gap_mode == "trapped_ball":
        split = _split_gaps(labels, n, free, max_gap)
        changed = split is not labels
        labels = split
    if changed:  # new ids from the split: recount
        n, labels, stats, cents = _relabel(labels)
    else:
        stats, cents = stats.astype(np.int64), cents.astype(np.float64)
    if n > 0 and speck_size > 0:
        area = stats[:, 4]
        speck = area <= speck_size
        speck[0] = False
        if speck.any() and not speck[1:].all():
            # specks become holes, filled below from their nearest segment; the others keep their stats
            keep = ~speck
            lut = (np.cumsum(keep) - 1).astype(np.int32)
            lut[speck] = 0
            labels = lut[labels]
            stats, cents = stats[keep], cents[keep]
            n = len(stats) - 1
    if n == 0:
        fill = np.zeros_like(labels)
    else:
        fill = nearest_label_fill(labels, labels == 0)
    return Segmentation(labels, fill, n, stats[:, 4].astype(np.int64), cents, lines)


def _relabel(labels: np.ndarray) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """Renumber the ids in use to 1..n (keeping their order); stats like connectedComponentsWithStats."""
    flat = labels.reshape(-1)
    present = np.bincount(flat) > 0
    present[0] = False
    lut = np.cumsum(present).astype(np.int32)
    lut[~present] = 0
    out = lut[labels]
    n = int(present.sum())
    stats, cents = segment_stats(out, n)
    return n, out, stats, cents


def segment_stats(labels: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Area and centroid of an arbitrary label map.

    Args:
        labels: ``(H, W)`` int32 ids 0..n.
        n: number of ids.

    Returns:
        ``(n + 1, 5)`` int64 stats laid out like ``cv2.connectedComponentsWithStats`` (only column 4, the area, is
        filled; the box columns are 0) and ``(n + 1, 2)`` float64 ``(cx, cy)``.
    """
    h, w = labels.shape
    area = np.bincount(labels.reshape(-1), minlength=n + 1)[: n + 1]
    sx = np.bincount(labels.reshape(-1), weights=np.broadcast_to(np.arange(w, dtype=np.float64), (h, w)).reshape(-1), minlength=n + 1)[: n + 1]
    sy = np.bincount(labels.reshape(-1), weights=np.repeat(np.arange(h, dtype=np.float64), w), minlength=n + 1)[: n + 1]
    stats = np.zeros((n + 1, 5), np.int64)
    stats[:, 4] = area
    cents = np.stack([sx / np.maximum(area, 1), sy / np.maximum(area, 1)], axis=1)
    return stats, cents
