"""Input validation and preparation: every bad-input case gets its typed error."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from skelloc.errors import (
    EmptyInputError,
    InputError,
    LayoutMismatchError,
    NonFiniteError,
    ShapeError,
)
from skelloc.inference.validate import (
    as_sequence,
    fill_null_frames,
    interpolate_nonfinite,
    order_persons,
    prepare_input,
)
from skelloc.models.localizer import InputSpec
from skelloc.skeleton.sequence import SkeletonSequence

RAW = InputSpec(normalization="none")  # ntu25, 3 channels, 30 fps, 2 persons


def joints(t: int = 6, m: int = 1, v: int = 25, c: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(t, m, v, c)).astype(np.float32)


# --------------------------------------------------------------------------- as_sequence
def test_accepts_numpy_tensor_list_and_sequence() -> None:
    x = joints(m=1)[:, 0]  # (T, V, C)
    seq = as_sequence(x)
    assert seq.joints.shape == (6, 1, 25, 3) and seq.joints.dtype == np.float32
    np.testing.assert_array_equal(seq.joints[:, 0], x)
    assert seq.meta["fps_assumed"] and seq.meta["layout_assumed"]
    from_tensor = as_sequence(torch.from_numpy(joints(m=2)).double(), fps=60)
    assert from_tensor.joints.shape == (6, 2, 25, 3) and from_tensor.fps == 60.0
    assert "fps_assumed" not in from_tensor.meta
    assert as_sequence(x.astype(np.int16).tolist()).joints.dtype == np.float32
    src = SkeletonSequence(joints(), layout="ntu25", fps=25.0, meta={"source": "x"})
    seq = as_sequence(src, fps=50)
    assert seq.fps == 50.0 and seq.layout == "ntu25" and seq.meta == {"source": "x"}


@pytest.mark.parametrize("shape", [(10, 3), (2, 10, 2, 25, 3), (5,)])
def test_wrong_rank(shape: tuple[int, ...]) -> None:
    with pytest.raises(ShapeError, match=r"\(T, V, C\) or \(T, M, V, C\)"):
        as_sequence(np.zeros(shape))


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((4, 25, 3), dtype=bool),
        np.zeros((4, 25, 3), dtype=complex),
        np.full((4, 25, 3), "a"),
        np.empty((4, 25, 3), dtype=object),
    ],
)
def test_non_numeric_dtype(bad: np.ndarray) -> None:
    with pytest.raises(ShapeError, match="real numbers"):
        as_sequence(bad)


def test_not_an_array() -> None:
    with pytest.raises(ShapeError, match="skelloc.read"):
        as_sequence("walk.npy")
    with pytest.raises(ShapeError):
        as_sequence([[1.0, 2.0], [3.0]])  # ragged


def test_empty_and_zero_sized_axes() -> None:
    with pytest.raises(EmptyInputError, match="no frames"):
        as_sequence(np.zeros((0, 25, 3)))
    with pytest.raises(ShapeError):
        as_sequence(np.zeros((5, 0, 25, 3)))


def test_channels_last_is_enforced() -> None:
    with pytest.raises(ShapeError, match="transpose"):
        as_sequence(np.zeros((5, 3, 25)))


@pytest.mark.parametrize("fps", [0, -30, float("nan"), float("inf"), "fast"])
def test_bad_fps(fps: object) -> None:
    with pytest.raises(InputError, match="fps"):
        as_sequence(joints(), fps=fps)  # type: ignore[arg-type]


def test_nonfinite_error_names_frames_and_the_fix() -> None:
    x = joints()
    x[2, 0, 3, 1] = np.nan
    x[4, 0, 0, 0] = np.inf
    with pytest.raises(NonFiniteError, match=r"2 NaN/inf coordinates in 2 frames \(frames 2, 4\).*interpolate"):
        as_sequence(x)
    with pytest.raises(EmptyInputError):
        as_sequence(np.full((3, 25, 3), np.nan))


def test_nonfinite_interpolation_by_hand() -> None:
    x = np.zeros((5, 1, 2, 1), dtype=np.float32)
    x[:, 0, 0, 0] = [0.0, np.nan, np.nan, 3.0, np.nan]  # interior: 1, 2; trailing: hold 3
    x[:, 0, 1, 0] = np.nan  # never finite -> 0
    x[0, 0, 1, 0] = np.nan
    fixed = interpolate_nonfinite(x)
    np.testing.assert_allclose(fixed[:, 0, 0, 0], [0, 1, 2, 3, 3])
    np.testing.assert_array_equal(fixed[:, 0, 1, 0], 0)
    assert np.isnan(x[1, 0, 0, 0])  # input untouched
    y = np.zeros((4, 1, 1, 1), dtype=np.float32)
    y[:, 0, 0, 0] = [np.nan, 2.0, np.nan, 4.0]  # leading NaN takes the first value
    seq = as_sequence(y, nonfinite="interpolate")
    np.testing.assert_allclose(seq.joints[:, 0, 0, 0], [2, 2, 3, 4])
    with pytest.raises(InputError, match="nonfinite"):
        as_sequence(y, nonfinite="drop")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- prepare_input
def test_joint_count_mismatch_names_layout_and_conversion() -> None:
    coco = joints(v=17)
    with pytest.raises(LayoutMismatchError) as info:
        prepare_input(as_sequence(coco), RAW)
    msg = str(info.value)
    assert "17 joints" in msg and "'ntu25'" in msg and "25 joints" in msg
    assert "skelloc.skeleton.convert_layout(joints, src='coco17'" in msg
    assert "--layout coco17" in msg
    with pytest.raises(LayoutMismatchError, match="no known layout has 11 joints"):
        prepare_input(as_sequence(joints(v=11)), RAW)


def test_declared_layout_is_converted() -> None:
    out = prepare_input(as_sequence(joints(v=17) + 5.0, layout="coco17"), RAW)
    assert out.joints.shape == (6, 2, 25, 3) and out.layout == "ntu25"
    # the second person is padding
    assert np.all(out.joints[:, 1] == 0) and np.all(out.joints[:, 0] != 0)


def test_declared_layout_with_wrong_joint_count_or_unknown_name() -> None:
    with pytest.raises(LayoutMismatchError, match="declared as layout 'coco17'"):
        prepare_input(as_sequence(joints(v=25), layout="coco17"), RAW)
    with pytest.raises(LayoutMismatchError, match="unknown skeleton layout 'kinect99'"):
        prepare_input(as_sequence(joints(v=25), layout="kinect99"), RAW)


def test_channels() -> None:
    with pytest.raises(ShapeError, match="3 channels per joint.* the input is 2D keypoints"):
        prepare_input(as_sequence(joints(c=2)), RAW)
    with pytest.raises(ShapeError, match="confidence"):
        prepare_input(as_sequence(joints(c=4)), RAW)
    x = joints(c=4)
    seq = SkeletonSequence(x, meta={"confidence": True})
    out = prepare_input(seq, RAW)
    np.testing.assert_array_equal(out.joints[:, 0], x[:, 0, :, :3])
    assert out.meta["confidence"] is False


def test_persons_ordered_by_activity_truncated_and_padded() -> None:
    x = np.zeros((6, 3, 25, 3), dtype=np.float32)
    x[:2, 0] = 1.0  # person 0: present in 2 frames
    x[:, 1] = 2.0  # person 1: every frame, static
    x[:, 2] = 3.0  # person 2: every frame, moving -> most active
    x[:, 2] *= np.arange(1, 7, dtype=np.float32)[:, None, None]
    ordered = order_persons(x)
    assert [float(ordered[1, m, 0, 0]) for m in range(3)] == [6.0, 2.0, 1.0]
    out = prepare_input(as_sequence(x), RAW)
    assert out.joints.shape == (6, 2, 25, 3)
    np.testing.assert_array_equal(out.joints[:, 0], x[:, 2])
    np.testing.assert_array_equal(out.joints[:, 1], x[:, 1])
    single = prepare_input(as_sequence(joints(m=1)), InputSpec(normalization="none", max_persons=3))
    assert single.joints.shape[1] == 3 and not single.joints[:, 1:].any()


def test_null_frames_hold_the_previous_frame() -> None:
    x = np.zeros((5, 1, 2, 1), dtype=np.float32)
    x[1] = 1.0
    x[3] = 3.0
    # frame 0 (leading) takes frame 1; frame 2 holds frame 1; frame 4 holds frame 3
    np.testing.assert_array_equal(fill_null_frames(x)[:, 0, 0, 0], [1, 1, 1, 3, 3])
    with pytest.raises(EmptyInputError, match="all-zero"):
        fill_null_frames(np.zeros((4, 1, 2, 1), dtype=np.float32))
    with pytest.raises(EmptyInputError):
        prepare_input(as_sequence(np.zeros((4, 25, 3))), RAW)


def test_resampling_bookkeeping() -> None:
    x = joints(t=120, seed=3)
    out = prepare_input(as_sequence(x, fps=60), RAW)
    assert out.fps == 30.0 and out.joints.shape[0] == 60
    assert out.meta["source_fps"] == 60.0 and out.meta["source_frames"] == 120
    # model frame k sits at input frame 2k (frame starts coincide)
    np.testing.assert_allclose(out.joints[:, 0], x[::2, 0], rtol=1e-6)
    # a raw array without fps is taken at the model's rate: nothing is resampled
    same = prepare_input(as_sequence(x), RAW)
    assert same.joints.shape[0] == 120 and same.meta["source_fps"] == 30.0


def test_ntu_normalization_centres_the_spine() -> None:
    x = joints(t=8, seed=5) + np.array([1.0, 2.0, 3.0], dtype=np.float32)
    out = prepare_input(as_sequence(x), InputSpec())  # normalization="ntu"
    np.testing.assert_allclose(out.joints[:, 0, 1], 0.0, atol=1e-5)  # joint 1 of the main body
    assert not np.allclose(out.joints[:, 0], x[:, 0])
    with pytest.raises(InputError, match="normalization"):
        prepare_input(as_sequence(x), InputSpec(normalization="zscore"))


def test_device_preparation_equals_the_numpy_one() -> None:
    """The GPU branch of prepare_input (torch resampling + normalisation), run on the CPU,
    gives the NumPy branch's joints."""
    import numpy as np

    from skelloc.inference.validate import _resample_normalize_on, prepare_input
    from skelloc.models.localizer import InputSpec
    from skelloc.skeleton.sequence import SkeletonSequence

    rng = np.random.default_rng(0)
    joints = (np.cumsum(rng.normal(scale=0.02, size=(121, 2, 25, 3)), axis=0)
              + rng.normal(size=(1, 2, 25, 3))).astype(np.float32)
    joints[:40, 1] = 0
    spec = InputSpec(fps=15.0)
    ref = prepare_input(SkeletonSequence(joints, fps=30.0), spec)
    # the same steps up to the resampling, then the torch branch
    from skelloc.inference.validate import fill_null_frames, order_persons

    pre = fill_null_frames(order_persons(joints))
    got = _resample_normalize_on("cpu", pre, 30.0, spec, "ntu25", len(joints))
    np.testing.assert_allclose(got, ref.joints, rtol=1e-6, atol=1e-6)


def test_coordinates_past_the_plausible_range_are_refused() -> None:
    """Issue 15 item 7: arrays given to the Python API get the same range rule as files."""
    from skelloc.errors import InputError
    from skelloc.inference.validate import as_sequence
    from skelloc.skeleton.sequence import MAX_ABS_COORDINATE

    joints = np.zeros((8, 1, 25, 3), dtype=np.float32)
    as_sequence(joints + (MAX_ABS_COORDINATE * 0.99), fps=30)  # inside: accepted
    joints[3, 0, 4, 1] = 1e38
    with pytest.raises(InputError, match="plausible range"):
        as_sequence(joints, fps=30)
