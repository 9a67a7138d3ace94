"""Feature export of a training cache (``skelloc train features``), sharded across ``torchrun``
processes: :func:`skelloc.export_features` fed from the cache."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from skelloc.features import FeatureInput, export_features
from skelloc.skeleton.sequence import SkeletonSequence
from skelloc.train.data import SkeletonCache, VideoRecord

__all__ = ["SUBSETS", "cache_feature_inputs", "extract_dataset_features"]

logger = logging.getLogger(__name__)

#: cache split -> ActionFormer / OpenTAD subset name (other names are kept as they are;
#: a video without a split is ``training``)
SUBSETS = {"train": "training", "val": "validation", "test": "testing"}


def cache_feature_inputs(cache: SkeletonCache,
                         videos: Sequence[VideoRecord] | None = None) -> list[FeatureInput]:
    """One :class:`~skelloc.FeatureInput` per video of ``cache`` (default: all): its skeletons
    at the cache's layout and rate, its segments named by the cache's classes, its split as
    the subset name (:data:`SUBSETS`)."""
    def loader(video_id: str) -> Any:
        return lambda: SkeletonSequence(cache.load(video_id), layout=cache.layout,
                                        fps=cache.fps)

    return [FeatureInput(
        rec.id, loader(rec.id),
        tuple((cache.classes[c], s, e) for c, s, e in rec.segments),
        SUBSETS.get(rec.split, rec.split) if rec.split else "training",
        source=str(cache.skeleton_dir / f"{rec.id}.npy"), num_frames=rec.num_frames,
        fps=cache.fps) for rec in (cache.videos if videos is None else videos)]


def extract_dataset_features(model: Any, cache: SkeletonCache | str | Path, out_dir: str | Path,
                             *, split: str = "all", level: str = "fused",
                             device: str | None = None, overwrite: bool = False) -> list[Path]:
    """Write ``out_dir/<video id>.npy`` frame features ``(T, D)`` (float32, at the cache's
    frames) for every video of ``split`` (``"all"`` or a split name), and the ActionFormer /
    OpenTAD ``annotations.json`` (segments, subsets from the splits), ``class_map.txt`` and
    ``missing_files.txt`` of those videos.

    Under ``torchrun`` each process takes every ``world_size``-th video and rank 0 writes the
    annotations once all are done; existing files are kept unless ``overwrite``. Returns the
    paths this process wrote or found. A video that cannot be exported fails the call (after
    the others are written) with its error.
    """
    from skelloc.train.runtime import barrier, setup_distributed

    d = setup_distributed(device or "auto")
    if not isinstance(cache, SkeletonCache):
        cache = SkeletonCache(cache)
    videos = cache.videos if split == "all" else cache.select(split)
    export = export_features(cache_feature_inputs(cache, videos), out_dir, model,
                             level=cast(Any, level), classes=cache.classes,
                             overwrite=overwrite, rank=d.rank, world_size=d.world_size,
                             barrier=lambda: barrier(d), device=device,
                             nonfinite="interpolate")
    barrier(d)  # every process returns once the annotations are written
    if export.failed:
        raise export.failed[0].error
    logger.info("rank %d wrote features of %d videos to %s", d.rank, len(export.records),
                export.out_dir)
    return export.paths
