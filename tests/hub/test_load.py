"""``skelloc.load`` end to end: real tiny models, real safetensors, the mock Hub."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest
import torch

import skelloc
from skelloc.errors import IncompatibleWeightsError, UnsafeCheckpointError
from skelloc.hub.export import export_model
from skelloc.models.factory import create_model

from .mockhub import COMMIT, REPO, MockHub, make_entry, sha256, write_manifest

OTHER_REPO = "third-party/exported"
EXPORT_COMMIT = "abcdefabcdefabcdefabcdefabcdefabcdefabcd"
LABELS = ["walk", "sit", "run"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, torch.Tensor, torch.Tensor]:
    """A tiny ST-GCN + U-head saved by the models part, an input and its reference logits."""
    torch.manual_seed(0)
    model = create_model("stgcn", labels=LABELS, head="ufusion", base_channels=4,
                         head_args={"fusion_dim": 8}).eval()
    folder = tmp_path_factory.mktemp("saved") / "model"
    model.save(folder)
    x = torch.randn(1, 3, 12, 25, 2)
    with torch.no_grad():
        ref = model(x)
    return folder, x, ref


@pytest.fixture
def served(saved, mock_hub: MockHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    folder = saved[0]
    enc = (folder / "encoder.safetensors").read_bytes()
    head = (folder / "head.safetensors").read_bytes()
    mock_hub.add(REPO, COMMIT, {"encoder.safetensors": enc, "head.safetensors": head})
    entry = make_entry({"encoder": ("encoder.safetensors", enc),
                        "head": ("head.safetensors", head)},
                       labels=LABELS, model_args={"base_channels": 4}, head="ufusion",
                       head_args={"fusion_dim": 8}, classifier_keys=["fc.weight", "fc.bias"])
    path = write_manifest(tmp_path / "models.json", {"tiny-stgcn": entry}, default="tiny-stgcn")
    monkeypatch.setenv("SKELLOC_MANIFEST", str(path))
    monkeypatch.setenv("SKELLOC_ENDPOINT", mock_hub.endpoint)
    monkeypatch.setenv("SKELLOC_CACHE", str(tmp_path / "cache"))
    return "tiny-stgcn"


def _out(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(x)


def test_load_from_hub_is_exact_and_then_offline(served: str, saved, mock_hub: MockHub) -> None:
    _, x, ref = saved
    model = skelloc.load()  # the manifest default
    assert not model.training and list(model.labels) == LABELS
    assert torch.equal(_out(model, x), ref)
    n = len(mock_hub.requests())
    again = skelloc.load(served, offline=True)
    assert torch.equal(_out(again, x), ref) and len(mock_hub.requests()) == n


def test_num_classes_drops_only_the_classifier(served: str, saved, mock_hub: MockHub,
                                               caplog: pytest.LogCaptureFixture) -> None:
    folder, x, ref = saved
    with caplog.at_level(logging.INFO, logger="skelloc"):
        model = skelloc.load(served, num_classes=5)
    assert _out(model, x).shape == (1, 6, 12)
    assert "fc.weight" in caplog.text and "3 -> 5" in caplog.text
    from safetensors.torch import load_file

    saved_head = load_file(str(folder / "head.safetensors"))
    own = model.head.state_dict()
    for key, value in saved_head.items():
        if not key.startswith("fc."):
            assert torch.equal(own[key], value), key
    assert own["fc.weight"].shape == (6, 8)


def test_load_head_false_downloads_the_encoder_only(served: str, saved, mock_hub: MockHub) -> None:
    model = skelloc.load(served, load_head=False)
    assert model.head is None
    assert mock_hub.gets("head.safetensors") == 0 and mock_hub.gets("encoder.safetensors") == 1


def test_manifest_and_metadata_must_agree(served: str, saved, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    doc = json.loads(Path(str(tmp_path / "models.json")).read_text())
    doc["models"]["tiny-stgcn"]["model_args"] = {"base_channels": 8}
    (tmp_path / "models.json").write_text(json.dumps(doc))
    with pytest.raises(IncompatibleWeightsError, match="model_args"):
        skelloc.load(served)


def test_export_then_hf_hub_prefix(saved, mock_hub: MockHub, tmp_path: Path,
                                   caplog: pytest.LogCaptureFixture) -> None:
    folder, x, ref = saved
    model = skelloc.load(str(folder))
    out = export_model(model, "exported", tmp_path / "exp", metrics={"mAP@0.5": 0.42},
                       card_extra={"training_data": "PKU-MMD v1 train split", "seeds": [0, 1]},
                       license="other", citation="@article{x}", repo_id=OTHER_REPO)
    doc = json.loads((out / "weights_manifest.json").read_text())
    entry = doc["models"]["exported"]
    assert doc["default"] == "exported" and "hub" not in entry
    assert entry["head"]["classifier_keys"] == ["fc.bias", "fc.weight"]
    enc = (out / "encoder.safetensors").read_bytes()
    assert entry["files"]["encoder"] == {"filename": "encoder.safetensors", "sha256": sha256(enc),
                                         "size": len(enc), "format": "safetensors"}
    assert f"{sha256(enc)}  encoder.safetensors" in (out / "SHA256SUMS").read_text()
    card = (out / "README.md").read_text()
    assert card.startswith("---\nlicense: \"other\"\nlibrary_name: skelloc\n")
    assert "| mAP@0.5 | 0.42 |" in card and "PKU-MMD v1 train split" in card
    assert f"hf upload {OTHER_REPO}" in card and "@article{x}" in card
    mock_hub.add(OTHER_REPO, EXPORT_COMMIT,
                 {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()})
    with caplog.at_level(logging.WARNING, logger="skelloc"):
        loaded = skelloc.load(f"hf-hub:{OTHER_REPO}@{EXPORT_COMMIT}", endpoint=mock_hub.endpoint,
                              cache_dir=tmp_path / "cache")
    assert "third-party" in caplog.text
    assert torch.equal(_out(loaded, x), ref)
    mock_hub.tamper.add("head.safetensors")  # the repo's own manifest is the reference
    shutil.rmtree(tmp_path / "cache")
    with pytest.raises(skelloc.errors.ChecksumMismatchError):
        skelloc.load(f"hf-hub:{OTHER_REPO}@{EXPORT_COMMIT}", endpoint=mock_hub.endpoint,
                     cache_dir=tmp_path / "cache")


def test_local_paths_single_file_and_pickle(saved, tmp_path: Path) -> None:
    folder, x, ref = saved
    model = skelloc.load(f"local-dir:{folder}")
    assert torch.equal(_out(model, x), ref)
    single = tmp_path / "one.safetensors"
    model.save(single)
    assert torch.equal(_out(skelloc.load(single), x), ref)

    pick = tmp_path / "pickled"
    pick.mkdir()
    shutil.copy(folder / "config.json", pick / "config.json")
    enc = {f"module.{k}": v for k, v in model.encoder.state_dict().items()}
    torch.save({"state_dict": enc}, pick / "encoder.pt")
    torch.save(model.head.state_dict(), pick / "head.pt")
    with pytest.raises(UnsafeCheckpointError, match="allow_pickle"):
        skelloc.load(str(pick))
    loaded = skelloc.load(str(pick), allow_pickle=True)
    assert torch.equal(_out(loaded, x), ref)

    torch.save({"unrelated.weight": torch.zeros(3)}, pick / "encoder.pt")
    with pytest.raises(IncompatibleWeightsError, match="no key matches"):
        skelloc.load(str(pick), allow_pickle=True)
    torch.save({"fc.weight": torch.zeros(3)}, pick / "head.pt")
    (pick / "encoder.pt").unlink()
    torch.save(enc, pick / "encoder.pt")
    with pytest.raises(IncompatibleWeightsError, match="missing keys"):
        skelloc.load(str(pick), allow_pickle=True)


def test_multilabel_output_survives_export_and_load(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = create_model("stgcn", labels=LABELS, head="ufusion", base_channels=4,
                         head_args={"fusion_dim": 8}, output="sigmoid").eval()
    out = export_model(model, "multi", tmp_path / "exp", license="other")
    entry = json.loads((out / "weights_manifest.json").read_text())["models"]["multi"]
    assert entry["output"] == "sigmoid"
    loaded = skelloc.load(str(out))  # built from the folder's manifest entry
    assert loaded.output == "sigmoid"
    probs = skelloc.predict_frames(torch.randn(20, 25, 3).numpy(), loaded, fps=30.0)
    assert not torch.allclose(torch.from_numpy(probs.sum(axis=1)), torch.ones(20))
    single = export_model(skelloc.load(str(out)), "single", tmp_path / "s", license="other")
    assert json.loads((single / "weights_manifest.json").read_text())["models"]["single"][
        "output"] == "sigmoid"
    plain = create_model("stgcn", labels=LABELS, head="ufusion", base_channels=4,
                         head_args={"fusion_dim": 8})
    entry = json.loads((export_model(plain, "p", tmp_path / "p", license="other")
                        / "weights_manifest.json").read_text())["models"]["p"]
    assert "output" not in entry and skelloc.load(str(tmp_path / "p")).output == "softmax"
