"""Robustness augmentations for 2D keypoint models: what pose estimators do to a skeleton.

Each function takes a batch ``x`` of shape ``(N, 3, T, V, M)`` (channels ``x, y, score`` after
the ``person2d`` normalisation, so lengths are in torso units: 0.03 is about 2 pixels of a
person 3.5 m from a Kinect, 9 pixels in a 1080p frame where the torso spans 300) and a CPU
``torch.Generator``, and returns a new tensor.  A joint is *present* when its score is
positive; absent joints (all zeros) stay absent.  Every draw comes from the generator, so a
batch is a function of the seed and the step, as for the contrastive views of
:mod:`skelloc.train.augment`.

- :func:`camera_view`: another camera position: in-plane rotation, horizontal squash (the
  camera turned about the person), vertical squash (higher or lower camera) and shear.
- :func:`mirror2d`: the scene seen in a mirror (x negated, left and right joints swapped).
- :func:`scale_drift`: people moving nearer or farther: a scale changing linearly in time.
- :func:`keypoint_jitter`: per-joint, per-frame Gaussian jitter.
- :func:`swap_left_right`: the estimator confusing left and right for single frames.
- :func:`drop_keypoints`: missed joints (score 0, coordinates 0) in short bursts.
- :func:`score_noise`: scores as estimators give them (uniform in ``[low, 1]``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from skelloc.errors import ConfigError

__all__ = [
    "AUGMENTATIONS_2D",
    "camera_view",
    "drop_keypoints",
    "keypoint_jitter",
    "mirror2d",
    "scale_drift",
    "score_noise",
    "swap_left_right",
]


def _check(x: torch.Tensor) -> None:
    if x.ndim != 5 or x.shape[1] != 3:
        raise ConfigError(f"2D augmentations need (N, 3, T, V, M) batches (x, y, score), got "
                          f"{tuple(x.shape)}")


def _rand(g: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.rand(*shape, generator=g)


def _uniform(g: torch.Generator, n: int, low: float, high: float) -> torch.Tensor:
    return low + _rand(g, n) * (high - low)


def _chosen(g: torch.Generator, n: int, p: float, device: torch.device) -> torch.Tensor:
    """Per-sample Bernoulli(p) as (N, 1, 1, 1, 1) bool."""
    return (_rand(g, n) < p).to(device).view(n, 1, 1, 1, 1)


def _present(x: torch.Tensor) -> torch.Tensor:
    return (x[:, 2:3] > 0).to(x.dtype)  # (N, 1, T, V, M)


def _with_xy(x: torch.Tensor, xy: torch.Tensor) -> torch.Tensor:
    return torch.cat([xy * _present(x), x[:, 2:3]], dim=1)


def _permutation(v: int, permutation: Sequence[int] | None) -> torch.Tensor:
    if permutation is None or len(permutation) != v:
        raise ConfigError(f"a left/right permutation of the {v} joints is needed "
                          "(the layout's flip_index)")
    return torch.tensor(list(permutation), dtype=torch.long)


def camera_view(x: torch.Tensor, g: torch.Generator, p: float = 0.8, rotate_deg: float = 10.0,
                squash_x: tuple[float, float] = (0.7, 1.1),
                squash_y: tuple[float, float] = (0.85, 1.1), shear: float = 0.15) -> torch.Tensor:
    """A random 2x2 linear map per sample (probability ``p``): rotation, squash, shear."""
    _check(x)
    n = x.shape[0]
    ang = torch.deg2rad(_uniform(g, n, -rotate_deg, rotate_deg))
    sx, sy = _uniform(g, n, *squash_x), _uniform(g, n, *squash_y)
    sh = _uniform(g, n, -shear, shear)
    c, s = torch.cos(ang), torch.sin(ang)
    rot = torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)
    aff = torch.stack([torch.stack([sx, sh * sx], -1),
                       torch.stack([torch.zeros(n), sy], -1)], -2)
    mats = (rot @ aff).to(x.device, x.dtype)
    keep = ~(_rand(g, n) < p)
    mats[keep.to(x.device)] = torch.eye(2, device=x.device, dtype=x.dtype)
    xy = torch.einsum("ncd,ndtvm->nctvm", mats, x[:, :2])
    return _with_xy(x, xy)


def mirror2d(x: torch.Tensor, g: torch.Generator, p: float = 0.5,
             permutation: Sequence[int] | None = None) -> torch.Tensor:
    """Mirror the image (x -> -x, left and right joints swapped), probability ``p``."""
    _check(x)
    perm = _permutation(x.shape[3], permutation).to(x.device)
    flipped = x[:, :, :, perm].clone()
    flipped[:, 0] = -flipped[:, 0]
    return torch.where(_chosen(g, x.shape[0], p, x.device), flipped, x)


def scale_drift(x: torch.Tensor, g: torch.Generator, p: float = 0.5,
                scale: tuple[float, float] = (0.8, 1.25)) -> torch.Tensor:
    """Scale from ``s0`` to ``s1`` (both from ``scale``), linear over the window (prob. ``p``)."""
    _check(x)
    n, _, t, _, _ = x.shape
    s0, s1 = _uniform(g, n, *scale), _uniform(g, n, *scale)
    apply = _rand(g, n) < p
    s0, s1 = torch.where(apply, s0, 1.0), torch.where(apply, s1, 1.0)
    ramp = torch.linspace(0.0, 1.0, t) if t > 1 else torch.zeros(1)
    factor = (s0.view(n, 1) + (s1 - s0).view(n, 1) * ramp.view(1, t)).to(x.device, x.dtype)
    return _with_xy(x, x[:, :2] * factor.view(n, 1, t, 1, 1))


def keypoint_jitter(x: torch.Tensor, g: torch.Generator, p: float = 1.0,
                    std: float = 0.03) -> torch.Tensor:
    """Add N(0, std^2) to every present joint's x and y in every frame (probability ``p``)."""
    _check(x)
    noise = torch.randn(x[:, :2].shape, generator=g).to(x.device, x.dtype) * std
    noise = noise * _chosen(g, x.shape[0], p, x.device)
    return _with_xy(x, x[:, :2] + noise)


def swap_left_right(x: torch.Tensor, g: torch.Generator, p: float = 0.5, rate: float = 0.03,
                    permutation: Sequence[int] | None = None) -> torch.Tensor:
    """For a sample (probability ``p``), swap left and right joints of a person in a
    ``rate`` fraction of its frames, as estimators do for single frames."""
    _check(x)
    n, _, t, v, m = x.shape
    perm = _permutation(v, permutation).to(x.device)
    frames = (_rand(g, n, 1, t, 1, m) < rate).to(x.device) & _chosen(g, n, p, x.device)
    return torch.where(frames, x[:, :, :, perm], x)


def drop_keypoints(x: torch.Tensor, g: torch.Generator, p: float = 0.8, rate: float = 0.08,
                   burst: int = 4) -> torch.Tensor:
    """Drop joints (score and coordinates 0) in bursts of up to ``burst`` frames covering about
    ``rate`` of the joint-frames of a chosen sample (probability ``p``)."""
    _check(x)
    n, _, t, v, m = x.shape
    burst = max(1, int(burst))
    starts = (_rand(g, n, v * m, t) < rate / burst).float()
    if burst > 1:  # a start at frame f drops frames f .. f + burst - 1
        starts = F.max_pool1d(F.pad(starts, (burst - 1, 0)), burst, stride=1)
    drop = starts.view(n, v, m, t).permute(0, 3, 1, 2).unsqueeze(1) > 0  # (N, 1, T, V, M)
    drop = drop.to(x.device) & _chosen(g, n, p, x.device)
    return torch.where(drop, torch.zeros((), device=x.device, dtype=x.dtype), x)


def score_noise(x: torch.Tensor, g: torch.Generator, p: float = 1.0,
                low: float = 0.3) -> torch.Tensor:
    """Scores of present joints drawn from U(low, 1) per joint and frame (probability ``p``)."""
    _check(x)
    score = low + _rand(g, *x[:, 2:3].shape).to(x.device, x.dtype) * (1.0 - low)
    present = x[:, 2:3] > 0
    new = torch.where(present & _chosen(g, x.shape[0], p, x.device), score, x[:, 2:3])
    return torch.cat([x[:, :2], new], dim=1)


AUGMENTATIONS_2D: dict[str, Callable[..., torch.Tensor]] = {
    "camera_view": camera_view,
    "mirror2d": mirror2d,
    "scale_drift": scale_drift,
    "keypoint_jitter": keypoint_jitter,
    "swap_left_right": swap_left_right,
    "drop_keypoints": drop_keypoints,
    "score_noise": score_noise,
}
