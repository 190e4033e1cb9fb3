"""inkpaint.allocator: glibc tuned for frame loops once per process, skipped when turned off."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest


@pytest.mark.parametrize("env, expected", [("", "True"), ("system", "False")])
def test_tune_allocator_in_a_fresh_process(env: str, expected: str) -> None:
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        pytest.skip("glibc only")
    code = "from inkpaint.allocator import tune_allocator as t; a = t(); print(a, t() == a)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={"INKPAINT_MALLOC": env, "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [expected, "True"]


def test_only_processes_inkpaint_owns_tune_the_allocator() -> None:
    """The CLI entry point tunes glibc; an in-process `cli.main([...])` (a host's Python, a test) does not."""
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        pytest.skip("glibc only")
    code = (
        "import sys, inkpaint.allocator as a, inkpaint.cli as c\n"
        "c.main([])\n"
        "print('in-process', a._done)\n"
        "sys.argv = ['inkpaint']\n"
        "c.main()\n"
        "print('entry', a._done)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={"PATH": "/usr/bin:/bin"})
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith(("in-process", "entry"))]
    assert lines == ["in-process None", "entry True"], (out.stdout, out.stderr)
