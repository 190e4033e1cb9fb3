"""Summarise the inkpaint checks per job (``context.data["inkpaintReport"]``), optionally as a JSON file."""

from __future__ import annotations

import json
import os
import sys

try:
    import inkpaint_pyblish  # noqa: F401
except ImportError:  # loaded from PYBLISHPLUGINPATH without pyblish_plugins/ on sys.path
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import pyblish.api

from inkpaint_pyblish import lib


class ReportInkpaint(pyblish.api.ContextPlugin):
    """After the validators: one entry per collected inkpaint job with every check's outcome and message.

    ``context.data["inkpaintReport"]`` = ``{"ok": bool, "errors": [{"check", "error"}], "jobs": [{"manifest", "family", "frames", "ok",
    "checks": [{"check", "ok", "error"}]}]}``. With ``context.data["inkpaintReportPath"]`` or
    ``$INKPAINT_PUBLISH_REPORT`` set, the report is also written there as JSON (atomically; an existing file is
    replaced, it is this publish's report). Logs one line per job.
    """

    order = pyblish.api.ValidatorOrder + 0.49
    label = "inkpaint: report"

    def process(self, context: pyblish.api.Context) -> None:
        instances = [i for i in context if lib.BASE_FAMILY in (i.data.get("families") or [])]
        if not instances:
            return
        checks: dict[str, list[dict]] = {str(i.data["manifestPath"]): [] for i in instances}
        errors: list[dict] = []  # context-level failures (e.g. a publish path that does not exist)
        for r in context.data.get("results", []):
            inst = r.get("instance")
            plugin = r.get("plugin")
            if inst is None and plugin is not None and r.get("error") is not None:
                errors.append({"check": getattr(plugin, "label", None) or plugin.__name__, "error": str(r["error"])})
            if inst is None or plugin is None or str(inst.data.get("manifestPath")) not in checks:
                continue
            err = r.get("error")
            checks[str(inst.data["manifestPath"])].append(
                {"check": getattr(plugin, "label", None) or plugin.__name__, "ok": err is None, "error": None if err is None else str(err)}
            )
        jobs = []
        for i in instances:
            mp = str(i.data["manifestPath"])
            ok = all(c["ok"] for c in checks[mp])
            jobs.append({"manifest": mp, "family": i.data.get("family"), "frames": i.data.get("frameRange"), "ok": ok, "checks": checks[mp]})
            failed = [c["check"] for c in checks[mp] if not c["ok"]]
            line = f"{i.data.get('family')} {mp} ({i.data.get('frameRange') or '-'}): " + ("ok" if ok else "FAILED " + ", ".join(failed))
            (self.log.info if ok else self.log.error)(line)
        report = {"ok": not errors and all(j["ok"] for j in jobs), "errors": errors, "jobs": jobs}
        context.data["inkpaintReport"] = report
        target = context.data.get("inkpaintReportPath") or os.environ.get("INKPAINT_PUBLISH_REPORT")
        if target:
            from inkpaint.io.atomic import atomic_write_text

            atomic_write_text(str(target), json.dumps(report, indent=2) + "\n")
            self.log.info("report written to %s", target)
