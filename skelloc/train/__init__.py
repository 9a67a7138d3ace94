"""Training: snippet-contrastive pretraining and localisation finetuning (extra ``[train]``).

::

    from skelloc.train import load_config, run_pretrain, run_finetune, evaluate_model

    cfg = load_config("pkummd-stgcn16", ["data.path=caches/pkummd15", "seed=1"])
    run_pretrain(cfg, "runs/pre")
    result = run_finetune(cfg, "runs/ft", init="runs/pre/pretrain.safetensors")
    metrics = evaluate_model(skelloc.load("runs/ft/best.safetensors"), cfg.data.path)

Imports are lazy, so ``import skelloc.train`` costs nothing until a function is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY: dict[str, tuple[str, str]] = {
    "TrainConfig": ("skelloc.train.config", "TrainConfig"),
    "DataConfig": ("skelloc.train.config", "DataConfig"),
    "ModelSection": ("skelloc.train.config", "ModelSection"),
    "PretrainConfig": ("skelloc.train.config", "PretrainConfig"),
    "FinetuneConfig": ("skelloc.train.config", "FinetuneConfig"),
    "EvalConfig": ("skelloc.train.config", "EvalConfig"),
    "AugmentConfig": ("skelloc.train.config", "AugmentConfig"),
    "load_config": ("skelloc.train.config", "load_config"),
    "apply_overrides": ("skelloc.train.config", "apply_overrides"),
    "list_recipes": ("skelloc.train.config", "list_recipes"),
    "run_pretrain": ("skelloc.train.pretrain", "run_pretrain"),
    "run_finetune": ("skelloc.train.finetune", "run_finetune"),
    "evaluate_model": ("skelloc.train.evaluate", "evaluate_model"),
    "export_trained": ("skelloc.train.export", "export_trained"),
    "extract_dataset_features": ("skelloc.train.features", "extract_dataset_features"),
    "SkeletonCache": ("skelloc.train.data", "SkeletonCache"),
    "ContrastiveModel": ("skelloc.train.contrastive", "ContrastiveModel"),
}

__all__ = sorted(_LAZY)

if TYPE_CHECKING:  # pragma: no cover
    from skelloc.train.config import (
        AugmentConfig,
        DataConfig,
        EvalConfig,
        FinetuneConfig,
        ModelSection,
        PretrainConfig,
        TrainConfig,
        apply_overrides,
        list_recipes,
        load_config,
    )
    from skelloc.train.contrastive import ContrastiveModel
    from skelloc.train.data import SkeletonCache
    from skelloc.train.evaluate import evaluate_model
    from skelloc.train.export import export_trained
    from skelloc.train.features import extract_dataset_features
    from skelloc.train.finetune import run_finetune
    from skelloc.train.pretrain import run_pretrain


def __getattr__(name: str) -> Any:
    try:
        module_name, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'skelloc.train' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module_name), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
