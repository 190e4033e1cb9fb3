"""The one worker client (inkpaint.jobs.client) both hosts use: against the real worker and a misbehaving stub."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest

from inkpaint.jobs import client
from inkpaint.jobs.protocol import PROTOCOL_VERSION

ROOT = Path(__file__).resolve().parent.parent.parent
STUB = ROOT / "tests" / "nuke" / "stub_worker.py"


def stub(monkeypatch: pytest.MonkeyPatch, mode: str, protocol: int = PROTOCOL_VERSION) -> list[str]:
    monkeypatch.setenv("STUB_MODE", mode)
    monkeypatch.setenv("STUB_PROTOCOL", str(protocol))
    return [sys.executable, str(STUB)]


def test_both_hosts_use_this_client() -> None:
    for p in (str(ROOT / "nuke_plugin"), str(ROOT / "tests" / "nuke" / "fake_nuke")):
        if p not in sys.path:
            sys.path.insert(0, p)
    from inkpaint_nuke import worker_client as nuke_wc

    assert nuke_wc.WorkerClient is client.WorkerClient and nuke_wc.WorkerError is client.WorkerError
    text = (ROOT / "blender_addon" / "worker_client.py").read_text()
    assert "from ._contract import client as _client" in text and "subprocess" not in text
    assert "class WorkerClient(_client.WorkerClient)" in text


def test_real_worker_runs_a_job_and_reports_field_errors(tmp_path: Path) -> None:
    c = client.WorkerClient([sys.executable, "-m", "inkpaint.cli", "worker"], id_prefix="t").start()
    try:
        assert c.info["protocol"] == PROTOCOL_VERSION
        req = c.request("run", job={"type": "ink", "mattes": "m.####.exr", "output": "o.####.exr", "width": -1})
        with pytest.raises(client.WorkerError, match="width: must be > 0"):
            req.wait(timeout=60)
    finally:
        c.close()


def test_protocol_mismatch_is_refused_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    cmd = stub(monkeypatch, "slow", protocol=PROTOCOL_VERSION + 1)
    with pytest.raises(client.WorkerError, match=rf"speaks worker protocol {PROTOCOL_VERSION + 1}.*protocol {PROTOCOL_VERSION}"):
        client.WorkerClient(cmd).start()


@pytest.mark.parametrize("per_request", [True, False])
def test_a_dying_worker_ends_the_request_with_crashed(monkeypatch: pytest.MonkeyPatch, per_request: bool) -> None:
    c = client.WorkerClient(stub(monkeypatch, "crash"), per_request=per_request).start()
    try:
        if per_request:
            with pytest.raises(client.WorkerCrashed, match=r"(?s)exit code 9.*Segmentation fault \(stub\)"):
                c.request("run", job={}).wait(timeout=30)
        else:
            with pytest.raises(client.WorkerCrashed, match="exit code 9"):
                client.run_sync(c, "run", {"job": {}})
    finally:
        c.close(kill=True)


def test_one_queue_mode_cancel(monkeypatch: pytest.MonkeyPatch) -> None:
    c = client.WorkerClient(stub(monkeypatch, "slow"), per_request=False).start()
    try:
        calls = []
        with pytest.raises(client.WorkerCancelled):
            client.run_sync(c, "run", {"job": {}}, on_event=calls.append, should_cancel=lambda: len(calls) > 3)
    finally:
        c.close()


def test_worker_variable_and_its_deprecated_alias(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INKPAINT_WORKER", "/a/python")
    monkeypatch.setenv("INKPAINT_WORKER_PYTHON", "/b/python")
    assert client.find_worker("") == ("/a/python", "$INKPAINT_WORKER")
    assert client.find_worker("/c/python", where="prefs") == ("/c/python", "prefs")
    monkeypatch.delenv("INKPAINT_WORKER")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value, source = client.find_worker("")
    assert value == "/b/python" and "deprecated" in source and caught and caught[0].category is DeprecationWarning
    monkeypatch.delenv("INKPAINT_WORKER_PYTHON")
    monkeypatch.setenv("PATH", "")
    with pytest.raises(client.WorkerError, match="INKPAINT_WORKER"):
        client.find_worker("")


def test_worker_command_forms() -> None:
    assert client.worker_command("/venv/bin/python") == ["/venv/bin/python", "-m", "inkpaint.cli", "worker"]
    assert client.worker_command("/venv/bin/inkpaint", "-v") == ["/venv/bin/inkpaint", "-v", "worker"]
    assert client.worker_command("ssh r1 inkpaint worker") == ["ssh", "r1", "inkpaint", "worker"]
    env = client.worker_environment({"X": "1"})
    assert "PYTHONPATH" not in env and env["X"] == "1" and env["PYTHONUNBUFFERED"] == "1"


