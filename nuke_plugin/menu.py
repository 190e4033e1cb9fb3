# inkpaint: Nuke menus. Only imports and calls; failures are logged and Nuke starts anyway.
import sys

if sys.version_info < (3, 9):  # Nuke 13 and older: say so in the Script Editor instead of failing on imports
    print("inkpaint: this plugin needs Nuke 14 or newer (Python 3.9+); this Nuke runs Python %d.%d, so inkpaint is "
          "not loaded." % sys.version_info[:2])
else:
    try:
        import inkpaint_nuke.menu_setup

        inkpaint_nuke.menu_setup.register()
    except Exception:  # noqa: BLE001
        import logging
        import traceback

        logging.getLogger("inkpaint.nuke").error("inkpaint: menu.py failed:\n%s", traceback.format_exc())
