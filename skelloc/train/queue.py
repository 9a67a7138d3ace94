"""A MoCo FIFO queue of L2-normalised embeddings, kept as module buffers (so it checkpoints)."""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

__all__ = ["EmbeddingQueue", "gather_from_all"]


@torch.no_grad()
def gather_from_all(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` from every process of the default group (identity without one)."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return x
    parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, x.contiguous())
    return torch.cat(parts, dim=0)


class EmbeddingQueue(nn.Module):
    """``size`` slots of ``dim``-dimensional unit vectors, overwritten first-in first-out.

    ``enqueue(keys)`` writes the N rows at the pointer, wrapping around the end, and advances
    the pointer by N modulo ``size`` (docs/design/method.md#departures, item 1: the pointer always moves).
    """

    queue: torch.Tensor
    ptr: torch.Tensor

    def __init__(self, dim: int, size: int, generator: torch.Generator | None = None) -> None:
        super().__init__()
        init = F.normalize(torch.randn(size, dim, generator=generator), dim=1)
        self.register_buffer("queue", init)
        self.register_buffer("ptr", torch.zeros((), dtype=torch.long))
        # host copy of ``ptr``: reading the buffer every step would wait for the GPU
        self._host_ptr: int | None = None

    def _load_from_state_dict(self, *args: object, **kwargs: object) -> None:
        self._host_ptr = None
        super()._load_from_state_dict(*args, **kwargs)  # type: ignore[arg-type,unused-ignore]

    @property
    def size(self) -> int:
        return self.queue.shape[0]

    @torch.no_grad()
    def enqueue(self, keys: torch.Tensor) -> None:
        keys = keys.detach().to(self.queue.dtype)
        n = keys.shape[0]
        if n >= self.size:  # keep the newest `size` keys
            keys, n = keys[-self.size:], self.size
        if self._host_ptr is None:
            self._host_ptr = int(self.ptr)
        start = self._host_ptr
        end = start + n
        if end <= self.size:
            self.queue[start:end] = keys
        else:
            first = self.size - start
            self.queue[start:] = keys[:first]
            self.queue[: n - first] = keys[first:]
        self._host_ptr = end % self.size
        self.ptr.fill_(self._host_ptr)

    def forward(self) -> torch.Tensor:  # pragma: no cover - a queue is read, not called
        return self.queue
