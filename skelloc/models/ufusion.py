"""U-shaped multiscale fusion head (docs/design/method.md#heads; the released "NestedUNet", a UNet++ nest).

Three backbone taps, each averaged over joints and persons to ``(N, C, T_i)``:

* ``x0``: block 1 (full rate for the usual plans);
* ``x1``: the last block before the last stride increase (``l7``, T/4, for the paper's AGCN);
* ``x2``: the last block (``l10``, T/8).

Nodes are ``unit = Conv1d(k=3, pad=1) + BatchNorm1d + ReLU``, skips are concatenations and
``up`` is nearest-neighbour interpolation to the target length::

    node01 = unit(cat[x0, up(x1)])                  (c0 + c1)
    node11 = unit(cat[x1, up(x2)])                  (c1 + c2)
    node02 = unit(cat[x0, node01, up(node11)])      (2·c0 + 2·c1 + c2)
    fused  = Conv1d_1x1(cat[x0, node01, node02])    (→ fusion_dim, 512)
    logits = Linear(fusion_dim → K + 1) per frame   (background last)

With 64/128/256 widths and 4 classes this is 2,244,672 + 2,565 parameters.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from skelloc.errors import ConfigError, ShapeError
from skelloc.models.base import check_head_args, interpolate_nearest, pool_joints_persons

__all__ = ["UFusionHead", "select_taps", "ufusion_num_params"]


def select_taps(block_strides: Sequence[int]) -> tuple[int, int, int]:
    """0-based tap indices ``(x0, x1, x2)`` for cumulative ``block_strides``.

    ``x1`` is the block just before the last stride increase; for the SnipCLR AGCN plan
    (strides at 2, 5, 8) that is block 7, for the ST-GCN plan (5, 8) also block 7.
    """
    strides = list(block_strides)
    last = len(strides) - 1
    first_at_final = next(i for i, s in enumerate(strides) if s == strides[-1])
    i1 = first_at_final - 1
    if i1 < 1 or last - i1 < 1:
        raise ConfigError(
            f"cannot place the U-head taps on block strides {strides}: it needs a stride "
            "increase after block 2; pass taps=(i0, i1, i2) explicitly"
        )
    return 0, i1, last


def _unit(channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv1d(channels, channels, kernel_size=3, padding=1),
        nn.BatchNorm1d(channels),
        nn.ReLU(inplace=True),
    )


def ufusion_num_params(c0: int, c1: int, c2: int, num_classes: int, fusion_dim: int = 512) -> int:
    """Parameter count of the head for tap widths ``c0, c1, c2`` (closed form)."""

    def unit(c: int) -> int:
        return c * c * 3 + c + 2 * c  # conv weight + bias, BN weight + bias

    n01, n11 = c0 + c1, c1 + c2
    n02 = c0 + n01 + n11
    out_in = c0 + n01 + n02
    out = out_in * fusion_dim + fusion_dim
    fc = fusion_dim * (num_classes + 1) + num_classes + 1
    return unit(n01) + unit(n11) + unit(n02) + out + fc


class UFusionHead(nn.Module):
    """U-shaped multiscale fusion head.

    Args:
        block_channels, block_strides: from the backbone (cumulative strides).
        num_classes: action classes K (background excluded; the output has K + 1 channels).
        fusion_dim: width of the fused per-frame feature (512).
        taps: 0-based block indices ``(x0, x1, x2)``; default :func:`select_taps`.
    """

    def __init__(
        self,
        block_channels: Sequence[int],
        block_strides: Sequence[int],
        num_classes: int,
        fusion_dim: int = 512,
        taps: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        check_head_args(block_channels, block_strides, num_classes)
        if taps is None:
            tap_idx = select_taps(block_strides)
        else:
            tap_idx = tuple(int(t) for t in taps)  # type: ignore[assignment]
            n = len(block_channels)
            if len(tap_idx) != 3 or not all(0 <= t < n for t in tap_idx):
                raise ConfigError(f"taps must be three block indices in 0..{n - 1}, got {taps}")
        if fusion_dim < 1:
            raise ConfigError(f"fusion_dim must be >= 1, got {fusion_dim}")
        self.taps: tuple[int, int, int] = tap_idx  # type: ignore[assignment,unused-ignore]
        self.num_classes = int(num_classes)
        self.feature_dim = int(fusion_dim)
        c0, c1, c2 = (int(block_channels[t]) for t in self.taps)
        self.tap_channels = (c0, c1, c2)
        n01, n11 = c0 + c1, c1 + c2
        n02 = c0 + n01 + n11
        self.node01 = _unit(n01)
        self.node11 = _unit(n11)
        self.node02 = _unit(n02)
        self.out_conv = nn.Conv1d(c0 + n01 + n02, fusion_dim, kernel_size=1)
        self.fc = nn.Linear(fusion_dim, self.num_classes + 1)

    def forward_features(self, feats: Sequence[Tensor], T: int) -> Tensor:
        """Fused per-frame features ``(N, fusion_dim, T)``."""
        if len(feats) <= max(self.taps):
            raise ShapeError(f"the head taps blocks {self.taps} but got {len(feats)} feature maps")
        x0, x1, x2 = (pool_joints_persons(feats[t]) for t in self.taps)
        n01 = self.node01(torch.cat([x0, interpolate_nearest(x1, x0.shape[-1])], dim=1))
        n11 = self.node11(torch.cat([x1, interpolate_nearest(x2, x1.shape[-1])], dim=1))
        n02 = self.node02(torch.cat([x0, n01, interpolate_nearest(n11, x0.shape[-1])], dim=1))
        fused = self.out_conv(torch.cat([x0, n01, n02], dim=1))
        return interpolate_nearest(fused, int(T))

    def forward(self, feats: Sequence[Tensor], T: int) -> Tensor:
        """Frame logits ``(N, K + 1, T)``, background last."""
        fused = self.forward_features(feats, T)
        return self.fc(fused.transpose(1, 2)).transpose(1, 2)
