"""Per-model inference defaults stored in the config travel with the weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from skelloc.errors import ConfigError
from skelloc.inference.api import _decoder_choice, window_config
from skelloc.models.factory import create_model
from skelloc.models.localizer import Localizer, ModelConfig


def _tiny() -> Localizer:
    return create_model("stgcn", num_classes=2, labels=["a", "b"], base_channels=4,
                        head="simple")


def test_defaults_saved_and_used(tmp_path: Path) -> None:
    model = _tiny()
    assert _decoder_choice(model, None, {}) == ("proposals", {})
    model.set_inference_defaults(decoder={"name": "argmax", "smoothing": 5}, window=64,
                                 window_overlap=16)
    path = tmp_path / "m.safetensors"
    model.save(path)
    loaded = Localizer.load(path)
    assert loaded.config.inference == {"decoder": {"name": "argmax", "smoothing": 5},
                                       "window": 64, "window_overlap": 16}
    assert _decoder_choice(loaded, None, {}) == ("argmax", {"smoothing": 5})
    # an explicit other decoder drops the configured decoder's arguments
    assert _decoder_choice(loaded, "proposals", {}) == ("proposals", {})
    wc = window_config(loaded, None, None, None, device="cpu")
    assert (wc.window, wc.overlap) == (64, 16)
    # the stored defaults really drive localize: argmax runs of a constant-class output
    segs = loaded.localize(np.random.default_rng(0).normal(size=(40, 25, 3)), fps=30)
    assert all(s.end > s.start for s in segs)


def test_unset_and_unknown_settings() -> None:
    model = _tiny()
    model.set_inference_defaults(window=32)
    model.set_inference_defaults(window=None)
    assert model.config.inference == {}
    assert model.config.get("window", 1024) == 1024
    with pytest.raises(ConfigError, match="unknown inference setting"):
        ModelConfig("stgcn", inference={"colour": "red"})
    with pytest.raises(ConfigError, match="unknown inference setting"):
        model.set_inference_defaults(colour="red")


def test_defaults_survive_hub_export_and_load(tmp_path: Path) -> None:
    import skelloc
    from skelloc.hub.export import export_model

    model = _tiny()
    model.set_inference_defaults(decoder="argmax", window=48)
    folder = export_model(model, "tiny-defaults", tmp_path / "export")
    assert '"inference"' in (folder / "weights_manifest.json").read_text()
    loaded = skelloc.load(f"local-dir:{folder}")
    assert loaded.config.get("decoder") == "argmax" and loaded.config.get("window") == 48


def test_saved_files_are_byte_reproducible(tmp_path: Path) -> None:
    """Same weights and metadata give the same bytes (and sha256) in separate processes."""
    import hashlib
    import subprocess
    import sys

    model = _tiny()
    model.save(tmp_path / "ref.safetensors")
    script = (
        "import sys; from skelloc.models.localizer import Localizer; "
        "Localizer.load(sys.argv[1]).save(sys.argv[2])"
    )
    digests = set()
    for i in range(3):  # fresh interpreters: the safetensors library's hash order varies
        out = tmp_path / f"copy{i}.safetensors"
        subprocess.run([sys.executable, "-c", script, str(tmp_path / "ref.safetensors"),
                        str(out)], check=True)
        digests.add(hashlib.sha256(out.read_bytes()).hexdigest())
    assert digests == {hashlib.sha256((tmp_path / "ref.safetensors").read_bytes()).hexdigest()}
    reloaded = Localizer.load(tmp_path / "copy0.safetensors")
    x = np.random.default_rng(0).normal(size=(16, 25, 3))
    np.testing.assert_allclose(reloaded.predict_frames(x, fps=30), model.predict_frames(x, fps=30))
