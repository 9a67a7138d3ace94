"""What a reader may allocate and accept: bounds derived from the file, checked before allocating.

A reader never trusts a size written inside a file (a frame count, a frame id, an array shape,
a zip entry's length, a BVH hierarchy) further than the file's own length can support, and
never returns a coordinate a sensor could not have produced:

- text files are read only when they are regular files of at most :data:`MAX_TEXT_BYTES`;
- an array's declared bytes must be present in the file (``.npy``) or in the declared
  uncompressed length of its zip entry (``.npz``), and at most :data:`MAX_ARRAY_BYTES`;
- frame-id gaps (MMPose) may not produce more frames than the file has bytes;
- BVH forward kinematics handles at most ``max(MIN_FK_POINTS, FK_POINTS_PER_BYTE x file
  size)`` joint-frames, and hierarchies at most :data:`MAX_BVH_DEPTH` deep;
- every value must fit float32, and every coordinate (and confidence) must satisfy
  ``|x| <`` :data:`MAX_ABS_COORDINATE` in the file's own unit (metres, centimetres or pixels:
  10 km, 100 m or an image 10,000 pixels wide).  NaN in arrays stays the documented
  "missing" marker (see ``nonfinite=``); infinities are refused.

Exceeding a bound is a :class:`~skelloc.errors.SkeletonFormatError` naming the file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np

from skelloc.errors import SkeletonFormatError
from skelloc.skeleton.sequence import MAX_ABS_COORDINATE

__all__ = [
    "FLOAT32_MAX",
    "MAX_ABS_COORDINATE",
    "MAX_ARRAY_BYTES",
    "MAX_BVH_DEPTH",
    "MAX_TEXT_BYTES",
    "check_coordinates",
    "check_float32",
    "fk_budget",
    "frame_budget",
    "regular_file_size",
]

MAX_TEXT_BYTES = 1024**3
MAX_ARRAY_BYTES = 1024**3
MAX_BVH_DEPTH = 256
MIN_FK_POINTS = 100_000
FK_POINTS_PER_BYTE = 4
MIN_FRAMES = 10_000
FLOAT32_MAX = float(np.finfo(np.float32).max)


def regular_file_size(path: Path, limit: int, what: str = "file") -> int:
    """The size of ``path`` after checking it is a regular file (not a device, FIFO or
    folder; symlinks are followed) of at most ``limit`` bytes."""
    try:
        st = os.stat(path)
    except OSError as err:
        raise SkeletonFormatError(f"cannot read: {err.strerror or err}", path=path) from None
    if stat.S_ISDIR(st.st_mode):
        raise SkeletonFormatError("expected a file, got a folder", path=path)
    if not stat.S_ISREG(st.st_mode):
        raise SkeletonFormatError(f"not a regular file (a device, pipe or socket); a {what} "
                                  "must be a file on disk", path=path)
    if st.st_size > limit:
        raise SkeletonFormatError(f"{st.st_size} bytes is larger than the {limit}-byte limit "
                                  f"for a {what}", path=path)
    return int(st.st_size)


def frame_budget(file_size: int) -> int:
    """The most frames a reader builds from a file of ``file_size`` bytes (gaps included)."""
    return max(MIN_FRAMES, file_size)


def fk_budget(file_size: int) -> int:
    """The most joint-frames BVH forward kinematics computes for a file of this size."""
    return max(MIN_FK_POINTS, FK_POINTS_PER_BYTE * file_size)


def check_float32(values: np.ndarray, path: Path, line: int | None = None) -> None:
    """Refuse finite float64 values that would become infinite as float32."""
    if values.size and float(np.max(np.abs(values))) > FLOAT32_MAX:
        raise SkeletonFormatError("value outside the float32 range", path=path, line=line)


def check_coordinates(joints: np.ndarray, path: Path, *, nan_ok: bool = False,
                      line_of_frame: int | None = None) -> None:
    """Refuse infinite (and, unless ``nan_ok``, NaN) values and values with
    ``|x| >= MAX_ABS_COORDINATE`` in a ``(T, ...)`` array; the message names the first bad
    frame (or its line, ``line_of_frame + frame``, for one-frame-per-line formats)."""
    if joints.size == 0:
        return
    with np.errstate(invalid="ignore", over="ignore"):
        flat = joints.reshape(len(joints), -1)
        if flat.dtype.kind in "iub":  # |int64 min| overflows in its own dtype
            flat = flat.astype(np.float64)
        mag = np.abs(flat)
        bad = mag >= MAX_ABS_COORDINATE
        if not nan_ok:
            bad |= np.isnan(mag)
    if not bad.any():
        return
    frame = int(np.flatnonzero(bad.any(axis=1))[0])
    value = float(mag.reshape(-1)[np.flatnonzero(bad.reshape(-1))[0]])
    what = ("NaN value" if np.isnan(value) else
            "infinite value" if value == np.inf else
            f"value {value:.3g} outside the plausible range |x| < {MAX_ABS_COORDINATE:g}")
    if line_of_frame is not None:
        raise SkeletonFormatError(what, path=path, line=line_of_frame + frame)
    raise SkeletonFormatError(f"{what} in frame {frame}", path=path)
