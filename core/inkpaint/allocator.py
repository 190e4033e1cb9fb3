"""glibc's allocator set up for frame-by-frame work: freed frame buffers are reused, not unmapped and faulted in again.

Every frame of a pass allocates the same few-MB arrays again (decoded rows, float planes, temporaries). With
glibc's defaults, blocks over its (dynamic) mmap threshold are mmap'd and unmapped on every free, and the heap top is
trimmed back to the OS after 128 kB of free space, so each frame pays page faults to get the same memory back; in a
VM a fault is dear. :func:`tune_allocator` raises the mmap threshold to 32 MB (glibc's maximum on 64-bit) and keeps
up to 1 GB of free heap top (64 MB pad): the cel job's 48-frame 1080p pass then takes ~40 k minor faults instead of
~95 k and ~6-10 % less CPU per frame (docs/benchmarks.md, issue 14 third session). The cost is that freed memory
stays with the process (its peak resident size) until it exits, which suits the CLI, the worker and farm tasks.
So only the processes inkpaint owns call it: ``inkpaint`` / ``python -m inkpaint`` (``cli.main`` run without an
``argv``) and the worker's ``serve`` on the process's own stdio. Jobs run in-process (``run_job``, a host's Python,
a test) leave the caller's allocator as it is.

Process-wide and idempotent. Not glibc (macOS, Windows, musl): nothing is done. ``INKPAINT_MALLOC=system`` leaves the
allocator as it is.
"""

from __future__ import annotations

import ctypes
import os
import sys

MALLOC_ENV = "INKPAINT_MALLOC"

_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3
_SETTINGS = ((_M_MMAP_THRESHOLD, 32 << 20), (_M_TRIM_THRESHOLD, 1 << 30), (_M_TOP_PAD, 64 << 20))

_done: bool | None = None


def tune_allocator() -> bool:
    """Set glibc's mmap threshold, trim threshold and top pad for frame loops (see the module docstring).

    Returns:
        Whether the settings are in effect (``False``: not glibc, or turned off by ``$INKPAINT_MALLOC=system``).
    """
    global _done
    if _done is not None:
        return _done
    _done = False
    if os.environ.get(MALLOC_ENV, "").strip().lower() in ("system", "off", "0") or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    _done = all(mallopt(param, value) == 1 for param, value in _SETTINGS)
    return _done


__all__ = ["MALLOC_ENV", "tune_allocator"]
