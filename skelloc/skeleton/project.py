"""Pinhole projection of camera-space 3D joints into an image: 3D recordings as 2D keypoints.

Kinect v2 reports joints in its camera space (metres; x grows to the sensor's own left, y up,
z away from the sensor).  :data:`KINECT_V2_DEPTH` is the depth camera (512 x 424 pixels):
``u = cx - fx * x / z``, ``v = cy - fy * y / z``: an ordinary, unmirrored picture (a person
facing the camera has the left shoulder on the image's right) with rows growing downwards, as
a pose estimator run on a video gives them.  (The Kinect SDK's own depth frame is mirrored.)  fx = fy = 365 px is the usual value
for the Kinect v2 depth sensor (a 70.1 degree horizontal field of view; the sensor's data sheet
says 70.6); on the PKU-MMD recordings it puts 99.99 % of the tracked joints inside the
512 x 424 frame, their median column 10 px from the centre
(``python experiments/projection_check.py ../shared/data/pkummd-v1``).

The result carries a confidence channel as a pose estimator gives it: 1 for a tracked joint,
0 (and coordinates 0, the OpenPose convention) for a missing joint or one behind the camera.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skelloc.errors import ConfigError, ShapeError

__all__ = ["KINECT_V2_DEPTH", "CameraIntrinsics", "project_to_image"]


@dataclass(frozen=True)
class CameraIntrinsics:
    """A pinhole camera: image size and focal lengths / principal point in pixels."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float

    def __post_init__(self) -> None:
        if self.width < 1 or self.height < 1 or not (self.fx > 0 and self.fy > 0):
            raise ConfigError(f"invalid camera intrinsics {self}")


#: The Kinect v2 depth camera (the space PKU-MMD's and NTU RGB+D's joints are reported in).
KINECT_V2_DEPTH = CameraIntrinsics(width=512, height=424, fx=365.0, fy=365.0, cx=256.0, cy=212.0)


def project_to_image(joints: np.ndarray, camera: CameraIntrinsics = KINECT_V2_DEPTH,
                     *, min_depth: float = 0.1) -> np.ndarray:
    """Project ``joints (T, M, V, 3)`` (camera space, metres) to ``(T, M, V, 3)`` = pixel
    ``u``, pixel ``v`` and a confidence (1 tracked, 0 missing).

    A joint is missing when all its coordinates are zero (the NTU / PKU-MMD convention) or
    its depth is below ``min_depth`` metres; missing joints come out as ``(0, 0, 0)``.

    Raises:
        ShapeError: not a numeric ``(..., 3)`` array.
    """
    arr = np.asarray(joints)
    if arr.ndim < 1 or arr.shape[-1] != 3 or not np.issubdtype(arr.dtype, np.number):
        raise ShapeError(f"project_to_image needs (..., 3) xyz joints, got shape {arr.shape}")
    xyz = arr.astype(np.float64)
    z = xyz[..., 2]
    ok = np.any(xyz != 0, axis=-1) & (z >= min_depth) & np.isfinite(xyz).all(axis=-1)
    safe_z = np.where(ok, z, 1.0)
    u = camera.cx - camera.fx * xyz[..., 0] / safe_z
    v = camera.cy - camera.fy * xyz[..., 1] / safe_z
    out = np.stack([u, v, np.ones_like(u)], axis=-1)
    out[~ok] = 0.0
    return out.astype(np.float32)
