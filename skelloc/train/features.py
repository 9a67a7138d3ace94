"""Batch feature extraction over a cache, sharded across ``torchrun`` processes."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, cast

import numpy as np

from skelloc._atomic import atomic_path
from skelloc.api import resolve_model
from skelloc.train.data import SkeletonCache

__all__ = ["extract_dataset_features"]

logger = logging.getLogger(__name__)


def extract_dataset_features(model: Any, cache: SkeletonCache | str | Path, out_dir: str | Path,
                             *, split: str = "all", level: str = "fused",
                             device: str | None = None, overwrite: bool = False) -> list[Path]:
    """Write ``out_dir/<video id>.npy`` frame features ``(T, D)`` (float32, at the cache's
    frames) for every video of ``split`` (``"all"`` or a split name).

    Under ``torchrun`` each process takes every ``world_size``-th video; existing files are
    skipped unless ``overwrite``. Returns the paths this process wrote or found.
    """
    from skelloc.api import extract_features
    from skelloc.skeleton.sequence import SkeletonSequence
    from skelloc.train.runtime import barrier, setup_distributed

    d = setup_distributed(device or "auto")
    if not isinstance(cache, SkeletonCache):
        cache = SkeletonCache(cache)
    model = resolve_model(model)  # a Localizer, a weights path or a model name
    videos = cache.videos if split == "all" else cache.select(split)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for rec in videos[d.rank::d.world_size]:
        path = out / f"{rec.id}.npy"
        if path.is_file() and not overwrite:
            written.append(path)
            continue
        seq = SkeletonSequence(cache.load(rec.id), layout=cache.layout, fps=cache.fps)
        feats = extract_features(seq, model, level=cast(Any, level), device=device,
                                 nonfinite="interpolate")
        with atomic_path(path, suffix=".npy") as tmp:
            np.save(tmp, np.asarray(feats, dtype=np.float32))
        written.append(path)
    logger.info("rank %d wrote features of %d videos to %s", d.rank, len(written), out)
    barrier(d)
    return written
