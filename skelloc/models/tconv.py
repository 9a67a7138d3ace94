"""Temporal-convolution head on the last block only (the capacity control of docs/design/method.md#heads).

Last block averaged over joints and persons → ``num_layers`` × [Conv1d(k, pad k//2) +
BatchNorm1d + ReLU] at width ``width`` → linear interpolation (``align_corners=True``) to T →
per-frame ``Linear(width → K + 1)``. With ``width=None`` the width is chosen so that the head's
parameter count is as close as possible to the U-fusion head's for the same backbone and class
count (:func:`match_tconv_width`), which is what the capacity ablation needs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import Tensor, nn

from skelloc.errors import ConfigError
from skelloc.models.base import check_head_args, interpolate_linear, pool_joints_persons
from skelloc.models.ufusion import select_taps, ufusion_num_params

__all__ = ["TConvHead", "tconv_num_params", "match_tconv_width"]


def tconv_num_params(
    in_channels: int, width: int, num_layers: int, num_classes: int, kernel_size: int = 3
) -> int:
    """Closed-form parameter count of :class:`TConvHead`."""
    k, w = kernel_size, width
    first = in_channels * w * k + w + 2 * w
    rest = (num_layers - 1) * (w * w * k + w + 2 * w)
    fc = w * (num_classes + 1) + num_classes + 1
    return first + rest + fc


def match_tconv_width(
    in_channels: int, target_params: int, num_layers: int, num_classes: int, kernel_size: int = 3
) -> int:
    """The width whose :func:`tconv_num_params` is closest to ``target_params`` (>= 1)."""
    if num_layers < 1:
        raise ConfigError(f"num_layers must be >= 1, got {num_layers}")
    k, L, K1 = kernel_size, num_layers, num_classes + 1
    # count(w) = a·w² + b·w + K1 with a = (L-1)·k, b = C·k + 3L + K1
    a = (L - 1) * k
    b = in_channels * k + 3 * L + K1
    c = K1 - target_params
    guess = -c / b if a == 0 else (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)
    candidates = {max(1, int(math.floor(guess)) + d) for d in (-1, 0, 1, 2)}
    return min(
        candidates,
        key=lambda w: (abs(tconv_num_params(in_channels, w, L, num_classes, k) - target_params), w),
    )


class TConvHead(nn.Module):
    """Temporal conv stack on the last block.

    Args:
        block_channels, block_strides, num_classes: as for every head.
        width: hidden width; ``None`` matches the U-fusion head's parameter count.
        num_layers: conv units (3); kernel_size: temporal kernel (3, odd).
        fusion_dim: the U-head width used for matching when ``width`` is None (512).
    """

    def __init__(
        self,
        block_channels: Sequence[int],
        block_strides: Sequence[int],
        num_classes: int,
        width: int | None = None,
        num_layers: int = 3,
        kernel_size: int = 3,
        fusion_dim: int = 512,
    ) -> None:
        super().__init__()
        check_head_args(block_channels, block_strides, num_classes)
        if num_layers < 1:
            raise ConfigError(f"num_layers must be >= 1, got {num_layers}")
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ConfigError(f"kernel_size must be odd and positive, got {kernel_size}")
        c_in = int(block_channels[-1])
        if width is None:
            taps = select_taps(block_strides)
            c0, c1, c2 = (int(block_channels[t]) for t in taps)
            target = ufusion_num_params(c0, c1, c2, num_classes, fusion_dim)
            width = match_tconv_width(c_in, target, num_layers, num_classes, kernel_size)
        if width < 1:
            raise ConfigError(f"width must be >= 1, got {width}")
        self.num_classes = int(num_classes)
        self.feature_dim = int(width)
        layers: list[nn.Module] = []
        for i in range(num_layers):
            layers += [
                nn.Conv1d(c_in if i == 0 else width, width, kernel_size, padding=kernel_size // 2),
                nn.BatchNorm1d(width),
                nn.ReLU(inplace=True),
            ]
        self.convs = nn.Sequential(*layers)
        self.fc = nn.Linear(width, self.num_classes + 1)

    def forward_features(self, feats: Sequence[Tensor], T: int) -> Tensor:
        """``(N, width, T)``."""
        x = self.convs(pool_joints_persons(feats[-1]))
        return interpolate_linear(x, int(T))

    def forward(self, feats: Sequence[Tensor], T: int) -> Tensor:
        """Logits ``(N, K + 1, T)``."""
        x = self.forward_features(feats, T)
        return self.fc(x.transpose(1, 2)).transpose(1, 2)
