"""The inference form (skelloc.models.fuse): same function as the modules, original untouched."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import skelloc as api
from skelloc.models.factory import create_model
from skelloc.models.fuse import fold_batchnorms, fuse_for_inference, inference_model, is_fused
from skelloc.models.stgcn import FusedSTGCN


def randomize(model: nn.Module, seed: int = 0) -> nn.Module:
    """Non-trivial BatchNorm statistics and affine parameters, edge importance and PA, so that
    folding them wrongly cannot go unnoticed (fresh BNs are identities)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                n = m.num_features
                if m.running_mean is not None:
                    m.running_mean.copy_(torch.rand(n, generator=g) - 0.5)
                    m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
                m.weight.copy_(torch.rand(n, generator=g) + 0.5)
                m.bias.copy_(torch.rand(n, generator=g) - 0.5)
        for name, p in model.named_parameters():
            if "edge_importance" in name or name.endswith("PA"):
                p.copy_(torch.rand(p.shape, generator=g) + 0.5)
    return model.eval()


def outputs(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.inference_mode():
        return model(x), model.forward_features(x, level="encoder")


def assert_close(a: torch.Tensor, b: torch.Tensor) -> None:
    scale = float(b.abs().max())
    assert float((a - b).abs().max()) <= 1e-5 * max(1.0, scale)


CASES = [
    ("stgcn", {"base_channels": 4, "out_channels": 12}),
    ("stgcn", {"base_channels": 4, "strategy": "uniform", "stride_blocks": (2, 3)}),
    ("stgcn", {"base_channels": 4, "strategy": "distance", "max_hop": 2, "data_bn": False,
               "edge_importance": False}),
    ("agcn", {"base_channels": 4}),
    ("unik", {"base_channels": 4}),
]


@pytest.mark.parametrize("arch,kwargs", CASES)
@pytest.mark.parametrize("head", ["ufusion", "simple", "tconv"])
def test_fused_model_computes_the_same_function(arch: str, kwargs: dict, head: str) -> None:
    torch.manual_seed(0)
    model = randomize(create_model(arch, num_classes=3, head=head, head_args=None, **kwargs))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fused = fuse_for_inference(model)
    for persons in (1, 2):
        x = torch.randn(2, 3, 23, 25, persons)  # odd T: the strided blocks round up
        for got, want in zip(outputs(fused, x), outputs(model, x)):
            assert got.shape == want.shape
            assert_close(got, want)
    # the original is untouched and still trainable; the copy has no BatchNorm left but
    # the input's (2s-AGCN / UNIK data BN: a cheap affine map of the 3 input channels)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not [name for name, m in fused.named_modules()
                if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.Dropout))
                and name != "encoder.data_bn"]
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert is_fused(fused) and not is_fused(model)
    assert not any(p.requires_grad for p in fused.parameters())
    if arch == "stgcn":
        assert isinstance(fused.encoder, FusedSTGCN)


def test_fused_stgcn_block_outputs_match_per_block() -> None:
    torch.manual_seed(1)
    model = randomize(create_model("stgcn", num_classes=2, base_channels=4))
    fused = fuse_for_inference(model)
    x = torch.randn(1, 3, 16, 25, 2)
    with torch.inference_mode():
        for got, want in zip(fused.encoder(x), model.encoder(x)):
            assert got.shape == want.shape  # (N, M, C, T, V), a view of channels-last memory
            assert_close(got, want)


def test_fold_batchnorms_keeps_unfoldable_modules() -> None:
    seq = nn.Sequential(nn.Conv1d(3, 4, 3, padding=1), nn.BatchNorm1d(4), nn.ReLU(),
                        nn.BatchNorm1d(4, track_running_stats=False))
    randomize(seq)
    x = torch.randn(2, 3, 7)
    with torch.no_grad():
        want = seq(x)
        fold_batchnorms(seq)
        assert isinstance(seq[1], nn.Identity)
        assert isinstance(seq[3], nn.BatchNorm1d)  # no running statistics: left alone
        assert_close(seq(x), want)


def test_inference_model_is_cached_and_follows_parameter_updates() -> None:
    torch.manual_seed(2)
    model = randomize(create_model("stgcn", num_classes=2, base_channels=4))
    first = inference_model(model)
    assert inference_model(model) is first
    assert inference_model(first) is first
    x = torch.randn(1, 3, 12, 25, 2)
    with torch.no_grad():  # an optimiser step changes a weight in place
        model.encoder.st_gcn_networks[3].tcn[2].weight.mul_(1.5)
    second = inference_model(model)
    assert second is not first
    assert_close(outputs(second, x)[0], outputs(model, x)[0])
    model.head = create_model("stgcn", num_classes=2, base_channels=4).head  # a new module
    assert inference_model(model) is not second


def test_api_fuse_flag_and_precision() -> None:
    torch.manual_seed(3)
    model = randomize(create_model("stgcn", num_classes=3, base_channels=4,
                                   head_args={"fusion_dim": 8}))
    rng = np.random.default_rng(0)
    joints = np.cumsum(rng.normal(scale=0.1, size=(40, 2, 25, 3)), axis=0).astype(np.float32)
    fused = api.predict_frames(joints, model, window=16, overlap=4)
    plain = api.predict_frames(joints, model, window=16, overlap=4, fuse=False)
    np.testing.assert_allclose(fused, plain, atol=1e-5)
    half = api.predict_frames(joints, model, precision="bf16")
    assert half.dtype == np.float32 and np.abs(half - plain).max() < 0.1
    np.testing.assert_allclose(half.sum(axis=1), 1.0, rtol=1e-5)
    feats = api.extract_features(joints, model, fuse=False)
    np.testing.assert_allclose(api.extract_features(joints, model), feats, atol=1e-4)
    from skelloc.errors import ConfigError

    with pytest.raises(ConfigError, match="precision"):
        api.predict_frames(joints, model, precision="fp16")  # type: ignore[arg-type]


def test_model_built_under_inference_mode_is_cached_and_follows_updates() -> None:
    # tensors made under torch.inference_mode have no version counter; the cache key does
    # not need one (content fingerprint), so such models are cached and still never stale
    with torch.inference_mode():
        torch.manual_seed(4)
        model = randomize(create_model("stgcn", num_classes=2, base_channels=4))
        x = torch.randn(1, 3, 12, 25, 2)
        first = inference_model(model)
        assert is_fused(first) and inference_model(model) is first
        model.encoder.st_gcn_networks[2].tcn[2].weight.mul_(2.0)
        assert inference_model(model) is not first
        assert_close(inference_model(model)(x), model(x))
        assert not torch.allclose(first(x), model(x))


def test_cache_key_uses_no_private_tensor_attributes() -> None:
    import inspect

    from skelloc.models import fuse

    assert "_version" not in inspect.getsource(fuse)
