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
