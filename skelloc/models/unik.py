"""UNIK (Yang et al., BMVC 2021), following ``YangDi666/UNIK`` ``model/backbone_unik.py``.

Graph-free: each spatial unit ``S_LSU`` learns a dense dependency matrix ``DepM`` of shape
``(heads, V, V)`` (Kaiming-uniform init) that is added to a 2s-AGCN-style θ/φ softmax attention
(``softmax_{-2}(θᵀφ / (C_inter·T))``); the input is multiplied by it, mapped by ``conv_d[h]``
and summed over heads, then BN (γ = 1e-6) + ``down(x)`` + ReLU. ``T_LSU`` is Conv(9×1) + BN.
Same 10-block plan as 2s-AGCN (64/128/256, strides at blocks 5 and 8) with ``M·V·C`` data BN.
The original ``l1`` always uses 3 heads whatever ``num_heads`` says (``l1_heads=3``).
``S_LSU`` also owns a ``bias`` vector (V) that the original forward never uses; it is kept so
checkpoints load, and it is counted in the parameters (3,803,033 for the NTU config with its
60-class classifier). Only the temporal window ``tau = 1`` (every released config) is provided.

No graph is needed, so any registered layout works; it only fixes the joint count.
State-dict keys match the original: ``data_bn.*``, ``l{i}.s_unit.{DepM, bias, conv_a.{h},
conv_b.{h}, conv_d.{h}, down.{0,1}, bn}``, ``l{i}.t_unit.{conv,bn}``, ``l{i}.residual.{conv,bn}``;
the original classifier ``fc.*`` is not part of the encoder.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from skelloc.errors import ConfigError
from skelloc.models.agcn import (
    AttentionGraphUnit,
    TemporalUnit,
    agcn_channels,
    residual_branch,
)
from skelloc.models.base import (
    BackboneBase,
    bn_init,
    cumulative_strides,
    resolve_strides,
)

__all__ = ["SpatialUnit", "UNIKBlock", "UNIK"]


class SpatialUnit(AttentionGraphUnit):
    """``S_LSU`` with ``tau = 1``: learned dependency matrices ``DepM`` instead of a graph."""

    def __init__(
        self, in_channels: int, out_channels: int, num_joints: int, num_heads: int = 3,
        coff_embedding: int = 4,
    ) -> None:
        super().__init__()
        self.num_heads = int(num_heads)
        self.DepM = nn.Parameter(torch.empty(num_heads, num_joints, num_joints))
        self.bias = nn.Parameter(torch.empty(num_joints))  # unused by the original forward
        nn.init.kaiming_uniform_(self.DepM, a=math.sqrt(5))
        fan_in = num_joints * num_joints  # _calculate_fan_in_and_fan_out of (H, V, V)
        bound = 1 / math.sqrt(fan_in)
        nn.init.uniform_(self.bias, -bound, bound)
        self._build_branches(in_channels, out_channels, self.num_heads, coff_embedding)

    def graph_terms(self) -> Tensor:
        return self.DepM


class UNIKBlock(nn.Module):
    """``ST_block``: spatial unit, temporal unit, residual."""

    def __init__(
        self, in_channels: int, out_channels: int, num_joints: int, num_heads: int = 3,
        stride: int = 1, residual: bool = True, temporal_kernel: int = 9,
    ) -> None:
        super().__init__()
        self.s_unit = SpatialUnit(in_channels, out_channels, num_joints, num_heads)
        self.t_unit = TemporalUnit(
            out_channels, out_channels, kernel_size=temporal_kernel, stride=stride
        )
        self.residual = residual_branch(in_channels, out_channels, stride, residual)
        self.relu = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        return self.relu(self.t_unit(self.s_unit(x)) + self.residual(x))


class UNIK(BackboneBase):
    """UNIK encoder, blocks ``l1``..``l10``.

    Args:
        in_channels: input channels (2 for the Posetics 2D model, 3 for NTU).
        layout: the skeleton layout the model expects (no graph is used);
        num_joints: joints V (default: the layout's joint count; must agree with it).
        num_heads: heads of blocks 2..10 (3 default, 4 in the NTU config); l1_heads: of block 1.
        base_channels / channels / strides / stride_blocks: as for the other backbones
            (default stride blocks ``(5, 8)``).
        data_bn: per-person input BatchNorm over ``M·V·C``; num_person: persons it covers.
    """

    data_bn_per_person = True

    def __init__(
        self,
        in_channels: int = 3,
        num_joints: int | None = None,
        layout: str = "ntu25",
        num_heads: int = 3,
        l1_heads: int = 3,
        base_channels: int = 64,
        channels: Sequence[int] | None = None,
        strides: Sequence[int] | None = None,
        stride_blocks: Sequence[int] | None = None,
        temporal_kernel: int = 9,
        data_bn: bool = True,
        num_person: int = 2,
    ) -> None:
        super().__init__()
        if num_heads < 1 or l1_heads < 1:
            raise ConfigError(f"head counts must be >= 1, got {num_heads}, {l1_heads}")
        if temporal_kernel < 1 or temporal_kernel % 2 == 0:
            raise ConfigError(f"temporal_kernel must be odd and positive, got {temporal_kernel}")
        from skelloc.skeleton.layouts import get_layout

        layout_v = get_layout(layout).num_joints
        if num_joints is None:
            num_joints = layout_v
        elif num_joints != layout_v:
            raise ConfigError(
                f"num_joints={num_joints} but layout {layout!r} has {layout_v} joints"
            )
        if channels is not None:
            widths = [int(c) for c in channels]
        else:
            widths = agcn_channels(base_channels)
        if not widths or any(c < 1 for c in widths):
            raise ConfigError(f"invalid block widths {widths}")
        per_block = resolve_strides(len(widths), strides, stride_blocks, (5, 8))

        self.in_channels = int(in_channels)
        self.num_joints = int(num_joints)
        self.num_person = int(num_person)
        self.layout = get_layout(layout).name
        self.block_channels = widths
        self.block_strides = cumulative_strides(per_block)
        n_bn = self.num_person * self.in_channels * self.num_joints
        self.data_bn = nn.BatchNorm1d(n_bn) if data_bn else None
        if self.data_bn is not None:
            bn_init(self.data_bn, 1)
        c_in = self.in_channels
        for i, (c_out, s) in enumerate(zip(widths, per_block)):
            block = UNIKBlock(
                c_in, c_out, self.num_joints, num_heads=l1_heads if i == 0 else num_heads,
                stride=s, residual=i != 0, temporal_kernel=temporal_kernel,
            )
            self.add_module(f"l{i + 1}", block)
            c_in = c_out

    def forward(self, x: Tensor) -> list[Tensor]:
        return self._forward_named_blocks(x)
