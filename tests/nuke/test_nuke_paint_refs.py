"""The Nuke host's paint job builder carries reference mode (``PaintJob.refs``, issue 16) to the engine spec."""

from __future__ import annotations

import pytest

from inkpaint.jobs.paint import PaintJob, PaintRef
from inkpaint_nuke import jobs


def _job(**kw):
    base = dict(input="/shot/line.####.png", output="/shot/paint/fill.####.exr", frames=(1, 10), keys=[], palette=None)
    base.update(kw)
    return jobs.paint_job(**base)


def test_refs_round_trip_without_keyframes():
    body = _job(refs=[{"image": "/sheet/front.png"}, {"image": "/sheet/back.png", "line": "/sheet/back_line.png"}])
    job = PaintJob.from_dict(body)
    assert job.keys == [] and job.refs == [PaintRef("/sheet/front.png"), PaintRef("/sheet/back.png", "/sheet/back_line.png")]


def test_keyframe_only_jobs_have_no_refs_field():
    body = _job(keys=[{"frame": 1, "image": "/shot/key.0001.png"}])
    assert "refs" not in body and PaintJob.from_dict(body).refs == []


def test_neither_keys_nor_refs_is_a_build_error():
    with pytest.raises(jobs.JobBuildError, match="no keyframes"):
        _job()
    with pytest.raises(jobs.JobBuildError, match="reference 0"):
        _job(refs=[{"line": "/x.png"}])


def test_paint_node_references_knob_reaches_the_job(fake, tmp_path):  # type: ignore[no-untyped-def]
    import cv2
    import nuke
    import numpy as np

    import inkpaint_nuke
    from inkpaint_nuke import paint_node, runner

    (tmp_path / "line").mkdir()
    img = np.full((40, 60, 3), 255, np.uint8)
    cv2.rectangle(img, (10, 10), (40, 30), (0, 0, 0), 1)
    for f in (1, 2):
        cv2.imwrite(str(tmp_path / "line" / f"{f:04d}.png"), img)
    ref = np.full((40, 60, 3), 255, np.uint8)
    ref[11:30, 11:40] = (40, 200, 100)
    cv2.imwrite(str(tmp_path / "front.png"), ref)
    node = inkpaint_nuke.create_paint("Paint1", inpanel=False)
    node.setInput(0, nuke.nodes.Read(file=str(tmp_path / "line" / "####.png"), first=1, last=2))
    node["references"].setValue(f"{tmp_path / 'front.png'}; {tmp_path / 'front.png'}={tmp_path / 'line' / '0001.png'}")
    p = paint_node.plan(node)
    assert p["job"]["keys"] == []
    assert p["job"]["refs"] == [{"image": str(tmp_path / "front.png"), "line": None},
                                {"image": str(tmp_path / "front.png"), "line": str(tmp_path / "line" / "0001.png")}]
    node["references"].setValue(str(tmp_path / "nope.png"))
    with pytest.raises(runner.InkpaintNukeError, match="nope.png' does not exist"):
        paint_node.plan(node)
