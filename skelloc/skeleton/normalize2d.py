"""Normalisation of 2D keypoints without depth (the 2D models' ``normalization="person2d"``).

Pixel coordinates of any image size become body-relative coordinates, so that a 1920 x 1080
video, a 640 x 480 webcam and the 512 x 424 projection of a Kinect recording look alike:

1. **Missing joints.**  A joint is missing when its score is 0 (with a confidence channel)
   or its two coordinates are exactly 0 (OpenPose's convention).  Missing joints come out as
   all zeros, score included, wherever the rest of the body goes.
2. **Centre.**  Every frame, the main body's centre (the first person with one in that
   frame) is subtracted from every present joint of every person: the mid-hip, or the
   mid-shoulder when no hip is present, or the mean of the present joints.  The persons keep
   their positions relative to each other (who walks up to whom matters).
3. **Scale.**  Everything is divided by one length per sequence: the median over frames of
   the main body's torso (mid-shoulder to mid-hip), or, where no frame shows a torso, of its
   shoulder width times 2, or else the median keypoint-box height / 3.  One length for the
   whole sequence keeps a person walking towards the camera growing, as in the 3D data.
4. **Confidence** passes through unchanged for present joints.

The body joints are found by name (``left_hip``, ``right_hip``, ``left_shoulder``,
``right_shoulder``), so any layout that has them works (``coco13``, ``coco17``, ``openpose18``,
``body25``, ``mediapipe33``).
"""

from __future__ import annotations

import numpy as np

from skelloc.errors import ConfigError, NonFiniteError, ShapeError
from skelloc.skeleton.layouts import get_layout

__all__ = ["person2d_normalize", "torso_joints"]


def torso_joints(layout: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """``((left_hip, right_hip), (left_shoulder, right_shoulder))`` indices of ``layout``.

    Raises:
        ConfigError: the layout lacks one of the four joints.
    """
    lay = get_layout(layout)
    try:
        return ((lay.index("left_hip"), lay.index("right_hip")),
                (lay.index("left_shoulder"), lay.index("right_shoulder")))
    except (ConfigError, KeyError, ValueError):
        raise ConfigError(
            f"2D normalisation needs left/right hip and shoulder joints; layout {lay.name!r} "
            "lacks them") from None


def _midpoint(xy: np.ndarray, ok: np.ndarray, pair: tuple[int, int]) -> tuple[np.ndarray,
                                                                             np.ndarray]:
    """Mean of the present joints of ``pair``: ``(points (..., 2), present (...))``."""
    a, b = pair
    wa, wb = ok[..., a].astype(np.float64), ok[..., b].astype(np.float64)
    n = wa + wb
    mid = (xy[..., a, :] * wa[..., None] + xy[..., b, :] * wb[..., None]) / np.maximum(n, 1)[
        ..., None]
    return mid, n > 0


def person2d_normalize(joints: np.ndarray, layout: str, *, confidence: bool = True,
                       eps: float = 1e-6) -> np.ndarray:
    """Centre and scale 2D keypoints ``(T, M, V, 2 [+ score])``; see the module docstring.

    Returns a float32 array of the input's shape.

    Raises:
        ShapeError: not ``(T, M, V, C)`` with 2 coordinate channels.
        NonFiniteError: NaN or infinite input.
        ConfigError: the layout has no hips and shoulders.
    """
    arr = np.asarray(joints)
    if arr.ndim != 4 or not np.issubdtype(arr.dtype, np.number):
        raise ShapeError(f"joints must be a numeric (T, M, V, C) array, got shape {arr.shape}")
    ncoord = arr.shape[-1] - (1 if confidence else 0)
    if ncoord != 2:
        raise ShapeError(f"2D normalisation needs 2 coordinate channels, got {ncoord} "
                         f"(C={arr.shape[-1]}, confidence={confidence})")
    if arr.shape[2] != get_layout(layout).num_joints:
        raise ShapeError(f"layout {layout!r} has {get_layout(layout).num_joints} joints, the "
                         f"input {arr.shape[2]}")
    if not np.isfinite(arr).all():
        raise NonFiniteError("joints contain NaN or infinite values")
    hips, shoulders = torso_joints(layout)
    out = arr.astype(np.float64, copy=True)
    t = out.shape[0]
    if t == 0:
        return out.astype(np.float32)
    xy = out[..., :2]
    ok = np.any(xy != 0, axis=-1)
    if confidence:
        ok &= out[..., 2] > 0
    out[~ok] = 0.0

    # centre: per frame, the first person with a centre in that frame
    hip, hip_ok = _midpoint(xy, ok, hips)  # (T, M, 2), (T, M)
    sho, sho_ok = _midpoint(xy, ok, shoulders)
    count = ok.sum(axis=-1)
    mean = (xy * ok[..., None]).sum(axis=2) / np.maximum(count, 1)[..., None]
    centre = np.where(hip_ok[..., None], hip, np.where(sho_ok[..., None], sho, mean))
    has = count > 0  # (T, M)
    main = np.argmax(has, axis=1)  # first person present in the frame
    rows = np.arange(t)
    origin = np.where(has.any(axis=1)[:, None], centre[rows, main], 0.0)  # (T, 2)

    # scale: one length per sequence, from the main (most present) person
    person = int(np.argmax(has.sum(axis=0)))
    torso = np.linalg.norm(sho[:, person] - hip[:, person], axis=-1)[
        hip_ok[:, person] & sho_ok[:, person]]
    torso = torso[torso > eps]
    both = ok[:, person, shoulders[0]] & ok[:, person, shoulders[1]]
    width = 2.0 * np.linalg.norm(xy[both, person, shoulders[0]] - xy[both, person, shoulders[1]],
                                 axis=-1)
    width = width[width > eps]
    if len(torso):
        scale = float(np.median(torso))
    elif len(width):
        scale = float(np.median(width))
    else:
        heights = [np.ptp(xy[f, person][ok[f, person], 1]) / 3.0
                   for f in np.flatnonzero(count[:, person] > 1)]
        heights = [h for h in heights if h > eps]
        scale = float(np.median(heights)) if heights else 1.0

    xy -= origin[:, None, None, :]
    xy /= scale
    xy *= ok[..., None]
    return out.astype(np.float32)
