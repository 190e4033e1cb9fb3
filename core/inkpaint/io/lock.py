"""Exclusive locks on output sequences, so two jobs never write the same frames at once.

A lock is a small JSON file (next to the sequence's manifest: ``roto/shot.inkpaint.lock``) holding the owner's host,
pid, job hash and type, the pattern and the start time. It is created with ``O_CREAT | O_EXCL``, which is atomic on
local file systems and on NFS v3 and later, so of two jobs starting together exactly one gets it; the other fails at
once with an :class:`~inkpaint.errors.OutputLockedError` naming the running job.

Stale locks (a job killed with SIGKILL, a machine that died) are taken over:

- same host, and the owner's pid is no longer running: stale at once;
- another host: stale when the file's mtime is older than ``$INKPAINT_LOCK_STALE_S`` seconds (default 600). A
  running job refreshes the mtime of its locks every ``$INKPAINT_LOCK_HEARTBEAT_S`` seconds (default 30) from a
  background thread, so a live job's lock never ages, whatever its length.

Taking over is race-safe: the stale file is renamed to a unique name first (only one taker can), and put back with
``link`` (which fails if a new lock exists) when it turns out not to be the one judged stale.

Farm chunks of one job (``limit`` set by the caller: ``shared=True``) may hold the same sequence together: a chunk
joining a live lock of the same job hash does not own the file but keeps it alive, and re-creates it if the owner
finishes first.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import socket
import threading
import time
import uuid
from typing import Any

from ..errors import OutputLockedError

log = logging.getLogger("inkpaint")

STALE_ENV = "INKPAINT_LOCK_STALE_S"
HEARTBEAT_ENV = "INKPAINT_LOCK_HEARTBEAT_S"
DEFAULT_STALE_S = 600.0
DEFAULT_HEARTBEAT_S = 30.0


def _env_seconds(name: str, default: float) -> float:
    try:
        return max(0.05, float(os.environ.get(name, "") or default))
    except ValueError:
        return default


def stale_after() -> float:
    """Seconds without a heartbeat after which another host's lock is stale."""
    return _env_seconds(STALE_ENV, DEFAULT_STALE_S)


def heartbeat_every() -> float:
    """Seconds between refreshes of a held lock's mtime."""
    return _env_seconds(HEARTBEAT_ENV, DEFAULT_HEARTBEAT_S)


HOST = socket.gethostname()


@dataclasses.dataclass
class HeldLock:
    """A lock this process holds (or shares, as a farm chunk of the same job).

    Attributes:
        path: the lock file.
        info: what it holds (``host``, ``pid``, ``job_hash``, ``job_type``, ``pattern``, ``started``, ``token``).
        owner: this process created the file (and removes it on release).
        scope: the run holding it (``None``: held by the process until it exits).
    """

    path: str
    info: dict[str, Any]
    owner: bool
    scope: object | None


_HELD: dict[str, HeldLock] = {}
_MUTEX = threading.RLock()
_BEAT: threading.Thread | None = None
_STOP = threading.Event()


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return True
    return True


def _read(path: str) -> tuple[dict[str, Any] | None, float]:
    """The lock's content (``None`` when unreadable or half-written) and its mtime; ``FileNotFoundError`` passes."""
    st = os.stat(path)
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.loads(fh.read(1 << 16))
        return (data if isinstance(data, dict) else None), st.st_mtime
    except FileNotFoundError:
        raise
    except (OSError, ValueError):
        return None, st.st_mtime


def describe(info: dict[str, Any] | None) -> str:
    """``roto job 1a2b3c4d5e6f (pid 4242 on host farm07, since 2026-12-07 02:30:11 UTC)``."""
    if not info:
        return "another job (its lock file is unreadable)"
    started = info.get("started")
    since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(float(started))) if isinstance(started, (int, float)) else "?"
    kind = f"{info.get('job_type')} job" if info.get("job_type") else "job"
    return f"{kind} {str(info.get('job_hash', '?'))[:16]} (pid {info.get('pid', '?')} on host {info.get('host', '?')}, since {since})"


def _stale(info: dict[str, Any] | None, mtime: float) -> str:
    """Why the lock is stale, ``""`` when it is live."""
    age = time.time() - mtime
    if info is None:
        return f"unreadable for {age:.0f} s" if age > 10 else ""
    if info.get("host") == HOST:
        pid = int(info.get("pid", 0) or 0)
        if pid == os.getpid():
            return ""  # this process: decided by the caller from _HELD
        return "" if _pid_alive(pid) else f"its process {pid} is no longer running"
    limit = stale_after()
    return f"no heartbeat for {age:.0f} s (limit {limit:.0f} s, ${STALE_ENV})" if age > limit else ""


def _create(path: str, info: dict[str, Any]) -> bool:
    """Create the lock file exclusively; ``False`` when it exists."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
    except FileExistsError:
        return False
    try:
        data = (json.dumps(info, indent=1) + "\n").encode()
        if os.write(fd, data) != len(data):
            raise OSError(f"short write to the lock file '{path}'")
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    os.close(fd)
    return True


def _break(path: str, judged: dict[str, Any] | None) -> None:
    """Remove the stale lock ``judged``, unless another process replaced it meanwhile."""
    grave = f"{path}.stale-{uuid.uuid4().hex[:8]}"
    try:
        os.rename(path, grave)
    except FileNotFoundError:
        return  # another taker was first
    try:
        now, _ = _read(grave)
    except FileNotFoundError:
        return
    if judged is not None and (now or {}).get("token") != judged.get("token"):
        with contextlib.suppress(OSError):
            os.link(grave, path)  # not the one judged: put it back (fails when a newer lock exists)
    with contextlib.suppress(OSError):
        os.unlink(grave)


def acquire(path: str, *, job_hash: str, job_type: str = "", pattern: str = "", scope: object | None = None,
            shared: bool = False, what: str = "output") -> HeldLock:
    """Take the lock at ``path`` for a job, or fail naming the job that holds it.

    Re-entrant: a run (``scope``) that holds the lock already gets it again. A lock this process took outside any
    run (``scope=None``, e.g. an operation called directly) is handed over to the next run that asks.

    Args:
        path: the lock file.
        job_hash: the job's hash (recorded; farm chunks of the same hash may share the lock).
        job_type: the job's type, for messages.
        pattern: the output pattern the lock protects, for messages.
        scope: the run holding it (released with :func:`release_scope`); ``None`` holds it until the process exits.
        shared: this is one farm chunk of the job: a live lock of the same job hash held by another chunk is shared.
        what: the output named in the error (``"output"``, ``"--out"`` ...).

    Raises:
        OutputLockedError: another live job holds it (names the job, its host and pid, and the lock file).
    """
    info = {"host": HOST, "pid": os.getpid(), "job_hash": job_hash, "job_type": job_type, "pattern": pattern,
            "started": time.time(), "token": uuid.uuid4().hex, "shared": bool(shared)}
    with _MUTEX:
        held = _HELD.get(path)
        if held is not None:
            if held.scope is scope or held.scope is None:
                held.scope = scope
                if held.info.get("job_hash") != job_hash and held.owner:
                    held.info.update(job_hash=job_hash, job_type=job_type, pattern=pattern)
                    with contextlib.suppress(OSError):
                        _rewrite(path, held.info)
                return held
            raise OutputLockedError(_locked_message(path, held.info, pattern, what), lock=path)
        for _ in range(50):
            if _create(path, info):
                lock = HeldLock(path, info, True, scope)
                break
            try:
                other, mtime = _read(path)
            except FileNotFoundError:
                continue
            if other is not None and other.get("host") == HOST and int(other.get("pid", 0) or 0) == os.getpid():
                reason = "left by this process"
            else:
                reason = _stale(other, mtime)
            if reason:
                log.warning("taking over the stale lock '%s' of %s: %s", path, describe(other), reason)
                _break(path, other)
                continue
            if other is None:
                time.sleep(0.02)  # being written right now
                continue
            if shared and other.get("shared") and other.get("job_hash") == job_hash:
                lock = HeldLock(path, other, False, scope)
                log.info("sharing the lock '%s' with another chunk of this job: %s", path, describe(other))
                break
            raise OutputLockedError(_locked_message(path, other, pattern, what), lock=path)
        else:  # a lock file that stays empty: a job starting right now, or one killed while taking it
            raise OutputLockedError(
                f"cannot take the lock '{path}': it is empty or unreadable (another job is starting, or one was killed "
                "while taking it; such a lock is taken over once it is 10 s old)", lock=path)
        _HELD[path] = lock
        _start_heartbeat()
        return lock


def _rewrite(path: str, info: dict[str, Any]) -> None:
    tmp = f"{path}.{uuid.uuid4().hex[:8]}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(info, indent=1) + "\n")
    os.replace(tmp, path)


def _locked_message(path: str, other: dict[str, Any] | None, pattern: str, what: str) -> str:
    target = f"'{pattern}'" if pattern else "these outputs"
    return (f"{what} {target} is being written by another job right now: {describe(other)}; lock file '{path}'. "
            "Wait for it to finish or stop it, or write somewhere else. (A lock left by a killed job is taken over "
            f"by the next run: at once on the same host, after ${STALE_ENV} = {stale_after():.0f} s without a "
            "heartbeat from another host.)")


def release(lock: HeldLock) -> None:
    """Give the lock up: the file is removed when this process created it and it is still its own."""
    with _MUTEX:
        if _HELD.get(lock.path) is lock:
            del _HELD[lock.path]
        if not lock.owner:
            return
        try:
            now, _ = _read(lock.path)
        except FileNotFoundError:
            return
        if now is not None and now.get("token") == lock.info.get("token"):
            with contextlib.suppress(OSError):
                os.unlink(lock.path)


def release_scope(scope: object) -> None:
    """Release every lock ``scope`` holds."""
    with _MUTEX:
        mine = [lk for lk in _HELD.values() if lk.scope is scope]
    for lk in mine:
        release(lk)


def release_all() -> None:
    """Release every lock of this process (at exit)."""
    with _MUTEX:
        held = list(_HELD.values())
    for lk in held:
        release(lk)


def _beat() -> None:
    while not _STOP.wait(heartbeat_every()):
        with _MUTEX:
            held = list(_HELD.values())
        for lk in held:
            try:
                if lk.owner:
                    os.utime(lk.path)
                else:  # sharing another chunk's lock: keep it alive, take it when that chunk is done
                    try:
                        os.utime(lk.path)
                    except FileNotFoundError:
                        info = {**lk.info, "host": HOST, "pid": os.getpid(), "token": uuid.uuid4().hex, "started": time.time()}
                        if _create(lk.path, info):
                            lk.info, lk.owner = info, True
            except OSError as exc:
                log.debug("lock heartbeat for '%s' failed: %s", lk.path, exc)


def _start_heartbeat() -> None:
    global _BEAT
    if _BEAT is None or not _BEAT.is_alive():
        _BEAT = threading.Thread(target=_beat, name="inkpaint-lock-heartbeat", daemon=True)
        _BEAT.start()


import atexit  # noqa: E402

atexit.register(release_all)

__all__ = ["HeldLock", "acquire", "release", "release_scope", "release_all", "describe", "stale_after", "heartbeat_every"]
