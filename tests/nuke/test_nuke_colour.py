"""Nuke Read colourspaces reach the engine with the script's OCIO config (issue 18 §3): ``rec709`` runs end to end
through the fake Nuke and the REAL worker; nuke-default names resolve against Nuke's nuke-default config when it
is found (a stand-in file here), ACES names against the script's ACES config; a nuke-default log name without that
config is a clear error naming the Read."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nuke
import numpy as np
import pytest

import inkpaint_nuke
from inkpaint.io.frames import read_rgb
from inkpaint.spec import ColorSettings
from inkpaint_nuke import knobs, pixels, roto_node

STANDIN = Path(__file__).resolve().parent / "data" / "nuke-default-standin.ocio"


def _node(clip: dict[str, object], colorspace: str) -> tuple[nuke.Node, nuke.Node]:
    read = nuke.nodes.Read(file=clip["plate"], first=clip["first"], last=clip["last"], colorspace=colorspace)
    node = inkpaint_nuke.create_roto("InkpaintRoto1", inpanel=False)
    nuke._fake.user_connect(node, 0, read)
    h = int(clip["height"])  # type: ignore[call-overload]
    roto_node.add_object(node, "ball")
    roto_node.add_point(node, 1, (80, h - 120), frame=1)
    return node, read


@pytest.fixture
def nuke_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Nuke install folder whose plugins/OCIOConfigs/configs/nuke-default/config.ocio is the stand-in."""
    exe = tmp_path / "Nuke15.1v1" / "Nuke15.1"
    cfg = exe.parent / "plugins" / "OCIOConfigs" / "configs" / "nuke-default" / "config.ocio"
    cfg.parent.mkdir(parents=True)
    shutil.copy(STANDIN, cfg)
    monkeypatch.setattr(nuke, "EXE_PATH", str(exe))
    return cfg


def test_rec709_read_runs_with_the_builtin_config(fake: object, clip: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    """No config file found, no $OCIO: nuke-default ``rec709`` is the built-in studio config's ``Camera Rec.709``
    (the same curve, Rec.709 primaries) and the track runs."""
    monkeypatch.delenv("OCIO", raising=False)
    node, _ = _node(clip, "rec709")
    plan = roto_node.track(node)
    assert "tracked 1 object(s), frames 1-4" in node[knobs.STATUS_KNOB].value()
    assert plan.source.colorspace == "Camera Rec.709" and plan.source.ocio_config is None


def test_rec709_read_runs_with_nukes_nuke_default_config(fake: object, clip: dict[str, object], nuke_install: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Nuke's own colour management: the job carries Nuke's nuke-default config and the name unchanged."""
    monkeypatch.delenv("OCIO", raising=False)
    node, _ = _node(clip, "rec709")
    plan = roto_node.track(node)
    assert "tracked 1 object(s), frames 1-4" in node[knobs.STATUS_KNOB].value()
    assert plan.source.colorspace == "rec709" and plan.source.ocio_config == str(nuke_install)
    # and the engine really decodes with it: rec709 0.409 is 18 % grey; Cineon and AlexaV3LogC resolve too
    from inkpaint.io.colour import convert  # half-float LUT path: about 1e-3 at 1.0

    grey = np.full((1, 1, 3), 0.409, np.float32)
    assert abs(float(convert(grey, "rec709", "linear", ocio_config=str(nuke_install))[0, 0, 0]) - 0.18) < 1e-3
    cin = convert(np.full((1, 1, 3), 685 / 1023, np.float32), "Cineon", "linear", ocio_config=str(nuke_install))
    assert abs(float(cin[0, 0, 0]) - 1.0) < 3e-3
    logc = convert(np.full((1, 1, 3), 0.391, np.float32), "AlexaV3LogC", "linear", ocio_config=str(nuke_install))
    assert abs(float(logc[0, 0, 0]) - 0.18) < 2e-3


def test_nuke_default_log_name_without_the_config_is_a_clear_error(fake: object, clip: dict[str, object],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OCIO", raising=False)
    node, read = _node(clip, "Cineon")
    with pytest.raises(pixels.PixelsError, match=r"Read\d*: colourspace 'Cineon' is a nuke-default name") as info:
        pixels.plan_source(node, 0, str(Path(str(clip["plate"])).parent), (1, 4))
    assert "nuke-default" in str(info.value) and "$OCIO" in str(info.value) and read.name() in str(info.value)


def test_aces_names_resolve_against_the_scripts_aces_config(fake: object, clip: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    """Nuke 14+'s built-in ACES configs are OCIO built-ins: the job names the ocio:// URI and ACES names pass."""
    monkeypatch.delenv("OCIO", raising=False)
    nuke.root()["colorManagement"].setValue("OCIO")
    nuke.root()["OCIO_config"].setValue("fn-nuke_cg-config-v1.0.0_aces-v1.3_ocio-v2.1")
    node, _ = _node(clip, "ACES - ACEScg")
    source = pixels.plan_source(node, 0, str(Path(str(clip["plate"])).parent), (1, 4))
    assert source.ocio_config == "ocio://cg-config-v1.0.0_aces-v1.3_ocio-v2.1" and source.colorspace == "ACES - ACEScg"
    rgb = read_rgb(str(clip["plate"]).replace("####", "0001"), ColorSettings(**source.color()))  # type: ignore[arg-type]
    assert rgb.shape == (240, 320, 3) and np.isfinite(rgb).all()
    # $OCIO set: Nuke uses it over the knobs; the worker inherits it, names pass unchanged
    monkeypatch.setenv("OCIO", str(STANDIN))
    assert pixels.ocio_config_path() is None and pixels.engine_colorspace("Cineon", None) == "Cineon"
    os.environ.pop("OCIO")


def test_default_colourspace_of_a_float_file_is_nuke_defaults_linear_without_a_config(fake: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine's built-in config reads untagged EXRs as ACEScg (its scene_linear); Nuke's default for a float
    file under nuke-default is ``linear`` (Rec.709), so the adapter says so when no config reaches the engine."""
    monkeypatch.delenv("OCIO", raising=False)
    assert pixels.engine_colorspace("default", None, "Read1", "/p/plate.####.exr") == "lin_rec709_scene"
    assert pixels.engine_colorspace("default", None, "Read1", "/p/plate.####.png") == "auto"
    assert pixels.engine_colorspace("default", str(STANDIN), "Read1", "/p/plate.####.exr") == "auto"  # the config's scene_linear
