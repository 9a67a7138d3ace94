"""coco13 layout, pinhole projection and the person2d normalisation."""

from __future__ import annotations

import numpy as np
import pytest

from skelloc.errors import ConfigError, ShapeError
from skelloc.skeleton.convert import convert_layout
from skelloc.skeleton.layouts import Layout, get_layout
from skelloc.skeleton.normalize2d import person2d_normalize, torso_joints
from skelloc.skeleton.project import KINECT_V2_DEPTH, CameraIntrinsics, project_to_image


def _coco13_person(rng: np.random.Generator, t: int, offset=(0.0, 0.0), size=100.0) -> np.ndarray:
    """(T, 13, 2) an upright figure in pixels (y grows downwards)."""
    base = np.array([[0, -1.6], [-0.4, -1], [0.4, -1], [-0.5, -0.5], [0.5, -0.5], [-0.55, 0],
                     [0.55, 0], [-0.2, 0], [0.2, 0], [-0.2, 0.8], [0.2, 0.8], [-0.2, 1.6],
                     [0.2, 1.6]])
    pts = base[None] * size + np.asarray(offset) + rng.normal(0, 1, (t, 13, 2))
    return pts.astype(np.float32)


def test_coco13_layout_and_conversions():
    lay = get_layout("coco13")
    assert lay.num_joints == 13 and get_layout("body13") is lay
    assert lay.flip_index == (0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11)
    # COCO-17: the head is the mean of nose and eyes; the body joints are copied
    coco = np.arange(17 * 2, dtype=np.float32).reshape(1, 1, 17, 2) + 1
    out = convert_layout(coco, "coco17", "coco13")
    np.testing.assert_allclose(out[0, 0, 0], coco[0, 0, :3].mean(axis=0))
    np.testing.assert_allclose(out[0, 0, 1:], coco[0, 0, 5:])
    # every estimator layout and Kinect reach coco13
    for src in ("openpose18", "body25", "mediapipe33", "ntu25"):
        v = get_layout(src).num_joints
        assert convert_layout(np.ones((2, 1, v, 3), np.float32), src, "coco13",
                              confidence=True).shape == (2, 1, 13, 3)


def test_projection_of_kinect_joints():
    xyz = np.array([[0.0, 0.0, 2.0], [0.5, 0.25, 2.5], [0, 0, 0], [0.1, 0.1, 0.05]],
                   dtype=np.float32).reshape(1, 1, 4, 3)
    uv = project_to_image(xyz)
    np.testing.assert_allclose(uv[0, 0, 0], [256.0, 212.0, 1.0])
    np.testing.assert_allclose(uv[0, 0, 1], [256 - 365 * 0.2, 212 - 365 * 0.1, 1.0], rtol=1e-6)
    np.testing.assert_array_equal(uv[0, 0, 2:], 0.0)  # missing, and too close to the sensor
    with pytest.raises(ShapeError):
        project_to_image(np.zeros((3, 2)))
    with pytest.raises(ConfigError):
        CameraIntrinsics(0, 424, 365, 365, 256, 212)
    assert KINECT_V2_DEPTH.width == 512


def test_projection_matches_pkummd_frame(pkummd_root):
    vid = (pkummd_root / "videos.txt").read_text().split()[0]
    joints = np.load(pkummd_root / "skeletons" / f"{vid}.npy").astype(np.float32)[:300]
    uv = project_to_image(joints)
    ok = uv[..., 2] > 0
    assert ok.mean() > 0.4
    inside = (uv[..., 0] >= 0) & (uv[..., 0] < 512) & (uv[..., 1] >= 0) & (uv[..., 1] < 424)
    assert inside[ok].mean() > 0.999
    # facing the camera, the left shoulder is on the image's right (an unmirrored picture)
    facing = ok[..., 4] & ok[..., 8]
    assert (uv[..., 4, 0] > uv[..., 8, 0])[facing].mean() > 0.9
    # the head is above the ankles in the image (rows grow downwards)
    assert np.median(uv[..., 3, 1][ok[..., 3]]) < np.median(uv[..., 14, 1][ok[..., 14]])


def test_person2d_normalisation_is_resolution_free():
    rng = np.random.default_rng(0)
    small = np.stack([_coco13_person(rng, 20, (200, 250), 60),
                      _coco13_person(rng, 20, (330, 250), 60)], axis=1)
    small = np.concatenate([small, np.ones((*small.shape[:3], 1), np.float32)], axis=-1)
    big = small.copy()
    big[..., :2] = small[..., :2] * (1080 / 424) + 300  # the same scene in a 1080p frame
    a = person2d_normalize(small, "coco13")
    b = person2d_normalize(big, "coco13")
    np.testing.assert_allclose(a, b, atol=1e-4)
    hips = a[:, 0, 7:9, :2].mean(axis=1)
    np.testing.assert_allclose(hips, 0.0, atol=1e-5)  # centred on the main body's mid-hip
    torso = np.linalg.norm(a[:, 0, 1:3, :2].mean(1) - a[:, 0, 7:9, :2].mean(1), axis=-1)
    assert abs(np.median(torso) - 1.0) < 1e-4  # the torso is the unit
    assert a[:, 1, 7:9, 0].mean() > 1.5  # the other person stays to the right
    np.testing.assert_array_equal(a[..., 2], 1.0)


def test_person2d_missing_joints_and_fallbacks():
    rng = np.random.default_rng(1)
    p = _coco13_person(rng, 10)[:, None]
    x = np.concatenate([p, np.ones((10, 1, 13, 1), np.float32)], axis=-1)
    x[3, 0, 5] = [123.0, 45.0, 0.0]  # score 0: missing whatever its coordinates
    x[4, 0, 6, :2] = 0.0  # OpenPose-style missing joint
    out = person2d_normalize(x, "coco13")
    np.testing.assert_array_equal(out[3, 0, 5], 0.0)
    np.testing.assert_array_equal(out[4, 0, 6], 0.0)
    # no hips anywhere: centred on the mid-shoulder, scaled by the shoulder width
    y = x.copy()
    y[:, :, 7:9] = 0.0
    out = person2d_normalize(y, "coco13")
    np.testing.assert_allclose(out[:, 0, 1:3, :2].mean(axis=1), 0.0, atol=1e-5)
    # without a score channel; coco17 works by joint names
    coco = np.zeros((4, 1, 17, 2), np.float32)
    coco[:, 0, [5, 6, 11, 12]] = [[10, 10], [50, 10], [10, 70], [50, 70]]
    out = person2d_normalize(coco, "coco17", confidence=False)
    np.testing.assert_allclose(out[0, 0, 11], [-20 / 60, 0.0], atol=1e-6)
    assert torso_joints("openpose18") == ((11, 8), (5, 2))
    with pytest.raises(ShapeError):
        person2d_normalize(np.zeros((4, 1, 13, 3)), "coco13", confidence=False)
    arm = Layout("arm", ("shoulder", "elbow", "wrist"), (-1, 0, 1), ((1, 0), (2, 1)), 0)
    with pytest.raises(ConfigError, match="hip"):
        torso_joints(arm)
