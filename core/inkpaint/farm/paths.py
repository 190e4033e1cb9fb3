"""Job-spec paths that survive moving a shot folder (stdlib only; used by the job hash, manifests and bundles).

Farms and show archives move whole shot folders. A job spec names its files by absolute path, so anything keyed on
those strings (the job hash frames carry, the paths a manifest records) breaks when the folder moves. The fix is to
key on what does not move:

- the **shot root** of a job is the deepest folder holding all its paths and its primary output folder (``output``'s
  folder, or ``out_dir``): ``/shows/x/sh010`` for a plate in ``/shows/x/sh010/plate``, a design sheet in
  ``/shows/x/sh010`` and cels in ``/shows/x/sh010/cel``. When that is only the file-system root (a show-wide
  design sheet in ``/design``), it is the deepest folder holding the main input (``input``, else ``mattes``) and
  the primary output folder;
- a path inside the shot root is kept relative to the **anchor** (the primary output's folder, where the manifest
  lives): ``../plate/sh010.####.exr``; it moves with the shot;
- a path outside it (a show-wide design sheet, a checkpoint) is kept absolute: it did not move.

A job whose input and output share no folder but the file-system root has no shot root; every path stays
absolute (nothing can be said to move together).
"""

from __future__ import annotations

import json
import os
from typing import Any

INPUT_FIELDS = ("input", "mattes", "tones", "ink", "palette", "over", "model", "ocio_config", "image", "mask",
                "segments_json", "checkpoint", "line")
"""Spec fields (at any depth) naming files the job reads (``line``: a paint reference's line art)."""
OUTPUT_FIELDS = ("output", "out_dir", "contours_output", "lines_output", "labels_output", "segments_output", "qc_output")
"""Spec fields naming what the job writes."""
PATH_FIELDS = INPUT_FIELDS + OUTPUT_FIELDS


def path_fields(spec: Any, fields: tuple[str, ...] = PATH_FIELDS, where: str = "") -> list[tuple[str, str]]:
    """``(dotted field, value)`` of every non-empty string under one of ``fields``, at any depth of a spec dict.

    Backend options hold names (``"model": "tiny"``); only their ``checkpoint`` counts as a path.
    """
    out: list[tuple[str, str]] = []
    if isinstance(spec, dict):
        for k, v in spec.items():
            here = f"{where}.{k}" if where else str(k)
            if k in fields and isinstance(v, str) and v and (k == "checkpoint" or not here.startswith("backend_options.")):
                out.append((here, v))
            elif isinstance(v, (dict, list)):
                out.extend(path_fields(v, fields, here))
    elif isinstance(spec, list):
        for i, v in enumerate(spec):
            out.extend(path_fields(v, fields, f"{where}[{i}]"))
    return out


def set_field(spec: Any, dotted: str, value: str) -> None:
    """Set ``spec[dotted]`` for a field path from :func:`path_fields` (``objects[0].prompts[2].mask``)."""
    node = spec
    parts: list[str | int] = []
    for piece in dotted.split("."):
        name, _, rest = piece.partition("[")
        parts.append(name)
        while rest:
            idx, _, rest = rest.partition("]")
            parts.append(int(idx))
            rest = rest.lstrip("[")
    for p in parts[:-1]:
        node = node[p]
    node[parts[-1]] = value


def is_path_like(value: str) -> bool:
    """False for URIs (``ocio://default``) and values starting with an unexpanded ``$VARIABLE``."""
    return "://" not in value and not value.startswith("$")


def absolute(value: str, base_dir: str | None) -> str:
    """``value`` resolved as ``inkpaint run`` resolves it (``~``, ``$VARS``, relative to the spec's folder), normalised."""
    expanded = os.path.expandvars(os.path.expanduser(value))
    return os.path.normpath(os.path.join(base_dir or os.getcwd(), expanded))


def anchor_of(spec: dict[str, Any], base_dir: str | None) -> str | None:
    """The primary output's folder (where the manifest lives): ``output``'s folder, else ``out_dir``."""
    out = spec.get("output")
    if isinstance(out, str) and out:
        return os.path.dirname(absolute(out, base_dir))
    out_dir = spec.get("out_dir")
    if isinstance(out_dir, str) and out_dir:
        return absolute(out_dir, base_dir)
    return None


def shot_root(spec: dict[str, Any], base_dir: str | None) -> str | None:
    """The folder that moves with the shot: the deepest one holding every path of the job (and its anchor); when
    that is only the file-system root (a show-wide design sheet elsewhere), the deepest one holding the main input
    (``input``, else ``mattes``) and the anchor; ``None`` when that too is the root."""
    anchor = anchor_of(spec, base_dir)
    if anchor is None:
        return None
    dirs = [anchor]
    main: str | None = None
    for field, value in path_fields(spec):
        if not is_path_like(value):
            continue
        path = absolute(value, base_dir)
        folder = path if field.rsplit(".", 1)[-1] == "out_dir" else os.path.dirname(path)
        dirs.append(folder)
        if main is None and field in ("input", "mattes"):
            main = folder
    for group in (dirs, [anchor, main] if main else None):
        if not group:
            continue
        try:
            root = os.path.commonpath(group)
        except ValueError:  # different drives
            continue
        if os.path.dirname(root) != root:
            return root
    return None


def inside(path: str, root: str) -> bool:
    try:
        return os.path.commonpath([path, root]) == root
    except ValueError:
        return False


def relocatable(spec: dict[str, Any], base_dir: str | None, anchor: str | None = None) -> dict[str, Any]:
    """A copy of a spec dict whose paths inside the shot root are relative to ``anchor`` (default: the primary
    output's folder) and whose other paths are absolute; see the module docstring. Idempotent, and the same for a
    spec and its moved copy."""
    out = json.loads(json.dumps(spec))
    root = shot_root(spec, base_dir)
    anchor = anchor or anchor_of(spec, base_dir)
    for field, value in path_fields(spec):
        if not is_path_like(value):
            continue
        path = absolute(value, base_dir)
        if root is not None and anchor is not None and inside(path, root):
            set_field(out, field, os.path.relpath(path, anchor))
        else:
            set_field(out, field, path)
    return out


def relocate(path: str, root: str | None, anchor: str) -> str:
    """One absolute output path as a manifest records it: relative to ``anchor`` inside ``root``, else as is."""
    if root is not None and os.path.isabs(path) and inside(os.path.normpath(path), root):
        return os.path.relpath(path, anchor)
    return path


__all__ = ["INPUT_FIELDS", "OUTPUT_FIELDS", "PATH_FIELDS", "path_fields", "set_field", "absolute", "anchor_of",
           "shot_root", "relocatable", "relocate"]


# ----------------------------------------------------------------------------------------------------------------
# OpenJD path mapping (a farm worker sees the submitter's files under other roots)


def load_path_mapping(path: str) -> list[tuple[str, str]]:
    """``(source, destination)`` POSIX rules from an OpenJD path-mapping file (``{{Session.PathMappingRulesFile}}``:
    ``{"version": "pathmapping-1.0", "path_mapping_rules": [{"source_path_format", "source_path",
    "destination_path"}, ...]}``, or the bare list), the most specific source first.

    Raises:
        SpecError: the file cannot be read or is not such a document (naming it).
    """
    from ..errors import SpecError

    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError) as exc:
        raise SpecError("--path-mapping", f"cannot read path mapping rules '{path}': {exc}") from exc
    rules = data.get("path_mapping_rules") if isinstance(data, dict) else data
    if not isinstance(rules, list):
        raise SpecError("--path-mapping", f"'{path}' has no path_mapping_rules list")
    out: list[tuple[str, str]] = []
    for i, r in enumerate(rules):
        if not isinstance(r, dict) or not {"source_path", "destination_path"} <= set(r):
            raise SpecError("--path-mapping", f"'{path}': rule {i} needs source_path and destination_path")
        if str(r.get("source_path_format", "POSIX")).upper() != "POSIX":
            continue  # Windows or URI sources: a job submitted from elsewhere; inkpaint's farm scripts are POSIX
        out.append((os.path.normpath(str(r["source_path"])), str(r["destination_path"])))
    out.sort(key=lambda rule: -len(rule[0].rstrip("/").split("/")))
    return out


def map_path(path: str, rules: list[tuple[str, str]]) -> str:
    """``path`` under the first rule whose source is it or one of its folders (whole components only)."""
    norm = os.path.normpath(path)
    for src, dst in rules:
        if norm == src or norm.startswith(src.rstrip("/") + "/"):
            return dst.rstrip("/") + norm[len(src.rstrip("/")):] if norm != src else dst
    return path


def apply_path_mapping(spec: dict[str, Any], rules: list[tuple[str, str]]) -> dict[str, Any]:
    """A copy of a spec dict with every absolute path field mapped by ``rules``."""
    out = json.loads(json.dumps(spec))
    for field, value in path_fields(spec):
        if is_path_like(value) and os.path.isabs(value):
            set_field(out, field, map_path(value, rules))
    return out
