"""NumPy ``.npy`` / ``.npz`` joint arrays.

Accepted shapes: ``(T, V, C)`` (one person) or ``(T, M, V, C)``; any other axis order is given
with ``axes=`` (e.g. ``axes="CTVM"`` for st-gcn/AGCN-style arrays, ``"MTVC"`` for pyskl).
The layout is given with ``layout=`` or guessed from the joint count (25 -> ``ntu25``,
17 -> ``coco17``, 18 -> ``openpose18``, 33 -> ``mediapipe33``); without ``fps=`` (or an
``fps`` entry in an ``.npz``) 30 fps is assumed with a ``FrameRateAssumedWarning``.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from skelloc.errors import SkeletonFormatError, in_cli_words
from skelloc.io._limits import MAX_ARRAY_BYTES, check_coordinates, regular_file_size
from skelloc.skeleton.layouts import LAYOUT_BY_JOINTS
from skelloc.skeleton.sequence import SkeletonSequence, assume_fps

__all__ = ["read_npy", "read_npz", "array_to_sequence", "DEFAULT_LAYOUTS"]

#: joint count -> layout name used when ``layout=`` is not given (the skeleton package's table)
DEFAULT_LAYOUTS = LAYOUT_BY_JOINTS

_MAX_DEFLATE_RATIO = 1040
_NPZ_KEYS = ("joints", "skeleton", "keypoint", "keypoints", "data", "x", "arr_0")


def _canonical_axes(arr: np.ndarray, axes: str | None, path: Path) -> np.ndarray:
    if axes is None:
        axes = {3: "TVC", 4: "TMVC"}.get(arr.ndim)
        if axes is None:
            raise SkeletonFormatError(
                f"array of shape {arr.shape}: expected (T, V, C) or (T, M, V, C), "
                "or pass axes=... (e.g. 'CTVM')", path=path)
    axes = axes.upper()
    if sorted(axes) not in (sorted("TVC"), sorted("TMVC")) or len(axes) != arr.ndim:
        raise SkeletonFormatError(
            f"axes={axes!r} does not describe an array of shape {arr.shape} "
            "(use the letters T, M, V, C once each)", path=path)
    if "M" not in axes:
        arr = arr[..., None]
        axes += "M"
    return np.transpose(arr, [axes.index(a) for a in "TMVC"])


def _finite_fps(value: Any, path: Path) -> float:
    try:
        fps = float(value)
    except (TypeError, ValueError, OverflowError):
        raise SkeletonFormatError(f"fps must be a number, got {str(value)[:40]!r}",
                              path=path) from None
    if not 0 < fps <= 100_000:
        raise SkeletonFormatError(f"fps must be positive and finite, got {fps}", path=path)
    return fps


def array_to_sequence(arr: Any, path: Path, *, fps: float | None = None,
                      layout: str | None = None, axes: str | None = None,
                      confidence: bool = False, meta: dict[str, Any] | None = None,
                      ) -> SkeletonSequence:
    """Validate an array and wrap it into a :class:`SkeletonSequence`."""
    arr = np.asarray(arr)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number)
                                   or arr.dtype == np.bool_):
        raise SkeletonFormatError(f"non-numeric array (dtype {arr.dtype})", path=path)
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise SkeletonFormatError(f"complex array (dtype {arr.dtype}): coordinates are real",
                                  path=path)
    canonical = _canonical_axes(arr, axes, path)
    check_coordinates(canonical, path, nan_ok=True)  # NaN marks missing joints (nonfinite=)
    joints = canonical.astype(np.float32)
    t, m, v, c = joints.shape
    if t == 0:
        raise SkeletonFormatError("array holds zero frames", path=path)
    if v == 0 or c == 0 or m == 0:
        raise SkeletonFormatError(f"array of shape (T, M, V, C)={joints.shape} is empty",
                                  path=path)
    if layout is None:
        layout = DEFAULT_LAYOUTS.get(v)
        if layout is None:
            raise in_cli_words(SkeletonFormatError(
                f"{v} joints match no known layout ({sorted(DEFAULT_LAYOUTS)}); "
                "pass layout=...", path=path), ("pass layout=...", "pass --layout NAME"))
    fps = assume_fps() if fps is None else _finite_fps(fps, path)
    info = dict(meta or {})
    if confidence:
        info["confidence"] = True
    return SkeletonSequence(np.ascontiguousarray(joints), layout=layout, fps=fps, meta=info)


def _npy_header(fh: BinaryIO, path: Path, text: bool = False,
                ) -> tuple[tuple[int, ...], np.dtype[Any], int]:
    """Shape, dtype and payload bytes declared by an ``.npy`` header (nothing allocated)."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = fmt.read_array_header_1_0(fh)
        elif version in ((2, 0), (3, 0)):
            shape, _, dtype = fmt.read_array_header_2_0(fh)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except Exception as err:  # noqa: BLE001 - numpy parses the header with tokenize/ast
        raise SkeletonFormatError(f"not a valid .npy array ({_first_line(err)})",
                                  path=path) from None
    if text and dtype.kind in "US":
        pass
    elif dtype.hasobject or not (np.issubdtype(dtype, np.number) or dtype == np.bool_):
        raise SkeletonFormatError(f"non-numeric array (dtype {dtype})", path=path)
    if np.issubdtype(dtype, np.complexfloating):
        raise SkeletonFormatError(f"complex array (dtype {dtype}): coordinates are real",
                                  path=path)
    nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
    return tuple(shape), dtype, nbytes


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0][:200]


def _check_declared(nbytes: int, available: int, shape: tuple[int, ...], path: Path,
                    where: str) -> None:
    if nbytes > available:
        raise SkeletonFormatError(
            f"{where}header declares shape {shape} ({nbytes} bytes) but holds only "
            f"{available} bytes of data", path=path)
    if nbytes > MAX_ARRAY_BYTES:
        raise SkeletonFormatError(f"{where}array of {nbytes} bytes is larger than the "
                                  f"{MAX_ARRAY_BYTES}-byte limit", path=path)


def read_npy(path: Path, *, fps: float | None = None, layout: str | None = None,
             axes: str | None = None, confidence: bool = False) -> SkeletonSequence:
    """Read a ``.npy`` joints array (pickled object arrays are refused; the header's shape
    is checked against the file's length before anything is allocated)."""
    size = regular_file_size(path, 2 * MAX_ARRAY_BYTES, ".npy array")
    with open(path, "rb") as fh:
        shape, _, nbytes = _npy_header(fh, path)
        _check_declared(nbytes, size - fh.tell(), shape, path, "")
    try:
        arr = np.load(path, allow_pickle=False, mmap_mode=None)
    except ValueError as err:
        raise SkeletonFormatError(f"not a plain numeric .npy array ({_first_line(err)})",
                                  path=path) from None
    except (OSError, EOFError) as err:
        raise SkeletonFormatError(f"not a valid .npy file ({_first_line(err)})",
                                  path=path) from None
    if not isinstance(arr, np.ndarray):
        raise SkeletonFormatError("not a .npy array", path=path)
    return array_to_sequence(arr, path, fps=fps, layout=layout, axes=axes,
                             confidence=confidence)


def _npz_entry(archive: zipfile.ZipFile, name: str, path: Path, text: bool = False,
               ) -> np.ndarray:
    """One array of an ``.npz``, its header checked against the entry's declared length."""
    info = archive.getinfo(name + ".npy")
    # deflate expands at most ~1032x: a larger declared length is a lie (or a zip bomb)
    ratio = 1 if info.compress_type == zipfile.ZIP_STORED else _MAX_DEFLATE_RATIO
    declared = min(info.file_size, ratio * info.compress_size)
    with archive.open(info) as fh:
        shape, _, nbytes = _npy_header(fh, path, text)  # type: ignore[arg-type]
        _check_declared(nbytes, declared - fh.tell(), shape, path, f"entry {name!r}: ")
    with archive.open(info) as fh:
        return np.lib.format.read_array(fh, allow_pickle=False)  # type: ignore[arg-type,unused-ignore]


def _scalar(arr: np.ndarray, path: Path, name: str) -> Any:
    flat = np.asarray(arr).reshape(-1)
    if flat.size == 0:
        raise SkeletonFormatError(f"entry {name!r} is empty", path=path)
    return flat[0]


def read_npz(path: Path, *, key: str | None = None, fps: float | None = None,
             layout: str | None = None, axes: str | None = None,
             confidence: bool | None = None) -> SkeletonSequence:
    """Read a ``.npz`` archive.

    The joints come from ``key`` or the first of ``joints, skeleton, keypoint, keypoints, data,
    x, arr_0`` present (or the only array).  Optional scalar entries ``fps`` and ``layout`` are
    used unless overridden.  A pyskl-style archive (``keypoint`` ``(M, T, V, C)`` plus
    ``keypoint_score`` ``(M, T, V)``) gets the scores as a confidence channel.  Each entry's
    declared shape is checked against its declared uncompressed length (and
    :data:`~skelloc.io._limits.MAX_ARRAY_BYTES`) before it is decompressed.
    """
    regular_file_size(path, 2 * MAX_ARRAY_BYTES, ".npz archive")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError,
            UnicodeDecodeError, KeyError, IndexError, TypeError) as err:
        raise SkeletonFormatError(f"not a valid .npz archive ({_first_line(err)})",
                                  path=path) from None
    with archive:
        names = [n[:-4] for n in archive.namelist() if n.endswith(".npy")]
        if key is None:
            key = next((k for k in _NPZ_KEYS if k in names), None)
            if key is None and len(names) == 1:
                key = names[0]
        if key is None or key not in names:
            raise SkeletonFormatError(
                f"no joints array (looked for key {key or ' / '.join(_NPZ_KEYS)}); "
                f"archive holds {names}; pass key=...", path=path)
        try:
            arr = _npz_entry(archive, key, path)
            if fps is None and "fps" in names:
                fps = _finite_fps(_scalar(_npz_entry(archive, "fps", path), path, "fps"), path)
            if fps is None and "mocap_framerate" in names:
                fps = _finite_fps(_scalar(_npz_entry(archive, "mocap_framerate", path), path,
                                          "mocap_framerate"), path)
            if layout is None and "layout" in names:
                layout = str(_scalar(_npz_entry(archive, "layout", path, text=True), path, "layout"))
            scores = _npz_entry(archive, "keypoint_score", path) if key == "keypoint" and \
                "keypoint_score" in names else None
        except SkeletonFormatError:
            raise
        except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, IndexError,
                KeyError, TypeError, NotImplementedError, RuntimeError) as err:
            raise SkeletonFormatError(f"corrupt .npz entry ({_first_line(err)})",
                                      path=path) from None
    if scores is not None and arr.ndim == 4 and axes is None:
        axes = "MTVC"
        if scores.shape != arr.shape[:3]:
            raise SkeletonFormatError(
                f"keypoint_score shape {scores.shape} does not match keypoint {arr.shape}",
                path=path)
        arr = np.concatenate([arr, scores[..., None]], axis=-1)
        confidence = True if confidence is None else confidence
    return array_to_sequence(arr, path, fps=fps, layout=layout, axes=axes,
                             confidence=bool(confidence), meta={"npz_key": key})
