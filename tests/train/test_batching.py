"""Batches gathered in one step (WindowBank) equal the per-window Python collation, and the
sync-free pieces of the loops (queue pointer, momentum update, batch plan) compute what the
straightforward versions compute."""

from __future__ import annotations

import copy

import pytest
import torch

from skelloc.train.batching import WindowBank
from skelloc.train.common import batch_items
from skelloc.train.config import PretrainConfig
from skelloc.train.contrastive import ContrastiveModel
from skelloc.train.data import (
    IGNORE_INDEX,
    IGNORE_TARGET,
    PreparedVideo,
    VideoRecord,
    collate_windows,
    plan_windows,
)
from skelloc.train.finetune import masked_frame_loss
from skelloc.train.queue import EmbeddingQueue
from skelloc.train.runtime import Dist, step_generator


def _videos(lengths: list[int], labels: bool | str, seed: int = 0) -> list[PreparedVideo]:
    g = torch.Generator().manual_seed(seed)
    out = []
    for i, t in enumerate(lengths):
        joints = torch.randn(3, t, 25, 2, generator=g)
        lab = torch.randint(0, 5, (t,), generator=g) if labels else None
        if labels == "multi":
            lab = (torch.rand(t, 6, generator=g) < 0.3).float()
        out.append(PreparedVideo(f"v{i}", joints, lab, VideoRecord(f"v{i}", t)))
    return out


@pytest.mark.parametrize("labels", [True, False, "multi"])
def test_bank_equals_collate_windows(labels: bool | str) -> None:
    videos = _videos([40, 7, 23, 64], labels)
    bank = WindowBank(videos)
    for length, stride in ((16, 8), (32, None), (70, None)):
        windows = plan_windows([v.num_frames for v in videos], length, stride,
                               step_generator(1, "w", length))
        items = [windows[i] for i in torch.randperm(len(windows)).tolist()] + [windows[0]]
        x0, y0 = collate_windows(videos, items, length)
        x1, y1 = bank.collate(items, length)
        assert torch.equal(x0, x1) and x1.is_contiguous()
        x2, _ = bank.collate(torch.tensor(items), length)
        assert torch.equal(x0, x2)
        if labels:
            assert y0 is not None and y1 is not None and torch.equal(y0, y1)
            assert ((y1 == IGNORE_INDEX) | (y1 == IGNORE_TARGET)).any()  # padded past the end
        else:
            assert y1 is None


def test_batch_items_is_the_seeded_permutation() -> None:
    d = Dist(rank=1, world_size=2)
    for index in range(7):
        got = batch_items(13, 3, index, 5, d, 0, "t")
        perm = torch.randperm(13, generator=step_generator(0, "t", "perm", 3))
        start = (index * 2 + 1) * 5
        assert got == [int(perm[(start + j) % 13]) for j in range(5)]


def test_queue_pointer_survives_a_state_dict_round_trip() -> None:
    q = EmbeddingQueue(4, 10, torch.Generator().manual_seed(0))
    q.enqueue(torch.ones(3, 4))
    other = EmbeddingQueue(4, 10)
    other.enqueue(torch.ones(6, 4))  # its host pointer is now 6
    other.load_state_dict(q.state_dict())
    other.enqueue(torch.full((9, 4), 2.0))  # must write at 3 and wrap
    assert int(other.ptr) == 2
    assert torch.all(other.queue[3:10] == 2) and torch.all(other.queue[:2] == 2)
    assert torch.all(other.queue[2] == 1)


def test_momentum_update_is_the_per_tensor_formula() -> None:
    from skelloc.models.factory import create_model

    enc = create_model("stgcn", head=None, base_channels=4, out_channels=8).encoder
    model = ContrastiveModel(enc, PretrainConfig(momentum=0.9))
    with torch.no_grad():
        for p in model.encoder_q.parameters():
            p.add_(torch.randn_like(p))
    ref = copy.deepcopy(model)
    model.momentum_update()
    for (_, pq), (_, pk), (_, mk) in zip(ref.encoder_q.named_parameters(),
                                         ref.encoder_k.named_parameters(),
                                         model.encoder_k.named_parameters()):
        assert torch.equal(pk.detach().clone().mul_(0.9).add_(pq.detach(), alpha=0.1), mk)


def test_masked_loss_without_a_sync_matches_the_mean() -> None:
    logits = torch.randn(2, 4, 6)
    labels = torch.tensor([[0, 1, 2, -100, -100, -100], [3, 3, -100, 1, 0, 2]])
    ref = torch.nn.functional.cross_entropy(logits, labels, ignore_index=IGNORE_INDEX)
    assert torch.allclose(masked_frame_loss(logits, labels), ref)
    assert float(masked_frame_loss(logits, torch.full((2, 6), IGNORE_INDEX))) == 0.0
