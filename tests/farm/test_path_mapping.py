"""A farm worker sees the submitter's files under another root (Deadline Cloud job attachments, storage mounted
elsewhere): ``openjd run --path-mapping-rules`` maps the bundle's absolute paths and the job runs where the files are."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from farm_shot import cel_spec, save, write_shot
from farmkit import inkpaint, openjd_run

from inkpaint.farm.paths import apply_path_mapping, map_path


def test_map_path_whole_components_most_specific_first() -> None:
    rules = [("/shows/x", "/mnt/x"), ("/shows", "/mnt/s")]
    assert map_path("/shows/x/sh/p.####.exr", rules) == "/mnt/x/sh/p.####.exr"
    assert map_path("/shows/y", rules) == "/mnt/s/y" and map_path("/showsx/a", rules) == "/showsx/a"
    spec = {"input": "/shows/x/p.####.exr", "palette": "pal.yml", "color": {"ocio_config": "ocio://default"}}
    assert apply_path_mapping(spec, rules) == {"input": "/mnt/x/p.####.exr", "palette": "pal.yml",
                                               "color": {"ocio_config": "ocio://default"}}


@pytest.mark.slow
def test_openjd_path_mapping_rules_reach_every_task(tmp_path: Path) -> None:
    shot = write_shot(tmp_path / "submitter" / "shot", frames=4)
    spec = save(cel_spec(shot, str(tmp_path / "submitter" / "shot" / "cel")), tmp_path / "submitter" / "shot" / "cel.json")
    inkpaint("farm", "bundle", str(spec), "--out", str(tmp_path / "b"), "--chunk", "2", "--validate")
    shutil.move(str(tmp_path / "submitter"), str(tmp_path / "worker"))  # the worker's view of the same files
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"version": "pathmapping-1.0", "path_mapping_rules": [
        {"source_path_format": "POSIX", "source_path": str(tmp_path / "submitter"), "destination_path": str(tmp_path / "worker")}]}))
    log = openjd_run(tmp_path / "b", "--step", "validate", "--run-dependencies", "--path-mapping-rules", f"file://{rules}").stdout
    assert '"ok": true' in log
    assert sorted(p.name for p in (tmp_path / "worker" / "shot" / "cel" / "cel").glob("*.exr")) == [f"sh.{f:04d}.exr" for f in range(1, 5)]
    assert not (tmp_path / "submitter").exists()
