"""The add-on in real Blender: install, prompts, roto through the real worker, Mask/compositor results, crashes.

Run by ``tests/blender/test_in_blender.py`` with the Blender venv's interpreter (bpy 5.0.1).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

import bpy
from blender_helpers import NEW_COMPOSITOR, engine_outlines, make_polygon_mask, read_pixels, render_mask, render_scene, scene_tree
from conftest import ADDON, DAVIS, N_FRAMES, ROOT, SEQ, engine_python, gt_mask


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def add_gt_mask_prompt(addon, clip) -> bpy.types.Mask:  # type: ignore[no-untyped-def]
    """Draw the frame-0 ground truth as a Blender Mask (straight-edged splines) and make it the object's prompt."""
    geometry = sys.modules[f"{ADDON}.geometry"]
    w, h = clip.size
    outlines = engine_outlines(engine_python(), str(DAVIS / "Annotations" / "480p" / SEQ / "00000.png"))
    assert outlines, "the ground truth of frame 0 has no outline"
    mask = make_polygon_mask(f"gt-{clip.name}", outlines, lambda px: geometry.pixels_to_mask(px, w, h, tuple(clip.display_aspect)))
    assert bpy.ops.inkpaint.object_add(clip=clip.name, name="swan") == {"FINISHED"}
    assert bpy.ops.inkpaint.mask_prompt_set(clip=clip.name, object="swan", mask=mask.name, layer="prompt", frame=1) == {"FINISHED"}
    return mask


# ------------------------------------------------------------------------------------------------------------------
# packaging


def test_extension_zip_is_built_and_validated_by_blender(extension_zip: Path) -> None:
    names = zipfile.ZipFile(extension_zip).namelist()
    assert "blender_manifest.toml" in names and "__init__.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    manifest = zipfile.ZipFile(extension_zip).read("blender_manifest.toml").decode()
    assert 'id = "inkpaint"' in manifest and "[permissions]" in manifest and "network" not in manifest.split("[permissions]")[1]


def test_addon_registers_everything(addon) -> None:  # type: ignore[no-untyped-def]
    for op in ("object_add", "object_remove", "point_add", "points_clear", "add_points", "mask_prompt_set", "roto",
               "preview_frame", "apply_roto", "cancel", "worker_check", "shade", "paint"):
        assert hasattr(bpy.ops.inkpaint, op) and getattr(bpy.ops.inkpaint, op).get_rna_type() is not None, op
    assert hasattr(bpy.types.MovieClip, "inkpaint")
    assert "INKPAINT_PT_main" in dir(bpy.types)
    prefs = bpy.context.preferences.addons[ADDON].preferences
    assert prefs.worker_executable == engine_python()


def test_addon_never_imports_the_engine(addon) -> None:  # type: ignore[no-untyped-def]
    assert not [m for m in sys.modules if m == "inkpaint" or m.startswith("inkpaint.")]
    # the installed extension uses its vendored copy of the stdlib-only job package
    assert f"{ADDON}._vendor.inkpaint_jobs.client" in sys.modules
    assert sys.modules[f"{ADDON}.worker_client"].WorkerClient.__mro__[1] is sys.modules[f"{ADDON}._vendor.inkpaint_jobs.client"].WorkerClient
    # every module of the add-on imports only bpy, numpy and the standard library (_contract.py falls back to a
    # checkout's core/inkpaint/jobs, stdlib only, when run from the repository)
    import ast

    allowed_top = {"bpy", "numpy", "gpu", "gpu_extras", "__future__"} | set(sys.stdlib_module_names)
    for path in (ROOT / "blender_addon").glob("*.py"):
        if path.name == "_contract.py":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                tops = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                tops = [(node.module or "").split(".")[0]]
            else:
                continue
            assert set(tops) <= allowed_top, f"{path.name} imports {tops}"


def test_worker_check_reports_version(addon) -> None:  # type: ignore[no-untyped-def]
    assert bpy.ops.inkpaint.worker_check() == {"FINISHED"}
    assert sys.modules[f"{ADDON}.runner"]._client.alive


# ------------------------------------------------------------------------------------------------------------------
# prompts


def test_point_prompts_through_the_operators(clip) -> None:  # type: ignore[no-untyped-def]
    assert bpy.ops.inkpaint.object_add(clip=clip.name, name="3 dancer!") == {"FINISHED"}
    obj = clip.inkpaint.objects[0]
    assert obj.name == "_3_dancer_"  # made a valid EXR layer name
    assert bpy.ops.inkpaint.point_add(clip=clip.name, location=(427, 120), coordinates="PIXELS", frame=3) == {"FINISHED"}
    assert bpy.ops.inkpaint.point_add(clip=clip.name, location=(0.1, 0.9), label="SUBTRACT", frame=3) == {"FINISHED"}
    assert bpy.ops.inkpaint.point_add(clip=clip.name, location=(0.5, 0.5), frame=5) == {"FINISHED"}
    assert [(p.frame, p.label) for p in obj.points] == [(3, "ADD"), (3, "SUBTRACT"), (5, "ADD")]
    assert tuple(round(v, 4) for v in obj.points[0].co) == (0.5, 0.75)  # 427/854, 1 - 120/480
    with pytest.raises(RuntimeError, match="outside the frame"):
        bpy.ops.inkpaint.point_add(clip=clip.name, location=(900, 10), coordinates="PIXELS")
    assert bpy.ops.inkpaint.points_clear(clip=clip.name, frame=3) == {"FINISHED"}
    assert [p.frame for p in obj.points] == [5]
    assert bpy.ops.inkpaint.object_remove(clip=clip.name) == {"FINISHED"}
    assert len(clip.inkpaint.objects) == 0


def test_roto_without_prompts_is_a_clear_error(clip) -> None:  # type: ignore[no-untyped-def]
    bpy.ops.inkpaint.object_add(clip=clip.name, name="swan")
    with pytest.raises(RuntimeError, match="'swan' has no prompts"):
        bpy.ops.inkpaint.roto(clip=clip.name)
    with pytest.raises(RuntimeError, match="outside clip"):
        bpy.ops.inkpaint.roto(clip=clip.name, frame_start=1, frame_end=99)


def test_preview_frame_segments_from_points(clip) -> None:  # type: ignore[no-untyped-def]
    gt = gt_mask(0)
    ys, xs = np.nonzero(gt)
    bpy.ops.inkpaint.object_add(clip=clip.name, name="swan")
    # a few + points on the swan (ground-truth pixels near its centre rows) and - points in the corners
    order = np.argsort(np.abs(ys - ys.mean()) + np.abs(xs - xs.mean()))
    for k in order[: len(order) // 3 : max(len(order) // 15, 1)][:5]:
        bpy.ops.inkpaint.point_add(clip=clip.name, location=(float(xs[k]) + 0.5, float(ys[k]) + 0.5), coordinates="PIXELS", frame=1)
    for x, y in ((20, 20), (830, 20), (20, 460), (830, 460)):
        bpy.ops.inkpaint.point_add(clip=clip.name, location=(x, y), coordinates="PIXELS", label="SUBTRACT", frame=1)
    assert bpy.ops.inkpaint.preview_frame(clip=clip.name, frame=1) == {"FINISHED"}
    s = clip.inkpaint
    assert s.preview_image is not None and s.preview_frame == 1
    assert "swan" in s.status and "%" in s.status
    preview = read_pixels(bpy.path.abspath(s.preview_image.filepath))[..., 0] > 0.5
    assert preview.shape == gt.shape
    # the drawn preview is the engine's matte: same coverage as the worker reported
    coverage = float(s.status.split("swan ")[1].split("%")[0]) / 100
    assert abs(preview.mean() - coverage) < 0.002
    # clicks on the swan give a region on the swan (the classic backend's quality from clicks alone is the engine's
    # business; here: it lands where the clicks were, in the right coordinates)
    precision = float((preview & gt).sum() / max(preview.sum(), 1))
    print(f"preview from {len(clip.inkpaint.objects[0].points)} points: IoU {iou(preview, gt):.3f}, precision {precision:.3f}")
    assert preview.any() and precision > 0.8


# ------------------------------------------------------------------------------------------------------------------
# roto end to end


@pytest.fixture(scope="module")
def tracked(addon, davis_frames, tmp_path_factory):  # type: ignore[no-untyped-def]
    """One roto run on the classic backend through the real worker, prompted with the frame-0 GT as a Mask."""
    out = tmp_path_factory.mktemp("roto")
    clip = bpy.data.movieclips.load(str(davis_frames / "00000.jpg"))
    clip.name = "tracked"
    bpy.context.scene.active_clip = clip
    clip.inkpaint.output_dir = str(out) + os.sep
    add_gt_mask_prompt(addon, clip)
    t0 = time.perf_counter()
    assert bpy.ops.inkpaint.roto(clip=clip.name, backend="classic", direction="forward") == {"FINISHED"}
    print(f"roto through the worker: {time.perf_counter() - t0:.2f} s for {N_FRAMES} frames")
    return clip


def test_roto_keys_a_mask_layer_per_object(tracked) -> None:  # type: ignore[no-untyped-def]
    mask = tracked.inkpaint.result_mask
    assert mask is not None and mask.name == "Inkpaint tracked"
    assert [lay.name for lay in mask.layers] == ["swan"]
    layer = mask.layers["swan"]
    assert len(layer.splines) >= 1
    assert (mask.frame_start, mask.frame_end) == (1, N_FRAMES)
    spline = layer.splines[0]
    assert spline.use_cyclic and len(spline.points) >= 8
    assert all(p.handle_type == "ALIGNED" for p in spline.points)
    action = mask.animation_data.action
    fcurves = [fc for bag in (b for lay in action.layers for s in lay.strips for b in s.channelbags) for fc in bag.fcurves]
    paths = {fc.data_path for fc in fcurves}
    assert 'layers["swan"].splines[0].points[0].co' in paths
    assert 'layers["swan"].splines[0].points[0].handle_left' in paths
    co = [fc for fc in fcurves if fc.data_path == 'layers["swan"].splines[0].points[0].co' and fc.array_index == 0][0]
    assert [int(k.co[0]) for k in co.keyframe_points] == list(range(1, N_FRAMES + 1))
    # the points really move between frames (the swan swims), and frame changes apply them
    bpy.context.scene.frame_set(1)
    first = np.array([p.co[:] for p in spline.points])
    bpy.context.scene.frame_set(N_FRAMES)
    last = np.array([p.co[:] for p in spline.points])
    assert np.abs(first - last).max() > 1e-3


@pytest.mark.parametrize("frame", [0, 4, 9])
def test_mask_rasterised_by_blender_matches_ground_truth(tracked, frame: int) -> None:  # type: ignore[no-untyped-def]
    w, h = tracked.size
    raster = render_mask(tracked.inkpaint.result_mask, (w, h), frame + 1, layer="swan") > 0.5
    score = iou(raster, gt_mask(frame))
    print(f"frame {frame}: Mask spline IoU vs GT {score:.3f}")
    assert score > 0.8


@pytest.mark.parametrize("frame", [0, 9])
def test_compositor_tree_sets_the_matte_as_alpha(tracked, frame: int) -> None:  # type: ignore[no-untyped-def]
    scene = bpy.context.scene
    tree = scene_tree(scene)
    assert tree is not None and (tree.name == "Inkpaint tracked" or not NEW_COMPOSITOR)
    roles = {n.get("inkpaint"): n for n in tree.nodes}
    assert {"clip", "mattes", "set_alpha", "output", "viewer"} <= set(roles)
    assert roles["clip"].clip == tracked
    set_alpha = roles["set_alpha"]
    assert set_alpha.inputs[1].links[0].from_node == roles["mattes"]  # Alpha
    assert set_alpha.inputs[0].links[0].from_node == roles["clip"]  # Image
    w, h = tracked.size
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = w, h, 100
    rgba = render_scene(scene, frame + 1)
    matte = rgba[..., 3] > 0.5
    score = iou(matte, gt_mask(frame))
    print(f"frame {frame}: compositor alpha IoU vs GT {score:.3f}")
    assert score > 0.8
    # the Mask splines follow the engine's matte closely (the outline fit itself)
    raster = render_mask(tracked.inkpaint.result_mask, (w, h), frame + 1, layer="swan") > 0.5
    assert iou(raster, matte) > 0.9
    # and the plate in the composite is the clip's frame (sequence frames line up with scene frames)
    plate = read_pixels(str(Path(bpy.path.abspath(tracked.filepath)).with_name(f"{frame:05d}.jpg")))
    inside = matte & (rgba[..., 3] > 0.99)
    lin = np.where(plate[..., :3] <= 0.04045, plate[..., :3] / 12.92, ((plate[..., :3] + 0.055) / 1.055) ** 2.4)
    assert np.abs(rgba[..., :3][inside] - lin[inside]).mean() < 0.02


def test_apply_roto_from_a_farm_manifest(tracked, tmp_path) -> None:  # type: ignore[no-untyped-def]
    manifest = tracked.inkpaint.roto_manifest
    assert manifest and os.path.exists(manifest)
    mask = tracked.inkpaint.result_mask
    mask.layers.remove(mask.layers["swan"])
    assert bpy.ops.inkpaint.apply_roto(clip=tracked.name, manifest=manifest) == {"FINISHED"}
    assert "swan" in mask.layers and len(mask.layers["swan"].splines) >= 1


def test_rerun_resumes_and_refuses_silent_overwrite(tracked) -> None:  # type: ignore[no-untyped-def]
    assert bpy.ops.inkpaint.roto(clip=tracked.name, backend="classic", direction="forward") == {"FINISHED"}  # same job: all skipped
    bpy.ops.inkpaint.point_add(clip=tracked.name, object="swan", location=(5, 5), coordinates="PIXELS", label="SUBTRACT", frame=1)
    with pytest.raises(RuntimeError, match="[Oo]verwrite"):
        bpy.ops.inkpaint.roto(clip=tracked.name, backend="classic", direction="forward")
    obj = tracked.inkpaint.objects["swan"]
    obj.points.remove(len(obj.points) - 1)


def test_convert_path_renders_the_clip_to_exr(clip) -> None:  # type: ignore[no-untyped-def]
    clip.colorspace_settings.name = "Linear Rec.709"  # a modified clip: the engine must see what Blender shows
    clip_source = sys.modules[f"{ADDON}.clip_source"]
    assert clip_source.why_convert(clip) is None  # Blender's config goes with the job: no need to convert...
    add_gt_mask_prompt(None, clip)
    assert bpy.ops.inkpaint.roto(clip=clip.name, frame_start=1, frame_end=4, direction="forward", pixels="CONVERT") == {"FINISHED"}
    s = clip.inkpaint
    assert s.plate_pattern.endswith(".####.exr") and os.path.isfile(s.plate_pattern.replace("####", "0004"))
    # every converted frame is the clip's own frame for that scene frame (scene f shows file f-1), as Blender shows it
    for f in (1, 4):
        conv = read_pixels(s.plate_pattern.replace("####", f"{f:04d}"))[..., :3]
        jpg = read_pixels(str(Path(bpy.path.abspath(clip.filepath)).with_name(f"{f - 1:05d}.jpg")))[..., :3]
        assert np.abs(conv - jpg).mean() < 0.01, f"converted frame {f} is not the clip's frame"
    assert s.result_mask is not None and len(s.result_mask.layers["swan"].splines) >= 1
    # the converted EXRs hold Blender's working space (Linear Rec.709 here): the job says so, with Blender's config
    # (the engine's "auto" would read an untagged EXR in its config's scene_linear role, ACEScg in the built-in one)
    jobs = sys.modules[f"{ADDON}.jobs"]
    config = clip_source.blender_ocio_config()
    assert bpy.data.colorspace.working_space == "Linear Rec.709"
    assert jobs.plate_color(clip_source.Plate(s.plate_pattern, 1, 1, True, 2, 2), clip) == {
        "input_colorspace": "Linear Rec.709", "ocio_config": config}
    clip.colorspace_settings.name = "sRGB"  # the clip's own files: the clip's colour space
    assert jobs.plate_color(clip_source.Plate("/a/b.####.jpg", 1, 1, False, 2, 2), clip) == {
        "input_colorspace": "sRGB", "ocio_config": config}


_RESOLVE = r"""
import json, sys
import numpy as np
import PyOpenColorIO as ocio
from inkpaint.jobs.spec import typed_job
from inkpaint.io.colour import convert

out = []
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as fh:
        job = typed_job(json.load(fh))  # the engine's decoder
    c = job.color
    config = ocio.Config.CreateFromFile(c.ocio_config)
    found = {n: getattr(config.getColorSpace(n), "getName", lambda: None)() for n in (c.input_colorspace, c.working_colorspace)}
    got = convert(np.full((1, 1, 3), 0.18, np.float32), c.input_colorspace, c.working_colorspace, ocio_config=c.ocio_config)
    want = config.getProcessor(c.input_colorspace, c.working_colorspace).getDefaultCPUProcessor().applyRGB([0.18] * 3)
    out.append({"type": job.TYPE, "found": found, "got": got[0, 0].tolist(), "want": list(want)})
print(json.dumps(out))
"""


def test_jobs_carry_blenders_ocio_config_and_the_clips_colour_space(clip, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A job for a clip in "sRGB" and one in "Linear Rec.709" name Blender's own config (datafiles
    colormanagement/config.ocio) and the clip's colour space; the engine resolves both names in that config and
    converts as OCIO does with it."""
    import json
    import subprocess

    monkeypatch.delenv("OCIO", raising=False)
    clip_source = sys.modules[f"{ADDON}.clip_source"]
    jobs = sys.modules[f"{ADDON}.jobs"]
    stages = sys.modules[f"{ADDON}.stages"]
    config = os.path.join(bpy.utils.system_resource("DATAFILES", path="colormanagement"), "config.ocio")
    assert os.path.isfile(config) and clip_source.blender_ocio_config() == config
    add_gt_mask_prompt(None, clip)
    paths = []
    for name in ("sRGB", "Linear Rec.709"):
        clip.colorspace_settings.name = name
        assert clip_source.why_convert(clip) is None  # read directly, in the clip's colour space
        plan = jobs.build_roto(clip, start=1, end=3)
        assert not plan.plate.converted
        color = plan.job["color"]
        assert (color["input_colorspace"], color["ocio_config"], color["working_colorspace"]) == (name, config, "sRGB")
        req, _ = jobs.build_segment(clip, 1)
        assert req["color"] == {"input_colorspace": name, "ocio_config": config}
        cel = stages.build_cel_job(plan.job["input"], "/m.####.exr", config, 2, 2.0, True, False, str(tmp_path), color=color)
        assert cel["color"] == color  # the cels read the plate as the roto did
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(plan.job))
        paths.append(str(path))
    res = subprocess.run([engine_python(), "-c", _RESOLVE, *paths], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert [o["type"] for o in out] == ["roto", "roto"]
    assert [o["found"] for o in out] == [{"sRGB": "sRGB"}, {"Linear Rec.709": "Linear Rec.709", "sRGB": "sRGB"}]
    assert out[0]["got"] == pytest.approx([0.18] * 3, abs=1e-6)  # sRGB -> sRGB: unchanged
    assert out[1]["got"] == pytest.approx(out[1]["want"], abs=2e-3) and out[1]["got"][0] == pytest.approx(0.4614, abs=2e-3)
    # $OCIO wins, as it does in Blender
    monkeypatch.setenv("OCIO", str(tmp_path / "studio.ocio"))
    assert clip_source.blender_ocio_config() == str(tmp_path / "studio.ocio")
    # no config file (Blender on its built-in fall-back): the engine's own config, as before
    monkeypatch.setattr(clip_source, "blender_ocio_config", lambda: None)
    assert "colour space" in clip_source.why_convert(clip)  # clip is in Linear Rec.709 (a JPEG): converted first
    assert jobs.plate_color(clip_source.Plate("/a/b.####.exr", 1, 1, True, 2, 2), clip) == {"input_colorspace": "lin_rec709_scene"}
    assert jobs.plate_color(clip_source.Plate("/a/b.####.jpg", 1, 1, False, 2, 2), clip) == {"input_colorspace": "auto"}


# ------------------------------------------------------------------------------------------------------------------
# failures


def test_worker_crash_is_reported_and_blender_keeps_working(clip, tmp_path) -> None:  # type: ignore[no-untyped-def]
    runner = sys.modules[f"{ADDON}.runner"]
    add_gt_mask_prompt(None, clip)
    out_dir = Path(bpy.path.abspath(clip.inkpaint.output_dir))
    worker = runner.client(bpy.context)
    pid = worker.proc.pid

    def kill_when_first_frame_lands() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if list(out_dir.glob("*/roto/*.exr")):
                os.kill(pid, signal.SIGKILL)
                return
            time.sleep(0.005)

    killer = threading.Thread(target=kill_when_first_frame_lands, daemon=True)
    killer.start()
    with pytest.raises(RuntimeError, match="crashed"):
        bpy.ops.inkpaint.roto(clip=clip.name, direction="forward")
    killer.join()
    assert "crashed" in clip.inkpaint.status
    # Blender still works, a new worker starts, and the rerun resumes from the frames already written
    assert bpy.ops.inkpaint.roto(clip=clip.name, direction="forward") == {"FINISHED"}
    assert runner._client.proc.pid != pid
    assert len(clip.inkpaint.result_mask.layers["swan"].splines) >= 1


def test_missing_worker_executable_is_a_clear_error(clip) -> None:  # type: ignore[no-untyped-def]
    runner = sys.modules[f"{ADDON}.runner"]
    prefs = bpy.context.preferences.addons[ADDON].preferences
    runner.shutdown()
    prefs.worker_executable = "/nonexistent/python3"
    try:
        add_gt_mask_prompt(None, clip)
        with pytest.raises(RuntimeError, match="does not exist"):
            bpy.ops.inkpaint.roto(clip=clip.name)
    finally:
        prefs.worker_executable = engine_python()


def test_worker_that_dies_at_start_is_reported(clip, tmp_path) -> None:  # type: ignore[no-untyped-def]
    runner = sys.modules[f"{ADDON}.runner"]
    prefs = bpy.context.preferences.addons[ADDON].preferences
    fake = tmp_path / "inkpaint"
    fake.write_text("#!/bin/sh\necho 'inkpaint: broken install' >&2\nexit 7\n")
    fake.chmod(0o755)
    runner.shutdown()
    prefs.worker_executable = str(fake)
    try:
        add_gt_mask_prompt(None, clip)
        with pytest.raises(RuntimeError, match="exited before it was ready"):
            bpy.ops.inkpaint.roto(clip=clip.name)
    finally:
        prefs.worker_executable = engine_python()


# ------------------------------------------------------------------------------------------------------------------
# Shade section: one cel job (shade + ink + finish fused) on the tracked mattes


def test_shade_section_makes_flat_cels_in_the_compositor(tracked, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    runner = sys.modules[f"{ADDON}.runner"]
    sent: list[tuple[str, dict]] = []
    real_run_sync = runner.run_sync

    def spy(client, kind, payload, **kw):  # type: ignore[no-untyped-def]
        sent.append((kind, payload))
        return real_run_sync(client, kind, payload, **kw)

    monkeypatch.setattr(runner, "run_sync", spy)
    palette = tmp_path / "design.yml"
    palette.write_text("parts:\n  swan:\n    normal: [240, 240, 235]\n    shadow: [120, 130, 160]\n")
    s = tracked.inkpaint
    assert bpy.ops.inkpaint.shade(clip=tracked.name, palette=str(palette), tones=2, ink_width=2.0, over_clip="ON") == {"FINISHED"}
    assert "cels on 10 frame(s)" in s.status
    # one request: the engine's cel job on the roto mattes (roto skipped), full data windows for Blender 5.0
    assert [(kind, payload["job"]["type"]) for kind, payload in sent] == [("run", "cel")]
    job = sent[0][1]["job"]
    assert job["mattes"] == s.mattes_pattern and job["objects"] == [] and job["input"] == s.plate_pattern
    assert job["over"] == s.plate_pattern and job["palette"] == str(palette) and (job["tones"], job["width"]) == (2, 2.0)
    assert job["frames"] == f"0-{N_FRAMES - 1}" and job["output_options"]["data_window"] == "full"
    # the plate is read as the roto read it: the roto job's colour (Blender's config, the clip's colour space)
    config = sys.modules[f"{ADDON}.clip_source"].blender_ocio_config()
    assert config and (job["color"]["ocio_config"], job["color"]["input_colorspace"]) == (config, "sRGB")
    work = job["out_dir"]
    assert os.path.dirname(work) == os.path.dirname(os.path.dirname(s.mattes_pattern))  # <output>/<clip>, beside roto/
    assert os.path.basename(work).startswith("shade-")
    for layer in ("tone", "ink", "cel"):
        for f in range(N_FRAMES):
            assert os.path.isfile(os.path.join(work, layer, f"frames.{f:04d}.exr")), (layer, f)
    tree = scene_tree(bpy.context.scene)
    roles = {n.get("inkpaint"): n for n in tree.nodes}
    assert {"cel", "cel_over"} <= set(roles)
    assert os.path.normpath(bpy.path.abspath(roles["cel"].image.filepath)) == os.path.join(work, "cel", "frames.0000.exr")
    over = roles["cel_over"]
    fg, bg = (over.inputs["Foreground"], over.inputs["Background"]) if NEW_COMPOSITOR else (over.inputs[2], over.inputs[1])
    assert fg.links[0].from_node == roles["cel"]
    assert bg.links[0].from_node == roles["clip"]
    w, h = tracked.size
    scene = bpy.context.scene
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = w, h, 100
    rgba = render_scene(scene, 5)
    gt = gt_mask(4)
    # inside the swan (away from its edge) the composite shows exact palette colours (sRGB 8-bit -> linear)
    inner = gt & np.roll(gt, 6, 0) & np.roll(gt, -6, 0) & np.roll(gt, 6, 1) & np.roll(gt, -6, 1)
    srgb = np.clip(rgba[..., :3][inner], 0, 1)
    enc = np.where(srgb <= 0.0031308, srgb * 12.92, 1.055 * srgb ** (1 / 2.4) - 0.055) * 255
    normal = np.all(np.abs(enc - [240, 240, 235]) < 2, axis=1)
    shadow = np.all(np.abs(enc - [120, 130, 160]) < 2, axis=1)
    ink = np.all(enc < 40, axis=1)
    print(f"cel inside the swan: normal {normal.mean():.2f}, shadow {shadow.mean():.2f}, ink {ink.mean():.2f}")
    assert (normal | shadow | ink).mean() > 0.9 and normal.mean() > 0.2


def test_shade_cel_job_progress_reaches_the_status_bar(tracked, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The UI path (worker thread + timer): the cel job's progress events (tone fit, then frames) reach the status
    bar; the results folder is keyed, so a palette edited in place gets new cels and the same job resumes."""
    runner = sys.modules[f"{ADDON}.runner"]
    stages = sys.modules[f"{ADDON}.stages"]
    jobs = sys.modules[f"{ADDON}.jobs"]
    s = tracked.inkpaint
    palette = tmp_path / "design.yml"
    palette.write_text("parts:\n  swan:\n    normal: [240, 240, 235]\n    shadow: [120, 130, 160]\n")
    work = str(tmp_path / "work")
    roto = jobs.read_manifest(s.roto_manifest)["result"]
    assert roto["frame_range"] == f"0-{N_FRAMES - 1}" and roto["job_hash"]

    def run(job: dict) -> tuple[dict, list[str]]:
        got: dict = {}
        task = runner.Task("run", {"job": job}, "cel (shade+ink+finish)", lambda res: got.setdefault("result", res), lambda err: got.setdefault("end", err))
        shown: list[str] = []
        real_status = task._status
        task._status = lambda text: (shown.append(text or ""), real_status(text))  # type: ignore[method-assign]
        runner.start(bpy.context, task)
        deadline = time.monotonic() + 120
        while runner._drain() is not None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        if bpy.app.timers.is_registered(runner._drain):
            bpy.app.timers.unregister(runner._drain)
        return got, shown

    def build(**kw) -> dict:  # type: ignore[no-untyped-def]
        args = dict(tones=3, width=1.5, over=False, mattes_hash=roto["job_hash"])
        args.update(kw)
        return stages.build_cel_job(s.plate_pattern, s.mattes_pattern, str(palette), args["tones"], args["width"], args["over"], False,
                                    work, frames=roto["frame_range"], mattes_hash=args["mattes_hash"])

    job = build()
    assert build() == job  # same settings, same folder
    got, shown = run(job)
    assert got["end"] is None and got["result"]["outputs"]["cel"] == os.path.join(job["out_dir"], "cel", "frames.####.exr")
    assert any("fit tones" in t for t in shown), shown
    assert any(f"{N_FRAMES}/{N_FRAMES} shade+ink+finish frame {N_FRAMES - 1}" in t for t in shown), shown
    # the same job again: resumed, nothing rewritten
    got, _ = run(build())
    assert got["end"] is None and got["result"]["written"] == [] and len(got["result"]["skipped"]) == N_FRAMES
    # every setting, the palette's content and the mattes' job make another folder (never the old files)
    folders = {job["out_dir"]}
    for kw in ({"tones": 2}, {"tones": 4}, {"width": 3.0}, {"over": True}, {"mattes_hash": "other"}):
        folders.add(build(**kw)["out_dir"])
    palette.write_text("parts:\n  swan:\n    normal: [250, 200, 200]\n    shadow: [100, 60, 60]\n")
    edited = build()
    folders.add(edited["out_dir"])
    assert len(folders) == 7
    got, _ = run(edited)
    assert got["end"] is None and sorted(got["result"]["written"]) == list(range(N_FRAMES))


# ------------------------------------------------------------------------------------------------------------------
# the UI path: a request on the worker thread, drained by the timer callback on the main thread


def test_timer_drains_events_applies_results_and_cancels(clip) -> None:  # type: ignore[no-untyped-def]
    runner = sys.modules[f"{ADDON}.runner"]
    jobs = sys.modules[f"{ADDON}.jobs"]
    add_gt_mask_prompt(None, clip)
    plan = jobs.build_roto(clip, direction="forward")
    got: dict = {}
    task = runner.Task("run", {"job": plan.job}, "roto", lambda res: got.setdefault("result", res), lambda err: got.setdefault("end", err))
    runner.start(bpy.context, task)
    assert runner.busy() and bpy.app.timers.is_registered(runner._drain)
    with pytest.raises(Exception, match="already running"):
        runner.start(bpy.context, runner.Task("run", {"job": plan.job}, "roto", lambda r: None))
    deadline = time.monotonic() + 120
    while runner._drain() is not None:  # what bpy.app.timers does between UI events
        assert time.monotonic() < deadline
        time.sleep(0.05)
    bpy.app.timers.unregister(runner._drain) if bpy.app.timers.is_registered(runner._drain) else None
    assert got["end"] is None and got["result"]["written"] == list(range(N_FRAMES))
    assert task.total == N_FRAMES and task.done == N_FRAMES and not runner.busy()

    # cancel: a new job (other output folder), cancelled as soon as it is accepted
    clip.inkpaint.output_dir = clip.inkpaint.output_dir.rstrip(os.sep) + "-2" + os.sep
    plan = jobs.build_roto(clip, direction="forward")
    got.clear()
    runner.start(bpy.context, runner.Task("run", {"job": plan.job}, "roto", lambda res: got.setdefault("result", res), lambda err: got.setdefault("end", err)))
    assert runner.cancel()
    while runner._drain() is not None:
        time.sleep(0.05)
    if bpy.app.timers.is_registered(runner._drain):
        bpy.app.timers.unregister(runner._drain)
    assert "result" not in got and got["end"].startswith("cancelled")
    # and 'INVOKE_DEFAULT' (a button press) runs synchronously under blender -b, resuming the cancelled job
    assert bpy.ops.inkpaint.roto("INVOKE_DEFAULT", clip=clip.name, direction="forward") == {"FINISHED"}


# ------------------------------------------------------------------------------------------------------------------
# Paint section: the paint bucket on a synth_dev clip's line art, keyed from its first coloured frame


# ------------------------------------------------------------------------------------------------------------------
# pixels in: a movie file is converted to an EXR sequence through Blender before the engine reads it


@pytest.fixture(scope="module")
def movie_file(addon, davis_frames, tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    """The DAVIS frames encoded by Blender as an H.264 movie (10 frames).

    Encoded from the active scene: the compositor takes clip frames from the active scene's time.
    """
    from blender_helpers import compositor_for, scene_tree

    out = tmp_path_factory.mktemp("movie")
    scene = bpy.context.scene
    r = scene.render
    saved_tree = scene_tree(scene)
    saved = (r.resolution_x, r.resolution_y, r.resolution_percentage, r.filepath, scene.frame_start, scene.frame_end)
    src = bpy.data.movieclips.load(str(davis_frames / "00000.jpg"))
    tree, target = compositor_for(scene, "encode")
    try:
        node = tree.nodes.new("CompositorNodeMovieClip")
        node.clip = src
        tree.links.new(node.outputs["Image"], target)
        r.resolution_x, r.resolution_y, r.resolution_percentage = 854, 480, 100
        if hasattr(r.image_settings, "media_type"):
            r.image_settings.media_type = "VIDEO"
        r.image_settings.file_format = "FFMPEG"
        r.ffmpeg.format, r.ffmpeg.codec, r.ffmpeg.constant_rate_factor = "MPEG4", "H264", "HIGH"
        scene.frame_start, scene.frame_end = 1, N_FRAMES
        r.filepath = str(out / "swan.mp4")
        bpy.ops.render.render(animation=True)
    finally:
        if NEW_COMPOSITOR:
            scene.compositing_node_group = saved_tree
            bpy.data.node_groups.remove(tree)
        if hasattr(r.image_settings, "media_type"):
            r.image_settings.media_type = "IMAGE"
        r.image_settings.file_format = "PNG"
        r.resolution_x, r.resolution_y, r.resolution_percentage, r.filepath, scene.frame_start, scene.frame_end = saved
        bpy.data.movieclips.remove(src)
    movies = list(out.glob("swan*.mp4"))
    assert movies, f"Blender wrote no movie into {out}"
    return movies[0]


def test_movie_clip_is_converted_and_tracked(movie_file, tmp_path) -> None:  # type: ignore[no-untyped-def]
    clip = bpy.data.movieclips.load(str(movie_file))
    clip.name = "movie"
    assert clip.source == "MOVIE" and tuple(clip.size) == (854, 480)
    clip.inkpaint.output_dir = str(tmp_path / "out") + os.sep
    bpy.context.scene.active_clip = clip
    add_gt_mask_prompt(None, clip)
    assert bpy.ops.inkpaint.roto(clip=clip.name, direction="forward") == {"FINISHED"}
    s = clip.inkpaint
    assert s.plate_pattern.endswith(".####.exr")
    assert sorted(Path(s.plate_pattern).parent.glob("*.exr")) and len(list(Path(s.plate_pattern).parent.glob("*.exr"))) == N_FRAMES
    w, h = clip.size
    for frame in (0, N_FRAMES - 1):
        raster = render_mask(s.result_mask, (w, h), frame + 1, layer="swan") > 0.5
        score = iou(raster, gt_mask(frame))
        print(f"movie clip, frame {frame}: Mask IoU vs GT {score:.3f}")
        assert score > 0.8


def test_cryptomatte_layer_is_wired_to_a_cryptomatte_node(clip) -> None:  # type: ignore[no-untyped-def]
    add_gt_mask_prompt(None, clip)
    assert bpy.ops.inkpaint.roto(clip=clip.name, frame_start=1, frame_end=3, direction="forward", cryptomatte="ON") == {"FINISHED"}
    scene = bpy.context.scene
    roles = {n.get("inkpaint"): n for n in scene_tree(scene).nodes}
    crypto = roles["cryptomatte"]
    assert crypto.bl_idname == "CompositorNodeCryptomatteV2" and crypto.source == "IMAGE"
    assert crypto.image == roles["mattes"].image and crypto.matte_id == "swan"
    # the node reads the engine's CryptoObject layer: its Matte output is the swan
    from blender_helpers import compositor_for

    work = bpy.data.scenes.new("crypto-read")
    tree, target = compositor_for(work, "crypto-read")
    try:
        node = tree.nodes.new("CompositorNodeCryptomatteV2")
        node.source, node.image = "IMAGE", crypto.image
        node.frame_start, node.frame_duration, node.frame_offset = crypto.frame_start, crypto.frame_duration, crypto.frame_offset
        node.layer_name = crypto.layer_name
        node.matte_id = "swan"
        tree.links.new(node.outputs["Matte"], target)
        w, h = clip.size
        work.render.resolution_x, work.render.resolution_y, work.render.resolution_percentage = w, h, 100
        matte = render_scene(work, 1)[..., 0] > 0.5
        score = iou(matte, gt_mask(0))
        print(f"Cryptomatte node matte vs GT on frame 0: IoU {score:.3f}")
        assert score > 0.9
    finally:
        bpy.data.scenes.remove(work)
        if NEW_COMPOSITOR:
            bpy.data.node_groups.remove(tree)
