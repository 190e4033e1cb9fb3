"""What the inkpaint nodes' knobs call. Every stored knob script is one line into this module, e.g.
``import inkpaint_nuke.callbacks; inkpaint_nuke.callbacks.track()``; the node is ``nuke.thisNode()``.

Errors become a message box in the GUI (Nuke carries on) and an exception in terminal mode.
"""

from __future__ import annotations

import functools
import logging
import sys
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

import nuke

from . import bake as bake_mod
from . import graph, knobs, paint_node, roto_node, runner, shade_node
from .jobs import JobBuildError
from .pixels import PixelsError
from .settings import SettingsError
from .worker_client import WorkerError

log = logging.getLogger("inkpaint.nuke")
F = TypeVar("F", bound=Callable[..., Any])
USER_ERRORS = (runner.InkpaintNukeError, JobBuildError, PixelsError, SettingsError, WorkerError)


def reported(func: F) -> F:
    """Show user errors as a message (GUI) or raise them (terminal); log unexpected ones with a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except USER_ERRORS as exc:
            if not nuke.env["gui"]:
                raise
            nuke.message(f"Inkpaint: {exc}")
        except Exception as exc:  # noqa: BLE001
            log.error("inkpaint: %s failed:\n%s", func.__name__, traceback.format_exc())
            if not nuke.env["gui"]:
                raise
            nuke.message(f"Inkpaint: unexpected error in {func.__name__}: {type(exc).__name__}: {exc}")
        return None

    return wrapper  # type: ignore[return-value]


def _node() -> nuke.Node:
    return nuke.thisNode()


def _ask(prompt: str, default: str = "") -> str | None:
    if not nuke.env["gui"]:
        return None
    answer = nuke.getInput(prompt, default)
    return str(answer) if answer else None


# -- InkpaintRoto ------------------------------------------------------------------------------------------------


@reported
def add_object(name: str | None = None) -> None:
    node = _node()
    name = name or _ask("Name of the new object (letters, digits, _):", f"object{len(roto_node.PromptData.load(node).objects) + 1}")
    if name:
        roto_node.add_object(node, name)


@reported
def rename_object(new: str | None = None) -> None:
    node = _node()
    old = roto_node.current_object(node)
    new = new or _ask(f"New name for {old}:", old)
    if new and new != old:
        roto_node.rename_object(node, old, new)


@reported
def remove_object() -> None:
    node = _node()
    name = roto_node.current_object(node)
    if nuke.env["gui"] and not nuke.ask(f"Remove {name} and its prompts?"):
        return
    roto_node.remove_object(node, name)


@reported
def add_point(label: int = 1) -> None:
    roto_node.add_point(_node(), label)


@reported
def add_box() -> None:
    roto_node.add_box(_node())


@reported
def add_alpha_mask() -> None:
    roto_node.add_alpha_mask(_node())


@reported
def clear_frame_prompts() -> None:
    roto_node.clear_frame_prompts(_node())


@reported
def track() -> None:
    roto_node.track(_node())


@reported
def preview() -> None:
    roto_node.preview(_node())


@reported
def save_farm_bundle() -> None:
    """InkpaintRoto / InkpaintShade: the node's job as a farm bundle (see inkpaint_nuke.farm)."""
    from . import farm

    result = farm.save_node_bundle(_node())
    if nuke.env["gui"]:
        nuke.message(f"Inkpaint: farm bundle saved\n{result['bundle']}\n\nsteps: {', '.join(result['steps'])}\n"
                     f"test locally: openjd run {result['template']} --job-param file://{result['job_params']}")


@reported
def bake() -> None:
    roto = bake_mod.bake(_node())
    if nuke.env["gui"]:
        roto.showControlPanel()


# -- InkpaintShade / InkpaintPaint -------------------------------------------------------------------------------


@reported
def shade_run() -> None:
    shade_node.run(_node())


@reported
def paint_run() -> None:
    paint_node.run(_node())


@reported
def paint_add_click() -> None:
    paint_node.add_click(_node())


# -- node events ---------------------------------------------------------------------------------------------------


def knob_changed() -> None:
    """The Group's knobChanged: keep the frame range and the shown view in step with the knobs."""
    try:
        node, knob = nuke.thisNode(), nuke.thisKnob()
        kind = knobs.node_type(node)
        name = knob.name()
        if name == "view" and kind == roto_node.NODE_TYPE:
            graph.set_view(node, {"result": graph.VIEW_RESULT, "preview": graph.VIEW_PREVIEW}.get(str(knob.value()), graph.VIEW_INPUT))
        elif name == "show" and kind == paint_node.NODE_TYPE:
            paint_node.apply_show(node)
        elif name == "show" and kind == shade_node.NODE_TYPE:
            shade_node.apply_show(node)
        elif name in ("use_input_range", "inputChange") and kind == roto_node.NODE_TYPE:
            roto_node.update_range(node)
    except Exception:  # noqa: BLE001 - never break Nuke's panel over a callback
        log.error("inkpaint: knobChanged failed:\n%s", traceback.format_exc())


def on_create() -> None:
    """The Group's onCreate (node creation and script load)."""
    try:
        node = nuke.thisNode()
        if knobs.node_type(node) == roto_node.NODE_TYPE:
            roto_node.on_create(node)
        elif knobs.node_type(node) == paint_node.NODE_TYPE:
            paint_node.on_create(node)
    except Exception:  # noqa: BLE001
        log.error("inkpaint: onCreate failed:\n%s", traceback.format_exc())


def print_settings() -> None:
    """Menu item: show which worker and cache the plugin uses."""
    try:
        text = runner.check_settings()
    except SettingsError as exc:
        text = str(exc)
    if nuke.env["gui"]:
        nuke.message(text)
    else:
        print(text, file=sys.stderr)
