"""Checkpoints for the sam2 backend: lock file, verification on load, missing files, custom checkpoints, and the
installer's resumable download (against a local HTTP server with Range support)."""

from __future__ import annotations

import http.server
import importlib.util
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from inkpaint import models as M
from inkpaint.errors import CheckpointError

ROOT = Path(__file__).resolve().parents[2]


def _installer():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("inkpaint_install_models", ROOT / "install" / "models.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ----------------------------------------------------------------------------------------------------------------
# Lock file and lookup (no torch needed)


def test_models_dir_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("INKPAINT_MODELS", str(tmp_path / "m"))
    assert M.models_dir() == tmp_path / "m"
    monkeypatch.delenv("INKPAINT_MODELS")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    if M.sys.platform.startswith("linux"):
        assert M.models_dir() == tmp_path / "cache" / "inkpaint" / "models"


def test_official_urls_and_configs() -> None:
    assert M.SAM2_CHECKPOINTS["tiny"].url == "https://dl.fbaipublicfiles.com/segment_anything_2/092824/sam2.1_hiera_tiny.pt"
    assert M.SAM2_CHECKPOINTS["base_plus"].url.endswith("/092824/sam2.1_hiera_base_plus.pt")
    assert M.SAM2_CHECKPOINTS["base_plus"].config == "configs/sam2.1/sam2.1_hiera_b+.yaml"
    assert M.SAM2_CHECKPOINTS["large"].filename == "sam2.1_hiera_large.pt"


def test_missing_checkpoint_names_file_folder_and_command(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError) as exc:
        M.resolve_official("small", tmp_path)
    msg = str(exc.value)
    assert "sam2.1_hiera_small.pt" in msg and str(tmp_path) in msg and "python install/models.py --model small" in msg


def test_lock_records_and_verification(tmp_path: Path) -> None:
    p = tmp_path / "sam2.1_hiera_tiny.pt"
    p.write_bytes(b"0123456789" * 1000)
    with pytest.raises(CheckpointError, match="no size/SHA-256 record"):
        M.resolve_official("tiny", tmp_path)
    rec = M.record_checkpoint(p, "https://example.invalid/x.pt")
    lock = json.loads((tmp_path / M.LOCK_NAME).read_text())
    assert lock["files"]["sam2.1_hiera_tiny.pt"]["sha256"] == rec["sha256"] and rec["size"] == 10000
    assert M.resolve_official("tiny", tmp_path) == p
    data = bytearray(p.read_bytes())
    data[5000] ^= 1  # same size, different content
    p.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="SHA-256") as exc:
        M.resolve_official("tiny", tmp_path)
    assert str(p) in str(exc.value) and "--model tiny" in str(exc.value)
    p.write_bytes(b"short")
    with pytest.raises(CheckpointError, match="5 bytes but 10000 bytes"):
        M.resolve_official("tiny", tmp_path)
    (tmp_path / M.LOCK_NAME).write_text("{not json")
    with pytest.raises(CheckpointError, match="corrupt"):
        M.resolve_official("tiny", tmp_path)


class _RangeHandler(http.server.BaseHTTPRequestHandler):
    payload = b""
    served: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        rng = self.headers.get("Range")
        data = self.payload
        if rng:
            start = int(rng.split("=")[1].split("-")[0])
            self.served.append(f"range {start}")
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            data = data[start:]
        else:
            self.served.append("full")
            self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def server() -> Iterator[str]:
    _RangeHandler.payload = bytes(range(256)) * 4096  # 1 MiB
    _RangeHandler.served = []
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RangeHandler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/sam2.1_hiera_tiny.pt"
    srv.shutdown()


def test_download_resumes_from_part_file_and_records(server: str, tmp_path: Path) -> None:
    inst = _installer()
    dest = tmp_path / "sam2.1_hiera_tiny.pt"
    part = tmp_path / "sam2.1_hiera_tiny.pt.part"
    part.write_bytes(_RangeHandler.payload[:300_000])  # an interrupted earlier download
    size, sha = inst.download(server, dest)
    assert _RangeHandler.served == ["range 300000"]
    assert dest.read_bytes() == _RangeHandler.payload and not part.exists()
    M.record_checkpoint(dest, server, size_sha=(size, sha))
    M.verify_checkpoint(dest, "tiny")


def test_installer_from_copy_verify_and_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inst = _installer()
    src = tmp_path / "downloads" / "sam2.1_hiera_tiny.pt"
    src.parent.mkdir()
    src.write_bytes(b"weights" * 100)
    folder = tmp_path / "models"
    assert inst.main(["--model", "tiny", "--dir", str(folder), "--from", str(src)]) == 0
    assert M.resolve_official("tiny", folder).read_bytes() == src.read_bytes()
    assert inst.main(["--verify", "--dir", str(folder)]) == 0
    assert "verified" in capsys.readouterr().out
    (folder / "sam2.1_hiera_tiny.pt").write_bytes(b"weightz" * 100)
    assert inst.main(["--verify", "--dir", str(folder)]) == 1
    assert inst.main(["--model", "tiny", "--dir", str(folder), "--from", str(tmp_path / "nope.pt")]) == 2


# ----------------------------------------------------------------------------------------------------------------
# Loading real checkpoints into the real model (torch + sam2)


@pytest.fixture(scope="module")
def tiny_state_dict() -> dict:  # type: ignore[type-arg]
    torch = pytest.importorskip("torch", reason="needs torch (python install/bootstrap.py --with sam2)")
    pytest.importorskip("sam2", reason="needs the sam2 package (python install/bootstrap.py --with sam2)")
    from sam2.build_sam import build_sam2_video_predictor

    torch.manual_seed(123)
    net = build_sam2_video_predictor("configs/sam2.1/sam2.1_hiera_t.yaml", None, device="cpu", hydra_overrides_extra=["++model.image_size=128"])
    return {k: v.clone() for k, v in net.state_dict().items()}


@pytest.mark.sam2
def test_official_checkpoint_loads_verified(tiny_state_dict: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[type-arg]
    import torch

    from inkpaint.backends.sam2_video import create_backend

    monkeypatch.setenv("INKPAINT_MODELS", str(tmp_path))
    p = tmp_path / "sam2.1_hiera_tiny.pt"
    torch.save({"model": tiny_state_dict}, p)
    with pytest.raises(CheckpointError, match="no size/SHA-256 record"):
        create_backend({"model": "tiny", "device": "cpu", "image_size": 128})
    M.record_checkpoint(p)
    b = create_backend({"model": "tiny", "device": "cpu", "image_size": 128})
    key = "sam_mask_decoder.iou_prediction_head.layers.0.weight"
    assert torch.equal(b.net.state_dict()[key], tiny_state_dict[key])
    assert b.model.weights == str(p)
    # Flip one byte near the end (inside the tensor data): same size, refused on the next load.
    data = bytearray(p.read_bytes())
    data[-2000] ^= 0xFF
    p.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="SHA-256"):
        create_backend({"model": "tiny", "device": "cpu", "image_size": 128})
    p.unlink()
    with pytest.raises(CheckpointError, match="install/models.py --model tiny"):
        create_backend({"model": "tiny", "device": "cpu", "image_size": 128})


@pytest.mark.sam2
def test_custom_checkpoint_warns_and_checks_keys(tiny_state_dict: dict, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[type-arg]
    import torch

    from inkpaint.backends.sam2_video import create_backend

    good = tmp_path / "finetuned.pt"
    torch.save({"model": tiny_state_dict}, good)
    with caplog.at_level(logging.WARNING, logger="inkpaint.sam2"):
        b = create_backend({"model": "tiny", "device": "cpu", "image_size": 128, "checkpoint": str(good)})
    assert "no official checksum" in caplog.text
    assert b.model.weights == str(good)

    bad_sd = dict(tiny_state_dict)
    bad_sd.pop("no_mem_embed")
    bad_sd["extra_head.weight"] = torch.zeros(3)
    bad = tmp_path / "bad.pt"
    torch.save({"model": bad_sd}, bad)
    with pytest.raises(CheckpointError) as exc:
        create_backend({"model": "tiny", "device": "cpu", "image_size": 128, "checkpoint": str(bad)})
    msg = str(exc.value)
    assert "missing key(s): no_mem_embed" in msg and "unexpected key(s): extra_head.weight" in msg and "sam2.1_hiera_t.yaml" in msg

    # A small-model checkpoint given with --model tiny: shapes differ.
    wrong = dict(tiny_state_dict)
    wrong["no_mem_embed"] = torch.zeros(1, 1, 7)
    torch.save({"model": wrong}, bad)
    with pytest.raises(CheckpointError, match="another shape: no_mem_embed"):
        create_backend({"model": "tiny", "device": "cpu", "image_size": 128, "checkpoint": str(bad)})

    # Not loadable weights-only (pickled objects): refused, never unpickled.
    evil = tmp_path / "evil.pt"
    torch.save({"model": tiny_state_dict, "hook": _RangeHandler}, evil)
    with pytest.raises(CheckpointError, match="weights only"):
        create_backend({"model": "tiny", "device": "cpu", "image_size": 128, "checkpoint": str(evil)})
    with pytest.raises(CheckpointError, match="does not exist"):
        create_backend({"model": "tiny", "device": "cpu", "checkpoint": str(tmp_path / "nope.pt")})
