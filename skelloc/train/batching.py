"""Batches gathered on the training device: the prepared videos held as one tensor there.

:func:`skelloc.train.data.collate_windows` copies window after window in Python on the CPU,
and the batch then travels to the GPU every step. :class:`WindowBank` instead concatenates
every prepared video once, puts the result on the training device when it fits (the 15 fps
PKU-MMD training set is ~110 MB in float32), and assembles a batch of windows with a single
gather: no per-sample Python and no host-to-device copy on the hot path. On the CPU it
returns exactly what :func:`~skelloc.train.data.collate_windows` returns (tests compare them).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch

from skelloc.train.data import IGNORE_INDEX, IGNORE_TARGET, PreparedVideo

__all__ = ["WindowBank", "device_fits"]

logger = logging.getLogger(__name__)

#: share of the device's free memory the bank may take (activations need the rest)
DEVICE_SHARE = 0.25


def device_fits(nbytes: int, device: torch.device) -> bool:
    """Whether ``nbytes`` fit on ``device`` within :data:`DEVICE_SHARE` of its free memory."""
    if device.type != "cuda":
        return True
    free, _ = torch.cuda.mem_get_info(device)
    return nbytes <= DEVICE_SHARE * free


class WindowBank:
    """Every video's ``(C, T, V, M)`` joints (and frame labels) in one tensor per kind.

    Frames are stored time-major, ``(total + 1, C, V, M)``, with one all-zero frame at the end
    that padded positions gather (label :data:`IGNORE_INDEX`, or a multi-hot row of
    :data:`IGNORE_TARGET` for multi-label videos). ``device`` is where the bank
    and the batches live; a bank that does not fit there stays in pinned CPU memory and each
    batch is copied over asynchronously.
    """

    def __init__(self, videos: Sequence[PreparedVideo], device: torch.device | str = "cpu") -> None:
        if not videos:
            raise ValueError("WindowBank needs at least one video")
        device = torch.device(device)
        c, _, v, m = videos[0].joints.shape
        self.shape = (int(c), int(v), int(m))
        lengths = torch.tensor([vid.num_frames for vid in videos], dtype=torch.long)
        self.total = int(lengths.sum())
        first = videos[0].labels
        self.has_labels = first is not None
        label_bytes = 0 if first is None else first[:1].numel() * first.element_size()
        nbytes = (self.total + 1) * (c * v * m * 4 + label_bytes)
        self.device = device
        store = device if device_fits(nbytes, device) else torch.device("cpu")
        if store != device:
            logger.info("training data (%.0f MiB) kept in host memory", nbytes / 2**20)
        frames = torch.zeros(self.total + 1, c, v, m)
        torch.cat([vid.joints.permute(1, 0, 2, 3) for vid in videos], out=frames[: self.total])
        self.labels: torch.Tensor | None = None
        if first is not None:
            if first.ndim == 2:  # multi-hot (T, K+1)
                labels = torch.full((self.total + 1, first.shape[1]), IGNORE_TARGET,
                                    dtype=first.dtype)
            else:
                labels = torch.full((self.total + 1,), IGNORE_INDEX, dtype=first.dtype)
            torch.cat([vid.labels for vid in videos], out=labels[: self.total])  # type: ignore[misc]
            self.labels = labels.to(store)
        if store.type == "cpu" and device.type == "cuda":
            frames = frames.pin_memory()
            if self.labels is not None:
                self.labels = self.labels.pin_memory()
        self.frames = frames.to(store)
        self.starts = (torch.cumsum(lengths, 0) - lengths).to(store)
        self.lengths = lengths.to(store)

    def index(self, items: torch.Tensor | Sequence[tuple[int, int]], length: int) -> torch.Tensor:
        """Frame indices ``(N, length)`` into the bank for windows ``items`` ((video, start)
        pairs, a list or an ``(N, 2)`` long tensor); padding points at the zero frame."""
        it = torch.as_tensor(items, dtype=torch.long).reshape(-1, 2).to(self.frames.device)
        video, start = it[:, 0], it[:, 1]
        offset = start.view(-1, 1) + torch.arange(length, device=it.device).view(1, -1)
        inside = offset < self.lengths[video].view(-1, 1)
        idx = self.starts[video].view(-1, 1) + offset
        return torch.where(inside, idx, torch.full_like(idx, self.total))

    def collate(self, items: torch.Tensor | Sequence[tuple[int, int]],
                length: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Windows ``(N, C, length, V, M)`` and labels ``(N, length)`` (multi-hot:
        ``(N, length, K+1)``; or None) on the bank's device; the same values as
        :func:`~skelloc.train.data.collate_windows`."""
        idx = self.index(items, length)
        x = self.frames[idx].permute(0, 2, 1, 3, 4).contiguous()  # (N, L, C, V, M) -> NCTVM
        y = self.labels[idx] if self.labels is not None else None
        if x.device.type == "cpu" and self.device.type != "cpu":  # a bank kept in host memory
            x = x.pin_memory().to(self.device, non_blocking=True)
            if y is not None:
                y = y.pin_memory().to(self.device, non_blocking=True)
        return x, y
