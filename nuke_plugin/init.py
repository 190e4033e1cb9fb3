# inkpaint: Nuke start-up (no UI here). Puts the package on sys.path and stops the worker when Nuke exits.
# Anything missing is logged, never raised, so Nuke always starts.
try:
    import atexit
    import logging

    import inkpaint_nuke.worker_client

    atexit.register(inkpaint_nuke.worker_client.shutdown_shared)
except Exception:  # noqa: BLE001
    import logging
    import traceback

    logging.getLogger("inkpaint.nuke").error("inkpaint: init.py failed:\n%s", traceback.format_exc())
