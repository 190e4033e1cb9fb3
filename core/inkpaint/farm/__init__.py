"""Render-farm support: Open Job Description job bundles (Deadline Cloud) from saved job specs, the frame-chunk
limit behind ``inkpaint run job.json --frames A-B``, and the farm's ``validate`` step. See ``docs/farm.md``.

:mod:`inkpaint.farm.bundle` uses only the standard library and PyYAML, so hosts can write bundles through
``inkpaint farm bundle`` without importing the engine's numeric modules.
"""

from __future__ import annotations

__all__ = ["bundle", "limit", "validate"]
