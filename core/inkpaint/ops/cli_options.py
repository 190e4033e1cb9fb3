"""Command-line options shared by the operations' subcommands (``roto``, ``cel``, ``ink``, ``shade``, ``finish``,
``paint``): the common colour/output options and the roto backend options.

Moved here from ``ops/roto.py`` (which still re-exports these names).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from ..jobs.roto import RotoJob
from ..spec import ColorSettings, OutputSettings
from .job_options import FieldOption, add_field_options


def add_backend_options(p: argparse.ArgumentParser) -> None:
    """Backend choice and tracking direction, shared by ``roto`` and ``cel`` (``--backend`` and ``--direction`` typed
    and defaulted from :class:`RotoJob`'s fields; the rest become ``backend_options``)."""
    add_field_options(p, RotoJob, [FieldOption("backend", default_help="", help="roto backend (default: classic, no weights)")])
    p.add_argument("--model", help="model size for learned backends (tiny, small, base_plus, large)")
    p.add_argument("--checkpoint", help="custom checkpoint for learned backends")
    p.add_argument("--device", help="cuda, mps or cpu (default: best available)")
    p.add_argument("--image-size", type=int, help="model input size in pixels for learned backends (a multiple of 32; "
                   "default: the model's own, 1024 for SAM2)")
    add_field_options(p, RotoJob, [FieldOption("direction")])


def backend_options_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """``backend_options`` from ``--model``, ``--checkpoint`` (made absolute), ``--device`` and ``--image-size``."""
    options: dict[str, Any] = {}
    for key in ("model", "checkpoint", "device", "image_size"):
        if getattr(args, key, None):
            options[key] = os.path.abspath(args.checkpoint) if key == "checkpoint" else getattr(args, key)
    return options


def add_common_options(p: argparse.ArgumentParser) -> None:
    """Options every frame-writing subcommand shares."""
    p.add_argument("--colorspace", default="auto", help="input colour space (default auto: the file's own tag, else EXR/HDR "
                   "in the config's scene_linear role, others sRGB)")
    p.add_argument("--ocio", help="OCIO config path or ocio:// URI (default: $OCIO, else ocio://studio-config-latest)")
    p.add_argument("--compression", default="zip", help="EXR compression (zip, piz, dwaa, ...)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs of a different job")
    p.add_argument("--data-window", choices=["tight", "full"], default="tight",
                   help="EXR data window: tight = the characters' bounding box (default, as Nuke writes), full = every pixel (for readers that ignore data windows, e.g. Blender)")
    p.add_argument("--save-job", metavar="JSON", help="write the job spec to this file (and still run it)")
    p.add_argument("--dry-run", action="store_true", help="validate and print the job spec, don't run it")


def common_settings(args: argparse.Namespace) -> tuple[ColorSettings, OutputSettings]:
    return (
        ColorSettings(input_colorspace=args.colorspace,
                      ocio_config=os.path.abspath(args.ocio) if args.ocio and "://" not in args.ocio else args.ocio),
        OutputSettings(compression=args.compression, overwrite=args.overwrite, data_window=args.data_window),
    )
