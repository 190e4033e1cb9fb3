"""InkpaintPaint through the fake nuke and the REAL worker: a generated line-art clip (two frames of closed shapes,
numbered from 0001), keyframes from a painted keyframe input or from palette clicks, the QC overlay and lines
views, the cache, script reopening, and clear errors."""

from __future__ import annotations

from pathlib import Path

import cv2
import nuke
import numpy as np
import pytest

import inkpaint_nuke
from inkpaint.io.frames import read_channels, write_exr
from inkpaint.spec import load_job
from inkpaint_nuke import graph, jobs, knobs, paint_node, runner, worker_client

W, H = 120, 80
RED, BLUE = (220, 40, 40), (40, 60, 200)
PALETTE = "ink: [0, 0, 0]\nparts:\n  box:\n    normal: [220, 40, 40]\n  disc:\n    normal: [40, 60, 200]\n"


def _shapes(dx: int, fill: bool) -> np.ndarray:
    """RGB uint8: a box and a disc outlined in black on white (moved ``dx`` px right), filled RED/BLUE if ``fill``."""
    img = np.full((H, W, 3), 255, np.uint8)
    box, centre = ((12 + dx, 14), (50 + dx, 60)), (85 + dx, 40)
    if fill:
        cv2.rectangle(img, *box, RED, -1)
        cv2.circle(img, centre, 18, BLUE, -1)
    cv2.rectangle(img, *box, (0, 0, 0), 2)
    cv2.circle(img, centre, 18, (0, 0, 0), 2)
    return img


@pytest.fixture
def line_clip(tmp_path: Path) -> dict[str, str]:
    """line/####.png frames 1-2, key/####.png (frame 1 painted), a palette and the same key as linear EXR."""
    (tmp_path / "line").mkdir()
    (tmp_path / "key").mkdir()
    for f, dx in ((1, 0), (2, 3)):
        cv2.imwrite(str(tmp_path / "line" / f"{f:04d}.png"), _shapes(dx, False)[..., ::-1])
    key = _shapes(0, True)
    cv2.imwrite(str(tmp_path / "key" / "0001.png"), key[..., ::-1])
    cv2.imwrite(str(tmp_path / "key" / "0002.png"), key[..., ::-1])  # only frame 1 is listed as a keyframe
    lin = np.where(key / 255.0 <= 0.04045, key / 255.0 / 12.92, ((key / 255.0 + 0.055) / 1.055) ** 2.4).astype(np.float32)
    (tmp_path / "keyexr").mkdir()
    write_exr(str(tmp_path / "keyexr" / "0001.exr"), {c: lin[..., i] for i, c in enumerate("RGB")}, dtype="float")
    (tmp_path / "palette.yml").write_text(PALETTE)
    return {"lines": str(tmp_path / "line" / "####.png"), "key": str(tmp_path / "key" / "####.png"),
            "keyexr": str(tmp_path / "keyexr" / "####.exr"), "palette": str(tmp_path / "palette.yml")}


def _srgb8(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0, None)
    return np.round(255 * np.where(x <= 0.0031308, 12.92 * x, 1.055 * x ** (1 / 2.4) - 0.055))


def _render(node: nuke.Node, folder: Path, frame: int) -> dict[str, np.ndarray]:
    """What the group outputs on ``frame`` (the fake renders the internal graph through a Write)."""
    write = nuke.nodes.Write(file=str(folder / "check.####.exr"), channels="rgba", datatype="32 bit float")
    write.setInput(0, node)
    nuke.execute(write, frame, frame)
    nuke.delete(write)
    return read_channels(str(folder / f"check.{frame:04d}.exr"))


def _paint_node(clip: dict[str, str], key: str | None = None) -> nuke.Group:
    lines = nuke.nodes.Read(file=clip["lines"], first=1, last=2)
    node = inkpaint_nuke.create_paint("Paint1", inpanel=False)
    node.setInput(0, lines)
    if key:
        node.setInput(1, nuke.nodes.Read(file=clip[key], first=1, last=2))
    return node


def test_keyframe_input_paints_through_the_real_worker(fake: object, line_clip: dict[str, str], tmp_path: Path) -> None:
    node = _paint_node(line_clip, "key")
    with pytest.raises(jobs.JobBuildError, match="no keyframes"):
        paint_node.plan(node)
    node["key_frames"].setValue("1")
    p = paint_node.plan(node)
    job = p["job"]
    assert job["input"] == line_clip["lines"] and not p["source"].rendered  # a plain PNG Read is read directly
    assert [{k: v for k, v in key.items() if v is not None} for key in job["keys"]] == [{"frame": 1, "image": line_clip["key"].replace("####", "0001")}]
    assert job["frames"] == "1-2" and job["direction"] == "nearest" and job["qc_output"].endswith("qc.####.png")
    spec = load_job(job)  # the engine's PaintJob accepts the job as built
    assert spec.TYPE == "paint" and spec.keys[0].image == job["keys"][0]["image"]  # type: ignore[attr-defined]

    paint_node.run(node)  # terminal mode: synchronous, the real worker
    assert node[knobs.STATUS_KNOB].value() == "painted frames 1-2", node[knobs.STATUS_KNOB].value()
    assert str(graph.inner(node, "InkpaintPaint")["file"].value()) == job["output"]  # type: ignore[index]
    assert graph.inner(node, graph.SWITCH)["which"].value() == paint_node.VIEWS["paint"]  # type: ignore[index]
    # Frame 2 (carried from the keyframe, shapes moved 3 px): exact key colours inside, transparent outside.
    out = _render(node, tmp_path, 2)
    inside_box, inside_disc, outside = (37, 34), (40, 88), (5, 110)  # (row, col) on frame 2
    assert tuple(_srgb8(np.array([out[c][inside_box] for c in "RGB"]))) == RED
    assert tuple(_srgb8(np.array([out[c][inside_disc] for c in "RGB"]))) == BLUE
    assert out["A"][inside_box] == pytest.approx(1.0) and out["A"][outside] == pytest.approx(0.0)
    painted = out["A"] > 0.99
    assert painted.sum() > 0.2 * W * H  # both shapes, not a few pixels
    # QC overlay view: no unpainted (magenta) pixels, the fill shows through over white.
    nuke._fake.user_set(node["show"], "qc overlay")
    assert graph.inner(node, graph.SWITCH)["which"].value() == paint_node.VIEWS["qc overlay"]  # type: ignore[index]
    qc = _render(node, tmp_path, 2)
    assert tuple(_srgb8(np.array([qc[c][inside_box] for c in "RGB"]))) == RED
    magenta = (_srgb8(qc["R"]) == 255) & (_srgb8(qc["G"]) == 0) & (_srgb8(qc["B"]) == 255)
    assert not magenta.any()
    nuke._fake.user_set(node["show"], "lines")
    lines = _render(node, tmp_path, 2)
    assert lines["A"][14, 40] > 0.5 and lines["A"][inside_box] == 0.0  # the box's top edge, not its inside
    # Same settings: the cache answers without a worker.
    worker_client.shutdown_shared()
    paint_node.run(node)
    assert node[knobs.STATUS_KNOB].value().startswith("up to date") and worker_client._shared is None


def test_palette_clicks_on_rendered_inputs(fake: object, line_clip: dict[str, str], tmp_path: Path) -> None:
    lines = nuke.nodes.Read(file=line_clip["lines"], first=1, last=2)
    grade = nuke.nodes.Grade(white=1.0)
    grade.setInput(0, lines)
    node = inkpaint_nuke.create_paint("Paint1", inpanel=False)
    node.setInput(0, grade)  # not a plain Read: the upstream is rendered to PNG
    kbox = paint_node.add_click(node, "box", (30.0, H - 37.0), frame=2)  # Nuke coords, bottom-left origin
    paint_node.add_click(node, "disc", (88.0, H - 40.0), frame=2)
    paint_node.add_click(node, "background", (4.0, H - 4.0), frame=2)  # the canvas: transparent, not unpainted
    with pytest.raises(jobs.JobBuildError, match="choose a palette"):
        paint_node.plan(node)
    node["palette"].setValue(line_clip["palette"])
    node["direction"].setValue("backward")
    node["confidence"].setValue(0.6)
    node["max_gap"].setValue(2)
    p = paint_node.plan(node)
    job = p["job"]
    assert p["source"].rendered and job["input"].endswith("lines.####.png")
    assert [{k: v for k, v in key.items() if v is not None} for key in job["keys"]] == [{"frame": 2, "clicks": [[30.0, 37.0, "box"], [88.0, 40.0, "disc"], [4.0, 4.0, "background"]]}]  # y flipped
    assert (job["direction"], job["confidence"], job["max_gap"], job["speck_size"]) == ("backward", 0.6, 2, 0)
    load_job(job)
    paint_node.run(node)
    assert node[knobs.STATUS_KNOB].value() == "painted frames 1-2", node[knobs.STATUS_KNOB].value()
    # The render is a 16-bit PNG of the graded line art, frame numbers kept.
    rendered = read_channels(p["source"].path(1))
    assert rendered["R"].shape == (H, W) and rendered["R"][14, 30] < 0.1 and rendered["R"][30, 30] > 0.9
    out = _render(node, tmp_path, 1)  # carried backward from the clicks on frame 2
    assert tuple(_srgb8(np.array([out[c][37, 31] for c in "RGB"]))) == RED
    assert tuple(_srgb8(np.array([out[c][40, 85] for c in "RGB"]))) == BLUE
    # Moving a click changes the job, so the cache no longer answers.
    node[kbox].setValue([60.0, 10.0])
    assert paint_node.plan(node)["key"] != p["key"]


def test_exr_keyframes_are_rendered_to_display_png(fake: object, line_clip: dict[str, str]) -> None:
    node = _paint_node(line_clip, "keyexr")
    node["key_frames"].setValue("1")
    p = paint_node.plan(node)
    image = p["job"]["keys"][0]["image"]
    assert image.endswith("key.0001.png") and "key-" in image  # a linear EXR is not what the engine reads for colours
    paint_node.run(node)
    key = read_channels(image)
    assert tuple(_srgb8(np.array([0.0]))) == (0.0,)
    assert tuple(np.round(np.array([key[c][30, 30] for c in "RGB"]) * 255)) == RED  # exact 8-bit colours after the render
    assert node[knobs.STATUS_KNOB].value() == "painted frames 1-2"


def test_errors_name_what_to_fix(fake: object, line_clip: dict[str, str]) -> None:
    node = inkpaint_nuke.create_paint("Paint1", inpanel=False)
    with pytest.raises(runner.InkpaintNukeError, match="connect the line art"):
        paint_node.plan(node)
    node = _paint_node(line_clip)
    node["key_frames"].setValue("1, x")
    with pytest.raises(runner.InkpaintNukeError, match="not a frame number"):
        paint_node.plan(node)
    node["key_frames"].setValue("7")
    with pytest.raises(runner.InkpaintNukeError, match="outside the line art's frames 1-2"):
        paint_node.plan(node)
    node["key_frames"].setValue("1")
    with pytest.raises(Exception, match="input 2 is not connected"):
        paint_node.plan(node)
    with pytest.raises(runner.InkpaintNukeError, match="#rrggbb"):
        paint_node.add_click(node, "#12", (1.0, 1.0), frame=1)
    node["palette"].setValue("/nonexistent/palette.yml")
    node["key_frames"].setValue("")
    paint_node.add_click(node, "#ff0000", (30.0, 40.0), frame=1)
    with pytest.raises(runner.InkpaintNukeError, match="palette '/nonexistent/palette.yml' does not exist"):
        paint_node.plan(node)


def test_reopening_the_script_shows_cached_paint(fake: object, line_clip: dict[str, str], tmp_path: Path) -> None:
    node = _paint_node(line_clip, "key")
    node["key_frames"].setValue("1")
    p = paint_node.run(node)
    script = tmp_path / "shot.nk.json"
    nuke.scriptSaveAs(str(script))
    nuke.scriptOpen(str(script))
    node = nuke.toNode("Paint1")
    assert node is not None and node[knobs.STATUS_KNOB].value() == f"painted (cached results {p['key']})"
    assert str(graph.inner(node, "InkpaintQC")["file"].value()) == p["job"]["qc_output"]  # type: ignore[index]
    assert graph.inner(node, graph.SWITCH)["which"].value() == paint_node.VIEWS["paint"]  # type: ignore[index]
    node["direction"].setValue("forward")
    paint_node.on_create(node)
    assert "settings changed" in node[knobs.STATUS_KNOB].value()
    Path(jobs.manifest_path(p["job"]["output"])).unlink()
    paint_node.on_create(node)
    assert "missing" in node[knobs.STATUS_KNOB].value()
    assert graph.inner(node, graph.SWITCH)["which"].value() == paint_node.VIEWS["input"]  # type: ignore[index]


def test_status_names_what_the_qc_overlay_flags() -> None:
    assert paint_node.status_text(1, 2, {}) == "painted frames 1-2"
    text = paint_node.status_text(1, 4, {"unpainted_segments": 3, "frames_with_unpainted": [2, 4], "low_confidence_segments": 5})
    assert text == ("painted frames 1-4; 3 unpainted segment(s) on 2 frame(s): see show > qc overlay; "
                    "5 low-confidence segment(s) (yellow in the qc overlay)")
