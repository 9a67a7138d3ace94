"""MoCo-style pretraining model: base method (SkeletonCLR, AimCLR, RVTCLR) + snippet branch.

``ContrastiveModel(encoder, cfg)`` owns the query encoder (``encoder_q``, the backbone that
finetuning keeps), its momentum copy ``encoder_k``, the global and dense projection heads and
the queues. :meth:`ContrastiveModel.forward` takes the already augmented views and returns a
dict of losses whose ``"loss"`` entry is the weighted total (docs/design/method.md#global-branch):

* ``skeletonclr``: InfoNCE(query view, key view).
* ``aimclr``: InfoNCE(query, key) + distributional divergence (DDM) of the extreme view's
  similarity distribution towards the query view's.
* ``rvtclr``: InfoNCE with the same-tempo key (``fc1``) + InfoNCE with the other-tempo key
  (``fc2``) + a margin-ranking tempo loss + DDM of the strong query towards a normal view.
* snippet branch (any method): dense InfoNCE between query snippets and their argmax-matched
  key snippets against a FIFO queue of video-averaged key snippet embeddings, weight 1.5.
"""

from __future__ import annotations

import copy
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from skelloc.models.base import BackboneModule
from skelloc.train.config import PretrainConfig
from skelloc.train.queue import EmbeddingQueue, gather_from_all
from skelloc.train.snippet import (
    DenseHead,
    infonce_logits,
    match_snippets,
    multi_positive_loss,
    snippet_grid,
    snippet_loss,
)

__all__ = ["ContrastiveModel"]


def _global(features: list[torch.Tensor]) -> torch.Tensor:
    """Last block (N, M, C, T', V) -> (N, C) by averaging persons, time and joints."""
    return features[-1].mean(dim=(1, 3, 4))


def _ddm(student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    """AimCLR's distributional divergence: −Σ softmax(teacher) · log softmax(student)."""
    target = F.softmax(teacher_logits.detach(), dim=1)
    return -(target * F.log_softmax(student_logits, dim=1)).sum(dim=1).mean()


class ContrastiveModel(nn.Module):
    """Query/key encoders, projection heads and queues for one pretraining run."""

    def __init__(self, encoder: nn.Module, cfg: PretrainConfig,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder_q = encoder
        self.encoder_k = copy.deepcopy(encoder)
        block_channels = cast(BackboneModule, encoder).block_channels
        c_out = int(block_channels[-1])
        c_tap = int(block_channels[cfg.snippet_tap])
        dim = cfg.feature_dim
        self.global_names: tuple[str, ...] = ()
        if cfg.global_loss:
            self.global_names = ("fc1", "fc2") if cfg.method == "rvtclr" else ("fc",)
        self.heads_q = nn.ModuleDict({n: nn.Linear(c_out, dim) for n in self.global_names})
        self.queues = nn.ModuleDict(
            {n: EmbeddingQueue(dim, cfg.queue_size, generator) for n in self.global_names})
        if cfg.snippet:
            self.dense_q = DenseHead(c_tap, dim)
            self.snippet_queue = EmbeddingQueue(dim, cfg.snippet_queue_size, generator)
        if cfg.global_loss and cfg.method == "rvtclr":
            self.tempo_head = nn.Linear(c_out, 1)
        self.heads_k = copy.deepcopy(self.heads_q)
        if cfg.snippet:
            self.dense_k = copy.deepcopy(self.dense_q)
        for p in self._key_parameters():
            p.requires_grad_(False)

    # ------------------------------------------------------------------ momentum encoder
    def _pairs(self) -> list[tuple[nn.Module, nn.Module]]:
        pairs = [(self.encoder_q, self.encoder_k), (self.heads_q, self.heads_k)]
        if self.cfg.snippet:
            pairs.append((self.dense_q, self.dense_k))
        return pairs

    def _key_parameters(self) -> list[nn.Parameter]:
        return [p for _, k in self._pairs() for p in k.parameters()]

    @torch.no_grad()
    def momentum_update(self) -> None:
        m = self.cfg.momentum
        qs: list[torch.Tensor] = [p for q_mod, _ in self._pairs() for p in q_mod.parameters()]
        ks: list[torch.Tensor] = [p for _, k_mod in self._pairs() for p in k_mod.parameters()]
        # one fused launch per operation on GPU instead of two per tensor (same arithmetic)
        torch._foreach_mul_(ks, m)
        torch._foreach_add_(ks, qs, alpha=1 - m)

    # ------------------------------------------------------------------ losses
    def _queue(self, name: str) -> EmbeddingQueue:
        return cast(EmbeddingQueue, self.queues[name])

    def _global_loss(self, q: torch.Tensor, k: torch.Tensor, name: str,
                     mining: bool) -> tuple[torch.Tensor, torch.Tensor]:
        queue = self._queue(name).queue.clone().detach()
        logits = infonce_logits(q, k, queue, self.cfg.temperature)
        if mining and self.cfg.global_topk > 0:
            positives = torch.zeros_like(logits, dtype=torch.bool)
            positives[:, 0] = True
            top = logits[:, 1:].detach().topk(min(self.cfg.global_topk, queue.shape[0]), 1)
            positives.scatter_(1, top.indices + 1, True)
            return multi_positive_loss(logits, positives), logits
        target = torch.zeros(q.shape[0], dtype=torch.long, device=q.device)
        return F.cross_entropy(logits, target), logits

    def _embed_q(self, name: str, feats: list[torch.Tensor]) -> torch.Tensor:
        return F.normalize(self.heads_q[name](_global(feats)), dim=1)

    @torch.no_grad()
    def _embed_k(self, name: str, feats: list[torch.Tensor]) -> torch.Tensor:
        return F.normalize(self.heads_k[name](_global(feats)), dim=1)

    def forward(self, views: dict[str, torch.Tensor], mining: bool = False) -> dict[str, torch.Tensor]:
        """Losses for one batch of views (each ``(N, C, T, V, M)``); updates the key encoder
        (momentum) before computing keys and enqueues the keys afterwards."""
        cfg = self.cfg
        self.momentum_update()
        feats_q = self.encoder_q(views["q"])
        with torch.no_grad():
            feats_k = self.encoder_k(views["k"]) if "k" in views else None
            feats_ko = self.encoder_k(views["k_other"]) if cfg.method == "rvtclr" else feats_k
        losses: dict[str, torch.Tensor] = {}
        total = feats_q[-1].new_zeros(())
        enqueue: list[tuple[EmbeddingQueue, torch.Tensor]] = []

        if cfg.global_loss:
            assert feats_k is not None, "the global branch needs the key view 'k'"
            first = self.global_names[0]
            q1 = self._embed_q(first, feats_q)
            k1 = self._embed_k(first, feats_k)
            losses["global"], logits_q = self._global_loss(q1, k1, first, mining)
            enqueue.append((self._queue(first), k1))
            total = total + losses["global"]
            if cfg.method == "aimclr":
                qe = self._embed_q(first, self.encoder_q(views["e"]))
                logits_e = infonce_logits(qe, k1, self._queue(first).queue.clone().detach(),
                                          cfg.temperature)
                losses["ddm"] = _ddm(logits_e, logits_q)
                total = total + cfg.ddm_weight * losses["ddm"]
            if cfg.method == "rvtclr":
                assert feats_ko is not None, "rvtclr needs the other-tempo key view 'k_other'"
                q2 = self._embed_q("fc2", feats_q)
                k2 = self._embed_k("fc2", feats_ko)
                losses["tempo_nce"], _ = self._global_loss(q2, k2, "fc2", mining)
                enqueue.append((self._queue("fc2"), k2))
                # ranking: the faster clip must score at least `margin` above the slower one
                s_own = self.tempo_head(_global(feats_q)).squeeze(1)
                s_other = self.tempo_head(_global(feats_ko).detach()).squeeze(1)
                sign = views["fast"].to(s_own.dtype) * 2 - 1  # +1 when the own clip is fast
                losses["tempo_rank"] = F.margin_ranking_loss(
                    s_own, s_other, sign, margin=cfg.tempo_margin)
                # DDM: strong query towards a normally augmented view of the same clip
                qn = self._embed_q(first, self.encoder_q(views["n"]))
                logits_n = infonce_logits(qn, k1, self._queue(first).queue.clone().detach(),
                                          cfg.temperature)
                losses["ddm"] = _ddm(logits_q, logits_n)
                total = (total + losses["tempo_nce"] + cfg.tempo_weight * losses["tempo_rank"]
                         + cfg.ddm_weight * losses["ddm"])

        if cfg.snippet:
            q_grid = snippet_grid(feats_q[cfg.snippet_tap], cfg.snippet_bins)
            q_emb = self.dense_q(q_grid)
            with torch.no_grad():
                assert feats_ko is not None
                k_grid = snippet_grid(feats_ko[cfg.snippet_tap], cfg.snippet_bins)
                k_emb = self.dense_k(k_grid)
                match = match_snippets(q_grid.detach(), k_grid, cfg.normalize_match)
            losses["snippet"] = snippet_loss(
                q_emb, k_emb, match, self.snippet_queue.queue.clone().detach(),
                cfg.temperature, cfg.intra_margin if cfg.intra_negatives else None,
                cfg.snippet_topk if mining else 0)
            total = total + cfg.snippet_weight * losses["snippet"]
            enqueue.append((self.snippet_queue, F.normalize(k_emb.mean(dim=2), dim=1)))

        for queue, keys in enqueue:
            queue.enqueue(gather_from_all(keys.float()))
        losses["loss"] = total
        return losses
