"""Pixel evaluation for the fake: enough of Nuke's image pipeline for ``nuke.execute`` on a Write to produce real
files (Read, Grade, Switch, Copy, Input/Output of groups, Dot/NoOp). Channels use Nuke's names
(``rgba.red`` ... ``dancer.alpha``); files are read and written with OpenImageIO. Colourspaces: ``linear``,
``sRGB`` and ``default`` (linear for float formats, sRGB for 8/16-bit ones); anything else raises, so a test can
never silently pass on a colour conversion the fake does not do."""

from __future__ import annotations

import os
import re

import numpy as np
import OpenImageIO as oiio

_EXR_TO_NUKE = {"R": "red", "G": "green", "B": "blue", "A": "alpha"}
_NUKE_TO_EXR = {v: k for k, v in _EXR_TO_NUKE.items()}
_TOKEN = re.compile(r"(#+|%0?(\d*)d)")


def frame_path(pattern: str, frame: int) -> str:
    m = _TOKEN.search(os.path.basename(pattern))
    if not m:
        return pattern
    head = pattern[: len(pattern) - len(os.path.basename(pattern))]
    name = os.path.basename(pattern)
    pad = len(m.group(1)) if m.group(1).startswith("#") else int(m.group(2) or 0)
    return head + name[: m.start()] + f"{frame:0{pad}d}" + name[m.end() :]


def _nuke_channel(exr: str) -> str:
    if "." in exr:
        layer, ch = exr.rsplit(".", 1)
        return f"{layer}.{_EXR_TO_NUKE.get(ch, ch)}"
    if exr in _EXR_TO_NUKE:
        return f"rgba.{_EXR_TO_NUKE[exr]}"
    return f"other.{exr}"


def _exr_channel(nuke_name: str) -> str:
    layer, ch = nuke_name.split(".", 1)
    short = _NUKE_TO_EXR.get(ch, ch)
    return short if layer == "rgba" else f"{layer}.{short}"


def _srgb_to_linear(x: np.ndarray) -> np.ndarray:
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4).astype(np.float32)


def _linear_to_srgb(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0, None)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * x ** (1 / 2.4) - 0.055).astype(np.float32)


def _colorspace(value: str, float_file: bool) -> str:
    v = value.strip()
    m = re.match(r"^default(?: \((.*)\))?$", v)
    if m:
        return "linear" if float_file else "sRGB"
    if v.lower() in ("linear", "scene_linear", "lin_rec709_scene"):
        return "linear"
    if v.lower() in ("srgb", "srgb_rec709_scene"):
        return "sRGB"
    raise NotImplementedError(f"the fake nuke only converts linear and sRGB, not {value!r}")


def _root_size() -> tuple[int, int]:
    return 1920, 1080


def info(node: object) -> tuple[int, int, int, int]:
    import nuke

    assert isinstance(node, nuke.Node)
    cls = node.Class()
    if cls == "Read":
        first, last = int(node["first"].value()), int(node["last"].value())
        pattern = str(node["file"].value())
        path = frame_path(pattern, first)
        inp = oiio.ImageInput.open(path) if pattern and os.path.isfile(path) else None
        if inp is None:
            w, h = _root_size()
        else:
            spec = inp.spec()
            w, h = spec.full_width, spec.full_height  # Nuke's format is the display window
            inp.close()
        return w, h, first, last
    if cls == "Input":
        parent = node.parent()
        up = parent.input(int(node["number"].value()))
        return info(up) if up is not None else (*_root_size(), int(nuke.root()["first_frame"].value()), int(nuke.root()["last_frame"].value()))
    if isinstance(node, nuke.Group) and not isinstance(node, nuke.Root):
        out = node.output()
        src = out.input(0) if out is not None else None
        if src is not None:
            return info(src)
    up = node.input(0)
    if up is not None:
        return info(up)
    return (*_root_size(), int(nuke.root()["first_frame"].value()), int(nuke.root()["last_frame"].value()))


def _read(node: object, frame: int) -> dict[str, np.ndarray]:
    import nuke

    assert isinstance(node, nuke.Node)
    w, h, first, last = info(node)
    if frame < first or frame > last:
        mode = str(node["before" if frame < first else "after"].value())
        if mode == "black":
            return {}
        frame = min(max(frame, first), last)
    path = frame_path(str(node["file"].value()), frame)
    inp = oiio.ImageInput.open(path) if os.path.isfile(path) else None
    if inp is None:
        if str(node["on_error"].value()) == "black":
            return {}
        raise RuntimeError(f"{node.name()}: cannot read '{path}'")
    spec = inp.spec()
    box = np.asarray(inp.read_image(0, 0, 0, spec.nchannels, oiio.FLOAT), np.float32).reshape(spec.height, spec.width, spec.nchannels)
    # Nuke's Read: the format is the display window, the bbox the data window, black outside the bbox
    data = np.zeros((spec.full_height, spec.full_width, spec.nchannels), np.float32)
    x0, y0 = spec.x - spec.full_x, spec.y - spec.full_y
    dx0, dy0 = max(x0, 0), max(y0, 0)
    dx1, dy1 = min(x0 + spec.width, spec.full_width), min(y0 + spec.height, spec.full_height)
    if dx1 > dx0 and dy1 > dy0:
        data[dy0:dy1, dx0:dx1] = box[dy0 - y0 : dy1 - y0, dx0 - x0 : dx1 - x0]
    is_float = spec.format in (oiio.TypeDesc(oiio.HALF), oiio.TypeDesc(oiio.FLOAT)) or path.lower().endswith(".exr")
    inp.close()
    out = {_nuke_channel(c): data[..., i] for i, c in enumerate(spec.channelnames)}
    if not bool(node["raw"].value()):
        if _colorspace(str(node["colorspace"].value()), is_float) == "sRGB":
            for c in ("rgba.red", "rgba.green", "rgba.blue"):
                if c in out:
                    out[c] = _srgb_to_linear(out[c])
    return out


def evaluate(node: object, frame: int) -> tuple[dict[str, np.ndarray], tuple[int, int]]:
    """The channels of ``node`` at ``frame`` and the image size ``(w, h)``."""
    import nuke

    assert isinstance(node, nuke.Node)
    w, h, _, _ = info(node)
    cls = node.Class()
    if bool(node["disable"].value()) and cls != "Read":
        up = node.input(0)
        return evaluate(up, frame) if up is not None else ({}, (w, h))
    if cls == "Read":
        return _read(node, frame), (w, h)
    if cls == "Input":
        up = node.parent().input(int(node["number"].value()))
        return evaluate(up, frame) if up is not None else ({}, (w, h))
    if isinstance(node, nuke.Group) and not isinstance(node, nuke.Root):
        out_node = node.output()
        src = out_node.input(0) if out_node is not None else None
        return evaluate(src, frame) if src is not None else ({}, (w, h))
    if cls == "Switch":
        n = node.inputs()
        up = node.input(min(int(node["which"].value()), max(n - 1, 0))) if n else None
        return evaluate(up, frame) if up is not None else ({}, (w, h))
    if cls == "Grade":
        up = node.input(0)
        chans, size = evaluate(up, frame) if up is not None else ({}, (w, h))
        gain = float(node["white"].value())
        return {k: (v * gain if k in ("rgba.red", "rgba.green", "rgba.blue") else v) for k, v in chans.items()}, size
    if cls == "Copy":
        b, size = evaluate(node.input(0), frame) if node.input(0) is not None else ({}, (w, h))
        a, _ = evaluate(node.input(1), frame) if node.input(1) is not None else ({}, (w, h))
        out = dict(b)
        zeros = np.zeros((size[1], size[0]), np.float32)
        for i in range(4):
            src, dst = str(node[f"from{i}"].value()), str(node[f"to{i}"].value())
            if src != "none" and dst != "none":
                out[dst] = a.get(src, zeros)
        layer = str(node["channels"].value())
        if layer not in ("none", ""):
            for k, v in a.items():
                if k.split(".")[0] == layer:
                    out[k] = v
        return out, size
    if cls in ("Dot", "NoOp", "Output", "Write", "CopyMetaData"):
        up = node.input(0)
        return evaluate(up, frame) if up is not None else ({}, (w, h))
    raise NotImplementedError(f"the fake nuke cannot render a {cls} node")


def write_frame(write: object, frame: int) -> str:
    import nuke

    assert isinstance(write, nuke.Node)
    pattern = str(write["file"].value())
    if not pattern:
        raise RuntimeError(f"{write.name()}: no file name")
    path = frame_path(pattern, frame)
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        if not bool(write["create_directories"].value()):
            raise RuntimeError(f"{write.name()}: folder '{folder}' does not exist")
        os.makedirs(folder, exist_ok=True)
    up = write.input(0)
    if up is None:
        raise RuntimeError(f"{write.name()}: no input connected")
    chans, (w, h) = evaluate(up, frame)
    wanted = str(write["channels"].value())
    names = {"rgba": ["rgba.red", "rgba.green", "rgba.blue", "rgba.alpha"], "rgb": ["rgba.red", "rgba.green", "rgba.blue"],
             "alpha": ["rgba.alpha"], "all": sorted(chans)}.get(wanted)
    if names is None:
        raise NotImplementedError(f"the fake Write only writes rgba, rgb, alpha or all, not {wanted!r}")
    zeros = np.zeros((h, w), np.float32)
    planes = [chans.get(n, zeros) for n in names]
    file_type = str(write["file_type"].value()).strip() or os.path.splitext(path)[1].lstrip(".").lower()
    is_png = file_type == "png"
    space = _colorspace(str(write["colorspace"].value()), not is_png)
    if space == "sRGB":
        planes = [_linear_to_srgb(p) if n in ("rgba.red", "rgba.green", "rgba.blue") else p for n, p in zip(names, planes)]
    if is_png:
        # Nuke's PNG writer: 8 or 16 bit integers, values clamped to 0..1
        fmt = {"8 bit": oiio.UINT8, "16 bit": oiio.UINT16}.get(str(write["datatype"].value()))
        if fmt is None:
            raise NotImplementedError(f"a PNG Write takes datatype '8 bit' or '16 bit', not {write['datatype'].value()!r}")
        planes = [np.clip(p, 0.0, 1.0) for p in planes]
    else:
        fmt = {"16 bit half": oiio.HALF, "32 bit float": oiio.FLOAT}.get(str(write["datatype"].value()))
        if fmt is None:
            raise NotImplementedError(f"the fake Write only writes 16 bit half or 32 bit float EXR, not {write['datatype'].value()!r}")
        if file_type not in ("exr",) and not path.endswith(".exr"):
            raise NotImplementedError("the fake Write only writes EXR or PNG")
    spec = oiio.ImageSpec(w, h, len(names), fmt)
    spec.channelnames = tuple(_exr_channel(n) for n in names)
    out = oiio.ImageOutput.create(path)
    if out is None or not out.open(path, spec):
        raise RuntimeError(f"{write.name()}: cannot write '{path}'")
    out.write_image(np.ascontiguousarray(np.stack(planes, axis=-1), np.float32))
    out.close()
    from . import _fake

    _fake.renders.append((write.fullName(), frame, path))
    return path
