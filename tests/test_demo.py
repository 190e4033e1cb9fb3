"""``inkpaint demo``: the whole product on a generated shot, one contact sheet that shows it, and a folder it owns.

The demo runs once per module (about 10 s for 6 frames here) through the CLI, as a newcomer runs it; the tests read
its real outputs back through OIIO.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from inkpaint.demo import MARKER, PARTS, SHEET_NAME, sheet_columns
from inkpaint.io.frames import read_channels, read_image
from inkpaint.io.sequence import FrameSequence
from inkpaint.palette import load_palette
from inkpaint.qc import ContactSheet

FRAMES = 6
ROOT = Path(__file__).resolve().parent.parent


def _demo(cwd: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "inkpaint", "demo", "-q", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)


def _printed(stdout: str, key: str) -> str:
    m = re.search(rf"^\s*{key}:\s+(\S+)", stdout, re.M)
    assert m, f"demo did not print its {key}: {stdout}"
    return m.group(1)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    cwd = tmp_path_factory.mktemp("newcomer")
    res = _demo(cwd, "--frames", str(FRAMES))
    assert res.returncode == 0, res.stderr
    return cwd / "inkpaint-demo", res


def _frames(pattern: str) -> list[str]:
    seq = FrameSequence.parse(pattern)
    return [seq.path(f) for f in range(1, FRAMES + 1)]


def test_demo_writes_every_stage_and_says_where(demo: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    folder, res = demo
    assert Path(_printed(res.stdout, "folder")) == folder  # ./inkpaint-demo by default
    assert (folder / MARKER).is_file()
    lines = res.stdout.strip().splitlines()
    assert lines[-1] == f"contact sheet: {folder / SHEET_NAME}"  # the last thing it says
    # every stage's frames exist and decode, with the channels each stage promises
    for path in _frames(_printed(res.stdout, "plate")):
        assert set("RGB") <= set(read_image(path).channels)
    for path in _frames(_printed(res.stdout, "mattes")):
        img = read_image(path)
        assert {f"{p}.A" for p in PARTS} <= set(img.channels)
        assert all((img.channel(f"{p}.A") > 0.5).sum() > 200 for p in PARTS), path
    for path in _frames(_printed(res.stdout, "tones")):
        tone = read_image(path).channel("tone")
        assert {1, 2} <= set(np.unique(np.rint(tone)).astype(int)), f"{path}: no base and shadow tones"
    for path in _frames(_printed(res.stdout, "ink")):
        assert (read_image(path).channel("ink.A") > 0.5).sum() > 300
    for path in _frames(_printed(res.stdout, "cels")):
        img = read_image(path)
        assert {"R", "G", "B", "A", "tone"} <= set(img.channels)
        assert img.channel("A").min() > 0.99  # composited over the clean plate: opaque everywhere
    for key in ("line art", "painted", "QC overlays"):
        for path in _frames(_printed(res.stdout, key)):
            assert read_image(path).pixels.size
    # the saved job specs rerun each stage: the whole cel job resumes with nothing to do
    cel_job = folder / "jobs" / "cel.json"
    assert f"inkpaint run {cel_job}" in res.stdout
    assert {p.stem for p in (folder / "jobs").glob("*.json")} == {"roto", "shade", "ink", "finish", "cel", "paint"}
    rerun = subprocess.run([sys.executable, "-m", "inkpaint", "run", "-q", str(folder / "jobs" / "shade.json")],
                           capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout)["written"] == []  # the fused cel pass wrote exactly the shade job's frames


def _sheet(folder: Path) -> tuple[np.ndarray, dict]:  # type: ignore[type-arg]
    img = read_image(str(folder / SHEET_NAME))
    assert img.channels == ["R", "G", "B"]
    layout = json.loads((folder / "contact_sheet.json").read_text())
    return np.rint(img.pixels * 255).astype(int), layout


def test_contact_sheet_shows_each_stage_and_the_palette_colours(demo: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    folder, res = demo
    sheet, layout = _sheet(folder)
    assert layout["columns"] == sheet_columns("all") == [
        "plate", "parts (roto)", "ink", "tones (shade)", "cel (finish)", "line art", "painted", "QC"]
    # The layout is the shared renderer's own geometry.
    w, h = read_image(_frames(_printed(res.stdout, "plate"))[0]).frame_size
    probe = ContactSheet("", layout["columns"], cell_width=w)
    probe.add([np.zeros((h, w, 3), np.float32)] * len(layout["columns"]))
    for i, row in enumerate(layout["rows"]):
        assert row["cells"] == [list(probe.cell_box(i, j)) for j in range(len(layout["columns"]))]
    rows = {int(m.group(1)): i for i, r in enumerate(layout["rows"]) if (m := re.match(r"frame (\d+)", r["label"]))}
    assert 1 in rows and FRAMES in rows and len(rows) >= 3
    col = layout["columns"].index("cel (finish)")
    palette = load_palette(str(folder / "palette.yml"))
    shown: dict[str, set[str]] = {p: set() for p in PARTS}
    for f, i in rows.items():
        x0, y0, cw, ch = layout["rows"][i]["cells"][col]
        assert (cw, ch) == (w, h)  # cells at the clip's size: flat colours keep their values
        cel = read_image(_frames(_printed(res.stdout, "cels"))[f - 1])
        mattes = read_channels(_frames(_printed(res.stdout, "mattes"))[f - 1], [f"{p}.A" for p in PARTS])
        tone = np.rint(cel.channel("tone")).astype(int)
        import cv2

        for part in PARTS:
            for code, name in ((1, "normal"), (2, "shadow")):
                region = ((mattes[f"{part}.A"] > 0.5) & (tone == code)).astype(np.uint8)
                inner = cv2.distanceTransform(region, cv2.DIST_L2, 3)
                if inner.max() < 4:  # no pixel 4 px away from a line or another tone
                    continue
                y, x = np.unravel_index(int(np.argmax(inner)), inner.shape)
                want = np.array(getattr(palette[part], name))
                got = sheet[y0 + y, x0 + x]
                if np.abs(got - want).max() <= 2:
                    shown[part].add(name)
    both = [p for p, names in shown.items() if names == {"normal", "shadow"}]
    assert len(both) >= 3, f"parts whose base and shadow colours the sheet shows: {shown}"
    # the design sheet's swatches are on it too (the inputs row)
    x0, y0, cw, ch = layout["rows"][0]["cells"][col]
    swatches = sheet[y0 : y0 + ch, x0 : x0 + cw].reshape(-1, 3)
    for part in PARTS:
        for rgb in (palette[part].normal, palette[part].shadow):
            assert (np.abs(swatches - np.array(rgb)).max(axis=1) == 0).sum() > 50, (part, rgb)


def test_paint_frames_use_only_the_keyframe_colours(demo: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    folder, res = demo
    key = np.rint(read_image(_printed(res.stdout, "keyframe")).pixels * 255).astype(int)
    key_colours = {tuple(c) for c in key.reshape(-1, 3)}
    used: set[tuple[int, ...]] = set()
    for path in _frames(_printed(res.stdout, "painted")):
        img = read_image(path)
        assert img.channels[-1] == "A"
        px = np.rint(img.pixels * 255).astype(int)
        painted = px[..., 3] > 0
        assert painted.sum() > 5000, f"{path}: little painted"
        colours = {tuple(c) for c in px[painted][:, :3]}
        assert colours <= key_colours, f"{path}: colours not on the keyframe: {colours - key_colours}"
        used |= colours
    assert len(used) >= 6  # normal and shadow of several parts carried through
    manifest = json.loads((folder / "paint" / "demo.inkpaint.json").read_text())
    assert manifest["result"]["summary"]["unpainted_segments"] == 0


def test_demo_results_match_the_generators_truth(demo: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    """The demo checks itself against what it drew; a newcomer sees the product work, so these must hold."""
    folder, res = demo
    layout = json.loads((folder / "contact_sheet.json").read_text())
    iou = layout["scores"]["roto_iou"]
    assert set(iou) == set(PARTS)
    assert min(iou.values()) >= 0.8, iou
    assert layout["scores"]["paint_accuracy"] >= 0.9
    assert "Checked against the generator's own truth: roto IoU" in res.stdout
    assert {"roto", "shade", "ink", "finish", "paint"} <= set(layout["timings"])


def test_line_art_gap_is_open_and_max_gap_closes_it(tmp_path: Path) -> None:
    """The paint demo's line art leaves the left leg's outline open (leg and paper are one segment without gap
    closing) and the job's max_gap of 4 closes it on every frame."""
    from inkpaint.demo import _toon, make_line_art
    from inkpaint.paint.segments import segment_lines

    frames, size = 4, (320, 240)
    pattern, _, _ = make_line_art(tmp_path, frames, size)
    legs = PARTS.index("legs") + 1
    for f in range(1, frames + 1):
        img = read_image(FrameSequence.parse(pattern).path(f))
        truth, _ = _toon((f - 1) / (frames - 1), size)
        for gap, leaks in ((0, True), (4, False)):
            seg = segment_lines(img.pixels, img.channels, max_gap=gap)
            joined = any(((truth[m] == legs).sum() > 5) and ((truth[m] == 0).sum() > 5)
                         for m in (seg.labels == s for s in range(1, seg.n + 1)))
            assert joined == leaks, (f, gap)


def test_rerun_in_its_own_folder_resumes_and_shrinks(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()  # an empty folder is taken
    res = _demo(tmp_path, "--out-dir", str(folder), "--frames", str(FRAMES), "--what", "paint")
    assert res.returncode == 0, res.stderr
    assert f"paint: written {FRAMES} frame(s), 0 already done" in res.stdout
    note = folder / "paint" / "notes.txt"
    note.write_text("mine")
    res = _demo(tmp_path, "--out-dir", str(folder), "--frames", str(FRAMES), "--what", "paint")
    assert res.returncode == 0, res.stderr
    assert f"paint: written 0 frame(s), {FRAMES} already done" in res.stdout
    res = _demo(tmp_path, "--out-dir", str(folder), "--frames", "3", "--what", "roto")
    assert res.returncode == 0, res.stderr
    assert len(list((folder / "roto").glob("demo.*.exr"))) == 3
    assert len(list((folder / "plate").glob("demo.*.exr"))) == 3
    assert len(list((folder / "paint").glob("demo.[0-9][0-9][0-9][0-9].png"))) == 3  # its own frames beyond the range go
    assert note.read_text() == "mine"  # what is not a demo frame stays
    sheet, layout = _sheet(folder)
    assert layout["columns"] == ["plate", "parts (roto)"]


def test_refuses_a_folder_it_did_not_make_and_touches_nothing(tmp_path: Path) -> None:
    user = tmp_path / "EXISTING"
    (user / "roto").mkdir(parents=True)
    (user / "plate").mkdir()
    files = {user / "roto" / "shot.0001.exr": b"user roto", user / "plate" / "demo.0001.exr": b"user plate",
             user / "plate" / "demo.0099.exr": b"user plate 99", user / "notes.txt": b"notes"}
    for p, data in files.items():
        p.write_bytes(data)
    before = {p: p.stat().st_mtime_ns for p in files}
    res = _demo(tmp_path, "--out-dir", str(user), "--frames", "3")
    assert res.returncode == 1
    assert "not made by inkpaint demo" in res.stderr and str(user) in res.stderr
    assert sorted(p.relative_to(user).as_posix() for p in user.rglob("*")) == [
        "notes.txt", "plate", "plate/demo.0001.exr", "plate/demo.0099.exr", "roto", "roto/shot.0001.exr"]
    assert all(p.read_bytes() == data and p.stat().st_mtime_ns == before[p] for p, data in files.items())
    # a symbolic link to a folder is refused too, even an empty one
    (tmp_path / "empty").mkdir()
    os.symlink(tmp_path / "empty", tmp_path / "link")
    res = _demo(tmp_path, "--out-dir", str(tmp_path / "link"), "--what", "paint", "--frames", "2")
    assert res.returncode == 1 and "symbolic link" in res.stderr
    assert not any((tmp_path / "empty").iterdir())


def test_bad_arguments_are_named_and_create_nothing(tmp_path: Path) -> None:
    for args, field in ((["--frames", "1"], "--frames"), (["--size", "40x30"], "--size"), (["--size", "big"], "--size")):
        res = _demo(tmp_path, "--out-dir", str(tmp_path / "d"), *args)
        assert res.returncode == 1 and field in res.stderr, (args, res.stderr)
    assert not (tmp_path / "d").exists()


@pytest.mark.slow
def test_fresh_clone_bootstrap_prints_the_sheet_last(tmp_path: Path) -> None:
    """``python3 install/bootstrap.py --demo`` in a fresh clone (creates its .venv: needs the package index or a
    pip cache) ends with the contact sheet's path."""
    if not (ROOT / ".git").exists():
        pytest.skip(f"{ROOT} is not a git checkout to clone")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(clone)], check=True, timeout=120)
    res = subprocess.run([sys.executable, "install/bootstrap.py", "--demo"], cwd=clone, capture_output=True, text=True,
                         timeout=900, env={k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")})
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    last = res.stdout.strip().splitlines()[-1]
    sheet = clone / "inkpaint-demo" / SHEET_NAME
    assert last.endswith(str(sheet)), last
    assert read_image(str(sheet)).pixels.size
