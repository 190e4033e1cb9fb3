"""Each inkpaint pyblish check fails on a real defect, with a message naming the file, frame and field."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from inkpaint.io.frames import read_attributes, read_image, write_exr


def _rewrite_exr(path: Path, change: Any) -> None:
    """Rewrite an EXR frame keeping its inkpaint header (job hash, frame, version): ``change(channels)`` edits the
    ``name -> (H, W)`` dict in place (drop or alter channels)."""
    attrs = read_attributes(str(path))
    img = read_image(str(path))
    channels = {c: img.pixels[..., i].copy() for i, c in enumerate(img.channels)}
    change(channels)
    meta = {k: v for k, v in attrs.items() if k.startswith("inkpaint:")}
    write_exr(str(path), channels, metadata=meta)


def _edit_manifest(path: Path, edit: Any) -> None:
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data, indent=2))


# ----------------------------------------------------------------------------------------------------------------
# Output frames


def test_a_deleted_frame_fails_naming_the_file(roto_run: Any, publisher: Any) -> None:
    gone = roto_run.folder / "m.0002.exr"
    gone.unlink()
    pub = publisher([roto_run.manifest])
    assert set(pub.failures) == {("ValidateInkpaintOutputFrames", str(roto_run.manifest))}
    msg = pub.failures[("ValidateInkpaintOutputFrames", str(roto_run.manifest))]
    assert f"mattes: frame 2 '{gone}': file does not exist" in msg
    assert str(roto_run.manifest) in msg and "roto job" in msg
    assert not pub.context.data["inkpaintReport"]["ok"]


def test_a_frame_from_another_job_fails(roto_run: Any, tmp_path: Path, publisher: Any) -> None:
    """A frame replaced by the same frame of a different roto job (other settings, so another hash)."""
    from inkpaint.ops.base import run_job
    from inkpaint.spec import load_job, replace

    job = load_job(json.loads(roto_run.manifest.read_text())["job"])
    object.__setattr__(job, "_base_dir", str(roto_run.manifest.parent))  # manifests record paths relative to themselves
    other = run_job(replace(job, output=str(tmp_path / "other" / "m.####.exr"), direction="forward"))
    assert other.job_hash != roto_run.result.job_hash
    shutil.copyfile(tmp_path / "other" / "m.0003.exr", roto_run.folder / "m.0003.exr")
    msg = publisher([roto_run.manifest]).failed("ValidateInkpaintOutputFrames")[str(roto_run.manifest)]
    assert f"frame 3 '{roto_run.folder / 'm.0003.exr'}': was written by another job (inkpaint:job_hash {other.job_hash!r})" in msg
    assert roto_run.result.job_hash in msg


def test_paint_side_outputs_are_checked_too(paint_run: Any, publisher: Any) -> None:
    qc = paint_run.folder / "0003.qc.png"
    qc.unlink()
    seg = paint_run.folder / "0002.segments.json"
    seg.write_text("{not json")
    msg = publisher([paint_run.manifest]).failed("ValidateInkpaintOutputFrames")[str(paint_run.manifest)]
    assert f"qc: frame 3 '{qc}': file does not exist" in msg
    assert f"segments: frame 2 '{seg}': is not readable JSON" in msg


# ----------------------------------------------------------------------------------------------------------------
# Manifest and job spec


@pytest.mark.parametrize(
    ("edit", "plugin", "expected"),
    [
        (lambda m: m["job"].update(direction="sideways"), "ValidateInkpaintManifest", "job.direction: must be one of"),
        (lambda m: m["job"].update(contour_tolerance=2.5), "ValidateInkpaintManifest", "result.job_hash is"),
        (lambda m: m["job"].update(schema_version=99), "ValidateInkpaintManifest", "job.schema_version: this spec was written by a newer inkpaint"),
        (lambda m: m["job"].pop("objects"), "ValidateInkpaintManifest", "job.objects"),
        (lambda m: m["result"].update(written=[1, 3], skipped=[]), "ValidateInkpaintJobFinished", "1 of 3 frame(s) were neither written nor found complete (2): the job did not finish"),
        (lambda m: m.update(inkpaint_version="7.0.0"), "ValidateInkpaintJobFinished", "inkpaint_version: written by inkpaint 7.0.0"),
        (lambda m: m["job"].update(frames="1-4"), "ValidateInkpaintJobFinished", "result.frames (1-3) is not the range the job asked for (job.frames '1-4'"),
        (lambda m: m["result"].pop("frames"), "ValidateInkpaintManifest", "result.frames: missing"),
    ],
    ids=["bad-field", "edited-spec", "newer-schema", "missing-field", "partial", "major-version", "range", "no-frames"],
)
def test_a_tampered_manifest_fails_naming_the_file_and_field(roto_run: Any, publisher: Any, edit: Any, plugin: str, expected: str) -> None:
    _edit_manifest(roto_run.manifest, edit)
    pub = publisher([roto_run.manifest])
    msg = pub.failed(plugin)[str(roto_run.manifest)]
    assert expected in msg, msg
    assert str(roto_run.manifest) in msg


def test_an_unreadable_manifest_is_one_clear_error(roto_run: Any, publisher: Any) -> None:
    roto_run.manifest.write_text('{"inkpaint_version": "0.1.0", "job": ')
    pub = publisher([roto_run.manifest])
    assert list(pub.failures) == [("ValidateInkpaintManifest", str(roto_run.manifest))]  # the others skip it
    assert f"'{roto_run.manifest}': is not valid JSON (line 1" in pub.failures[("ValidateInkpaintManifest", str(roto_run.manifest))]


# ----------------------------------------------------------------------------------------------------------------
# Channels


def test_a_missing_matte_channel_fails_naming_it(roto_run: Any, publisher: Any) -> None:
    frame = roto_run.folder / "m.0002.exr"
    _rewrite_exr(frame, lambda ch: ch.pop("ball.A"))
    pub = publisher([roto_run.manifest])
    assert set(pub.failures) == {("ValidateInkpaintChannels", str(roto_run.manifest))}  # the header still has the job hash
    msg = pub.failures[("ValidateInkpaintChannels", str(roto_run.manifest))]
    assert f"mattes: frame 2 '{frame}': missing channel ball.A; channels present: A, block.A" in msg


def test_channels_are_found_by_name_whatever_their_order(roto_run: Any, publisher: Any) -> None:
    """A frame rewritten with its channels in another order (and an extra one) still passes."""
    frame = roto_run.folder / "m.0001.exr"

    def reorder(ch: dict) -> None:
        items = list(ch.items())[::-1]
        ch.clear()
        ch.update(items)
        ch["zzz.A"] = np.zeros_like(items[0][1])

    _rewrite_exr(frame, reorder)
    assert publisher([roto_run.manifest]).failures == {}


def test_missing_tone_and_ink_channels(cel_run: Any, publisher: Any) -> None:
    tone = cel_run.folder / "tone" / "plate.0001.exr"
    ink = cel_run.folder / "ink" / "plate.0002.exr"
    _rewrite_exr(tone, lambda ch: ch.update(toon=ch.pop("tone")))
    _rewrite_exr(ink, lambda ch: ch.pop("ink_hard.A"))
    pub = publisher([cel_run.folder])
    failed = pub.failed("ValidateInkpaintChannels")
    assert f"frame 1 '{tone}': missing channel tone; channels present: toon" in failed[str(cel_run.folder / "tone" / "plate.inkpaint.json")]
    assert f"frame 2 '{ink}': missing channel ink_hard.A" in failed[str(cel_run.folder / "ink" / "plate.inkpaint.json")]
    assert "missing channel tone" in failed[str(cel_run.manifest)]  # the cel job checks its stages' files too


# ----------------------------------------------------------------------------------------------------------------
# Cel alpha and palette


def test_off_palette_fill_fails_naming_frame_and_colour(cel_run: Any, publisher: Any) -> None:
    frame = cel_run.folder / "cel" / "plate.0001.exr"

    def repaint(ch: dict) -> None:
        inside = ch["colour.A"] > 0
        ch["colour.G"][inside] = 0.5  # linear 0.5 -> sRGB 188: in no palette entry

    _rewrite_exr(frame, repaint)
    pub = publisher([cel_run.folder])
    failed = pub.failed("ValidateInkpaintCelColours")
    finish_manifest = str(cel_run.folder / "cel" / "plate.inkpaint.json")
    assert set(failed) == {finish_manifest, str(cel_run.manifest)}
    msg = failed[finish_manifest]
    assert f"cel: frame 1 '{frame}':" in msg and "sampled flat-fill pixel(s) are not colours of the palette" in msg
    assert "nearest body/" in msg or "nearest head/" in msg
    assert "frame 2" not in msg


def test_missing_alpha_fails(cel_run: Any, publisher: Any) -> None:
    frame = cel_run.folder / "cel" / "plate.0002.exr"
    _rewrite_exr(frame, lambda ch: ch.pop("A"))
    msg = publisher([cel_run.folder]).failed("ValidateInkpaintCelColours")[str(cel_run.folder / "cel" / "plate.inkpaint.json")]
    assert f"cel: frame 2 '{frame}': no alpha channel 'A'" in msg


def test_png_cels_are_checked_through_their_colour_layer(tmp_path: Path, make_cel: Any, publisher: Any) -> None:
    from inkpaint.io.frames import write_png

    run = make_cel(tmp_path, cel_format="png")
    layer = run.folder / "cel" / "plate.colour.0002.png"
    px = np.rint(read_image(str(layer)).pixels * 255).astype(np.uint8)
    px[..., 0] = np.where(px[..., 3] > 0, 3, 0)  # red 3: no palette colour
    write_png(str(layer), px, metadata={k: v for k, v in read_attributes(str(layer)).items() if k.startswith("inkpaint:")})
    msg = publisher([run.manifest]).failed("ValidateInkpaintCelColours")[str(run.manifest)]
    assert f"colour: frame 2 '{layer}'" in msg and "not colours of the palette" in msg


def test_an_edited_palette_is_caught_and_settings_apply(cel_run: Any, publisher: Any) -> None:
    pal = cel_run.manifest.parent / json.loads(cel_run.manifest.read_text())["job"]["palette"]  # relative to the manifest
    pal.write_text(pal.read_text().replace("[200, 120, 80]", "[203, 120, 80]"))  # body/normal moved by 3
    assert "not colours of the palette" in publisher([cel_run.manifest]).failed("ValidateInkpaintCelColours")[str(cel_run.manifest)]
    loose = publisher([cel_run.manifest], {"cel_colour_tolerance": 3.5})
    assert "ValidateInkpaintCelColours" not in {plugin for plugin, _ in loose.failures}
    # the palette's contents are in the job hash, so the manifest no longer matches its job either
    assert set(loose.failures) == {("ValidateInkpaintManifest", str(cel_run.manifest))}


# ----------------------------------------------------------------------------------------------------------------
# Paint QC


def test_unpainted_segments_over_the_threshold_fail(tmp_path: Path, make_paint: Any, publisher: Any) -> None:
    run = make_paint(tmp_path, clicks_only_left=True)
    assert run.result.summary["unpainted_segments"] > 0
    msg = publisher([run.manifest]).failed("ValidateInkpaintPaintQC")[str(run.manifest)]
    assert f"{run.result.summary['unpainted_segments']} unpainted segment(s) over 4 frame(s), more than the 0 allowed" in msg
    assert f"QC '{run.folder / '0001.qc.png'}'" in msg
    assert publisher([run.manifest], {"paint_max_unpainted": 100}).failures == {}


def test_low_confidence_segments_are_counted_from_the_segment_json(paint_run: Any, publisher: Any, monkeypatch: Any) -> None:
    seg_path = paint_run.folder / "0003.segments.json"
    payload = json.loads(seg_path.read_text())
    painted = [s for s in payload["segments"] if s["status"] == "painted"]
    assert painted, payload
    painted[0]["confidence"] = 0.3  # as propagation marks a doubtful segment (the QC overlay tints it yellow)
    seg_path.write_text(json.dumps(payload))
    msg = publisher([paint_run.manifest]).failed("ValidateInkpaintPaintQC")[str(paint_run.manifest)]
    assert "1 low-confidence segment(s) over 4 frame(s), more than the 0 allowed" in msg and "frame 3: 1" in msg
    monkeypatch.setenv("INKPAINT_PUBLISH_PAINT_MAX_LOW_CONFIDENCE", "1")
    assert publisher([paint_run.manifest]).failures == {}
    monkeypatch.setenv("INKPAINT_PUBLISH_PAINT_MAX_LOW_CONFIDENCE", "lots")
    assert "$INKPAINT_PUBLISH_PAINT_MAX_LOW_CONFIDENCE: cannot read 'lots' as int" in publisher([paint_run.manifest]).failed("ValidateInkpaintPaintQC")[str(paint_run.manifest)]


def test_summary_and_segment_json_must_agree(paint_run: Any, publisher: Any) -> None:
    _edit_manifest(paint_run.manifest, lambda m: m["result"]["summary"]["per_frame"]["2"].update(unpainted=0) or
                   m["result"]["summary"]["per_frame"]["4"].update(unpainted=2))
    msg = publisher([paint_run.manifest]).failed("ValidateInkpaintPaintQC")[str(paint_run.manifest)]
    assert f"segments: frame 4 '{paint_run.folder / '0004.segments.json'}': 0 unpainted segment(s), but the run summary says 2" in msg



def test_finish_without_layers_is_checked_on_its_composite(tmp_path: Path, publisher: Any) -> None:
    """``layers: false`` and no ink or background: the composite is the flat fill."""
    from cel.scene import write_scene

    from inkpaint.ops.base import run_job
    from inkpaint.ops.finish import FinishJob

    s = write_scene(tmp_path / "in", frames=2)
    result = run_job(FinishJob(mattes=s["mattes"], palette=s["palette"], output=str(tmp_path / "fin" / "c.####.exr"), layers=False))
    assert publisher([result.manifest]).failures == {}
    frame = tmp_path / "fin" / "c.0002.exr"
    _rewrite_exr(frame, lambda ch: ch["B"].__setitem__(ch["A"] > 0, 0.9))
    msg = publisher([result.manifest]).failed("ValidateInkpaintCelColours")[result.manifest]
    assert f"cel: frame 2 '{frame}'" in msg and "not colours of the palette" in msg


def test_a_cel_job_with_its_roto_stage(tmp_path: Path, publisher: Any) -> None:
    """Plate + prompts -> cel: the roto stage's mattes are checked by name from the cel manifest and the roto one."""
    from inkpaint.demo import make_clip
    from inkpaint.ops.base import run_job
    from inkpaint.ops.cel import CelJob
    from inkpaint.ops.roto import load_prompts

    plate, prompts = make_clip(tmp_path / "clip", frames=2, size=(96, 72))
    palette = tmp_path / "pal.yml"
    palette.write_text("parts:\n  ball: {normal: [200, 40, 40], shadow: [120, 20, 20]}\n  block: {normal: [40, 40, 200], shadow: [20, 20, 120]}\n")
    result = run_job(CelJob(input=plate, objects=load_prompts(prompts), palette=str(palette), out_dir=str(tmp_path / "cel")))
    assert "mattes" in result.outputs
    assert publisher([tmp_path / "cel"]).failures == {}
    frame = tmp_path / "cel" / "roto" / "demo.0001.exr"
    _rewrite_exr(frame, lambda ch: ch.pop("block.A"))
    failed = publisher([tmp_path / "cel"]).failed("ValidateInkpaintChannels")
    assert set(failed) == {result.manifest, str(tmp_path / "cel" / "roto" / "demo.inkpaint.json")}
    assert f"mattes: frame 1 '{frame}': missing channel block.A" in failed[result.manifest]


def test_low_confidence_counts_come_from_the_run_summary_without_segment_json(tmp_path: Path, make_paint: Any, publisher: Any) -> None:
    from inkpaint.ops.base import run_job
    from inkpaint.ops.paint import PaintJob

    run = make_paint(tmp_path)
    manifest = json.loads(run.manifest.read_text())
    job = PaintJob.from_dict({**manifest["job"], "output": str(tmp_path / "nojson" / "####.png"), "segments_output": ""})
    object.__setattr__(job, "_base_dir", str(run.manifest.parent))  # manifests record paths relative to themselves
    result = run_job(job)
    path = Path(result.manifest)
    assert publisher([path]).failed("ValidateInkpaintPaintQC") == {}
    data = json.loads(path.read_text())
    data["result"]["summary"]["per_frame"]["3"]["low_confidence"] = 2  # as a run with two doubtful segments records it
    path.write_text(json.dumps(data))
    msg = publisher([path]).failed("ValidateInkpaintPaintQC")[str(path)]
    assert "2 low-confidence segment(s) over 4 frame(s), more than the 0 allowed" in msg and "frame 3: 2" in msg
