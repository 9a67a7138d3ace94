"""skelloc.models: backbones, frame heads, the Localizer, the factory and the weights file format.

Names are imported lazily (no import-time work)::

    from skelloc.models import create_model
    model = create_model("agcn", num_classes=4)       # AGCN + U-shaped fusion head
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY: dict[str, str] = {
    "create_model": "skelloc.models.factory",
    "create_from_config": "skelloc.models.factory",
    "Localizer": "skelloc.models.localizer",
    "InputSpec": "skelloc.model_config",
    "ModelConfig": "skelloc.model_config",
    "save_model": "skelloc.models.weights",
    "load_model": "skelloc.models.localizer",
    "register_backbone": "skelloc.models.registry",
    "register_head": "skelloc.models.registry",
    "build_backbone": "skelloc.models.registry",
    "build_head": "skelloc.models.registry",
    "list_architectures": "skelloc.models.registry",
    "list_heads": "skelloc.models.registry",
    "Backbone": "skelloc.models.base",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'skelloc.models' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
