"""Localizer and create_model: every backbone × head, features, errors, devices."""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F

import skelloc
from skelloc.errors import ConfigError, UnknownArchitectureError
from skelloc.models import create_model
from skelloc.models.localizer import InputSpec, Localizer, ModelConfig

ARCHS = ["stgcn", "agcn", "unik"]
HEADS = ["ufusion", "simple", "tconv", None]


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("head", HEADS)
def test_every_backbone_and_head(arch: str, head: str | None) -> None:
    torch.manual_seed(0)
    model = create_model(arch, num_classes=3 if head else None, head=head, base_channels=4).eval()
    for T in (1, 7, 64, 301):
        for M in (1, 2):
            x = torch.randn(2, 3, T, 25, M)
            with torch.no_grad():
                if head is not None:
                    logits = model(x)
                    assert logits.shape == (2, 4, T)
                    assert torch.isfinite(logits).all()
                    fused = model.forward_features(x)
                    assert fused.shape == (2, model.feature_dim, T)
                enc = model.forward_features(x, level="encoder")
                native = model.forward_features(x, level="encoder", native=True)
            assert enc.shape == (2, model.encoder_dim, T)
            assert native.shape == (2, model.encoder_dim, math.ceil(T / model.total_stride))


def test_encoder_features_are_last_block_pooled_and_interpolated() -> None:
    torch.manual_seed(0)
    model = create_model("agcn", head=None, base_channels=4).eval()
    x = torch.randn(1, 3, 20, 25, 2)
    with torch.no_grad():
        last = model.encoder(x)[-1]  # (1, 2, 16, 3, 25)
        pooled = last.mean(dim=(1, 4))
        expected = F.interpolate(pooled, size=20, mode="linear", align_corners=True)
        torch.testing.assert_close(model.forward_features(x, level="encoder", native=True), pooled)
        torch.testing.assert_close(model.forward_features(x, level="encoder"), expected)


def test_encoder_only_model() -> None:
    model = create_model("stgcn", head=None, base_channels=4)
    assert model.head is None and model.labels == [] and model.num_classes == 0
    assert model.feature_dim == model.encoder_dim == 16
    x = torch.randn(1, 3, 5, 25, 1)
    with pytest.raises(ConfigError, match="no head"):
        model(x)
    with pytest.raises(ConfigError, match="no head"):
        model.forward_features(x, level="fused")
    with pytest.raises(ConfigError, match="level"):
        model.forward_features(x, level="block3")


def test_labels_and_background_index() -> None:
    model = create_model("stgcn", labels=["walk", "sit"], head="simple", base_channels=4)
    assert model.num_classes == 2 and model.background_index == 2
    assert model.config == ModelConfig("stgcn", {"base_channels": 4}, "simple", {}, 2)
    assert model.config["architecture"] == "stgcn" and model.config.get("missing") is None
    default = create_model("agcn", num_classes=3, base_channels=4).labels
    assert default == ["class_0", "class_1", "class_2"]
    with pytest.raises(ConfigError, match="labels"):
        create_model("stgcn", num_classes=3, labels=["a", "b"], base_channels=4)
    with pytest.raises(ConfigError, match="num_classes"):
        create_model("stgcn", base_channels=4)


def test_unknown_names_raise_typed_errors() -> None:
    with pytest.raises(UnknownArchitectureError, match="'agcn'"):
        create_model("acgn", num_classes=2)
    with pytest.raises(UnknownArchitectureError, match="'ufusion'"):
        create_model("agcn", num_classes=2, head="ufusoin")
    with pytest.raises(ConfigError, match="invalid arguments"):
        create_model("agcn", num_classes=2, width=3)


def test_public_api_exports() -> None:
    assert skelloc.create_model is create_model
    assert "agcn" in skelloc.list_architectures()
    assert skelloc.Localizer is Localizer and skelloc.InputSpec is InputSpec


def test_input_spec_default_and_mismatch() -> None:
    model = create_model("stgcn", num_classes=2, layout="coco", base_channels=4)
    assert model.input_spec == InputSpec(layout="coco17", num_joints=17, channels=3, max_persons=2)
    with pytest.raises(ConfigError, match="does not match"):
        create_model("stgcn", num_classes=2, base_channels=4, input_spec={"num_joints": 17})
    spec = create_model(
        "agcn", num_classes=2, base_channels=4, input_spec={"fps": 25.0, "max_persons": 1}
    ).input_spec
    assert spec.fps == 25.0 and spec.max_persons == 1
    with pytest.raises(ConfigError, match="unknown input spec"):
        InputSpec.from_dict({"frames": 3})


def test_reset_head_changes_class_count() -> None:
    model = create_model("agcn", num_classes=3, base_channels=4)
    enc_state = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    model.reset_head(labels=["a", "b", "c", "d", "e"])
    assert model.head.fc.out_features == 6 and model.config.num_classes == 5
    assert model.labels == ["a", "b", "c", "d", "e"]
    assert all(torch.equal(v, model.encoder.state_dict()[k]) for k, v in enc_state.items())
    model.reset_head(head="simple", num_classes=2)
    assert model.config.head == "simple" and model.labels == ["class_0", "class_1"]


def test_device_agnostic_to_cpu_and_dtype() -> None:
    model = create_model("agcn", num_classes=2, base_channels=4).to("cpu").eval()
    model64 = create_model("agcn", num_classes=2, base_channels=4).to(torch.float64).eval()
    assert model64.encoder.l1.gcn1.A.dtype == torch.float64  # the fixed graph follows .to()
    with torch.no_grad():
        assert model64(torch.randn(1, 3, 6, 25, 1, dtype=torch.float64)).dtype == torch.float64
        assert model(torch.randn(1, 3, 6, 25, 1)).device.type == "cpu"


def test_backbone_args_must_be_json() -> None:
    with pytest.raises(ConfigError, match="JSON"):
        create_model("stgcn", num_classes=2, base_channels=object())
    model = create_model("stgcn", num_classes=2, base_channels=4, stride_blocks=(2, 5))
    assert model.config.model_args == {"base_channels": 4, "stride_blocks": [2, 5]}


def test_user_helpers_delegate_to_inference_api() -> None:
    import numpy as np

    import skelloc as api

    torch.manual_seed(0)
    model = create_model("agcn", labels=["wave", "sit"], base_channels=4).eval()
    joints = np.random.default_rng(0).normal(size=(30, 25, 3)).astype(np.float32)
    probs = model.predict_frames(joints)
    assert probs.shape == (30, 3)
    np.testing.assert_array_equal(probs, api.predict_frames(joints, model=model))
    feats = model.extract_features(joints, level="encoder")  # keyword arguments pass through
    assert feats.shape == (30, model.encoder_dim)
    segments = model.localize(joints, decoder="argmax")
    assert segments and {s.label for s in segments} <= {"wave", "sit"}
