"""Plugin settings: which worker runs the engine, and where results are cached.

Sources, first found wins for each setting:

1. environment variables ``INKPAINT_WORKER`` and ``INKPAINT_NUKE_CACHE``;
2. a preferences JSON file: ``$INKPAINT_NUKE_PREFS``, else ``~/.nuke/inkpaint_prefs.json``::

       {"worker": "/opt/inkpaint/.venv/bin/python", "cache_dir": "/jobs/show/inkpaint_cache"}

3. defaults: an ``inkpaint`` executable found on ``PATH``; the cache in ``~/.cache/inkpaint/nuke``.

``worker`` may be a Python interpreter (runs ``python -m inkpaint.cli worker``), an ``inkpaint`` executable (runs
``inkpaint worker``) or a whole command line (split like a shell would). Nuke never imports the engine: the worker
runs in its own process with its own Python, so torch and OpenImageIO never load into Nuke.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from typing import Any

from ._contract import client as _client
from ._contract import jobs as _jobs

_protocol = _jobs.protocol

PREFS_ENV = "INKPAINT_NUKE_PREFS"
WORKER_ENV = _protocol.WORKER_ENV
CACHE_ENV = "INKPAINT_NUKE_CACHE"


class SettingsError(Exception):
    """The settings are missing or malformed; the message says what to set."""


def prefs_path() -> str:
    """Where the preferences JSON lives."""
    return os.environ.get(PREFS_ENV) or os.path.join(os.path.expanduser("~"), ".nuke", "inkpaint_prefs.json")


def load_prefs() -> dict[str, Any]:
    """The preferences file as a dict (empty when there is none).

    Raises:
        SettingsError: the file exists but is not a JSON object.
    """
    path = prefs_path()
    if not os.path.isfile(path):
        return {}
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError) as exc:
        raise SettingsError(f"cannot read inkpaint preferences '{path}': {exc}") from exc
    if not isinstance(data, dict):
        raise SettingsError(f"inkpaint preferences '{path}' must hold a JSON object, e.g. {{\"worker\": \"...\"}}")
    return data


def worker_command_from(value: str) -> list[str]:
    """Turn a ``worker`` setting into the command that starts the worker (:func:`inkpaint.jobs.client.worker_command`).

    Examples:
        ``/venv/bin/python`` -> ``[/venv/bin/python, -m, inkpaint.cli, worker]``;
        ``/venv/bin/inkpaint`` -> ``[/venv/bin/inkpaint, worker]``;
        ``ssh render1 inkpaint worker`` -> split as a shell would.
    """
    if not value.strip():
        raise SettingsError(f"the inkpaint worker setting is empty; set {WORKER_ENV} or \"worker\" in {prefs_path()}")
    return _client.worker_command(value)


@dataclasses.dataclass
class Settings:
    """Resolved plugin settings.

    Attributes:
        worker_command: the command that starts ``inkpaint worker``.
        cache_dir: root folder of cached results (per node and job key below it).
        source: where the worker setting came from (for messages).
    """

    worker_command: list[str]
    cache_dir: str
    source: str


def load_settings() -> Settings:
    """Resolve the settings (see module docstring).

    Raises:
        SettingsError: no worker can be found, saying how to configure one.
    """
    prefs = load_prefs()
    worker = os.environ.get(WORKER_ENV)
    source = f"${WORKER_ENV}"
    if not worker:
        for old in _protocol.WORKER_ENV_DEPRECATED:
            if os.environ.get(old):
                worker, source = os.environ[old], f"${old} (deprecated: use ${WORKER_ENV})"
                break
    if not worker and prefs.get("worker"):
        worker, source = str(prefs["worker"]), prefs_path()
    if not worker:
        found = shutil.which("inkpaint")
        if found:
            worker, source = found, "PATH"
    if not worker:
        raise SettingsError(
            "no inkpaint worker configured. Point it at the Python of inkpaint's venv: set the environment "
            f"variable {WORKER_ENV}=/path/to/inkpaint/.venv/bin/python, or write "
            f"{{\"worker\": \"/path/to/inkpaint/.venv/bin/python\"}} into {prefs_path()}"
        )
    cache = os.environ.get(CACHE_ENV) or prefs.get("cache_dir") or os.path.join(os.path.expanduser("~"), ".cache", "inkpaint", "nuke")
    return Settings(worker_command_from(worker), os.path.abspath(os.path.expanduser(str(cache))), source)


def worker_environment() -> dict[str, str]:
    """The environment the worker starts with: Nuke's, minus the variables that would point its Python at Nuke's
    own interpreter and libraries (``PYTHONHOME``, ``PYTHONPATH``, ``PYTHONSTARTUP``)."""
    return _client.worker_environment()
