"""Sliding windows: planning, merging, stride bookkeeping, bounded memory, equivalence."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from skelloc.errors import ConfigError
from skelloc.inference.windowing import (
    WindowConfig,
    plan_windows,
    sliding_window_apply,
    window_weights,
)
from skelloc.models.factory import create_model

W_POINT = torch.from_numpy(np.random.default_rng(1).normal(size=(4, 3 * 5 * 2)).astype(np.float32))


def pointwise(x: torch.Tensor) -> torch.Tensor:
    """A per-frame linear map (N, C, T, V, M) -> (N, 4, T): no temporal context at all."""
    n, c, t, v, m = x.shape
    flat = x.permute(0, 2, 1, 3, 4).reshape(n, t, c * v * m)
    return (flat @ W_POINT.T).permute(0, 2, 1)


def pooled2(x: torch.Tensor) -> torch.Tensor:
    """``pointwise`` averaged over pairs of frames: output stride 2, ceil(T / 2) outputs."""
    return torch.nn.functional.avg_pool1d(pointwise(x), 2, 2, ceil_mode=True)


def position(x: torch.Tensor) -> torch.Tensor:
    """Each output is its frame's position inside the window: exposes the merge weights."""
    n, _, t, _, _ = x.shape
    return torch.arange(t, dtype=torch.float32).expand(n, 1, t).clone()


def seq(t: int) -> np.ndarray:
    return np.random.default_rng(t).normal(size=(t, 2, 5, 3)).astype(np.float32)


def test_plan_windows_by_hand() -> None:
    # window 4, overlap 1, align 2 -> step (4-1)//2*2 = 2; T=10: last start ceil(6/2)*2 = 6
    p = plan_windows(10, 4, 1, align=2)
    assert p.starts == (0, 2, 4, 6) and p.length == 4 and p.padded_frames == 10
    # T=11: last start ceil(7/2)*2 = 8, padded to 12 frames
    p = plan_windows(11, 4, 1, align=2)
    assert p.starts == (0, 2, 4, 6, 8) and p.padded_frames == 12
    # window rounded up to the alignment: 5 -> 8; 6 frames fit in one window, no padding
    p = plan_windows(6, 5, 0, align=4)
    assert p.starts == (0,) and p.length == 6 and p.padded_frames == 6
    # short sequences are padded to min_frames
    assert plan_windows(3, 16, 4, min_frames=8).length == 8


def test_window_weights() -> None:
    np.testing.assert_array_equal(window_weights(5, "triangular"), [1, 2, 3, 2, 1])
    np.testing.assert_array_equal(window_weights(3, "average"), [1, 1, 1])


def test_merge_weights_by_hand() -> None:
    # T=6, window 4, overlap 2 -> windows at 0 and 2, each outputting positions [0, 1, 2, 3].
    x = seq(6)
    out, stride = sliding_window_apply(position, x, WindowConfig(window=4, overlap=2))
    assert stride == 1
    # average: t2 = (2 + 0) / 2 = 1, t3 = (3 + 1) / 2 = 2
    np.testing.assert_allclose(out[0], [0, 1, 1, 2, 2, 3])
    # triangular weights [1, 2, 2, 1]: t2 = (2·2 + 1·0) / 3, t3 = (1·3 + 2·1) / 3
    out, _ = sliding_window_apply(
        position, x, WindowConfig(window=4, overlap=2, weighting="triangular")
    )
    np.testing.assert_allclose(out[0], [0, 1, 4 / 3, 5 / 3, 2, 3], rtol=1e-6)


@pytest.mark.parametrize("weighting", ["average", "triangular"])
@pytest.mark.parametrize("t", [5, 37, 64])
def test_windowed_equals_whole_for_a_pointwise_model(t: int, weighting: str) -> None:
    x = seq(t)
    whole = pointwise(torch.from_numpy(x).permute(3, 0, 2, 1)[None])[0].numpy()
    cfg = WindowConfig(window=8, overlap=3, batch_size=3, weighting=weighting)  # type: ignore[arg-type]
    out, stride = sliding_window_apply(pointwise, x, cfg, align=4)
    assert stride == 1 and out.shape == (4, t)
    np.testing.assert_allclose(out, whole, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("t", [7, 8, 29])
def test_strided_outputs_keep_their_offsets(t: int) -> None:
    x = seq(t)
    whole = pooled2(torch.from_numpy(x).permute(3, 0, 2, 1)[None])[0].numpy()
    out, stride = sliding_window_apply(pooled2, x, WindowConfig(window=8, overlap=4), align=2)
    assert stride == 2 and out.shape == (4, -(-t // 2))
    # the last pair of an odd-length sequence is averaged with a repeated frame when windowed
    n = t // 2
    np.testing.assert_allclose(out[:, :n], whole[:, :n], rtol=1e-5, atol=1e-5)


def test_memory_is_bounded_by_the_window() -> None:
    seen: list[tuple[int, ...]] = []

    def spy(x: torch.Tensor) -> torch.Tensor:
        seen.append(tuple(x.shape))
        return pointwise(x)

    x = seq(100)
    cfg = WindowConfig(window=16, overlap=4, batch_size=2)
    out, _ = sliding_window_apply(spy, x, cfg, align=4)
    # step 12, last start ceil(84/12)*12 = 84 -> 8 windows -> 4 batches of 2
    assert seen == [(2, 3, 16, 5, 2)] * 4
    reference, _ = sliding_window_apply(pointwise, x, WindowConfig(window=16, overlap=4, batch_size=8), align=4)
    np.testing.assert_allclose(out, reference, rtol=1e-6)


def test_short_sequences_are_padded_and_cropped_back() -> None:
    seen: list[int] = []

    def spy(x: torch.Tensor) -> torch.Tensor:
        seen.append(x.shape[2])
        return pointwise(x)

    x = seq(3)
    out, _ = sliding_window_apply(spy, x, WindowConfig(window=64, overlap=8), align=8, min_frames=8)
    assert seen == [8] and out.shape == (4, 3)
    whole = pointwise(torch.from_numpy(x).permute(3, 0, 2, 1)[None])[0].numpy()
    np.testing.assert_allclose(out, whole, rtol=1e-5, atol=1e-5)


def test_one_window_equals_whole_sequence_inference_for_a_real_model() -> None:
    torch.manual_seed(0)
    model = create_model("stgcn", num_classes=3, base_channels=4, head_args={"fusion_dim": 8}).eval()
    x = np.random.default_rng(0).normal(size=(37, 2, 25, 3)).astype(np.float32)
    with torch.inference_mode():
        whole = model(torch.from_numpy(x).permute(3, 0, 2, 1)[None])[0].numpy()
        out, stride = sliding_window_apply(model, x, WindowConfig(window=64, overlap=16), align=4)
        # several windows of a model with temporal context: merged back to the same shape
        multi, _ = sliding_window_apply(model, x, WindowConfig(window=24, overlap=12), align=4)
    assert stride == 1
    np.testing.assert_allclose(out, whole, rtol=1e-5, atol=1e-5)
    assert multi.shape == whole.shape and np.isfinite(multi).all()


@pytest.mark.parametrize(
    "kwargs", [{"window": 0}, {"window": 8, "overlap": 8}, {"overlap": -1}, {"batch_size": 0},
               {"weighting": "gaussian"}],
)
def test_bad_window_config(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        WindowConfig(**kwargs)


@pytest.mark.parametrize("t,batch,weighting", [(5, 1, "average"), (130, 3, "triangular"),
                                               (257, 8, "average")])
def test_device_path_equals_the_host_path(t: int, batch: int, weighting: str) -> None:
    """The GPU path (windows gathered and merged as tensors) run on the CPU gives the host
    path's output: same windows, padding and weights, different summation order only."""
    from skelloc.inference.windowing import _apply_on_device

    model = create_model("stgcn", num_classes=3, base_channels=4, out_channels=8).eval()
    joints = np.random.default_rng(t).normal(size=(t, 2, 25, 3)).astype(np.float32)
    cfg = WindowConfig(window=64, overlap=16, batch_size=batch, weighting=weighting)
    align = model.encoder.total_stride
    with torch.inference_mode():
        ref, s_ref = sliding_window_apply(model, joints, cfg, align=align, min_frames=align)
        plan = plan_windows(t, cfg.window, cfg.overlap, align=align, min_frames=align)
        got, s_got = _apply_on_device(model, joints, cfg, plan, t, align, torch.device("cpu"))
    assert s_got == s_ref and got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
