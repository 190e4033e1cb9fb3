"""End to end: the `inkpaint paint` CLI on a tiny generated clip numbered from 0001, re-propagation, bad input."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from inkpaint.io.frames import read_image, write_png

PAL = """skin on skin: [[250, 230, 220], [240, 200, 180], [200, 150, 140]]
shirt on top: [[180, 221, 208], [115, 156, 150], [69, 104, 107]]
"""


def _line(shift):
    img = np.full((48, 64, 3), 255, np.uint8)
    x0 = 8 + shift
    img[8:40, x0] = 0
    img[8:40, x0 + 40] = 0
    img[8, x0:x0 + 41] = 0
    img[39, x0:x0 + 41] = 0
    img[8:40, x0 + 20] = 0
    return img


def _key(shift):
    img = np.full((48, 64, 3), 255, np.uint8)
    x0 = 8 + shift
    img[9:39, x0 + 1:x0 + 20] = (240, 200, 180)
    img[9:39, x0 + 21:x0 + 40] = (115, 156, 150)
    return img


@pytest.fixture()
def clip(tmp_path):
    os.makedirs(tmp_path / "line")
    for i, f in enumerate(range(1, 7)):
        write_png(str(tmp_path / "line" / f"{f:04d}.png"), _line(i))
    write_png(str(tmp_path / "key1.png"), _key(0))
    write_png(str(tmp_path / "key4.png"), _key(3))
    (tmp_path / "pal.yml").write_text(PAL)
    return tmp_path


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "inkpaint", *args, "-q"], cwd=cwd, capture_output=True, text=True)


def _rgba(path):
    return np.rint(read_image(str(path)).pixels * 255).astype(np.uint8)


def test_cli_end_to_end_and_repropagation(clip):
    r = _cli("paint", "line/####.png", "--key", "1=key1.png", "--out", "paint/####.png", "--palette", "pal.yml",
             "--direction", "forward", cwd=clip)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["written"] == [1, 2, 3, 4, 5, 6]
    px = _rgba(clip / "paint" / "0006.png")
    assert tuple(px[20, 8 + 5 + 10]) == (240, 200, 180, 255)
    assert tuple(px[20, 8 + 5 + 30]) == (115, 156, 150, 255)
    assert px[2, 2, 3] == 0  # background transparent
    # exact palette colours only, no AA inside fills
    colours = {tuple(c) for c in px.reshape(-1, 4) if c[3]}
    assert colours <= {(240, 200, 180, 255), (115, 156, 150, 255)}
    assert (clip / "paint" / "0006.labels.png").exists() and (clip / "paint" / "0006.qc.png").exists()
    segs = json.loads((clip / "paint" / "0006.segments.json").read_text())
    assert {s["status"] for s in segs["segments"]} <= {"painted", "background", "painted_second_pass"}
    before = {f: os.stat(clip / "paint" / f"{f:04d}.png").st_mtime_ns for f in range(1, 7)}
    # rerun unchanged: nothing written
    r = _cli("paint", "line/####.png", "--key", "1=key1.png", "--out", "paint/####.png", "--palette", "pal.yml",
             "--direction", "forward", cwd=clip)
    assert json.loads(r.stdout)["written"] == []
    # a new keyframe at 4: only 4..6 change
    r = _cli("paint", "line/####.png", "--key", "1=key1.png", "--key", "4=key4.png", "--out", "paint/####.png",
             "--palette", "pal.yml", "--direction", "forward", cwd=clip)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["written"] == [4, 5, 6]
    after = {f: os.stat(clip / "paint" / f"{f:04d}.png").st_mtime_ns for f in range(1, 7)}
    assert all(after[f] == before[f] for f in (1, 2, 3))


def test_clicks_backward(clip):
    r = _cli("paint", "line/####.png", "--click", "6:20,20=skin/shadow", "--click", "6:40,20=1", "--out", "p/####.png",
             "--palette", "pal.yml", "--direction", "backward", cwd=clip)
    assert r.returncode == 0, r.stderr
    px = _rgba(clip / "p" / "0001.png")
    assert tuple(px[20, 15, :3]) == (200, 150, 140)


def test_bad_inputs(clip):
    write_png(str(clip / "small.png"), np.zeros((10, 10, 3), np.uint8))
    r = _cli("paint", "line/####.png", "--key", "1=small.png", "--out", "a/####.png", cwd=clip)
    assert r.returncode == 1 and "frame 1" in r.stderr and "small.png" in r.stderr and "10x10" in r.stderr
    r = _cli("paint", "line/####.png", "--key", "9=key1.png", "--out", "b/####.png", cwd=clip)
    assert r.returncode == 1 and "keys[0].frame" in r.stderr and "1-6" in r.stderr
    off = _key(0)
    off[9:39, 9:28] = (235, 205, 178)  # not in the palette: snapped, distance reported
    write_png(str(clip / "off.png"), off)
    r = _cli("paint", "line/####.png", "--key", "1=off.png", "--out", "c/####.png", "--palette", "pal.yml", cwd=clip)
    assert r.returncode == 0, r.stderr
    snapped = json.loads(r.stdout)["summary"]["snapped"]
    assert snapped and snapped[0]["max_distance"] > 0
    assert tuple(_rgba(clip / "c" / "0001.png")[20, 15, :3]) == (240, 200, 180)
    # all-black and all-white line frames: warning + empty frame, the run finishes
    write_png(str(clip / "line" / "0003.png"), np.zeros((48, 64, 3), np.uint8))
    write_png(str(clip / "line" / "0004.png"), np.full((48, 64, 3), 255, np.uint8))
    r = _cli("paint", "line/####.png", "--key", "1=key1.png", "--out", "d/####.png", cwd=clip)
    assert r.returncode == 0, r.stderr
    assert "all ink" in r.stderr and "no lines" in r.stderr
    assert _rgba(clip / "d" / "0003.png")[..., 3].max() == 0
    assert _rgba(clip / "d" / "0006.png")[..., 3].max() == 255  # frames after the blank ones still painted
    # a foreign file in the output folder is never overwritten
    os.makedirs(clip / "e")
    write_png(str(clip / "e" / "0002.png"), np.zeros((4, 4, 3), np.uint8))
    r = _cli("paint", "line/####.png", "--key", "1=key1.png", "--out", "e/####.png", cwd=clip)
    assert r.returncode == 1 and "e/0002.png" in r.stderr


def test_alpha_only_and_16bit_grey_line_art(clip):
    os.makedirs(clip / "alpha")
    os.makedirs(clip / "grey")
    for i, f in enumerate(range(1, 4)):
        ink = 255 - _line(i)[..., 0]
        write_png(str(clip / "alpha" / f"{f:04d}.png"), np.dstack([np.zeros_like(ink)] * 3 + [ink]))
        write_png(str(clip / "grey" / f"{f:04d}.png"), (_line(i)[..., 0].astype(np.uint16) * 257))
    for src in ("alpha", "grey"):
        r = _cli("paint", f"{src}/####.png", "--key", "1=key1.png", "--out", f"o{src}/####.png", cwd=clip)
        assert r.returncode == 0, r.stderr
        assert tuple(_rgba(clip / f"o{src}" / "0003.png")[20, 8 + 2 + 30, :3]) == (115, 156, 150)


def test_chain_fills_only_unpainted_segments_from_the_keyframe_vote():
    from inkpaint.ops.paint import _merge_key_vote
    from inkpaint.paint.propagate import METHOD_NONE, METHOD_SECOND, METHOD_VOTE, FrameColours

    chained = FrameColours(np.array([-1, 3, -1, -1, 2], np.int32), np.array([0, 0.9, 0.2, 0.1, 0.6], np.float32),
                           np.array([0, METHOD_VOTE, METHOD_NONE, METHOD_NONE, METHOD_VOTE], np.uint8))
    from_key = FrameColours(np.array([5, 4, 1, -1, 1], np.int32), np.array([1, 1, 0.8, 0.3, 1], np.float32),
                            np.full(5, METHOD_VOTE, np.uint8))
    out = _merge_key_vote(chained, from_key)
    assert out.index.tolist() == [-1, 3, 1, -1, 2]  # painted ones kept, id 0 (lines) untouched
    assert out.method[2] == METHOD_SECOND and out.method[3] == METHOD_NONE
    assert out.confidence[2] == pytest.approx(0.8)


def test_chain_takes_the_keyframe_vote_where_its_flow_fits_the_line_art_better():
    from inkpaint.ops.paint import DISAGREE_CONFIDENCE, KEY_RESIDUAL_MARGIN, _merge_key_vote
    from inkpaint.paint.propagate import METHOD_SECOND, METHOD_VOTE, FrameColours

    m = KEY_RESIDUAL_MARGIN
    chained = FrameColours(np.array([-1, 3, 3, 3, -1], np.int32), np.array([0, 0.9, 0.9, 0.9, 0], np.float32),
                           np.full(5, METHOD_VOTE, np.uint8), np.array([0, 1.0, 1.0, 0.3, 0.2], np.float32))
    from_key = FrameColours(np.array([5, 4, 4, 4, 2], np.int32), np.ones(5, np.float32),
                            np.full(5, METHOD_VOTE, np.uint8), np.array([0, 1.0 - 2 * m, 1.0 - m / 2, 0.0, 0.9], np.float32))
    out = _merge_key_vote(chained, from_key)
    # 1: keyframe flow fits clearly better -> its vote; 2: not by the margin -> chain; 3: chain fits fine but the key
    # fits better by the margin -> key; 4: chain left it unpainted -> key, whatever the residual
    assert out.index.tolist() == [-1, 4, 3, 4, 2]
    assert out.method[1] == METHOD_SECOND and out.method[2] == METHOD_VOTE
    # the two sources disagreed on 1 and 3: low confidence for QC; 4 was unpainted in the chain: the key's own
    assert out.confidence[1] <= DISAGREE_CONFIDENCE and out.confidence[3] <= DISAGREE_CONFIDENCE
    assert out.confidence[4] == pytest.approx(1.0)
    assert out.residual is not None and out.residual[1] == pytest.approx(1.0 - 2 * m)


def test_summary_counts_low_confidence_like_the_segment_json_and_a_failed_write_stops_the_job(clip, monkeypatch):
    from inkpaint.ops import paint as paint_op
    from inkpaint.ops.base import run_job
    from inkpaint.ops.paint import LOW_CONFIDENCE, PaintJob, PaintKey
    from inkpaint.paint.propagate import STATUS_KEY

    job = PaintJob(input=str(clip / "line" / "####.png"), output=str(clip / "p" / "####.png"), palette=str(clip / "pal.yml"),
                   keys=[PaintKey(frame=1, image=str(clip / "key1.png"))], direction="forward", confidence=0.95)
    res = run_job(job)
    low = 0
    for f in range(1, 7):
        segs = json.loads((clip / "p" / f"{f:04d}.segments.json").read_text())["segments"]
        n = sum(1 for s in segs if s["color"] is not None and s["status"] != STATUS_KEY and s["confidence"] < LOW_CONFIDENCE)
        assert res.summary["per_frame"][str(f)]["low_confidence"] == n
        low += n
    assert res.summary["low_confidence_segments"] == low
    # the writer thread's error reaches the caller; frames already written stay whole, the rest resume
    real = paint_op.write_png

    def fail_on_4(path, *a, **kw):
        if "0004" in os.path.basename(path):
            raise OSError("disk full")
        return real(path, *a, **kw)

    out2 = clip / "q" / "####.png"
    monkeypatch.setattr(paint_op, "write_png", fail_on_4)
    with pytest.raises(OSError, match="disk full"):
        run_job(PaintJob.from_dict({**job.to_dict(), "output": str(out2)}))
    monkeypatch.setattr(paint_op, "write_png", real)
    assert (clip / "q" / "0003.png").exists() and not (clip / "q" / "0004.png").exists()
    missing = [f for f in range(1, 7) if not (clip / "q" / f"{f:04d}.png").exists()]  # 4, and what was not handed over yet
    again = run_job(PaintJob.from_dict({**job.to_dict(), "output": str(out2)}))
    assert again.written == missing
    for f in range(1, 7):
        np.testing.assert_array_equal(_rgba(clip / "q" / f"{f:04d}.png"), _rgba(clip / "p" / f"{f:04d}.png"))


def test_tiny_segment_rule_is_used_only_where_the_keyframe_supports_it(tmp_path):
    from inkpaint.ops.base import run_job
    from inkpaint.ops.paint import PaintJob, PaintKey

    n = 10
    line = np.full((4 * n + 4, 24, 3), 255, np.uint8)
    line[:, 12] = 0
    chips = []
    for r in range(n):
        y = 2 + 4 * r
        line[y - 1:y + 2, 4:7] = 0
        line[y, 5] = 255
        line[y - 1, 4] = 255  # open at the top-left corner onto the left region
        chips.append((y, 5))
    os.makedirs(tmp_path / "line")
    for f in (1, 2):
        write_png(str(tmp_path / "line" / f"{f:04d}.png"), line)

    def key(chip_rgb):
        img = np.full(line.shape, 255, np.uint8)
        img[:, :12] = (200, 40, 40)
        img[:, 13:] = (40, 40, 200)
        for y, x in chips:
            img[y, x] = chip_rgb
        write_png(str(tmp_path / "key.png"), img)
        return PaintKey(1, image=str(tmp_path / "key.png"))

    def run(chip_rgb, out):
        job = PaintJob(input=str(tmp_path / "line" / "####.png"), output=str(tmp_path / out / "####.png"), keys=[key(chip_rgb)],
                       direction="forward", qc_output="", lines_output="")
        res = run_job(job)
        return res.summary["tiny_segments"]["1"], _rgba(tmp_path / out / "0002.png")

    used, px = run((200, 40, 40), "same")  # the chips are painted like their corner region: the rule holds
    assert used == {"agreement": 1.0, "segments": n, "used": True}
    assert all(tuple(px[y, x, :3]) == (200, 40, 40) for y, x in chips)
    used, px = run((40, 200, 40), "own")  # the painter gave the chips their own colour: the rule is not used
    assert used["used"] is False and used["agreement"] == 0.0
    assert all(tuple(px[y, x, :3]) == (40, 200, 40) for y, x in chips)  # the vote keeps the painter's colour


def _summary(stdout):
    res = json.loads(stdout)
    return res, {k: v for k, v in res["summary"].items() if k not in ("seconds", "propagated_frames")}


def test_a_complete_rerun_propagates_nothing_and_a_missing_frame_repaints_only_its_chain(clip):
    """Without a palette the colour table grows with each keyframe: a rerun that repaints only key 4's span must
    still read key 1 first so the frames come out the same. A complete rerun segments and propagates nothing
    (summary ``propagated_frames`` 0) and rebuilds the same summary from the frames' header records."""
    args = ("paint", "line/####.png", "--key", "1=key1.png", "--key", "4=key4.png", "--out", "paint/####.png",
            "--direction", "forward")
    r = _cli(*args, cwd=clip)
    assert r.returncode == 0, r.stderr
    first, s1 = _summary(r.stdout)
    assert first["written"] == [1, 2, 3, 4, 5, 6] and first["summary"]["propagated_frames"] == 6
    files = sorted(p for p in (clip / "paint").iterdir() if not p.name.startswith(".") and ".inkpaint." not in p.name)
    before = {p.name: (p.read_bytes(), os.stat(p).st_mtime_ns) for p in files}
    manifest = json.loads((clip / "paint" / "inkpaint.json").read_text()) if (clip / "paint" / "inkpaint.json").exists() else None

    r = _cli(*args, cwd=clip)
    assert r.returncode == 0, r.stderr
    again, s2 = _summary(r.stdout)
    assert again["written"] == [] and again["summary"]["propagated_frames"] == 0
    assert s2 == s1  # the same per-frame counts, warnings, tiny-segment figures, colour count
    assert {p.name: (p.read_bytes(), os.stat(p).st_mtime_ns) for p in files} == before
    if manifest is not None:
        assert json.loads((clip / "paint" / "inkpaint.json").read_text())["result"]["summary"]["per_frame"] == \
            manifest["result"]["summary"]["per_frame"]

    os.remove(clip / "paint" / "0005.png")
    r = _cli(*args, cwd=clip)
    assert r.returncode == 0, r.stderr
    third, s3 = _summary(r.stdout)
    assert third["written"] == [5]
    assert third["summary"]["propagated_frames"] == 1  # key 4 read (not repainted), its chain only as far as 5
    assert s3 == s1
    assert (clip / "paint" / "0005.png").read_bytes() == before["0005.png"][0]
    assert all(os.stat(p).st_mtime_ns == before[p.name][1] for p in files if not p.name.startswith("0005."))


def test_paint_spans_follow_the_direction():
    from inkpaint.ops.paint import paint_spans

    frames = list(range(1, 13))
    assert paint_spans(frames, [3, 9], "forward") == [[1, 2, 3, 4, 5, 6, 7, 8], [9, 10, 11, 12]]
    assert paint_spans(frames, [3, 9], "backward") == [[1, 2, 3], [4, 5, 6, 7, 8, 9, 10, 11, 12]]
    assert paint_spans(frames, [3, 9], "nearest") == [[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]]
    assert paint_spans(frames, [5], "nearest") == [frames]
