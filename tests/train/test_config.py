"""Recipes, TOML loading and ``key=value`` overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from skelloc.errors import ConfigError
from skelloc.train.common import head_arguments
from skelloc.train.config import TrainConfig, list_recipes, load_config


def test_shipped_recipes_load() -> None:
    names = list_recipes()
    assert {"tiny", "pkummd-stgcn16", "paper-babel-agcn"} <= set(names)
    for name in names:
        cfg = load_config(name)
        assert isinstance(cfg, TrainConfig) and cfg.name == name


def test_paper_recipe_has_the_paper_hyperparameters() -> None:
    cfg = load_config("paper-babel-agcn")
    p, f = cfg.pretrain, cfg.finetune
    assert (p.queue_size, p.snippet_queue_size, p.momentum, p.temperature) == (32768, 32768,
                                                                              0.999, 0.07)
    assert (p.snippet_bins, p.snippet_weight, p.feature_dim, p.batch_size) == (19, 1.5, 128, 128)
    assert (p.epochs, p.milestones, p.lr, p.mining_epoch, p.snippet_topk) == (600, [550.0], 0.1,
                                                                               200, 5)
    assert (f.epochs, f.milestones, f.lr, f.batch_size, f.warmup_epochs) == (40, [30.0, 35.0],
                                                                              1e-4, 8, 10.0)
    assert cfg.model.architecture == "agcn" and cfg.model.head == "ufusion"


def test_overrides_are_typed() -> None:
    cfg = load_config("tiny", ["seed=1", "data.label_fraction=0.2", "model.head=simple",
                               "pretrain.milestones=[3, 4]", "data.fps=none",
                               'data.path="/some where"', "model.model_args.base_channels=8"])
    assert cfg.seed == 1 and cfg.data.label_fraction == 0.2 and cfg.model.head == "simple"
    assert cfg.pretrain.milestones == [3.0, 4.0] and cfg.data.fps is None
    assert cfg.data.path == "/some where" and cfg.model.model_args["base_channels"] == 8
    assert head_arguments(cfg) == {}  # per-head table: the simple head takes none
    assert head_arguments(load_config("tiny")) == {"fusion_dim": 16}


@pytest.mark.parametrize("override, message", [
    ("sed=1", "did you mean seed"),
    ("pretrain.snipet=true", "did you mean snippet"),
    ("seed=abc", "expected an integer"),
    ("pretrain.snippet=1", "expected true or false"),
    ("pretrain.method=simclr", "pretrain.method"),
    ("data.label_fraction=0", "label_fraction"),
    ("seed", "key=value"),
])
def test_bad_overrides(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config("tiny", [override])


def test_toml_file_and_unknown_recipe(tmp_path: Path) -> None:
    f = tmp_path / "mine.toml"
    f.write_text('name = "mine"\n[pretrain]\nsnippet = false\n', encoding="utf-8")
    cfg = load_config(f)
    assert cfg.name == "mine" and cfg.pretrain.snippet is False and cfg.pretrain.global_loss
    with pytest.raises(ConfigError, match="did you mean tiny"):
        load_config("tinny")
    f.write_text("[pretrain\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(f)
    with pytest.raises(ConfigError, match="at least one"):
        load_config("tiny", ["pretrain.snippet=false", "pretrain.global_loss=false"])


def test_cache_index_is_checked_by_the_writer_s_rule(tmp_path) -> None:
    """One check of a cache's dataset.json (format and version), shared with skelloc.io.prepare."""
    import json

    from skelloc.errors import SkeletonFormatError
    from skelloc.train.data import SkeletonCache

    for meta in ({"format": "other", "version": 1}, {"format": "skelloc-cache", "version": 99}):
        (tmp_path / "dataset.json").write_text(json.dumps(meta))
        with pytest.raises(SkeletonFormatError):
            SkeletonCache(tmp_path)
