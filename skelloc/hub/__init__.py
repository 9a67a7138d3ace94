"""skelloc.hub: the model hub's public surface (the CLI and users import from here).

Loading and listing (:func:`load`, :func:`list_models`, :func:`model_info`, ...), the manifest
registry, staging and export for air-gapped machines and the Hub, the local cache, checkpoint
conversion and the README's model table. Names are imported lazily. The modules behind them
(``api``, ``manifest``, ``resolve``, ``download``, ``verify``, ``build``, ...) are internal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from skelloc._lazy import lazy_exports

# public name -> "module" (the attribute of the same name) or "module:attribute"
_LAZY: dict[str, str] = {
    "load": "skelloc.hub.api",
    "list_models": "skelloc.hub.api",
    "list_pretrained": "skelloc.hub.api",
    "model_info": "skelloc.hub.api",
    "register_manifest": "skelloc.hub.api",
    "prefetch": "skelloc.hub.api",
    "resolve_weights": "skelloc.hub.api",
    "default_model_name": "skelloc.hub.api",
    "parse_identifier": "skelloc.hub.api",
    "ModelInfo": "skelloc.hub.api",
    "FileStatus": "skelloc.hub.api",
    "registry": "skelloc.hub.manifest",
    "read_manifest": "skelloc.hub.manifest",
    "ModelEntry": "skelloc.hub.manifest",
    "stage_models": "skelloc.hub.export",
    "export_model": "skelloc.hub.export",
    "export_registered": "skelloc.hub.export",
    "cache_path": "skelloc.hub.cache",
    "clear_cache": "skelloc.hub.cache",
    "verify_models": "skelloc.hub.cache",
    "convert_checkpoint": "skelloc.hub.convert",
    "convert_state_dict": "skelloc.hub.convert",
    "models_table": "skelloc.hub.readme",
    "update_readme": "skelloc.hub.readme",
}

__all__ = [
    "FileStatus",
    "ModelEntry",
    "ModelInfo",
    "cache_path",
    "clear_cache",
    "convert_checkpoint",
    "convert_state_dict",
    "default_model_name",
    "export_model",
    "export_registered",
    "list_models",
    "list_pretrained",
    "load",
    "model_info",
    "models_table",
    "parse_identifier",
    "prefetch",
    "read_manifest",
    "register_manifest",
    "registry",
    "resolve_weights",
    "stage_models",
    "update_readme",
    "verify_models",
]

if TYPE_CHECKING:  # pragma: no cover
    from skelloc.hub.api import (
        FileStatus,
        ModelInfo,
        default_model_name,
        list_models,
        list_pretrained,
        load,
        model_info,
        parse_identifier,
        prefetch,
        register_manifest,
        resolve_weights,
    )
    from skelloc.hub.cache import cache_path, clear_cache, verify_models
    from skelloc.hub.convert import convert_checkpoint, convert_state_dict
    from skelloc.hub.export import export_model, export_registered, stage_models
    from skelloc.hub.manifest import ModelEntry, read_manifest, registry
    from skelloc.hub.readme import models_table, update_readme

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
