"""The snippet-discrimination branch (docs/design/method.md#snippet-branch) and the InfoNCE helpers it shares.

Shapes: ``N`` videos, ``C`` backbone channels, ``B`` snippet bins, ``D`` embedding dimension,
``K`` queue slots.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "DenseHead",
    "snippet_grid",
    "match_snippets",
    "snippet_logits",
    "snippet_loss",
    "infonce_logits",
    "multi_positive_loss",
]


class DenseHead(nn.Module):
    """Per-snippet projection: Conv1d(C→H, 1), ReLU, Conv1d(H→D, 1), L2 normalisation."""

    def __init__(self, in_channels: int, dim: int = 128, hidden: int | None = None) -> None:
        super().__init__()
        hidden = hidden or in_channels
        self.net = nn.Sequential(nn.Conv1d(in_channels, hidden, 1), nn.ReLU(inplace=True),
                                 nn.Conv1d(hidden, dim, 1))

    def forward(self, grid: torch.Tensor) -> torch.Tensor:
        """(N, C, B) -> (N, D, B), unit vectors along D."""
        return F.normalize(self.net(grid), dim=1)


def snippet_grid(features: torch.Tensor, bins: int) -> torch.Tensor:
    """Backbone block output (N, M, C, T', V) -> (N, C, bins): mean over persons and joints,
    then adaptive average pooling over time."""
    x = features.mean(dim=(1, 4))
    return F.adaptive_avg_pool1d(x, bins)


def match_snippets(q_grid: torch.Tensor, k_grid: torch.Tensor,
                   normalize: bool = False) -> torch.Tensor:
    """For each query snippet, the index of the most similar key snippet: (N, Bq) long.

    Similarity is the raw dot product of the backbone grids (the release), or the cosine when
    ``normalize`` (DenseCL).
    """
    if normalize:
        q_grid, k_grid = F.normalize(q_grid, dim=1), F.normalize(k_grid, dim=1)
    sim = torch.einsum("ncb,nck->nbk", q_grid, k_grid)
    return sim.argmax(dim=2)


def infonce_logits(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor,
                   temperature: float) -> torch.Tensor:
    """MoCo logits [q·k, q·queue] / τ for (N, D) queries and keys, queue (K, D)."""
    pos = (q * k).sum(dim=1, keepdim=True)
    neg = q @ queue.t()
    return torch.cat([pos, neg], dim=1) / temperature


def multi_positive_loss(logits: torch.Tensor, positives: torch.Tensor) -> torch.Tensor:
    """Mean over rows of −mean_{j in positives} log softmax(logits)_j (boolean mask, same shape)."""
    logp = F.log_softmax(logits, dim=1).masked_fill(~positives, 0.0)  # -inf columns stay out
    count = positives.sum(dim=1).clamp_min(1).to(logp.dtype)
    return -(logp.sum(dim=1) / count).mean()


def snippet_logits(
    q_emb: torch.Tensor,
    k_emb: torch.Tensor,
    match: torch.Tensor,
    queue: torch.Tensor,
    temperature: float,
    intra_margin: int | None = None,
) -> tuple[torch.Tensor, int]:
    """Logits of every query snippet, (N·B, 1 + K [+ Bk]), and the number of extra columns.

    Column 0 is the matched key snippet, the next K columns the queue (video-averaged key
    embeddings of other videos); with ``intra_margin`` the last Bk columns are the key snippets
    of the same video at least ``intra_margin + 1`` bins away from the matched partner (others
    masked to −inf).
    """
    n, d, b = q_emb.shape
    bk = k_emb.shape[2]
    partner = torch.gather(k_emb, 2, match.unsqueeze(1).expand(n, d, b))  # (N, D, B)
    pos = (q_emb * partner).sum(dim=1).reshape(n * b, 1)
    q_rows = q_emb.permute(0, 2, 1).reshape(n * b, d)
    neg = q_rows @ queue.t()
    parts = [pos, neg]
    extra = 0
    if intra_margin is not None:
        intra = torch.einsum("ndb,ndk->nbk", q_emb, k_emb)  # (N, B, Bk)
        dist = (torch.arange(bk, device=match.device).view(1, 1, bk) - match.unsqueeze(2)).abs()
        intra = intra.masked_fill(dist <= intra_margin, float("-inf"))
        parts.append(intra.reshape(n * b, bk))
        extra = bk
    return torch.cat(parts, dim=1) / temperature, extra


def snippet_loss(
    q_emb: torch.Tensor,
    k_emb: torch.Tensor,
    match: torch.Tensor,
    queue: torch.Tensor,
    temperature: float = 0.07,
    intra_margin: int | None = None,
    topk: int = 0,
) -> torch.Tensor:
    """InfoNCE over all N·B query snippets (docs/design/method.md#snippet-branch).

    With ``topk > 0`` (nearest-neighbour mining) the ``topk`` queue entries most similar to
    each query snippet are extra positives, averaged in log-softmax space.
    """
    logits, _ = snippet_logits(q_emb, k_emb, match, queue, temperature, intra_margin)
    if topk <= 0:
        target = torch.zeros(logits.shape[0], dtype=torch.long, device=logits.device)
        return F.cross_entropy(logits, target)
    k = queue.shape[0]
    positives = torch.zeros_like(logits, dtype=torch.bool)
    positives[:, 0] = True
    top = logits[:, 1:1 + k].detach().topk(min(topk, k), dim=1).indices + 1
    positives.scatter_(1, top, True)
    return multi_positive_loss(logits, positives)
