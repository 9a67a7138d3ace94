"""Hub settings resolved at call time (docs/design/hub.md#settings).

huggingface_hub reads ``HF_ENDPOINT``, ``HF_HOME``, ``HF_HUB_CACHE`` and ``HF_HUB_OFFLINE`` once, at
import; skelloc reads its own variables and the HF ones from :data:`os.environ` on **every** call
and passes the result to huggingface_hub explicitly (``endpoint=``, ``cache_dir=``,
``local_files_only=``, ``token=``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from skelloc.errors import ConfigError

__all__ = [
    "DEFAULT_ENDPOINT",
    "HubSettings",
    "resolve_settings",
    "resolve_endpoint",
    "resolve_cache_dir",
    "resolve_offline",
    "resolve_weights_dir",
    "parse_bool",
]

DEFAULT_ENDPOINT = "https://huggingface.co"

_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f", ""}


def parse_bool(value: str, *, name: str = "value") -> bool:
    """Parse an environment-variable boolean (``1/0``, ``true/false``, ``yes/no``, ``on/off``)."""
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise ConfigError(f"{name}={value!r} is not a boolean; use 1 or 0")


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else None


def resolve_endpoint(endpoint: str | None = None) -> str:
    """argument > ``SKELLOC_ENDPOINT`` > ``HF_ENDPOINT`` > ``https://huggingface.co``."""
    value = endpoint or _env("SKELLOC_ENDPOINT") or _env("HF_ENDPOINT") or DEFAULT_ENDPOINT
    return value.rstrip("/")


def resolve_cache_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """argument > ``SKELLOC_CACHE`` > ``HF_HUB_CACHE`` > ``HF_HOME/hub`` > XDG > ``~/.cache``."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    for var in ("SKELLOC_CACHE", "HF_HUB_CACHE"):
        value = _env(var)
        if value:
            return Path(value).expanduser()
    hf_home = _env("HF_HOME")
    if hf_home:
        return Path(hf_home).expanduser() / "hub"
    xdg = _env("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path("~/.cache").expanduser()
    return base / "huggingface" / "hub"


def resolve_offline(offline: bool | None = None) -> bool:
    """argument > ``SKELLOC_OFFLINE`` > ``HF_HUB_OFFLINE``."""
    if offline is not None:
        return bool(offline)
    for var in ("SKELLOC_OFFLINE", "HF_HUB_OFFLINE"):
        value = _env(var)
        if value is not None:
            return parse_bool(value, name=var)
    return False


def resolve_weights_dir(weights_dir: str | os.PathLike[str] | None = None) -> Path | None:
    """argument > ``SKELLOC_WEIGHTS_DIR`` (a pre-staged folder ``<dir>/<model>/<filename>``)."""
    if weights_dir is not None:
        return Path(weights_dir).expanduser()
    value = _env("SKELLOC_WEIGHTS_DIR")
    return Path(value).expanduser() if value else None


def resolve_token(token: str | bool | None, endpoint: str) -> str | bool | None:
    """The token passed to huggingface_hub.

    An explicit argument wins, then ``SKELLOC_TOKEN`` and ``HF_TOKEN``.  Otherwise the official
    Hub gets huggingface_hub's default lookup (needed for gated repos) while any other endpoint
    gets ``False``, so the user's stored token is never sent to a mirror.
    """
    if token is not None:
        return token
    value = _env("SKELLOC_TOKEN") or _env("HF_TOKEN")
    if value:
        return value
    return None if endpoint == DEFAULT_ENDPOINT else False


@dataclass(frozen=True)
class HubSettings:
    """Everything the resolver needs, frozen for one call."""

    endpoint: str
    cache_dir: Path
    offline: bool
    weights_dir: Path | None
    token: str | bool | None

    def describe(self) -> str:
        wd = str(self.weights_dir) if self.weights_dir else "not set"
        return (f"endpoint={self.endpoint} cache={self.cache_dir} offline={self.offline} "
                f"weights_dir={wd}")


def resolve_settings(
    *,
    endpoint: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    offline: bool | None = None,
    weights_dir: str | os.PathLike[str] | None = None,
    token: str | bool | None = None,
) -> HubSettings:
    """Resolve every hub setting from arguments and the environment, now."""
    ep = resolve_endpoint(endpoint)
    return HubSettings(
        endpoint=ep,
        cache_dir=resolve_cache_dir(cache_dir),
        offline=resolve_offline(offline),
        weights_dir=resolve_weights_dir(weights_dir),
        token=resolve_token(token, ep),
    )
