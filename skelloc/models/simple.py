"""The paper's baseline head (docs/design/method.md#heads, released ``model/agcn.py``).

Last block averaged over joints and persons ``(N, C, T_L)`` → per-frame
``Linear(C → K + 1)`` → linear interpolation (``align_corners=True``) to the input length T.
Both steps are linear, so the fused features of :meth:`SimpleHead.forward_features` are the
interpolated last-block features and ``forward = fc(forward_features)`` exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from skelloc.models.base import check_head_args, interpolate_linear, pool_joints_persons

__all__ = ["SimpleHead"]


class SimpleHead(nn.Module):
    """Linear classifier on the last block, interpolated to full frame rate."""

    def __init__(
        self, block_channels: Sequence[int], block_strides: Sequence[int], num_classes: int
    ) -> None:
        super().__init__()
        check_head_args(block_channels, block_strides, num_classes)
        self.num_classes = int(num_classes)
        self.feature_dim = int(block_channels[-1])
        self.fc = nn.Linear(self.feature_dim, self.num_classes + 1)

    def forward_features(self, feats: Sequence[Tensor], T: int) -> Tensor:
        """Last-block features interpolated to ``(N, C_L, T)``."""
        return interpolate_linear(pool_joints_persons(feats[-1]), int(T))

    def forward(self, feats: Sequence[Tensor], T: int) -> Tensor:
        """Logits ``(N, K + 1, T)``: classify at the native stride, then interpolate."""
        x = pool_joints_persons(feats[-1])
        logits = self.fc(x.transpose(1, 2)).transpose(1, 2)
        return interpolate_linear(logits, int(T))
