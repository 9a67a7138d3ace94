"""Decorator registries for backbones and heads.

Builders register themselves with a short name::

    @register_backbone("stgcn")
    class STGCN(nn.Module): ...

    encoder = build_backbone("stgcn", base_channels=16)

The built-in architectures live in sibling modules that are imported the first time a registry
is queried, so importing this module has no side effects. An unknown name raises
:class:`~skelloc.errors.UnknownArchitectureError` with close matches (``difflib``); bad keyword
arguments raise :class:`~skelloc.errors.ConfigError`.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from torch import nn

from skelloc.errors import ConfigError, UnknownArchitectureError

if TYPE_CHECKING:  # pragma: no cover
    from skelloc.models.base import BackboneModule, HeadModule

__all__ = [
    "register_backbone",
    "register_head",
    "register_architecture",
    "build_backbone",
    "build_head",
    "get_backbone_class",
    "get_head_class",
    "list_architectures",
    "list_heads",
]

logger = logging.getLogger(__name__)

T = TypeVar("T", bound=Callable[..., nn.Module])

_BACKBONES: dict[str, Callable[..., nn.Module]] = {}
_HEADS: dict[str, Callable[..., nn.Module]] = {}

# the built-in builders, imported on first lookup ("module:attribute"); their modules do not
# import this one, so the registry and the architectures form no import cycle
_BUILTIN_BACKBONES = {
    "stgcn": "skelloc.models.stgcn:STGCN",
    "agcn": "skelloc.models.agcn:AGCN",
    "unik": "skelloc.models.unik:UNIK",
}
_BUILTIN_HEADS = {
    "ufusion": "skelloc.models.ufusion:UFusionHead",
    "simple": "skelloc.models.simple:SimpleHead",
    "tconv": "skelloc.models.tconv:TConvHead",
}
_builtins_loaded = False


def _load_builtins() -> None:
    global _builtins_loaded
    if _builtins_loaded:
        return
    _builtins_loaded = True
    for table, builtins in ((_BACKBONES, _BUILTIN_BACKBONES), (_HEADS, _BUILTIN_HEADS)):
        for name, target in builtins.items():
            module, _, attr = target.partition(":")
            table.setdefault(name, getattr(importlib.import_module(module), attr))


def _register(table: dict[str, Callable[..., nn.Module]], kind: str, name: str) -> Callable[[T], T]:
    if not name or not isinstance(name, str):
        raise ConfigError(f"{kind} name must be a non-empty string, got {name!r}")

    def decorator(builder: T) -> T:
        existing = table.get(name)
        if existing is not None and existing is not builder:
            if getattr(existing, "__qualname__", None) == getattr(builder, "__qualname__", None):
                logger.debug("re-registering %s %r (module reload)", kind, name)
            else:
                raise ConfigError(f"{kind} {name!r} is already registered to {existing!r}")
        table[name] = builder
        return builder

    return decorator


def register_backbone(name: str) -> Callable[[T], T]:
    """Register a backbone class (or factory function) under ``name``."""
    return _register(_BACKBONES, "backbone", name)


register_architecture = register_backbone  # the hub's name for it


def register_head(name: str) -> Callable[[T], T]:
    """Register a head class (or factory function) under ``name``."""
    return _register(_HEADS, "head", name)


def _lookup(
    table: dict[str, Callable[..., nn.Module]], kind: str, name: str
) -> Callable[..., nn.Module]:
    _load_builtins()
    try:
        return table[name]
    except (KeyError, TypeError):
        pass
    known = sorted(table)
    close = difflib.get_close_matches(str(name), known, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise UnknownArchitectureError(
        f"unknown {kind} {name!r}.{hint} Known {kind}s: {', '.join(known) or '(none)'}."
    )


def get_backbone_class(name: str) -> Callable[..., nn.Module]:
    """The builder registered for backbone ``name``."""
    return _lookup(_BACKBONES, "architecture", name)


def get_head_class(name: str) -> Callable[..., nn.Module]:
    """The builder registered for head ``name``."""
    return _lookup(_HEADS, "head", name)


def _call(
    builder: Callable[..., nn.Module], kind: str, name: str, kwargs: dict[str, Any]
) -> nn.Module:
    try:
        inspect.signature(builder).bind(**kwargs)
    except TypeError as exc:  # unexpected / missing keyword arguments
        raise ConfigError(f"invalid arguments for {kind} {name!r}: {exc}") from exc
    return builder(**kwargs)


def build_backbone(name: str, **kwargs: Any) -> BackboneModule:
    """Instantiate the backbone registered as ``name`` with ``kwargs``."""
    return cast("BackboneModule", _call(get_backbone_class(name), "architecture", name, kwargs))


def build_head(name: str, **kwargs: Any) -> HeadModule:
    """Instantiate the head registered as ``name`` with ``kwargs``."""
    return cast("HeadModule", _call(get_head_class(name), "head", name, kwargs))


def list_architectures() -> list[str]:
    """Sorted names of every registered backbone."""
    _load_builtins()
    return sorted(_BACKBONES)


def list_heads() -> list[str]:
    """Sorted names of every registered head."""
    _load_builtins()
    return sorted(_HEADS)
