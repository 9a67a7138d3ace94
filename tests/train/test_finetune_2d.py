"""2D training data from real PKU-MMD recordings and a 2D finetuning run with augmentations."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from skelloc.errors import ConfigError
from skelloc.io.prepare import load_cache, prepare_pkummd
from skelloc.models.localizer import Localizer
from skelloc.train import load_config, run_finetune

AUG = '["camera_view", "mirror2d", "scale_drift", "keypoint_jitter", "swap_left_right", ' \
      '"drop_keypoints", "score_noise"]'


@pytest.fixture(scope="module")
def cache2d(pkummd_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("pku")
    (src / "skeletons").mkdir()
    (src / "labels").mkdir()
    for vid in ("0005-L", "0005-M"):
        shutil.copy(pkummd_root / "skeletons" / f"{vid}.npy", src / "skeletons")
        shutil.copy(pkummd_root / "labels" / f"{vid}.txt", src / "labels")
    out = tmp_path_factory.mktemp("cache2d")
    prepare_pkummd(src, out, fps=15, image2d=True)
    return out


def test_2d_cache(cache2d: Path, pkummd_root: Path) -> None:
    data = load_cache(cache2d)
    assert data["layout"] == "coco13" and data["confidence"] is True
    assert data["camera"]["width"] == 512 and data["camera"]["fx"] == 365.0
    arr = np.load(cache2d / "skeletons" / "0005-L.npy")
    ref = np.load(pkummd_root / "skeletons" / "0005-L.npy").astype(np.float32)
    assert arr.shape == (data["videos"][0]["num_frames"], 2, 13, 3)
    head = ref[20, 0, 3]  # frame 10 at 15 fps = frame 20 at 30 fps; NTU joint 3 = head
    np.testing.assert_allclose(arr[10, 0, 0], [256 - 365 * head[0] / head[2],
                                               212 - 365 * head[1] / head[2], 1.0], atol=0.05)


def test_2d_finetune_with_augmentations(cache2d: Path, tmp_path: Path) -> None:
    cfg = load_config("pkummd-stgcn16-2d", [
        f"data.path={json.dumps(str(cache2d))}", "data.val_fraction=0.0", "max_steps=2",
        "finetune.batch_size=2", "data.finetune_window=60", "eval.max_videos=0",
        "progress=false", "model.model_args.base_channels=4",
        "model.head_args.ufusion.fusion_dim=8"])
    assert cfg.finetune.augment == json.loads(AUG)
    run_finetune(cfg, tmp_path)
    model = Localizer.load(tmp_path / "last.safetensors")
    spec = model.input_spec
    assert (spec.layout, spec.channels, spec.confidence, spec.normalization) == (
        "coco13", 3, True, "person2d")
    cfg.finetune.augment = ["temporal_crop"]
    with pytest.raises(ConfigError, match="misalign"):
        run_finetune(cfg, tmp_path / "bad")
