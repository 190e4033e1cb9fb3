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
