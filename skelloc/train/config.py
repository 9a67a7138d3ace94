"""Typed training configuration: dataclasses loaded from TOML recipes, with ``key=value`` overrides.

A recipe is a TOML file whose tables mirror :class:`TrainConfig`::

    seed = 0
    [data]
    path = "caches/pkummd"
    fps = 15.0
    [model]
    architecture = "stgcn"
    model_args = { base_channels = 16 }
    [pretrain]
    method = "rvtclr"
    snippet = true

Shipped recipes (``skelloc/train/recipes/*.toml``) load by name: ``load_config("tiny")``.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import tomllib

from skelloc.errors import ConfigError

__all__ = [
    "AugmentConfig",
    "DataConfig",
    "ModelSection",
    "PretrainConfig",
    "FinetuneConfig",
    "EvalConfig",
    "TrainConfig",
    "load_config",
    "list_recipes",
    "apply_overrides",
    "config_to_dict",
    "config_from_dict",
]


@dataclass
class AugmentConfig:
    """View pipelines (names from :data:`skelloc.train.augment.AUGMENTATIONS`) and their settings."""

    query: list[str] = field(
        default_factory=lambda: ["temporal_crop", "shear", "noise", "blur", "axis_mask"])
    key: list[str] = field(default_factory=lambda: ["temporal_crop", "shear"])
    extreme: list[str] = field(default_factory=lambda: [
        "temporal_crop", "shear", "flip", "rotate", "noise", "blur", "axis_mask"])
    padding_ratio: int = 6
    shear_amplitude: float = 0.5
    flip_p: float = 0.5
    rotate_main_deg: float = 30.0
    rotate_other_deg: float = 1.0
    noise_p: float = 0.5
    noise_std: float = 0.01
    blur_p: float = 0.5
    blur_kernel: int = 15
    blur_sigma: tuple[float, float] = (0.1, 2.0)
    axis_mask_p: float = 0.5
    corruption_p: float = 0.5
    corruption_joints: float = 0.6
    crop_min_scale: float = 0.1
    crop_min_length: int = 1
    # 2D robustness (skelloc.train.augment2d; lengths in torso units)
    camera_p: float = 0.8
    camera_rotate_deg: float = 10.0
    camera_squash_x: tuple[float, float] = (0.7, 1.1)
    camera_squash_y: tuple[float, float] = (0.85, 1.1)
    camera_shear: float = 0.15
    scale_p: float = 0.5
    scale_range: tuple[float, float] = (0.8, 1.25)
    jitter_p: float = 1.0
    jitter_std: float = 0.03
    swap_p: float = 0.5
    swap_rate: float = 0.03
    drop_p: float = 0.8
    drop_rate: float = 0.08
    drop_burst: int = 4
    score_p: float = 0.5
    score_low: float = 0.3


@dataclass
class DataConfig:
    """Where the data is and how windows and labels are made from it."""

    path: str = ""
    fps: float | None = None  # model frame rate; None keeps the cache's
    source_fps: float | None = None  # input rate of arrays without one; None: 30 (warned)
    layout: str = "ntu25"
    normalization: str = "ntu"  # "ntu" | "person2d" | "none"
    confidence: bool | None = None  # the last channel is a score; None = the cache's flag
    max_persons: int = 2
    max_frames: int | None = None  # drop longer sequences (at the source rate)
    train_split: str = "train"
    val_split: str = "val"
    val_fraction: float = 0.15  # performance-grouped carve-out when the cache has no "val"
    val_seed: int = 0
    window: int = 150  # pretraining window (frames at `fps`)
    window_stride: int | None = None  # tiling stride (None = window)
    finetune_input: str = "whole"  # "whole" | "window"
    finetune_window: int = 300
    finetune_window_stride: int | None = None
    label_fraction: float = 1.0  # "semi" protocol
    label_seed: int = 4


@dataclass
class ModelSection:
    """The recipe's ``[model]`` section, in the vocabulary of
    :class:`skelloc.model_config.ModelConfig` (``architecture``, ``model_args``, ``head``,
    ``head_args``); the class count comes from the training cache."""

    architecture: str = "stgcn"
    head: str | None = "ufusion"
    model_args: dict[str, Any] = field(default_factory=dict)
    head_args: dict[str, Any] = field(default_factory=dict)
    # "softmax": one label per frame, cross-entropy; "sigmoid": multi-label (overlapping
    # segments all count), per-class binary cross-entropy and sigmoid probabilities
    output: str = "softmax"


@dataclass
class PretrainConfig:
    """Stage 1: MoCo base method plus the snippet-discrimination branch (docs/design/method.md#snippet-branch)."""

    method: str = "rvtclr"  # "skeletonclr" | "aimclr" | "rvtclr"
    global_loss: bool = True
    snippet: bool = True
    snippet_weight: float = 1.5
    snippet_bins: int = 19
    snippet_tap: int = -1  # backbone block whose features make the snippet grid
    normalize_match: bool = False
    intra_negatives: bool = False
    intra_margin: int = 2
    feature_dim: int = 128
    queue_size: int = 32768
    snippet_queue_size: int = 32768
    momentum: float = 0.999
    temperature: float = 0.07
    mining_epoch: int | None = None  # nearest-neighbour mining from this epoch
    global_topk: int = 1
    snippet_topk: int = 5
    tempo_margin: float = 1.0
    ddm_weight: float = 1.0
    tempo_weight: float = 1.0
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    epochs: int = 300
    batch_size: int = 128
    lr: float = 0.1
    sgd_momentum: float = 0.9
    weight_decay: float = 1e-4
    warmup_epochs: float = 0.0
    milestones: list[float] = field(default_factory=lambda: [250.0])
    gamma: float = 0.1


@dataclass
class FinetuneConfig:
    """Stage 2: per-frame classification (docs/design/method.md#protocols)."""

    protocol: str = "finetune"  # "finetune" | "linear" | "semi"
    epochs: int = 40
    batch_size: int = 8
    optimizer: str = "adam"  # "adam" | "sgd"
    lr: float = 1e-4
    weight_decay: float = 1e-4
    sgd_momentum: float = 0.9
    warmup_epochs: float = 10.0
    milestones: list[float] = field(default_factory=lambda: [30.0, 35.0])
    gamma: float = 0.1
    eval_every: int = 1
    # training-batch augmentations (frame-aligned only: labels stay valid), e.g. the 2D
    # robustness set ["camera_view", "mirror2d", "scale_drift", "keypoint_jitter",
    # "swap_left_right", "drop_keypoints", "score_noise"]; settings in augment_args
    augment: list[str] = field(default_factory=list)
    augment_args: AugmentConfig = field(default_factory=AugmentConfig)


@dataclass
class EvalConfig:
    decoder: str = "proposals"  # "proposals" | "argmax" (skelloc.inference.decode)
    tiou_thresholds: list[float] = field(default_factory=lambda: [0.1, 0.2, 0.3, 0.4, 0.5])
    protocol: str = "anet"
    decoder_args: dict[str, Any] = field(default_factory=dict)
    max_videos: int | None = None


@dataclass
class TrainConfig:
    name: str = "run"
    seed: int = 0
    device: str = "auto"  # "auto" | "cpu" | "cuda" | "cuda:1"
    amp: bool = True  # bf16 autocast on GPU only
    num_threads: int | None = None
    checkpoint_every: int = 200  # steps; 0 disables periodic checkpoints
    log_every: int = 10
    progress: bool = True
    max_steps: int | None = None  # stop early (tests, smoke runs)
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelSection = field(default_factory=ModelSection)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)


# --------------------------------------------------------------------------- conversion
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Check ``value`` against the annotation ``tp`` (with int -> float and list -> tuple)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(value, a, where)
            except ConfigError as err:
                errors.append(err)
        raise errors[0] if errors else ConfigError(f"{where}: invalid value {value!r}")
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table, got {value!r}")
        return config_from_dict(tp, value, where)  # type: ignore[arg-type]
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return [_coerce(v, args[0], f"{where}[{i}]") for i, v in enumerate(value)] if args else list(
            value)
    if origin is tuple:
        if not isinstance(value, (list, tuple)) or (args and len(value) != len(args)):
            raise ConfigError(f"{where}: expected a list of {len(args)} values, got {value!r}")
        return tuple(_coerce(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table, got {value!r}")
        return dict(value)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not (isinstance(value, int) or (
                isinstance(value, float) and value.is_integer())):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return int(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    return value


def _unknown_key(where: str, key: str, known: list[str]) -> ConfigError:
    close = difflib.get_close_matches(key, known, n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return ConfigError(f"unknown config key {where + key!r}{hint}")


def config_from_dict(cls: type, data: dict[str, Any], where: str = "") -> Any:
    """Build the dataclass ``cls`` from a (nested) dict, checking keys and types."""
    hints = _hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in data.items():
        if key not in hints:
            raise _unknown_key(f"{where}." if where else "", key, names)
        kwargs[key] = _coerce(value, hints[key], f"{where}.{key}" if where else key)
    return cls(**kwargs)


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """A JSON- and TOML-friendly nested dict of ``cfg``."""
    out = dataclasses.asdict(cfg)

    def fix(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: fix(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [fix(x) for x in v]
        return v

    return fix(out)


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        if text.lower() in ("none", "null"):
            return None
        return text


def apply_overrides(cfg: TrainConfig, overrides: list[str] | dict[str, Any]) -> TrainConfig:
    """Return a copy of ``cfg`` with dotted ``key=value`` overrides applied.

    Values are TOML literals (``3``, ``0.2``, ``true``, ``[1, 2]``, ``"text"``); anything else is
    taken as a plain string, and ``none``/``null`` set an optional field to ``None``.
    """
    data = config_to_dict(cfg)
    items = overrides.items() if isinstance(overrides, dict) else [
        _split_override(o) for o in overrides]
    for key, value in items:
        node = data
        parts = key.split(".")
        for i, part in enumerate(parts):
            if not isinstance(node, dict) or part not in node:
                known = list(node) if isinstance(node, dict) else []
                if isinstance(node, dict) and i == len(parts) - 1 and _is_free_dict(
                        cfg, parts[:-1]):
                    break
                raise _unknown_key(".".join(parts[:i]) + ("." if i else ""), part, known)
            if i < len(parts) - 1:
                node = node[part]
        node[parts[-1]] = value
    return config_from_dict(TrainConfig, data)


def _is_free_dict(cfg: Any, parts: list[str]) -> bool:
    """Whether the path names a ``dict[str, Any]`` field (model_args, head_args, ...)."""
    obj = cfg
    for p in parts:
        obj = getattr(obj, p, None)
    return isinstance(obj, dict)


def _split_override(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise ConfigError(f"override {text!r} is not of the form key=value")
    key, value = text.split("=", 1)
    key = key.strip()
    if not key:
        raise ConfigError(f"override {text!r} has an empty key")
    return key, _parse_value(value.strip())


# --------------------------------------------------------------------------- recipes
def list_recipes() -> list[str]:
    """Names of the shipped recipes."""
    root = resources.files("skelloc.train") / "recipes"
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".toml"))


def load_config(source: str | Path | dict[str, Any] | TrainConfig,
                overrides: list[str] | dict[str, Any] | None = None) -> TrainConfig:
    """Load a recipe by name, a TOML path or a dict, then apply ``overrides``."""
    if isinstance(source, TrainConfig):
        cfg = source
    elif isinstance(source, dict):
        cfg = config_from_dict(TrainConfig, source)
    else:
        path = Path(source)
        if path.suffix == ".toml" or path.exists():
            if not path.is_file():
                raise ConfigError(f"config file {str(path)!r} does not exist")
            text = path.read_text(encoding="utf-8")
        else:
            name = str(source)
            recipes = list_recipes()
            if name not in recipes:
                close = difflib.get_close_matches(name, recipes, n=3)
                raise ConfigError(
                    f"no recipe or file named {name!r}; recipes: {', '.join(recipes)}"
                    + (f" (did you mean {', '.join(close)}?)" if close else ""))
            text = (resources.files("skelloc.train") / "recipes" / f"{name}.toml").read_text(
                encoding="utf-8")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"invalid TOML in {source}: {err}") from None
        cfg = config_from_dict(TrainConfig, data)
    if overrides:
        cfg = apply_overrides(cfg, overrides)
    validate_config(cfg)
    return cfg


def validate_config(cfg: TrainConfig) -> None:
    """Raise :class:`ConfigError` for values no code path accepts."""
    checks = [
        (cfg.pretrain.method in ("skeletonclr", "aimclr", "rvtclr"),
         f"pretrain.method must be skeletonclr, aimclr or rvtclr, not {cfg.pretrain.method!r}"),
        (cfg.pretrain.global_loss or cfg.pretrain.snippet,
         "pretrain: at least one of global_loss and snippet must be on"),
        (cfg.finetune.protocol in ("finetune", "linear", "semi"),
         f"finetune.protocol must be finetune, linear or semi, not {cfg.finetune.protocol!r}"),
        (cfg.finetune.optimizer in ("adam", "sgd"), "finetune.optimizer must be adam or sgd"),
        (cfg.data.finetune_input in ("whole", "window"),
         "data.finetune_input must be whole or window"),
        (cfg.data.normalization in ("ntu", "person2d", "none"),
         "data.normalization must be ntu, person2d or none"),
        (0.0 < cfg.data.label_fraction <= 1.0, "data.label_fraction must be in (0, 1]"),
        (0.0 <= cfg.data.val_fraction < 1.0, "data.val_fraction must be in [0, 1)"),
        (cfg.data.window >= 2, "data.window must be at least 2"),
        (cfg.pretrain.snippet_bins >= 1, "pretrain.snippet_bins must be at least 1"),
        (cfg.pretrain.queue_size >= 1 and cfg.pretrain.snippet_queue_size >= 1,
         "queue sizes must be positive"),
        (cfg.pretrain.batch_size >= 1 and cfg.finetune.batch_size >= 1,
         "batch sizes must be positive"),
        (cfg.eval.decoder in ("proposals", "argmax"), "eval.decoder must be proposals or argmax"),
        (cfg.model.output in ("softmax", "sigmoid"), "model.output must be softmax or sigmoid"),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(message)
