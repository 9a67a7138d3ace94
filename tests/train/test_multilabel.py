"""Multi-label training and decoding (model.output = "sigmoid"): overlapping actions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from skelloc.inference.api import localize, predict_frames
from skelloc.models.localizer import Localizer
from skelloc.train import load_config, run_finetune
from skelloc.train.data import (
    IGNORE_TARGET,
    PreparedVideo,
    VideoRecord,
    collate_windows,
    frame_targets,
)
from skelloc.train.finetune import masked_multilabel_loss


def _overlap_cache(root: Path, num_videos: int = 6) -> Path:
    """Class 0 waves the left arm on [10, 40), class 1 the right arm on [25, 55): they overlap."""
    rng = np.random.default_rng(0)
    (root / "skeletons").mkdir(parents=True)
    videos = []
    for i in range(num_videos):
        t = 64
        joints = rng.normal(0, 0.3, size=(1, 1, 25, 3)) + np.zeros((t, 1, 25, 3))
        joints += np.cumsum(rng.normal(0, 0.002, size=(t, 1, 25, 3)), axis=0)
        joints[..., 2] += 3.0
        shift = int(rng.integers(-4, 5))
        segs = [[0, 10 + shift, 40 + shift], [1, 25 + shift, 55 + shift]]
        for cls, s, e in segs:
            phase = np.sin(np.linspace(0, 6 * np.pi, e - s))
            joints[s:e, 0, 4 + 4 * cls:8 + 4 * cls, 1] += 0.4 * phase[:, None]
        vid = f"v{i}"
        np.save(root / "skeletons" / f"{vid}.npy", joints.astype(np.float32))
        videos.append({"id": vid, "num_frames": t, "performance": f"p{i}",
                       "split": "val" if i == num_videos - 1 else "train", "segments": segs})
    meta = {"format": "skelloc-cache", "version": 1, "dataset": "overlap", "fps": 30.0,
            "layout": "ntu25", "classes": ["left", "right"], "background_index": 2,
            "multilabel": True, "videos": videos}
    (root / "dataset.json").write_text(json.dumps(meta))
    return root


def test_frame_targets_keep_overlaps() -> None:
    y = frame_targets([(0, 1, 4), (1, 3, 6)], 8, background=2)
    assert y[:, 0].tolist() == [0, 1, 1, 1, 0, 0, 0, 0]
    assert y[:, 1].tolist() == [0, 0, 0, 1, 1, 1, 0, 0]
    assert y[:, 2].tolist() == [1, 0, 0, 0, 0, 0, 1, 1]  # background only where nothing lies


def test_loss_ignores_padding() -> None:
    vids = [PreparedVideo(f"v{i}", torch.zeros(3, n, 25, 1),
                          torch.from_numpy(frame_targets([(0, 0, 2)], n, 2)),
                          VideoRecord(f"v{i}", n)) for i, n in enumerate((3, 5))]
    _, y = collate_windows(vids, [(0, 0), (1, 0)], 5)
    assert y is not None and y.shape == (2, 5, 3)
    assert (y[0, 3:] == IGNORE_TARGET).all() and (y[1] >= 0).all()
    logits = torch.zeros(2, 3, 5, requires_grad=True)
    loss = masked_multilabel_loss(logits, y)
    assert loss.item() == pytest.approx(np.log(2.0))  # sigmoid(0) = 1/2 on the 8 real frames
    loss.backward()
    assert logits.grad is not None and (logits.grad[0, :, 3:] == 0).all()
    assert masked_multilabel_loss(logits, torch.full_like(y, IGNORE_TARGET)).item() == 0.0


def test_sigmoid_model_finds_both_overlapping_actions(tmp_path: Path) -> None:
    cache = _overlap_cache(tmp_path / "cache")
    cfg = load_config("tiny", [f"data.path={json.dumps(str(cache))}", "model.output=sigmoid",
                               "finetune.epochs=60", "finetune.lr=0.01", "finetune.batch_size=5",
                               "finetune.eval_every=60", "finetune.milestones=[55]",
                               "data.fps=30.0", "finetune.warmup_epochs=2"])
    run_finetune(cfg, tmp_path / "run")
    model = Localizer.load(tmp_path / "run" / "last.safetensors")
    assert model.output == "sigmoid" and model.multilabel
    joints = np.load(cache / "skeletons" / "v5.npy")
    segs = json.loads((cache / "dataset.json").read_text())["videos"][5]["segments"]
    (_, s0, e0), (_, s1, e1) = segs
    probs = predict_frames(joints, model, fps=30.0)
    assert not np.allclose(probs.sum(axis=1), 1.0)  # independent per-class probabilities
    both = probs[s1 + 3:e0 - 3]
    assert (both[:, 0] > 0.5).all() and (both[:, 1] > 0.5).all()
    found = localize(joints, model, fps=30.0)
    for cls, s, e in segs:
        best = max((min(e, d.end) - max(s, d.start)) / (max(e, d.end) - min(s, d.start))
                   for d in found if d.label_id == cls)
        assert best > 0.6  # each action found on its own, despite the overlap


def test_output_is_part_of_the_model_config() -> None:
    from skelloc.errors import ConfigError
    from skelloc.models import create_model
    from skelloc.models.localizer import ModelConfig

    single = create_model("stgcn", num_classes=2, base_channels=4, out_channels=8)
    assert single.output == "softmax" and "output" not in single.config.to_dict()
    multi = create_model("stgcn", num_classes=2, base_channels=4, out_channels=8,
                         output="sigmoid")
    assert multi.config.to_dict()["output"] == "sigmoid"
    with pytest.raises(ConfigError, match="output must be"):
        ModelConfig("stgcn", output="softmax2")
    with pytest.raises(ConfigError, match="model.output"):
        load_config("tiny", ["model.output=tanh"])
