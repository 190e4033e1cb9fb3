#!/usr/bin/env python3
"""Download Meta's official SAM 2.1 checkpoints into inkpaint's models folder and record their checksums.

    python install/models.py --model tiny                 # one model (tiny, small, base_plus, large)
    python install/models.py --all                        # all four
    python install/models.py --model large --dir /mnt/models
    python install/models.py --model tiny --from ~/Downloads/sam2.1_hiera_tiny.pt   # offline: record a copy
    python install/models.py --verify                     # re-hash everything recorded in the folder
    python install/models.py --list                       # what is there and what is expected

The folder is ``--dir``, else ``$INKPAINT_MODELS``, else the per-user cache (see ``inkpaint.models``). URLs are the
ones in facebookresearch/sam2's ``checkpoints/download_ckpts.sh``. Meta publishes no checksums, so the size and
SHA-256 of what was downloaded are written to ``inkpaint-models.lock.json`` beside the files, and every later load
verifies against them.

Downloads go to ``<file>.part`` and resume from there with an HTTP Range request when interrupted; the finished file
is size-checked against the server's Content-Length, hashed, fsynced and renamed into place, so a checkpoint in the
folder is always whole.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

try:
    from inkpaint import models as M
except ImportError:  # running from a checkout without the package installed
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "core"))
    from inkpaint import models as M

from inkpaint.errors import CheckpointError

CHUNK = 1 << 20


def _progress(name: str, done: int, total: int | None, t0: float) -> None:
    rate = done / max(time.monotonic() - t0, 1e-6) / 1e6
    if total:
        sys.stderr.write(f"\r{name}: {done / 1e6:8.1f} / {total / 1e6:.1f} MB ({100 * done / total:5.1f}%) {rate:6.1f} MB/s")
    else:
        sys.stderr.write(f"\r{name}: {done / 1e6:8.1f} MB {rate:6.1f} MB/s")
    sys.stderr.flush()


def download(url: str, dest: Path, *, retries: int = 5, timeout: float = 60.0) -> tuple[int, str]:
    """Download ``url`` to ``dest`` atomically, resuming ``dest.part`` if present.

    Returns:
        ``(size, sha256)`` of the finished file.

    Raises:
        CheckpointError: the download keeps failing, or its size differs from the server's Content-Length.
    """
    part = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    total: int | None = None
    for attempt in range(1, retries + 1):
        have = part.stat().st_size if part.exists() else 0
        req = urllib.request.Request(url, headers={"User-Agent": "inkpaint-install/1"})
        if have:
            req.add_header("Range", f"bytes={have}-")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                status = getattr(resp, "status", 200)
                length = resp.headers.get("Content-Length")
                if have and status == 206:
                    total = have + int(length) if length else None
                    mode = "ab"
                else:  # server ignored the Range (or a fresh start): start over
                    have = 0
                    total = int(length) if length else None
                    mode = "wb"
                t0 = time.monotonic()
                done = have
                with open(part, mode) as fh:
                    while True:
                        block = resp.read(CHUNK)
                        if not block:
                            break
                        fh.write(block)
                        done += len(block)
                        _progress(dest.name, done, total, t0)
                    fh.flush()
                    os.fsync(fh.fileno())
                sys.stderr.write("\n")
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and have:  # range past the end: the .part is already complete (or bogus)
                total = have
            else:
                if attempt == retries:
                    raise CheckpointError(f"downloading {url} failed: HTTP {exc.code} {exc.reason}") from exc
                print(f"\n{dest.name}: HTTP {exc.code}, retrying ({attempt}/{retries})", file=sys.stderr)
                time.sleep(min(30, 2**attempt))
                continue
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            if attempt == retries:
                raise CheckpointError(
                    f"downloading {url} failed: {getattr(exc, 'reason', exc)}. The partial file '{part}' is kept; "
                    "run the same command again to resume."
                ) from exc
            print(f"\n{dest.name}: {getattr(exc, 'reason', exc)}; resuming ({attempt}/{retries})", file=sys.stderr)
            time.sleep(min(30, 2**attempt))
            continue
        size = part.stat().st_size
        if total is not None and size != total:
            if attempt == retries:
                raise CheckpointError(f"'{part}' is {size} bytes, the server announced {total}; run again to resume")
            continue
        break
    size_sha = M.sha256_file(part)
    os.replace(part, dest)
    return size_sha


def install_model(model: str, folder: Path, source: Path | None, force: bool) -> Path:
    ck = M.official_checkpoint(model)
    dest = folder / ck.filename
    if dest.exists() and not force:
        try:
            M.verify_checkpoint(dest, model)
            print(f"{ck.filename}: already present and verified in {folder}")
            return dest
        except CheckpointError as exc:
            print(f"{ck.filename}: {exc}\n  -> fetching it again", file=sys.stderr)
    if source is not None:
        src = Path(source).expanduser()
        if not src.is_file():
            raise CheckpointError(f"--from '{src}' does not exist")
        if src.resolve() != dest.resolve():
            tmp = dest.with_name(dest.name + ".part")
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, tmp)
            os.replace(tmp, dest)
        entry = M.record_checkpoint(dest, None)
    else:
        print(f"{ck.filename}: downloading {ck.url}")
        size_sha = download(ck.url, dest)
        entry = M.record_checkpoint(dest, ck.url, size_sha=size_sha)
    print(f"{ck.filename}: {entry['size']} bytes, sha256 {entry['sha256']} recorded in {M.lock_path(folder)}")
    return dest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", choices=list(M.SAM2_CHECKPOINTS), help="model to fetch (repeatable)")
    ap.add_argument("--all", action="store_true", help="fetch all four SAM 2.1 checkpoints")
    ap.add_argument("--dir", type=Path, help="models folder (default: $INKPAINT_MODELS, else the per-user cache)")
    ap.add_argument("--from", dest="source", type=Path, help="record a copy of the checkpoint obtained elsewhere (one --model)")
    ap.add_argument("--force", action="store_true", help="download again even if a verified file is present")
    ap.add_argument("--verify", action="store_true", help="re-hash every recorded checkpoint and report")
    ap.add_argument("--list", action="store_true", help="list expected and present checkpoints")
    args = ap.parse_args(argv)
    folder = (args.dir or M.models_dir()).expanduser()
    if args.dir:
        os.environ["INKPAINT_MODELS"] = str(folder)
    try:
        if args.list or args.verify:
            records = M.read_lock(folder)
            bad = 0
            print(f"models folder: {folder}")
            for name, ck in M.SAM2_CHECKPOINTS.items():
                p = folder / ck.filename
                state = "missing"
                if p.exists():
                    state = "present (unrecorded)" if ck.filename not in records else "present"
                    if args.verify and ck.filename in records:
                        try:
                            M.verify_checkpoint(p, name)
                            state = "verified"
                        except CheckpointError as exc:
                            state, bad = f"FAILED: {exc}", bad + 1
                print(f"  {name:<10} {ck.filename:<26} {state}")
            return 1 if bad else 0
        models = list(M.SAM2_CHECKPOINTS) if args.all else (args.model or [])
        if not models:
            ap.error("give --model NAME (repeatable), --all, --verify or --list")
        if args.source and len(models) != 1:
            ap.error("--from records one file: give exactly one --model")
        for m in models:
            install_model(m, folder, args.source, args.force)
    except CheckpointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
