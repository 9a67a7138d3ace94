"""Frame-rate conversion and frame/second bookkeeping.

Convention: frame ``i`` of a recording at ``fps`` starts at ``i / fps`` seconds and covers
``[i / fps, (i + 1) / fps)``.  A recording of ``T`` frames lasts ``T / fps`` seconds, so
resampling keeps the duration: ``resampled_length(1200, 120, 30) == 300``, and the output frame
``k`` is the input at time ``k / dst_fps`` (input position ``k * src_fps / dst_fps``), linearly
interpolated between the two neighbouring input frames (the last input frame is held past the
end when upsampling).  ``map_frames(300, 30, 120) == 1200``: frame 300 at 30 fps starts at the
same instant as frame 1200 at 120 fps.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, overload

import numpy as np

from skelloc.errors import ConfigError, ShapeError

if TYPE_CHECKING:
    from skelloc.skeleton.sequence import SkeletonSequence

__all__ = [
    "resample",
    "resample_sequence",
    "resampled_length",
    "map_frames",
    "frames_to_seconds",
    "seconds_to_frames",
]

_TOL = 1e-9
_ROUNDING = ("floor", "round", "ceil", "none")


def _check_fps(*fps: float) -> None:
    for f in fps:
        ok = isinstance(f, (int, float, np.integer, np.floating)) and not isinstance(f, bool)
        if not ok or not math.isfinite(f) or f <= 0:
            raise ConfigError(f"frame rates must be finite and > 0, got {f!r}")


def resampled_length(num_frames: int, src_fps: float, dst_fps: float) -> int:
    """Number of frames after resampling ``num_frames`` from ``src_fps`` to ``dst_fps``.

    The frames ``k >= 0`` with ``k / dst_fps < num_frames / src_fps``, i.e.
    ``ceil(num_frames * dst_fps / src_fps)`` (with a float tolerance, so 1200 @ 120 -> 300 @ 30).
    """
    _check_fps(src_fps, dst_fps)
    if num_frames < 0:
        raise ConfigError(f"num_frames must be >= 0, got {num_frames}")
    if num_frames == 0:
        return 0
    exact = num_frames * float(dst_fps) / float(src_fps)
    return max(1, int(math.ceil(exact - _TOL)))


@overload
def map_frames(idx: float, src_fps: float, dst_fps: float, rounding: str = ...) -> int: ...
@overload
def map_frames(
    idx: np.ndarray, src_fps: float, dst_fps: float, rounding: str = ...
) -> np.ndarray: ...
def map_frames(idx: float | np.ndarray, src_fps: float, dst_fps: float,
               rounding: str = "round") -> float | np.ndarray:
    """Frame index (or indices) at ``src_fps`` -> frame index at ``dst_fps``.

    ``idx * dst_fps / src_fps`` (frame starts coincide); ``rounding`` is ``"round"`` (nearest,
    halves up), ``"floor"``, ``"ceil"`` or ``"none"`` (float result).  Use ``"floor"`` for
    segment starts and ``"ceil"`` for exclusive ends to keep a segment's full extent.
    """
    _check_fps(src_fps, dst_fps)
    if rounding not in _ROUNDING:
        raise ConfigError(f"rounding must be one of {', '.join(_ROUNDING)}, got {rounding!r}")
    scalar = np.ndim(idx) == 0
    x = np.asarray(idx, dtype=np.float64) * float(dst_fps) / float(src_fps)
    if rounding == "none":
        return float(x) if scalar else x
    if rounding == "floor":
        y = np.floor(x + _TOL)
    elif rounding == "ceil":
        y = np.ceil(x - _TOL)
    else:
        y = np.floor(x + 0.5 + _TOL)
    y = y.astype(np.int64)
    return int(y) if scalar else y


def frames_to_seconds(idx: float | np.ndarray, fps: float) -> float | np.ndarray:
    """Start time in seconds of frame ``idx`` (``idx / fps``)."""
    _check_fps(fps)
    return idx / float(fps) if np.ndim(idx) == 0 else np.asarray(idx, dtype=np.float64) / fps


def seconds_to_frames(
    seconds: float | np.ndarray, fps: float, rounding: str = "floor"
) -> float | np.ndarray:
    """Frame containing time ``seconds`` (``"floor"``), or the nearest / next frame start."""
    return map_frames(seconds, 1.0, fps, rounding)


def resample(joints: np.ndarray, src_fps: float, dst_fps: float) -> np.ndarray:
    """Resample ``joints (T, ...)`` (usually ``(T, M, V, C)``) from ``src_fps`` to ``dst_fps``.

    Linear interpolation in time.  For 4-D input a person's empty frame (all channels zero) is
    never blended with a valid one: the nearer of the two input frames is taken instead.
    Equal rates return an exact float32 copy.
    """
    _check_fps(src_fps, dst_fps)
    arr = np.asarray(joints)
    if arr.ndim < 1 or not np.issubdtype(arr.dtype, np.number):
        raise ShapeError(f"joints must be a numeric array with a time axis, got shape {arr.shape}")
    arr = arr.astype(np.float32, copy=False)
    t = arr.shape[0]
    if float(src_fps) == float(dst_fps) or t == 0:
        return arr.copy()
    n = resampled_length(t, src_fps, dst_fps)
    pos = np.arange(n, dtype=np.float64) * float(src_fps) / float(dst_fps)
    pos = np.minimum(pos, t - 1)
    i0 = np.floor(pos + _TOL).astype(np.int64)
    i0 = np.minimum(i0, t - 1)
    w = np.clip(pos - i0, 0.0, 1.0)
    w[w < _TOL] = 0.0
    i1 = np.minimum(i0 + 1, t - 1)
    out = np.empty((n, *arr.shape[1:]), dtype=np.float32)
    # in chunks of output frames: the float64 temporaries stay small for hour-long inputs
    for a in range(0, n, _CHUNK):
        b = min(n, a + _CHUNK)
        out[a:b] = _interpolate(arr, i0[a:b], i1[a:b], w[a:b])
    return out


#: output frames per chunk of :func:`resample`
_CHUNK = 8192


def _interpolate(arr: np.ndarray, i0: np.ndarray, i1: np.ndarray, w: np.ndarray) -> np.ndarray:
    x0, x1 = arr[i0].astype(np.float64), arr[i1].astype(np.float64)
    shape = (len(w),) + (1,) * (arr.ndim - 1)
    out = x0 * (1.0 - w).reshape(shape) + x1 * w.reshape(shape)
    if arr.ndim == 4:
        # a person's empty frame is never blended with a valid one: take the nearer frame
        both = np.any(x0 != 0, axis=(2, 3)) & np.any(x1 != 0, axis=(2, 3))  # (n, M)
        pick = np.where((w < 0.5)[:, None, None, None], x0, x1)
        out = np.where(both[..., None, None], out, pick)
    exact = w == 0
    out[exact] = x0[exact]
    return out


def resample_sequence(seq: SkeletonSequence, dst_fps: float) -> SkeletonSequence:
    """:func:`resample` for a :class:`SkeletonSequence` (returns a new record at ``dst_fps``)."""
    from skelloc.skeleton.sequence import SkeletonSequence

    meta = dict(seq.meta)
    meta.setdefault("source_fps", float(seq.fps))
    return SkeletonSequence(
        joints=resample(seq.joints, seq.fps, dst_fps),
        layout=seq.layout,
        fps=float(dst_fps),
        meta=meta,
    )
