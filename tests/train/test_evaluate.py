"""``skelloc.train.evaluate``: mAP uses every proposal, never the model's output threshold."""

from __future__ import annotations

from pathlib import Path

import torch

from skelloc.inference import api
from skelloc.models.factory import create_model
from skelloc.models.localizer import Localizer
from skelloc.train.data import SkeletonCache
from skelloc.train.evaluate import evaluate_videos

from .cachegen import make_cache


def tiny(**inference: object) -> Localizer:
    torch.manual_seed(0)
    model = create_model("stgcn", num_classes=2, labels=["action0", "action1"], base_channels=4,
                         head_args={"fusion_dim": 8}).eval()
    if inference:
        model.set_inference_defaults(**inference)
    return model


def test_evaluation_never_applies_the_output_threshold(tmp_path: Path) -> None:
    cache = SkeletonCache(make_cache(tmp_path / "cache", num_videos=2))
    strict = tiny(min_score=2.0)  # no segment can pass: scores are at most 1
    assert api.localize(cache.load(cache.videos[0].id), strict, fps=cache.fps) == []
    result = evaluate_videos(strict, cache, cache.videos)
    assert result["num_predictions"] > 0
    assert result == evaluate_videos(tiny(), cache, cache.videos)
