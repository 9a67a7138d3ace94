"""NTU pre-normalisation against known poses and a transcription of 2s-AGCN preprocess.py."""

from __future__ import annotations

import math

import numpy as np
import pytest

from skelloc.errors import ConfigError, NonFiniteError, ShapeError
from skelloc.skeleton import ntu_pre_normalize
from skelloc.skeleton.normalize import rotation_matrix


def _canonical_pose(rng: np.random.Generator) -> np.ndarray:
    """(25, 3) pose: spine 0->1 along +z, shoulders 4->8 along +x (perpendicular)."""
    p = rng.normal(scale=0.3, size=(25, 3))
    p[1] = [0.0, 0.0, 0.0]
    p[0] = [0.0, 0.0, -0.4]
    p[4] = [-0.2, 0.1, 0.3]
    p[8] = [0.2, 0.1, 0.3]
    return p


def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q @ np.diag(np.sign(np.diag(r)))
    if np.linalg.det(q) < 0:
        q[:, 0] *= -1
    return q


def test_recovers_canonical_pose() -> None:
    rng = np.random.default_rng(0)
    pose = _canonical_pose(rng)
    t = 6
    moves = rng.normal(size=(t, 1, 3))
    seq = np.repeat(pose[None], t, 0) + 0.05 * rng.normal(size=(t, 25, 3))
    seq[0] = pose
    rot = _random_rotation(rng)
    world = (seq + moves) @ rot.T + np.array([1.0, -2.0, 3.0])
    out = ntu_pre_normalize(world[:, None].astype(np.float32))
    assert out.shape == (t, 1, 25, 3) and out.dtype == np.float32
    # centred on joint 1 in every frame, and the first frame is the canonical pose again
    np.testing.assert_allclose(out[:, 0, 1], 0, atol=1e-5)
    np.testing.assert_allclose(out[0, 0], pose - pose[1], atol=1e-5)
    np.testing.assert_allclose(out[:, 0], seq - seq[:, 1:2], atol=1e-5)


def test_x_bone_parallel_after_rotation() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3, 2, 25, 3)).astype(np.float32)
    out = ntu_pre_normalize(x).astype(np.float64)
    xb = out[0, 0, 8] - out[0, 0, 4]
    assert np.linalg.norm(np.cross(xb, [1, 0, 0])) < 1e-5 and xb[0] > 0
    # rigid: pairwise distances inside each frame are kept
    for f in range(3):
        d_in = np.linalg.norm(x[f, 0, :, None] - x[f, 0, None], axis=-1)
        d_out = np.linalg.norm(out[f, 0, :, None] - out[f, 0, None], axis=-1)
        np.testing.assert_allclose(d_in, d_out, atol=1e-4)


# --- transcription of lshiwjx/2s-AGCN data_gen/rotation.py + preprocess.py (one sample)
def _unit(v):
    return v / np.linalg.norm(v)


def _angle_between(v1, v2):
    if np.abs(v1).sum() < 1e-6 or np.abs(v2).sum() < 1e-6:
        return 0
    return np.arccos(np.clip(np.dot(_unit(v1), _unit(v2)), -1.0, 1.0))


def _agcn_rotation_matrix(axis, theta):
    if np.abs(axis).sum() < 1e-6 or np.abs(theta) < 1e-6:
        return np.eye(3)
    axis = np.asarray(axis)
    axis = axis / math.sqrt(np.dot(axis, axis))
    a = math.cos(theta / 2.0)
    b, c, d = -axis * math.sin(theta / 2.0)
    aa, bb, cc, dd = a * a, b * b, c * c, d * d
    bc, ad, ac, ab, bd, cd = b * c, a * d, a * c, a * b, b * d, c * d
    return np.array([[aa + bb - cc - dd, 2 * (bc + ad), 2 * (bd - ac)],
                     [2 * (bc - ad), aa + cc - bb - dd, 2 * (cd + ab)],
                     [2 * (bd + ac), 2 * (cd - ab), aa + dd - bb - cc]])


def _agcn_pre_normalization(s):  # s: (M, T, V, C), no empty frames
    s = s.copy()
    main_body_center = s[0][:, 1:2, :].copy()
    for i_p, person in enumerate(s):
        if person.sum() == 0:
            continue
        mask = (person.sum(-1) != 0).reshape(person.shape[0], person.shape[1], 1)
        s[i_p] = (s[i_p] - main_body_center) * mask
    bottom, top = s[0, 0, 0], s[0, 0, 1]
    axis = np.cross(top - bottom, [0, 0, 1])
    mz = _agcn_rotation_matrix(axis, _angle_between(top - bottom, [0, 0, 1]))
    s = s @ mz.T
    r, l_ = s[0, 0, 8], s[0, 0, 4]
    axis = np.cross(r - l_, [1, 0, 0])
    mx = _agcn_rotation_matrix(axis, _angle_between(r - l_, [1, 0, 0]))
    return s @ mx.T


def test_matches_2s_agcn_transcription() -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(2, 5, 25, 3))  # (M, T, V, C)
    ref = _agcn_pre_normalization(x)
    out = ntu_pre_normalize(np.transpose(x, (1, 0, 2, 3)).astype(np.float32))
    np.testing.assert_allclose(np.transpose(out, (1, 0, 2, 3)), ref, atol=1e-5)


def test_hold_padding_and_absent_person() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(6, 2, 25, 3)).astype(np.float32)
    x[:, 1] = 0  # second person never present
    x[0, 0] = 0  # leading empty frame
    x[3:5, 0] = 0  # interior gap
    out = ntu_pre_normalize(x)
    assert not out[:, 1].any()
    np.testing.assert_array_equal(out[0, 0], out[1, 0])  # leading gap takes the first valid
    np.testing.assert_array_equal(out[3, 0], out[2, 0])
    np.testing.assert_array_equal(out[4, 0], out[2, 0])
    assert not np.array_equal(out[5, 0], out[2, 0])
    none = ntu_pre_normalize(x, pad="none")
    assert not none[0].any() and not none[3:5].any() and none[5, 0].any()


def test_repeat_padding_is_2s_agcn() -> None:
    x = np.zeros((6, 1, 25, 3), np.float32)
    a = np.full((25, 3), 1.0, np.float32)
    b = np.full((25, 3), 2.0, np.float32)
    x[1, 0], x[2, 0] = a, b  # [0, a, b, 0, 0, 0] -> compact [a, b, 0, ...] -> loop
    out = ntu_pre_normalize(x, pad="repeat", center=False, rotate=False)
    expect = [a, b, a, b, a, b]
    for f in range(6):
        np.testing.assert_array_equal(out[f, 0], expect[f])


def test_confidence_untouched_and_no_nan() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(4, 2, 25, 4)).astype(np.float32)
    x[..., 3] = rng.uniform(size=(4, 2, 25))
    out = ntu_pre_normalize(x, confidence=True)
    np.testing.assert_array_equal(out[..., 3], x[..., 3])
    # degenerate: every joint at one point (zero-length bones) -> zeros, no NaN
    deg = np.ones((3, 1, 25, 3), np.float32)
    d = ntu_pre_normalize(deg)
    assert np.isfinite(d).all() and not d.any()
    zeros = ntu_pre_normalize(np.zeros((5, 2, 25, 3), np.float32))
    assert not zeros.any()
    assert ntu_pre_normalize(np.zeros((0, 2, 25, 3), np.float32)).shape == (0, 2, 25, 3)


def test_antiparallel_spine_is_flipped() -> None:
    pose = _canonical_pose(np.random.default_rng(5))
    # half turn about x (spine now along -z), moved off the origin (a joint at exactly (0,0,0)
    # counts as missing)
    upside_down = pose * np.array([1.0, -1.0, -1.0]) + np.array([0.5, 0.5, 2.0])
    out = ntu_pre_normalize(upside_down[None, None].astype(np.float32))
    spine = out[0, 0, 1] - out[0, 0, 0]
    assert spine[2] > 0 and np.linalg.norm(spine[:2]) < 1e-5


def test_rotation_matrix_properties() -> None:
    rng = np.random.default_rng(4)
    for _ in range(5):
        a, b = rng.normal(size=3), rng.normal(size=3)
        r = rotation_matrix(a, b)
        np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-10)
        assert np.linalg.det(r) == pytest.approx(1.0)
        np.testing.assert_allclose(_unit(r @ a), _unit(b), atol=1e-10)
    np.testing.assert_array_equal(rotation_matrix(np.zeros(3), np.ones(3)), np.eye(3))


def test_errors() -> None:
    x = np.zeros((2, 1, 25, 3), np.float32)
    with pytest.raises(ShapeError):
        ntu_pre_normalize(x[..., :2])
    with pytest.raises(ShapeError):
        ntu_pre_normalize(x[0])
    bad = x.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(NonFiniteError):
        ntu_pre_normalize(bad)
    with pytest.raises(ConfigError):
        ntu_pre_normalize(np.zeros((2, 1, 17, 3), np.float32), layout="coco17")
    with pytest.raises(ConfigError):
        ntu_pre_normalize(x, pad="loop")


def test_real_pkummd_sequence(pkummd_root) -> None:
    vid = (pkummd_root / "videos.txt").read_text().split()[0]
    x = np.load(pkummd_root / "skeletons" / f"{vid}.npy").astype(np.float32)[:600]
    out = ntu_pre_normalize(x)
    assert out.shape == x.shape and np.isfinite(out).all()
    valid = np.abs(x[:, 0]).sum(axis=(1, 2)) > 0
    np.testing.assert_allclose(out[valid, 0, 1], 0, atol=1e-5)
    f = int(np.argmax(valid))
    xb = out[f, 0, 8] - out[f, 0, 4]
    assert np.linalg.norm(np.cross(xb, [1, 0, 0])) < 1e-4 * np.linalg.norm(xb)
