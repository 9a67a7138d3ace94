"""skelloc: pretrained models for skeleton-based temporal action localisation.

The public API is small and imported lazily, so ``import skelloc`` is cheap and has no side
effects::

    import skelloc
    model = skelloc.load()                      # the bundled default model
    segments = skelloc.localize(joints)         # (T, V, C) or (T, M, V, C) array
    feats = skelloc.extract_features(joints)    # (T, D) frame-aligned features
    skelloc.export_features(inputs, "feats/")   # .npy files + annotations for ActionFormer
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from skelloc._lazy import lazy_exports
from skelloc._version import __version__

# public name -> "module" (the attribute of the same name) or "module:attribute"
_LAZY: dict[str, str] = {
    "load": "skelloc.hub",
    "list_models": "skelloc.hub",
    "list_pretrained": "skelloc.hub",
    "model_info": "skelloc.hub",
    "register_manifest": "skelloc.hub",
    "prefetch": "skelloc.hub",
    "create_model": "skelloc.models.factory",
    "list_architectures": "skelloc.models.registry",
    "Localizer": "skelloc.models.localizer",
    "InputSpec": "skelloc.model_config",
    "localize": "skelloc.api",
    "analyze": "skelloc.api",
    "Localization": "skelloc.inference.api",
    "extract_features": "skelloc.api",
    "predict_frames": "skelloc.api",
    "default_for": "skelloc.api",
    "output_threshold": "skelloc.inference.api",
    "input_kind": "skelloc.inference.validate",
    "export_features": "skelloc.features",
    "FeatureInput": "skelloc.features",
    "FeatureExport": "skelloc.features",
    "FailedInput": "skelloc.features",
    "Segment": "skelloc.inference.segments",
    "SkeletonSequence": "skelloc.skeleton.sequence",
    "read": "skelloc.io",
    "errors": "skelloc.errors:",
    "io": "skelloc.io:",
    "metrics": "skelloc.metrics:",
}

__all__ = [
    "FailedInput",
    "FeatureExport",
    "FeatureInput",
    "InputSpec",
    "Localization",
    "Localizer",
    "Segment",
    "SkeletonSequence",
    "__version__",
    "analyze",
    "create_model",
    "default_for",
    "errors",
    "export_features",
    "extract_features",
    "input_kind",
    "io",
    "list_architectures",
    "list_models",
    "list_pretrained",
    "load",
    "localize",
    "metrics",
    "model_info",
    "output_threshold",
    "predict_frames",
    "prefetch",
    "read",
    "register_manifest",
]

if TYPE_CHECKING:  # pragma: no cover
    from skelloc import errors, io, metrics
    from skelloc.api import analyze, default_for, extract_features, localize, predict_frames
    from skelloc.features import FailedInput, FeatureExport, FeatureInput, export_features
    from skelloc.hub.api import (
        list_models,
        list_pretrained,
        load,
        model_info,
        prefetch,
        register_manifest,
    )
    from skelloc.inference.api import Localization, output_threshold
    from skelloc.inference.segments import Segment
    from skelloc.inference.validate import input_kind
    from skelloc.io import read
    from skelloc.model_config import InputSpec
    from skelloc.models.factory import create_model
    from skelloc.models.localizer import Localizer
    from skelloc.models.registry import list_architectures
    from skelloc.skeleton.sequence import SkeletonSequence


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
