"""Line art -> line-enclosed segments (label map), vectorised.

Steps (:func:`segment_lines`):

1. :func:`binarize_lines`: a pixel is ink when its alpha (line art with transparency) or its distance from white
   ``1 - min(R, G, B)`` (opaque line art; catches black *and* pure colour lines, anti-aliased ones by threshold)
   reaches ``threshold``. Ink pixels are classified black / red (highlight boundary) / blue (shadow boundary) /
   green (other colour line) by their dominant channel.
2. Segments are the 4-connected components of non-ink pixels (``cv2.connectedComponentsWithStats``), so a
   one-pixel diagonal line never leaks.
3. Gap closing (``max_gap`` px, trapped-ball style): where a ball of diameter ``max_gap`` fits between the lines
   is a seed; a component holding several seeds is split between them (seeds grow back over non-ink pixels by
   geodesic dilation). A component with one seed or none is left whole, so small regions are never destroyed.
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
    """

    ink: np.ndarray
    kind: np.ndarray
    strength: np.ndarray
    color: np.ndarray


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
) -> Segmentation:
    """Segment line art into line-enclosed regions.

    Args:
        image: line art (see :func:`binarize_lines`) or an already binarised :class:`LineArt`.
        channels: channel names of ``image``.
        threshold: ink threshold 0..1.
        max_gap: close line breaks up to this many pixels (0 = off).
        speck_size: segments of at most this many pixels merge into the nearest segment (0 = off).

    Returns:
        The :class:`Segmentation`; ids are 1..n (in raster order of first pixel when no gap was split).
    """
    lines = image if isinstance(image, LineArt) else binarize_lines(image, channels, threshold)
    free = ~lines.ink
    n, labels, stats, cents = cv2.connectedComponentsWithStats(free.astype(np.uint8), connectivity=4, ltype=cv2.CV_32S)
    n -= 1
    changed = False
    if n > 0 and max_gap > 0:
        split = _split_gaps(labels, n, free, max_gap)
        changed = split is not labels
        labels = split
    holes = lines.ink.copy()
    if n > 0 and speck_size > 0:
        area = np.bincount(labels.reshape(-1))
        speck = area <= speck_size
        speck[0] = False
        if speck.any() and not speck[1:][area[1:] > 0].all():
            is_speck = speck[labels]
            holes |= is_speck
            labels = np.where(is_speck, 0, labels)
            changed = True
    if changed:
        n, labels, stats, cents = _relabel(labels)
    else:
        stats, cents = stats.astype(np.int64), cents.astype(np.float64)
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
