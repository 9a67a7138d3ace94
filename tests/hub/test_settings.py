"""Settings are read from the environment at call time, arguments first."""

from __future__ import annotations

from pathlib import Path

import pytest

from skelloc.errors import ConfigError
from skelloc.hub.settings import DEFAULT_ENDPOINT, resolve_settings


def test_endpoint_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SKELLOC_ENDPOINT")
    assert resolve_settings().endpoint == DEFAULT_ENDPOINT
    monkeypatch.setenv("HF_ENDPOINT", "http://hf.example/")
    assert resolve_settings().endpoint == "http://hf.example"
    monkeypatch.setenv("SKELLOC_ENDPOINT", "http://sk.example")
    assert resolve_settings().endpoint == "http://sk.example"
    assert resolve_settings(endpoint="http://arg.example").endpoint == "http://arg.example"


def test_cache_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    assert resolve_settings().cache_dir == tmp_path / "home" / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hfc"))
    assert resolve_settings().cache_dir == tmp_path / "hfc"
    monkeypatch.setenv("SKELLOC_CACHE", str(tmp_path / "skc"))
    assert resolve_settings().cache_dir == tmp_path / "skc"
    assert resolve_settings(cache_dir=tmp_path / "arg").cache_dir == tmp_path / "arg"
    for var in ("HF_HOME", "HF_HUB_CACHE", "SKELLOC_CACHE"):
        monkeypatch.delenv(var)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert resolve_settings().cache_dir == tmp_path / "xdg" / "huggingface" / "hub"


def test_offline_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_settings().offline is False
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert resolve_settings().offline is True
    monkeypatch.setenv("SKELLOC_OFFLINE", "0")
    assert resolve_settings().offline is False
    assert resolve_settings(offline=True).offline is True
    monkeypatch.setenv("SKELLOC_OFFLINE", "maybe")
    with pytest.raises(ConfigError, match="SKELLOC_OFFLINE"):
        resolve_settings()


def test_token_never_sent_to_a_mirror_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_settings(endpoint="http://mirror.example").token is False
    assert resolve_settings(endpoint=DEFAULT_ENDPOINT).token is None
    monkeypatch.setenv("SKELLOC_TOKEN", "tok")
    assert resolve_settings(endpoint="http://mirror.example").token == "tok"
