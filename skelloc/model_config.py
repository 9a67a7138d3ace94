"""The model's configuration types: what a model expects as input and how to rebuild it.

This module imports nothing from skelloc but :mod:`skelloc.errors` (and neither torch nor
numpy), so every layer can use these types: the inference code checks inputs against an
:class:`InputSpec`, the weights files and the hub manifest carry a :class:`ModelConfig`, the
training recipes write one. See docs/ARCHITECTURE.md for the layers.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from skelloc.errors import ConfigError

__all__ = ["INFERENCE_KEYS", "OUTPUTS", "InputSpec", "ModelConfig", "default_labels"]


def default_labels(num_classes: int) -> list[str]:
    """Placeholder class names ``class_0 .. class_{K-1}``."""
    return [f"class_{i}" for i in range(int(num_classes))]


def _from_mapping(cls: type, data: Mapping[str, Any], what: str) -> Any:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{what} must be a mapping, got {type(data).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"unknown {what} field(s) {unknown}; known: {sorted(names)}")
    return cls(**dict(data))


#: per-model inference defaults a :class:`ModelConfig` may carry (see ``skelloc.inference``)
INFERENCE_KEYS = ("decoder", "window", "window_overlap", "window_weighting", "min_score",
                  "boundary_shift")
#: how frame logits become probabilities: one softmax over K+1 classes (one label per frame), or
#: an independent sigmoid per class (multi-label: overlapping actions can all be found)
OUTPUTS = ("softmax", "sigmoid")


@dataclass(frozen=True)
class InputSpec:
    """What the model expects as input (checked by :mod:`skelloc.inference`)."""

    layout: str = "ntu25"
    num_joints: int = 25
    channels: int = 3
    fps: float = 30.0
    normalization: str = "ntu"
    max_persons: int = 2
    #: the last of ``channels`` is a keypoint score (2D models: x, y, score)
    confidence: bool = False

    def __post_init__(self) -> None:
        if self.num_joints < 1 or self.channels < 1 or self.max_persons < 1 or not self.fps > 0:
            raise ConfigError(f"invalid input spec {self}")
        if self.confidence and self.channels < 2:
            raise ConfigError(f"invalid input spec {self}: a score channel needs a coordinate")

    @property
    def coordinates(self) -> int:
        """Coordinate channels (2 for a 2D model, 3 for a 3D one)."""
        return self.channels - (1 if self.confidence else 0)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InputSpec:
        return _from_mapping(cls, data, "input spec")  # type: ignore[no-any-return,unused-ignore]


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a model: ``create_model(architecture, ...)`` arguments.

    Also readable like a mapping (``config["architecture"]``), matching its JSON form.
    ``inference`` holds the model's own inference defaults (keys in :data:`INFERENCE_KEYS`:
    ``decoder`` — a name or ``{"name": ..., **args}`` —, ``window``, ``window_overlap``,
    ``window_weighting``, ``min_score`` — the output threshold :func:`skelloc.localize`
    applies — and ``boundary_shift`` — ``[start, end]`` seconds added to every decoded
    segment's bounds, the boundary calibration); :meth:`get` looks them up too, so
    ``config.get("decoder")`` works.
    """

    architecture: str
    model_args: dict[str, Any] = field(default_factory=dict)
    head: str | None = "ufusion"
    head_args: dict[str, Any] = field(default_factory=dict)
    num_classes: int = 0
    inference: dict[str, Any] = field(default_factory=dict)
    output: str = "softmax"

    def __post_init__(self) -> None:
        if self.output not in OUTPUTS:
            raise ConfigError(f"output must be one of {list(OUTPUTS)}, got {self.output!r}")
        unknown = sorted(set(self.inference or {}) - set(INFERENCE_KEYS))
        if unknown:
            raise ConfigError(f"unknown inference setting(s) {unknown}; known: "
                              f"{list(INFERENCE_KEYS)}")

    def to_dict(self) -> dict[str, Any]:
        out = {
            "architecture": self.architecture,
            "model_args": dict(self.model_args),
            "head": self.head,
            "head_args": dict(self.head_args),
            "num_classes": self.num_classes,
        }
        if self.inference:
            out["inference"] = dict(self.inference)
        if self.output != "softmax":  # single-label files stay byte-identical
            out["output"] = self.output
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelConfig:
        cfg = _from_mapping(cls, data, "model config")
        return dataclasses.replace(
            cfg,
            model_args=dict(cfg.model_args or {}),
            head_args=dict(cfg.head_args or {}),
            num_classes=int(cfg.num_classes),
            inference=dict(cfg.inference or {}),
        )

    def __getitem__(self, key: str) -> Any:
        if key not in {f.name for f in dataclasses.fields(self)}:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        if key in INFERENCE_KEYS:
            value = (self.inference or {}).get(key)
            return default if value is None else value
        try:
            return self[key]
        except KeyError:
            return default

    def keys(self) -> Iterator[str]:
        return iter(f.name for f in dataclasses.fields(self))
