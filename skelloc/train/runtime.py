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

from skelloc._atomic import atomic_path, atomic_write_text, remove_stale_temporaries
from skelloc.errors import ConfigError, IncompatibleWeightsError
from skelloc.models.weights import load_torch_file

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
    "load_torch_file",
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
    exceeds it (docs/design/method.md#departures, item 5), then ×gamma at each milestone epoch reached.
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
    """``torch.save`` to a temporary file, fsync, then ``os.replace`` (atomic and durable)."""
    with atomic_path(path, durable=True) as tmp:
        torch.save(state, tmp)


def save_safetensors(tensors: dict[str, torch.Tensor], path: Path,
                     metadata: dict[str, str] | None = None) -> None:
    """A safetensors file with the canonical (sorted) header, written atomically and durably:
    equal tensors and metadata give identical bytes whatever the process."""
    from skelloc.models.weights import save_tensors

    save_tensors(tensors, path, metadata or {})


def load_checkpoint(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise IncompatibleWeightsError(f"no checkpoint at {path} to resume from")
    state = load_torch_file(path, "checkpoint")
    if not isinstance(state, dict) or not {"model", "optimizer", "step"} <= set(state):
        raise IncompatibleWeightsError(f"{path}: not a skelloc training checkpoint "
                                       "(expected model, optimizer and step entries)")
    return state


def write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


class JsonlLogger:
    """Appends one JSON object per line (``log.jsonl``); only the main process writes.

    ``start_step`` is the step the run starts (or resumes) at: lines an earlier run wrote past
    it (a run killed after its last checkpoint) are dropped, so a resumed run's log holds each
    step once, like an uninterrupted run's.  Stale temporaries of killed writers in the run
    folder are removed at the same time.
    """

    def __init__(self, path: Path | None, start_step: int = 0) -> None:
        self.path = path
        self.start = time.time()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            removed = remove_stale_temporaries(path.parent)
            if removed:
                logger.info("removed %d stale temporaries of a killed run in %s", len(removed),
                            path.parent)
            if path.is_file():
                self._truncate(path, start_step)

    @staticmethod
    def _truncate(path: Path, start_step: int) -> None:
        kept: list[str] = []
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by the kill
            step = record.get("step") if isinstance(record, dict) else None
            done = isinstance(record, dict) and record.get("event") == "done"
            if start_step > 0 and isinstance(step, int) and step <= start_step and not done:
                kept.append(line)
        atomic_write_text(path, "".join(line + "\n" for line in kept))

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
