"""Fault injection: full disks, kills, two jobs at once, broken pipes and hostile inputs (issue 19).

Every case ends in one of two ways: whole frames and a clean error naming the file (exit 1), or a finished job. Never a
half-written frame counted as done, a lost file, a hang or an internal error (exit 3).

- A disk that fills at byte N is simulated two ways: ``RLIMIT_FSIZE`` in a child process (every write past N bytes
  of a file fails, as on a full disk; runs anywhere on POSIX), and a real tiny ``tmpfs`` mounted in a private mount
  namespace (``unshare -rm``; skipped where unprivileged user namespaces are off) for true ``ENOSPC``.
- Kills: ``inkpaint ink`` is SIGKILLed at seeded random moments, then rerun.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from inkpaint.errors import FrameError, OutputError
from inkpaint.io.atomic import TEMP_MARK
from inkpaint.io.frames import read_image, write_exr, write_png
from inkpaint.io.verify import frame_is_complete

PY = sys.executable
ROOT = Path(__file__).resolve().parent.parent

posix_only = pytest.mark.skipif(not hasattr(signal, "SIGKILL") or sys.platform == "win32", reason="needs POSIX")


def _mattes(folder: Path, frames: int, size: tuple[int, int] = (96, 72)) -> str:
    """Two moving discs as roto mattes (``a.A``, ``b.A``, ``A``), frames 1..N. Returns the pattern."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    for f in range(1, frames + 1):
        cx = w * (0.3 + 0.4 * f / frames)
        a = (((xx - cx) ** 2 + (yy - h * 0.4) ** 2) < (h * 0.2) ** 2).astype(np.float32)
        b = (((xx - w * 0.6) ** 2 + (yy - h * 0.6) ** 2) < (h * 0.15) ** 2).astype(np.float32) * (1 - a)
        write_exr(str(folder / f"m.{f:04d}.exr"), {"a.A": a, "b.A": b, "A": np.clip(a + b, 0, 1)})
    return str(folder / "m.####.exr")


def _cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PY, "-m", "inkpaint", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def _no_temps(folder: Path) -> None:
    left = [p.name for p in folder.rglob("*") if TEMP_MARK in p.name]
    assert not left, f"temp files left behind: {left}"


# ----------------------------------------------------------------------------------------------------------------
# The check resume and the writers rely on


def test_frame_is_complete_catches_every_cut(tmp_path: Path) -> None:
    """Cut at any byte, an EXR (OpenEXR and OIIO encoders) or PNG is never taken for complete; whole files are."""
    rng = np.random.default_rng(0)
    a = rng.random((40, 50), dtype=np.float32)
    files = []
    for comp in ("zip", "piz", "dwaa:45", "none"):
        p = tmp_path / f"f_{comp.replace(':', '_')}.exr"
        write_exr(str(p), {"R": a, "x.A": a}, compression=comp)
        files.append(p)
    p = tmp_path / "f.png"
    write_png(str(p), rng.random((40, 50, 3)))
    files.append(p)
    for p in files:
        data = p.read_bytes()
        assert frame_is_complete(p), p
        cuts = sorted({0, 1, 4, 8, 30, len(data) // 3, len(data) // 2, len(data) - 13, len(data) - 2, len(data) - 1}
                      | set(range(0, len(data), max(1, len(data) // 40))))
        cut = tmp_path / ("cut" + p.suffix)
        for n in cuts:
            cut.write_bytes(data[:n])
            check = frame_is_complete(cut)
            assert not check and check.reason, f"{p.name} cut at {n} of {len(data)} bytes passed"
    # an EXR whose chunk table was never filled in (what a writer killed before its last step leaves)
    exr = files[0].read_bytes()
    broken = bytearray(exr)
    start = _table_start(exr)
    assert start < struct.unpack_from("<Q", exr, start)[0] < len(exr)  # the first entry points at a chunk
    broken[start: start + 8] = b"\0" * 8
    cut.with_suffix(".exr").write_bytes(bytes(broken))
    assert "never written" in frame_is_complete(cut.with_suffix(".exr")).reason


def _table_start(exr: bytes) -> int:
    """Offset of an EXR's chunk table (just after the header's closing NUL)."""
    pos = 8
    while exr[pos] != 0:
        pos = exr.index(b"\0", pos) + 1  # name
        pos = exr.index(b"\0", pos) + 1  # type
        (n,) = struct.unpack_from("<i", exr, pos)
        pos += 4 + n
    return pos + 1


# ----------------------------------------------------------------------------------------------------------------
# A disk that fills up


_FSIZE_DRIVER = textwrap.dedent(
    """
    import json, os, resource, signal, sys
    import numpy as np
    from inkpaint.errors import OutputError
    from inkpaint.io.frames import write_exr, write_png
    from inkpaint.io.verify import frame_is_complete

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead of killing us
    folder, kind = sys.argv[1], sys.argv[2]
    limits = json.loads(sys.argv[3])
    rng = np.random.default_rng(1)
    a = rng.random((64, 80), dtype=np.float32)
    rgb = rng.random((64, 80, 3))
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    out = []
    for n in limits:
        dest = os.path.join(folder, f"{kind}.{n}." + ("png" if kind == "png" else "exr"))
        resource.setrlimit(resource.RLIMIT_FSIZE, (n, hard))
        try:
            if kind == "png":
                write_png(dest, rgb, metadata={"inkpaint:job_hash": "h"})
            else:
                write_exr(dest, {"R": a, "G": a, "x.A": a}, compression={"openexr": "zip", "oiio": "dwaa:45"}[kind],
                          metadata={"inkpaint:job_hash": "h"})
            err = None
        except OutputError as exc:
            err = str(exc)
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        exists = os.path.exists(dest)
        out.append({"limit": n, "error": err, "exists": exists, "complete": bool(frame_is_complete(dest)) if exists else None,
                    "files": sorted(os.listdir(folder))})
        if exists:
            os.unlink(dest)
    print(json.dumps(out))
    """
)


@posix_only
@pytest.mark.parametrize("kind", ["openexr", "oiio", "png"])
def test_disk_full_at_any_byte_never_leaves_a_frame(tmp_path: Path, kind: str) -> None:
    """Every write cut at byte N (N from 0 to past the file's size) either fails with an error naming the file and
    saying the disk is full, leaving nothing behind, or writes a whole file."""
    probe = tmp_path / "probe"
    probe.mkdir()
    full = subprocess.run([PY, "-c", _FSIZE_DRIVER, str(probe), kind, json.dumps([1 << 40])], capture_output=True,
                          text=True, timeout=60)
    assert full.returncode == 0, full.stderr
    # the size of a whole file: write one more time without a limit to measure it
    if kind == "png":
        write_png(str(probe / "x.png"), np.random.default_rng(1).random((64, 80, 3)), metadata={"inkpaint:job_hash": "h"})
        size = (probe / "x.png").stat().st_size
    else:
        a = np.random.default_rng(1).random((64, 80), dtype=np.float32)
        write_exr(str(probe / "x.exr"), {"R": a, "G": a, "x.A": a}, compression={"openexr": "zip", "oiio": "dwaa:45"}[kind])
        size = (probe / "x.exr").stat().st_size
    limits = sorted({0, 1, 7, 8, 64, 200, 400, size // 4, size // 2, (3 * size) // 4, size - 300, size - 40, size - 9,
                     size - 1} - {n for n in range(-400, 0)})
    folder = tmp_path / "out"
    folder.mkdir()
    res = subprocess.run([PY, "-c", _FSIZE_DRIVER, str(folder), kind, json.dumps(limits)], capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    for case in json.loads(res.stdout):
        assert [f for f in case["files"] if TEMP_MARK in f] == [], case
        if case["error"] is None:
            assert case["exists"] and case["complete"], case
        else:
            assert not case["exists"], case
            assert f"{kind}.{case['limit']}." in case["error"], case  # names the file
            assert "disk is full" in case["error"], case
    assert any(c["error"] for c in json.loads(res.stdout))


def _can_mount_tmpfs() -> bool:
    if sys.platform != "linux" or shutil.which("unshare") is None:
        return False
    try:
        r = subprocess.run(["unshare", "-rm", "sh", "-c", "d=$(mktemp -d) && mount -t tmpfs -o size=64k none $d"],
                           capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


_TMPFS_DRIVER = textwrap.dedent(
    """
    import json, os, subprocess, sys
    from inkpaint.io.verify import frame_is_complete
    mattes, out, size_k, big_k = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    def ink(*extra):
        return subprocess.run([sys.executable, "-m", "inkpaint", "ink", "--mattes", mattes, "--out", out, "-q", *extra],
                              capture_output=True, text=True, timeout=120)
    report = {}
    r = ink()
    folder = os.path.dirname(out)
    report["first"] = {"rc": r.returncode, "stderr": r.stderr[-2000:], "files": sorted(os.listdir(folder)),
                       "incomplete": [f for f in os.listdir(folder) if f.endswith((".exr", ".png")) and not frame_is_complete(os.path.join(folder, f))]}
    subprocess.run(["mount", "-o", f"remount,size={big_k}k", folder], check=True)
    r = ink()
    report["second"] = {"rc": r.returncode, "stderr": r.stderr[-2000:], "stdout": r.stdout,
                        "files": sorted(os.listdir(folder)),
                        "incomplete": [f for f in os.listdir(folder) if f.endswith((".exr", ".png")) and not frame_is_complete(os.path.join(folder, f))]}
    print(json.dumps(report))
    """
)


@pytest.mark.slow
@pytest.mark.skipif(not _can_mount_tmpfs(), reason="cannot mount a tmpfs in a user namespace here (unshare -rm)")
@pytest.mark.parametrize("ext", ["exr", "png"])
def test_real_full_disk_then_resume(tmp_path: Path, ext: str) -> None:
    """A real ENOSPC (a 48 kB tmpfs): the job exits 1 naming the file and the full disk, only whole frames are
    left, and once there is room the rerun writes exactly the rest."""
    mattes = _mattes(tmp_path / "roto", 24)
    out_dir = tmp_path / "ink"
    out_dir.mkdir()
    out = str(out_dir / f"i.####.{ext}")
    driver = tmp_path / "driver.py"
    driver.write_text(_TMPFS_DRIVER)
    script = f"mount -t tmpfs -o size=48k none '{out_dir}' && exec '{PY}' '{driver}' '{mattes}' '{out}' 48 4096"
    res = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert res.returncode == 0, res.stderr
    rep = json.loads(res.stdout)
    first, second = rep["first"], rep["second"]
    assert first["rc"] == 1, first
    assert "disk is full" in first["stderr"] and "ink/i." in first["stderr"], first["stderr"]
    assert first["incomplete"] == [] and not [f for f in first["files"] if TEMP_MARK in f], first
    done_before = [f for f in first["files"] if f.startswith("i.") and f.endswith(ext)]
    assert 0 < len(done_before) < 24, first["files"]
    assert second["rc"] == 0, second["stderr"]
    result = json.loads(second["stdout"])
    assert len(result["skipped"]) == len(done_before)
    assert sorted(result["written"] + result["skipped"]) == list(range(1, 25))
    assert second["incomplete"] == [] and not [f for f in second["files"] if TEMP_MARK in f or f.endswith(".lock")]


# ----------------------------------------------------------------------------------------------------------------
# Resume verifies what it skips


def test_resume_rewrites_a_truncated_frame_and_says_so(tmp_path: Path) -> None:
    mattes = _mattes(tmp_path / "roto", 6)
    out = tmp_path / "ink" / "i.####.exr"
    r = _cli("ink", "--mattes", mattes, "--out", str(out), "-q")
    assert r.returncode == 0, r.stderr
    victim = tmp_path / "ink" / "i.0003.exr"
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) - 100])  # header (and job hash) intact, pixels cut short
    for extra in ([], ["--overwrite"]):
        r = _cli("ink", "--mattes", mattes, "--out", str(out), "-q", *extra)
        assert r.returncode == 0, r.stderr
        result = json.loads(r.stdout)
        if not extra:
            assert result["written"] == [3] and result["repaired"][0]["frame"] == 3, result
            assert "i.0003.exr" in r.stderr and "incomplete" in r.stderr
        else:
            assert result["written"] == [] and result["repaired"] == []
    assert frame_is_complete(victim)
    assert read_image(str(victim)).attributes["inkpaint:job_hash"] == result["job_hash"]


def test_manifest_temp_of_a_killed_run_is_removed(tmp_path: Path) -> None:
    mattes = _mattes(tmp_path / "roto", 3)
    (tmp_path / "ink").mkdir()
    stale = tmp_path / "ink" / ".i.inkpaint.k3j_x9ab.inkpaint-tmp.json"
    stale.write_text("{")
    r = _cli("ink", "--mattes", mattes, "--out", str(tmp_path / "ink" / "i.####.exr"), "-q")
    assert r.returncode == 0, r.stderr
    assert not stale.exists()
    assert (tmp_path / "ink" / "i.inkpaint.json").exists()


# ----------------------------------------------------------------------------------------------------------------
# Kills and races


@posix_only
@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kill_at_a_random_moment_then_rerun(tmp_path: Path, seed: int) -> None:
    """SIGKILL at a seeded random moment: only whole frames of the job are left (plus temps and a stale lock, which
    the rerun cleans up and takes over), and the rerun writes exactly the rest."""
    frames = 60
    mattes = _mattes(tmp_path / "roto", frames, (160, 120))
    out = tmp_path / "ink" / "i.####.exr"
    cmd = [PY, "-m", "inkpaint", "ink", "--mattes", mattes, "--out", str(out), "-q"]
    rng = random.Random(seed)
    after, extra = rng.randrange(0, frames - 20), rng.uniform(0.0, 0.01)
    folder = tmp_path / "ink"
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while (len(list(folder.glob("i.*.exr"))) if folder.is_dir() else 0) < after or not (folder / "i.inkpaint.lock").exists():
        assert proc.poll() is None, "finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.001)
    time.sleep(extra)  # somewhere inside the next frame's compute or write
    proc.kill()
    assert proc.wait(timeout=30) == -signal.SIGKILL
    assert (folder / "i.inkpaint.lock").exists()  # a killed job leaves its lock: the rerun must take it over
    if folder.is_dir():
        for p in folder.iterdir():
            if p.name.startswith("i.") and p.suffix == ".exr":
                assert frame_is_complete(p), f"seed {seed}: {p.name} is not whole after the kill"
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    assert "stale lock" in r.stderr
    result = json.loads(r.stdout)
    assert sorted(result["written"] + result["skipped"]) == list(range(1, frames + 1))
    assert len(result["skipped"]) >= after
    names = sorted(p.name for p in folder.iterdir())
    assert not [n for n in names if TEMP_MARK in n or n.endswith(".lock") or ".stale-" in n], names
    assert len([n for n in names if n.endswith(".exr")]) == frames


@posix_only
def test_two_jobs_on_one_output_the_second_fails_at_once(tmp_path: Path) -> None:
    frames = 40
    mattes = _mattes(tmp_path / "roto", frames, (160, 120))
    out = tmp_path / "ink" / "i.####.exr"
    lock = tmp_path / "ink" / "i.inkpaint.lock"
    first = subprocess.Popen([PY, "-m", "inkpaint", "ink", "--mattes", mattes, "--out", str(out), "-q", "--width", "2"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (lock.exists() and _text(lock).endswith("\n")):
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.005)
        os.kill(first.pid, signal.SIGSTOP)  # hold the first job mid-run (alive, lock held) while the second starts
        assert lock.exists(), "the first job finished before it could be paused"
        holder = json.loads(_read_when_whole(lock))
        t0 = time.monotonic()
        second = _cli("ink", "--mattes", mattes, "--out", str(out), "-q", "--width", "3", "--overwrite")
        assert second.returncode == 1, second.stderr
        assert "being written by another job" in second.stderr and holder["job_hash"][:16] in second.stderr
        assert str(holder["pid"]) in second.stderr
        assert time.monotonic() - t0 < 30
    finally:
        os.kill(first.pid, signal.SIGCONT)
        out1, err1 = first.communicate(timeout=120)
    assert first.returncode == 0, err1
    result = json.loads(out1)
    assert sorted(result["written"]) == list(range(1, frames + 1))
    for f in range(1, frames + 1):  # every frame is the first job's, none replaced by the second
        assert read_image(str(tmp_path / "ink" / f"i.{f:04d}.exr")).attributes["inkpaint:job_hash"] == result["job_hash"]
    assert not lock.exists()


def _text(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""


def _read_when_whole(path: Path) -> str:
    for _ in range(100):
        text = path.read_text()
        if text.endswith("\n"):
            return text
        time.sleep(0.01)
    return path.read_text()


def test_a_stale_lock_of_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    mattes = _mattes(tmp_path / "roto", 2)
    (tmp_path / "ink").mkdir()
    dead = subprocess.Popen([PY, "-c", "pass"])
    dead.wait()
    import socket

    lock = tmp_path / "ink" / "i.inkpaint.lock"
    lock.write_text(json.dumps({"host": socket.gethostname(), "pid": dead.pid, "job_hash": "feedbeef", "token": "t",
                                "started": time.time()}))
    r = _cli("ink", "--mattes", mattes, "--out", str(tmp_path / "ink" / "i.####.exr"), "-q")
    assert r.returncode == 0, r.stderr
    assert "stale lock" in r.stderr and not lock.exists()
    # another host's lock is live until it misses its heartbeats
    lock.write_text(json.dumps({"host": "elsewhere-farm-07", "pid": 1, "job_hash": "feedbeef", "token": "t",
                                "started": time.time()}))
    r = _cli("ink", "--mattes", mattes, "--out", str(tmp_path / "ink" / "i.####.exr"), "-q")
    assert r.returncode == 1 and "elsewhere-farm-07" in r.stderr, r.stderr
    old = time.time() - 3600
    os.utime(lock, (old, old))
    r = _cli("ink", "--mattes", mattes, "--out", str(tmp_path / "ink" / "i.####.exr"), "-q")
    assert r.returncode == 0, r.stderr


# ----------------------------------------------------------------------------------------------------------------
# Hostile inputs: a clean exit 1, in bounded time and memory


def _header_bomb(path: Path, width: int, height: int) -> None:
    """A small valid EXR whose header then claims a ``width x height`` frame (the display window; its data window
    stays 4x4, so the file itself is consistent and only a reader that allocates the whole frame is hurt)."""
    write_exr(str(path), {"R": np.zeros((4, 4), np.float32)}, compression="none")
    data = bytearray(path.read_bytes())
    for name in (b"displayWindow\0box2i\0",):
        at = data.index(name) + len(name) + 4
        data[at: at + 16] = struct.pack("<4i", 0, 0, width - 1, height - 1)
    path.write_bytes(bytes(data))


def test_header_bomb_is_refused_before_allocating(tmp_path: Path) -> None:
    bomb = tmp_path / "m.0001.exr"
    _header_bomb(bomb, 100000, 100000)
    with pytest.raises(FrameError, match="over the limit"):
        read_image(str(bomb))
    t0 = time.monotonic()
    r = _cli("ink", "--mattes", str(tmp_path / "m.####.exr"), "--out", str(tmp_path / "o" / "i.####.exr"), "-q")
    assert r.returncode == 1, r.stderr
    assert "m.0001.exr" in r.stderr and "limit" in r.stderr
    assert time.monotonic() - t0 < 60


def test_huge_frame_range_is_refused_at_once(tmp_path: Path) -> None:
    mattes = _mattes(tmp_path / "roto", 3)
    t0 = time.monotonic()
    r = _cli("ink", "--mattes", mattes, "--out", str(tmp_path / "o" / "i.####.exr"), "--frames", "1-9999999", "-q")
    assert r.returncode == 1 and "limit" in r.stderr, r.stderr
    assert len(r.stderr) < 2000
    r = _cli("ink", "--mattes", mattes, "--out", str(tmp_path / "o" / "i.####.exr"), "--frames", "1-200000", "-q")
    assert r.returncode == 1 and "199997 frame(s)" in r.stderr and len(r.stderr) < 5000, r.stderr
    assert time.monotonic() - t0 < 30


ALIAS_BOMB = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
parts: {skin: {normal: *i}}
"""


def test_palette_alias_bomb_and_binary_palette(tmp_path: Path) -> None:
    from inkpaint.palette import PaletteError, load_palette

    bomb = tmp_path / "bomb.yml"
    bomb.write_text(ALIAS_BOMB)
    t0 = time.monotonic()
    with pytest.raises(PaletteError, match="alias") as info:
        load_palette(bomb)
    assert time.monotonic() - t0 < 5 and len(str(info.value)) < 500
    small = tmp_path / "small.yml"  # under the expansion limit, but a huge bad value: the message is cut
    small.write_text('a: &a ["lol","lol","lol","lol","lol","lol","lol","lol"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a]\n'
                     "parts: {skin: {normal: [*b, *b, *b]}}\n")
    with pytest.raises(PaletteError) as info:
        load_palette(small)
    assert len(str(info.value)) < 500
    binary = tmp_path / "bin.yml"
    binary.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(PaletteError, match="not UTF-8|binary"):
        load_palette(binary)
    nul = tmp_path / "nul.yml"
    nul.write_bytes(b"parts:\x00\x00\n")
    with pytest.raises(PaletteError, match="binary"):
        load_palette(nul)


@pytest.mark.parametrize("payload", [b"\xff\xfe{\"type\": \"ink\"}", b"[" * 100000, b'{"type": "ink", "x": ' + b"9" * 20000 + b"}"],
                         ids=["not-utf8", "deep", "huge-number"])
def test_bad_job_files_exit_1(tmp_path: Path, payload: bytes) -> None:
    job = tmp_path / "job.json"
    job.write_bytes(payload)
    r = _cli("run", str(job))
    assert r.returncode == 1, r.stderr
    assert "job.json" in r.stderr and "Traceback" not in r.stderr and len(r.stderr) < 1000


def test_long_object_names_are_refused(tmp_path: Path) -> None:
    from inkpaint.errors import SpecError
    from inkpaint.ops.roto import RotoJob

    name = "n" * 300
    job = RotoJob(input=str(tmp_path / "p.####.exr"), output=str(tmp_path / "r.####.exr"),
                  objects=[{"name": name, "prompts": [{"frame": 1, "box": [0, 0, 4, 4]}]}])  # type: ignore[list-item]
    with pytest.raises(SpecError, match="at most 128"):
        RotoJob.from_dict(job.to_dict()).validate()


@posix_only
def test_symlinked_work_folder_is_refused(tmp_path: Path) -> None:
    from inkpaint.ops.base import FrameOutputs
    from inkpaint.ops.roto import work_folder

    outputs = FrameOutputs(str(tmp_path / "roto" / "m.####.exr"), "abc")
    (tmp_path / "roto").mkdir()
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "1.npz").write_bytes(b"precious")
    os.symlink(victim, tmp_path / "roto" / ".m.inkpaint-work-abc")
    with pytest.raises(OutputError, match="symbolic link"):
        work_folder(outputs, "abc")
    assert (victim / "1.npz").read_bytes() == b"precious"


# ----------------------------------------------------------------------------------------------------------------
# The worker


class _Worker:
    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen([PY, "-m", "inkpaint", "worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, env={**os.environ, **(env or {})})
        assert self.read()["event"] == "ready"

    def write(self, raw: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(raw)
        self.proc.stdin.flush()

    def read(self) -> dict:  # type: ignore[type-arg]
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, f"worker exited ({self.proc.poll()})"
        return json.loads(line)

    def until(self, *events: str) -> dict:  # type: ignore[type-arg]
        while True:
            ev = self.read()
            if ev["event"] in events:
                return ev

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


@posix_only
def test_worker_exits_when_the_host_closes_its_stdout() -> None:
    w = _Worker()
    try:
        assert w.proc.stdout is not None
        w.proc.stdout.close()
        w.write(b'{"type": "ping", "id": "p"}\n')
        assert w.proc.wait(timeout=30) == 4  # EXIT_HOST_GONE, not a hang
    finally:
        w.close()


def test_worker_survives_hostile_requests(tmp_path: Path) -> None:
    not_utf8 = tmp_path / "job.json"
    not_utf8.write_bytes(b"\xff\xfe{}")
    bomb = tmp_path / "m.0001.exr"
    _header_bomb(bomb, 100000, 100000)
    ink_job = json.dumps({"type": "ink", "mattes": str(tmp_path / "m.####.exr"), "output": str(tmp_path / "o" / "i.####.exr")})
    w = _Worker(env={"INKPAINT_WORKER_MAX_LINE": "65536"})
    try:
        for raw in (b"[" * 60000 + b"\n", b"x" * 300000 + b"\n", b"\xff\xfe\x00\n", b'{"type": "ping", "n": ' + b"9" * 9000 + b"}\n"):
            w.write(raw)
            ev = w.until("error", "pong")
            assert ev["event"] == "error" and not ev.get("fatal"), ev
        for rid, job in (("a", json.dumps(str(not_utf8))), ("b", ink_job)):
            w.write(f'{{"type": "run", "id": "{rid}", "job": {job}}}\n'.encode())
            ev = w.until("error", "result")
            assert ev["event"] == "error" and not ev.get("fatal") and ev["id"] == rid, ev
        w.write(b'{"type": "ping", "id": "alive"}\n')
        assert w.until("pong")["id"] == "alive"
    finally:
        w.close()


def test_segment_ids_and_outputs_are_confined(tmp_path: Path) -> None:
    from inkpaint.worker import check_segment_output, safe_name

    assert "/" not in safe_name("x/../../..") and safe_name("x/../../..") != safe_name("x/../../.")
    assert safe_name("shot_010-a") == "shot_010-a"
    frame = tmp_path / "roto" / "m.0001.exr"
    frame.parent.mkdir()
    write_exr(str(frame), {"A": np.zeros((4, 4), np.float32)}, metadata={"inkpaint:job_hash": "abc"})
    with pytest.raises(OutputError, match="not written by a segment request"):
        check_segment_output(str(frame), overwrite=False)
    check_segment_output(str(frame), overwrite=True)
    mine = tmp_path / "seg.exr"
    write_exr(str(mine), {"A": np.zeros((4, 4), np.float32)}, metadata={"inkpaint:segment_output": str(mine)})
    check_segment_output(str(mine), overwrite=False)
    with pytest.raises(OutputError, match=".exr"):
        check_segment_output(str(tmp_path / "notes.txt"), overwrite=False)


def test_worker_segment_stays_in_its_folder_and_spares_job_frames(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    plate = tmp_path / "plate.0001.exr"
    rgb = rng.random((48, 64, 3)).astype(np.float32) * 0.2
    rgb[10:30, 20:40] = (0.8, 0.2, 0.1)
    write_exr(str(plate), {c: rgb[..., i] for i, c in enumerate("RGB")})
    frame = tmp_path / "roto" / "m.0001.exr"
    frame.parent.mkdir()
    write_exr(str(frame), {"A": np.zeros((48, 64), np.float32)}, metadata={"inkpaint:job_hash": "abc"})
    before = frame.read_bytes()
    seg = {"type": "segment", "input": str(plate), "objects": [{"name": "box", "box": [18, 8, 42, 32]}]}
    w = _Worker()
    try:
        w.write((json.dumps({**seg, "id": "x/../../../escape"}) + "\n").encode())
        ev = w.until("result", "error")
        assert ev["event"] == "result", ev
        mask = Path(ev["result"]["mask"])
        assert mask.parent.name.startswith("inkpaint-worker-") and "/" not in mask.name and mask.exists()
        w.write((json.dumps({**seg, "id": "s2", "output": str(frame)}) + "\n").encode())
        ev = w.until("result", "error")
        assert ev["event"] == "error" and ev["error"]["type"] == "OutputExistsError" and not ev.get("fatal"), ev
        assert frame.read_bytes() == before
        mine = tmp_path / "preview.exr"
        for rid in ("s3", "s4"):  # its own earlier mask may be replaced without overwrite
            w.write((json.dumps({**seg, "id": rid, "output": str(mine)}) + "\n").encode())
            assert w.until("result", "error")["event"] == "result"
        w.write((json.dumps({**seg, "id": "s5", "output": str(frame), "overwrite": True}) + "\n").encode())
        assert w.until("result", "error")["event"] == "result"
    finally:
        w.close()


def test_pyblish_output_check_flags_a_truncated_frame(tmp_path: Path) -> None:
    """The pyblish output-frames check reads headers only; a frame cut short behind an intact header must fail it."""
    if str(ROOT / "pyblish_plugins") not in sys.path:
        sys.path.insert(0, str(ROOT / "pyblish_plugins"))
    from inkpaint_pyblish import lib

    from inkpaint.io.sequence import FrameSequence

    frame = tmp_path / "m.0001.exr"
    write_exr(str(frame), {"A": np.random.default_rng(0).random((64, 64), dtype=np.float32)},
              metadata={"inkpaint:job_hash": "abc"})
    out = lib.Output("mattes", str(tmp_path / "m.####.exr"), FrameSequence.parse(str(tmp_path / "m.####.exr")))
    assert lib.check_file({}, out, 1, "abc") == []
    data = frame.read_bytes()
    frame.write_bytes(data[: len(data) - 50])
    problems = lib.check_file({}, out, 1, "abc")
    assert len(problems) == 1 and "incomplete" in problems[0] and "m.0001.exr" in problems[0], problems
