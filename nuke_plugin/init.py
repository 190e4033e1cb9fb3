# inkpaint: Nuke start-up (no UI here). Puts the package on sys.path and stops the worker when Nuke exits.
import sys

if sys.version_info < (3, 9):  # Nuke 13 and older: say so in the Script Editor instead of failing on imports
    print("inkpaint: this plugin needs Nuke 14 or newer (Python 3.9+); this Nuke runs Python %d.%d, so inkpaint is "
          "not loaded." % sys.version_info[:2])
else:
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
