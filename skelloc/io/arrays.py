"""NumPy ``.npy`` / ``.npz`` joint arrays.

Accepted shapes: ``(T, V, C)`` (one person) or ``(T, M, V, C)``; any other axis order is given
with ``axes=`` (e.g. ``axes="CTVM"`` for st-gcn/AGCN-style arrays, ``"MTVC"`` for pyskl).
The layout is given with ``layout=`` or guessed from the joint count (25 -> ``ntu25``,
17 -> ``coco17``, 18 -> ``openpose18``, 33 -> ``mediapipe33``); without ``fps=`` (or an
``fps`` entry in an ``.npz``) 30 fps is assumed with a ``FrameRateAssumedWarning``.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from skelloc.errors import SkeletonFormatError
from skelloc.skeleton.sequence import SkeletonSequence, assume_fps

__all__ = ["read_npy", "read_npz", "array_to_sequence", "DEFAULT_LAYOUTS"]

#: joint count -> layout name used when ``layout=`` is not given
DEFAULT_LAYOUTS: dict[int, str] = {25: "ntu25", 17: "coco17", 18: "openpose18", 33: "mediapipe33"}

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


def array_to_sequence(arr: Any, path: Path, *, fps: float | None = None,
                      layout: str | None = None, axes: str | None = None,
                      confidence: bool = False, meta: dict[str, Any] | None = None,
                      ) -> SkeletonSequence:
    """Validate an array and wrap it into a :class:`SkeletonSequence`."""
    arr = np.asarray(arr)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number)
                                   or arr.dtype == np.bool_):
        raise SkeletonFormatError(f"non-numeric array (dtype {arr.dtype})", path=path)
    joints = _canonical_axes(arr, axes, path).astype(np.float32)
    t, m, v, c = joints.shape
    if t == 0:
        raise SkeletonFormatError("array holds zero frames", path=path)
    if v == 0 or c == 0 or m == 0:
        raise SkeletonFormatError(f"array of shape (T, M, V, C)={joints.shape} is empty",
                                  path=path)
    if layout is None:
        layout = DEFAULT_LAYOUTS.get(v)
        if layout is None:
            raise SkeletonFormatError(
                f"{v} joints match no known layout ({sorted(DEFAULT_LAYOUTS)}); "
                "pass layout=...", path=path)
    fps = assume_fps() if fps is None else float(fps)
    if not fps > 0:
        raise SkeletonFormatError(f"fps must be positive, got {fps}", path=path)
    info = dict(meta or {})
    if confidence:
        info["confidence"] = True
    return SkeletonSequence(np.ascontiguousarray(joints), layout=layout, fps=fps, meta=info)


def read_npy(path: Path, *, fps: float | None = None, layout: str | None = None,
             axes: str | None = None, confidence: bool = False) -> SkeletonSequence:
    """Read a ``.npy`` joints array (pickled object arrays are refused)."""
    try:
        arr = np.load(path, allow_pickle=False, mmap_mode=None)
    except ValueError as err:
        raise SkeletonFormatError(f"not a plain numeric .npy array ({err})", path=path) from None
    except (OSError, EOFError) as err:
        raise SkeletonFormatError(f"not a valid .npy file ({err})", path=path) from None
    if not isinstance(arr, np.ndarray):
        raise SkeletonFormatError("not a .npy array", path=path)
    return array_to_sequence(arr, path, fps=fps, layout=layout, axes=axes,
                             confidence=confidence)


def read_npz(path: Path, *, key: str | None = None, fps: float | None = None,
             layout: str | None = None, axes: str | None = None,
             confidence: bool | None = None) -> SkeletonSequence:
    """Read a ``.npz`` archive.

    The joints come from ``key`` or the first of ``joints, skeleton, keypoint, keypoints, data,
    x, arr_0`` present (or the only array).  Optional scalar entries ``fps`` and ``layout`` are
    used unless overridden.  A pyskl-style archive (``keypoint`` ``(M, T, V, C)`` plus
    ``keypoint_score`` ``(M, T, V)``) gets the scores as a confidence channel.
    """
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise SkeletonFormatError(f"not a valid .npz archive ({err})", path=path) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise SkeletonFormatError("not an .npz archive", path=path)
    with archive:
        names = list(archive.files)
        if key is None:
            key = next((k for k in _NPZ_KEYS if k in names), None)
            if key is None and len(names) == 1:
                key = names[0]
        if key is None or key not in names:
            raise SkeletonFormatError(
                f"no joints array (looked for key {key or ' / '.join(_NPZ_KEYS)}); "
                f"archive holds {names}; pass key=...", path=path)
        try:
            arr = archive[key]
            if fps is None and "fps" in names:
                fps = float(np.asarray(archive["fps"]).reshape(-1)[0])
            if fps is None and "mocap_framerate" in names:
                fps = float(np.asarray(archive["mocap_framerate"]).reshape(-1)[0])
            if layout is None and "layout" in names:
                layout = str(np.asarray(archive["layout"]).reshape(-1)[0])
            scores = archive["keypoint_score"] if key == "keypoint" and \
                "keypoint_score" in names else None
        except (ValueError, OSError, EOFError, zipfile.BadZipFile, IndexError) as err:
            raise SkeletonFormatError(f"corrupt .npz entry ({err})", path=path) from None
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
