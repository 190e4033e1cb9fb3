"""The ``inkpaint`` command line.

Subcommands come from the registered operations (``roto``, ``ink``, ``shade``, ``finish``, ``cel``, ``paint``)
plus ``run`` (a saved job spec), ``worker`` (JSON lines over stdin/stdout), ``demo`` and ``eval``.
Exit codes: 0 success, 1 an inkpaint error (message on stderr, naming the frame, file or field), 2 usage error,
3 an unexpected internal error (traceback on stderr), 130 cancelled (Ctrl-C).
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import logging
import sys
import traceback
from collections.abc import Sequence

from . import __version__
from .allocator import tune_allocator
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
        except ModuleNotFoundError as exc:
            if exc.name is not None and module.startswith(exc.name):  # not part of this installation (yet)
                continue
            _unavailable(sub, name, exc)
            continue
        except Exception as exc:  # a broken operation module must not break the whole CLI
            _unavailable(sub, name, exc)
            continue
        mod.add_cli(sub)

    p = sub.add_parser("run", help="run a saved job spec (JSON); relative paths in it are relative to its folder")
    p.add_argument("job", help="job spec file")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs of a different job")
    p.add_argument("--dry-run", action="store_true", help="validate and print the job spec, don't run it")
    p.add_argument("--frames", help="write only these frames of the job (a farm chunk: 1001-1020, or OpenJD's "
                   "1-99:2); the job, its hash and its tone fit are unchanged, so chunks equal a whole run")
    p.add_argument("--fit-only", action="store_true", help="shade/cel: fit (or reuse) the shot's tone model and "
                   "write no frames (the farm's fit step)")
    p.add_argument("--path-mapping", metavar="RULES", help="OpenJD path-mapping rules file: the spec's absolute paths "
                   "are mapped first (a farm worker seeing the files under other roots)")
    p.set_defaults(handler=_cmd_run)

    p = sub.add_parser("farm", help="render-farm job bundles (Open Job Description, Deadline Cloud); see docs/farm.md")
    from .farm.cli import add_farm_cli

    add_farm_cli(p)

    p = sub.add_parser("worker", help="serve jobs as JSON lines over stdin/stdout (see docs/worker-protocol.md)")
    p.set_defaults(handler=_cmd_worker)

    p = sub.add_parser("demo", help="the whole product on a generated shot (roto -> cels, paint bucket; no weights) "
                       "and a contact sheet that shows it")
    p.add_argument("--what", choices=["roto", "cel", "paint", "all"], default="all",
                   help="roto only, rotoscope to cels, paint bucket, or all (default)")
    p.add_argument("--out-dir", default="inkpaint-demo", help="the demo's folder: new or empty, or one it made "
                   "(default: ./inkpaint-demo); a non-empty folder it did not make is refused")
    p.add_argument("--frames", type=int, default=12, help="clip length (default 12)")
    p.add_argument("--size", default="320x240", help="clip resolution WxH (default 320x240)")
    p.set_defaults(handler=_cmd_demo)

    from .training import add_cli as _add_train_cli

    _add_train_cli(sub)

    p = sub.add_parser("eval", help="score results against ground truth")
    esub = p.add_subparsers(dest="eval_command", metavar="WHAT", required=True)
    for module in EVALUATIONS.values():
        try:
            importlib.import_module(module).add_cli(esub)
        except ImportError:
            continue
    for p in list(sub.choices.values()):  # -q/-v also work after the subcommand: `inkpaint roto ... -q`
        for flags, dest, text in ((("-q", "--quiet"), "quiet", "no progress bar"), (("-v", "--verbose"), "verbose", "debug logging")):
            try:
                p.add_argument(*flags, dest=dest, action="store_true", default=argparse.SUPPRESS, help=text)
            except argparse.ArgumentError:
                pass
    return parser


def _unavailable(sub: argparse._SubParsersAction, name: str, exc: BaseException) -> None:
    """A subcommand whose module failed to import: it stays listed and says why when used."""
    reason = f"{type(exc).__name__}: {exc}"
    logging.getLogger("inkpaint").debug("operation %s unavailable: %s", name, reason)
    p = sub.add_parser(name, help=f"(unavailable: {reason})", add_help=False)
    p.add_argument("rest", nargs=argparse.REMAINDER)

    def handler(args: argparse.Namespace) -> int:
        from .errors import BackendError

        raise BackendError(f"the {name!r} operation cannot be loaded in this installation: {reason}")

    p.set_defaults(handler=handler)


def _print_result(result: object) -> None:
    data = result.to_dict() if hasattr(result, "to_dict") else result
    text = json.dumps(data, indent=2)
    # Lists of frame numbers on one line (ranges are in "frame_range" and the summary), not one number per line.
    print(re.sub(r"\[\s*(-?\d+(?:,\s*-?\d+)*)\s*\]", lambda m: "[" + re.sub(r",\s*", ", ", m.group(1)) + "]", text))


_PROGRESS: TerminalProgress | None = None


def _run_job(job, quiet: bool, chunk: list[int] | None = None) -> int:
    global _PROGRESS
    from .ops.base import run_job

    _PROGRESS = None if quiet else TerminalProgress()
    ctx = RunContext(progress=_PROGRESS)
    try:
        result = run_job(job, ctx)
    finally:
        if _PROGRESS is not None:
            _PROGRESS.close()
    if chunk is not None and hasattr(result, "skipped"):  # a farm chunk: "skipped" lists only the chunk's frames
        result.skipped = [f for f in result.skipped if f in set(chunk)]
    _print_result(result)
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from .farm.limit import load_mapped_job
    from .spec import replace

    job = load_mapped_job(args.job, args.path_mapping)
    if args.overwrite and hasattr(job, "output_options"):
        job = replace(job, output_options=replace(job.output_options, overwrite=True))
    if args.dry_run:
        job.validate()
        print(job.to_json())
        return 0
    if args.frames is not None or args.fit_only:
        from .farm.limit import chunk_of

        job, frames = chunk_of(job, args.frames, fit_only=args.fit_only)
        from .ops.base import limit_frames

        with limit_frames(frames):
            return _run_job(job, args.quiet, chunk=frames)
    return _run_job(job, args.quiet)


class _LogHandler(logging.StreamHandler):
    """stderr logging that first clears an unfinished progress bar line, so messages never run into it."""

    def emit(self, record: logging.LogRecord) -> None:
        if _PROGRESS is not None:
            _PROGRESS.clear()
        super().emit(record)


def _cmd_worker(args: argparse.Namespace) -> int:
    from .worker import serve

    return serve()


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    try:
        w, h = (int(v) for v in str(args.size).lower().split("x"))
    except ValueError:
        from .errors import SpecError

        raise SpecError("--size", f"expected WIDTHxHEIGHT, e.g. 320x240; got {args.size!r}") from None
    return run_demo(args.out_dir, args.frames, quiet=args.quiet, size=(w, h), what=args.what)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if argv is None:  # the `inkpaint` command owns its process (not an in-process call from a host or a test)
        tune_allocator()
    handler = _LogHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, handlers=[handler])
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
    except OSError as exc:  # e.g. the disk filled up mid-run: the file system's own message names the file
        from .io.atomic import describe_failure

        where = exc.filename if exc.filename is not None else ""
        print(f"inkpaint: error: {describe_failure(where, exc) if where else exc}", file=sys.stderr)
        return 1
    except MemoryError:  # inputs are bounded (frame pixels, ranges, palettes); this is a machine too small for a job
        print("inkpaint: error: out of memory; complete frames were kept (try fewer frames at once, a smaller "
              "model, or a machine with more memory)", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: say so, with the traceback, and exit with a distinct code
        traceback.print_exc()
        print(f"inkpaint: internal error ({type(exc).__name__}: {exc}). This is a bug; complete frames were kept.",
              file=sys.stderr)
        return 3


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
