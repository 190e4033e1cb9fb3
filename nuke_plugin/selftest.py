"""Manual self-test for a real Nuke: ``nuke -t nuke_plugin/selftest.py [workdir]``.

Checks what the automated tests can only check against a fake: the nodes build in this Nuke, the worker starts
with the configured Python (``INKPAINT_WORKER`` or the preferences file), a graded plate is rendered through a
Write, a roto job tracks two objects, the group's output carries the ``<object>`` layers, and Bake to Roto makes
keyed shapes. Prints one line per check and exits non-zero on the first failure.
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback

import nuke
import nuke.rotopaint


def check(label: str, ok: bool, detail: str = "") -> None:
    print(f"[{'ok' if ok else 'FAIL'}] {label}{': ' + detail if detail else ''}")
    if not ok:
        raise SystemExit(1)


def make_plate(folder: str, frames: int = 6) -> str:
    """A plate made inside Nuke (a Constant with a moving Radial and a Rectangle), written as EXR."""
    bg = nuke.nodes.Constant(color=[0.18, 0.2, 0.22, 1.0], format="square_256")
    ball = nuke.nodes.Radial(area=[40, 100, 110, 170], color=[0.8, 0.15, 0.05, 1.0])
    ball.setInput(0, bg)
    ball["area"].setAnimated()
    ball["area"].setValueAt(40, 1, 0)
    ball["area"].setValueAt(110, 1, 2)
    ball["area"].setValueAt(40 + 10 * frames, frames, 0)
    ball["area"].setValueAt(110 + 10 * frames, frames, 2)
    block = nuke.nodes.Rectangle(area=[170, 40, 230, 100], color=[0.05, 0.3, 0.7, 1.0])
    block.setInput(0, ball)
    pattern = os.path.join(folder, "plate", "plate.####.exr").replace("\\", "/")
    write = nuke.nodes.Write(file=pattern, file_type="exr", create_directories=True)
    write.setInput(0, block)
    nuke.execute(write, 1, frames, 1)
    nuke.delete(write)
    return pattern


def main() -> int:
    import inkpaint_nuke
    from inkpaint_nuke import bake, graph, knobs, roto_node, runner

    work = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="inkpaint-selftest-")
    os.environ.setdefault("INKPAINT_NUKE_CACHE", os.path.join(work, "cache"))
    print(f"inkpaint self-test in {work} (Nuke {nuke.NUKE_VERSION_STRING}, gui={nuke.env['gui']})")
    print(runner.check_settings())
    plate = make_plate(work)
    read = nuke.nodes.Read(file=plate, first=1, last=6)
    grade = nuke.nodes.Grade(white=1.2)
    grade.setInput(0, read)
    node = inkpaint_nuke.create_roto("SelfTestRoto", inpanel=False)
    node.setInput(0, grade)
    roto_node.update_range(node)
    check("node built", knobs.node_type(node) == "InkpaintRoto")
    roto_node.add_object(node, "ball")
    roto_node.add_point(node, 1, (75, 135), frame=1)
    roto_node.add_object(node, "block")
    roto_node.add_box(node, (165, 35, 235, 105), frame=1)
    plan = roto_node.track(node)
    check("upstream rendered through a Write", plan.source.rendered and os.path.isfile(plan.source.path(1)), plan.source.pattern)
    check("tracked", knobs.get_json(node, roto_node.RESULTS_KNOB, {}).get("key") == plan.key, node[knobs.STATUS_KNOB].value())
    layers = set(nuke.layers(node))
    check("output layers", {"ball", "block"} <= layers, ", ".join(sorted(layers)))
    alpha = nuke.sample(node, "ball.alpha", 75, 135)
    check("ball matte where the ball is", alpha > 0.5, f"ball.alpha = {alpha:.3f}")
    switch = graph.inner(node, graph.SWITCH)
    check("switch shows the result", switch is not None and switch["which"].value() == graph.VIEW_RESULT)
    roto = bake.bake(node)
    curves = roto["curves"]
    assert isinstance(curves, nuke.rotopaint.CurveKnob)
    shapes = [s.name for s in curves.rootLayer]
    check("baked shapes", shapes == ["ball", "block"], ", ".join(shapes))
    script = os.path.join(work, "selftest.nk")
    nuke.scriptSaveAs(script, 1)
    print(f"saved {script}: open it in Nuke to look at the nodes")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SystemExit:
        raise
    except Exception:
        traceback.print_exc()
        sys.exit(1)
