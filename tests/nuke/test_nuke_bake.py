"""Bake to Roto: one keyed Bezier shape per object, y flipped to Nuke's bottom-left origin."""

from __future__ import annotations

import json
import math
from pathlib import Path

import nuke
import nuke.rotopaint as rp
import pytest

import inkpaint_nuke
from inkpaint_nuke import bake, knobs, roto_node
from inkpaint_nuke.runner import InkpaintNukeError


def _square(cx: float, cy: float, r: float) -> list[list[float]]:
    return [[cx - r, cy - r], [cx + r, cy - r], [cx + r, cy + r], [cx - r, cy + r]]


def _write_contours(folder: Path, frames: dict[int, dict[str, list[dict[str, object]]]], h: int = 100) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    for f, objects in frames.items():
        (folder / f"m.{f:04d}.contours.json").write_text(json.dumps(
            {"frame": f, "width": 200, "height": h, "origin": "top-left", "units": "pixels", "job_hash": "x", "objects": objects}))
    return str(folder / "m.####.contours.json")


def test_resample_and_align_keep_points_in_step() -> None:
    sq = [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)]
    pts = bake.resample(sq, 8)
    assert len(pts) == 8 and pts[0] == (0.0, 0.0) and pts[2] == (10.0, 0.0) and pts[1] == (5.0, 0.0)
    rotated = pts[3:] + pts[:3]
    assert bake.align(pts, rotated) == pts
    left, right = bake.tangents(pts)[1]
    assert left == pytest.approx((-10 / 6, 0.0)) and right == pytest.approx((10 / 6, 0.0))


def test_bake_keys_every_frame_with_y_flipped(fake: object, tmp_path: Path) -> None:
    hole = {"points": _square(50, 50, 5), "hole": True, "area": 100.0}
    pattern = _write_contours(tmp_path / "c", {
        1: {"ball": [{"points": _square(50, 30, 10), "hole": False, "area": 400.0}, hole], "prop": []},
        2: {"ball": [{"points": _square(60, 30, 10), "hole": False, "area": 400.0},
                     {"points": _square(150, 80, 2), "hole": False, "area": 16.0}], "prop": []},
        3: {"ball": [], "prop": [{"points": _square(100, 50, 20), "hole": False, "area": 1600.0}]},
    })
    node = inkpaint_nuke.create_roto("Dancer", inpanel=False)
    knobs.set_json(node, roto_node.RESULTS_KNOB, {"key": "k", "mattes": "", "contours": pattern, "objects": ["ball", "prop", "ghost"], "frames": [1, 3]})
    roto = bake.bake(node)
    assert roto.Class() == "Roto" and roto.name() == "Dancer_shapes" and roto.parent() is nuke.root()
    curves = roto["curves"]
    assert isinstance(curves, rp.CurveKnob) and curves.changes >= 1
    shapes = {s.name: s for s in curves.rootLayer}
    # "ghost" has no outline on any frame: no shape; ball's second island (frame 2 only) is a shape of its own,
    # and so is its hole (frame 1 only), after the islands, blending mode minus
    assert set(shapes) == {"ball", "ball_2", "ball_hole", "prop"}
    names = [s.name for s in curves.rootLayer]
    assert names.index("ball_hole") > max(names.index("ball"), names.index("ball_2"))
    assert [shapes["ball_hole"].getVisible(f) for f in (1, 2, 3)] == [True, False, False]
    attrs = shapes["ball_hole"].getAttributes()
    assert attrs.getValue(1, attrs.kBlendingModeAttribute) == bake.HOLE_BLENDING_MODE
    assert bake.HOLE_BLENDING_MODE == 12  # "Subtract" in magnoborgo/NukeFXSExporter's map of real shapes' bm values
    for name in ("ball", "ball_2", "prop"):  # islands keep the default (over, 0)
        assert shapes[name].getAttributes().getValue(1, attrs.kBlendingModeAttribute) == 0
    assert [shapes["ball_2"].getVisible(f) for f in (1, 2, 3)] == [False, True, False]
    ball = shapes["ball"]
    assert isinstance(ball, rp.Shape) and len(ball) == 16  # resampled to a fixed count
    for cp in ball:
        assert cp.center.getControlPointKeyTimes() == [1.0, 2.0]
        assert len(cp.leftTangent.getControlPointKeyTimes()) == 2
    # y flipped: the engine's y = 20..40 (top-left origin, height 100) is Nuke's 60..80; frame 2 moved +10 in x.
    ys = [cp.center.getPosition(1).y for cp in ball]
    xs1 = [cp.center.getPosition(1).x for cp in ball]
    xs2 = [cp.center.getPosition(2).x for cp in ball]
    assert min(ys) == pytest.approx(60.0) and max(ys) == pytest.approx(80.0)
    assert [b - a for a, b in zip(xs1, xs2)] == pytest.approx([10.0] * 16)  # aligned: no swimming
    # Visibility follows presence: ball hidden on frame 3, prop only on frame 3.
    assert [ball.getVisible(f) for f in (1, 2, 3)] == [True, True, False]
    assert [shapes["prop"].getVisible(f) for f in (1, 2, 3)] == [False, False, True]


def test_bake_needs_results(fake: object) -> None:
    node = inkpaint_nuke.create_roto(inpanel=False)
    with pytest.raises(InkpaintNukeError, match="Track first"):
        bake.bake(node)
    knobs.set_json(node, roto_node.RESULTS_KNOB, {"key": "k", "contours": "/nowhere/m.####.contours.json", "objects": ["a"], "frames": [1, 2]})
    with pytest.raises(InkpaintNukeError, match="no outline files"):
        bake.bake(node)


def test_bake_real_results_match_the_mattes(fake: object, clip: dict[str, object]) -> None:
    import numpy as np

    from inkpaint.io.frames import read_channels

    read = nuke.nodes.Read(file=clip["plate"], first=1, last=4)
    node = inkpaint_nuke.create_roto(inpanel=False)
    nuke._fake.user_connect(node, 0, read)
    roto_node.add_object(node, "ball")
    roto_node.add_point(node, 1, (80, 240 - 120), frame=1)
    plan = roto_node.track(node)
    nuke.env["gui"] = True
    fake.press(node["bake"])  # type: ignore[attr-defined]
    roto = nuke.toNode(f"{node.name()}_shapes")
    assert roto is not None and roto._panel_shown
    assert roto.input(0) is read  # connected to the plate: it takes the plate's format
    ball = roto["curves"].rootLayer[0]
    islands = [s for s in roto["curves"].rootLayer if s.name == "ball" or s.name.startswith("ball_")]
    checked = 0
    for f in range(1, 5):
        matte = read_channels(plan.mattes.replace("####", f"{f:04d}"))["ball.A"] > 0.5
        outlines = json.loads(Path(plan.contours.replace("####", f"{f:04d}")).read_text())["objects"]["ball"]
        # every island shown where the engine found it, nothing where it found no outline
        assert any(s.getVisible(f) for s in islands) == bool(outlines)
        if not outlines or not ball.getVisible(f):
            continue
        checked += 1
        import cv2

        n, labels, stats, cents = cv2.connectedComponentsWithStats(matte.astype(np.uint8))
        big = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))  # the shape follows the largest outline
        ex, ey = cents[big][0] + 0.5, 240 - (cents[big][1] + 0.5)  # Nuke's y of row j is height - (j + 0.5)
        pts = [(cp.center.getPosition(f).x, cp.center.getPosition(f).y) for cp in ball]
        area = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1])) / 2
        cx = sum((x0 + x1) * (x0 * y1 - x1 * y0) for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1])) / (6 * area)
        cy = sum((y0 + y1) * (x0 * y1 - x1 * y0) for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1])) / (6 * area)
        assert math.hypot(cx - ex, cy - ey) < 2.0, (f, cx, cy, ex, ey)
        if stats[big, cv2.CC_STAT_AREA] > 200:  # a few-pixel island's outline area is dominated by its border
            assert abs(abs(area) - stats[big, cv2.CC_STAT_AREA]) < 0.1 * stats[big, cv2.CC_STAT_AREA]
    assert checked >= 1 and ball.getVisible(1)


def test_bake_cuts_holes_out_of_islands(fake: object, tmp_path: Path) -> None:
    """A ring (outer square with a square hole) on two frames: the baked shapes, filled in layer order with the
    hole's minus blending mode (rasterised here, test side: the fake does not render Roto), give the ring."""
    import cv2
    import numpy as np

    frames = {}
    for f, dx in ((1, 0), (2, 6)):
        frames[f] = {"ring": [{"points": _square(60 + dx, 50, 30), "hole": False, "area": 3600.0},
                              {"points": _square(60 + dx, 50, 12), "hole": True, "area": 576.0}]}
    pattern = _write_contours(tmp_path / "c", frames)
    node = inkpaint_nuke.create_roto("Ring", inpanel=False)
    knobs.set_json(node, roto_node.RESULTS_KNOB, {"key": "k", "mattes": "", "contours": pattern, "objects": ["ring"], "frames": [1, 2]})
    roto = bake.bake(node)
    layer = list(roto["curves"].rootLayer)
    assert [s.name for s in layer] == ["ring", "ring_hole"]
    h = 100
    for f, dx in ((1, 0), (2, 6)):
        canvas = np.zeros((h, 200), np.uint8)
        for shape in layer:  # top-left rows from Nuke's bottom-left y
            pts = np.array([[cp.center.getPosition(f).x, h - cp.center.getPosition(f).y] for cp in shape], np.float32)
            attrs = shape.getAttributes()
            minus = attrs.getValue(f, attrs.kBlendingModeAttribute) == bake.HOLE_BLENDING_MODE
            cv2.fillPoly(canvas, [np.round(pts).astype(np.int32)], 0 if minus else 1)
        want = np.zeros_like(canvas)
        want[20:80, 30 + dx : 90 + dx] = 1
        want[38:62, 48 + dx : 72 + dx] = 0
        inter, union = (canvas & want).sum(), (canvas | want).sum()
        assert inter / union > 0.9, (f, inter / union)
        assert canvas[50, 60 + dx] == 0 and canvas[25, 60 + dx] == 1  # the hole is empty, the ring is not
