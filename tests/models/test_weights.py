"""safetensors round trips, metadata, strict loading and typed errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from skelloc.errors import IncompatibleWeightsError, WeightsNotFoundError
from skelloc.models import create_model
from skelloc.models.localizer import Localizer, load_model, model_from_files
from skelloc.models.weights import read_metadata

HEAD = "head.safetensors"


def _trained_like(model: Localizer) -> Localizer:
    """Perturb every tensor (incl. BN statistics) so that a wrong load cannot go unnoticed."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if t.is_floating_point() and name != "encoder.A":
                t.add_(0.05 * torch.randn(t.shape, generator=g))
                if "running_var" in name:
                    t.abs_()
    return model.eval()


@pytest.fixture
def x() -> torch.Tensor:
    return torch.randn(2, 3, 11, 25, 2, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("arch,head", [("agcn", "ufusion"), ("stgcn", "simple"), ("unik", "tconv")])
@pytest.mark.parametrize("form", ["file", "dir"])
def test_round_trip_identical_outputs(
    tmp_path: Path, x: torch.Tensor, arch: str, head: str, form: str
) -> None:
    model = _trained_like(
        create_model(arch, labels=["a", "b"], head=head, base_channels=4, input_spec={"fps": 25.0})
    )
    path = tmp_path / ("m.safetensors" if form == "file" else "m")
    model.save(path)
    loaded = Localizer.load(path)
    assert not loaded.training
    assert loaded.labels == ["a", "b"] and loaded.input_spec == model.input_spec
    assert loaded.config == model.config
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v), k


def test_single_file_layout_and_metadata(tmp_path: Path) -> None:
    model = create_model("agcn", labels=["walk"], base_channels=4)
    path = model.save(tmp_path / "m.safetensors")
    with safe_open(str(path), framework="pt") as fh:
        meta = fh.metadata()
        keys = set(fh.keys())
    assert meta["format"] == "pt" and meta["skelloc.schema"] == "1"
    assert meta["skelloc.component"] == "full" and meta["skelloc.architecture"] == "agcn"
    assert json.loads(meta["skelloc.model_args"]) == {
        "architecture": "agcn", "model_args": {"base_channels": 4}, "head": "ufusion",
        "head_args": {}, "num_classes": 1,
    }
    assert json.loads(meta["skelloc.labels"]) == ["walk"]
    assert json.loads(meta["skelloc.input_spec"])["layout"] == "ntu25"
    assert meta["skelloc.version"]
    assert keys == set(model.state_dict())
    assert all(k.startswith(("encoder.", "head.")) for k in keys)
    assert not list(tmp_path.glob("*.tmp"))  # atomic write leaves no temp file


def test_directory_layout(tmp_path: Path) -> None:
    model = create_model("stgcn", num_classes=2, base_channels=4)
    out = model.save(tmp_path / "model")
    names = sorted(p.name for p in out.iterdir())
    assert names == ["config.json", "encoder.safetensors", "head.safetensors"]
    assert read_metadata(out / "encoder.safetensors").component == "encoder"
    assert read_metadata(out / "head.safetensors").component == "head"
    with safe_open(str(out / "encoder.safetensors"), framework="pt") as fh:
        assert set(fh.keys()) == set(model.encoder.state_dict())
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["architecture"] == "stgcn" and cfg["labels"] == ["class_0", "class_1"]


def test_encoder_only_round_trip(tmp_path: Path, x: torch.Tensor) -> None:
    model = _trained_like(create_model("unik", head=None, base_channels=4))
    for path in (tmp_path / "e.safetensors", tmp_path / "e"):
        model.save(path)
        loaded = load_model(path)
        assert loaded.head is None
        with torch.no_grad():
            ours = loaded.forward_features(x, level="encoder")
            assert torch.equal(ours, model.forward_features(x, level="encoder"))
    assert not (tmp_path / "e" / "head.safetensors").exists()


def test_new_class_count_keeps_encoder(tmp_path: Path, x: torch.Tensor) -> None:
    model = _trained_like(create_model("agcn", num_classes=3, base_channels=4))
    for path in (tmp_path / "m.safetensors", tmp_path / "m"):
        model.save(path)
        loaded = load_model(path, labels=["p", "q", "r", "s", "t"])
        assert loaded.head.fc.out_features == 6 and loaded.labels[-1] == "t"
        with torch.no_grad():
            ours = loaded.forward_features(x, level="encoder")
            assert torch.equal(ours, model.forward_features(x, level="encoder"))
        trained, kept = model.head.state_dict(), loaded.head.state_dict()
        # the head's body is kept, only the classifier starts afresh
        changed = sorted(k for k in trained if not torch.equal(trained[k], kept[k]))
        assert changed == ["fc.bias", "fc.weight"]
        encoder_only = load_model(path, load_head=False)
        assert encoder_only.head is None and encoder_only.num_classes == 3
        fresh = load_model(path, load_head=False, num_classes=3)
        assert fresh.num_classes == 3
        assert not torch.equal(fresh.head.fc.weight, model.head.fc.weight)


def test_file_without_skelloc_metadata(tmp_path: Path) -> None:
    model = create_model("stgcn", num_classes=2, base_channels=4)
    path = tmp_path / "plain.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    with pytest.raises(IncompatibleWeightsError, match="no skelloc metadata"):
        load_model(path)


def test_mismatched_keys_are_listed(tmp_path: Path) -> None:
    model = create_model("stgcn", num_classes=2, base_channels=4)
    path = model.save(tmp_path / "m.safetensors")
    with safe_open(str(path), framework="pt") as fh:
        meta = fh.metadata()
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}
    tensors.pop("encoder.edge_importance.3")
    tensors["encoder.bogus"] = torch.zeros(1)
    tensors["head.fc.weight"] = torch.zeros(7, 512)
    save_file(tensors, str(path), metadata=meta)
    with pytest.raises(IncompatibleWeightsError) as info:
        load_model(path)
    msg = str(info.value)
    assert "missing keys (1): encoder.edge_importance.3" in msg
    assert "unexpected keys (1): encoder.bogus" in msg
    assert "head.fc.weight (7, 512) vs (3, 512)" in msg
    assert info.value.exit_code == 6


def test_wrong_component_and_architecture(tmp_path: Path) -> None:
    a = create_model("agcn", num_classes=2, base_channels=4)
    b = create_model("stgcn", num_classes=2, base_channels=4)
    a.save(tmp_path / "a")
    b.save(tmp_path / "b")
    with pytest.raises(IncompatibleWeightsError, match="component 'encoder'"):
        load_model(tmp_path / "a" / "encoder.safetensors")
    with pytest.raises(IncompatibleWeightsError, match="architecture"):
        model_from_files(tmp_path / "a" / "encoder.safetensors", config=b.config)
    with pytest.raises(IncompatibleWeightsError, match="was saved for"):
        model_from_files(tmp_path / "a" / "encoder.safetensors", tmp_path / "b" / HEAD)


def test_missing_paths(tmp_path: Path) -> None:
    with pytest.raises(WeightsNotFoundError):
        load_model(tmp_path / "nothing.safetensors")
    with pytest.raises(WeightsNotFoundError):
        load_model(tmp_path / "nothing")
    model = create_model("stgcn", num_classes=2, base_channels=4)
    model.save(tmp_path / "d")
    (tmp_path / "d" / "head.safetensors").unlink()
    with pytest.raises(IncompatibleWeightsError, match="load_head=False"):
        load_model(tmp_path / "d")
    assert load_model(tmp_path / "d", load_head=False).num_classes == 2


def test_not_a_safetensors_file(tmp_path: Path) -> None:
    path = tmp_path / "junk.safetensors"
    path.write_bytes(b"not a safetensors file at all")
    with pytest.raises(IncompatibleWeightsError, match="readable"):
        load_model(path)
