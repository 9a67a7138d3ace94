"""The backbone protocol and the pieces the GCN backbones share.

Every backbone is an ``nn.Module`` that takes ``(N, C, T, V, M)`` and returns one tensor per
block, each ``(N, M, C_i, T_i, V)`` with ``T_i = ceil(T / block_strides[i])``. Temporal
convolutions use kernel ``k``, padding ``(k - 1) // 2`` and stride ``s``, so one block maps a
length ``T`` to ``floor((T - 1) / s) + 1 = ceil(T / s)``, and nested ceilings compose to
``ceil(T / prod(s))``: any ``T >= 1`` works.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from torch import Tensor, nn

from skelloc.errors import ConfigError, ShapeError

__all__ = [
    "Backbone",
    "BackboneModule",
    "HeadModule",
    "Zero",
    "BackboneBase",
    "resolve_strides",
    "cumulative_strides",
    "build_adjacency",
    "canonical_layout",
    "conv_init",
    "bn_init",
    "conv_branch_init",
    "pool_joints_persons",
    "interpolate_linear",
    "interpolate_nearest",
    "check_head_args",
]


class Zero(nn.Module):
    """A residual branch that adds nothing (``residual=False`` in ST-GCN, 2s-AGCN and UNIK)."""

    def forward(self, x: Tensor) -> Tensor | float:
        return 0.0


@runtime_checkable
class Backbone(Protocol):
    """What heads and the :class:`~skelloc.models.localizer.Localizer` rely on."""

    in_channels: int
    num_joints: int
    block_channels: list[int]
    block_strides: list[int]

    @property
    def out_channels(self) -> int: ...

    @property
    def total_stride(self) -> int: ...

    def __call__(self, x: Tensor) -> list[Tensor]: ...


class BackboneModule(nn.Module):
    """The static type of a built backbone: an ``nn.Module`` with the :class:`Backbone` members
    (for annotations and casts only; backbones need not derive from it)."""

    in_channels: int
    num_joints: int
    block_channels: list[int]
    block_strides: list[int]
    out_channels: int
    total_stride: int

    def __call__(self, x: Tensor) -> list[Tensor]:
        raise NotImplementedError


class HeadModule(nn.Module):
    """The static type of a built frame head (annotations and casts only): ``head(feats, T)``
    gives ``(N, K+1, T)`` logits, ``forward_features(feats, T)`` ``(N, D, T)`` features."""

    num_classes: int
    feature_dim: int

    def __call__(self, feats: list[Tensor], T: int) -> Tensor:
        raise NotImplementedError

    def forward_features(self, feats: list[Tensor], T: int) -> Tensor:
        raise NotImplementedError


def resolve_strides(
    num_blocks: int,
    strides: Sequence[int] | None,
    stride_blocks: Sequence[int] | None,
    default_stride_blocks: Sequence[int],
) -> list[int]:
    """Per-block temporal strides.

    ``strides`` gives one stride per block; ``stride_blocks`` lists the 1-based blocks that
    stride by 2 (``(5, 8)`` is the standard ST-GCN plan). At most one of them may be given.
    """
    if strides is not None and stride_blocks is not None:
        raise ConfigError("give either 'strides' or 'stride_blocks', not both")
    if strides is not None:
        out = [int(s) for s in strides]
        if len(out) != num_blocks:
            raise ConfigError(
                f"'strides' needs {num_blocks} entries (one per block), got {len(out)}"
            )
        if any(s < 1 for s in out):
            raise ConfigError(f"strides must be >= 1, got {out}")
        return out
    blocks = default_stride_blocks if stride_blocks is None else stride_blocks
    out = [1] * num_blocks
    for b in blocks:
        b = int(b)
        if not 1 <= b <= num_blocks:
            raise ConfigError(
                f"stride_blocks are 1-based block numbers in 1..{num_blocks}, got {b}"
            )
        out[b - 1] = 2
    return out


def cumulative_strides(strides: Sequence[int]) -> list[int]:
    """Cumulative temporal stride after each block."""
    out: list[int] = []
    acc = 1
    for s in strides:
        acc *= int(s)
        out.append(acc)
    return out


def build_adjacency(layout: str, strategy: str, **graph_args: Any) -> np.ndarray:
    """``Graph(layout, strategy, **graph_args).A`` as float32 ``(K, V, V)``."""
    from skelloc.skeleton.graph import Graph  # lazy: keeps import light

    graph = Graph(layout, strategy=strategy, **graph_args)
    return np.asarray(graph.A, dtype=np.float32)


def canonical_layout(layout: str) -> str:
    """The registered name of a layout (aliases resolved)."""
    from skelloc.skeleton.layouts import get_layout

    return get_layout(layout).name


def conv_init(conv: nn.Conv1d | nn.Conv2d) -> None:
    """Kaiming-normal (fan-out) weights, zero bias (2s-AGCN / UNIK)."""
    nn.init.kaiming_normal_(conv.weight, mode="fan_out")
    if conv.bias is not None:
        nn.init.constant_(conv.bias, 0)


def bn_init(bn: nn.BatchNorm1d | nn.BatchNorm2d, scale: float) -> None:
    nn.init.constant_(bn.weight, scale)
    nn.init.constant_(bn.bias, 0)


def conv_branch_init(conv: nn.Conv2d, branches: int) -> None:
    weight = conv.weight
    n, k1, k2 = weight.size(0), weight.size(1), weight.size(2)
    nn.init.normal_(weight, 0, math.sqrt(2.0 / (n * k1 * k2 * branches)))
    if conv.bias is not None:
        nn.init.constant_(conv.bias, 0)


class BackboneBase(nn.Module):
    """Shared bookkeeping: input checks, data BN and output reshaping.

    Subclasses set ``in_channels``, ``num_joints``, ``num_person``, ``block_channels``,
    ``block_strides`` (cumulative) and ``layout``, and define ``data_bn`` (a
    ``BatchNorm1d`` or ``None``) with ``data_bn_per_person`` telling its kind:
    ``False`` = ``V·C`` channels shared by persons (ST-GCN), ``True`` = ``M·V·C``
    (2s-AGCN, UNIK).
    """

    in_channels: int
    num_joints: int
    num_person: int
    block_channels: list[int]
    block_strides: list[int]
    layout: str
    data_bn: nn.BatchNorm1d | None
    data_bn_per_person: bool

    @property
    def out_channels(self) -> int:
        return self.block_channels[-1]

    @property
    def total_stride(self) -> int:
        return self.block_strides[-1]

    @property
    def num_blocks(self) -> int:
        return len(self.block_channels)

    def output_lengths(self, T: int) -> list[int]:
        """``T_i`` of every block for an input of ``T`` frames."""
        return [-(-T // s) for s in self.block_strides]

    def _check_input(self, x: Tensor) -> None:
        if x.dim() != 5:
            raise ShapeError(f"expected input (N, C, T, V, M), got shape {tuple(x.shape)}")
        _, C, T, V, M = x.shape
        if C != self.in_channels:
            raise ShapeError(f"expected {self.in_channels} channels (dim 1), got {C}")
        if V != self.num_joints:
            raise ShapeError(f"expected {self.num_joints} joints (dim 3), got {V}")
        if T < 1 or M < 1:
            raise ShapeError(f"need at least one frame and one person, got T={T}, M={M}")
        if self.data_bn is not None and self.data_bn_per_person and M > self.num_person:
            raise ShapeError(
                f"this backbone's per-person data BN covers {self.num_person} person(s), got M={M}"
            )

    def _normalize_input(self, x: Tensor) -> Tensor:
        """``(N, C, T, V, M)`` → data BN → ``(N·M, C, T, V)``."""
        self._check_input(x)
        N, C, T, V, M = x.shape
        x = x.permute(0, 4, 3, 1, 2).contiguous()  # N, M, V, C, T
        bn = self.data_bn
        if bn is None:
            pass
        elif not self.data_bn_per_person:
            x = bn(x.view(N * M, V * C, T)).view(N, M, V, C, T)
        elif M == self.num_person:
            x = bn(x.view(N, M * V * C, T)).view(N, M, V, C, T)
        else:  # fewer persons than the BN covers: use the first M persons' statistics
            n = M * V * C
            running_mean = bn.running_mean[:n] if bn.running_mean is not None else None
            running_var = bn.running_var[:n] if bn.running_var is not None else None
            use_batch_stats = bn.training or running_mean is None
            if bn.training and bn.num_batches_tracked is not None:
                bn.num_batches_tracked.add_(1)
            momentum = 0.0 if bn.momentum is None else bn.momentum
            y = torch.nn.functional.batch_norm(
                x.view(N, n, T),
                running_mean,  # views: in-place updates reach the full buffers
                running_var,
                bn.weight[:n] if bn.weight is not None else None,
                bn.bias[:n] if bn.bias is not None else None,
                use_batch_stats,
                momentum,
                bn.eps,
            )
            x = y.view(N, M, V, C, T)
        return x.permute(0, 1, 3, 4, 2).contiguous().view(N * M, C, T, V)

    def _forward_named_blocks(self, x: Tensor) -> list[Tensor]:
        """Run blocks registered as ``l1 .. lN`` (the 2s-AGCN/UNIK naming), keeping each output."""
        N, M = x.shape[0], x.shape[-1]
        h = self._normalize_input(x)
        outs: list[Tensor] = []
        for i in range(self.num_blocks):
            h = getattr(self, f"l{i + 1}")(h)
            outs.append(self._split_persons(h, N, M))
        return outs

    @staticmethod
    def _split_persons(x: Tensor, N: int, M: int) -> Tensor:
        """``(N·M, C, T, V)`` → ``(N, M, C, T, V)``."""
        _, C, T, V = x.shape
        return x.view(N, M, C, T, V)


def pool_joints_persons(feat: Tensor) -> Tensor:
    """``(N, M, C, T, V)`` → ``(N, C, T)``: mean over joints, then over persons."""
    if feat.dim() != 5:
        raise ShapeError(f"expected block features (N, M, C, T, V), got shape {tuple(feat.shape)}")
    if feat.stride(2) == 1 and feat.shape[2] > 1:  # channels-last memory (the inference form)
        # reduce over the contiguous (T, V, C) layout; same sums, several times faster
        return feat.permute(0, 1, 3, 4, 2).mean(dim=3).mean(dim=1).transpose(1, 2)
    return feat.mean(dim=-1).mean(dim=1)


def interpolate_linear(x: Tensor, length: int) -> Tensor:
    """Linear interpolation of ``(N, D, L)`` to ``(N, D, length)`` (``align_corners=True``)."""
    if x.shape[-1] == length:
        return x
    return nn.functional.interpolate(x, size=length, mode="linear", align_corners=True)


def interpolate_nearest(x: Tensor, length: int) -> Tensor:
    """Nearest-neighbour interpolation of ``(N, D, L)`` to ``(N, D, length)``."""
    if x.shape[-1] == length:
        return x
    return nn.functional.interpolate(x, size=length, mode="nearest")


def check_head_args(
    block_channels: Sequence[int], block_strides: Sequence[int], num_classes: int
) -> None:
    """Validate the arguments every head receives."""
    if not block_channels or len(block_channels) != len(block_strides):
        raise ConfigError(
            f"block_channels ({len(block_channels)}) and block_strides ({len(block_strides)}) "
            "must be non-empty and of equal length"
        )
    if int(num_classes) < 1:
        raise ConfigError(f"num_classes must be >= 1 (background excluded), got {num_classes}")
