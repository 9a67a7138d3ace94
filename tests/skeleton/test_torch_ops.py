"""The torch versions of resampling and NTU pre-normalisation equal the NumPy ones."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from skelloc.skeleton.normalize import ntu_pre_normalize
from skelloc.skeleton.resample import resample
from skelloc.skeleton.torch_ops import ntu_pre_normalize_tensor, resample_tensor


def _recording(t: int, seed: int) -> np.ndarray:
    """Two persons; the second absent at the start, missing frames in the first; a zero joint."""
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.normal(scale=0.02, size=(t, 2, 25, 3)), axis=0) + rng.normal(size=(1, 2, 25, 3))
    x = x.astype(np.float32)
    x[: t // 3, 1] = 0
    x[t // 2 : t // 2 + 3, 0] = 0
    x[:, 0, 7] = 0
    return x


@pytest.mark.parametrize("t,src,dst", [(1, 30, 15), (97, 30, 15), (200, 30, 12.5), (64, 24, 30),
                                       (50, 15, 15)])
def test_resample_tensor_equals_numpy(t: int, src: float, dst: float) -> None:
    x = _recording(t, t)
    ref = resample(x, src, dst)
    got = resample_tensor(torch.from_numpy(x), src, dst)
    assert got.dtype == torch.float32 and got.shape == ref.shape
    np.testing.assert_array_equal(got.numpy(), ref)


@pytest.mark.parametrize("t,seed", [(1, 0), (40, 1), (300, 2)])
def test_normalize_tensor_equals_numpy(t: int, seed: int) -> None:
    x = _recording(t, seed)
    ref = ntu_pre_normalize(x)
    got = ntu_pre_normalize_tensor(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-6)


def test_normalize_tensor_edge_cases() -> None:
    empty = np.zeros((5, 2, 25, 3), dtype=np.float32)  # nobody: stays zero
    np.testing.assert_array_equal(ntu_pre_normalize_tensor(torch.from_numpy(empty)).numpy(),
                                  ntu_pre_normalize(empty))
    x = _recording(30, 3)
    x[:, :, 4] = x[:, :, 8]  # degenerate shoulder bone: the x rotation is skipped
    np.testing.assert_allclose(ntu_pre_normalize_tensor(torch.from_numpy(x)).numpy(),
                               ntu_pre_normalize(x), rtol=1e-6, atol=1e-6)
