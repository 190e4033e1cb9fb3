"""The ``inkpaint`` command line.

Subcommands come from the registered operations (``roto``, ``ink``, ``shade``, ``finish``, ``cel``, ``paint``)
plus ``run`` (a saved job spec), ``worker`` (JSON lines over stdin/stdout), ``demo`` and ``eval``.
Exit codes: 0 success, 1 an inkpaint error (message on stderr), 2 usage error, 130 cancelled (Ctrl-C).
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
from collections.abc import Sequence

from . import __version__
from .errors import CancelledError, InkpaintError
from .progress import RunContext, TerminalProgress
from .registry import EVALUATIONS, OPERATIONS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="inkpaint",
        description="AI rotoscoping and anime cel production: roto, ink, shade, finish, paint bucket.",
    )
    parser.add_argument("--version", action="version", version=f"inkpaint {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    for name, module in OPERATIONS.items():
        try:
            mod = importlib.import_module(module)
        except ImportError as exc:  # an operation whose module is absent or broken must not break the CLI
            logging.getLogger("inkpaint").debug("operation %s unavailable: %s", name, exc)
            continue
        mod.add_cli(sub)

    p = sub.add_parser("run", help="run a saved job spec (JSON)")
    p.add_argument("job", help="job spec file")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs of a different job")
    p.set_defaults(handler=_cmd_run)

    p = sub.add_parser("worker", help="serve jobs as JSON lines over stdin/stdout (see docs/worker-protocol.md)")
    p.set_defaults(handler=_cmd_worker)

    p = sub.add_parser("demo", help="run the roto job on a generated clip with the classic backend (no weights)")
    p.add_argument("--out-dir", default="inkpaint-demo", help="where to write the clip, mattes and contact sheet")
    p.add_argument("--frames", type=int, default=24, help="clip length")
    p.set_defaults(handler=_cmd_demo)

    p = sub.add_parser("eval", help="score results against ground truth")
    esub = p.add_subparsers(dest="eval_command", metavar="WHAT", required=True)
    for name, module in EVALUATIONS.items():
        try:
            importlib.import_module(module).add_cli(esub)
        except ImportError:
            continue
    return parser


def _print_result(result: object) -> None:
    data = result.to_dict() if hasattr(result, "to_dict") else result
    print(json.dumps(data, indent=2))


def _run_job(job, quiet: bool) -> int:  # type: ignore[no-untyped-def]
    from .ops.base import run_job

    ctx = RunContext(progress=None if quiet else TerminalProgress())
    result = run_job(job, ctx)
    _print_result(result)
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from .spec import load_job, replace

    job = load_job(args.job)
    if args.overwrite and hasattr(job, "output_options"):
        job = replace(job, output_options=replace(job.output_options, overwrite=True))  # type: ignore[attr-defined]
    return _run_job(job, args.quiet)


def _cmd_worker(args: argparse.Namespace) -> int:
    from .worker import serve

    return serve()


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(args.out_dir, args.frames, quiet=args.quiet)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    if args.command is None:
        parser.print_help()
        return 2
    try:
        if hasattr(args, "make_job"):
            job = args.make_job(args)
            if getattr(args, "save_job", None):
                job.save(args.save_job)
                print(f"job spec written to {args.save_job}", file=sys.stderr)
            if getattr(args, "dry_run", False):
                print(job.to_json())
                return 0
            return _run_job(job, args.quiet)
        return int(args.handler(args) or 0)
    except CancelledError as exc:
        print(f"inkpaint: {exc}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("inkpaint: interrupted; complete frames were kept and a rerun resumes", file=sys.stderr)
        return 130
    except InkpaintError as exc:
        print(f"inkpaint: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
