"""Layout conversion: hand-computed synthesised joints, confidence, missing joints, errors."""

from __future__ import annotations

import numpy as np
import pytest

from skelloc.errors import ConfigError, LayoutMismatchError, ShapeError
from skelloc.skeleton import (
    SkeletonSequence,
    convert_layout,
    convert_sequence,
    get_conversion,
    get_layout,
    list_conversions,
)


def _ramp(v: int, c: int = 3) -> np.ndarray:
    """(1, 1, V, C): joint j has coordinates (j+1) * (1, 10, 100)."""
    base = (np.arange(v, dtype=np.float32) + 1)[:, None] * np.array([1, 10, 100][:c], np.float32)
    return base[None, None]


def test_coco17_to_ntu25_values() -> None:
    out = convert_layout(_ramp(17), "coco17", "ntu25")
    assert out.shape == (1, 1, 25, 3) and out.dtype == np.float32
    x = out[0, 0, :, 0]  # first coordinate = mean of (source index + 1)
    assert x[0] == pytest.approx((12 + 13) / 2)  # spine base = mid-hip
    assert x[20] == pytest.approx((6 + 7) / 2)  # spine shoulder = mid-shoulder
    assert x[1] == pytest.approx((6 + 7 + 12 + 13) / 4)  # spine mid
    assert x[2] == pytest.approx((6 + 7 + 1) / 3)  # neck = 2/3 mid-shoulder + 1/3 nose
    assert x[3] == 1  # head = nose
    assert x[4] == 6 and x[8] == 7  # left / right shoulder
    assert x[6] == 10 and x[7] == 10 and x[21] == 10  # left wrist, hand, tip copy the wrist
    assert x[14] == 16 and x[18] == 17  # ankles
    np.testing.assert_allclose(out[0, 0, :, 2], 100 * x, rtol=1e-6)


def test_confidence_is_min_and_fill_zero() -> None:
    j = _ramp(17, 2)
    conf = np.linspace(0.1, 0.9, 17, dtype=np.float32)[None, None, :, None]
    out = convert_layout(np.concatenate([j, conf], -1), "coco17", "ntu25", confidence=True)
    c = conf[0, 0, :, 0]
    assert out.shape == (1, 1, 25, 3)
    assert out[0, 0, 0, 2] == pytest.approx(min(c[11], c[12]))
    assert out[0, 0, 2, 2] == pytest.approx(min(c[5], c[6], c[0]))
    assert out[0, 0, 5, 2] == pytest.approx(c[7])
    assert out[0, 0, 0, 0] == pytest.approx(12.5)  # coordinates averaged, not the score
    z = convert_layout(np.concatenate([j, conf], -1), "coco17", "ntu25", confidence=True,
                       fill="zero")
    for v in (7, 11, 15, 19, 21, 22, 23, 24):
        assert not z[0, 0, v].any()
    assert z[0, 0, 6, 0] == 10 and z[0, 0, 6, 2] == pytest.approx(c[9])


def test_missing_source_zeroes_targets() -> None:
    j = _ramp(17)
    j[0, 0, 12] = 0  # right hip not detected
    out = convert_layout(j, "coco17", "ntu25")
    for v in (0, 1, 16):  # spine base, spine mid, right hip use joint 12
        assert not out[0, 0, v].any()
    assert out[0, 0, 12, 0] == 12  # left hip untouched
    kept = convert_layout(j, "coco17", "ntu25", zero_is_missing=False)
    assert kept[0, 0, 0, 0] == pytest.approx(12 / 2)


def test_identity_and_errors() -> None:
    x = np.random.default_rng(0).normal(size=(4, 2, 25, 3)).astype(np.float32)
    y = convert_layout(x, "ntu25", "ntu-rgb+d")
    np.testing.assert_array_equal(x, y)
    assert y is not x
    with pytest.raises(LayoutMismatchError):
        convert_layout(x, "coco17", "ntu25")
    with pytest.raises(ShapeError):
        convert_layout(x[0], "ntu25")
    with pytest.raises(ConfigError):
        convert_layout(x, "ntu25", "smpl24")
    with pytest.raises(ConfigError):
        convert_layout(_ramp(17), "coco17", "ntu25", fill="mean")


def test_body25_and_mediapipe_to_coco_tables() -> None:
    # field.md §4.5 / §4.6, COCO index <- source index
    b25 = [0, 16, 15, 18, 17, 5, 2, 6, 3, 7, 4, 12, 9, 13, 10, 14, 11]
    mp = [0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]
    for src, table in (("body25", b25), ("mediapipe33", mp)):
        v = get_layout(src).num_joints
        out = convert_layout(_ramp(v), src, "coco17")
        np.testing.assert_array_equal(out[0, 0, :, 0], np.asarray(table) + 1)


def test_mediapipe_and_body25_to_ntu25() -> None:
    mp = convert_layout(_ramp(33), "mediapipe33", "ntu25")[0, 0, :, 0]
    assert mp[7] == pytest.approx((18 + 20) / 2)  # left hand = mean of pinky 17, index 19
    assert mp[21] == 20 and mp[22] == 22  # left tip = index, left thumb = thumb
    assert mp[15] == 32  # left foot = foot index 31
    b = convert_layout(_ramp(25), "body25", "ntu25")[0, 0, :, 0]
    assert b[0] == 9  # mid-hip
    assert b[20] == 2  # neck as spine shoulder
    assert b[19] == pytest.approx((23 + 24) / 2)  # right foot = toes


def test_composed_conversion_through_coco() -> None:
    w, approx = get_conversion("mediapipe33", "openpose18")
    assert ("mediapipe33", "openpose18") not in list_conversions()
    np.testing.assert_allclose(w.sum(1), np.ones(18))
    out = convert_layout(_ramp(33), "mediapipe33", "openpose18")[0, 0, :, 0]
    assert out[1] == pytest.approx((12 + 13) / 2)  # neck = mid-shoulder
    assert out[2] == 13 and out[5] == 12  # right shoulder = mp 12, left = mp 11
    assert not approx.any()


@pytest.mark.parametrize("pair", list_conversions())
def test_tables_commute_with_mirroring(pair: tuple[str, str]) -> None:
    src, dst = (get_layout(n) for n in pair)
    x = np.random.default_rng(1).uniform(1, 2, size=(2, 1, src.num_joints, 3)).astype(np.float32)
    a = convert_layout(x[:, :, list(src.flip_index)], src.name, dst.name)
    b = convert_layout(x, src.name, dst.name)[:, :, list(dst.flip_index)]
    np.testing.assert_allclose(a, b, rtol=1e-6)


def test_convert_sequence_reads_confidence() -> None:
    j = np.concatenate([_ramp(17, 2), np.full((1, 1, 17, 1), 0.5, np.float32)], -1)
    seq = SkeletonSequence(j, layout="coco", fps=25.0, meta={"confidence": True})
    out = convert_sequence(seq)
    assert out.layout == "ntu25" and out.fps == 25.0 and out.joints.shape == (1, 1, 25, 3)
    assert out.meta["converted_from"] == "coco17" and out.meta["confidence"] is True
    np.testing.assert_allclose(out.joints[0, 0, :, 2], 0.5)


def test_kinect_v1_round_trip_through_ntu25() -> None:
    from skelloc.skeleton.layouts import get_layout

    kv1 = get_layout("utkinect")
    assert kv1.name == "kinect_v1_20" and kv1.num_joints == 20
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 1, 20, 3)).astype(np.float32) + 5.0
    ntu = convert_layout(x, "kinect_v1_20", "ntu25")
    np.testing.assert_allclose(ntu[:, :, 20], x[:, :, 2])  # shoulder centre = spine_shoulder
    np.testing.assert_allclose(ntu[:, :, 2], (x[:, :, 2] + x[:, :, 3]) / 2, rtol=1e-6)  # neck
    np.testing.assert_allclose(ntu[:, :, 23], x[:, :, 11])  # right tip copies the right hand
    np.testing.assert_allclose(convert_layout(ntu, "ntu25", "kinect_v1_20"), x, rtol=1e-6)
    names = kv1.joint_names
    for a, b in kv1.flip_pairs:
        assert names[a].replace("left", "right") == names[b]
