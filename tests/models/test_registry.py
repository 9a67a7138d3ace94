"""Registries: lookup, close matches, typed errors."""

from __future__ import annotations

import pytest
from torch import nn

from skelloc.errors import ConfigError, UnknownArchitectureError, UnknownModelError
from skelloc.models import registry


def test_builtins_are_listed() -> None:
    assert {"stgcn", "agcn", "unik"} <= set(registry.list_architectures())
    assert {"ufusion", "simple", "tconv"} <= set(registry.list_heads())
    assert registry.list_architectures() == sorted(registry.list_architectures())


def test_unknown_architecture_suggests_close_match() -> None:
    with pytest.raises(UnknownArchitectureError) as info:
        registry.build_backbone("stgnc")
    assert "'stgcn'" in str(info.value)
    assert isinstance(info.value, UnknownModelError) and isinstance(info.value, KeyError)
    assert info.value.exit_code == 5


def test_unknown_head_lists_known_heads() -> None:
    with pytest.raises(UnknownArchitectureError, match="ufusion"):
        registry.build_head("u-fusion", block_channels=[4], block_strides=[1], num_classes=2)


def test_bad_keyword_is_config_error() -> None:
    with pytest.raises(ConfigError, match="base_chanels"):
        registry.build_backbone("stgcn", base_chanels=8)


def test_register_custom_backbone_and_conflict() -> None:
    @registry.register_backbone("_test_identity_backbone")
    class Tiny(nn.Module):
        def __init__(self, width: int = 2) -> None:
            super().__init__()
            self.width = width

    assert isinstance(registry.build_backbone("_test_identity_backbone", width=3), Tiny)
    assert "_test_identity_backbone" in registry.list_architectures()

    with pytest.raises(ConfigError, match="already registered"):

        @registry.register_backbone("_test_identity_backbone")
        def other() -> nn.Module:  # pragma: no cover - never called
            return nn.Identity()

    registry._BACKBONES.pop("_test_identity_backbone")
