"""Frame sources shared by the operations: plates and part mattes read on demand.

- :class:`SequenceSource` / :func:`check_sequence`: a colour-managed plate (roto, cel, shade, finish).
- :class:`MatteSource` / :class:`PartLabels`: part mattes (the roto output) as label images (ink, shade, finish, cel).
- :func:`read_tone` / :func:`read_layer`: one layer frame (tones, ink, mattes) checked against the frame size.

Moved here from ``ops/roto.py`` and ``ops/ink.py`` (which still re-export these names).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..cel.labels import MAX_PARTS, bounding_box, mattes_to_labels
from ..errors import FrameError, MissingChannelError, SpecError
from ..io.frames import ImageData, Window, image_size, paste, read_attributes, read_image, read_rgb
from ..io.sequence import FrameSequence
from ..spec import ColorSettings


class SequenceSource:
    """A colour-managed plate read on demand through OIIO, with a small LRU so neighbours aren't re-read.

    Checks every frame against the first frame's resolution (names the frame on a mismatch).
    """

    def __init__(self, pattern: str, frames: list[int], color: ColorSettings, cache: int = 3) -> None:
        self.seq = FrameSequence.parse(pattern, what="input")
        self.frames = frames
        self.frame_set = frozenset(frames)
        self.color = color
        self.size = image_size(self.seq.path(frames[0]), frames[0])
        self._cache: dict[int, np.ndarray] = {}
        self._order: list[int] = []
        self._cap = cache

    def path(self, frame: int) -> str:
        return self.seq.path(frame)

    def rgb(self, frame: int) -> np.ndarray:
        if frame in self._cache:
            return self._cache[frame]
        img = read_rgb(self.seq.path(frame), self.color, frame=frame)
        if (img.shape[1], img.shape[0]) != self.size:
            raise FrameError(
                f"resolution changes mid-sequence: {img.shape[1]}x{img.shape[0]}, but frame {self.frames[0]} is "
                f"{self.size[0]}x{self.size[1]}",
                frame=frame,
                path=self.seq.path(frame),
            )
        self._cache[frame] = img
        self._order.append(frame)
        while len(self._order) > self._cap:
            self._cache.pop(self._order.pop(0), None)
        return img


def check_sequence(source: SequenceSource, frames: list[int]) -> None:
    """Open every frame's header before any work starts: unreadable files and size changes fail early."""
    for f in frames:
        size = image_size(source.path(f), f)
        if size != source.size:
            raise FrameError(
                f"resolution changes mid-sequence: {size[0]}x{size[1]}, but frame {frames[0]} is {source.size[0]}x{source.size[1]}",
                frame=f,
                path=source.path(f),
            )


NON_PART_LAYERS = frozenset({"ink", "ink_hard", "trace", "colour", "tone", "rgba", "composite"})
"""``<layer>.A`` channels that are never part mattes."""


class MatteSource:
    """Part mattes read by channel name from an EXR sequence (the roto output), turned into label images.

    Parts are the ``<part>.A`` channels of the first frame (minus Cryptomatte and inkpaint's own layers), in the
    order of the roto header ``inkpaint:objects`` when present, else sorted by name.

    Args:
        pattern: matte pattern (``roto/shot.####.exr``).
        frames: frames to read.
        what: option/field named in errors.
        parts: use only these parts (each must exist).

    Raises:
        FrameError: the first frame is unreadable or holds no ``<part>.A`` channel.
        SpecError: a requested part is absent.
    """

    def __init__(self, pattern: str, frames: list[int], *, what: str = "--mattes", parts: list[str] | None = None) -> None:
        self.seq = FrameSequence.parse(pattern, what=what)
        self.what = what
        first = self.seq.path(frames[0])
        attrs = read_attributes(first, frames[0])
        channels = [str(c) for c in attrs["channelnames"]]
        found = [c[:-2] for c in channels if c.endswith(".A") and c[:-2] not in NON_PART_LAYERS and not c.startswith("Crypto")]
        if not found:
            raise FrameError(
                f"has no part matte channels ('<part>.A'); channels present: {', '.join(channels)}. "
                f"{what} must be the roto output",
                frame=frames[0],
                path=first,
            )
        order = attrs.get("inkpaint:objects")
        if isinstance(order, str) and order:
            ordered = [n for n in order.split(",") if n in found]
            names = ordered + sorted(n for n in found if n not in ordered)
        else:
            names = sorted(found)
        if parts:
            missing = [p for p in parts if p not in names]
            if missing:
                raise SpecError("parts", f"part(s) {', '.join(missing)} not in the mattes '{first}'; it has {', '.join(names)}")
            names = [n for n in names if n in parts]
        if len(names) > MAX_PARTS:
            raise FrameError(f"has {len(names)} parts; at most {MAX_PARTS} are supported", frame=frames[0], path=first)
        self.names = names
        self.size = (int(attrs["width"]), int(attrs["height"]))

    def path(self, frame: int) -> str:
        return self.seq.path(frame)

    def mattes(self, frame: int) -> list[np.ndarray]:
        """The part mattes of ``frame``, ``(H, W)`` float32 each, in :attr:`names` order.

        Raises:
            FrameError: unreadable, resolution differs from the first frame, or a part channel is missing.
        """
        img = self._read(frame)
        full = Window.full(self.size)
        return [paste(plane, img.window or full, full) for plane in img.pixels]

    def _read(self, frame: int) -> ImageData:
        """The part channels of ``frame`` in the file's data window, checked against the first frame's size, as
        ``(P, h, w)`` planes (OpenCV works on contiguous planes)."""
        return read_layer(
            self.path(frame), frame, self.size, [f"{n}.A" for n in self.names], "data", "mattes",
            f"the parts of the first frame: {', '.join(self.names)}", against="the first matte frame is", planar=True,
        )

    def labels(self, frame: int) -> np.ndarray:
        """``(H, W)`` uint8 part labels of ``frame`` (0 outside, ``i + 1`` for ``names[i]``)."""
        return self.part_labels(frame).full()

    def part_labels(self, frame: int, margin: int = 0) -> "PartLabels":
        """The part labels of ``frame`` inside the parts' bounding box grown by ``margin`` px.

        Only the matte file's data window is decoded, so bounding-box mattes (inkpaint's roto output, Nuke
        renders) read in a fraction of a full frame's time.

        Raises:
            FrameError: unreadable, resolution differs from the first frame, or a part channel is missing.
        """
        img = self._read(frame)
        assert img.window is not None
        planes = img.pixels
        labels = mattes_to_labels(planes) if planes.size else np.zeros((img.window.height, img.window.width), np.uint8)
        box = bounding_box(labels > 0)
        if box is None:
            return PartLabels(np.zeros((0, 0), np.uint8), Window(0, 0, 0, 0), self.size)
        window = Window.from_slices(box, within=img.window).grow(margin, self.size)
        return PartLabels(paste(labels, img.window, window), window, self.size)

    def check_size(self, size: tuple[int, int], other: str, other_path: str, frame: int) -> None:
        """Raise a :class:`FrameError` naming both files when ``size`` differs from the mattes'."""
        if tuple(size) != tuple(self.size):
            raise FrameError(
                f"the mattes are {self.size[0]}x{self.size[1]} ('{self.path(frame)}') but the {other} is "
                f"{size[0]}x{size[1]} ('{other_path}'); they must have the same resolution",
                frame=frame,
            )


@dataclasses.dataclass
class PartLabels:
    """The part labels of one frame, inside a window of it (zero outside the window).

    Attributes:
        labels: ``(window.height, window.width)`` uint8: 0 outside every part, ``i + 1`` for part ``i``.
        window: where ``labels`` sit in the frame; empty when the frame has no part pixels.
        size: the frame's ``(width, height)``.
    """

    labels: np.ndarray
    window: Window
    size: tuple[int, int]

    @property
    def empty(self) -> bool:
        return self.window.empty

    def full(self) -> np.ndarray:
        """``(H, W)`` uint8 labels of the whole frame."""
        return paste(self.labels, self.window, Window.full(self.size))

    def within(self, window: Window) -> np.ndarray:
        """The labels re-framed onto ``window`` (zeros where the parts' window doesn't reach)."""
        return paste(self.labels, self.window, window)


def read_tone(path: str, frame: int, size: tuple[int, int], window: Window | None = None) -> np.ndarray:
    """Read the ``tone`` channel of a shade output frame as uint8 codes.

    Args:
        window: the region wanted (``None``: the whole frame ``(H, W)``).

    Raises:
        FrameError: unreadable, no ``tone`` channel, or a size other than ``size``.
    """
    img = read_layer(path, frame, size, ["tone"], window, "tones", "the shade output")
    return np.clip(np.rint(img.pixels[..., 0]), 0, 4).astype(np.uint8)


def read_layer(
    path: str,
    frame: int,
    size: tuple[int, int],
    channels: list[str] | None,
    window: Window | str | None,
    what: str,
    expected: str,
    *,
    against: str = "the mattes are",
    planar: bool = False,
) -> ImageData:
    """Read channels of a layer frame (mattes, tones, ink ...) and check it has the frame ``size``.

    Args:
        what: the layer as named in errors (``"tones"``).
        expected: what the file should be (``"the shade output"``), named when a channel is missing.
        against: what ``size`` is, as named in the size error.
        planar: read ``(C, h, w)`` planes (:func:`inkpaint.io.frames.read_image`).

    Raises:
        FrameError: unreadable, a channel missing, or another size (names the frame and file).
    """
    try:
        img = read_image(path, frame=frame, channels=channels, window=window, planar=planar)
    except MissingChannelError as exc:
        raise MissingChannelError(f"{exc.reason} (expected {expected})", frame=frame, path=path) from None
    if img.frame_size != tuple(size):
        w, h = img.frame_size
        raise FrameError(f"{what} {'is' if what == 'ink' else 'are'} {w}x{h} but {against} {size[0]}x{size[1]}", frame=frame, path=path)
    return img
