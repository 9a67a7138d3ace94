"""Backbones: shapes for any T and M, stride bookkeeping, parameter counts, key names."""

from __future__ import annotations

import math

import pytest
import torch

from skelloc.errors import ConfigError, ShapeError
from skelloc.models.base import Backbone, resolve_strides
from skelloc.models.registry import build_backbone

TINY = {
    "stgcn": {"base_channels": 4},
    "agcn": {"base_channels": 4},
    "unik": {"base_channels": 4},
}


def _n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("arch", sorted(TINY))
def test_block_shapes_for_any_length(arch: str) -> None:
    torch.manual_seed(0)
    enc = build_backbone(arch, **TINY[arch]).eval()
    assert isinstance(enc, Backbone)
    assert len(enc.block_channels) == len(enc.block_strides) == 10
    for T in (1, 7, 64, 301):
        for M in (1, 2):
            x = torch.randn(2, 3, T, 25, M)
            with torch.no_grad():
                outs = enc(x)
            assert len(outs) == 10
            for c, s, out in zip(enc.block_channels, enc.block_strides, outs):
                assert out.shape == (2, M, c, math.ceil(T / s), 25)
                assert torch.isfinite(out).all()


def test_default_stride_plans() -> None:
    assert build_backbone("stgcn", base_channels=4).block_strides == [1, 1, 1, 1, 2, 2, 2, 4, 4, 4]
    agcn = build_backbone("agcn", base_channels=4)
    assert agcn.block_strides == [1, 2, 2, 2, 4, 4, 4, 8, 8, 8]  # SnipCLR: blocks 2, 5, 8
    assert agcn.total_stride == 8 and agcn.out_channels == 16
    assert build_backbone("unik", base_channels=4).total_stride == 4


def test_configurable_strides() -> None:
    enc = build_backbone("stgcn", base_channels=4, stride_blocks=(2, 5, 8))
    assert enc.block_strides == [1, 2, 2, 2, 4, 4, 4, 8, 8, 8]
    enc = build_backbone("agcn", base_channels=4, strides=[1, 1, 3, 1, 1, 1, 1, 1, 1, 2])
    assert enc.block_strides == [1, 1, 3, 3, 3, 3, 3, 3, 3, 6]
    with torch.no_grad():
        outs = enc.eval()(torch.randn(1, 3, 10, 25, 1))
    assert [o.shape[3] for o in outs] == [10, 10, 4, 4, 4, 4, 4, 4, 4, 2]
    assert enc.output_lengths(10) == [10, 10, 4, 4, 4, 4, 4, 4, 4, 2]


def test_stride_argument_errors() -> None:
    with pytest.raises(ConfigError, match="not both"):
        resolve_strides(10, [1] * 10, (5, 8), (5, 8))
    with pytest.raises(ConfigError, match="10 entries"):
        build_backbone("stgcn", strides=[1, 2])
    with pytest.raises(ConfigError, match="1..10"):
        build_backbone("agcn", stride_blocks=(0, 5))


def test_stgcn_width_plans() -> None:
    quarter = build_backbone("stgcn", base_channels=16)
    assert quarter.block_channels == [16] * 4 + [32] * 3 + [64] * 3
    aim = build_backbone("stgcn", base_channels=16, out_channels=256)
    assert aim.block_channels == [16] * 4 + [32] * 3 + [64, 64, 256]
    # field.md §6: 836,800 for the AimCLR ST-GCN/16 with a 60-class Linear(256, 60)
    assert _n_params(aim) + 256 * 60 + 60 == 836_800


def test_stgcn_parameter_count_and_keys() -> None:
    enc = build_backbone("stgcn")  # original 64-wide NTU model
    # field.md §1.1: 3,098,832 with edge importance and the NTU-60 fcn Conv2d(256, 60, 1)
    assert _n_params(enc) + 256 * 60 + 60 == 3_098_832
    keys = set(enc.state_dict())
    assert "A" in keys and enc.state_dict()["A"].shape == (3, 25, 25)
    assert "data_bn.running_var" in keys and enc.state_dict()["data_bn.weight"].shape == (75,)
    assert "st_gcn_networks.0.gcn.conv.weight" in keys
    assert enc.state_dict()["st_gcn_networks.0.gcn.conv.weight"].shape == (192, 3, 1, 1)
    assert enc.state_dict()["st_gcn_networks.3.tcn.2.weight"].shape == (64, 64, 9, 1)
    assert {k for k in keys if ".residual." in k and k.endswith("weight")} == {
        "st_gcn_networks.4.residual.0.weight", "st_gcn_networks.4.residual.1.weight",
        "st_gcn_networks.7.residual.0.weight", "st_gcn_networks.7.residual.1.weight",
    }
    assert "edge_importance.9" in keys
    # 172 keys in the original incl. A and fcn.{weight,bias}
    assert len(keys) + 2 == 172


def test_agcn_parameter_count_and_keys() -> None:
    enc = build_backbone("agcn", stride_blocks=(5, 8), data_bn=True)  # original 2s-AGCN
    # field.md §1.2: 3,469,510 with data_bn and Linear(256, 60)
    assert _n_params(enc) + 256 * 60 + 60 == 3_469_510
    keys = set(enc.state_dict())
    assert len(keys) + 2 == 352  # + fc.{weight,bias}
    assert "l1.gcn1.PA" in keys and not any(k.endswith("gcn1.A") for k in keys)
    assert {k.split(".")[0] for k in keys if ".residual." in k} == {"l5", "l8"}
    assert enc.state_dict()["data_bn.weight"].shape == (150,)
    assert enc.state_dict()["l1.gcn1.conv_a.0.weight"].shape == (16, 3, 1, 1)  # 64 / 4


def test_paper_agcn_has_no_data_bn_and_l2_residual() -> None:
    enc = build_backbone("agcn")
    keys = set(enc.state_dict())
    assert not any(k.startswith("data_bn") for k in keys)
    assert {k.split(".")[0] for k in keys if ".residual." in k} == {"l2", "l5", "l8"}


def test_unik_parameter_count_and_heads() -> None:
    enc = build_backbone("unik", num_heads=4)  # NTU config
    # field.md §1.4: 3,803,033 with the 60-class classifier
    assert _n_params(enc) + 256 * 60 + 60 == 3_803_033
    sd = enc.state_dict()
    assert sd["l1.s_unit.DepM"].shape == (3, 25, 25)  # l1 always has 3 heads
    assert sd["l2.s_unit.DepM"].shape == (4, 25, 25)
    assert sd["l1.s_unit.bias"].shape == (25,)


def test_unik_any_joint_count_2d() -> None:
    enc = build_backbone("unik", in_channels=2, layout="coco17", base_channels=4).eval()
    with torch.no_grad():
        out = enc(torch.randn(1, 2, 9, 17, 2))[-1]
    assert out.shape == (1, 2, 16, 3, 17)


@pytest.mark.parametrize("arch", ["agcn", "unik"])
def test_per_person_data_bn_with_fewer_persons(arch: str) -> None:
    torch.manual_seed(1)
    enc = build_backbone(arch, base_channels=4, data_bn=True, num_person=2)
    with torch.no_grad():
        enc.data_bn.running_mean.normal_()
        enc.data_bn.running_var.uniform_(0.5, 2.0)
    enc.eval()
    x = torch.randn(2, 3, 12, 25, 2)
    with torch.no_grad():
        both = enc(x)[-1]
        first = enc(x[..., :1])[-1]
    # persons are processed independently; person 0 uses the first slice of the statistics
    torch.testing.assert_close(first[:, 0], both[:, 0])
    enc.train()
    before = enc.data_bn.running_mean.clone()
    enc(x[..., :1])
    n = 25 * 3
    assert not torch.equal(enc.data_bn.running_mean[:n], before[:n])
    assert torch.equal(enc.data_bn.running_mean[n:], before[n:])
    with pytest.raises(ShapeError, match="2 person"):
        enc(torch.randn(2, 3, 12, 25, 3))


def test_stgcn_data_bn_is_shared_by_persons() -> None:
    torch.manual_seed(2)
    enc = build_backbone("stgcn", base_channels=4, num_person=1).eval()
    x = torch.randn(1, 3, 8, 25, 3)  # any M
    with torch.no_grad():
        out = enc(x)[-1]
        solo = enc(x[..., 1:2])[-1]
    torch.testing.assert_close(solo[:, 0], out[:, 1])


def test_input_validation() -> None:
    enc = build_backbone("stgcn", base_channels=4)
    with pytest.raises(ShapeError, match="channels"):
        enc(torch.randn(1, 2, 8, 25, 1))
    with pytest.raises(ShapeError, match="joints"):
        enc(torch.randn(1, 3, 8, 17, 1))
    with pytest.raises(ShapeError, match="N, C, T, V, M"):
        enc(torch.randn(3, 8, 25, 1))


def test_coco_layout_graph() -> None:
    enc = build_backbone("stgcn", layout="coco17", base_channels=4).eval()
    assert enc.num_joints == 17
    with torch.no_grad():
        assert enc(torch.randn(1, 3, 5, 17, 1))[-1].shape == (1, 1, 16, 2, 17)


def test_gradients_reach_every_parameter() -> None:
    torch.manual_seed(3)
    for arch in ("stgcn", "agcn", "unik"):
        enc = build_backbone(arch, base_channels=4).train()
        enc(torch.randn(2, 3, 16, 25, 2))[-1].sum().backward()
        unused = [n for n, p in enc.named_parameters() if p.grad is None]
        if arch == "unik":  # the original never uses S_LSU.bias
            assert unused and all(n.endswith("s_unit.bias") for n in unused)
        else:
            assert unused == []
