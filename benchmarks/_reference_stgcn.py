"""A plain ST-GCN kept inside the benchmarks: the original block structure of
``yysijie/st-gcn`` ``net/st_gcn.py`` (1×1 conv to ``K·C`` channels, ``einsum`` with the
adjacency times edge importance every forward, BN → ReLU → temporal conv → BN, residual
conv + BN), written out here so that skelloc's optimised inference form is always compared
against the unoptimised original, whatever happens to the library's own modules. It loads a
skelloc ST-GCN state dict strictly: the key names are the original checkpoint's.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class ConvTemporalGraphical(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.conv = nn.Conv2d(in_channels, out_channels * kernel_size, kernel_size=(1, 1))

    def forward(self, x: Tensor, A: Tensor) -> Tensor:
        x = self.conv(x)
        n, kc, t, v = x.size()
        x = x.view(n, self.kernel_size, kc // self.kernel_size, t, v)
        x = torch.einsum("nkctv,kvw->nctw", (x, A))
        return x.contiguous()


class StGcn(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: tuple[int, int],
                 stride: int = 1, residual: bool = True) -> None:
        super().__init__()
        padding = ((kernel_size[0] - 1) // 2, 0)
        self.gcn = ConvTemporalGraphical(in_channels, out_channels, kernel_size[1])
        self.tcn = nn.Sequential(
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, (kernel_size[0], 1), (stride, 1), padding),
            nn.BatchNorm2d(out_channels),
            nn.Dropout(0.0, inplace=True),
        )
        if not residual:
            self.residual = lambda x: 0
        elif in_channels == out_channels and stride == 1:
            self.residual = lambda x: x
        else:
            self.residual = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=(stride, 1)),
                nn.BatchNorm2d(out_channels),
            )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor, A: Tensor) -> Tensor:
        res = self.residual(x)
        x = self.gcn(x, A)
        x = self.tcn(x) + res
        return self.relu(x)


class ReferenceSTGCN(nn.Module):
    """The original ``Model`` minus its classifier, returning every block's output as
    ``(N, M, C, T, V)`` like skelloc's backbones (so the same heads run on top)."""

    def __init__(self, A: Tensor, in_channels: int, channels: list[int], strides: list[int],
                 temporal_kernel: int = 9) -> None:
        super().__init__()
        self.register_buffer("A", A.clone())
        K, V = A.shape[0], A.shape[1]
        self.data_bn = nn.BatchNorm1d(in_channels * V)
        blocks, c_in = [], in_channels
        for i, (c, s) in enumerate(zip(channels, strides)):
            blocks.append(StGcn(c_in, c, (temporal_kernel, K), s, residual=i != 0))
            c_in = c
        self.st_gcn_networks = nn.ModuleList(blocks)
        self.edge_importance = nn.ParameterList(
            [nn.Parameter(torch.ones(A.shape)) for _ in blocks])

    def forward(self, x: Tensor) -> list[Tensor]:
        N, C, T, V, M = x.size()
        x = x.permute(0, 4, 3, 1, 2).contiguous().view(N * M, V * C, T)
        x = self.data_bn(x)
        x = x.view(N, M, V, C, T).permute(0, 1, 3, 4, 2).contiguous().view(N * M, C, T, V)
        outs = []
        for gcn, importance in zip(self.st_gcn_networks, self.edge_importance):
            x = gcn(x, self.A * importance)
            outs.append(x.view(N, M, *x.shape[1:]))
        return outs


class ReferenceLocalizer(nn.Module):
    """Reference encoder + the model's own (unfused) head."""

    def __init__(self, encoder: nn.Module, head: nn.Module | None) -> None:
        super().__init__()
        self.encoder, self.head = encoder, head

    def forward(self, x: Tensor) -> Tensor:
        feats = self.encoder(x)
        return self.head(feats, x.shape[2])


def reference_for(model: nn.Module) -> nn.Module:
    """The reference network at ``model``'s weights (an ST-GCN ``Localizer``)."""
    import copy

    enc = model.encoder
    strides = [enc.block_strides[0]] + [
        b // a for a, b in zip(enc.block_strides, enc.block_strides[1:])]
    ref = ReferenceSTGCN(enc.A, enc.in_channels, list(enc.block_channels), strides,
                         enc.st_gcn_networks[0].tcn[2].kernel_size[0])
    ref.load_state_dict(enc.state_dict(), strict=True)
    return ReferenceLocalizer(ref, copy.deepcopy(model.head)).eval()
