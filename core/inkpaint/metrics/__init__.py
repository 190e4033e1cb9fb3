"""Scores against ground truth, exactly as ``../shared/docs/metrics.md`` defines them.

Each module is registered in :data:`inkpaint.registry.EVALUATIONS` and adds an ``inkpaint eval <name>``
subcommand through ``add_cli(subparsers)``; the score functions are plain functions on arrays.
"""
