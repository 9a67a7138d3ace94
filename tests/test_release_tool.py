"""tools/release_models.py: a trained model goes into the wheel's weights and the packaged
manifest, and the result is a manifest skelloc accepts and a model it loads and verifies."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import torch

import skelloc
from skelloc.hub.export import export_model
from skelloc.hub.manifest import read_manifest
from skelloc.models import create_model

REPO = Path(__file__).resolve().parents[1]


def _tool():
    spec = importlib.util.spec_from_file_location("release_models",
                                                  REPO / "tools" / "release_models.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_package_registers_bundled_weights(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = create_model("stgcn", labels=["wave", "sit"], base_channels=4).eval()
    folder = export_model(model, "tiny-release", tmp_path / "export", description="test")
    repo = tmp_path / "repo"
    (repo / "skelloc").mkdir(parents=True)
    (repo / "weights_manifest.json").write_text(json.dumps(
        {"schema_version": 1, "models": {}}))

    entry = _tool().package(folder, "tiny-release", True, repo=repo)

    manifest_path = repo / "weights_manifest.json"
    manifest = read_manifest(manifest_path)  # valid for skelloc
    assert manifest.default == "tiny-release"
    parsed = manifest.models["tiny-release"]
    for role, spec in parsed.files.items():
        assert spec.source == "package" and spec.filename == f"tiny-release.{role}.safetensors"
        data = (repo / "skelloc" / "weights" / spec.filename).read_bytes()
        assert spec.size == len(data) and spec.sha256 == hashlib.sha256(data).hexdigest()
    assert entry["files"].keys() == parsed.files.keys() == {"encoder", "head"}
    assert (repo / "docs" / "model_cards" / "tiny-release.md").read_text().startswith("---")

    # the packaged files load, verified, into the same model
    staged = tmp_path / "staged"
    staged.mkdir()
    for spec in parsed.files.values():
        shutil.copy(repo / "skelloc" / "weights" / spec.filename, staged / spec.filename)
    shutil.copy(manifest_path, staged / "weights_manifest.json")
    loaded = skelloc.load(f"local-dir:{staged}")
    x = np.random.default_rng(0).normal(size=(20, 25, 3)).astype(np.float32)
    np.testing.assert_allclose(skelloc.predict_frames(x, loaded), skelloc.predict_frames(x, model),
                               atol=1e-6)
