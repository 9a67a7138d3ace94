"""2s-AGCN joint stream (Shi et al., CVPR 2019), following ``lshiwjx/2s-AGCN`` ``model/agcn.py``.

``unit_gcn`` (adaptive graph), for each of the K subsets: θ, φ = 1×1 convs to
``C_out / coff_embedding`` channels; ``C_k = softmax_{-2}(θᵀφ / (C_inter·T))``; the input is
multiplied by ``A_k + PA_k + C_k`` (fixed graph + learned ``PA``, initialised to 1e-6, + the
data-dependent attention) and mapped by ``conv_d[k]``; the K outputs are summed, then
BN (γ = 1e-6 at init) + ``down(x)`` + ReLU. ``unit_tcn`` = Conv(9×1, stride s) + BN. A unit is
``ReLU(tcn1(gcn1(x)) + residual(x))`` with no residual in ``l1``.

The released SnipCLR encoder (the paper's) strides at blocks 2, 5 and 8 (total stride 8) and
disables the input BatchNorm; that is the default here. ``stride_blocks=(5, 8), data_bn=True``
gives the original 2s-AGCN (3,469,510 parameters with the NTU-60 classifier).

No ``.cuda()`` anywhere: the fixed ``A`` is a non-persistent buffer that follows ``.to()``.
State-dict keys match the original checkpoint (the original also never saves ``A``)::

    original (2s-AGCN)                          skelloc (this module)
    data_bn.*                                   data_bn.*        (None unless data_bn=True)
    l{i}.gcn1.PA                                l{i}.gcn1.PA
    l{i}.gcn1.conv_{a,b,d}.{k}.*                l{i}.gcn1.conv_{a,b,d}.{k}.*
    l{i}.gcn1.down.{0,1}.*, l{i}.gcn1.bn.*      same
    l{i}.tcn1.{conv,bn}.*                       same
    l{i}.residual.{conv,bn}.*                   same (blocks whose width or stride changes)
    fc.*                                        (classifier; not part of the encoder)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np
import torch
from torch import Tensor, nn

from skelloc.errors import ConfigError
from skelloc.models.base import (
    BackboneBase,
    Zero,
    bn_init,
    build_adjacency,
    canonical_layout,
    conv_branch_init,
    conv_init,
    cumulative_strides,
    resolve_strides,
)

__all__ = ["AttentionGraphUnit", "AdaptiveGraphConv", "TemporalUnit", "AGCNUnit", "AGCN", "residual_branch"]


class AttentionGraphUnit(nn.Module):
    """The shared body of 2s-AGCN's ``unit_gcn`` and UNIK's ``S_LSU``.

    Per branch ``i``: a data-dependent joint attention ``softmax(conv_a(x)ᵀ·conv_b(x))`` plus the
    branch's graph term (:meth:`graph_terms`), applied to ``x`` and mixed by ``conv_d[i]``; the
    branches are summed, then BN, the ``down`` residual and ReLU. Attribute names are the
    originals', so checkpoints of both codebases load without renaming.
    """

    def _build_branches(self, in_channels: int, out_channels: int, branches: int,
                        coff_embedding: int) -> None:
        inter = max(1, out_channels // coff_embedding)
        self.inter_c = inter
        self.num_branches = int(branches)
        self.conv_a = nn.ModuleList(nn.Conv2d(in_channels, inter, 1) for _ in range(branches))
        self.conv_b = nn.ModuleList(nn.Conv2d(in_channels, inter, 1) for _ in range(branches))
        self.conv_d = nn.ModuleList(
            nn.Conv2d(in_channels, out_channels, 1) for _ in range(branches)
        )
        self.down: nn.Module
        if in_channels != out_channels:
            self.down = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels)
            )
        else:
            self.down = nn.Identity()
        self.bn = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU()
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                conv_init(m)
            elif isinstance(m, nn.BatchNorm2d):
                bn_init(m, 1)
        bn_init(self.bn, 1e-6)
        for conv in self.conv_d:
            conv_branch_init(cast(nn.Conv2d, conv), branches)

    def graph_terms(self) -> Tensor:
        """``(branches, V, V)`` added to each branch's attention."""
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        N, C, T, V = x.shape
        graph = self.graph_terms()
        flat = x.view(N, C * T, V)
        y: Tensor | None = None
        for i in range(self.num_branches):
            a1 = self.conv_a[i](x).permute(0, 3, 1, 2).reshape(N, V, self.inter_c * T)
            a2 = self.conv_b[i](x).view(N, self.inter_c * T, V)
            att = torch.softmax(torch.matmul(a1, a2) / a1.size(-1), dim=-2) + graph[i]
            z = self.conv_d[i](torch.matmul(flat, att).view(N, C, T, V))
            y = z if y is None else y + z
        assert y is not None
        y = self.bn(y) + self.down(x)
        return self.relu(y)


class AdaptiveGraphConv(AttentionGraphUnit):
    """``unit_gcn``: fixed A + learned PA + data-dependent attention, per subset."""

    def __init__(
        self, in_channels: int, out_channels: int, A: np.ndarray, coff_embedding: int = 4
    ) -> None:
        super().__init__()
        self.num_subset = int(A.shape[0])
        fixed = torch.from_numpy(np.asarray(A, dtype=np.float32))
        self.register_buffer("A", fixed, persistent=False)
        self.PA = nn.Parameter(torch.full(A.shape, 1e-6, dtype=torch.float32))
        self._build_branches(in_channels, out_channels, self.num_subset, coff_embedding)

    def graph_terms(self) -> Tensor:
        return cast(Tensor, self.A) + self.PA


class TemporalUnit(nn.Module):
    """``unit_tcn``: Conv(k×1, stride s) + BN, no activation."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int = 9, stride: int = 1
    ) -> None:
        super().__init__()
        pad = (kernel_size - 1) // 2
        self.conv = nn.Conv2d(
            in_channels, out_channels, (kernel_size, 1), padding=(pad, 0), stride=(stride, 1)
        )
        self.bn = nn.BatchNorm2d(out_channels)
        conv_init(self.conv)
        bn_init(self.bn, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.bn(self.conv(x))


def residual_branch(in_channels: int, out_channels: int, stride: int, residual: bool) -> nn.Module:
    """None (zero) / identity / 1×1 ``TemporalUnit``, the 2s-AGCN and UNIK rule."""
    if not residual:
        return Zero()
    if in_channels == out_channels and stride == 1:
        return nn.Identity()
    return TemporalUnit(in_channels, out_channels, kernel_size=1, stride=stride)


class AGCNUnit(nn.Module):
    """``TCN_GCN_unit``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        A: np.ndarray,
        stride: int = 1,
        residual: bool = True,
        temporal_kernel: int = 9,
        coff_embedding: int = 4,
    ) -> None:
        super().__init__()
        self.gcn1 = AdaptiveGraphConv(in_channels, out_channels, A, coff_embedding=coff_embedding)
        self.tcn1 = TemporalUnit(
            out_channels, out_channels, kernel_size=temporal_kernel, stride=stride
        )
        self.residual = residual_branch(in_channels, out_channels, stride, residual)
        self.relu = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        return self.relu(self.tcn1(self.gcn1(x)) + self.residual(x))


def agcn_channels(base_channels: int) -> list[int]:
    b = int(base_channels)
    if b < 1:
        raise ConfigError(f"base_channels must be >= 1, got {base_channels}")
    return [b] * 4 + [2 * b] * 3 + [4 * b] * 3


class AGCN(BackboneBase):
    """2s-AGCN joint-stream encoder, blocks ``l1``..``l10``.

    Args:
        in_channels: input channels C.
        layout: skeleton layout name; ``strategy``: graph partition ('agcn' = [I, in, out]).
        base_channels: first-stage width (64 in the paper); ``channels`` overrides all widths.
        strides / stride_blocks: per-block strides or 1-based striding blocks
            (default ``(2, 5, 8)``, the SnipCLR plan, total stride 8).
        temporal_kernel: TCN kernel (9); coff_embedding: θ/φ width divisor (4).
        data_bn: per-person input BatchNorm over ``M·V·C`` (off in the paper; on in 2s-AGCN).
        num_person: persons covered by that BatchNorm (inputs may have fewer).
    """

    data_bn_per_person = True

    def __init__(
        self,
        in_channels: int = 3,
        layout: str = "ntu25",
        strategy: str = "agcn",
        base_channels: int = 64,
        channels: Sequence[int] | None = None,
        strides: Sequence[int] | None = None,
        stride_blocks: Sequence[int] | None = None,
        temporal_kernel: int = 9,
        coff_embedding: int = 4,
        data_bn: bool = False,
        num_person: int = 2,
    ) -> None:
        super().__init__()
        if temporal_kernel < 1 or temporal_kernel % 2 == 0:
            raise ConfigError(f"temporal_kernel must be odd and positive, got {temporal_kernel}")
        if channels is not None:
            widths = [int(c) for c in channels]
        else:
            widths = agcn_channels(base_channels)
        if not widths or any(c < 1 for c in widths):
            raise ConfigError(f"invalid block widths {widths}")
        per_block = resolve_strides(len(widths), strides, stride_blocks, (2, 5, 8))
        A = build_adjacency(layout, strategy)
        V = int(A.shape[1])

        self.in_channels = int(in_channels)
        self.num_joints = V
        self.num_person = int(num_person)
        self.layout = canonical_layout(layout)
        self.block_channels = widths
        self.block_strides = cumulative_strides(per_block)
        self.data_bn = nn.BatchNorm1d(self.num_person * self.in_channels * V) if data_bn else None
        if self.data_bn is not None:
            bn_init(self.data_bn, 1)

        c_in = self.in_channels
        for i, (c_out, s) in enumerate(zip(widths, per_block)):
            unit = AGCNUnit(
                c_in, c_out, A, stride=s, residual=i != 0,
                temporal_kernel=temporal_kernel, coff_embedding=coff_embedding,
            )
            self.add_module(f"l{i + 1}", unit)
            c_in = c_out

    def forward(self, x: Tensor) -> list[Tensor]:
        return self._forward_named_blocks(x)
