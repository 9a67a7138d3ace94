"""Frame-rate conversion and frame/second bookkeeping."""

from __future__ import annotations

import numpy as np
import pytest

from skelloc.errors import ConfigError
from skelloc.skeleton import (
    SkeletonSequence,
    frames_to_seconds,
    map_frames,
    resample,
    resample_sequence,
    resampled_length,
    seconds_to_frames,
)


def _ramp(t: int) -> np.ndarray:
    ramp = (np.arange(t, dtype=np.float32) + 1).reshape(t, 1, 1, 1)
    return ramp * np.ones((1, 2, 3, 3), np.float32)


def test_lengths() -> None:
    assert resampled_length(1200, 120, 30) == 300
    assert resampled_length(300, 30, 120) == 1200
    assert resampled_length(1201, 120, 30) == 301  # 10.008 s -> frames 0..300 start before it
    assert resampled_length(30, 30, 25) == 25
    assert resampled_length(1, 120, 30) == 1 and resampled_length(0, 30, 60) == 0
    assert resampled_length(1001, 29.97, 29.97) == 1001


def test_map_frames() -> None:
    assert map_frames(300, 30, 120) == 1200
    assert map_frames(1200, 120, 30) == 300
    assert map_frames(5, 120, 30, "floor") == 1 and map_frames(5, 120, 30, "ceil") == 2
    assert map_frames(5, 120, 30) == 1 and map_frames(6, 120, 30) == 2  # 1.25 -> 1, 1.5 -> 2
    assert map_frames(5, 120, 30, "none") == pytest.approx(1.25)
    np.testing.assert_array_equal(map_frames(np.array([0, 4, 8]), 120, 30), [0, 1, 2])
    assert isinstance(map_frames(3, 30, 30), int)
    assert frames_to_seconds(45, 30) == pytest.approx(1.5)
    assert seconds_to_frames(1.5, 30) == 45 and seconds_to_frames(1.49, 30) == 44
    with pytest.raises(ConfigError):
        map_frames(1, 30, 30, "up")


def test_downsample_picks_every_fourth_frame() -> None:
    y = resample(_ramp(1200), 120, 30)
    assert y.shape == (300, 2, 3, 3)
    np.testing.assert_array_equal(y[:, 0, 0, 0], 4 * np.arange(300) + 1)


def test_linear_interpolation_and_identity() -> None:
    up = resample(np.array([1.0, 2.0, 3.0], np.float32), 30, 60)
    np.testing.assert_allclose(up, [1, 1.5, 2, 2.5, 3, 3])  # last frame held past the end
    y = resample(_ramp(30), 30, 25)
    assert y.shape[0] == 25
    np.testing.assert_allclose(y[:4, 0, 0, 0], [1, 2.2, 3.4, 4.6], rtol=1e-6)
    x = np.random.default_rng(0).normal(size=(7, 1, 25, 3)).astype(np.float32)
    same = resample(x, 30, 30.0)
    np.testing.assert_array_equal(same, x)
    assert same is not x


def test_empty_frames_are_not_blended() -> None:
    x = _ramp(4)
    x[1] = 0  # frame 1: nobody
    y = resample(x, 30, 20)  # positions 0, 1.5, 3.0
    assert y.shape[0] == 3
    np.testing.assert_array_equal(y[1], x[2])  # 1.5 between empty and valid -> nearer (w=.5 -> 2)
    np.testing.assert_array_equal(y[2], x[3])
    z = resample(x, 30, 60)  # position 0.5 between valid 0 and empty 1 -> frame 1 (empty)
    assert not z[1].any() and np.array_equal(z[0], x[0])


def test_sequence_and_errors() -> None:
    seq = SkeletonSequence(_ramp(240), fps=120.0, meta={"source": "x"})
    out = resample_sequence(seq, 30)
    assert out.fps == 30.0 and out.num_frames == 60 and out.meta["source_fps"] == 120.0
    assert out.meta["source"] == "x"
    for bad in (0, -30, float("nan")):
        with pytest.raises(ConfigError):
            resample(_ramp(3), 30, bad)
