"""The :class:`Localizer`: an encoder, an optional frame head, the labels and the input spec.

``forward(x)`` maps ``(N, C, T, V, M)`` to frame logits ``(N, K + 1, T)`` with the background
class last (index ``K``). ``forward_features`` gives frame-aligned features. The user-facing
helpers (``predict_frames``, ``localize``, ``extract_features``) live in
:mod:`skelloc.inference.api` and are only forwarded from here.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from typing import Any

from torch import Tensor, nn

from skelloc.errors import ConfigError
from skelloc.models.base import interpolate_linear, pool_joints_persons

__all__ = ["InputSpec", "ModelConfig", "Localizer"]


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

    def __post_init__(self) -> None:
        if self.num_joints < 1 or self.channels < 1 or self.max_persons < 1 or not self.fps > 0:
            raise ConfigError(f"invalid input spec {self}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InputSpec:
        return _from_mapping(cls, data, "input spec")  # type: ignore[no-any-return]


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


class Localizer(nn.Module):
    """Encoder + frame head (or encoder only, ``head=None``).

    Args:
        encoder: a backbone (see :class:`skelloc.models.base.Backbone`).
        head: a frame head, or ``None`` for a feature-only model.
        labels: the K class names; the background is implicit (index K).
        input_spec: expected input; default derived from the encoder.
        config: the :class:`ModelConfig` used to rebuild the model (needed by :meth:`save`).
    """

    def __init__(
        self,
        encoder: nn.Module,
        head: nn.Module | None,
        labels: Sequence[str],
        input_spec: InputSpec | Mapping[str, Any] | None = None,
        config: ModelConfig | Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head
        self.labels: list[str] = [str(x) for x in labels]
        if head is not None and getattr(head, "num_classes", len(self.labels)) != len(self.labels):
            raise ConfigError(
                f"the head has {head.num_classes} classes but {len(self.labels)} labels were given"
            )
        if input_spec is None:
            input_spec = InputSpec(
                layout=str(getattr(encoder, "layout", "ntu25")),
                num_joints=int(encoder.num_joints),
                channels=int(encoder.in_channels),
                max_persons=int(getattr(encoder, "num_person", 2)),
            )
        elif not isinstance(input_spec, InputSpec):
            input_spec = InputSpec.from_dict(input_spec)
        V, C = int(encoder.num_joints), int(encoder.in_channels)
        if input_spec.num_joints != V or input_spec.channels != C:
            raise ConfigError(
                f"input spec ({input_spec.num_joints} joints, {input_spec.channels} channels) "
                f"does not match the encoder ({V} joints, {C} channels)"
            )
        self.input_spec: InputSpec = input_spec
        if config is not None and not isinstance(config, ModelConfig):
            config = ModelConfig.from_dict(config)
        self.config: ModelConfig | None = config

    # ------------------------------------------------------------------ properties
    @property
    def num_classes(self) -> int:
        """K, the number of action classes (background excluded)."""
        return len(self.labels)

    @property
    def background_index(self) -> int:
        return len(self.labels)

    @property
    def output(self) -> str:
        """``"softmax"`` (one label per frame) or ``"sigmoid"`` (multi-label), see
        :data:`OUTPUTS`."""
        return self.config.output if self.config is not None else "softmax"

    @property
    def multilabel(self) -> bool:
        return self.output == "sigmoid"

    @property
    def architecture(self) -> str | None:
        return self.config.architecture if self.config is not None else None

    @property
    def total_stride(self) -> int:
        return int(self.encoder.total_stride)

    @property
    def feature_dim(self) -> int:
        """D of ``forward_features(level="fused")``, or of the encoder level without a head."""
        if self.head is None:
            return int(self.encoder.out_channels)
        return int(self.head.feature_dim)

    @property
    def encoder_dim(self) -> int:
        """D of ``forward_features(level="encoder")``."""
        return int(self.encoder.out_channels)

    # ------------------------------------------------------------------ forward
    def forward(self, x: Tensor) -> Tensor:
        """Frame logits ``(N, K + 1, T)`` for input ``(N, C, T, V, M)``, background last."""
        if self.head is None:
            raise ConfigError(
                "this model has no head (encoder only); use forward_features(x, level='encoder')"
            )
        feats = self.encoder(x)
        return self.head(feats, x.shape[2])

    def forward_features(self, x: Tensor, level: str = "fused", native: bool = False) -> Tensor:
        """Frame-aligned features ``(N, D, T)``.

        ``level="fused"``: the head's per-frame features (the U-head's 512-d map).
        ``level="encoder"``: the last block averaged over joints and persons, linearly
        interpolated (``align_corners=True``) to T, or at its native stride
        (``(N, D, ceil(T / total_stride))``) with ``native=True``.
        """
        if level not in ("fused", "encoder"):
            raise ConfigError(f"level must be 'fused' or 'encoder', got {level!r}")
        T = x.shape[2]
        if level == "fused":
            if self.head is None:
                raise ConfigError("this model has no head; use level='encoder'")
            if native:
                raise ConfigError("native=True applies to level='encoder' only")
            return self.head.forward_features(self.encoder(x), T)
        pooled = pool_joints_persons(self.encoder(x)[-1])
        return pooled if native else interpolate_linear(pooled, T)

    def set_inference_defaults(self, **settings: Any) -> None:
        """Store inference defaults in the config (saved with the weights), e.g.
        ``model.set_inference_defaults(decoder={"name": "argmax", "smoothing": 5}, window=512)``;
        a value of ``None`` removes a setting."""
        if self.config is None:
            raise ConfigError("this model has no config to store inference defaults in")
        merged = {**self.config.inference, **settings}
        merged = {k: v for k, v in merged.items() if v is not None}
        self.config = dataclasses.replace(self.config, inference=merged)

    # ------------------------------------------------------------------ head management
    def reset_head(
        self,
        num_classes: int | None = None,
        labels: Sequence[str] | None = None,
        head: str | None = None,
        head_args: Mapping[str, Any] | None = None,
    ) -> None:
        """Replace the head with a freshly initialised one (e.g. a new class count)."""
        from skelloc.models.factory import default_labels
        from skelloc.models.registry import build_head

        if self.config is None:
            raise ConfigError("reset_head needs the model config")
        name = head if head is not None else self.config.head
        if name is None:
            raise ConfigError("no head name given and the model has none")
        args = dict(head_args) if head_args is not None else (
            dict(self.config.head_args) if name == self.config.head else {}
        )
        if labels is not None:
            new_labels = [str(x) for x in labels]
            if num_classes is not None and num_classes != len(new_labels):
                raise ConfigError(f"num_classes={num_classes} but {len(new_labels)} labels")
        else:
            k = num_classes if num_classes is not None else self.num_classes
            new_labels = self.labels if k == self.num_classes else default_labels(k)
        device = next(self.encoder.parameters()).device
        self.head = build_head(
            name,
            block_channels=self.encoder.block_channels,
            block_strides=self.encoder.block_strides,
            num_classes=len(new_labels),
            **args,
        ).to(device)
        self.labels = new_labels
        self.config = dataclasses.replace(
            self.config, head=name, head_args=args, num_classes=len(new_labels)
        )

    # ------------------------------------------------------------------ delegation
    def predict_frames(self, seq: Any, **kwargs: Any) -> Any:
        """See :func:`skelloc.inference.api.predict_frames`."""
        from skelloc.inference import api

        return api.predict_frames(seq=seq, model=self, **kwargs)

    def localize(self, seq: Any, **kwargs: Any) -> Any:
        """See :func:`skelloc.inference.api.localize`."""
        from skelloc.inference import api

        return api.localize(seq=seq, model=self, **kwargs)

    def extract_features(self, seq: Any, **kwargs: Any) -> Any:
        """See :func:`skelloc.inference.api.extract_features`."""
        from skelloc.inference import api

        return api.extract_features(seq=seq, model=self, **kwargs)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | PathLike[str]) -> Any:
        """Save as safetensors (see :func:`skelloc.models.serialization.save_model`)."""
        from skelloc.models.serialization import save_model

        return save_model(self, path)

    @classmethod
    def load(cls, path: str | PathLike[str], **kwargs: Any) -> Localizer:
        """Load a model saved by :meth:`save`.

        See :func:`skelloc.models.serialization.load_model` for the keyword arguments.
        """
        from skelloc.models.serialization import load_model

        return load_model(path, **kwargs)

    def extra_repr(self) -> str:
        arch = self.architecture or type(self.encoder).__name__
        head = self.config.head if self.config is not None else type(self.head).__name__
        return f"architecture={arch!r}, head={head!r}, num_classes={self.num_classes}"
