"""The one loading path (``skelloc.models.loading``): sources, the class rule, strictness.

``Localizer.load`` and ``skelloc.load`` both end in :func:`build_from_source`; the test at the
end loads the same saved files through both and requires identical models.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

import skelloc
from skelloc.errors import ConfigError, IncompatibleWeightsError
from skelloc.models.factory import create_model
from skelloc.models.loading import build_from_source, source_from_path
from skelloc.models.localizer import Localizer


def _trained_like(model: Localizer) -> Localizer:
    torch.manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return model.eval()


@pytest.fixture(scope="module")
def model() -> Localizer:
    return _trained_like(create_model("stgcn", labels=["a", "b", "c"], base_channels=4,
                                      head_args={"fusion_dim": 8}))


@pytest.fixture(params=["file", "folder"])
def path(request: pytest.FixtureRequest, model: Localizer, tmp_path: Path) -> Path:
    target = tmp_path / ("m.safetensors" if request.param == "file" else "m")
    return model.save(target)


def test_source_describes_the_saved_model(path: Path, model: Localizer) -> None:
    source = source_from_path(path)
    assert source.config == model.config and source.labels == ("a", "b", "c")
    assert source.single_file == (path.suffix == ".safetensors")
    assert source.head_file is not None
    assert source_from_path(path, load_head=False).head_file is None  # not even read


def test_same_class_count_renames_and_loads_everything(path: Path, model: Localizer) -> None:
    loaded = Localizer.load(path, labels=["x", "y", "z"])
    assert loaded.labels == ["x", "y", "z"]
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key


def test_bad_class_arguments_are_config_errors(path: Path) -> None:
    with pytest.raises(ConfigError, match="labels"):
        Localizer.load(path, num_classes=2, labels=["x", "y", "z"])
    with pytest.raises(ConfigError, match="single string"):
        Localizer.load(path, labels="abc")
    with pytest.raises(ConfigError, match=">= 1"):
        Localizer.load(path, num_classes=0)


def test_class_change_is_logged(path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="skelloc.models.loading"):
        Localizer.load(path, num_classes=5)
    assert "num_classes 3 -> 5; re-initialised fc.bias, fc.weight" in caplog.text


def test_stray_keys_in_a_single_file_are_refused(model: Localizer, tmp_path: Path) -> None:
    path = model.save(tmp_path / "m.safetensors")
    with safe_open(str(path), framework="pt") as fh:
        meta = fh.metadata()
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}
    tensors["optimizer.step"] = torch.zeros(1)
    save_file(tensors, str(path), metadata=meta)
    for kwargs in ({}, {"load_head": False}):
        with pytest.raises(IncompatibleWeightsError, match="unexpected keys.*optimizer.step"):
            Localizer.load(path, **kwargs)
        with pytest.raises(IncompatibleWeightsError, match="unexpected keys.*optimizer.step"):
            skelloc.load(path, **kwargs)


def test_folder_without_head_file(model: Localizer, tmp_path: Path) -> None:
    folder = model.save(tmp_path / "m")
    (folder / "head.safetensors").unlink()
    with pytest.raises(IncompatibleWeightsError, match="load_head=False"):
        Localizer.load(folder)
    fresh = Localizer.load(folder, num_classes=4)  # asked for new classes: a fresh head
    assert fresh.head is not None and fresh.num_classes == 4


def test_build_takes_the_callers_model_class(path: Path) -> None:
    built: list[Any] = []

    def build(config: Any, labels: list[str], spec: Any) -> Localizer:
        built.append((config.num_classes, list(labels)))
        return Localizer.from_config(config, labels=labels, input_spec=spec)

    build_from_source(source_from_path(path), build, num_classes=2)
    assert built == [(2, ["class_0", "class_1"])] * 2  # once on the meta device, once for real


CASES: list[dict[str, Any]] = [
    {}, {"num_classes": 5}, {"labels": ["p", "q", "r"]}, {"labels": ["p", "q"]},
    {"load_head": False}, {"load_head": False, "num_classes": 4},
]


@pytest.mark.parametrize("kwargs", CASES, ids=lambda kw: ",".join(map(str, kw)) or "default")
def test_both_loaders_give_the_same_model(path: Path, kwargs: dict[str, Any]) -> None:
    torch.manual_seed(7)
    ours = Localizer.load(path, **kwargs)
    torch.manual_seed(7)
    hubs = skelloc.load(path, **kwargs)
    assert ours.labels == hubs.labels and ours.num_classes == hubs.num_classes
    assert ours.config == hubs.config and ours.input_spec == hubs.input_spec
    assert (ours.head is None) == (hubs.head is None)
    a, b = ours.state_dict(), hubs.state_dict()
    assert sorted(a) == sorted(b)
    assert [k for k in a if not torch.equal(a[k], b[k])] == []
    assert not ours.training and not hubs.training
