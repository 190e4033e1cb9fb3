"""Test control for the fake nuke (not part of Nuke's API): GUI/terminal mode, the main-thread event loop, user
actions (pressing buttons, editing knobs, connecting inputs), and records of messages, renders and progress."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import nuke

messages: list[tuple[str, str]] = []
answers: list[Any] = []
renders: list[tuple[str, int, str]] = []
tasks: list[Any] = []
viewer_inputs: dict[int, Any] = {}
plugin_paths: list[str] = []


def reset(gui: bool = False) -> None:
    """A fresh session: empty script, GUI or terminal mode, no records."""
    nuke.env["gui"] = bool(gui)
    nuke.GUI = bool(gui)
    nuke.scriptClear()
    nuke.root()["first_frame"].setValue(1)
    nuke.root()["last_frame"].setValue(100)
    messages.clear()
    answers.clear()
    renders.clear()
    tasks.clear()
    viewer_inputs.clear()
    nuke._toolbars.clear()
    nuke._menus.clear()
    nuke.frame(1)
    while not nuke._main_queue.empty():
        nuke._main_queue.get_nowait()


def process_events() -> int:
    """Run the calls queued by executeInMainThread (as Nuke's event loop would); returns how many ran."""
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("process_events must run on the main thread")
    n = 0
    while True:
        try:
            call, args, kwargs, box = nuke._main_queue.get_nowait()
        except Exception:
            return n
        n += 1
        try:
            result = call(*args, **kwargs)
            if box is not None:
                box["result"] = result
        except BaseException as exc:
            if box is None:
                raise
            box["error"] = exc
        finally:
            if box is not None:
                box["event"].set()


def run_until(predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    """Pump the main-thread queue until ``predicate()`` holds (raises TimeoutError after ``timeout`` s)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        process_events()
        if predicate():
            return
        time.sleep(0.01)
    raise TimeoutError("condition not met while pumping the fake nuke event loop")


def press(knob: nuke.Knob) -> None:
    """The user clicks a button knob."""
    assert isinstance(knob, nuke.Script_Knob), f"{knob.name()} is not a button"
    knob.execute()


def user_set(knob: nuke.Knob, value: Any) -> None:
    """The user edits a knob in the panel: set it, then run the node's knobChanged."""
    knob.setValue(value)
    _knob_changed(knob.node(), knob)


def user_connect(node: nuke.Node, index: int, upstream: nuke.Node | None) -> None:
    """The user connects an input: Nuke then calls knobChanged with the 'inputChange' knob."""
    node.setInput(index, upstream)
    _knob_changed(node, nuke.Knob("inputChange"))


def _knob_changed(node: nuke.Node, knob: nuke.Knob) -> None:
    script = str(node["knobChanged"].value())
    if script:
        if knob._node is None:
            knob._node = node
        nuke._run_script(script, node, knob)


def cancel_tasks() -> None:
    """The user presses Cancel on every open progress bar."""
    for t in tasks:
        t.cancelled = True
