"""Validation of a :class:`~skelloc.models.localizer.Localizer` on a cache split.

Each video goes through the public inference path (:func:`skelloc.inference.api.predict_frames`
and :func:`~skelloc.inference.api.localize`: same preprocessing, sliding windows, decoding at the
model's frame rate, segments mapped back to the cache's frames) and is scored with
:func:`skelloc.metrics.detection.detection_map` (ActivityNet protocol by default, tIoU 0.1–0.5
plus their average, per-class AP over every non-background class in the ground truth) and frame
accuracy.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

from skelloc.api import resolve_model
from skelloc.errors import ConfigError, EmptyInputError
from skelloc.train.data import SkeletonCache, VideoRecord, frame_targets

__all__ = ["evaluate_model", "evaluate_videos"]

logger = logging.getLogger(__name__)

_DECODER_ALIASES = {"proposals": "proposals", "argmax": "argmax"}


def evaluate_videos(
    model: Any,
    cache: SkeletonCache,
    videos: Sequence[VideoRecord],
    *,
    decoder: str = "proposals",
    decoder_args: dict[str, Any] | None = None,
    tiou_thresholds: Sequence[float] = (0.1, 0.2, 0.3, 0.4, 0.5),
    protocol: str = "anet",
    device: str | torch.device | None = None,
    window: int | None = None,
    overlap: int | None = None,
) -> dict[str, Any]:
    """Detection mAP and frame accuracy of ``model`` on ``videos`` of ``cache``."""
    from skelloc.api import localize, predict_frames
    from skelloc.metrics.detection import detection_map
    from skelloc.metrics.records import Instance
    from skelloc.skeleton.sequence import SkeletonSequence

    if decoder not in _DECODER_ALIASES:
        raise ConfigError(f"unknown decoder {decoder!r}; choose proposals or argmax")
    if not videos:
        raise EmptyInputError("no videos to evaluate")
    if list(model.labels) != list(cache.classes):
        raise ConfigError(f"the model's {model.num_classes} labels differ from the cache's "
                          f"{cache.num_classes} classes")
    name = _DECODER_ALIASES[decoder]
    args = dict(decoder_args or {})
    background = cache.num_classes
    predictions: list[Instance] = []
    ground_truth: list[Instance] = []
    correct = total = 0
    for rec in videos:
        seq = SkeletonSequence(cache.load(rec.id), layout=cache.layout, fps=cache.fps,
                               meta={"confidence": bool(getattr(cache, "confidence", False))})
        common: dict[str, Any] = dict(device=device, window=window, overlap=overlap,
                                      nonfinite="interpolate")
        probs = predict_frames(seq, model, **common)
        # a frame is right when its top class is one of its true classes (one, unless
        # segments overlap; background where none lies); where segments overlap without a
        # multi-label model the later one is taken, as in training
        truth = frame_targets(rec.segments, seq.num_frames, background)
        if not getattr(model, "multilabel", False):
            truth = _single_label(rec.segments, seq.num_frames, background)
        top = probs.argmax(axis=1)
        correct += int(truth[np.arange(len(top)), top].sum())
        total += len(top)
        # every proposal: mAP never uses the model's output threshold (min_score)
        for seg in localize(seq, model, decoder=name, min_score=0.0, **common, **args):
            predictions.append(Instance(rec.id, int(seg.label_id), seg.start, seg.end,
                                        float(seg.score)))
        ground_truth.extend(Instance(rec.id, int(c), s, e) for c, s, e in rec.segments)
    result: dict[str, Any] = {"num_videos": len(videos), "frame_accuracy": correct / max(total, 1),
                              "decoder": name, "protocol": protocol}
    if not ground_truth:
        logger.warning("no ground-truth segments in the evaluated videos: mAP undefined")
        result.update({"average_mAP": float("nan"), "mAP": {}, "per_class_ap": {}})
        return result
    det = detection_map(predictions, ground_truth, list(tiou_thresholds),
                        protocol=cast(Any, protocol))
    d = det.to_dict()
    classes = cache.classes
    result.update({
        "average_mAP": float(det.average_mAP),
        "mAP": d["mAP"],
        "per_class_ap": {classes[int(c)] if str(c).isdigit() and int(c) < len(classes) else str(c):
                         v for c, v in d["per_class_ap"].items()},
        "num_predictions": det.num_predictions,
        "num_ground_truth": det.num_ground_truth,
    })
    return result


def _single_label(segments: Sequence[tuple[int, int, int]], num_frames: int,
                  background: int) -> np.ndarray:
    from skelloc.train.data import frame_labels

    labels = frame_labels(segments, num_frames, background)
    return np.eye(background + 1, dtype=np.float32)[labels]


def evaluate_model(
    model: Any,
    cache: SkeletonCache | str | Path,
    split: str = "val",
    *,
    val_fraction: float = 0.15,
    val_seed: int = 0,
    decoder: str = "proposals",
    decoder_args: dict[str, Any] | None = None,
    tiou_thresholds: Sequence[float] = (0.1, 0.2, 0.3, 0.4, 0.5),
    protocol: str = "anet",
    device: str | torch.device | None = None,
    max_videos: int | None = None,
    out: str | Path | None = None,
) -> dict[str, Any]:
    """Evaluate ``model`` (a ``Localizer`` or a path/name for :func:`skelloc.load`) on a split.

    ``split="val"`` uses the cache's validation videos, or (when the cache has none) the same
    seeded performance-grouped carve-out the training loop uses; any other value selects the
    videos whose ``split`` equals it (``"all"``: every video). With ``out`` the result is also
    written there as JSON. Returns a dict with ``mAP`` (per threshold), ``average_mAP``,
    ``per_class_ap``, ``frame_accuracy``, ``num_videos``.
    """
    from skelloc.train.data import split_train_val
    from skelloc.train.runtime import write_json

    if not isinstance(cache, SkeletonCache):
        cache = SkeletonCache(cache)
    model = resolve_model(model)  # a Localizer, a weights path or a model name
    if split == "val":
        _, videos = split_train_val(cache, val_fraction=val_fraction, seed=val_seed)
    elif split == "all":
        videos = list(cache.videos)
    else:
        videos = cache.select(split)
    if not videos:
        raise EmptyInputError(f"no videos in split {split!r} of {cache.root}")
    if max_videos is not None:
        videos = videos[:max_videos]
    result = evaluate_videos(model, cache, videos, decoder=decoder, decoder_args=decoder_args,
                             tiou_thresholds=tiou_thresholds, protocol=protocol, device=device)
    result["split"] = split
    if out is not None:
        write_json(Path(out), json_ready(result))
    return result


def _nan_to_none(x: float) -> float | None:  # JSON has no NaN
    return None if x != x else x


def json_ready(result: dict[str, Any]) -> dict[str, Any]:
    """``result`` with NaN replaced by ``None``."""
    out = dict(result)
    if isinstance(out.get("average_mAP"), float):
        out["average_mAP"] = _nan_to_none(out["average_mAP"])
    return out

