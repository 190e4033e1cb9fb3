"""Colour management through OCIO (via OpenImageIO's ColorConfig).

Scene-linear inputs are converted to a display-referred working space (sRGB by default) before models see them.
The config is the job's ``color.ocio_config``, else ``$OCIO``, else OCIO's built-in studio config
(:data:`BUILTIN_CONFIG`, ``ocio://studio-config-latest``: ACES, the camera log spaces and ``Camera Rec.709``).
Untagged EXR/HDR files are in the config's ``scene_linear`` role (ACEScg in the built-in config; whatever the
studio's config says otherwise); PNG/JPEG/TIFF/DPX are taken as sRGB unless the file or the job says otherwise.

Plates are converted through tables baked once per job (:func:`convert`). The tables are baked with
PyOpenColorIO processors from one loaded config where PyOpenColorIO knows both names (:func:`_ocio_baked`;
the same OCIO transform, a few ms), else by OIIO's ``colorconvert`` (which loads the config again on every call,
~60 ms each). Built-in ``ocio://...-latest`` / ``ocio://default`` configs are pinned to the version OIIO's own
OCIO library resolves them to, so both paths use the same config.
"""

from __future__ import annotations

import functools
import os
import re
import threading
from typing import Any

import cv2
import numpy as np
import OpenImageIO as oiio

from ..cvcompat import to_float32, to_half
from ..errors import FrameError, SpecError

_LINEAR_EXTS = {".exr", ".hdr", ".sxr", ".mxr"}
BUILTIN_CONFIG = "ocio://studio-config-latest"
"""The config used when neither the job nor ``$OCIO`` names one (OCIO >= 2.2 built-in; OIIO resolves the URI)."""

SCENE_LINEAR = "scene_linear"
"""The role untagged scene-linear files (EXR, HDR) are read in."""

# Names that are the same space whatever the config (the role ``scene_linear`` is not: ACEScg in ACES configs).
_LINEAR_NAMES = {"lin_rec709", "lin_rec709_scene", "lin_srgb", "linear rec.709 (srgb)"}
_SRGB_NAMES = {"srgb", "srgb_rec709_scene", "srgb_texture", "srgb encoded rec.709 (srgb)", "srgb - display"}


@functools.lru_cache(maxsize=32)
def _config_error(path: str, env_ocio: str | None) -> str:
    """Why the config cannot be loaded ("" when it can). Only the verdict is cached: nanobind reports OIIO objects
    still alive at interpreter exit as leaks. A config PyOpenColorIO loads (:func:`_ocio_config`) is not loaded a
    second time by OIIO just to be checked (~50 ms)."""
    if _ocio_config(path or env_ocio or BUILTIN_CONFIG) is not None:
        return ""
    cfg = oiio.ColorConfig(path or env_ocio or BUILTIN_CONFIG)
    err = cfg.geterror() if hasattr(cfg, "geterror") else ""
    del cfg
    return str(err or "")


def config_in_use(path: str | None = None) -> str:
    """The config a conversion uses: ``path``, else ``$OCIO``, else :data:`BUILTIN_CONFIG`."""
    return path or os.environ.get("OCIO") or BUILTIN_CONFIG


def color_config(path: str | None = None) -> oiio.ColorConfig:
    """The OCIO config: ``path``, else ``$OCIO``, else OCIO's built-in studio config (:data:`BUILTIN_CONFIG`).

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
    return oiio.ColorConfig(path or env or BUILTIN_CONFIG)


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
    return f"$OCIO={env}" if env else f"{BUILTIN_CONFIG} (OCIO built-in)"


def guess_colorspace(path: str, file_colorspace: str | None) -> str:
    """The colour space of ``path`` under ``input_colorspace="auto"``.

    The file's own ``oiio:ColorSpace`` wins when it names a space; else EXR/HDR are in the config's
    ``scene_linear`` role (:data:`SCENE_LINEAR`; the role is resolved by the config at conversion time) and
    everything else sRGB.
    """
    if file_colorspace:
        return file_colorspace
    ext = os.path.splitext(path)[1].lower()
    return SCENE_LINEAR if ext in _LINEAR_EXTS else "srgb_rec709_scene"


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
        ocio_config: config path or ``ocio://`` URI; ``None`` = ``$OCIO``, else :data:`BUILTIN_CONFIG`.
        path, frame: named in errors.

    Returns:
        ``(H, W, C)`` float32 in ``dst``.
    """
    if pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
        raise ValueError(f"convert expects (H, W, 3|4) pixels, got {pixels.shape}")
    if _same_space(src, dst):
        return pixels
    # $OCIO is passed explicitly: OIIO reads it only once per process, when its default config is first built.
    config = config_in_use(ocio_config)
    with _BAKE_LOCK:  # one thread loads/bakes, the others wait for it (lru_cache alone lets concurrent misses run twice)
        check_config(ocio_config)  # a broken config is a clear error, not a silent fall-back
        lut = _channel_lut(src, dst, config)
        gamut = _matrix_then_lut(src, dst, config) if lut is None else None
    if lut is not None:
        rgb = np.take(lut, to_half(np.ascontiguousarray(pixels[..., :3])).view(np.uint16))
        return np.concatenate([rgb, pixels[..., 3:]], axis=2) if pixels.shape[2] == 4 else rgb
    if gamut is not None:
        matrix, curve = gamut
        lin = cv2.transform(to_float32(np.ascontiguousarray(pixels[..., :3])), matrix.T)  # rgb @ matrix, SIMD
        rgb = np.take(curve, to_half(lin).view(np.uint16))
        return np.concatenate([rgb, pixels[..., 3:].astype(np.float32)], axis=2) if pixels.shape[2] == 4 else rgb
    return _colorconvert(pixels, src, dst, config, ocio_config=ocio_config, path=path, frame=frame)


_BAKE_LOCK = threading.Lock()

# Rows of the sample every table is baked from (:func:`_sample`).
_EYE = slice(0, 3)  # the unit colours: a linear transform's matrix
_GREY = slice(_EYE.stop, _EYE.stop + 65536)  # every half value, as grey: the 1-D table
_CHECK = slice(_GREY.stop, _GREY.stop + 4096)  # random half colours: the table's check
_PROBE = slice(_CHECK.stop, _CHECK.stop + 2048)  # random float colours: the matrix's and the composite's check


@functools.lru_cache(maxsize=1)
def _sample() -> np.ndarray:
    """``(1, 71683, 3)`` float32: the colours :func:`_channel_lut` and :func:`_matrix_then_lut` need converted, in one
    row so that one OIIO call converts them all (a call costs ~60 ms whatever its size: OIIO loads the config for
    each, so six calls per source/destination pair were most of a job's start-up)."""
    halves = np.arange(65536, dtype=np.uint16).view(np.float16).astype(np.float32)
    halves = np.where(np.isfinite(halves), halves, 0.0).astype(np.float32)
    rng = np.random.default_rng(0)
    check = rng.uniform(-0.05, 8.0, (4096, 3)).astype(np.float16).astype(np.float32)
    check[:64] = rng.uniform(0.0, 1.0, (64, 1)).astype(np.float16).astype(np.float32) * np.array([1.0, 0.0, 0.5], np.float32)
    probe = np.random.default_rng(1).uniform(-0.02, 4.0, (2048, 3)).astype(np.float32)
    rows = np.concatenate([np.eye(3, dtype=np.float32), np.repeat(halves[:, None], 3, axis=1), check, probe])
    return np.ascontiguousarray(rows[None], dtype=np.float32)


@functools.lru_cache(maxsize=16)
def _baked(src: str, dst: str, config: str) -> np.ndarray:
    """:func:`_sample` converted ``src -> dst`` by the full OCIO transform, ``(71683, 3)`` (read-only by convention):
    a PyOpenColorIO processor when it knows both names (:func:`_ocio_baked`), else OIIO's ``colorconvert``.

    Raises:
        FrameError: the config does not know a name.
    """
    baked = _ocio_baked(src, dst, config)
    return baked if baked is not None else _colorconvert(_sample(), src, dst, config)[0]


try:  # the ASWF bindings (pip: opencolorio), a dependency; without them OIIO bakes every table
    import PyOpenColorIO as _ocio
except ImportError:  # pragma: no cover
    _ocio = None

_BUILTIN_URI = re.compile(r"^ocio://(?P<family>[a-z]+-config)-latest$|^ocio://default$")
_BUILTIN_VERSION = re.compile(r"_ocio-v(\d+)\.(\d+)$")

#: OIIO's informal names (``ColorConfig::resolve``) for spaces a built-in config names otherwise.
_INFORMAL = {"srgb": "srgb_rec709_scene", "linear": "lin_rec709_scene", "lin_srgb": "lin_rec709_scene", "lin_rec709": "lin_rec709_scene"}


def _pinned(config: str) -> str | None:
    """``config`` as PyOpenColorIO should load it to get the config OIIO uses.

    ``ocio://studio-config-latest``, ``ocio://cg-config-latest`` and ``ocio://default`` mean the newest built-in
    config *of the OCIO library that loads them*: OIIO's bundled OCIO may be older than PyOpenColorIO (2.5.1 vs
    2.6 here: studio config v4 vs v5), so the URI is pinned to the newest built-in whose ``_ocio-vX.Y`` is not above
    OIIO's OCIO version. Returns ``None`` when that cannot be decided (OIIO then does the work).
    """
    m = _BUILTIN_URI.match(config)
    if m is None:
        return config
    family = m.group("family") or "cg-config"
    try:
        major, minor = (int(v) for v in str(oiio.get_string_attribute("opencolorio_version")).split(".")[:2])
    except ValueError:
        return None
    best: tuple[tuple[int, int], str] | None = None
    for name in _ocio.BuiltinConfigRegistry():  # type: ignore[union-attr]
        v = _BUILTIN_VERSION.search(str(name))
        if str(name).startswith(family + "-v") and v and (int(v.group(1)), int(v.group(2))) <= (major, minor):
            key = (int(v.group(1)), int(v.group(2)))
            if best is None or (key, str(name)) > best:
                best = (key, str(name))
    return f"ocio://{best[1]}" if best else None


@functools.lru_cache(maxsize=8)
def _ocio_config(config: str) -> Any | None:
    """PyOpenColorIO's load of ``config`` (``None``: not installed, or it cannot load it: OIIO does the work)."""
    if _ocio is None or not config:
        return None
    uri = _pinned(config)
    if uri is None:
        return None
    try:
        return _ocio.Config.CreateFromFile(uri)
    except Exception:  # noqa: BLE001 - any failure: OIIO loads it (and reports the error)
        return None


def _ocio_name(cfg: Any, name: str, builtin: bool) -> str | None:
    """The colour space ``name`` names in ``cfg`` (name, role or alias), or ``None``. OIIO's informal names
    (:data:`_INFORMAL`) are taken only for OCIO's built-in configs, where the test suite checks them against OIIO."""
    cs = cfg.getColorSpace(name)
    if cs is None and builtin and name.lower() in _INFORMAL:
        cs = cfg.getColorSpace(_INFORMAL[name.lower()])
    return str(cs.getName()) if cs is not None else None


def _ocio_baked(src: str, dst: str, config: str) -> np.ndarray | None:
    """:func:`_sample` converted ``src -> dst`` by a PyOpenColorIO CPU processor (the same OCIO transform OIIO's
    ``colorconvert`` applies, without loading the config again), or ``None`` when PyOpenColorIO cannot load the
    config or resolve a name (the caller asks OIIO)."""
    cfg = _ocio_config(config)
    if cfg is None:
        return None
    builtin = config.startswith("ocio://")
    s, d = _ocio_name(cfg, src, builtin), _ocio_name(cfg, dst, builtin)
    if s is None or d is None:
        return None
    try:
        proc = cfg.getProcessor(s, d).getDefaultCPUProcessor()
        out = np.array(_sample()[0], dtype=np.float32, order="C")
        proc.applyRGB(out)
    except Exception:  # noqa: BLE001 - e.g. a LUT file missing: OIIO gives the error
        return None
    return out


@functools.lru_cache(maxsize=16)
def _channel_lut(src: str, dst: str, config: str) -> np.ndarray | None:
    """A lookup table indexed by half-float bit patterns that reproduces the OCIO transform ``src -> dst``.

    Most plate conversions (scene-linear Rec.709 -> sRGB, log -> sRGB) are the same 1-D curve on each channel.
    The table is baked by running the real OCIO transform on all 65,536 half values, then checked against the full
    transform on random colours; transforms that mix channels (gamut matrices, looks) fail the check and return
    ``None``, and the caller uses the full OCIO path. Plates are half-float, so the table is exact for them.
    """
    try:
        baked = _baked(src, dst, config)
    except FrameError:
        return None
    grey = baked[_GREY]
    if not (np.array_equal(grey[:, 0], grey[:, 1]) and np.array_equal(grey[:, 0], grey[:, 2])):
        return None
    lut = np.ascontiguousarray(grey[:, 0], dtype=np.float32)
    probe = _sample()[0, _CHECK]
    exact = baked[_CHECK]
    via_lut = lut[probe.astype(np.float16).view(np.uint16)]
    ok = np.isfinite(exact) & np.isfinite(via_lut)
    if not ok.all() or not np.allclose(exact, via_lut, rtol=1e-4, atol=1e-5):
        return None
    return lut


#: Linear Rec.709 under the names configs give it: the hub :func:`_matrix_then_lut` tries for gamut conversions.
_LINEAR_HUBS = ("lin_rec709_scene", "Linear Rec.709 (sRGB)", "lin_rec709")


@functools.lru_cache(maxsize=16)
def _matrix_then_lut(src: str, dst: str, config: str) -> tuple[np.ndarray, np.ndarray] | None:
    """A 3x3 matrix and a half-indexed curve that reproduce ``src -> dst`` as ``curve[(rgb @ matrix)]``.

    Scene-linear plates in ACES configs (``scene_linear`` = ACEScg) go to a display space through a gamut matrix to
    linear Rec.709 and then the same 1-D curve on each channel; :func:`_channel_lut` alone refuses them because the
    matrix mixes channels, and the full OIIO path costs ~13x the table at 1080p. The matrix is read off OCIO by
    converting the unit colours ``src -> linear Rec.709``, checked to be linear on random colours, the curve is
    :func:`_channel_lut` of ``linear Rec.709 -> dst``, and the composite is checked against the full transform.
    The intermediate is half-float, as the curve's index, so results agree to ~1e-3 relative (8-bit display
    output is unaffected). Returns ``None`` when any check fails; the caller then uses the full OCIO path.
    """
    probe = _sample()[0, _PROBE]
    for hub in _LINEAR_HUBS:
        try:
            to_hub = _baked(src, hub, config)
        except FrameError:
            continue
        matrix = to_hub[_EYE].copy()
        if not np.allclose(probe @ matrix, to_hub[_PROBE], rtol=1e-4, atol=1e-6):
            return None
        curve = _channel_lut(hub, dst, config)
        if curve is None:
            return None
        try:
            exact = _baked(src, dst, config)[_PROBE]
        except FrameError:
            return None
        via = curve[(probe @ matrix).astype(np.float16).view(np.uint16)]
        if np.isfinite(exact).all() and np.allclose(exact, via, rtol=2e-3, atol=2e-4):
            return np.ascontiguousarray(matrix, dtype=np.float32), curve
        return None
    return None


def _colorconvert(
    pixels: np.ndarray,
    src: str,
    dst: str,
    config: str,
    *,
    ocio_config: str | None = None,
    path: str | None = None,
    frame: int | None = None,
) -> np.ndarray:
    """The full OCIO conversion through OIIO's ``ImageBufAlgo.colorconvert``."""
    h, w, c = pixels.shape
    buf = oiio.ImageBuf(oiio.ImageSpec(w, h, c, oiio.FLOAT))
    buf.set_pixels(oiio.ROI(0, w, 0, h, 0, 1, 0, c), np.ascontiguousarray(pixels, dtype=np.float32))
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
