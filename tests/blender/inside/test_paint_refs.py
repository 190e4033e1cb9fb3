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


from test_paint import BLUE, RED, line_clip  # noqa: E402,F401  (the line-art clip fixture)


def test_panel_references_paint_without_keyframes(line_clip) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    import bpy
    import numpy as np
    from blender_helpers import read_pixels

    clip, folder = line_clip
    s = clip.inkpaint
    s.paint_lines = str(folder / "line" / "0001.png")
    s.paint_keys = ""
    s.paint_refs = f"{folder / 'key_0001.png'}={folder / 'line' / '0001.png'}"
    r = bpy.ops.inkpaint.paint(clip=clip.name, direction="forward")
    assert r == {"FINISHED"}
    assert s.status.startswith("painted 3 frame(s)"), s.status
    fill = np.round(read_pixels(s.paint_pattern.replace("####", "0003")) * 255)
    assert tuple(fill[37, 35, :3]) == RED and tuple(fill[40, 89, :3]) == BLUE
    s.paint_refs = ""
    with pytest.raises(RuntimeError, match="keyframe"):
        bpy.ops.inkpaint.paint(clip=clip.name)
