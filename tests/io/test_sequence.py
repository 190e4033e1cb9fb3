"""Frame-sequence patterns and frame ranges (inkpaint.io.sequence), on real files."""

from __future__ import annotations

from pathlib import Path

import pytest

from inkpaint.errors import FrameError, SpecError
from inkpaint.io.sequence import FrameSequence, format_frame_range, parse_frame_range


@pytest.mark.parametrize(
    "pattern, frame, expected",
    [
        ("plates/shot.####.exr", 1001, "plates/shot.1001.exr"),
        ("plates/shot.####.exr", 7, "plates/shot.0007.exr"),
        ("plates/shot.####.exr", 12345, "plates/shot.12345.exr"),
        ("plates/shot.%04d.exr", 7, "plates/shot.0007.exr"),
        ("plates/shot.%d.exr", 7, "plates/shot.7.exr"),
        ("plates/shot.@@@.png", 7, "plates/shot.007.png"),
        ("plates/shot_@.dpx", 7, "plates/shot_7.dpx"),
        ("plates/shot.####.exr", -3, "plates/shot.-003.exr"),
        ("#2/shot.####.exr", 5, "#2/shot.0005.exr"),  # a token in a folder name is not the frame token
    ],
)
def test_pattern_paths(pattern: str, frame: int, expected: str) -> None:
    assert FrameSequence.parse(pattern).path(frame) == expected


@pytest.mark.parametrize("pattern", ["shot.exr", "plates/shot.1001.exr", "shot_v#.####.exr"])
def test_pattern_without_one_frame_token_is_an_error_naming_the_field(pattern: str) -> None:
    with pytest.raises(SpecError) as info:
        FrameSequence.parse(pattern, what="--out")
    assert info.value.field == "--out"
    assert pattern in str(info.value)


def _touch(folder: Path, *names: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        (folder / n).write_bytes(b"x")


def test_frames_on_disk_matches_exact_names_only(tmp_path: Path) -> None:
    _touch(
        tmp_path,
        "shot.0001.exr", "shot.0002.exr", "shot.0010.exr",
        "shot.1.exr",  # unpadded: not ####
        "shot.00003.exr",  # over-padded: not what #### writes for frame 3
        "shot.0004.exr.bak", "other.0005.exr",
        ".shot.0006.abcd1234.inkpaint-tmp.exr",  # a temp file of an interrupted write
    )
    seq = FrameSequence.parse(str(tmp_path / "shot.####.exr"))
    assert seq.frames_on_disk() == [1, 2, 10]
    assert seq.frame_of(str(tmp_path / "shot.0010.exr")) == 10
    assert seq.frame_of(str(tmp_path / "shot.00003.exr")) is None
    unpadded = FrameSequence.parse(str(tmp_path / "shot.%d.exr"))
    assert unpadded.frames_on_disk() == [1]


def test_explicit_range_with_missing_frames_lists_them(tmp_path: Path) -> None:
    _touch(tmp_path, *[f"shot.{f:04d}.exr" for f in (1001, 1002, 1005)])
    seq = FrameSequence.parse(str(tmp_path / "shot.####.exr"))
    assert seq.resolve_frames("1001-1002") == [1001, 1002]
    with pytest.raises(FrameError) as info:
        seq.resolve_frames("1001-1006")
    msg = str(info.value)
    assert info.value.frame == 1003
    assert "3 frame(s)" in msg and "1003-1004,1006" in msg and "shot.1003.exr" in msg


def test_implicit_range_reports_holes_but_accepts_stepped_plates(tmp_path: Path) -> None:
    _touch(tmp_path / "holes", *[f"a.{f:04d}.exr" for f in (1, 2, 3, 5, 6)])
    with pytest.raises(FrameError, match=r"1 frame\(s\).*: 4 .*a\.0004\.exr.*--frames"):
        FrameSequence.parse(str(tmp_path / "holes" / "a.####.exr")).resolve_frames(None)
    _touch(tmp_path / "twos", *[f"a.{f:04d}.exr" for f in (1, 3, 5, 7)])
    assert FrameSequence.parse(str(tmp_path / "twos" / "a.####.exr")).resolve_frames(None) == [1, 3, 5, 7]
    with pytest.raises(FrameError, match="no frames found"):
        FrameSequence.parse(str(tmp_path / "none" / "a.####.exr")).resolve_frames(None)


@pytest.mark.parametrize(
    "text, frames",
    [
        ("1001-1005", [1001, 1002, 1003, 1004, 1005]),
        ("1-9x4", [1, 5, 9]),
        ("1,3,10-12", [1, 3, 10, 11, 12]),
        ("5", [5]),
        ("-3--1", [-3, -2, -1]),
        (" 2, 1 ", [1, 2]),
    ],
)
def test_parse_frame_range(text: str, frames: list[int]) -> None:
    assert parse_frame_range(text) == frames


@pytest.mark.parametrize("text", ["10-1", "1-10x0", "abc", "1001:1100", ",", "1-"])
def test_bad_frame_ranges_name_the_field(text: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_frame_range(text, what="--frames")
    assert info.value.field == "--frames"


def test_format_frame_range_round_trips() -> None:
    frames = [1, 2, 3, 7, 9, 10]
    assert format_frame_range(frames) == "1-3,7,9-10"
    assert parse_frame_range(format_frame_range(frames)) == frames
