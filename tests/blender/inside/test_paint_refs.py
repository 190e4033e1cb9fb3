"""Inside real Blender: the add-on's paint job builder carries reference mode (``PaintJob.refs``, issue 16)."""

from __future__ import annotations

import sys

import pytest


def _stages():  # type: ignore[no-untyped-def]
    return sys.modules[[m for m in sys.modules if m.endswith("inkpaint.stages")][0]]


def test_refs_reach_the_job_without_keyframes(addon, tmp_path) -> None:  # type: ignore[no-untyped-def]
    front, back, back_line = (tmp_path / n for n in ("front.png", "back.png", "back_line.png"))
    for p in (front, back, back_line):
        p.write_bytes(b"x")
    job = _stages().build_paint_job(str(tmp_path / "line" / "####.png"), [], "", "forward", str(tmp_path / "o" / "####.png"),
                                    False, refs=[(str(front), None), (str(back), str(back_line))])
    assert job["keys"] == []
    assert job["refs"] == [{"image": str(front), "line": None}, {"image": str(back), "line": str(back_line)}]
    plain = _stages().build_paint_job(str(tmp_path / "line" / "####.png"), [], "", "forward", str(tmp_path / "o" / "####.png"), False)
    assert "refs" not in plain
    with pytest.raises(Exception, match="does not exist"):
        _stages().build_paint_job(str(tmp_path / "line" / "####.png"), [], "", "forward", str(tmp_path / "o" / "####.png"),
                                  False, refs=[(str(tmp_path / "nope.png"), None)])
