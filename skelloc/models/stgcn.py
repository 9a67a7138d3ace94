"""ST-GCN (Yan et al., AAAI 2018), following ``yysijie/st-gcn`` ``net/st_gcn.py``.

Block: ``ConvTemporalGraphical`` (1×1 conv to ``C_out·K`` then the contraction
``Σ_k Σ_v x_k[v] · (A ⊙ importance)[k, v, w]``), TCN = BN → ReLU → Conv(k×1, stride s) →
BN → Dropout, residual (none in block 0; identity when channels and stride match; otherwise a 1×1
conv with stride s + BN), output ``ReLU(tcn(gcn(x)) + res)``. Data BN over ``V·C`` channels,
shared by persons. Edge-importance weighting: one learnable ``(K, V, V)`` tensor per block.

Widths: ``base_channels=64`` gives the original 64×4, 128×3, 256×3 plan (3,098,832 parameters
with the NTU-60 classifier). ``base_channels=16, out_channels=256`` is the quarter-width
encoder of AimCLR / CrosSCLR / RVTCLR (16, 16, 16, 16, 32, 32, 32, 64, 64, 256).

State-dict keys are those of the original checkpoint, so a converter only drops the
classifier (``fcn.*``)::

    original (st-gcn)                       skelloc (this module)
    A                                       A                 (buffer, the graph)
    data_bn.*                               data_bn.*         (None when data_bn=False)
    st_gcn_networks.{i}.gcn.conv.*          st_gcn_networks.{i}.gcn.conv.*
    st_gcn_networks.{i}.tcn.{0,2,3}.*       st_gcn_networks.{i}.tcn.{0,2,3}.*
    st_gcn_networks.{i}.residual.{0,1}.*    st_gcn_networks.{i}.residual.{0,1}.*
    edge_importance.{i}                     edge_importance.{i}
    fcn.*                                   (classifier; not part of the encoder)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from skelloc.errors import ConfigError
from skelloc.models.base import (
    BackboneBase,
    Zero,
    build_adjacency,
    canonical_layout,
    cumulative_strides,
    resolve_strides,
)

__all__ = [
    "STGCN",
    "ConvTemporalGraphical",
    "FusedSTGCN",
    "FusedSTGCNBlock",
    "STGCNBlock",
    "stgcn_channels",
]


class ConvTemporalGraphical(nn.Module):
    """Graph convolution: 1×1 conv to ``C_out·K`` channels, then contraction with ``A``."""

    def __init__(self, in_channels: int, out_channels: int, num_subsets: int) -> None:
        super().__init__()
        self.num_subsets = num_subsets
        self.conv = nn.Conv2d(in_channels, out_channels * num_subsets, kernel_size=1)

    def forward(self, x: Tensor, A: Tensor) -> Tensor:
        x = self.conv(x)
        n, kc, t, v = x.shape
        x = x.view(n, self.num_subsets, kc // self.num_subsets, t, v)
        return torch.einsum("nkctv,kvw->nctw", x, A).contiguous()


class STGCNBlock(nn.Module):
    """One ``st_gcn`` unit (GCN, TCN, residual)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        num_subsets: int,
        temporal_kernel: int = 9,
        stride: int = 1,
        dropout: float = 0.0,
        residual: bool = True,
    ) -> None:
        super().__init__()
        pad = (temporal_kernel - 1) // 2
        self.gcn = ConvTemporalGraphical(in_channels, out_channels, num_subsets)
        self.tcn = nn.Sequential(
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, (temporal_kernel, 1), (stride, 1), (pad, 0)),
            nn.BatchNorm2d(out_channels),
            nn.Dropout(dropout, inplace=True),
        )
        self.residual: nn.Module
        if not residual:
            self.residual = Zero()
        elif in_channels == out_channels and stride == 1:
            self.residual = nn.Identity()
        else:
            self.residual = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=(stride, 1)),
                nn.BatchNorm2d(out_channels),
            )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor, A: Tensor) -> Tensor:
        res = self.residual(x)
        x = self.tcn(self.gcn(x, A)) + res
        return self.relu(x)


def stgcn_channels(base_channels: int, out_channels: int | None = None) -> list[int]:
    """The 10-block width plan: ``b, b, b, b, 2b, 2b, 2b, 4b, 4b, out`` (out defaults to 4b)."""
    b = int(base_channels)
    if b < 1:
        raise ConfigError(f"base_channels must be >= 1, got {base_channels}")
    last = 4 * b if out_channels is None else int(out_channels)
    return [b, b, b, b, 2 * b, 2 * b, 2 * b, 4 * b, 4 * b, last]


class STGCN(BackboneBase):
    """ST-GCN encoder returning every block's features.

    Args:
        in_channels: input channels C (3 for xyz).
        layout: skeleton layout name for :class:`~skelloc.skeleton.graph.Graph`.
        strategy: partition strategy ('spatial' in the original).
        base_channels: width of the first stage (64 original, 16 for AimCLR-style encoders).
        out_channels: width of the last block (default ``4 * base_channels``; 256 for AimCLR).
        channels: an explicit per-block width list (overrides the two above).
        strides: per-block temporal strides; or ``stride_blocks``: 1-based blocks that stride
            by 2 (default ``(5, 8)``, total stride 4).
        temporal_kernel: TCN kernel size (9).
        dropout: TCN dropout (0.5 in the original NTU config; never in block 0).
        edge_importance: learnable edge-importance weighting.
        data_bn: input BatchNorm over ``V·C`` shared by persons.
        num_person: kept for the config; ST-GCN's data BN accepts any M.
        max_hop, dilation: graph arguments.
    """

    data_bn_per_person = False

    def __init__(
        self,
        in_channels: int = 3,
        layout: str = "ntu25",
        strategy: str = "spatial",
        base_channels: int = 64,
        out_channels: int | None = None,
        channels: Sequence[int] | None = None,
        strides: Sequence[int] | None = None,
        stride_blocks: Sequence[int] | None = None,
        temporal_kernel: int = 9,
        dropout: float = 0.5,
        edge_importance: bool = True,
        data_bn: bool = True,
        num_person: int = 2,
        max_hop: int = 1,
        dilation: int = 1,
    ) -> None:
        super().__init__()
        if temporal_kernel < 1 or temporal_kernel % 2 == 0:
            raise ConfigError(f"temporal_kernel must be odd and positive, got {temporal_kernel}")
        if channels is not None:
            widths = list(channels)
        else:
            widths = stgcn_channels(base_channels, out_channels)
        if not widths or any(int(c) < 1 for c in widths):
            raise ConfigError(f"invalid block widths {widths}")
        widths = [int(c) for c in widths]
        per_block = resolve_strides(len(widths), strides, stride_blocks, (5, 8))

        A = torch.from_numpy(build_adjacency(layout, strategy, max_hop=max_hop, dilation=dilation))
        self.register_buffer("A", A)
        K, V = A.shape[0], A.shape[1]

        self.in_channels = int(in_channels)
        self.num_joints = V
        self.num_person = int(num_person)
        self.layout = canonical_layout(layout)
        self.block_channels = widths
        self.block_strides = cumulative_strides(per_block)

        self.data_bn = nn.BatchNorm1d(self.in_channels * V) if data_bn else None
        blocks = []
        c_in = self.in_channels
        for i, (c_out, s) in enumerate(zip(widths, per_block)):
            blocks.append(
                STGCNBlock(
                    c_in,
                    c_out,
                    K,
                    temporal_kernel=temporal_kernel,
                    stride=s,
                    dropout=0.0 if i == 0 else dropout,
                    residual=i != 0,
                )
            )
            c_in = c_out
        self.st_gcn_networks = nn.ModuleList(blocks)
        self.edge_importance: nn.ParameterList | None
        if edge_importance:
            self.edge_importance = nn.ParameterList(
                [nn.Parameter(torch.ones(A.shape)) for _ in blocks]
            )
        else:
            self.edge_importance = None

    def forward(self, x: Tensor) -> list[Tensor]:
        N, M = x.shape[0], x.shape[-1]
        h = self._normalize_input(x)
        A: Tensor = self.A  # type: ignore[assignment]
        outs: list[Tensor] = []
        for i, block in enumerate(self.st_gcn_networks):
            a = A * self.edge_importance[i] if self.edge_importance is not None else A
            h = block(h, a)
            outs.append(self._split_persons(h, N, M))
        return outs

    def fuse_for_inference(self) -> FusedSTGCN:
        """An eval-only equivalent of this encoder (see :class:`FusedSTGCN`)."""
        return FusedSTGCN(self)


# --------------------------------------------------------------------------- inference form
class FusedSTGCNBlock(nn.Module):
    """An eval-mode :class:`STGCNBlock` with its BatchNorms folded and the graph precomputed.

    The original applies a 1×1 conv to ``K·C_out`` channels, contracts with ``A`` (an
    ``einsum`` over a permuted copy), then BN. Here activations are channels-last (``(N, T,
    V, C)`` in memory) and:

    * a subset whose adjacency is diagonal (ST-GCN's "root") only scales each joint, so its
      term is a 1×1 conv times a per-joint factor (``addcmul``);
    * the other subsets contract the input first: ``z[n, t, k·V + w, c] = Σ_v A[k, v, w] ·
      x[n, t, v, c]`` is one batched matmul with the ``(K·V, V)`` graph and no copy (one
      large GEMM when there are few channels, i.e. the input block). ``C_in ≤ C_out`` in
      every plan, so contracting first is also the cheaper order. The mix over ``(c, k)`` is
      a ``(1, K)`` convolution with dilation ``V``;
    * the BN after the graph convolution is folded into those weights; conv bias and BN shift
      become one ``(C_out, V)`` bias. The temporal and residual convs absorb their BNs.

    ``benchmarks/bench_inference.py`` chose each form (docs/PERFORMANCE.md).
    """

    graph: Tensor
    graph_weight: Tensor
    graph_bias: Tensor
    root_scale: Tensor

    def __init__(self, block: STGCNBlock, A: Tensor) -> None:
        super().__init__()
        blk: Any = block  # its submodules by position (tcn[0], residual[1], ...)
        K, V = A.shape[0], A.shape[1]
        conv = blk.gcn.conv
        c_out = conv.out_channels // K
        c_in = conv.in_channels
        bn0 = blk.tcn[0]
        scale = torch.rsqrt(bn0.running_var + bn0.eps) * bn0.weight
        shift = bn0.bias - bn0.running_mean * scale
        weight = conv.weight.reshape(K, c_out, c_in) * scale[None, :, None]
        bias = conv.bias.reshape(K, c_out) if conv.bias is not None else A.new_zeros(K, c_out)
        bias_cw = torch.einsum("kc,kvw->cw", bias * scale, A) + shift[:, None]
        cl = torch.channels_last
        # subsets whose adjacency is diagonal (ST-GCN's "root") only scale each joint: their
        # term is a 1×1 conv times a per-joint factor, no contraction needed
        eye = torch.eye(V, dtype=torch.bool, device=A.device)
        diagonal = [k for k in range(K) if not A[k].masked_fill(eye, 0).any()][:1]
        if len(diagonal) == K:  # keep at least one subset for the contraction path
            diagonal = []
        dense = [k for k in range(K) if k not in diagonal]
        self.num_subsets = len(dense)
        # graph[j·V + w, v] = A[dense[j], v, w]
        self.register_buffer("graph", A[dense].permute(0, 2, 1).reshape(-1, V).contiguous(),
                             persistent=False)
        self.register_buffer(
            "graph_weight",
            weight[dense].permute(1, 2, 0).reshape(c_out, c_in, 1, len(dense))
            .contiguous(memory_format=cl),
            persistent=False,
        )
        self.root: nn.Conv2d | None = None
        if diagonal:
            # a 1×1 conv (a matrix product measured slower here), then × a[w] in forward
            self.root = nn.Conv2d(c_in, c_out, 1).to(A.device)
            self.root.weight.copy_(weight[diagonal[0]][:, :, None, None])
            cast(Tensor, self.root.bias).zero_()
            self.root = cast(Any, self.root).to(memory_format=cl)
            self.register_buffer("root_scale", _channels_last_map(
                torch.diagonal(A[diagonal[0]])[None, :].expand(c_out, V)), persistent=False)
        self.register_buffer("graph_bias", _channels_last_map(bias_cw), persistent=False)
        self.tconv = fuse_conv_bn_eval(blk.tcn[2].eval(), blk.tcn[3].eval()).to(
            memory_format=cl)
        self.residual: nn.Module | None
        if isinstance(blk.residual, Zero):
            self.residual = None
        elif isinstance(blk.residual, nn.Identity):
            self.residual = nn.Identity()
        else:
            self.residual = fuse_conv_bn_eval(
                blk.residual[0].eval(), blk.residual[1].eval()).to(memory_format=cl)

    def forward(self, x: Tensor) -> Tensor:
        """``(n, c, t, v)`` (best channels-last) → ``(n, c_out, t', v)`` channels-last."""
        n, c, t, v = x.shape
        if c < 8:  # few channels (the input block): one large GEMM beats n·t tiny ones
            cols = x.permute(0, 2, 1, 3).reshape(n * t * c, v)
            z = torch.mm(cols, self.graph.T).view(n, t, c, -1).transpose(2, 3).contiguous()
        else:
            rows = x.permute(0, 2, 3, 1).reshape(n * t, v, c)  # a view for channels-last x
            z = torch.matmul(self.graph, rows)  # (n·t, K·V, c)
        z = z.view(n, t, self.num_subsets * v, c).permute(0, 3, 1, 2)
        y = F.conv2d(z, self.graph_weight, dilation=(1, v))  # kernel (1, K), dilation V
        if self.root is not None:
            y = y.addcmul_(self.root(x), self.root_scale)
        y = self.tconv(_add_relu_(y, self.graph_bias))
        if self.residual is None:
            return y.relu_()
        return _add_relu_(y, self.residual(x))


def _channels_last_map(values: Tensor) -> Tensor:
    """A ``(C, V)`` map as a ``(1, C, 1, V)`` tensor laid out like channels-last activations
    (``V`` then ``C`` in memory): broadcasting it over them is several times faster."""
    c, v = values.shape
    return values.T.contiguous().view(1, 1, v, c).permute(0, 3, 1, 2)


def _add_relu_(x: Tensor, other: Tensor) -> Tensor:
    """``relu(x + other)`` in place, in one pass where PyTorch has the fused kernel."""
    fused = getattr(torch.ops.aten, "_add_relu_", None)
    if (fused is not None and x.device.type == "cpu" and x.dtype == other.dtype
            and x.dtype in (torch.float32, torch.float64)):
        return fused(x, other)
    return x.add_(other).relu_()


class FusedSTGCN(BackboneBase):
    """The inference form of :class:`STGCN`: same outputs in eval mode, no autograd state.

    Built by :meth:`STGCN.fuse_for_inference` (usually through
    :func:`skelloc.models.fuse.inference_model`); the data BN becomes a per-(joint, channel)
    scale and shift applied while the input is rearranged to channels-last. Block outputs
    are ``(N, M, C, T, V)`` views of channels-last memory (not contiguous).
    """

    data_bn_per_person = False
    in_scale: Tensor
    in_shift: Tensor

    def __init__(self, encoder: STGCN) -> None:
        super().__init__()
        encoder = encoder.eval()
        self.in_channels = encoder.in_channels
        self.num_joints = encoder.num_joints
        self.num_person = encoder.num_person
        self.layout = encoder.layout
        self.block_channels = list(encoder.block_channels)
        self.block_strides = list(encoder.block_strides)
        self.data_bn = None
        C, V = self.in_channels, self.num_joints
        A: Tensor = encoder.A  # type: ignore[assignment]
        scale, shift = A.new_ones(V, C), A.new_zeros(V, C)
        with torch.no_grad():
            if encoder.data_bn is not None:
                bn: Any = encoder.data_bn
                s = torch.rsqrt(bn.running_var + bn.eps) * bn.weight
                scale = s.view(V, C)
                shift = (bn.bias - bn.running_mean * s).view(V, C)
            # (V, C) to broadcast over (N, M, T, V, C)
            self.register_buffer("in_scale", scale.contiguous(), persistent=False)
            self.register_buffer("in_shift", shift.contiguous(), persistent=False)
            blocks = []
            for i, block in enumerate(encoder.st_gcn_networks):
                a = A * encoder.edge_importance[i] if encoder.edge_importance is not None else A
                blocks.append(FusedSTGCNBlock(cast(STGCNBlock, block), a.detach()))
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x: Tensor) -> list[Tensor]:
        self._check_input(x)
        N, C, T, V, M = x.shape
        h = torch.empty((N, M, T, V, C), dtype=x.dtype, device=x.device)
        torch.mul(x.permute(0, 4, 2, 3, 1), self.in_scale, out=h).add_(self.in_shift)
        h = h.view(N * M, T, V, C).permute(0, 3, 1, 2)  # channels-last (N·M, C, T, V)
        outs: list[Tensor] = []
        for block in self.blocks:
            h = block(h)
            c, t = h.shape[1], h.shape[2]
            outs.append(h.permute(0, 2, 3, 1).view(N, M, t, V, c).permute(0, 1, 4, 2, 3))
        return outs
