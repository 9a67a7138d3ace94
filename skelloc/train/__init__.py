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

from typing import TYPE_CHECKING

from skelloc._lazy import lazy_exports

# public name -> "module" (the attribute of the same name) or "module:attribute"
_LAZY: dict[str, str] = {
    "TrainConfig": "skelloc.train.config",
    "DataConfig": "skelloc.train.config",
    "ModelSection": "skelloc.train.config",
    "PretrainConfig": "skelloc.train.config",
    "FinetuneConfig": "skelloc.train.config",
    "EvalConfig": "skelloc.train.config",
    "AugmentConfig": "skelloc.train.config",
    "load_config": "skelloc.train.config",
    "apply_overrides": "skelloc.train.config",
    "list_recipes": "skelloc.train.config",
    "run_pretrain": "skelloc.train.pretrain",
    "run_finetune": "skelloc.train.finetune",
    "evaluate_model": "skelloc.train.evaluate",
    "json_ready": "skelloc.train.evaluate",
    "export_trained": "skelloc.train.export",
    "extract_dataset_features": "skelloc.train.features",
    "SkeletonCache": "skelloc.train.data",
    "ContrastiveModel": "skelloc.train.contrastive",
}

__all__ = [
    "AugmentConfig",
    "ContrastiveModel",
    "DataConfig",
    "EvalConfig",
    "FinetuneConfig",
    "ModelSection",
    "PretrainConfig",
    "SkeletonCache",
    "TrainConfig",
    "apply_overrides",
    "evaluate_model",
    "export_trained",
    "extract_dataset_features",
    "json_ready",
    "list_recipes",
    "load_config",
    "run_finetune",
    "run_pretrain",
]

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
    from skelloc.train.evaluate import evaluate_model, json_ready
    from skelloc.train.export import export_trained
    from skelloc.train.features import extract_dataset_features
    from skelloc.train.finetune import run_finetune
    from skelloc.train.pretrain import run_pretrain


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
