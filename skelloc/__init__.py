"""skelloc: pretrained models for skeleton-based temporal action localisation.

The public API is small and imported lazily, so ``import skelloc`` is cheap and has no side
effects::

    import skelloc
    model = skelloc.load()                      # the bundled default model
    segments = skelloc.localize(joints)         # (T, V, C) or (T, M, V, C) array
    feats = skelloc.extract_features(joints)    # (T, D) frame-aligned features
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from skelloc._version import __version__

# public name -> (module, attribute)
_LAZY: dict[str, tuple[str, str]] = {
    "load": ("skelloc.hub.api", "load"),
    "list_models": ("skelloc.hub.api", "list_models"),
    "list_pretrained": ("skelloc.hub.api", "list_pretrained"),
    "model_info": ("skelloc.hub.api", "model_info"),
    "register_manifest": ("skelloc.hub.api", "register_manifest"),
    "prefetch": ("skelloc.hub.api", "prefetch"),
    "create_model": ("skelloc.models.factory", "create_model"),
    "list_architectures": ("skelloc.models.registry", "list_architectures"),
    "Localizer": ("skelloc.models.localizer", "Localizer"),
    "InputSpec": ("skelloc.model_config", "InputSpec"),
    "localize": ("skelloc.api", "localize"),
    "analyze": ("skelloc.api", "analyze"),
    "Localization": ("skelloc.inference.api", "Localization"),
    "extract_features": ("skelloc.api", "extract_features"),
    "predict_frames": ("skelloc.api", "predict_frames"),
    "Segment": ("skelloc.inference.segments", "Segment"),
    "SkeletonSequence": ("skelloc.skeleton.sequence", "SkeletonSequence"),
    "read": ("skelloc.io", "read"),
    "errors": ("skelloc.errors", ""),
    "io": ("skelloc.io", ""),
    "metrics": ("skelloc.metrics", ""),
}

__all__ = sorted([*_LAZY, "__version__"])

if TYPE_CHECKING:  # pragma: no cover
    from skelloc import errors, io, metrics
    from skelloc.hub.api import (
        list_models,
        list_pretrained,
        load,
        model_info,
        prefetch,
        register_manifest,
    )
    from skelloc.api import analyze, extract_features, localize, predict_frames
    from skelloc.inference.api import Localization
    from skelloc.inference.segments import Segment
    from skelloc.io import read
    from skelloc.models.factory import create_model
    from skelloc.model_config import InputSpec
    from skelloc.models.localizer import Localizer
    from skelloc.models.registry import list_architectures
    from skelloc.skeleton.sequence import SkeletonSequence


def __getattr__(name: str) -> Any:
    try:
        module_name, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'skelloc' has no attribute {name!r}") from None
    module = importlib.import_module(module_name)
    value = module if not attr else getattr(module, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
