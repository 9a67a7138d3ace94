"""Heads: U-fusion structure and parameter count, simple head, parameter-matched tconv head."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from skelloc.errors import ConfigError
from skelloc.models.registry import build_backbone, build_head
from skelloc.models.tconv import match_tconv_width, tconv_num_params
from skelloc.models.ufusion import UFusionHead, select_taps, ufusion_num_params

AGCN_CH = [64] * 4 + [128] * 3 + [256] * 3
AGCN_STRIDES = [1, 2, 2, 2, 4, 4, 4, 8, 8, 8]


def _n(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _feats(channels: list[int], strides: list[int], T: int, N: int = 2, M: int = 1, V: int = 5):
    g = torch.Generator().manual_seed(0)
    return [torch.randn(N, M, c, -(-T // s), V, generator=g) for c, s in zip(channels, strides)]


def test_ufusion_parameter_count_matches_method_table() -> None:
    head = build_head("ufusion", block_channels=AGCN_CH, block_strides=AGCN_STRIDES, num_classes=4)
    # method.md §3.4: 2,244,672 for the fusion part + 2,565 for Linear(512 -> 5)
    assert _n(head) == 2_244_672 + 2_565
    assert _n(head) - _n(head.fc) == 2_244_672
    assert head.taps == (0, 6, 9)  # l1, l7, l10
    assert head.node01[0].in_channels == 192 and head.node11[0].in_channels == 384
    assert head.node02[0].in_channels == 640 and head.out_conv.in_channels == 896
    assert head.fc.out_features == 5 and head.feature_dim == 512


@pytest.mark.parametrize("base", [4, 16, 64])
def test_ufusion_closed_form_count(base: int) -> None:
    enc = build_backbone("stgcn", base_channels=base, out_channels=256 if base == 16 else None)
    head = UFusionHead(enc.block_channels, enc.block_strides, num_classes=7, fusion_dim=32)
    c0, c1, c2 = (enc.block_channels[t] for t in head.taps)
    assert _n(head) == ufusion_num_params(c0, c1, c2, 7, fusion_dim=32)


def test_tap_selection() -> None:
    assert select_taps(AGCN_STRIDES) == (0, 6, 9)
    assert select_taps([1, 1, 1, 1, 2, 2, 2, 4, 4, 4]) == (0, 6, 9)  # ST-GCN plan
    assert select_taps([1, 1, 1, 1, 2, 2, 2, 2, 2, 2]) == (0, 3, 9)
    with pytest.raises(ConfigError, match="taps"):
        select_taps([1] * 10)


def test_ufusion_forward_matches_hand_computation() -> None:
    torch.manual_seed(0)
    ch, st = [3, 4, 5], [1, 2, 4]
    head = UFusionHead(ch, st, num_classes=2, fusion_dim=6, taps=(0, 1, 2)).eval()
    T = 9
    feats = _feats(ch, st, T, N=1, M=2)
    x0, x1, x2 = (f.mean(-1).mean(1) for f in feats)

    def up(x: torch.Tensor, n: int) -> torch.Tensor:
        return F.interpolate(x, size=n, mode="nearest")

    n01 = head.node01(torch.cat([x0, up(x1, 9)], 1))
    n11 = head.node11(torch.cat([x1, up(x2, 5)], 1))
    n02 = head.node02(torch.cat([x0, n01, up(n11, 9)], 1))
    fused = head.out_conv(torch.cat([x0, n01, n02], 1))
    expected = torch.einsum("ndt,kd->nkt", fused, head.fc.weight) + head.fc.bias[None, :, None]
    with torch.no_grad():
        torch.testing.assert_close(head.forward_features(feats, T), fused)
        torch.testing.assert_close(head(feats, T), expected)


def test_simple_head_is_linear_then_interpolation() -> None:
    torch.manual_seed(0)
    ch, st = [4] * 3 + [8] * 3, [1, 1, 2, 2, 4, 4]
    head = build_head("simple", block_channels=ch, block_strides=st, num_classes=3).eval()
    T = 13
    feats = _feats(ch, st, T, M=2)
    last = feats[-1].mean(-1).mean(1)  # (N, 8, 4)
    logits_native = torch.einsum("ndt,kd->nkt", last, head.fc.weight) + head.fc.bias[None, :, None]
    expected = F.interpolate(logits_native, size=T, mode="linear", align_corners=True)
    with torch.no_grad():
        out = head(feats, T)
        torch.testing.assert_close(out, expected)
        # both steps are linear, so classifying the interpolated features is the same
        ff = head.forward_features(feats, T)
        torch.testing.assert_close(head.fc(ff.transpose(1, 2)).transpose(1, 2), out)
    # align_corners=True: the first and last frames equal the native first / last values
    torch.testing.assert_close(out[..., 0], logits_native[..., 0])
    torch.testing.assert_close(out[..., -1], logits_native[..., -1])
    assert head.feature_dim == 8 and out.shape == (2, 4, T)


def test_tconv_closed_form_and_width_matching() -> None:
    head = build_head("tconv", block_channels=[4, 8], block_strides=[1, 2], num_classes=3, width=10)
    assert _n(head) == tconv_num_params(8, 10, 3, 3)
    # parameter-matched to the paper's U-head (AGCN 64/128/256, 4 classes)
    target = 2_244_672 + 2_565
    matched = build_head("tconv", block_channels=AGCN_CH, block_strides=AGCN_STRIDES, num_classes=4)
    w = matched.feature_dim
    assert w == match_tconv_width(256, target, 3, 4)
    assert abs(_n(matched) - target) <= abs(tconv_num_params(256, w + 1, 3, 4) - target)
    assert abs(_n(matched) - target) <= abs(tconv_num_params(256, w - 1, 3, 4) - target)
    assert abs(_n(matched) - target) / target < 0.005


def test_match_width_brute_force() -> None:
    for c, target, layers, k in [(16, 5000, 1, 2), (64, 123_456, 2, 4), (256, 2_247_237, 4, 60)]:
        counts = {w: abs(tconv_num_params(c, w, layers, k) - target) for w in range(1, 2000)}
        best = min(counts, key=lambda w: (counts[w], w))
        assert match_tconv_width(c, target, layers, k) == best


@pytest.mark.parametrize("name", ["ufusion", "simple", "tconv"])
def test_heads_any_length(name: str) -> None:
    ch, st = [4] * 4 + [8] * 3 + [16] * 3, [1, 2, 2, 2, 4, 4, 4, 8, 8, 8]
    head = build_head(name, block_channels=ch, block_strides=st, num_classes=2).eval()
    for T in (1, 7, 64, 301):
        with torch.no_grad():
            out = head(_feats(ch, st, T), T)
            assert out.shape == (2, 3, T)
            assert head.forward_features(_feats(ch, st, T), T).shape == (2, head.feature_dim, T)


def test_head_argument_errors() -> None:
    with pytest.raises(ConfigError, match="num_classes"):
        build_head("simple", block_channels=[4], block_strides=[1], num_classes=0)
    with pytest.raises(ConfigError, match="equal length"):
        build_head("ufusion", block_channels=[4, 4], block_strides=[1], num_classes=2)
    with pytest.raises(ConfigError, match="taps"):
        build_head("ufusion", block_channels=[4, 4, 4], block_strides=[1, 2, 4], num_classes=2,
                   taps=(0, 1, 5))
