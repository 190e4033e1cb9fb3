"""Colour management through OCIO (via OpenImageIO's ColorConfig).

Scene-linear inputs are converted to a display-referred working space (sRGB by default) before models see them.
``$OCIO`` is honoured; without it OIIO's built-in config is used. PNG/JPEG/TIFF/DPX are taken as sRGB unless the file
or the job says otherwise.
"""

from __future__ import annotations

import functools
import os

import numpy as np
import OpenImageIO as oiio

from ..errors import FrameError, SpecError

_LINEAR_EXTS = {".exr", ".hdr", ".sxr", ".mxr"}
_LINEAR_NAMES = {"linear", "scene_linear", "lin_rec709", "lin_rec709_scene", "lin_srgb", "linear rec.709 (srgb)"}
_SRGB_NAMES = {"srgb", "srgb_rec709_scene", "srgb_texture", "srgb encoded rec.709 (srgb)", "srgb - display"}


@functools.lru_cache(maxsize=32)
def _config_error(path: str, env_ocio: str | None) -> str:
    """Why the config cannot be loaded ("" when it can). Only the verdict is cached: nanobind reports OIIO objects
    still alive at interpreter exit as leaks."""
    cfg = oiio.ColorConfig(path or env_ocio or "")
    err = cfg.geterror() if hasattr(cfg, "geterror") else ""
    del cfg
    return str(err or "")


def color_config(path: str | None = None) -> oiio.ColorConfig:
    """The OCIO config: ``path``, else ``$OCIO``, else OIIO's built-in one (``ocio://default``).

    ``ocio://`` URIs of OCIO's built-in configs are accepted as ``path``.

    Raises:
        SpecError: naming ``color.ocio_config`` (or ``$OCIO``) when the config cannot be loaded. A broken ``$OCIO``
            is an error, not a silent fall-back to the built-in config: colours would be wrong without a word.
    """
    env = os.environ.get("OCIO") or None
    err = _config_error(path or "", env)
    if err:
        if path:
            raise SpecError("color.ocio_config", f"cannot load OCIO config '{path}': {err}")
        raise SpecError("$OCIO", f"cannot load the OCIO config '{env}' named by $OCIO: {err}. Fix or unset $OCIO.")
    return oiio.ColorConfig(path or env or "")


def check_config(path: str | None = None) -> None:
    """Raise the :class:`SpecError` of :func:`color_config` when the config cannot be loaded (cached)."""
    env = os.environ.get("OCIO") or None
    if not _config_error(path or "", env):
        return
    color_config(path)


def config_name(path: str | None = None) -> str:
    """A short description of the config in use (for metadata, logs and errors)."""
    if path:
        return path
    env = os.environ.get("OCIO")
    return f"$OCIO={env}" if env else "ocio://default (OIIO built-in)"


def guess_colorspace(path: str, file_colorspace: str | None) -> str:
    """The colour space of ``path`` under ``input_colorspace="auto"``.

    The file's own ``oiio:ColorSpace`` wins when it names a space; else EXR/HDR are scene-linear Rec.709 and
    everything else sRGB.
    """
    if file_colorspace:
        return file_colorspace
    ext = os.path.splitext(path)[1].lower()
    return "lin_rec709_scene" if ext in _LINEAR_EXTS else "srgb_rec709_scene"


def _same_space(a: str, b: str) -> bool:
    la, lb = a.lower(), b.lower()
    if la == lb:
        return True
    return (la in _SRGB_NAMES and lb in _SRGB_NAMES) or (la in _LINEAR_NAMES and lb in _LINEAR_NAMES)


def convert(
    pixels: np.ndarray,
    src: str,
    dst: str,
    *,
    ocio_config: str | None = None,
    path: str | None = None,
    frame: int | None = None,
) -> np.ndarray:
    """Convert RGB(A) pixels between two colour spaces.

    Args:
        pixels: ``(H, W, C)`` float32, C in {3, 4}; alpha is passed through unchanged.
        src: source colour space name (OCIO name, role or alias).
        dst: destination colour space name.
        ocio_config: config path; ``None`` = ``$OCIO`` or built-in.
        path, frame: named in errors.

    Returns:
        ``(H, W, C)`` float32 in ``dst``.
    """
    if pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
        raise ValueError(f"convert expects (H, W, 3|4) pixels, got {pixels.shape}")
    if _same_space(src, dst):
        return pixels
    check_config(ocio_config)  # a broken config is a clear error, not a silent fall-back
    h, w, c = pixels.shape
    buf = oiio.ImageBuf(oiio.ImageSpec(w, h, c, oiio.FLOAT))
    buf.set_pixels(oiio.ROI(0, w, 0, h, 0, 1, 0, c), np.ascontiguousarray(pixels, dtype=np.float32))
    # $OCIO is passed explicitly: OIIO reads it only once per process, when its default config is first built.
    config = ocio_config or os.environ.get("OCIO") or ""
    out = oiio.ImageBufAlgo.colorconvert(buf, src, dst, True, "", "", config)
    if out.has_error:
        raise FrameError(
            f"cannot convert colour space {src!r} -> {dst!r} with the OCIO config {config_name(ocio_config)}: "
            f"{out.geterror()}. Set the input colour space (--colorspace, color.input_colorspace) and/or the "
            "working space (color.working_colorspace) to names this config knows.",
            frame=frame,
            path=path,
        )
    result = out.get_pixels(oiio.FLOAT)
    if result is None:  # pragma: no cover - OIIO reported no error but produced nothing
        raise FrameError(f"colour conversion {src!r} -> {dst!r} produced no pixels", frame=frame, path=path)
    return np.asarray(result, np.float32).reshape(h, w, c)
