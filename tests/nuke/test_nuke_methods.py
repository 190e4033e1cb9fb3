"""The engine's ``method`` fields through the Nuke nodes (issues 15 and 16): InkpaintShade's tone method (classic |
learned) goes into the cel job, and a learned run's ``tonal`` channel (5 classes) reaches the node's output through
the REAL worker; InkpaintPaint's paint method (auto | learned | classic) goes into the paint job."""

from __future__ import annotations

from pathlib import Path

import nuke
import numpy as np
import pytest

import inkpaint_nuke
from inkpaint.io.frames import read_channels
from inkpaint.spec import load_job
from inkpaint_nuke import graph, jobs, knobs, paint_node, roto_node, shade_node

PALETTE = ("ink: [10, 10, 10]\nparts:\n  ball:\n    normal: [200, 40, 30]\n    shadow: [120, 20, 10]\n"
           "  block:\n    normal: [40, 80, 200]\n    shadow: [20, 40, 120]\n")


def _shade(clip: dict[str, object], tmp_path: Path) -> nuke.Group:
    read = nuke.nodes.Read(file=clip["plate"], first=1, last=4)
    roto = inkpaint_nuke.create_roto("InkpaintRoto1", inpanel=False)
    nuke._fake.user_connect(roto, 0, read)
    roto_node.add_object(roto, "ball")
    roto_node.add_point(roto, 1, (80, 120), frame=1)
    roto_node.add_object(roto, "block")
    roto_node.add_box(roto, (206, 146, 274, 204), frame=1)
    roto_node.track(roto)
    shade = inkpaint_nuke.create_shade("InkpaintShade1", inpanel=False)
    shade.setInput(0, roto)
    (tmp_path / "design.yml").write_text(PALETTE)
    shade["palette"].setValue(str(tmp_path / "design.yml"))
    return shade


def _render_all(node: nuke.Node, folder: Path, frame: int) -> dict[str, np.ndarray]:
    folder.mkdir(parents=True, exist_ok=True)
    write = nuke.nodes.Write(file=str(folder / "out.####.exr"), channels="all", datatype="32 bit float")
    write.setInput(0, node)
    nuke.execute(write, frame, frame)
    nuke.delete(write)
    return read_channels(str(folder / f"out.{frame:04d}.exr"))


def test_shade_method_knob_goes_into_the_cel_job(fake: object, clip: dict[str, object], tmp_path: Path) -> None:
    shade = _shade(clip, tmp_path)
    assert shade["method"].value() == "classic"
    classic = shade_node.plan(shade)
    assert classic["jobs"][0]["method"] == "classic"
    nuke._fake.user_set(shade["method"], "learned")
    learned = shade_node.plan(shade)
    (job,) = learned["jobs"]
    assert job["method"] == "learned" and learned["key"] != classic["key"]  # another result folder
    cel = load_job(job)  # decodes with the engine's (stdlib) job classes ...
    assert cel.method == "learned"  # type: ignore[attr-defined]
    assert cel.stages()[1].method == "learned"  # ... and reaches the shade stage
    with pytest.raises(jobs.JobBuildError, match="tone method"):
        jobs.cel_job(input="a.####.exr", mattes="m.####.exr", palette="p.yml", out_dir="", frames=(1, 2), tones=2,
                     width=2.0, method="fancy")


@pytest.mark.slow
def test_learned_shade_tonal_channel_reaches_the_node_output(fake: object, clip: dict[str, object], tmp_path: Path) -> None:
    """The real worker runs the shipped tonal U-Net (torch, core/inkpaint/weights) on the 4-frame 320x240 clip."""
    shade = _shade(clip, tmp_path)
    nuke._fake.user_set(shade["method"], "learned")
    p = shade_node.run(shade)
    assert shade[knobs.STATUS_KNOB].value().startswith("cels for frames 1-4"), shade[knobs.STATUS_KNOB].value()
    tone_file = p["outputs"]["tone"].replace("####", "0002")
    on_disk = read_channels(tone_file)
    assert "tonal" in on_disk
    classes = set(np.unique(on_disk["tonal"]).tolist())
    assert classes <= {0.0, 1.0, 2.0, 3.0, 4.0} and len(classes - {0.0}) >= 1, classes
    for show in ("cel", "tones"):  # the cel view (Copy from the tone Read) and the tone view both carry it
        nuke._fake.user_set(shade["show"], show)
        out = _render_all(shade, tmp_path / show, 2)
        assert shade_node.TONAL_NUKE_CHANNEL in out, (show, sorted(out))
        np.testing.assert_array_equal(out[shade_node.TONAL_NUKE_CHANNEL], on_disk["tonal"])
    nuke._fake.user_set(shade["show"], "cel")
    cel = _render_all(shade, tmp_path / "cel2", 2)
    assert "colour.R" in cel and "ink.A" in cel  # the cel layers are still there
    # Back to classic: the Copy goes, the classic tone EXR has no tonal channel.
    nuke._fake.user_set(shade["method"], "classic")
    shade_node.run(shade)
    assert graph.inner(shade, "InkpaintTonalCopy1") is None
    out = _render_all(shade, tmp_path / "classic", 2)
    assert shade_node.TONAL_NUKE_CHANNEL not in out


def test_paint_method_knob_goes_into_the_paint_job(fake: object, tmp_path: Path) -> None:
    import cv2

    (tmp_path / "line").mkdir()
    img = np.full((40, 60, 3), 255, np.uint8)
    cv2.rectangle(img, (5, 5), (30, 30), (0, 0, 0), 2)
    for f in (1, 2):
        cv2.imwrite(str(tmp_path / "line" / f"{f:04d}.png"), img)
    cv2.imwrite(str(tmp_path / "key.png"), img)
    node = inkpaint_nuke.create_paint("Paint1", inpanel=False)
    node.setInput(0, nuke.nodes.Read(file=str(tmp_path / "line" / "####.png"), first=1, last=2))
    node.setInput(1, nuke.nodes.Read(file=str(tmp_path / "line" / "####.png"), first=1, last=2))
    node["key_frames"].setValue("1")
    assert node["method"].value() == "auto"
    keys = {}
    for method in ("auto", "learned", "classic"):
        nuke._fake.user_set(node["method"], method)
        p = paint_node.plan(node)
        assert p["job"]["method"] == method
        assert load_job(p["job"]).method == method  # type: ignore[attr-defined]
        keys[method] = p["key"]
    assert len(set(keys.values())) == 3  # each method has its own result folder
    with pytest.raises(jobs.JobBuildError, match="paint method"):
        jobs.paint_job(input="l.####.png", output="", frames=(1, 2), keys=[{"frame": 1}], palette=None, method="best")
