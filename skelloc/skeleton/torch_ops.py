"""Resampling and NTU pre-normalisation as torch operations, for inputs prepared on a GPU.

The same functions as :func:`skelloc.skeleton.resample.resample` (4-D input) and
:func:`skelloc.skeleton.normalize.ntu_pre_normalize` (``pad="hold"``, centring and both
rotations, no confidence channel), computed in float64 on the tensor's device and returned as
float32. On an hour of two-person input the NumPy versions take about half a second of CPU
time, more than the network needs on a GPU; these run on the device. Tests compare both
implementations on the CPU.
"""

from __future__ import annotations

import numpy as np
import torch

from skelloc.errors import ConfigError, ShapeError
from skelloc.skeleton.layouts import get_layout
from skelloc.skeleton.normalize import NORMALIZATION_JOINTS, rotation_matrix
from skelloc.skeleton.resample import _TOL, resampled_length

__all__ = ["ntu_pre_normalize_tensor", "resample_tensor"]


def _check(x: torch.Tensor) -> None:
    if x.dim() != 4 or x.shape[-1] != 3:
        raise ShapeError(f"expected (T, M, V, 3) joints, got shape {tuple(x.shape)}")


def resample_tensor(x: torch.Tensor, src_fps: float, dst_fps: float) -> torch.Tensor:
    """:func:`~skelloc.skeleton.resample.resample` of ``x (T, M, V, C)`` on its device."""
    if x.dim() != 4:
        raise ShapeError(f"expected (T, M, V, C) joints, got shape {tuple(x.shape)}")
    t = x.shape[0]
    if float(src_fps) == float(dst_fps) or t == 0:
        return x.to(torch.float32, copy=True)
    n = resampled_length(t, src_fps, dst_fps)
    # positions computed on the host exactly as the NumPy version does
    pos = np.minimum(np.arange(n, dtype=np.float64) * float(src_fps) / float(dst_fps), t - 1)
    i0n = np.minimum(np.floor(pos + _TOL).astype(np.int64), t - 1)
    wn = np.clip(pos - i0n, 0.0, 1.0)
    wn[wn < _TOL] = 0.0
    i0 = torch.from_numpy(i0n).to(x.device)
    i1 = (i0 + 1).clamp_max(t - 1)
    w = torch.from_numpy(wn).to(x.device).view(n, 1, 1, 1)
    x0, x1 = x[i0].to(torch.float64), x[i1].to(torch.float64)
    out = x0 * (1.0 - w) + x1 * w
    # a person's empty frame is never blended with a valid one: take the nearer frame
    both = (x0 != 0).any(dim=(2, 3)) & (x1 != 0).any(dim=(2, 3))  # (n, M)
    pick = torch.where(w < 0.5, x0, x1)
    out = torch.where(both[..., None, None], out, pick)
    out = torch.where(w == 0, x0, out)
    return out.to(torch.float32)


def _first_bone(xyz: torch.Tensor, ok: torch.Tensor, pair: tuple[int, int],
                eps: float) -> np.ndarray | None:
    """The bone ``xyz[f, p, b] - xyz[f, p, a]`` of the first person, then frame, where both
    joints exist and the bone is at least ``eps`` long (as the NumPy version's loop)."""
    a, b = pair
    bone = xyz[:, :, b] - xyz[:, :, a]  # (T, M, 3)
    good = ok[:, :, a] & ok[:, :, b] & (torch.linalg.vector_norm(bone, dim=-1) >= eps)
    flat = good.transpose(0, 1).reshape(-1)  # person-major order
    if flat.numel() == 0:
        return None
    first = int(torch.argmax(flat.to(torch.int32)))
    if not bool(flat[first]):
        return None
    p, f = divmod(first, xyz.shape[0])
    return bone[f, p].cpu().numpy()


def ntu_pre_normalize_tensor(x: torch.Tensor, layout: str = "ntu25",
                             eps: float = 1e-6) -> torch.Tensor:
    """:func:`~skelloc.skeleton.normalize.ntu_pre_normalize` with its defaults (``pad="hold"``,
    centring, both rotations) for ``x (T, M, V, 3)`` on its device; returns float32."""
    _check(x)
    lay = get_layout(layout)
    if lay.name not in NORMALIZATION_JOINTS:
        raise ConfigError(f"no default normalisation joints for layout {lay.name!r}")
    if x.shape[2] != lay.num_joints:
        raise ShapeError(f"layout {lay.name!r} has {lay.num_joints} joints, input {x.shape[2]}")
    cj, za, xa = NORMALIZATION_JOINTS[lay.name]
    out = x.to(torch.float64, copy=True)
    t = out.shape[0]
    if t == 0:
        return out.to(torch.float32)
    ok = (out != 0).any(dim=-1)  # (T, M, V)
    frame_ok = ok.any(dim=-1)  # (T, M)

    # 1. empty frames take the person's most recent valid frame (the first one before it)
    partial = frame_ok.any(dim=0) & ~frame_ok.all(dim=0)  # (M,)
    if bool(partial.any()):
        ar = torch.arange(t, device=x.device).view(t, 1).expand_as(frame_ok)
        idx = torch.where(frame_ok, ar, torch.full_like(ar, -1)).cummax(dim=0).values
        first = torch.argmax(frame_ok.to(torch.int32), dim=0).view(1, -1).expand_as(idx)
        idx = torch.where(idx < 0, first, idx)
        idx = torch.where(partial.view(1, -1), idx, ar)
        out = torch.gather(out, 0, idx.view(t, -1, 1, 1).expand_as(out))
        ok = (out != 0).any(dim=-1)

    # 2. centre on the main body's centre joint, frame by frame
    cvalid = ok[:, :, cj]  # (T, M)
    has = cvalid.any(dim=1)
    main = torch.argmax(cvalid.to(torch.int32), dim=1)
    origin = out[torch.arange(t, device=x.device), main, cj]  # (T, 3)
    origin = origin * has.view(t, 1)
    out = (out - origin.view(t, 1, 1, 3)) * ok[..., None]

    # 3./4. rotations from the main body's first frame with both bones present
    for axis_joints, target in ((za, (0.0, 0.0, 1.0)), (xa, (1.0, 0.0, 0.0))):
        bone = _first_bone(out, ok, axis_joints, eps)
        if bone is None:
            continue
        rot = torch.from_numpy(rotation_matrix(bone, np.asarray(target), eps)).to(out.device)
        out = out @ rot.T
    return out.to(torch.float32)
