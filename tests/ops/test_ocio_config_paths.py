"""``color.ocio_config`` in a spec file is a path like any other: resolved against the spec's folder for every op
(shade and finish included), whatever the current directory."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from inkpaint.errors import SpecError
from inkpaint.io.frames import read_image, write_exr
from inkpaint.ops.base import run_job
from inkpaint.ops.finish import FinishJob
from inkpaint.ops.ink import InkJob
from inkpaint.ops.shade import ShadeJob
from inkpaint.spec import ColorSettings, load_job

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the shared cel test scene
from cel.scene import write_scene  # noqa: E402

# "sRGB" is a pure 1/2 power here: results that follow it prove this config was used (as tests/io/test_colour.py).
TINY_CONFIG = """ocio_profile_version: 2
roles:
  default: raw
  scene_linear: lin_rec709_scene
file_rules:
  - !<Rule> {name: Default, colorspace: default}
displays:
  sRGB:
    - !<View> {name: Raw, colorspace: raw}
colorspaces:
  - !<ColorSpace>
    name: raw
    isdata: true
  - !<ColorSpace>
    name: lin_rec709_scene
  - !<ColorSpace>
    name: sRGB
    aliases: [srgb_rec709_scene]
    from_scene_reference: !<ExponentTransform> {value: 2.0, style: pass_thru, direction: inverse}
"""


@pytest.fixture()
def shot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.delenv("OCIO", raising=False)
    s = write_scene(tmp_path / "in", frames=1)
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "tiny.ocio").write_text(TINY_CONFIG)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # "tiny.ocio" relative to the current directory would not exist
    return s


def _relative(tmp_path: Path) -> ColorSettings:
    # lin_rec709_scene -> sRGB is a real conversion, so the config is loaded (an unloadable one is a SpecError)
    return ColorSettings(input_colorspace="lin_rec709_scene", ocio_config="tiny.ocio")


def test_shade_resolves_ocio_config_against_the_spec_folder(tmp_path: Path, shot: dict[str, str]) -> None:
    spec = tmp_path / "jobs" / "shade.json"
    ShadeJob(input=shot["plate"], mattes=shot["mattes"], output=str(tmp_path / "tone" / "t.####.exr"), color=_relative(tmp_path)).save(spec)
    run_job(load_job(str(spec)))
    assert (tmp_path / "tone" / "t.0001.exr").is_file()
    # the same job from a dict (no spec folder): the relative config is not found, and the error names the field
    with pytest.raises(SpecError, match="tiny.ocio") as info:
        run_job(ShadeJob(input=shot["plate"], mattes=shot["mattes"], output=str(tmp_path / "t2" / "t.####.exr"), color=_relative(tmp_path)))
    assert info.value.field == "color.ocio_config"


def test_finish_resolves_ocio_config_against_the_spec_folder(tmp_path: Path, shot: dict[str, str]) -> None:
    bg = np.full((72, 96), 0.25, np.float32)
    write_exr(str(tmp_path / "in" / "bg.exr"), {"R": bg, "G": bg, "B": bg})
    tones, ink = str(tmp_path / "tone" / "t.####.exr"), str(tmp_path / "ink" / "i.####.exr")
    run_job(ShadeJob(input=shot["plate"], mattes=shot["mattes"], output=tones))
    run_job(InkJob(mattes=shot["mattes"], output=ink, width=2))
    spec = tmp_path / "jobs" / "finish.json"
    out = tmp_path / "cel" / "c.####.png"
    FinishJob(mattes=shot["mattes"], palette=shot["palette"], output=str(out), tones=tones, ink=ink,
              over=str(tmp_path / "in" / "bg.exr"), color=_relative(tmp_path)).save(spec)
    run_job(load_job(str(spec)))
    comp = read_image(str(tmp_path / "cel" / "c.0001.png")).pixels
    # the tiny config's "sRGB" is a pure square root: 0.25 -> 0.5 (the real sRGB curve gives 0.537)
    assert abs(float(comp[0, 0, 0]) - 0.5) < 2 / 255
