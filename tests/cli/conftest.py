"""Fixtures shared by the CLI tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from skelloc.models.factory import create_model


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny two-class ST-GCN + U-head saved as one safetensors file."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("model") / "weights.safetensors"
    create_model("stgcn", num_classes=2, labels=["wave", "kick"], base_channels=4,
                 head_args={"fusion_dim": 8}).save(path)
    return path
