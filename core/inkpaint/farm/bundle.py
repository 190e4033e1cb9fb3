"""Deadline Cloud job bundles (Open Job Description ``jobtemplate-2023-09``) from a saved inkpaint job spec.

A bundle is a folder::

    template.yaml            the OpenJD job template (steps, tasks, environment, host requirements)
    parameter_values.yaml    values of the template's job parameters (Deadline Cloud's ``parameterValues`` list)
    job_params.yaml          the same values as a plain map, for ``openjd run --job-param file://job_params.yaml``
    asset_references.yaml    input files/folders and output folders, so a farm with job attachments syncs them
    job.json                 the job spec the tasks run, every path absolute (a farm worker has no "here")

Steps follow what each operation can split (see :func:`plan_steps`): roto is one task per shot (it tracks through
time); shade and cel fit the shot's tone model once in a ``fit`` step and then ``render`` frame chunks
(``CHUNK[INT]`` task parameter, OpenJD's ``TASK_CHUNKING`` extension) that depend on it; ink and finish render
chunks; paint runs one task per keyframe span (:func:`inkpaint.farm.limit.spans_of`); a ``finalize`` step after
chunks or spans runs the whole job once more (every frame is complete, so it only checks them and writes the job's
manifests) and an optional ``validate`` step runs the pyblish
validators. Every task is ``inkpaint run job.json [--frames A-B | --fit-only]``: resumable and idempotent.

Only the standard library and PyYAML are used here; the spec is read as JSON. The engine checks it fully when the
CLI calls :func:`write_bundle` (``inkpaint farm bundle``) and again on the worker when the session starts.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
from pathlib import Path
from typing import Any

import yaml

from ..errors import SpecError
from .paths import INPUT_FIELDS, OUTPUT_FIELDS, path_fields as spec_paths, set_field as _set_path

TEMPLATE_VERSION = "jobtemplate-2023-09"
MAX_CHUNK = 150
"""Deadline Cloud's largest ``chunks.defaultTaskCount``."""
DEFAULT_CHUNK = 10

SEQUENCE_TOKENS = ("#", "@", "%0", "%d")


@dataclasses.dataclass
class Environment:
    """Where the worker finds inkpaint: a venv folder, a conda environment name, or rez package requests.

    Attributes:
        kind: ``"venv"``, ``"conda"``, ``"rez"`` or ``"path"`` (``inkpaint`` already on the worker's PATH).
        value: the venv path, conda environment name or rez request (space-separated packages).
    """

    kind: str = "path"
    value: str = ""


@dataclasses.dataclass
class Step:
    """One OpenJD step as inkpaint plans it (rendered to the template by :func:`step_template`)."""

    name: str
    args: list[str]
    depends_on: list[str] = dataclasses.field(default_factory=list)
    chunked: bool = False
    vcpu: int = 1
    memory_mib: int = 2048
    gpu: bool = False
    description: str = ""
    spans: list[str] | None = None
    """Task values of a ``STRING`` ``Frames`` parameter (one task each: paint's keyframe spans); ``None`` = one task
    over the step's frames (or chunks when ``chunked``)."""


def absolute_spec(spec: dict[str, Any], base_dir: str) -> tuple[dict[str, Any], list[str]]:
    """A copy of ``spec`` with every path absolute, and one message per field rewritten.

    Relative paths resolve against the spec file's folder (as ``inkpaint run`` resolves them) and ``~`` against
    this user's home: neither means the same on a farm worker, so both are rewritten. ``$VARIABLES`` are kept (a
    farm may define them) and URIs (``ocio://...``) are left alone.

    Raises:
        SpecError: an input path that does not exist here (naming the field), since the bundle would send a job
            that cannot run.
    """
    out = json.loads(json.dumps(spec))
    notes: list[str] = []
    for field, value in spec_paths(spec, INPUT_FIELDS + OUTPUT_FIELDS):
        if "://" in value or value.startswith("$"):
            continue
        expanded = os.path.expanduser(value)
        absolute = os.path.normpath(os.path.join(base_dir, expanded))
        if absolute != value:
            if os.path.isabs(value):
                absolute = value  # only normalise relative paths; an absolute one stays as written (hash unchanged)
            else:
                notes.append(f"{field}: relative path {value!r} would not resolve on a farm worker; "
                             f"rewritten to {absolute!r}")
                _set_path(out, field, absolute)
    for field, value in spec_paths(out, INPUT_FIELDS):
        if "://" in value or value.startswith("$") or field.startswith("output_options"):
            continue
        if any(t in os.path.basename(value) for t in SEQUENCE_TOKENS):
            if not os.path.isdir(os.path.dirname(value) or "."):
                raise SpecError(field, f"the folder of {value!r} does not exist here; a farm job needs inputs that exist")
        elif not os.path.exists(value):
            raise SpecError(field, f"{value!r} does not exist here; a farm job needs inputs that exist")
    return out, notes


def _folder(pattern: str) -> str:
    return os.path.dirname(pattern) if any(t in os.path.basename(pattern) for t in SEQUENCE_TOKENS) else pattern


def asset_references(spec: dict[str, Any], job_file: str) -> dict[str, Any]:
    """Deadline Cloud ``asset_references.yaml``: the folders of input sequences, input files, and output folders."""
    dirs: list[str] = []
    files: list[str] = [job_file]
    for _field, value in spec_paths(spec, INPUT_FIELDS):
        if "://" in value or value.startswith("$"):
            continue
        if any(t in os.path.basename(value) for t in SEQUENCE_TOKENS):
            dirs.append(os.path.dirname(value))
        elif os.path.isdir(value):
            dirs.append(value)
        else:
            files.append(value)
    outs: list[str] = []
    for field, value in spec_paths(spec, OUTPUT_FIELDS):
        if value.startswith("$"):
            continue
        outs.append(value if field.endswith("out_dir") else os.path.dirname(value))
    dedup = lambda xs: sorted(dict.fromkeys(x for x in xs if x))  # noqa: E731
    outputs = dedup(outs)
    inputs_dirs = [d for d in dedup(dirs) if d not in outputs]
    return {"assetReferences": {
        "inputs": {"directories": inputs_dirs, "filenames": dedup(files)},
        "outputs": {"directories": outputs},
        "referencedPaths": [],
    }}


def plan_steps(spec: dict[str, Any], chunked: bool, validate: bool, partial: bool = False,
               spans: list[str] | None = None) -> list[Step]:
    """The steps for a job: what it can split, in dependency order (see the module docstring). ``partial``: only
    some of the job's frames are rendered, so there is no ``finalize`` (it would render the rest). ``spans``: a paint
    job's keyframe spans as OpenJD range expressions, one task each (one span, or ``None``: one task)."""
    typ = spec.get("type")
    gpu = False
    roto_cpu = 2
    if spec.get("backend") == "sam2":
        device = str((spec.get("backend_options") or {}).get("device", "cuda"))
        gpu = device.startswith("cuda")
    steps: list[Step] = []
    run = ["run", "{{Param.JobSpec}}", "-q"]
    if typ == "roto":
        steps.append(Step("roto", run, vcpu=roto_cpu, memory_mib=8192 if gpu else 4096, gpu=gpu,
                          description="track every object through the whole shot (temporal: one task per shot)"))
    elif typ == "paint" and (len(spans or []) > 1 or partial):
        steps.append(Step("paint", run + ["--frames", "{{Task.Param.Frames}}"], vcpu=2, memory_mib=4096, spans=spans,
                          description="propagate one keyframe's colours along its span (one task per span; "
                                      "skips complete frames)"))
        if not partial:
            steps.append(Step("finalize", run, depends_on=["paint"], vcpu=1, memory_mib=2048,
                              description="check every frame is complete (propagates nothing) and write the job's "
                                          "manifest and summary"))
    elif typ == "paint":
        steps.append(Step("paint", run, vcpu=2, memory_mib=4096,
                          description="propagate the keyframe's colours along the shot (one keyframe: one task)"))
    elif typ in ("shade", "cel", "ink", "finish"):
        last: list[str] = []
        if typ == "cel" and not spec.get("mattes"):
            steps.append(Step("fit", run + ["--fit-only"], vcpu=roto_cpu, memory_mib=8192 if gpu else 4096, gpu=gpu,
                              description="roto the whole shot (temporal), then fit the shot's tone model once"))
            last = ["fit"]
        elif typ in ("shade", "cel"):
            steps.append(Step("fit", run + ["--fit-only"], vcpu=2, memory_mib=4096,
                              description="fit the shot's tone model once (render chunks reuse it)"))
            last = ["fit"]
        steps.append(Step("render", run + ["--frames", "{{Task.Param.Frames}}"], depends_on=last, chunked=chunked,
                          vcpu=2, memory_mib=4096, description="render a chunk of frames (skips complete frames)"))
        if chunked and not partial:
            steps.append(Step("finalize", run, depends_on=["render"], vcpu=1, memory_mib=2048,
                              description="check every frame is complete and write the job's manifests"))
    else:
        raise SpecError("type", f"no farm plan for job type {typ!r}")
    if validate:
        steps.append(Step("validate", ["farm", "validate", "{{Param.JobSpec}}", "--plugins", "{{Param.PyblishPlugins}}"],
                          depends_on=[steps[-1].name], vcpu=1, memory_mib=2048,
                          description="run the pyblish validators on the outputs; fails the job if they fail"))
    return steps


def _command(args: list[str]) -> str:
    """The bash lines of a task: ``inkpaint`` from the session's environment, arguments quoted where needed, and the
    session's path-mapping rules when the farm gives some (the spec's paths are the submitter's)."""
    quoted = [a if a.startswith("{{") else shlex.quote(a) for a in args]
    line = "exec inkpaint " + " ".join(f'"{a}"' if a.startswith("{{") else a for a in quoted)
    return (
        "mapping=()\n"
        'if [ "{{Session.HasPathMappingRules}}" = "true" ]; then mapping=(--path-mapping "{{Session.PathMappingRulesFile}}"); fi\n'
        + line + ' ${mapping[@]+"${mapping[@]}"}\n'
    )


def step_template(step: Step, frames_expr: str, chunk: int) -> dict[str, Any]:
    """One step of the job template."""
    body: dict[str, Any] = {"name": step.name}
    if step.description:
        body["description"] = step.description
    if step.depends_on:
        body["dependencies"] = [{"dependsOn": d} for d in step.depends_on]
    if "{{Task.Param.Frames}}" in step.args:
        param: dict[str, Any] = {"name": "Frames", "type": "CHUNK[INT]" if step.chunked else "STRING"}
        if step.chunked:
            param["range"] = frames_expr
            param["chunks"] = {"defaultTaskCount": chunk, "rangeConstraint": "CONTIGUOUS"}
        else:
            param["range"] = list(step.spans) if step.spans else [frames_expr]
        body["parameterSpace"] = {"taskParameterDefinitions": [param]}
    amounts: list[dict[str, Any]] = [
        {"name": "amount.worker.vcpu", "min": step.vcpu},
        {"name": "amount.worker.memory", "min": step.memory_mib},
    ]
    if step.gpu:
        amounts += [{"name": "amount.worker.gpu", "min": 1}, {"name": "amount.worker.gpu.memory", "min": 8192}]
    body["hostRequirements"] = {
        "amounts": amounts,
        "attributes": [{"name": "attr.worker.os.family", "anyOf": ["linux", "macos"]}],
    }
    body["script"] = {
        "actions": {"onRun": {"command": "bash", "args": ["{{Task.File.Run}}"], "cancelation": {"mode": "NOTIFY_THEN_TERMINATE"}}},
        "embeddedFiles": [{"name": "Run", "type": "TEXT", "data": "set -eu\n" + _command(step.args)}],
    }
    return body


ENV_SCRIPT = r"""set -eu
# inkpaint's worker environment: runs once when a worker starts a session of this job (onEnter), before any of the
# session's tasks; what it prints as "openjd_env: NAME=VALUE" holds for every task the session runs.
kind={kind}
value={value}
inside=()
case "$kind" in
  venv)
    if [ ! -x "$value/bin/inkpaint" ]; then
      echo "inkpaint: error: no inkpaint in the venv '$value' ($value/bin/inkpaint is missing); set the job parameter InkpaintVenv" >&2
      exit 1
    fi
    echo "openjd_env: VIRTUAL_ENV=$value"
    echo "openjd_env: PATH=$value/bin:$PATH"
    export PATH="$value/bin:$PATH" ;;
  conda|rez)
    if [ "$kind" = conda ]; then inside=(conda run -n "$value"); else inside=(rez env $value --); fi
    if ! command -v "${{inside[0]}}" >/dev/null; then
      echo "inkpaint: error: $kind is not on this worker's PATH (the job asks for the $kind environment '$value')" >&2
      exit 1
    fi
    # export the environment's variables (PATH, PYTHONPATH, ...) to every task: python inside it prints what differs
    INKPAINT_OUTER_ENV="$(python3 -c 'import os, json; print(json.dumps(dict(os.environ)))')" "${{inside[@]}}" python3 -c '
import os, json
here = json.loads(os.environ.pop("INKPAINT_OUTER_ENV", "{{}}"))
for k, v in os.environ.items():
    if "\n" not in v and here.get(k) != v:
        print(f"openjd_env: {{k}}={{v}}")
' ;;
  path) ;;
esac
# the worker's inkpaint reads the job spec now, so a spec it cannot run (newer schema, bad field) fails the
# session at once, before any task starts
if [ ${{#inside[@]}} -eq 0 ] && ! command -v inkpaint >/dev/null; then
  echo "inkpaint: error: inkpaint is not on this worker's PATH; give the bundle --env-venv, --env-conda or --env-rez" >&2
  exit 1
fi
${{inside[@]+"${{inside[@]}}"}} inkpaint run "{{{{Param.JobSpec}}}}" --dry-run -q > /dev/null
echo "inkpaint: the job spec reads with $(command -v inkpaint || echo "inkpaint in the $kind environment")"
"""


def environment_template(env: Environment, values: dict[str, str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The job environment and the job parameters it reads, for where inkpaint lives on the worker (their values
    go into ``values``)."""
    params: list[dict[str, Any]] = []
    if env.kind == "venv":
        params.append({"name": "InkpaintVenv", "type": "PATH", "objectType": "DIRECTORY", "dataFlow": "NONE",
                       "description": "the worker's inkpaint virtual environment"})
        values["InkpaintVenv"] = env.value
        value = '"{{Param.InkpaintVenv}}"'
    elif env.kind == "conda":
        params.append({"name": "CondaEnvironment", "type": "STRING", "description": "conda environment with inkpaint",
                       "default": env.value})
        values["CondaEnvironment"] = env.value
        value = '"{{Param.CondaEnvironment}}"'
    elif env.kind == "rez":
        params.append({"name": "RezPackages", "type": "STRING", "description": "rez packages that provide inkpaint",
                       "default": env.value})
        values["RezPackages"] = env.value
        value = '"{{Param.RezPackages}}"'
    else:
        value = '""'
    script = ENV_SCRIPT.format(kind=env.kind, value=value)
    environment = {
        "name": "InkpaintWorker",
        "description": "puts the worker's inkpaint on PATH for every task of the session and checks the job spec",
        "script": {
            "actions": {"onEnter": {"command": "bash", "args": ["{{Env.File.Enter}}"]}},
            "embeddedFiles": [{"name": "Enter", "type": "TEXT", "data": script}],
        },
    }
    return environment, params


def job_template(spec: dict[str, Any], frames_expr: str, chunk: int, *, chunked: bool, validate: bool,
                 env: Environment, plugins: str | None, name: str, partial: bool = False,
                 spans: list[str] | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """The whole OpenJD job template as a plain dict (dumped to YAML by :func:`write_bundle`), and the values of
    its job parameters. ``JobSpec`` defaults to the bundle's ``job.json`` (OpenJD joins a relative default to the
    template's folder, so the bundle can move); absolute paths (the venv, the plug-ins) are values, not defaults."""
    steps = plan_steps(spec, chunked, validate, partial, spans)
    values: dict[str, str] = {}  # JobSpec stays at its default: a relative value would be taken from the caller's folder
    environment, env_params = environment_template(env, values)
    params: list[dict[str, Any]] = [
        {"name": "JobSpec", "type": "PATH", "objectType": "FILE", "dataFlow": "IN",
         "description": "the inkpaint job spec (JSON) every task runs", "default": "job.json"},
    ]
    params += env_params
    if validate:
        params.append({"name": "PyblishPlugins", "type": "PATH", "objectType": "DIRECTORY", "dataFlow": "NONE",
                       "description": "inkpaint's pyblish_plugins folder on the worker"})
        if not plugins:
            raise SpecError("--plugins", "no pyblish_plugins folder found for the validate step; pass --plugins DIR")
        values["PyblishPlugins"] = plugins
    template: dict[str, Any] = {"specificationVersion": TEMPLATE_VERSION}
    if any(s.chunked for s in steps):
        template["extensions"] = ["TASK_CHUNKING"]
    template["name"] = name
    template["description"] = f"{name} (inkpaint farm bundle)"
    template["parameterDefinitions"] = params
    template["jobEnvironments"] = [environment]
    template["steps"] = [step_template(s, frames_expr, chunk) for s in steps]
    return template, values


def default_plugins() -> str | None:
    """inkpaint's ``pyblish_plugins`` folder when this inkpaint runs from a checkout (editable install)."""
    here = Path(__file__).resolve().parents[3] / "pyblish_plugins"
    return str(here) if (here / "inkpaint_pyblish").is_dir() else None


def write_bundle(job_path: str | os.PathLike[str], out: str | os.PathLike[str], *, chunk: int | None = None,
                 frames: str | None = None, validate: bool = False, env: Environment | None = None,
                 plugins: str | None = None) -> dict[str, Any]:
    """Write a job bundle for the spec at ``job_path`` into the folder ``out``.

    Args:
        job_path: the saved job spec (JSON).
        out: bundle folder (created; its four files are replaced).
        chunk: frames per render task (1..150); ``None`` = :data:`DEFAULT_CHUNK`.
        frames: render only these frames of the job (shade, ink, finish, cel; paint: whole keyframe spans; inside
            the job's frames).
        validate: add the pyblish ``validate`` step.
        env: where inkpaint lives on the worker.
        plugins: the worker's ``pyblish_plugins`` folder (default: this checkout's).

    Returns:
        ``{"bundle", "template", "steps", "frames", "chunk", "spans", "notes"}`` (notes: the paths rewritten; spans:
        a paint job's task frame ranges, else ``None``).

    Raises:
        SpecError: the spec does not load (names the field; a newer schema is refused), an input path does not
            exist, ``chunk`` is not 1..150, ``frames`` is outside the job's frames or the job cannot be split.
    """
    from ..io.atomic import atomic_write_text
    from ..spec import load_job
    from .limit import WHOLE_SHOT, chunk_of, frames_to_openjd, job_frames, spans_of

    if chunk is not None and not 1 <= chunk <= MAX_CHUNK:
        raise SpecError("--chunk", f"must be 1..{MAX_CHUNK} frames per task (Deadline Cloud's largest chunk); got {chunk}")
    job_path = os.path.abspath(job_path)
    job = load_job(job_path)  # type, fields and schema_version checked here, with the field named
    with open(job_path, encoding="utf-8") as fh:
        spec = json.load(fh)
    spec, notes = absolute_spec(spec, os.path.dirname(job_path))
    out_dir = Path(out).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    farm_job = out_dir / "job.json"
    atomic_write_text(farm_job, json.dumps(spec, indent=2) + "\n")
    job = load_job(str(farm_job))
    all_frames = job_frames(job)
    if frames is not None:
        if job.TYPE in WHOLE_SHOT:
            raise SpecError("--frames", f"a {job.TYPE} job runs as one task over its whole shot; {WHOLE_SHOT[job.TYPE]}")
        _, wanted = chunk_of(job, frames)
        if validate and set(wanted) != set(all_frames):
            raise SpecError("--validate", "needs the whole job: a render of part of its frames writes no manifest "
                            "(the validators check the job's manifests); drop --frames or --validate")
    else:
        wanted = all_frames
    chunked = job.TYPE in ("shade", "cel", "ink", "finish")
    size = min(chunk or DEFAULT_CHUNK, len(wanted))
    spans = None
    if job.TYPE == "paint":  # one task per keyframe span (chunk_of has checked --frames gives whole spans)
        spans = [frames_to_openjd(s) for s in spans_of(job, all_frames) if set(s) <= set(wanted)]
    name = f"inkpaint {job.TYPE} {Path(job_path).stem}"
    template, values = job_template(spec, frames_to_openjd(wanted), size, chunked=chunked, validate=validate,
                                    env=env or Environment(), plugins=plugins or default_plugins(), name=name,
                                    partial=set(wanted) != set(all_frames), spans=spans)
    dump = lambda d: yaml.safe_dump(d, sort_keys=False, width=120, default_flow_style=False)  # noqa: E731
    atomic_write_text(out_dir / "template.yaml", dump(template))
    # Deadline Cloud reads parameter_values.yaml (a parameterValues list); `openjd run --job-param file://...` reads
    # a plain name -> value map, written beside it as job_params.yaml
    atomic_write_text(out_dir / "parameter_values.yaml",
                      dump({"parameterValues": [{"name": k, "value": v} for k, v in values.items()]}))
    atomic_write_text(out_dir / "job_params.yaml", dump(values))
    atomic_write_text(out_dir / "asset_references.yaml", dump(asset_references(spec, str(farm_job))))
    return {
        "bundle": str(out_dir),
        "template": str(out_dir / "template.yaml"),
        "job_params": str(out_dir / "job_params.yaml"),
        "job": str(farm_job),
        "steps": [s["name"] for s in template["steps"]],
        "frames": frames_to_openjd(wanted),
        "chunk": size if chunked else None,
        "spans": spans,
        "notes": notes,
    }


__all__ = ["write_bundle", "job_template", "plan_steps", "absolute_spec", "asset_references", "Environment", "Step",
           "MAX_CHUNK", "DEFAULT_CHUNK"]
