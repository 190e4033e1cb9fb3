"""``inkpaint farm bundle`` and ``inkpaint farm validate`` (wired into :mod:`inkpaint.cli`)."""

from __future__ import annotations

import argparse
import json
import sys


def add_farm_cli(p: argparse.ArgumentParser) -> None:
    """Add the ``farm`` subcommands to the ``farm`` parser."""
    fsub = p.add_subparsers(dest="farm_command", metavar="WHAT", required=True)
    b = fsub.add_parser("bundle", help="write an OpenJD / Deadline Cloud job bundle for a saved job spec")
    b.add_argument("job", help="job spec file (JSON)")
    b.add_argument("--out", required=True, help="bundle folder (template.yaml, parameter_values.yaml, "
                   "asset_references.yaml, job.json)")
    b.add_argument("--chunk", type=int, help="frames per render task (1-150; default 10); roto and paint run whole")
    b.add_argument("--frames", help="render only these frames of the job (shade, ink, finish, cel)")
    b.add_argument("--validate", action="store_true", help="add a last step running the pyblish validators")
    b.add_argument("--plugins", help="the workers' pyblish_plugins folder (default: this checkout's)")
    env = b.add_mutually_exclusive_group()
    env.add_argument("--env-venv", metavar="PATH", help="the workers' inkpaint virtual environment (folder)")
    env.add_argument("--env-conda", metavar="NAME", help="the workers' conda environment with inkpaint")
    env.add_argument("--env-rez", metavar="PACKAGES", help="rez packages providing inkpaint (e.g. 'inkpaint-0.4')")
    b.set_defaults(handler=_cmd_bundle)
    v = fsub.add_parser("validate", help="run the pyblish validators on a finished job's outputs (the farm's last step)")
    v.add_argument("job", help="job spec file (JSON), or a manifest (*.inkpaint.json) or a folder of them")
    v.add_argument("--plugins", help="inkpaint's pyblish_plugins folder (default: $INKPAINT_PYBLISH_PLUGINS, else "
                   "this checkout's)")
    v.add_argument("--path-mapping", metavar="RULES", help="OpenJD path-mapping rules file applied to the spec's paths")
    v.set_defaults(handler=_cmd_validate)


def _cmd_bundle(args: argparse.Namespace) -> int:
    import os

    from .bundle import Environment, write_bundle

    env = Environment()
    if args.env_venv:
        env = Environment("venv", os.path.abspath(os.path.expanduser(args.env_venv)))
    elif args.env_conda:
        env = Environment("conda", args.env_conda)
    elif args.env_rez:
        env = Environment("rez", args.env_rez)
    result = write_bundle(args.job, args.out, chunk=args.chunk, frames=args.frames, validate=args.validate, env=env,
                          plugins=args.plugins)
    for note in result["notes"]:
        print(f"inkpaint: {note}", file=sys.stderr)
    print(json.dumps(result, indent=2))
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from .validate import validate

    report = validate(args.job, args.plugins, args.path_mapping)
    for err in report["errors"]:
        print(f"inkpaint: validation failed: {err}", file=sys.stderr)
    print(json.dumps(report, indent=2, default=str))
    return 0 if report["ok"] else 1
