"""Sliding-window inference for arbitrarily long sequences.

A sequence that fits in one window is run whole (padded by repeating its last frame only when
it is shorter than ``min_frames``, then cropped back), so windowed inference equals
whole-sequence inference there. A longer sequence is cut into windows of ``window`` frames
whose starts are multiples of the model's total temporal stride (so every window sees the
same stride phase); the last window is completed by repeating the last frame. Windows are run
in batches and their outputs merged by a weighted average on the overlaps. Memory is bounded
by ``batch_size × window``, not by the sequence length (apart from the input and the merged
output themselves).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from skelloc.errors import ConfigError

__all__ = ["WindowConfig", "WindowPlan", "plan_windows", "sliding_window_apply", "window_weights"]

logger = logging.getLogger(__name__)

Weighting = Literal["average", "triangular"]


@dataclass(frozen=True)
class WindowConfig:
    """Sliding-window settings, in frames at the model's frame rate.

    ``window`` is rounded up and ``window - overlap`` (the step) down to multiples of the
    model's total stride. ``weighting="average"`` averages overlapping outputs with equal
    weights; ``"triangular"`` weights each window's frames by their distance to its edges.
    """

    window: int = 1024
    overlap: int = 256
    batch_size: int = 8
    weighting: Weighting = "average"

    def __post_init__(self) -> None:
        if int(self.window) < 1:
            raise ConfigError(f"window must be a positive number of frames, got {self.window}")
        if not 0 <= int(self.overlap) < int(self.window):
            raise ConfigError(
                f"overlap must be in [0, window) = [0, {self.window}), got {self.overlap}"
            )
        if int(self.batch_size) < 1:
            raise ConfigError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.weighting not in ("average", "triangular"):
            raise ConfigError(
                f"weighting must be 'average' or 'triangular', got {self.weighting!r}"
            )


@dataclass(frozen=True)
class WindowPlan:
    """Where the windows of a ``num_frames`` sequence start.

    ``length`` is the length every window is run at (the whole, possibly padded sequence
    when ``starts == [0]``) and ``padded_frames`` the sequence length after padding.
    """

    num_frames: int
    starts: tuple[int, ...]
    length: int
    padded_frames: int


def plan_windows(
    num_frames: int, window: int, overlap: int, *, align: int = 1, min_frames: int = 1
) -> WindowPlan:
    """Plan the windows for a sequence of ``num_frames`` frames (see the module docstring)."""
    if num_frames < 1:
        raise ConfigError(f"cannot plan windows for {num_frames} frames")
    align = max(1, int(align))
    window = max(_round_up(int(window), align), align)
    if num_frames <= window:
        length = max(num_frames, int(min_frames))
        return WindowPlan(num_frames, (0,), length, length)
    step = max(align, (window - int(overlap)) // align * align)
    last = math.ceil((num_frames - window) / step) * step
    starts = tuple(range(0, last + 1, step))
    return WindowPlan(num_frames, starts, window, last + window)


def window_weights(length: int, weighting: Weighting) -> np.ndarray:
    """Per-frame merge weights of one window's output (float64, all positive)."""
    if weighting == "average":
        return np.ones(length)
    i = np.arange(length)
    return np.minimum(i + 1, length - i).astype(np.float64)


def sliding_window_apply(
    fn: Callable[[torch.Tensor], torch.Tensor],
    joints: np.ndarray,
    config: WindowConfig = WindowConfig(),
    *,
    align: int = 1,
    min_frames: int = 1,
    device: torch.device | str = "cpu",
) -> tuple[np.ndarray, int]:
    """Run ``fn`` over ``joints`` window by window and merge the outputs.

    Args:
        fn: maps a batch ``(N, C, L, V, M)`` to ``(N, D, L_out)`` with ``L_out = ceil(L / s)``
            for a fixed output stride ``s`` dividing ``align`` (1 for frame-level outputs).
        joints: ``(T, M, V, C)`` float32 model input at the model's frame rate.
        config: window, overlap, batch size and merge weighting.
        align: the model's total temporal stride; window starts are multiples of it.
        min_frames: shorter sequences are padded (last frame repeated) to this length.
        device: where ``fn`` runs.

    Returns:
        ``(out, s)``: the merged output ``(D, ceil(T / s))`` as float32 and the stride ``s``.
    """
    num_frames = int(joints.shape[0])
    plan = plan_windows(num_frames, config.window, config.overlap, align=align,
                        min_frames=min_frames)
    logger.debug("%d frames -> %d windows of %d", num_frames, len(plan.starts), plan.length)

    if torch.device(device).type != "cpu":
        return _apply_on_device(fn, joints, config, plan, num_frames, align, torch.device(device))
    acc: np.ndarray | None = None
    weight_sum: np.ndarray | None = None
    stride = 1
    out_len = 0
    weights = np.ones(0)
    for first in range(0, len(plan.starts), int(config.batch_size)):
        starts = plan.starts[first : first + int(config.batch_size)]
        batch = np.stack([_window(joints, s, plan.length) for s in starts])  # (N, L, M, V, C)
        x = torch.from_numpy(batch).permute(0, 4, 1, 3, 2).contiguous().to(device)
        y = fn(x)
        if y.dim() != 3 or y.shape[0] != len(starts):
            raise ConfigError(f"the model returned shape {tuple(y.shape)}, expected (N, D, T)")
        y_np = y.detach().to("cpu", torch.float32).numpy()
        if acc is None:
            out_len = int(y_np.shape[-1])
            stride = _infer_stride(plan.length, out_len, max(1, int(align)))
            total = math.ceil(plan.padded_frames / stride)
            acc = np.zeros((y_np.shape[1], total), dtype=np.float64)
            weight_sum = np.zeros(total, dtype=np.float64)
            weights = window_weights(out_len, config.weighting)
        assert weight_sum is not None
        for row, s in zip(y_np, starts):
            o = s // stride
            acc[:, o : o + out_len] += row * weights
            weight_sum[o : o + out_len] += weights
    assert acc is not None and weight_sum is not None
    keep = math.ceil(num_frames / stride)
    merged = acc[:, :keep] / weight_sum[:keep]
    return merged.astype(np.float32), stride


def _apply_on_device(fn: Callable[[torch.Tensor], torch.Tensor], joints: np.ndarray,
                     config: WindowConfig, plan: WindowPlan, num_frames: int, align: int,
                     device: torch.device) -> tuple[np.ndarray, int]:
    """:func:`sliding_window_apply` on a GPU: the sequence crosses to the device once, windows
    are gathered and outputs merged there (one copy back at the end, no sync per batch)."""
    seq = torch.from_numpy(np.ascontiguousarray(joints)).to(device).permute(3, 0, 2, 1)  # CTVM
    frames = torch.arange(plan.length, device=device)
    starts_all = torch.tensor(plan.starts, dtype=torch.long, device=device)
    acc = weight_sum = weights = None
    stride = out_len = 0
    for first in range(0, len(plan.starts), int(config.batch_size)):
        starts = starts_all[first : first + int(config.batch_size)]
        # the last frame repeated past the end, as _window does
        idx = (starts.view(-1, 1) + frames.view(1, -1)).clamp_max(num_frames - 1)
        x = seq[:, idx].permute(1, 0, 2, 3, 4).contiguous()  # (N, C, L, V, M)
        y = fn(x)
        if y.dim() != 3 or y.shape[0] != len(starts):
            raise ConfigError(f"the model returned shape {tuple(y.shape)}, expected (N, D, T)")
        if acc is None:
            out_len = int(y.shape[-1])
            stride = _infer_stride(plan.length, out_len, max(1, int(align)))
            total = math.ceil(plan.padded_frames / stride)
            acc = torch.zeros(y.shape[1], total, dtype=torch.float64, device=device)
            weight_sum = torch.zeros(total, dtype=torch.float64, device=device)
            weights = torch.from_numpy(window_weights(out_len, config.weighting)).to(device)
        assert weight_sum is not None and weights is not None
        cols = (starts.view(-1, 1) // stride + torch.arange(out_len, device=device)).reshape(-1)
        contrib = (y.detach().to(torch.float64) * weights).permute(1, 0, 2).reshape(y.shape[1], -1)
        acc.index_add_(1, cols, contrib)
        weight_sum.index_add_(0, cols, weights.repeat(len(starts)))
    assert acc is not None and weight_sum is not None
    keep = math.ceil(num_frames / stride)
    merged = (acc[:, :keep] / weight_sum[:keep]).to(torch.float32)
    return merged.cpu().numpy(), stride


def _window(joints: np.ndarray, start: int, length: int) -> np.ndarray:
    """``joints[start:start + length]``, completed by repeating the last frame."""
    part = joints[start : start + length]
    if len(part) == length:
        return part
    pad = np.repeat(joints[-1:], length - len(part), axis=0)
    return np.concatenate([part, pad], axis=0)


def _infer_stride(length: int, out_len: int, align: int) -> int:
    """The output stride ``s`` (a divisor of ``align``) with ``ceil(length / s) == out_len``."""
    if out_len == length:
        return 1
    candidates = [s for s in range(1, align + 1)
                  if align % s == 0 and math.ceil(length / s) == out_len]
    if not candidates:
        raise ConfigError(
            f"the model maps {length} frames to {out_len} outputs, which is no whole stride "
            f"dividing its total stride {align}"
        )
    exact = [s for s in candidates if length % s == 0]
    return max(exact or candidates)


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple
