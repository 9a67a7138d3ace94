"""`skelloc train finetune --init NAME`: a hub encoder, a new head, layout conversion."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from skelloc.errors import LayoutMismatchError
from skelloc.hub.api import load
from skelloc.models.localizer import Localizer
from skelloc.train import load_config, run_finetune
from skelloc.train.common import is_hub_init

from .cachegen import make_cache

ENCODER = "stgcn16-snippet-pkummd-encoder"  # bundled in the package: no network


def _cfg(cache: Path, *sets: str):
    return load_config("own-labels", [f"data.path={json.dumps(str(cache))}", "max_steps=1",
                                      "eval.max_videos=0", "progress=false",
                                      "data.finetune_window=40", *sets])


def _relayout(cache: Path, layout: str, joints: list[int], channels: int | None = None) -> None:
    meta = json.loads((cache / "dataset.json").read_text())
    meta["layout"] = layout
    (cache / "dataset.json").write_text(json.dumps(meta))
    for f in (cache / "skeletons").glob("*.npy"):
        arr = np.load(f)[:, :, joints]
        np.save(f, arr[..., :channels] if channels else arr)


def test_hub_encoder_new_head(tmp_path: Path) -> None:
    cache = make_cache(tmp_path / "cache", splits=["train"] * 4 + ["val"] * 2)
    # the data is in the Kinect v1 layout: converted to the encoder's ntu25
    _relayout(cache, "kinect_v1_20", [0, 1, 20, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                      17, 18, 19])
    assert is_hub_init(ENCODER) and not is_hub_init(tmp_path) and not is_hub_init("no-such")
    cfg = _cfg(cache)
    run_finetune(cfg, tmp_path / "run", init=ENCODER)
    model = Localizer.load(tmp_path / "run" / "last.safetensors")
    enc = load(ENCODER, load_head=False)
    assert model.labels == ["action0", "action1"] and model.input_spec == enc.input_spec
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["model"]["model_args"] == dict(enc.config.model_args)
    # one optimisation step moved the encoder away from the hub weights, which it started from
    start = enc.encoder.state_dict()
    key = next(k for k in start if k.endswith("weight") and start[k].ndim > 1)
    assert not torch.equal(model.encoder.state_dict()[key], start[key])
    assert torch.allclose(model.encoder.state_dict()[key], start[key], atol=0.05)


def test_unconvertible_layout_and_2d_data(tmp_path: Path) -> None:
    from skelloc.skeleton.layouts import Layout, register_layout

    register_layout(Layout("arm3test", ("shoulder", "elbow", "wrist"), (-1, 0, 1),
                           ((1, 0), (2, 1)), 0), overwrite=True)
    cache = make_cache(tmp_path / "c1", num_videos=2)
    _relayout(cache, "arm3test", [4, 5, 6])
    with pytest.raises(LayoutMismatchError, match=r"no conversion from the data's 'arm3test'.*"
                                                  r"layouts that work: .*coco17"):
        run_finetune(_cfg(cache), tmp_path / "r1", init=ENCODER)
    cache = make_cache(tmp_path / "c2", num_videos=2)
    _relayout(cache, "ntu25", list(range(25)), channels=2)  # 2D keypoints
    with pytest.raises(LayoutMismatchError, match="takes 3D joints and the data has 2"):
        run_finetune(_cfg(cache), tmp_path / "r2", init=ENCODER)
