"""Shared test fixtures.

Data from ``../shared/data/pkummd-v1`` (research-only, never copied into the repo) is found
through ``SKELLOC_PKUMMD`` or the sibling ``shared`` folder; tests that need it skip cleanly
when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]

torch.set_num_threads(1)


def _pkummd_root() -> Path | None:
    candidates = [os.environ.get("SKELLOC_PKUMMD"), REPO.parent / "shared" / "data" / "pkummd-v1"]
    for c in candidates:
        if c and (Path(c) / "videos.txt").is_file():
            return Path(c)
    return None


@pytest.fixture(scope="session")
def pkummd_root() -> Path:
    root = _pkummd_root()
    if root is None:
        pytest.skip("PKU-MMD data (../shared/data/pkummd-v1) is not available")
    return root


def _shared_dataset(name: str, marker: str) -> Path | None:
    root = REPO.parent / "shared" / "data" / name
    return root if (root / marker).exists() else None


@pytest.fixture(scope="session")
def utkinect_root() -> Path:
    root = _shared_dataset("utkinect-v1", "actionLabel.txt")
    if root is None:
        pytest.skip("UTKinect data (../shared/data/utkinect-v1) is not available")
    return root


@pytest.fixture(scope="session")
def babel_cmu_root() -> Path:
    root = _shared_dataset("babel-cmu-v1", "BT_action.json")
    if root is None:
        pytest.skip("BABEL-TAL CMU data (../shared/data/babel-cmu-v1) is not available")
    return root


@pytest.fixture(autouse=True)
def _isolate_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Never touch the real Hub, the user's cache or the user's token."""
    home = tmp_path_factory.mktemp("hf_home")
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "SKELLOC_MANIFEST", "SKELLOC_WEIGHTS_DIR",
                "SKELLOC_CACHE", "SKELLOC_OFFLINE", "SKELLOC_ENDPOINT", "HF_ENDPOINT",
                "HF_HUB_OFFLINE", "HF_HUB_CACHE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SKELLOC_ENDPOINT", "http://127.0.0.1:9")  # a closed port, never the Hub
