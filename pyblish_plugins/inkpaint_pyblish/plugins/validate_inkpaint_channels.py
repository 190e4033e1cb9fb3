"""Validate that inkpaint's EXR outputs hold the channels their job promises, looked up by name."""

from __future__ import annotations

import os
import sys

try:
    import inkpaint_pyblish  # noqa: F401
except ImportError:  # loaded from PYBLISHPLUGINPATH without pyblish_plugins/ on sys.path
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import pyblish.api

from inkpaint_pyblish import lib


class ValidateInkpaintChannels(pyblish.api.InstancePlugin):
    """Every EXR frame holds its channels by name (OIIO sorts EXR channels on write: positions mean nothing).

    - roto mattes (and a cel job's roto stage): ``<object>.A`` for each object of the spec, the union ``A``, and a
      ``CryptoObject`` layer when ``cryptomatte`` is on;
    - shade: ``tone``;
    - ink: ``ink.A`` and ``ink_hard.A`` (plus ``trace.A`` with tone lines).

    Headers only (no pixels). Missing files are left to the output-frames check.
    """

    order = pyblish.api.ValidatorOrder
    families = ["roto", "shade", "ink", "cel"]
    label = "inkpaint: channels by name"

    def process(self, instance: pyblish.api.Instance) -> None:
        data = instance.data
        if not lib.usable(data):
            return
        job = data["job"]
        outputs = {o.name: o for o in lib.outputs_of(data)}
        wanted: dict[str, list[str]] = {}  # output name -> channels
        crypto: set[str] = set()
        typ = data["jobType"]
        objects = [o.get("name") for o in job.get("objects") or [] if isinstance(o, dict)]
        if typ in ("roto", "cel") and "mattes" in outputs and objects:
            wanted["mattes"] = [f"{n}.A" for n in objects] + ["A"]
            if job.get("cryptomatte"):
                crypto.add("mattes")
        if typ in ("shade", "cel") and "tone" in outputs:
            wanted["tone"] = ["tone"]
        if typ in ("ink", "cel") and "ink" in outputs:
            # tone lines: an ink job given a tone pattern (``tones``), a cel job with ``tone_lines``
            tone_lines = bool(job.get("tones")) if typ == "ink" else bool(job.get("tone_lines"))
            wanted["ink"] = ["ink.A", "ink_hard.A"] + (["trace.A"] if tone_lines else [])
        problems = []
        checked = 0
        for name, channels in wanted.items():
            output = outputs[name]
            if not output.is_exr or output.seq is None:
                continue  # PNG line art / layers carry no named channels
            for frame in data["frames"]:
                path = output.path(frame)
                present = lib.channel_names(data, path, frame)
                if present is None:
                    continue  # reported by the output-frames check
                checked += 1
                missing = lib.channels_missing(present, channels)
                if name in crypto and not any(c.startswith("CryptoObject") for c in present):
                    missing.append("CryptoObject* (cryptomatte is on)")
                if missing:
                    problems.append(
                        f"{name}: {lib.where(path, frame)}: missing channel{'s' if len(missing) > 1 else ''} "
                        f"{', '.join(missing)}; channels present: {', '.join(present) or 'none'}"
                    )
        if problems:
            raise pyblish.api.ValidationError(lib.problem_text(lib.subject(data), problems))
        self.log.info("%d frame header(s) hold their channels", checked)
