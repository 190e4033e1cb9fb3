# inkpaint: Nuke menus. Only imports and calls; failures are logged and Nuke starts anyway.
try:
    import inkpaint_nuke.menu_setup

    inkpaint_nuke.menu_setup.register()
except Exception:  # noqa: BLE001
    import logging
    import traceback

    logging.getLogger("inkpaint.nuke").error("inkpaint: menu.py failed:\n%s", traceback.format_exc())
