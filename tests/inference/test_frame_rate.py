"""The frame-rate rule: an input without a frame rate is taken at 30 fps (never the model's
rate), with one ``FrameRateAssumedWarning`` that says how to set it (issue 14, item 1)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import skelloc
from skelloc.errors import FrameRateAssumedWarning
from skelloc.inference import api
from skelloc.models.factory import create_model
from skelloc.models.localizer import InputSpec
from skelloc.skeleton.resample import resampled_length
from skelloc.skeleton.sequence import DEFAULT_FPS
from skelloc.train.data import SkeletonCache


@pytest.fixture(scope="module")
def model15() -> torch.nn.Module:
    """A tiny model whose input spec runs at 15 fps, like the bundled ones."""
    torch.manual_seed(0)
    return create_model(
        "stgcn", num_classes=3, labels=["wave", "kick", "sit"], base_channels=4,
        head_args={"fusion_dim": 8}, input_spec=InputSpec(fps=15.0),
    ).eval()


def motion(t: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.normal(scale=0.1, size=(t, 2, 25, 3)), axis=0).astype(np.float32) + 1.0


def assumed(record: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, FrameRateAssumedWarning)]


def test_raw_array_is_taken_at_30_fps_with_one_warning(model15: torch.nn.Module) -> None:
    x = motion(90)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        implicit = api.localize(x, model15, min_score=0)
    messages = assumed(record)
    assert len(messages) == 1, messages
    assert "30 fps" in messages[0] and "fps=" in messages[0] and "--fps" in messages[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", FrameRateAssumedWarning)  # an explicit rate never warns
        explicit = api.localize(x, model15, fps=30, min_score=0)
        probs30 = api.predict_frames(x, model15, fps=30)
        feats30 = api.extract_features(x, model15, fps=30)
        probs15 = api.predict_frames(x, model15, fps=15)
    assert implicit == explicit and implicit
    assert all(s.end_s == pytest.approx(s.end / DEFAULT_FPS) for s in implicit)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FrameRateAssumedWarning)
        probs = api.predict_frames(x, model15)
        np.testing.assert_array_equal(api.extract_features(x, model15), feats30)
    np.testing.assert_array_equal(probs, probs30)
    # not the model's own rate: taken at 15 fps the same array gives other probabilities
    assert not np.allclose(probs, probs15)


def test_a_15_fps_model_sees_the_input_resampled(model15: torch.nn.Module) -> None:
    seen: list[int] = []
    handle = model15.register_forward_pre_hook(lambda _m, args: seen.append(args[0].shape[2]))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FrameRateAssumedWarning)
            probs = api.predict_frames(motion(120), model15, fuse=False)
    finally:
        handle.remove()
    assert seen == [resampled_length(120, 30.0, 15.0)] == [60]
    assert probs.shape == (120, 4)  # mapped back to the input's frames


def test_read_assumes_30_fps_once_and_localize_does_not_warn_again(
    model15: torch.nn.Module, tmp_path: Path
) -> None:
    np.save(tmp_path / "clip.npy", motion(60))
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        seq = skelloc.read(tmp_path / "clip.npy")
        skelloc.localize(seq, model15)
    assert seq.fps == DEFAULT_FPS and len(assumed(record)) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", FrameRateAssumedWarning)
        assert skelloc.read(tmp_path / "clip.npy", fps=25).fps == 25.0


def test_training_cache_of_arrays_assumes_30_fps(tmp_path: Path) -> None:
    np.save(tmp_path / "a.npy", motion(20))
    with pytest.warns(FrameRateAssumedWarning):
        assert SkeletonCache(tmp_path).fps == DEFAULT_FPS
    with warnings.catch_warnings():
        warnings.simplefilter("error", FrameRateAssumedWarning)
        assert SkeletonCache(tmp_path, fps=15).fps == 15.0
    (tmp_path / "dataset.json").write_text(json.dumps({"format": "skelloc-cache", "videos": []}))
    with pytest.warns(FrameRateAssumedWarning):
        assert SkeletonCache(tmp_path).fps == DEFAULT_FPS
