"""The model's output threshold (``min_score``) and boundary calibration (``boundary_shift``),
stored with its inference defaults (issue 14, item 2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from skelloc.errors import ConfigError
from skelloc.inference import api
from skelloc.models.factory import create_model
from skelloc.models.localizer import Localizer


def tiny(**inference: object) -> Localizer:
    torch.manual_seed(0)
    model = create_model("stgcn", num_classes=2, labels=["wave", "kick"], base_channels=4,
                         head_args={"fusion_dim": 8}).eval()
    if inference:
        model.set_inference_defaults(**inference)
    return model


def motion(t: int) -> np.ndarray:
    rng = np.random.default_rng(1)
    return np.cumsum(rng.normal(scale=0.1, size=(t, 2, 25, 3)), axis=0).astype(np.float32) + 1.0


def test_localize_applies_the_models_threshold_and_zero_returns_everything() -> None:
    x = motion(120)
    everything = api.localize(x, tiny(), fps=30)
    scores = sorted(s.score for s in everything)
    assert len(scores) >= 2, "the random model must propose several segments"
    cut = scores[len(scores) // 2]
    model = tiny(min_score=cut)
    kept = api.localize(x, model, fps=30)
    assert kept == [s for s in everything if s.score >= cut] and len(kept) < len(everything)
    assert api.localize(x, model, fps=30, min_score=0) == everything
    assert api.localize(x, model, fps=30, min_score=scores[-1] + 1) == []
    assert api.analyze(x, model, fps=30).segments == kept


def test_threshold_and_calibration_survive_save_and_load(tmp_path: Path) -> None:
    model = tiny(min_score=0.4, boundary_shift=[0.1, -0.2])
    model.save(tmp_path / "m.safetensors")
    loaded = Localizer.load(tmp_path / "m.safetensors")
    assert api.output_threshold(loaded) == pytest.approx(0.4)
    assert api.boundary_shift(loaded) == pytest.approx((0.1, -0.2))
    assert api.output_threshold(loaded, 0.0) == 0.0


def test_boundary_shift_moves_segment_bounds_in_seconds() -> None:
    x = motion(300)
    plain = api.localize(x, tiny(), fps=30, min_score=0)
    shifted = api.localize(x, tiny(boundary_shift=[0.2, -0.3]), fps=30, min_score=0)
    assert len(plain) == len(shifted)
    for a, b in zip(plain, shifted):
        if a.start + 6 < a.end - 9 and a.start > 0 and a.end < 300:  # room to shift inside
            assert (b.start - a.start, b.end - a.end) == (6, -9)  # 0.2 s and -0.3 s at 30 fps


def test_bad_values_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="min_score"):
        api.localize(motion(30), tiny(), fps=30, min_score="high")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="boundary_shift"):
        api.localize(motion(30), tiny(boundary_shift=0.3), fps=30)
