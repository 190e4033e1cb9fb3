"""The chained cel job: roto -> shade -> ink -> finish from a plate, prompts and a palette; resume; worker."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from inkpaint.demo import PALETTE as DEMO_PALETTE
from inkpaint.demo import make_palette, make_plate, make_prompts
from inkpaint.io.frames import read_image
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the shared cel test scene
from cel.scene import write_scene  # noqa: E402

def make_clip(folder: Path, frames: int, size: tuple[int, int]) -> tuple[str, str]:
    """The demo's figure clip (six parts, Lambert-shaded) and its prompts; its palette via ``make_palette``."""
    folder.mkdir(parents=True, exist_ok=True)
    plate, _ = make_plate(folder, frames, size)
    return plate, make_prompts(folder, size)


def test_cel_cli_chain_writes_every_layer_and_resumes(tmp_path: Path, inkpaint_exe: list[str]) -> None:
    plate, prompts = make_clip(tmp_path / "clip", frames=3, size=(128, 96))
    pal = make_palette(tmp_path / "clip")
    cmd = [*inkpaint_exe, "-q", "cel", plate, "--prompts", prompts, "--palette", pal, "--out-dir", str(tmp_path / "cel")]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    for layer in ("roto", "tone", "ink", "cel"):
        assert sorted(p.name for p in (tmp_path / "cel" / layer).glob("demo.*.exr")) == [f"demo.000{i}.exr" for i in (1, 2, 3)]
    img = read_image(str(tmp_path / "cel" / "cel" / "demo.0002.exr"))
    assert {"R", "G", "B", "A", "colour.A", "ink.A", "tone"} <= set(img.channels)
    assert img.channel("A").max() == 1.0
    again = subprocess.run(cmd, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    stages = json.loads(again.stdout)["summary"]["stages"]
    assert all(s["written"] == 0 and s["skipped"] == 3 for s in stages.values())


def test_cel_palette_must_match_prompts(tmp_path: Path, inkpaint_exe: list[str]) -> None:
    plate, prompts = make_clip(tmp_path / "clip", frames=2, size=(96, 72))
    (tmp_path / "pal.yml").write_text("parts:\n" + "".join(f"  {p}: {{normal: [1, 2, 3]}}\n" for p in DEMO_PALETTE if p != "legs") + "  hat: {normal: [1, 2, 3]}\n")
    r = subprocess.run([*inkpaint_exe, "cel", plate, "--prompts", prompts, "--palette", str(tmp_path / "pal.yml"), "--out-dir", str(tmp_path / "cel")], capture_output=True, text=True)
    assert r.returncode == 1
    assert "not in the palette: legs" in r.stderr and "hat" in r.stderr
    assert not (tmp_path / "cel" / "roto").exists()


def test_worker_runs_ink_shade_finish(tmp_path: Path) -> None:
    s = write_scene(tmp_path / "in", frames=2)
    jobs = [
        {"type": "shade", "input": s["plate"], "mattes": s["mattes"], "output": str(tmp_path / "t.####.exr"), "tones": 3},
        {"type": "ink", "mattes": s["mattes"], "output": str(tmp_path / "i.####.exr")},
        {"type": "finish", "mattes": s["mattes"], "palette": s["palette"], "output": str(tmp_path / "c.####.exr"),
         "tones": str(tmp_path / "t.####.exr"), "ink": str(tmp_path / "i.####.exr")},
        {"type": "shade", "input": s["plate"], "mattes": s["mattes"], "output": str(tmp_path / "x.####.exr"), "tones": 7},
    ]
    proc = subprocess.Popen([sys.executable, "-m", "inkpaint", "worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    for i, j in enumerate(jobs):
        proc.stdin.write(json.dumps({"type": "run", "id": f"j{i}", "job": j}) + "\n")
    proc.stdin.flush()
    events = []
    final: dict[str, dict] = {}
    while len(final) < len(jobs):  # the worker answers every request; a hang fails on the test timeout
        line = proc.stdout.readline()
        assert line, "worker closed its output early"
        ev = json.loads(line)
        events.append(ev)
        if ev.get("event") in ("result", "error") and "id" in ev:
            final[ev["id"]] = ev
    proc.stdin.write(json.dumps({"type": "shutdown"}) + "\n")
    proc.stdin.close()
    proc.wait(timeout=60)
    for i in range(3):
        assert final[f"j{i}"]["event"] == "result", final[f"j{i}"]
    assert final["j3"]["event"] == "error" and "tones" in final["j3"]["error"]["message"]
    assert any(e.get("event") == "progress" and e.get("stage") == "shade" for e in events)
    assert read_image(str(tmp_path / "c.0002.exr")).channel("A").max() == 1.0


def _layers(path: str) -> dict[str, "object"]:
    img = read_image(path)
    return {c: img.pixels[..., i] for i, c in enumerate(img.channels)}


def _same_pixels(a: str, b: str) -> None:
    import numpy as np

    la, lb = _layers(a), _layers(b)
    assert sorted(la) == sorted(lb), (a, b)
    for c in la:
        np.testing.assert_array_equal(la[c], lb[c], err_msg=f"{c} of {a} vs {b}")


@pytest.mark.parametrize("tone_lines", [False, True])
def test_cel_from_mattes_fused_equals_the_three_stage_jobs(tmp_path: Path, tone_lines: bool) -> None:
    """The fused shade+ink+finish pass writes what ``shade``, ``ink`` and ``finish`` write one after another."""
    from inkpaint.ops.base import run_job
    from inkpaint.ops.cel import CelJob

    s = write_scene(tmp_path / "in", frames=4, size=(128, 96), empty=(3,))
    job = CelJob(input=s["plate"], objects=[], mattes=s["mattes"], palette=s["palette"], out_dir=str(tmp_path / "fused"), tones=3, tone_lines=tone_lines)
    res = run_job(job)
    assert res.summary["stages"].keys() == {"shade", "ink", "finish"}
    assert not (tmp_path / "fused" / "roto").exists()
    # the same stage jobs, pointed elsewhere, run one by one from files
    _, shade, ink, finish = job.stages()
    sep = tmp_path / "sep"
    for stage, attr in ((shade, "output"), (ink, "output"), (finish, "output")):
        setattr(stage, attr, getattr(stage, attr).replace(str(tmp_path / "fused"), str(sep)))
    ink.tones = shade.output if tone_lines else None
    finish.tones, finish.ink = shade.output, ink.output
    for stage in (shade, ink, finish):
        run_job(stage)
    for layer in ("tone", "ink", "cel"):
        for f in (1, 2, 3, 4):
            _same_pixels(str(tmp_path / "fused" / layer / f"plate.{f:04d}.exr"), str(sep / layer / f"plate.{f:04d}.exr"))
    # the fused frames carry the stage jobs' hashes: the stand-alone jobs see them as done
    _, shade2, ink2, finish2 = job.stages()
    for stage in (shade2, ink2, finish2):
        r = run_job(stage)
        assert r.written == [] and r.skipped == [1, 2, 3, 4], stage.TYPE


def test_cel_resumes_each_layer_and_writes_tight_or_full_windows(tmp_path: Path) -> None:
    import numpy as np
    import OpenImageIO as oiio

    from inkpaint.ops.base import run_job
    from inkpaint.ops.cel import CelJob
    from inkpaint.spec import OutputSettings

    s = write_scene(tmp_path / "in", frames=3, size=(128, 96))
    job = CelJob(input=s["plate"], objects=[], mattes=s["mattes"], palette=s["palette"], out_dir=str(tmp_path / "c"))
    run_job(job)
    cel2 = tmp_path / "c" / "cel" / "plate.0002.exr"
    spec = oiio.ImageInput.open(str(cel2)).spec()
    assert (spec.full_width, spec.full_height) == (128, 96)
    assert spec.width * spec.height < 128 * 96  # the bounding box only
    before = _layers(str(cel2))
    # a killed run: frame 2's cel and frame 3's ink are missing; the rerun writes just those
    cel2.unlink()
    (tmp_path / "c" / "ink" / "plate.0003.exr").unlink()
    res = run_job(job)
    stages = res.summary["stages"]
    assert (stages["shade"]["written"], stages["ink"]["written"], stages["finish"]["written"]) == (0, 1, 1)
    after = _layers(str(cel2))
    for c in before:
        np.testing.assert_array_equal(before[c], after[c])
    # full-frame windows for readers that ignore data windows: same pixels, every pixel stored
    full = CelJob(input=s["plate"], objects=[], mattes=s["mattes"], palette=s["palette"], out_dir=str(tmp_path / "f"),
                  output_options=OutputSettings(data_window="full"))
    assert dataclasses.replace(full, out_dir=job.out_dir).job_hash() == job.job_hash()  # the window is not in the hash
    run_job(full)
    fspec = oiio.ImageInput.open(str(tmp_path / "f" / "cel" / "plate.0002.exr")).spec()
    assert (fspec.x, fspec.y, fspec.width, fspec.height) == (0, 0, 128, 96)
    _same_pixels(str(tmp_path / "f" / "cel" / "plate.0002.exr"), str(cel2))


def test_cel_mattes_and_prompts_are_exclusive_and_palette_checked(tmp_path: Path, inkpaint_exe: list[str]) -> None:
    from inkpaint.errors import SpecError
    from inkpaint.ops.cel import CelJob
    from inkpaint.ops.roto import RotoObject

    s = write_scene(tmp_path / "in", frames=2)
    with pytest.raises(SpecError, match="either mattes"):
        CelJob(input=s["plate"], objects=[RotoObject("body", [])], mattes=s["mattes"], palette=s["palette"], out_dir=str(tmp_path / "c")).validate()
    (tmp_path / "pal.yml").write_text("parts:\n  body: {normal: [1, 2, 3]}\n  hat: {normal: [1, 2, 3]}\n")
    r = subprocess.run([*inkpaint_exe, "cel", s["plate"], "--mattes", s["mattes"], "--palette", str(tmp_path / "pal.yml"),
                        "--out-dir", str(tmp_path / "c")], capture_output=True, text=True)
    assert r.returncode == 1
    assert "head" in r.stderr and "hat" in r.stderr
    assert not (tmp_path / "c" / "tone").exists()


def test_cel_over_color_reads_the_background_its_own_way(tmp_path: Path) -> None:
    from inkpaint.errors import SpecError
    from inkpaint.ops.cel import CelJob
    from inkpaint.spec import ColorSettings, load_job

    s = write_scene(tmp_path / "in", frames=2)
    plate_cs = ColorSettings(input_colorspace="lin_rec709_scene")
    bg_cs = ColorSettings(input_colorspace="srgb_rec709_scene")
    job = CelJob(input=s["plate"], objects=[], mattes=s["mattes"], palette=s["palette"], out_dir=str(tmp_path / "c"),
                 over=s["plate"], color=plate_cs, over_color=bg_cs)
    job.validate()
    _, shade, _, finish = job.stages()
    assert shade.color == plate_cs and finish.color == bg_cs
    assert load_job(job.to_dict()) == job and job.job_hash() != dataclasses.replace(job, over_color=None).job_hash()
    assert dataclasses.replace(job, over_color=None).stages()[3].color == plate_cs  # default: the plate's
    with pytest.raises(SpecError, match="over_color"):
        dataclasses.replace(job, over=None).validate()


def test_editing_the_palette_in_place_makes_the_old_cels_another_jobs(tmp_path: Path) -> None:
    """The palette's contents are in the job hash: a rerun after an edit does not keep stale colours silently."""
    import numpy as np

    from inkpaint.errors import OutputExistsError
    from inkpaint.ops.base import run_job
    from inkpaint.ops.cel import CelJob
    from inkpaint.spec import OutputSettings

    s = write_scene(tmp_path / "in", frames=2)
    job = CelJob(input=s["plate"], objects=[], mattes=s["mattes"], palette=s["palette"], out_dir=str(tmp_path / "c"))
    before = job.job_hash()
    run_job(job)
    pal = Path(s["palette"])
    pal.write_text(pal.read_text().replace("[200, 120, 80]", "[201, 120, 80]", 1))
    assert job.job_hash() != before
    with pytest.raises(OutputExistsError, match="cel"):
        run_job(job)
    res = run_job(dataclasses.replace(job, output_options=OutputSettings(overwrite=True)))
    assert res.summary["stages"]["finish"]["written"] == 2
    assert res.summary["stages"]["shade"]["written"] == 0  # tones and lines do not depend on the palette
    from inkpaint.cel.paint import srgb_to_linear

    reds = set(np.unique(read_image(str(tmp_path / "c" / "cel" / "plate.0001.exr"), channels=["colour.R"]).pixels).tolist())
    new, old = (float(srgb_to_linear(np.uint8(v)).astype(np.float16)) for v in (201, 200))
    assert new in reds and old not in reds


def test_png_cels_keep_every_output_in_the_result(tmp_path: Path) -> None:
    """The PNG cel's own ink/tone layers do not hide the ink and shade stages' EXRs in the result and manifest."""
    from inkpaint.ops.base import run_job
    from inkpaint.ops.cel import CelJob

    s = write_scene(tmp_path / "in", frames=2)
    res = run_job(CelJob(input=s["plate"], objects=[], mattes=s["mattes"], palette=s["palette"], out_dir=str(tmp_path / "c"), cel_format="png"))
    out = res.outputs
    assert out["ink"].endswith("ink/plate.####.exr") and out["tone"].endswith("tone/plate.####.exr")
    assert out["cel"].endswith(".png") and out["finish_ink"].endswith(".png") and out["finish_tone"].endswith(".png")
    recorded = json.loads(Path(res.manifest).read_text())["result"]["outputs"]  # relative to the manifest
    assert {k: os.path.normpath(os.path.join(os.path.dirname(res.manifest), v)) for k, v in recorded.items()} == {k: os.path.normpath(v) for k, v in out.items()}


def test_cel_contact_sheet_shows_every_parts_base_colour_and_palette_warnings(tmp_path: Path) -> None:
    """The cel job writes ``out_dir/<shot>.contact.png`` by default: plate | parts | tones | cel rows and a palette
    row with each part's base (normal) colour in its exact 8-bit value; palette entries never used are warnings."""
    import cv2
    import numpy as np

    from inkpaint.ops.base import run_job
    from inkpaint.ops.cel import CelJob
    from inkpaint.palette import load_palette

    s = write_scene(tmp_path / "in", frames=3, size=(128, 96))
    res = run_job(CelJob(input=s["plate"], objects=[], mattes=s["mattes"], palette=s["palette"], out_dir=str(tmp_path / "cel"), tones=2))
    sheet = res.outputs["contact_sheet"]
    assert sheet == res.summary["contact_sheet"] == str(tmp_path / "cel" / "plate.contact.png")
    img = cv2.imread(sheet, cv2.IMREAD_COLOR)
    assert img is not None and img.shape[0] > 300
    rgb = img[..., ::-1].reshape(-1, 3)
    pal = load_palette(s["palette"])
    for entry in pal:
        hits = int(np.all(rgb == np.array(entry.normal, np.uint8), axis=1).sum())
        assert hits > 100, (entry.name, entry.normal, hits)  # a swatch (and the painted cels) in the exact colour
    # the palette has a highlight for body, but 2 tones were asked for: no warning for that; every part has shadow
    assert not any("never used" in w for w in res.summary["warnings"]), res.summary["warnings"]
    assert set(res.summary["tones"]) == {"body", "head"} and all(0.1 < t["share"] < 0.9 for t in res.summary["tones"].values())
