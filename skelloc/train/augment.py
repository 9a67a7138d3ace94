"""Batched, seeded skeleton augmentations (docs/design/method.md#augmentations).

Every function takes a batch ``x`` of shape ``(N, C, T, V, M)`` (the model input layout; the
first three channels are coordinates, a fourth confidence channel is left alone) and a
``torch.Generator``, and returns a new tensor. Per-sample random draws are made on the CPU
generator so that they do not depend on the device; the one per-element draw (the Gaussian
noise, a full-size tensor) is made on the batch's device when that is a GPU, from a device
generator seeded by the CPU generator, so that no large tensor crosses to the GPU each step.
On the CPU every result is as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from skelloc.errors import ConfigError
from skelloc.skeleton.layouts import get_layout
from skelloc.train.augment2d import AUGMENTATIONS_2D

__all__ = [
    "AUGMENTATIONS",
    "NTU25_FLIP",
    "apply_pipeline",
    "shear",
    "temporal_crop",
    "crop_resize",
    "spatial_flip",
    "rotate",
    "gaussian_noise",
    "gaussian_blur",
    "axis_mask",
    "joint_corruption",
    "tempo_clips",
]

# AimCLR's left/right permutation of the 25 NTU joints: the ntu25 layout's flip_index
NTU25_FLIP = list(get_layout("ntu25").flip_index)


def _rand(g: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.rand(*shape, generator=g)


def _coin(g: torch.Generator, n: int, p: float, device: torch.device) -> torch.Tensor:
    """Per-sample Bernoulli(p) mask of shape (N, 1, 1, 1, 1)."""
    return (_rand(g, n) < p).to(device).view(n, 1, 1, 1, 1)


def _split_xyz(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return x[:, :3], x[:, 3:]


def _apply_matrix(x: torch.Tensor, mats: torch.Tensor) -> torch.Tensor:
    """Per-sample ``p -> R @ p`` for (N, 3, 3) matrices on the coordinate channels."""
    xyz, rest = _split_xyz(x)
    out = torch.einsum("ncd,ndtvm->nctvm", mats.to(x.device, x.dtype), xyz)
    return torch.cat([out, rest], dim=1) if rest.shape[1] else out


def shear(x: torch.Tensor, g: torch.Generator, amplitude: float = 0.5) -> torch.Tensor:
    """Unit-diagonal 3×3 shear with off-diagonals from U(-a, a), applied to every joint."""
    n = x.shape[0]
    s = (_rand(g, n, 3, 3) * 2 - 1) * amplitude
    s = s * (1 - torch.eye(3)) + torch.eye(3)
    return _apply_matrix(x, s)


def _gather_time(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Per-sample frame gather: idx (N, T_out) long."""
    n, c, _, v, m = x.shape
    index = idx.to(x.device).view(n, 1, -1, 1, 1).expand(n, c, idx.shape[1], v, m)
    return torch.gather(x, 2, index)


def temporal_crop(x: torch.Tensor, g: torch.Generator, padding_ratio: int = 6) -> torch.Tensor:
    """Reflect-pad ⌊T/ratio⌋ frames at both ends, then a random crop of the original length."""
    n, _, t, _, _ = x.shape
    pad = min(t // padding_ratio, t - 1) if padding_ratio > 0 else 0
    if pad <= 0:
        return x.clone()
    # reflect without repeating the edge frame, as numpy's "reflect" (and AimCLR's slicing)
    left = torch.arange(pad, 0, -1)
    right = torch.arange(t - 2, t - 2 - pad, -1)
    frames = torch.cat([left, torch.arange(t), right])
    offset = (_rand(g, n) * (2 * pad + 1)).long().clamp_max(2 * pad)
    idx = frames[offset.view(n, 1) + torch.arange(t).view(1, t)]
    return _gather_time(x, idx)


def _linear_resample(x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
    """Linear interpolation at fractional frame positions pos (N, T_out)."""
    t = x.shape[2]
    pos = pos.clamp(0, t - 1)
    lo = pos.floor().long()
    hi = (lo + 1).clamp_max(t - 1)
    w = (pos - lo.to(pos.dtype)).to(x.device, x.dtype).view(x.shape[0], 1, -1, 1, 1)
    return _gather_time(x, lo) * (1 - w) + _gather_time(x, hi) * w


def crop_resize(x: torch.Tensor, g: torch.Generator, min_scale: float = 0.1,
                min_length: int = 1, out_length: int | None = None) -> torch.Tensor:
    """CMD-style crop of ⌊T·U(min_scale, 1)⌋ frames (≥ min_length) resized linearly to out_length."""
    n, _, t, _, _ = x.shape
    out = out_length or t
    scale = min_scale + _rand(g, n) * (1 - min_scale)
    length = (t * scale).floor().clamp(min(min_length, t), t)
    start = (_rand(g, n) * (t - length + 1)).floor().clamp_max(t - length)
    # align_corners=False sampling positions inside [start, start + length)
    grid = (torch.arange(out, dtype=torch.float32) + 0.5).view(1, out)
    pos = start.view(n, 1) + grid * (length.view(n, 1) / out) - 0.5
    pos = torch.maximum(pos, start.view(n, 1))
    pos = torch.minimum(pos, (start + length - 1).view(n, 1))
    return _linear_resample(x, pos)


def spatial_flip(x: torch.Tensor, g: torch.Generator, p: float = 0.5,
                 permutation: Sequence[int] | None = None) -> torch.Tensor:
    """Swap left and right joints (per-layout permutation) with probability p per sample."""
    v = x.shape[3]
    perm = list(permutation) if permutation is not None else (NTU25_FLIP if v == 25 else None)
    if perm is None or len(perm) != v:
        raise ConfigError(f"spatial_flip needs a permutation of {v} joints")
    flipped = x[:, :, :, torch.tensor(perm, device=x.device)]
    return torch.where(_coin(g, x.shape[0], p, x.device), flipped, x)


def _axis_rotation(axis: int, angle: torch.Tensor) -> torch.Tensor:
    c, s = torch.cos(angle), torch.sin(angle)
    one, zero = torch.ones_like(angle), torch.zeros_like(angle)
    if axis == 0:
        rows = [[one, zero, zero], [zero, c, s], [zero, -s, c]]
    elif axis == 1:
        rows = [[c, zero, -s], [zero, one, zero], [s, zero, c]]
    else:
        rows = [[c, s, zero], [-s, c, zero], [zero, zero, one]]
    return torch.stack([torch.stack(r, dim=-1) for r in rows], dim=-2)


def rotate(x: torch.Tensor, g: torch.Generator, main_deg: float = 30.0,
           other_deg: float = 1.0) -> torch.Tensor:
    """One random main axis rotated by U(0, main°), the others by U(0, other°); applied x, y, z."""
    n = x.shape[0]
    main = (_rand(g, n) * 3).long().clamp_max(2)
    u = _rand(g, n, 3)
    limits = torch.full((n, 3), other_deg)
    limits[torch.arange(n), main] = main_deg
    angles = torch.deg2rad(u * limits)
    mat = torch.eye(3).expand(n, 3, 3)
    for axis in range(3):
        mat = _axis_rotation(axis, angles[:, axis]) @ mat
    return _apply_matrix(x, mat)


def gaussian_noise(x: torch.Tensor, g: torch.Generator, p: float = 0.5,
                   std: float = 0.01) -> torch.Tensor:
    """Add N(0, std²) to the coordinates with probability p per sample."""
    xyz, rest = _split_xyz(x)
    if x.device.type == "cpu":
        noise = torch.randn(xyz.shape, generator=g).to(x.dtype) * std
    else:
        seed = int(torch.randint(0, 2**62, (1,), generator=g))
        dev_g = torch.Generator(device=x.device).manual_seed(seed)
        noise = torch.randn(xyz.shape, generator=dev_g, device=x.device, dtype=x.dtype) * std
    out = xyz + noise * _coin(g, x.shape[0], p, x.device)
    return torch.cat([out, rest], dim=1) if rest.shape[1] else out


def gaussian_blur(x: torch.Tensor, g: torch.Generator, p: float = 0.5, kernel: int = 15,
                  sigma: tuple[float, float] = (0.1, 2.0)) -> torch.Tensor:
    """Depthwise Gaussian filter along time (zero padding), σ ~ U(sigma), probability p."""
    n, c, t, v, m = x.shape
    sig = sigma[0] + _rand(g, n) * (sigma[1] - sigma[0])
    radius = kernel // 2
    taps = torch.arange(-radius, radius + 1, dtype=torch.float32)
    w = torch.exp(-(taps.view(1, -1) ** 2) / (2 * sig.view(n, 1) ** 2))
    w = (w / w.sum(1, keepdim=True)).to(x.device, x.dtype)
    apply = _coin(g, n, p, x.device)
    # (N, C, T, V, M) -> (1, N*C*V*M, T), grouped conv with one filter per sample
    seq = x.permute(0, 1, 3, 4, 2).reshape(1, n * c * v * m, t)
    weight = w.repeat_interleave(c * v * m, dim=0).unsqueeze(1)
    out = F.conv1d(seq, weight, padding=radius, groups=n * c * v * m)[..., :t]
    out = out.reshape(n, c, v, m, t).permute(0, 1, 4, 2, 3)
    if c > 3:  # keep confidence untouched
        out = torch.cat([out[:, :3], x[:, 3:]], dim=1)
    return torch.where(apply, out, x)


def axis_mask(x: torch.Tensor, g: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """Zero one random coordinate channel with probability p per sample."""
    n = x.shape[0]
    axis = (_rand(g, n) * 3).long().clamp_max(2)
    apply = _rand(g, n) < p
    keep = torch.ones(n, x.shape[1])
    keep[torch.arange(n)[apply], axis[apply]] = 0
    return x * keep.to(x.device, x.dtype).view(n, -1, 1, 1, 1)


def joint_corruption(x: torch.Tensor, g: torch.Generator, p_zero: float = 0.5,
                     fraction: float = 0.6) -> torch.Tensor:
    """Pick round(fraction·V) joints; zero them (p_zero) or mix them by a U(-1,1) 3×3 matrix."""
    n, _, _, v, _ = x.shape
    k = max(1, round(fraction * v))
    chosen = torch.argsort(_rand(g, n, v), dim=1)[:, :k]
    sel = torch.zeros(n, v, dtype=torch.bool)
    sel.scatter_(1, chosen, True)
    zero = _rand(g, n) < p_zero
    mats = _rand(g, n, 3, 3) * 2 - 1
    mats[zero] = 0.0
    mixed = _apply_matrix(x, mats)
    mask = sel.to(x.device).view(n, 1, 1, v, 1)
    return torch.where(mask, mixed, x)


def tempo_clips(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """RVTCLR's relative-tempo clips of a window of T frames: (first T/2 at stride 1, all T at
    stride 2), both ⌊T/2⌋ frames long."""
    half = x.shape[2] // 2
    return x[:, :, :half], x[:, :, ::2][:, :, :half]


AUGMENTATIONS: dict[str, Callable[..., torch.Tensor]] = {
    "temporal_crop": temporal_crop,
    "crop_resize": crop_resize,
    "shear": shear,
    "flip": spatial_flip,
    "rotate": rotate,
    "noise": gaussian_noise,
    "blur": gaussian_blur,
    "axis_mask": axis_mask,
    "joint_corruption": joint_corruption,
    **AUGMENTATIONS_2D,
}


def _kwargs(name: str, cfg: Any, flip_permutation: Sequence[int] | None) -> dict[str, Any]:
    uses_flip = ("flip", "mirror2d", "swap_left_right")
    if cfg is None:
        return {"permutation": flip_permutation} if name in uses_flip else {}
    table: dict[str, dict[str, Any]] = {
        "temporal_crop": {"padding_ratio": cfg.padding_ratio},
        "crop_resize": {"min_scale": cfg.crop_min_scale, "min_length": cfg.crop_min_length},
        "shear": {"amplitude": cfg.shear_amplitude},
        "flip": {"p": cfg.flip_p, "permutation": flip_permutation},
        "rotate": {"main_deg": cfg.rotate_main_deg, "other_deg": cfg.rotate_other_deg},
        "noise": {"p": cfg.noise_p, "std": cfg.noise_std},
        "blur": {"p": cfg.blur_p, "kernel": cfg.blur_kernel, "sigma": tuple(cfg.blur_sigma)},
        "axis_mask": {"p": cfg.axis_mask_p},
        "joint_corruption": {"p_zero": cfg.corruption_p, "fraction": cfg.corruption_joints},
        "camera_view": {"p": cfg.camera_p, "rotate_deg": cfg.camera_rotate_deg,
                        "squash_x": tuple(cfg.camera_squash_x),
                        "squash_y": tuple(cfg.camera_squash_y), "shear": cfg.camera_shear},
        "mirror2d": {"p": cfg.flip_p, "permutation": flip_permutation},
        "scale_drift": {"p": cfg.scale_p, "scale": tuple(cfg.scale_range)},
        "keypoint_jitter": {"p": cfg.jitter_p, "std": cfg.jitter_std},
        "swap_left_right": {"p": cfg.swap_p, "rate": cfg.swap_rate,
                            "permutation": flip_permutation},
        "drop_keypoints": {"p": cfg.drop_p, "rate": cfg.drop_rate, "burst": cfg.drop_burst},
        "score_noise": {"p": cfg.score_p, "low": cfg.score_low},
    }
    return table[name]


def apply_pipeline(x: torch.Tensor, names: Sequence[str], g: torch.Generator, cfg: Any = None,
                   flip_permutation: Sequence[int] | None = None) -> torch.Tensor:
    """Apply the named augmentations in order (settings from an ``AugmentConfig``)."""
    for name in names:
        if name not in AUGMENTATIONS:
            raise ConfigError(
                f"unknown augmentation {name!r}; known: {', '.join(sorted(AUGMENTATIONS))}")
        x = AUGMENTATIONS[name](x, g, **_kwargs(name, cfg, flip_permutation))
    return x
