"""Run plumbing shared by the loops: devices, seeds, DDP, schedules, checkpoints, logs."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from skelloc._atomic import atomic_path, atomic_write_text
from skelloc.errors import ConfigError, IncompatibleWeightsError

__all__ = [
    "Dist",
    "setup_distributed",
    "resolve_device",
    "derive_seed",
    "step_generator",
    "lr_at",
    "set_lr",
    "save_checkpoint",
    "save_safetensors",
    "load_checkpoint",
    "JsonlLogger",
    "autocast",
    "progress",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def setup_distributed(device: str = "auto") -> Dist:
    """Join the ``torchrun`` process group (gloo on CPU, NCCL on GPU) when ``WORLD_SIZE > 1``."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        use_cuda = torch.cuda.is_available() and device != "cpu"
        if use_cuda:
            torch.cuda.set_device(local)
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return Dist(dist.get_rank(), dist.get_world_size(), local)


def barrier(d: Dist) -> None:
    if d.enabled:
        dist.barrier()


def resolve_device(name: str, d: Dist) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and d.enabled:
        name = f"cuda:{d.local_rank}"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' asked for but CUDA is not available")
    return torch.device(name)


def derive_seed(*parts: Any) -> int:
    """A 63-bit seed from any parts (stable across processes and Python versions)."""
    digest = hashlib.sha256(repr(parts).encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def step_generator(*parts: Any) -> torch.Generator:
    return torch.Generator().manual_seed(derive_seed(*parts))


def lr_at(step: int, steps_per_epoch: int, base: float, warmup: float,
          milestones: Sequence[float], gamma: float) -> float:
    """Learning rate of optimisation step ``step`` (0-based).

    A linear warm-up over ``warmup`` epochs that reaches ``base`` at its last step and never
    exceeds it (method.md §11 defect 5), then ×gamma at each milestone epoch reached.
    """
    lr = base
    if warmup > 0:
        lr = base * min(1.0, (step + 1) / (warmup * steps_per_epoch))
    epoch = step / steps_per_epoch
    return lr * gamma ** sum(1 for m in milestones if epoch >= m)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """``torch.save`` to a temporary file, then ``os.replace`` (atomic)."""
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def save_safetensors(tensors: dict[str, torch.Tensor], path: Path,
                     metadata: dict[str, str] | None = None) -> None:
    """``safetensors.torch.save_file`` to a temporary file, then ``os.replace`` (atomic)."""
    from safetensors.torch import save_file

    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)


def load_checkpoint(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise IncompatibleWeightsError(f"no checkpoint at {path} to resume from")
    return torch.load(path, map_location="cpu", weights_only=True)


def write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


class JsonlLogger:
    """Appends one JSON object per line (``log.jsonl``); only the main process writes."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.start = time.time()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)

    def log(self, **record: Any) -> None:
        if self.path is None:
            return
        record = {"time": round(time.time() - self.start, 3), **record}
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, sort_keys=True) + "\n")


def autocast(device: torch.device, enabled: bool) -> contextlib.AbstractContextManager[Any]:
    """bf16 autocast on CUDA; nothing on CPU."""
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@contextlib.contextmanager
def progress(total: int, initial: int, enabled: bool, desc: str) -> Iterator[Any]:
    """A tqdm bar when available and enabled, else a no-op object with ``update``/``set_postfix``."""
    bar: Any = None
    if enabled:
        try:
            from tqdm.auto import tqdm

            bar = tqdm(total=total, initial=initial, desc=desc, dynamic_ncols=True, leave=False)
        except ImportError:  # pragma: no cover - tqdm is in the [train] extra
            bar = None

    class _Null:
        def update(self, n: int = 1) -> None: ...

        def set_postfix(self, **kw: Any) -> None: ...

    try:
        yield bar if bar is not None else _Null()
    finally:
        if bar is not None:
            bar.close()
