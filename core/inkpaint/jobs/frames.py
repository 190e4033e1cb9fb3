"""Image-sequence patterns (``####``, ``%04d``, ``@``) and frame-range expressions (stdlib only; moved from
``inkpaint.io.sequence``, which re-exports them)."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

from .errors import FrameError, InkpaintError, SpecError

_TOKEN = re.compile(r"(#+|@+|%0?(\d*)d)")


@dataclasses.dataclass(frozen=True)
class FrameSequence:
    """A numbered image sequence such as ``plates/shot.####.exr``.

    Tokens: ``#`` and ``@`` each stand for one digit of zero padding (``####`` = 4 digits, the Nuke/Blender
    convention); ``%04d`` is printf style, ``%d`` unpadded. Frames wider than the padding print in full, and
    negative frames keep their sign (``-001``).

    Attributes:
        pattern: the pattern as given.
        prefix: text before the frame token.
        suffix: text after it.
        padding: digits of zero padding (0 = none).
    """

    pattern: str
    prefix: str
    suffix: str
    padding: int

    @classmethod
    def parse(cls, pattern: str, *, what: str = "sequence") -> "FrameSequence":
        """Parse ``pattern``; ``what`` names it in errors (e.g. ``"--out"``).

        Raises:
            SpecError: the pattern has no frame token, or more than one.
        """
        pattern = os.path.expandvars(os.path.expanduser(str(pattern)))
        name = os.path.basename(pattern)
        tokens = list(_TOKEN.finditer(name))
        if not tokens:
            raise SpecError(
                what, f"'{pattern}' has no frame token; use one of ####, %04d or @ (e.g. 'shot.####.exr')"
            )
        if len(tokens) > 1:
            raise SpecError(what, f"'{pattern}' has more than one frame token")
        tok = tokens[0]
        text = tok.group(1)
        if text.startswith("%"):
            padding = int(tok.group(2) or 0)
        else:
            padding = len(text)
        dirname = pattern[: len(pattern) - len(name)]
        return cls(pattern, dirname + name[: tok.start()], name[tok.end() :], padding)

    def path(self, frame: int) -> str:
        """Path of ``frame``."""
        if frame < 0:
            return f"{self.prefix}-{abs(frame):0{max(self.padding - 1, 0)}d}{self.suffix}"
        return f"{self.prefix}{frame:0{self.padding}d}{self.suffix}"

    @property
    def folder(self) -> Path:
        """Folder holding the frames."""
        return Path(os.path.dirname(self.prefix) or ".")

    def _regex(self) -> re.Pattern[str]:
        base = os.path.basename(self.prefix)
        return re.compile(re.escape(base) + r"(-?\d+)" + re.escape(self.suffix) + r"$")

    def frame_of_name(self, name: str) -> int | None:
        """The frame number of the file name ``name`` (no folder) when it is exactly this sequence's name for it.

        ``shot.0001.exr`` is frame 1 of ``shot.####.exr``; ``shot.1.exr`` and ``shot.00001.exr`` are not (they
        are not what :meth:`path` gives for frame 1).
        """
        m = self._regex().match(name)
        if not m:
            return None
        frame = int(m.group(1))
        if os.path.basename(self.path(frame)) != name:
            return None
        return frame

    def frame_of(self, path: str | os.PathLike[str]) -> int | None:
        """The frame number of ``path`` when it belongs to this sequence, else ``None``."""
        if os.path.dirname(str(path)) != os.path.dirname(self.prefix):
            return None
        return self.frame_of_name(os.path.basename(str(path)))

    def _other_padding(self) -> str:
        """A hint naming files that would match with another zero padding (``''`` when there are none)."""
        folder = self.folder
        if not folder.is_dir():
            return f"; the folder '{folder}' does not exist"
        rx = self._regex()
        by_digits: dict[int, list[str]] = {}
        for entry in os.scandir(folder):
            m = rx.match(entry.name)
            if m and entry.is_file():
                by_digits.setdefault(len(m.group(1).lstrip("-")), []).append(entry.name)
        if not by_digits:
            return ""
        parts = []
        for digits, names in sorted(by_digits.items()):
            names.sort()
            token = "#" * digits if digits > 1 else "#"
            parts.append(f"{len(names)} file(s) with {digits}-digit frame numbers ('{names[0]}' .. '{names[-1]}'; "
                         f"use '{os.path.basename(self.prefix)}{token}{self.suffix}')")
        return "; found " + ", ".join(parts)

    def frames_on_disk(self) -> list[int]:
        """Frame numbers present on disk, sorted. Temp files of interrupted writes are ignored."""
        folder = self.folder
        if not folder.is_dir():
            return []
        found = []
        for entry in os.scandir(folder):
            frame = self.frame_of_name(entry.name)
            if frame is not None and entry.is_file():
                found.append(frame)
        return sorted(set(found))

    def resolve_frames(self, frames: str | list[int] | None, *, what: str = "frames") -> list[int]:
        """The frames to process: ``frames`` parsed, or every frame on disk when ``None``.

        Without an explicit range the frames on disk must be contiguous (or evenly stepped, e.g. on twos): a hole
        in a plate is reported rather than silently skipped.

        Raises:
            FrameError: no frames on disk, or frames are missing (all of them are listed, with the first file).
            SpecError: ``frames`` is not a valid range expression (names ``what``).
        """
        if frames is None or frames == "":
            found = self.frames_on_disk()
            if not found:
                raise FrameError(f"no frames found for '{self.pattern}' in '{self.folder}' (looked for names like "
                                 f"'{os.path.basename(self.path(1))}'){self._other_padding()}")
            steps = {b - a for a, b in zip(found, found[1:])}
            if len(steps) > 1:
                step = min(steps)
                full = list(range(found[0], found[-1] + 1, step))
                missing = sorted(set(full) - set(found))
                if missing:
                    self._missing_error(missing, f"the frames on disk ({found[0]}-{found[-1]})",
                                        "; pass --frames (\"frames\" in the job) to choose a range explicitly")
            return found
        wanted = parse_frame_range(frames, what=what) if isinstance(frames, str) else sorted(set(frames))
        if len(wanted) > MAX_FRAMES:
            raise SpecError(what, f"{len(wanted)} frames asked for, over the limit of {MAX_FRAMES}")
        if len(wanted) <= 64:
            missing = [f for f in wanted if not os.path.isfile(self.path(f))]
        else:  # one listing of the folder, not a stat per frame
            on_disk = set(self.frames_on_disk())
            missing = [f for f in wanted if f not in on_disk]
        if missing:
            self._missing_error(missing, f"the range {format_frame_range(wanted)}", "")
        return wanted

    def _missing_error(self, missing: list[int], where: str, hint: str) -> None:
        shown = format_frame_range(missing[:200]) + (" ..." if len(missing) > 200 else "")
        raise FrameError(
            f"{len(missing)} frame(s) of {where} are missing from '{self.pattern}': {shown} "
            f"(first missing file: '{self.path(missing[0])}'){hint}",
            frame=missing[0],
        )


MAX_FRAMES = 1_000_000
"""Most frames a range may hold (a day of 24 fps footage is 2 073 600): beyond it a range is a typo, refused before
any list is built or any file looked at."""


def parse_frame_range(text: str, *, what: str = "frames") -> list[int]:
    """Parse a frame-range expression into a sorted list of unique frames.

    Accepts ``1001-1100``, ``1-100x2`` (step), ``5`` and comma-separated mixes such as ``1,3,10-20``.
    Negative frames are written with a leading minus: ``-5--1``.

    Raises:
        SpecError: on malformed text or an empty/inverted range.
    """
    text = str(text)
    if len(text) > 10_000:
        raise SpecError(what, f"frame range of {len(text)} characters is too long to be a range ({text[:40]!r}...)")
    out: set[int] = set()
    count = 0
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        m = re.fullmatch(r"(-?\d{1,10})(?:-(-?\d{1,10}))?(?:x(\d{1,10}))?", part)
        if not m:
            raise SpecError(what, f"cannot parse frame range {part[:60]!r}; use e.g. 1001-1100, 1-99x2 or 1,5,9 "
                                  "(frame numbers of up to 10 digits)")
        start = int(m.group(1))
        end = int(m.group(2)) if m.group(2) is not None else start
        step = int(m.group(3) or 1)
        if step < 1:
            raise SpecError(what, f"step must be >= 1 in {part!r}")
        if end < start:
            raise SpecError(what, f"range {part!r} ends before it starts")
        count += len(range(start, end + 1, step))
        if count > MAX_FRAMES:
            raise SpecError(what, f"frame range {text[:60]!r} holds more than {MAX_FRAMES} frames (the limit); "
                                  "is it mistyped?")
        out.update(range(start, end + 1, step))
    if not out:
        raise SpecError(what, f"frame range {text!r} is empty")
    return sorted(out)


def format_frame_range(frames: list[int]) -> str:
    """Compact ``[1,2,3,7]`` into ``"1-3,7"``."""
    frames = sorted(set(frames))
    parts: list[str] = []
    i = 0
    while i < len(frames):
        j = i
        while j + 1 < len(frames) and frames[j + 1] == frames[j] + 1:
            j += 1
        parts.append(str(frames[i]) if i == j else f"{frames[i]}-{frames[j]}")
        i = j + 1
    return ",".join(parts)


__all__ = ["FrameSequence", "parse_frame_range", "format_frame_range", "InkpaintError"]
