"""The inkpaint pyblish plug-ins on good runs: collection, every check passing, discovery through PYBLISHPLUGINPATH."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyblish.api
import pyblish.util

import inkpaint_pyblish

OUR_PLUGINS = {
    "CollectInkpaintManifests", "ValidateInkpaintManifest", "ValidateInkpaintJobFinished", "ValidateInkpaintOutputFrames",
    "ValidateInkpaintChannels", "ValidateInkpaintCelColours", "ValidateInkpaintPaintQC", "ReportInkpaint",
}


def test_register_adds_the_plugin_folder() -> None:
    assert os.path.normpath(inkpaint_pyblish.PLUGIN_PATH) in pyblish.api.registered_paths()
    assert OUR_PLUGINS <= {p.__name__ for p in pyblish.api.discover()}


def test_good_runs_of_every_job_type_pass(tmp_path: Path, roto_run: Any, make_cel: Any, make_paint: Any, publisher: Any) -> None:
    cel_exr = make_cel(tmp_path / "exr")
    cel_png = make_cel(tmp_path / "png", cel_format="png")
    paint = make_paint(tmp_path / "paint")
    pub = publisher([roto_run.folder, cel_exr.folder, cel_png.folder, paint.manifest])
    assert pub.failures == {}
    families = sorted(i.data["family"] for i in pub.instances.values())
    # each cel run: its own manifest and one per fused stage (shade, ink, finish)
    assert families == sorted(["roto", "paint"] + ["cel", "shade", "ink", "finish"] * 2)
    roto = pub.instances[str(roto_run.manifest)]
    assert roto.data["families"] == ["inkpaint"]
    assert roto.data["frames"] == [1, 2, 3] and roto.data["frameRange"] == "1-3"
    assert roto.data["jobHash"] == roto_run.result.job_hash
    assert roto.data["outputs"] == roto_run.result.outputs
    assert roto.data["jobSpec"].TYPE == "roto" and roto.data["jobSpecError"] is None
    report = pub.context.data["inkpaintReport"]
    assert report["ok"] and len(report["jobs"]) == 10
    paint_report = next(j for j in report["jobs"] if j["family"] == "paint")
    assert {c["check"] for c in paint_report["checks"]} >= {"inkpaint: paint unpainted / low-confidence segments", "inkpaint: job finished"}
    # every validator that applies ran: the cel manifest got the channel and palette checks
    cel_checks = {c["check"] for c in next(j for j in report["jobs"] if j["manifest"] == str(cel_exr.manifest))["checks"]}
    assert {"inkpaint: channels by name", "inkpaint: cel alpha and palette colours"} <= cel_checks


def test_collect_then_validate_and_the_report_file(tmp_path: Path, roto_run: Any, publisher: Any) -> None:
    report_path = tmp_path / "report.json"
    pub = publisher([roto_run.manifest], validate_only=True)
    assert pub.failures == {} and len(pub.instances) == 1
    context = pyblish.api.Context()
    context.data.update(inkpaintPublishPaths=str(roto_run.manifest), inkpaintReportPath=str(report_path))
    pyblish.util.publish(context)
    written = json.loads(report_path.read_text())
    assert written["ok"] and written["jobs"][0]["manifest"] == str(roto_run.manifest)


def test_paths_from_the_environment(roto_run: Any, monkeypatch: Any, publisher: Any) -> None:
    monkeypatch.setenv("INKPAINT_PUBLISH_PATHS", os.pathsep.join([str(roto_run.folder), str(roto_run.manifest)]))
    context = pyblish.api.Context()
    pyblish.util.publish(context)
    manifests = [i.data["manifestPath"] for i in context if "manifestPath" in i.data]
    assert manifests == [str(roto_run.manifest)]  # a folder and the file in it: collected once


def test_bad_publish_paths_are_errors_naming_them(tmp_path: Path, publisher: Any) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.json").write_text("{}")
    pub = publisher([tmp_path / "nowhere", tmp_path / "empty", tmp_path / "notes.json"])
    msg = pub.failures[("CollectInkpaintManifests", None)]
    assert f"'{tmp_path / 'nowhere'}' does not exist" in msg
    assert f"no inkpaint manifests (*.inkpaint.json) in '{tmp_path / 'empty'}'" in msg
    assert f"'{tmp_path / 'notes.json'}' is not an inkpaint manifest" in msg
    assert 'context.data["inkpaintPublishPaths"]' in msg


def test_plugins_found_through_pyblishpluginpath_alone(roto_run: Any, tmp_path: Path) -> None:
    """A studio that only sets PYBLISHPLUGINPATH (no register(), pyblish_plugins/ not on sys.path) gets the checks."""
    script = (
        "import json, pyblish.api, pyblish.util\n"
        "ctx = pyblish.util.publish()\n"
        "print(json.dumps({'plugins': sorted(p.__name__ for p in pyblish.api.discover()),"
        " 'families': [i.data['family'] for i in ctx], 'ok': ctx.data['inkpaintReport']['ok']}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PYBLISHPLUGINPATH=inkpaint_pyblish.PLUGIN_PATH, INKPAINT_PUBLISH_PATHS=str(roto_run.manifest))
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert OUR_PLUGINS <= set(got["plugins"])
    assert got["families"] == ["roto"] and got["ok"]
