"""Augmentations: checked against their definitions (field.md §2.2), not their code."""

from __future__ import annotations

import pytest
import torch

from skelloc.errors import ConfigError
from skelloc.train import augment as A


def _g(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _basis_batch(n: int) -> torch.Tensor:
    """(N, 3, 1, 3, 1): joint j holds the unit vector e_j, so a linear map's output columns
    are the matrix itself."""
    x = torch.zeros(n, 3, 1, 3, 1)
    for j in range(3):
        x[:, j, 0, j, 0] = 1.0
    return x


def test_shear_is_unit_diagonal_with_bounded_off_diagonals() -> None:
    out = A.shear(_basis_batch(64), _g(), amplitude=0.5)
    mats = out[:, :, 0, :, 0]  # (N, 3 rows, 3 columns)
    eye = torch.eye(3).expand_as(mats)
    assert torch.allclose(mats * eye, eye)
    off = mats[~eye.bool()]
    assert off.abs().max() <= 0.5 and off.abs().max() > 0.3
    assert off.std() > 0.1  # really random


def test_shear_is_linear_per_sample() -> None:
    x1, x2 = torch.randn(4, 3, 5, 25, 2), torch.randn(4, 3, 5, 25, 2)
    lhs = A.shear(x1 + x2, _g(3))
    rhs = A.shear(x1, _g(3)) + A.shear(x2, _g(3))
    assert torch.allclose(lhs, rhs, atol=1e-5)


def _reflect(i: int, t: int) -> int:
    if i < 0:
        return -i
    if i > t - 1:
        return 2 * (t - 1) - i
    return i


def test_temporal_crop_is_a_shift_of_the_reflect_padded_sequence() -> None:
    t = 30
    pad = t // 6
    x = torch.arange(t, dtype=torch.float32).view(1, 1, t, 1, 1).repeat(40, 3, 1, 2, 1)
    out = A.temporal_crop(x, _g(), padding_ratio=6)
    offsets = set()
    for n in range(out.shape[0]):
        frames = out[n, 0, :, 0, 0].long().tolist()
        start = [o for o in range(2 * pad + 1)
                 if frames == [_reflect(o - pad + j, t) for j in range(t)]]
        assert len(start) == 1, frames
        offsets.add(start[0])
    assert len(offsets) > 3  # offsets vary across the batch


def test_crop_resize_full_scale_is_identity_and_length_changes() -> None:
    x = torch.randn(3, 3, 20, 25, 1)
    assert torch.allclose(A.crop_resize(x, _g(), min_scale=1.0), x, atol=1e-6)
    out = A.crop_resize(x, _g(), min_scale=0.3, out_length=8)
    assert out.shape == (3, 3, 8, 25, 1)
    # a linear ramp stays a monotone ramp after crop-resize
    ramp = torch.arange(20.0).view(1, 1, 20, 1, 1).expand(3, 3, 20, 25, 1)
    r = A.crop_resize(ramp, _g(1), min_scale=0.5)[:, 0, :, 0, 0]
    assert (r[:, 1:] >= r[:, :-1] - 1e-6).all() and (r >= 0).all() and (r <= 19).all()


def test_flip_swaps_left_and_right_joints() -> None:
    x = torch.arange(25, dtype=torch.float32).view(1, 1, 1, 25, 1).repeat(2, 3, 4, 1, 2)
    out = A.spatial_flip(x, _g(), p=1.0)
    assert out[0, 0, 0, :, 0].long().tolist() == A.NTU25_FLIP
    # left shoulder (4) and right shoulder (8) swap; spine (0) stays
    assert out[0, 0, 0, 4, 0] == 8 and out[0, 0, 0, 8, 0] == 4 and out[0, 0, 0, 0, 0] == 0
    assert torch.equal(A.spatial_flip(out, _g(), p=1.0), x)
    assert torch.equal(A.spatial_flip(x, _g(), p=0.0), x)
    with pytest.raises(ConfigError):
        A.spatial_flip(torch.zeros(1, 3, 2, 17, 1), _g(), p=1.0)


def test_rotate_preserves_lengths_and_bounded_angle() -> None:
    x = torch.randn(16, 3, 6, 25, 2)
    out = A.rotate(x, _g())
    assert torch.allclose(out.norm(dim=1), x.norm(dim=1), atol=1e-5)
    assert torch.allclose(A.rotate(x, _g(), main_deg=0.0, other_deg=0.0), x, atol=1e-6)
    # the angle between a vector and its image is at most ~30 + 1 + 1 degrees
    e = _basis_batch(200)
    mats = A.rotate(e, _g(5))[:, :, 0, :, 0]
    trace = mats.diagonal(dim1=1, dim2=2).sum(-1)
    angle = torch.rad2deg(torch.arccos(((trace - 1) / 2).clamp(-1, 1)))
    assert angle.max() < 32.5 and angle.max() > 20


def test_noise_blur_axis_mask_probabilities() -> None:
    x = torch.randn(8, 3, 40, 25, 1)
    assert torch.equal(A.gaussian_noise(x, _g(), p=0.0), x)
    noisy = A.gaussian_noise(x, _g(), p=1.0, std=0.01)
    assert 0.008 < (noisy - x).std() < 0.012
    assert torch.equal(A.gaussian_blur(x, _g(), p=0.0), x)
    const = torch.full((4, 3, 40, 25, 1), 2.0)
    blurred = A.gaussian_blur(const, _g(), p=1.0, kernel=15)
    assert torch.allclose(blurred[:, :, 7:-7], const[:, :, 7:-7], atol=1e-5)  # normalised kernel
    masked = A.axis_mask(x, _g(), p=1.0)
    zero_channels = (masked.abs().sum(dim=(2, 3, 4)) == 0).sum(dim=1)
    assert zero_channels.tolist() == [1] * 8
    kept = masked.abs().sum(dim=(2, 3, 4)) != 0
    assert torch.equal(masked.permute(0, 2, 3, 4, 1)[kept.view(8, 1, 1, 1, 3).expand(
        8, 40, 25, 1, 3)], x.permute(0, 2, 3, 4, 1)[kept.view(8, 1, 1, 1, 3).expand(
        8, 40, 25, 1, 3)])


def test_joint_corruption_touches_exactly_the_chosen_joints() -> None:
    x = torch.randn(5, 3, 7, 25, 2) + 5.0
    out = A.joint_corruption(x, _g(), p_zero=1.0, fraction=0.6)
    zeroed = (out.abs().sum(dim=(1, 2, 4)) == 0).sum(dim=1)
    assert zeroed.tolist() == [15] * 5
    untouched = (out == x).all(dim=1).all(dim=1).all(dim=-1).sum(dim=1)
    assert untouched.tolist() == [10] * 5


def test_tempo_clips() -> None:
    x = torch.arange(10.0).view(1, 1, 10, 1, 1)
    slow, fast = A.tempo_clips(x)
    assert slow.flatten().tolist() == [0, 1, 2, 3, 4]
    assert fast.flatten().tolist() == [0, 2, 4, 6, 8]


def test_pipeline_is_seeded() -> None:
    x = torch.randn(4, 3, 24, 25, 2)
    names = ["temporal_crop", "shear", "flip", "rotate", "noise", "blur", "axis_mask",
             "joint_corruption", "crop_resize"]
    a = A.apply_pipeline(x, names, _g(7))
    b = A.apply_pipeline(x, names, _g(7))
    c = A.apply_pipeline(x, names, _g(8))
    assert torch.equal(a, b) and not torch.equal(a, c)
    with pytest.raises(ConfigError, match="unknown augmentation"):
        A.apply_pipeline(x, ["sheer"], _g())


def test_pretraining_flips_by_the_layout() -> None:
    """The left/right permutation comes from the layout (any joint count), not from a 25."""
    from skelloc.skeleton.layouts import get_layout
    from skelloc.train.pretrain import _flip_permutation

    assert _flip_permutation("ntu25", 25) == A.NTU25_FLIP
    assert _flip_permutation("coco17", 17) == list(get_layout("coco17").flip_index)
    assert _flip_permutation("no-such-layout", 17) == list(get_layout("coco17").flip_index)
    assert _flip_permutation("no-such-layout", 7) is None
