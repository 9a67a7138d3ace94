"""Converters: checkpoints built in the original key layouts convert back to identical outputs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import skelloc
from skelloc.cli import run
from skelloc.errors import IncompatibleWeightsError
from skelloc.hub.convert import convert_checkpoint
from skelloc.models.factory import create_model


def _randomise(model: torch.nn.Module) -> None:
    """Non-trivial values everywhere, BN statistics included (fresh BNs are identities)."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if not t.is_floating_point() or name == "A" or name.endswith(".A"):
                continue
            r = torch.rand(t.shape, generator=g)
            t.copy_(r * 0.5 + 0.5 if name.endswith("running_var") else (r - 0.5) * 0.6)


def _encoder_outputs(model, x: torch.Tensor) -> list[torch.Tensor]:
    with torch.no_grad():
        return model.encoder(x)


def _same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return len(a) == len(b) and all(torch.equal(u, v) for u, v in zip(a, b, strict=True))


X = torch.randn(1, 3, 16, 25, 2, generator=torch.Generator().manual_seed(0))


def test_stgcn_original_layout(tmp_path: Path) -> None:
    ref = create_model("stgcn", head=None, channels=[4, 4, 4, 4, 8, 8, 8, 16, 16, 32]).eval()
    _randomise(ref)
    ckpt = dict(ref.encoder.state_dict())
    ckpt["fcn.weight"] = torch.randn(60, 32, 1, 1)
    ckpt["fcn.bias"] = torch.randn(60)
    torch.save(ckpt, tmp_path / "st_gcn.ntu-xsub.pt")
    out = convert_checkpoint("stgcn", tmp_path / "st_gcn.ntu-xsub.pt", tmp_path / "conv")
    model = skelloc.load(str(out))
    assert model.head is None and model.config.model_args["channels"][-1] == 32
    assert _same(_encoder_outputs(model, X), _encoder_outputs(ref, X))


@pytest.mark.parametrize("kind", ["aimclr", "rvtclr"])
def test_clr_checkpoints(kind: str, tmp_path: Path) -> None:
    ref = create_model("stgcn", head=None, base_channels=4, out_channels=32).eval()
    _randomise(ref)
    ckpt: dict[str, torch.Tensor] = {}
    for k, v in ref.encoder.state_dict().items():
        ckpt[f"encoder_q.{k}"] = v
        ckpt[f"encoder_k.{k}"] = v + 1  # the key encoder must not be picked
    ckpt["encoder_q.fc.0.weight"] = torch.randn(32, 32)
    ckpt["encoder_q.fc.2.weight"] = torch.randn(128, 32)
    ckpt["queue"] = torch.randn(128, 64)
    ckpt["queue_ptr"] = torch.zeros(1, dtype=torch.long)
    torch.save({"state_dict": {f"module.{k}": v for k, v in ckpt.items()}}, tmp_path / "c.pt")
    model = skelloc.load(str(convert_checkpoint(kind, tmp_path / "c.pt", tmp_path / "o")))
    assert _same(_encoder_outputs(model, X), _encoder_outputs(ref, X))


def test_agcn_original_rebuilds_the_graph(tmp_path: Path) -> None:
    ref = create_model("agcn", head=None, base_channels=8, stride_blocks=[5, 8],
                       data_bn=True).eval()
    _randomise(ref)
    ckpt = dict(ref.encoder.state_dict())
    assert not any(k.endswith(".A") for k in ckpt)  # the original never saves A either
    ckpt["fc.weight"] = torch.randn(60, 32)
    ckpt["fc.bias"] = torch.randn(60)
    torch.save(ckpt, tmp_path / "agcn.pt")
    model = skelloc.load(str(convert_checkpoint("agcn", tmp_path / "agcn.pt", tmp_path / "o")))
    args = model.config.model_args
    assert args["stride_blocks"] == [5, 8] and args["num_person"] == 2
    assert _same(_encoder_outputs(model, X), _encoder_outputs(ref, X))


def test_snipclr_released_layout_and_cli(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    ref = create_model("agcn", head=None, base_channels=8).eval()  # strides 2, 5, 8
    _randomise(ref)
    ckpt = {f"encoder_q.agcn.{k}": v for k, v in ref.encoder.state_dict().items()}
    ckpt.update({f"encoder_k.agcn.{k}": v * 2 for k, v in ref.encoder.state_dict().items()})
    ckpt["encoder_q.head.fc.weight"] = torch.randn(128, 32)
    ckpt["queue"] = torch.randn(128, 16)
    torch.save(ckpt, tmp_path / "snip.pth")
    out = tmp_path / "snip-out"
    assert run(["convert", str(tmp_path / "snip.pth"), "--from", "snipclr", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    model = skelloc.load(str(out))
    assert model.config.model_args["stride_blocks"] == [2, 5, 8]
    assert _same(_encoder_outputs(model, X), _encoder_outputs(ref, X))
    # the wrong converter for this file is a clear error, never a random model
    assert run(["convert", str(tmp_path / "snip.pth"), "--from", "stgcn", "--out",
                str(tmp_path / "x")]) == 6
    assert "not an ST-GCN checkpoint" in capsys.readouterr().err
    assert run(["convert", str(tmp_path / "snip.pth"), "--from", "nope", "--out",
                str(tmp_path / "x")]) == 2


def test_wrong_shapes_are_reported(tmp_path: Path) -> None:
    ref = create_model("stgcn", head=None, base_channels=4).eval()
    ckpt = dict(ref.encoder.state_dict())
    ckpt["st_gcn_networks.3.tcn.2.weight"] = torch.randn(4, 4, 5, 1)
    torch.save(ckpt, tmp_path / "bad.pt")
    with pytest.raises(IncompatibleWeightsError, match="shape mismatches"):
        convert_checkpoint("stgcn", tmp_path / "bad.pt", tmp_path / "o")
