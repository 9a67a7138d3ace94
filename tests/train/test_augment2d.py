"""The 2D robustness augmentations: batched, seeded, present joints only."""

from __future__ import annotations

import pytest
import torch

from skelloc.errors import ConfigError
from skelloc.skeleton.layouts import get_layout
from skelloc.train.augment import AUGMENTATIONS, apply_pipeline
from skelloc.train.augment2d import (
    AUGMENTATIONS_2D,
    camera_view,
    drop_keypoints,
    keypoint_jitter,
    mirror2d,
    scale_drift,
    score_noise,
    swap_left_right,
)
from skelloc.train.config import AugmentConfig

FLIP = get_layout("coco13").flip_index


def _batch(n: int = 4, t: int = 40, m: int = 2) -> torch.Tensor:
    g = torch.Generator().manual_seed(3)
    x = torch.randn(n, 3, t, 13, m, generator=g)
    x[:, 2] = 1.0
    x[:, :, :, 4, 1] = 0.0  # one joint of person 2 is missing throughout
    return x


def test_registered_and_seeded() -> None:
    assert set(AUGMENTATIONS_2D) <= set(AUGMENTATIONS)
    x = _batch()
    names = list(AUGMENTATIONS_2D)
    a = apply_pipeline(x, names, torch.Generator().manual_seed(0), AugmentConfig(), FLIP)
    b = apply_pipeline(x, names, torch.Generator().manual_seed(0), AugmentConfig(), FLIP)
    c = apply_pipeline(x, names, torch.Generator().manual_seed(1), AugmentConfig(), FLIP)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == x.shape
    assert int((a[:, 2] > 0).sum()) < int((x[:, 2] > 0).sum())  # never a joint invented
    absent = a[:, 2] == 0
    assert torch.all(a[:, 0][absent] == 0) and torch.all(a[:, 1][absent] == 0)


def test_geometry() -> None:
    x = _batch()
    g = torch.Generator().manual_seed(0)
    mirrored = mirror2d(x, g, p=1.0, permutation=FLIP)
    assert torch.allclose(mirrored[:, 0, :, 1], -x[:, 0, :, 2])  # left shoulder <- right one
    assert torch.allclose(mirrored[:, 1, :, 1], x[:, 1, :, 2])
    same = camera_view(x, g, p=0.0)
    assert torch.allclose(same, x)
    moved = camera_view(x, g, p=1.0)
    assert not torch.allclose(moved, x) and torch.equal(moved[:, 2], x[:, 2])
    scaled = scale_drift(x, g, p=1.0, scale=(2.0, 2.0))
    assert torch.allclose(scaled[:, :2], 2 * x[:, :2])
    ramp = scale_drift(x, g, p=1.0, scale=(0.5, 1.5))
    ratio = ramp[:, 0, :, 0, 0] / x[:, 0, :, 0, 0]
    assert ratio.std(dim=1).min() > 0  # the scale changes within the window


def test_estimator_errors() -> None:
    x = _batch(n=8, t=200)
    g = torch.Generator().manual_seed(0)
    jit = keypoint_jitter(x, g, std=0.05)
    assert 0.04 < float((jit - x)[:, :2].std()) < 0.06
    swapped = swap_left_right(x, g, p=1.0, rate=0.5, permutation=FLIP)
    changed = (swapped != x).any(dim=1).any(dim=2)  # (N, T, M) frames with a swap
    assert 0.3 < float(changed.float().mean()) < 0.7
    dropped = drop_keypoints(x, g, p=1.0, rate=0.2, burst=4)
    lost = (dropped[:, 2] == 0) & (x[:, 2] > 0)
    assert 0.1 < float(lost.float().mean()) < 0.3
    assert torch.all(dropped[:, :2][lost.unsqueeze(1).expand(-1, 2, -1, -1, -1)] == 0)
    noisy = score_noise(x, g, low=0.3)
    present = x[:, 2] > 0
    assert float(noisy[:, 2][present].min()) >= 0.3 and float(noisy[:, 2][present].max()) <= 1
    with pytest.raises(ConfigError):
        keypoint_jitter(torch.zeros(1, 4, 5, 13, 1), g)
    with pytest.raises(ConfigError):
        mirror2d(x, g, permutation=None)
