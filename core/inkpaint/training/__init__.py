"""Training inkpaint's own models on data made here (synth clips): clip reader, loop convention, packaging.

- :mod:`.clips`: any folder of clips in the synth format, validated (missing files are named).
- :mod:`.loop`: deterministic seeding, per-epoch JSON-lines log, checkpoint every epoch, ``--resume``.
- :mod:`.package`: safetensors weights + sidecar JSON (size, SHA-256, model card), verified on load.
- :mod:`.tonal`: ``inkpaint train tonal`` (the seed 003 tonal segmenter).
- :mod:`.paint`: ``inkpaint train paint`` (the seed 002 inclusion matcher of the paint bucket).

torch is imported lazily, inside functions only.
"""

TASKS = {"tonal": "inkpaint.training.tonal", "paint": "inkpaint.training.paint"}
"""Training task name -> module (``add_cli(subparsers)``)."""


def add_cli(sub) -> None:
    """Add ``inkpaint train TASK`` to the top-level subparsers."""
    import importlib

    p = sub.add_parser("train", help="train one of inkpaint's own models (needs torch + safetensors)")
    tsub = p.add_subparsers(dest="train_task", metavar="TASK", required=True)
    for module in TASKS.values():
        importlib.import_module(module).add_cli(tsub)
