"""skelloc.models: backbones, frame heads, the Localizer, the factory and the weights file format.

Names are imported lazily (no import-time work)::

    from skelloc.models import create_model
    model = create_model("agcn", num_classes=4)       # AGCN + U-shaped fusion head
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from skelloc._lazy import lazy_exports

# public name -> "module" (the attribute of the same name) or "module:attribute"
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

__all__ = [
    "Backbone",
    "InputSpec",
    "Localizer",
    "ModelConfig",
    "build_backbone",
    "build_head",
    "create_from_config",
    "create_model",
    "list_architectures",
    "list_heads",
    "load_model",
    "register_backbone",
    "register_head",
    "save_model",
]


if TYPE_CHECKING:  # pragma: no cover
    from skelloc.model_config import InputSpec, ModelConfig
    from skelloc.models.base import Backbone
    from skelloc.models.factory import create_from_config, create_model
    from skelloc.models.localizer import Localizer, load_model
    from skelloc.models.registry import (
        build_backbone,
        build_head,
        list_architectures,
        list_heads,
        register_backbone,
        register_head,
    )
    from skelloc.models.weights import save_model

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
