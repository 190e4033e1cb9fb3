"""The Paint section in real Blender: ``bpy.ops.inkpaint.paint`` on a generated line-art clip (frames 0001-0003 of a
box and a disc moving right, frame 1 painted) through the real worker; the fill is loaded as an image sequence,
wired into the compositor and rendered; the QC overlays are loaded beside it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

import bpy
from blender_helpers import NEW_COMPOSITOR, read_pixels, render_scene, scene_tree
from conftest import engine_python

W, H = 120, 80
RED, BLUE = (220, 40, 40), (40, 60, 200)

MAKE = r"""
import sys, cv2, numpy as np
out = sys.argv[1]
def shapes(dx, fill):
    img = np.full((80, 120, 3), 255, np.uint8)
    box, c = ((12 + dx, 14), (50 + dx, 60)), (85 + dx, 40)
    if fill:
        cv2.rectangle(img, *box, (220, 40, 40), -1)
        cv2.circle(img, c, 18, (40, 60, 200), -1)
    cv2.rectangle(img, *box, (0, 0, 0), 2)
    cv2.circle(img, c, 18, (0, 0, 0), 2)
    return img[..., ::-1]
for f in (1, 2, 3):
    assert cv2.imwrite(f"{out}/line/{f:04d}.png", shapes(2 * (f - 1), False))
assert cv2.imwrite(f"{out}/key_0001.png", shapes(0, True))
"""


def srgb8(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0, 1)
    return np.round(255 * np.where(x <= 0.0031308, x * 12.92, 1.055 * x ** (1 / 2.4) - 0.055))


@pytest.fixture()
def line_clip(addon, tmp_path: Path):  # type: ignore[no-untyped-def]
    (tmp_path / "line").mkdir()
    subprocess.run([engine_python(), "-c", MAKE, str(tmp_path)], check=True)
    clip = bpy.data.movieclips.load(str(tmp_path / "line" / "0001.png"))
    clip.name = f"lines_{tmp_path.name}"[:60]
    scene = bpy.context.scene
    scene.active_clip = clip
    scene.frame_start, scene.frame_end = 1, 3
    clip.inkpaint.output_dir = str(tmp_path / "out") + os.sep
    yield clip, tmp_path
    bpy.data.movieclips.remove(clip)


def test_paint_fills_line_art_and_wires_it_into_the_compositor(line_clip) -> None:  # type: ignore[no-untyped-def]
    clip, folder = line_clip
    s = clip.inkpaint
    s.paint_confidence = 0.6
    r = bpy.ops.inkpaint.paint(clip=clip.name, lines=str(folder / "line" / "0001.png"), keys=f"1={folder / 'key_0001.png'}",
                               direction="forward")
    assert r == {"FINISHED"}
    assert s.status.startswith("painted 3 frame(s)"), s.status
    assert s.paint_pattern.endswith(os.path.join("paint", "####.png")) and s.paint_qc_pattern.endswith("####.qc.png")
    # the fill on frame 3 (shapes moved 4 px): exact key colours inside, transparent outside
    fill = read_pixels(s.paint_pattern.replace("####", "0003"))
    byte8 = np.round(fill * 255)  # Blender gives a PNG's stored (sRGB) values
    assert tuple(byte8[37, 35, :3]) == RED and tuple(byte8[40, 89, :3]) == BLUE
    assert fill[37, 35, 3] == 1.0 and fill[4, 4, 3] == 0.0
    # the compositor: Image (sequence) -> Alpha Over -> output, playing file frame F on scene frame F
    tree = scene_tree(bpy.context.scene)
    roles = {n.get("inkpaint"): n for n in tree.nodes}
    assert {"paint", "paint_over", "paint_qc"} <= set(roles)
    assert roles["paint"].image.source == "SEQUENCE" and roles["paint_qc"].image.source == "SEQUENCE"
    over = roles["paint_over"]
    fg = over.inputs["Foreground"] if NEW_COMPOSITOR else over.inputs[2]
    assert fg.links[0].from_node == roles["paint"]
    scene = bpy.context.scene
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = W, H, 100
    for frame, dx in ((2, 2), (3, 4)):
        rgba = render_scene(scene, frame)
        assert tuple(srgb8(rgba[37, 31 + dx, :3])) == RED, frame
        assert tuple(srgb8(rgba[40, 85 + dx, :3])) == BLUE, frame
    # QC overlay: nothing unpainted (magenta) on the carried frames
    qc = read_pixels(s.paint_qc_pattern.replace("####", "0003"))
    q = np.round(qc[..., :3] * 255)
    assert not ((q[..., 0] == 255) & (q[..., 1] == 0) & (q[..., 2] == 255)).any()


def test_paint_options_reach_the_job_and_bad_input_is_clear(line_clip) -> None:  # type: ignore[no-untyped-def]
    import sys

    clip, folder = line_clip
    stages = sys.modules[[m for m in sys.modules if m.endswith("inkpaint.stages")][0]]
    job = stages.build_paint_job(str(folder / "line" / "####.png"), [(1, str(folder / "key_0001.png"))], "", "backward",
                                 str(folder / "o" / "####.png"), False, max_gap=2, speck_size=5, confidence=0.7,
                                 composite_lines=True, frames="1-2")
    assert job["keys"] == [{"frame": 1, "image": str(folder / "key_0001.png")}]
    assert (job["max_gap"], job["speck_size"], job["confidence"], job["composite_lines"], job["frames"]) == (2, 5, 0.7, True, "1-2")
    with pytest.raises(RuntimeError, match="does not exist"):
        bpy.ops.inkpaint.paint(clip=clip.name, lines=str(folder / "line" / "0001.png"), keys=f"1={folder / 'nope.png'}")
    with pytest.raises(RuntimeError, match="keyframe 7 is not a line frame"):
        bpy.ops.inkpaint.paint(clip=clip.name, lines=str(folder / "line" / "0001.png"), keys=f"7={folder / 'key_0001.png'}")
