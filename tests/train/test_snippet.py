"""Snippet branch pieces: matching, the FIFO queue, the loss and its toy optimisation."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from skelloc.train.queue import EmbeddingQueue
from skelloc.train.snippet import (
    DenseHead,
    match_snippets,
    snippet_grid,
    snippet_logits,
    snippet_loss,
)


def test_matcher_picks_the_argmax_partner() -> None:
    # key snippet j is the one-hot e_j; query snippet i is e_{perm[i]} + small noise
    c, b = 6, 6
    perm = [3, 0, 5, 1, 4, 2]
    k = torch.eye(c).view(1, c, b)
    q = torch.eye(c)[:, perm].view(1, c, b) * 2.0 + 0.01 * torch.randn(1, c, b)
    assert match_snippets(q, k)[0].tolist() == perm
    # raw dot product vs cosine: a long vector wins only without normalisation
    k2 = torch.tensor([[[1.0, 10.0], [0.0, 10.0]]])  # key 0 = (1, 0), key 1 = (10, 10)
    q2 = torch.tensor([[[1.0], [0.0]]])  # query (1, 0)
    assert match_snippets(q2, k2)[0].tolist() == [1]
    assert match_snippets(q2, k2, normalize=True)[0].tolist() == [0]


def test_snippet_grid_pools_persons_joints_and_time() -> None:
    feats = torch.arange(8.0).view(1, 1, 1, 8, 1).repeat(2, 2, 3, 1, 5)  # (N, M, C, T, V)
    grid = snippet_grid(feats, 4)
    assert grid.shape == (2, 3, 4)
    assert grid[0, 0].tolist() == [0.5, 2.5, 4.5, 6.5]


def test_queue_advances_and_wraps() -> None:
    q = EmbeddingQueue(dim=2, size=5, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(q.queue.norm(dim=1), torch.ones(5))
    keys = torch.arange(1.0, 7.0).view(3, 2)
    q.enqueue(keys)
    assert int(q.ptr) == 3 and torch.equal(q.queue[:3], keys)
    q.enqueue(keys * 10)  # slots 3, 4, then wraps to 0
    assert int(q.ptr) == 1
    assert torch.equal(q.queue[3:5], keys[:2] * 10)
    assert torch.equal(q.queue[0], keys[2] * 10)
    assert torch.equal(q.queue[1:3], keys[1:3])
    q.enqueue(torch.ones(12, 2))  # more than the size: the newest 5 fill it
    assert int(q.ptr) == 1 and torch.equal(q.queue, torch.ones(5, 2))


def test_snippet_loss_equals_the_formula() -> None:
    torch.manual_seed(0)
    n, d, b, k = 2, 4, 3, 5
    q = F.normalize(torch.randn(n, d, b), dim=1)
    key = F.normalize(torch.randn(n, d, b), dim=1)
    queue = F.normalize(torch.randn(k, d), dim=1)
    match = torch.tensor([[2, 0, 1], [1, 1, 0]])
    tau = 0.07
    expected = []
    for i in range(n):
        for s in range(b):
            pos = torch.exp(q[i, :, s] @ key[i, :, match[i, s]] / tau)
            neg = torch.exp(queue @ q[i, :, s] / tau).sum()
            expected.append(-torch.log(pos / (pos + neg)))
    got = snippet_loss(q, key, match, queue, tau)
    assert torch.allclose(got, torch.stack(expected).mean(), rtol=1e-5)


def test_intra_video_negatives_respect_the_margin() -> None:
    n, d, b = 1, 3, 6
    q = F.normalize(torch.randn(n, d, b), dim=1)
    key = F.normalize(torch.randn(n, d, b), dim=1)
    queue = F.normalize(torch.randn(4, d), dim=1)
    match = torch.tensor([[0, 1, 2, 3, 4, 5]])
    logits, extra = snippet_logits(q, key, match, queue, 0.1, intra_margin=1)
    assert extra == b and logits.shape == (b, 1 + 4 + b)
    intra = logits[:, 5:]
    for i in range(b):
        for j in range(b):
            assert math.isinf(intra[i, j]) == (abs(i - j) <= 1)


def test_mining_adds_queue_positives() -> None:
    n, d, b = 1, 4, 2
    q = F.normalize(torch.randn(n, d, b), dim=1)
    key = F.normalize(torch.randn(n, d, b), dim=1)
    queue = F.normalize(torch.randn(8, d), dim=1)
    match = torch.zeros(n, b, dtype=torch.long)
    plain = snippet_loss(q, key, match, queue, 0.2)
    mined = snippet_loss(q, key, match, queue, 0.2, topk=3)
    assert not torch.allclose(plain, mined)
    # with the whole queue as positives the loss is -mean log p over all columns
    logits, _ = snippet_logits(q, key, match, queue, 0.2)
    full = -F.log_softmax(logits, dim=1).mean(dim=1).mean()
    assert torch.allclose(snippet_loss(q, key, match, queue, 0.2, topk=8), full, rtol=1e-5)


def test_snippet_loss_decreases_on_a_toy_problem() -> None:
    """Query and key grids are two noisy, shuffled views of the same snippets, negatives a
    fixed queue; training the dense head must pull matched snippets together: on fresh
    batches the trained head's loss is far below the initial head's."""
    import copy

    torch.manual_seed(0)
    n, c, b, d = 8, 16, 5, 8
    head = DenseHead(c, d)
    initial = copy.deepcopy(head)
    queue = EmbeddingQueue(d, 256, torch.Generator().manual_seed(1)).queue
    opt = torch.optim.SGD(head.parameters(), lr=0.2, momentum=0.9)

    def views() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        base = F.normalize(torch.randn(n, c, b), dim=1) * 4
        perm = torch.randperm(b)
        q_grid = base + 0.4 * torch.randn(n, c, b)
        k_grid = base[:, :, perm] + 0.4 * torch.randn(n, c, b)
        return q_grid, k_grid, torch.argsort(perm).expand(n, b)

    def loss_of(h: DenseHead, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        q_grid, k_grid, match = batch
        return snippet_loss(h(q_grid), h(k_grid).detach(), match, queue, 0.1)

    for _ in range(100):
        loss = loss_of(head, views())
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        batch = views()
        trained, before = float(loss_of(head, batch)), float(loss_of(initial, batch))
    assert trained < 0.5 * before, (trained, before)
