"""Atomic file writes: write a temp file in the destination folder, fsync, then rename into place."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from ..errors import OutputError

TEMP_MARK = ".inkpaint-tmp"
"""Infix of temporary files, so stale ones left by a killed process are recognisable and ignored."""

_TEMP_RX = re.compile(r"^\.(?P<stem>.+)\.[A-Za-z0-9_]+" + re.escape(TEMP_MARK) + r"(?P<ext>(\.[^.]*)?)$")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()
"""Mode of finished files: what ``open()`` would give (``mkstemp`` makes 0600 files, too strict for a farm)."""


def temp_target(name: str) -> str | None:
    """The file name a temp file of :func:`atomic_path` was going to become, or ``None`` if ``name`` isn't one.

    ``.shot.1001.k3j_x9ab.inkpaint-tmp.exr`` -> ``shot.1001.exr``.
    """
    m = _TEMP_RX.match(name)
    if not m:
        return None
    return m.group("stem") + m.group("ext")


def remove_stale_temps(folder: Path, owns: Callable[[str], bool]) -> list[Path]:
    """Delete temp files in ``folder`` left by a killed writer, for destinations ``owns(name)`` accepts.

    Only temp files whose destination belongs to the caller are touched, so a job never removes the temp files of
    another job writing other frames into the same folder. Returns the files removed.
    """
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for entry in os.scandir(folder):
        if TEMP_MARK not in entry.name or not entry.is_file(follow_symlinks=False):
            continue
        target = temp_target(entry.name)
        if target is not None and owns(target):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def ensure_writable_dir(folder: Path) -> None:
    """Create ``folder`` if needed and check it is writable.

    Raises:
        OutputError: naming the folder, when it cannot be created or written.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create output folder '{folder}': {exc.strerror or exc}") from exc
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"output folder '{folder}' is not writable")


_DISK_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
LOW_SPACE = 1 << 20
"""Free bytes under which a failed write is reported as a full disk (a writer library's own error often hides
``ENOSPC``)."""


def _probe(tmp: str | os.PathLike[str]) -> OSError | None:
    """Append 64 KiB to the (doomed) temp file and sync: the ``OSError`` that raises says why writes fail, when a
    writer library's message does not (``ENOSPC``, ``EDQUOT``, ``EFBIG``)."""
    try:
        with open(tmp, "ab") as fh:
            fh.write(b"\0" * (64 << 10))
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        return exc
    return None


def describe_failure(path: str | os.PathLike[str], detail: str | BaseException = "", *,
                     probe: str | os.PathLike[str] | None = None) -> str:
    """The message for a write of ``path`` that failed: names the file and says when the disk is full.

    Args:
        path: the destination the caller was writing (not the temp file).
        detail: the library's error text or the ``OSError`` raised.
        probe: the temp file that was being written (about to be removed): when ``detail`` carries no errno, a
            write to it finds out whether the disk is full.
    """
    if probe is not None and not isinstance(detail, OSError):
        found = _probe(probe)
        if found is not None and found.errno is not None and found.errno in (*_DISK_FULL, errno.EFBIG):
            detail = OSError(found.errno, os.strerror(found.errno) + (f"; {detail}" if detail else ""))
    code = detail.errno if isinstance(detail, OSError) else None
    text = (detail.strerror or str(detail)) if isinstance(detail, OSError) else str(detail)
    low = text.lower()
    if code in _DISK_FULL or "no space left" in low or "disk quota" in low:
        why = "no space left on device: the disk is full (or over quota)"
    elif code == errno.EFBIG or "file too large" in low:
        why = "the file is too large for the file system or the process's file-size limit (the disk is full for it)"
    else:
        try:
            free = shutil.disk_usage(os.path.dirname(os.path.abspath(path)) or ".").free
        except OSError:
            free = None
        if free is not None and free < LOW_SPACE:
            why = f"the disk is full ({free} bytes free)" + (f"; {text}" if text else "")
        elif code in (errno.EACCES, errno.EPERM, errno.EROFS):
            why = f"permission denied ({text})"
        else:
            why = text or "the writer reported a failure"
    return f"cannot write '{path}': {why}"


@contextlib.contextmanager
def atomic_path(
    dest: str | os.PathLike[str],
    *,
    verify: Callable[[Path], object] | None = None,
    expect_size: int | None = None,
) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; on success it is checked, synced and renamed onto ``dest``.

    The temp name keeps ``dest``'s extension so format-by-extension writers (OIIO) pick the right format.
    On any exception the temp file is removed and ``dest`` is untouched. The finished file gets the usual
    permissions (``0666`` less the umask). Temp names look like ``.<dest stem>.<random>.inkpaint-tmp<dest ext>``;
    :func:`remove_stale_temps` finds the ones a killed process left behind.

    Nothing is renamed that was not finished: the temp file must be non-empty (exactly ``expect_size`` bytes when
    given), pass ``verify`` (a callable returning something false, with a ``reason`` attribute, for an incomplete
    file: :func:`inkpaint.io.verify.frame_is_complete`), and be synced to disk.

    Raises:
        OutputError: naming ``dest``, when any step fails (a full disk is said to be one); ``OSError`` from the
            body is turned into this too.
    """
    dest = Path(dest)
    ensure_writable_dir(dest.parent)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.stem}.", suffix=f"{TEMP_MARK}{dest.suffix}", dir=dest.parent)
        os.close(fd)
    except OSError as exc:
        raise OutputError(describe_failure(dest, exc)) from exc
    tmp_path = Path(tmp)
    try:
        try:
            yield tmp_path
            size = os.path.getsize(tmp_path)
            if expect_size is not None and size != expect_size:
                raise OutputError(describe_failure(dest, f"{size} of {expect_size} bytes were written", probe=tmp_path))
            if size == 0 and expect_size != 0:
                raise OutputError(describe_failure(dest, "the file came out empty", probe=tmp_path))
            with open(tmp_path, "rb+") as fh:
                os.fsync(fh.fileno())
            if verify is not None:
                check = verify(tmp_path)
                if not check:
                    raise OutputError(describe_failure(dest, f"the written file is incomplete ({getattr(check, 'reason', '') or 'failed its check'})", probe=tmp_path))
            os.chmod(tmp_path, _FILE_MODE)
            os.replace(tmp_path, dest)
        except OSError as exc:
            raise OutputError(describe_failure(dest, exc)) from exc
    except BaseException:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        raise


def atomic_write_bytes(dest: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``dest`` atomically."""
    with atomic_path(dest, expect_size=len(data)) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()


def atomic_write_text(dest: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``dest`` atomically."""
    atomic_write_bytes(dest, text.encode("utf-8"))
