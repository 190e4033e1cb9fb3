"""Worker crashes, a worker that never starts, and cancelling: Nuke gets a message and carries on."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import nuke
import pytest

import inkpaint_nuke
from inkpaint_nuke import knobs, roto_node, runner, worker_client

STUB = Path(__file__).resolve().parent / "stub_worker.py"


def _node(clip: dict[str, object]) -> nuke.Group:
    read = nuke.nodes.Read(file=clip["plate"], first=clip["first"], last=clip["last"])
    node = inkpaint_nuke.create_roto("InkpaintRoto1", inpanel=False)
    nuke._fake.user_connect(node, 0, read)
    roto_node.add_object(node, "ball")
    roto_node.add_point(node, 1, (80, 120), frame=1)
    return node


def _use_stub(monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    worker_client.shutdown_shared()
    monkeypatch.setenv("INKPAINT_WORKER", f"{shlex.quote(sys.executable)} {shlex.quote(str(STUB))}")
    monkeypatch.setenv("STUB_MODE", mode)


def test_worker_crash_in_gui_gives_a_message_and_nuke_goes_on(fake: object, clip: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    fake.reset(gui=True)  # type: ignore[attr-defined]
    _use_stub(monkeypatch, "crash")
    node = _node(clip)
    fake.press(node["track"])  # type: ignore[attr-defined]
    fake.run_until(lambda: bool(fake.messages), timeout=30)  # type: ignore[attr-defined]
    text = fake.messages[-1][1]  # type: ignore[attr-defined]
    assert "exited unexpectedly (exit code 9)" in text and "Segmentation fault (stub)" in text and "Nuke is unaffected" in text
    assert node[knobs.STATUS_KNOB].value().startswith("failed: ")
    assert not runner.is_running(node.fullName())
    # The next action starts a fresh (real) worker and works.
    monkeypatch.setenv("INKPAINT_WORKER", sys.executable)
    fake.press(node["track"])  # type: ignore[attr-defined]
    fake.run_until(lambda: node[knobs.STATUS_KNOB].value().startswith("tracked"), timeout=60)  # type: ignore[attr-defined]


def test_worker_crash_in_terminal_mode_raises(fake: object, clip: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    _use_stub(monkeypatch, "crash")
    node = _node(clip)
    with pytest.raises(runner.InkpaintNukeError, match="exit code 9"):
        roto_node.track(node)


def test_worker_that_cannot_start_names_the_command_and_its_error(fake: object, clip: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    _use_stub(monkeypatch, "no_ready")
    node = _node(clip)
    with pytest.raises(runner.InkpaintNukeError, match="(?s)exited before it was ready.*No module named 'OpenImageIO'"):
        roto_node.track(node)
    monkeypatch.setenv("INKPAINT_WORKER", "/nonexistent/python3")
    with pytest.raises(runner.InkpaintNukeError, match="cannot start the inkpaint worker"):
        roto_node.track(node)


def test_cancel_from_the_progress_bar(fake: object, clip: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    fake.reset(gui=True)  # type: ignore[attr-defined]
    _use_stub(monkeypatch, "slow")
    node = _node(clip)
    fake.press(node["track"])  # type: ignore[attr-defined]
    fake.run_until(lambda: bool(fake.tasks) and bool(fake.tasks[-1].messages), timeout=30)  # type: ignore[attr-defined]
    fake.cancel_tasks()  # type: ignore[attr-defined]
    fake.run_until(lambda: bool(fake.messages), timeout=30)  # type: ignore[attr-defined]
    assert "cancelled" in fake.messages[-1][1]  # type: ignore[attr-defined]
    assert node[knobs.STATUS_KNOB].value().startswith("cancelled")
    assert fake.tasks[-1].progress < 100  # type: ignore[attr-defined]


def test_cancel_with_the_real_worker_keeps_frames_and_a_rerun_resumes(fake: object, clip: dict[str, object]) -> None:
    fake.reset(gui=True)  # type: ignore[attr-defined]
    node = _node(clip)
    fake.press(node["track"])  # type: ignore[attr-defined]
    fake.run_until(lambda: bool(fake.tasks), timeout=30)  # type: ignore[attr-defined]
    fake.cancel_tasks()  # type: ignore[attr-defined]
    fake.run_until(lambda: not runner.is_running(node.fullName()), timeout=60)  # type: ignore[attr-defined]
    fake.process_events()  # type: ignore[attr-defined]
    status = node[knobs.STATUS_KNOB].value()
    assert status.startswith("cancelled"), status
    # Terminal-mode rerun of the same job resumes and completes.
    nuke.env["gui"] = False
    plan = roto_node.track(node)
    assert node[knobs.STATUS_KNOB].value().startswith("tracked")
    assert all(Path(plan.mattes.replace("####", f"{f:04d}")).is_file() for f in range(1, 5))


def test_worker_of_another_protocol_version_is_refused_clearly(fake: object, clip: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    _use_stub(monkeypatch, "slow")
    monkeypatch.setenv("STUB_PROTOCOL", "99")
    node = _node(clip)
    with pytest.raises(runner.InkpaintNukeError, match=r"(?s)speaks worker protocol 99.*protocol 1.*same inkpaint version"):
        roto_node.track(node)
