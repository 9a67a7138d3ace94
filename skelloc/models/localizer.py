"""The :class:`Localizer`: an encoder, an optional frame head, the labels and the input spec.

``forward(x)`` maps ``(N, C, T, V, M)`` to frame logits ``(N, K + 1, T)`` with the background
class last (index ``K``). ``forward_features`` gives frame-aligned features. The user-facing
helpers (``predict_frames``, ``localize``, ``extract_features``) live in
:mod:`skelloc.inference.api` (a lower layer) and are only forwarded from here.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Any, cast

import torch
from torch import Tensor, nn

from skelloc.errors import ConfigError
from skelloc.model_config import INFERENCE_KEYS, OUTPUTS, InputSpec, ModelConfig, default_labels
from skelloc.models.base import (
    BackboneModule,
    HeadModule,
    interpolate_linear,
    pool_joints_persons,
)
from skelloc.models.loading import build_from_source, source_from_files, source_from_path
from skelloc.models.weights import save_model

__all__ = ["INFERENCE_KEYS", "OUTPUTS", "InputSpec", "Localizer", "ModelConfig", "load_model",
           "model_from_files"]

logger = logging.getLogger(__name__)


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
        self.encoder: BackboneModule = cast(BackboneModule, encoder)
        self.head: HeadModule | None = cast("HeadModule | None", head)
        self.labels: list[str] = [str(x) for x in labels]
        if head is not None and getattr(head, "num_classes", len(self.labels)) != len(self.labels):
            raise ConfigError(
                f"the head has {head.num_classes} classes but {len(self.labels)} labels were given"
            )
        if input_spec is None:
            input_spec = InputSpec(
                layout=str(getattr(encoder, "layout", "ntu25")),
                num_joints=int(self.encoder.num_joints),
                channels=int(self.encoder.in_channels),
                max_persons=int(getattr(encoder, "num_person", 2)),
            )
        elif not isinstance(input_spec, InputSpec):
            input_spec = InputSpec.from_dict(input_spec)
        V, C = int(self.encoder.num_joints), int(self.encoder.in_channels)
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

    # ------------------------------------------------------------------ inference
    def inference_form(self) -> nn.Module:
        """The equivalent, faster module that inference runs (cached; see
        :func:`skelloc.models.fuse.inference_model`)."""
        from skelloc.models.fuse import inference_model

        return inference_model(self)

    def predict_frames(self, seq: Any, **kwargs: Any) -> Any:
        """See :func:`skelloc.predict_frames` (the keyword arguments are the same)."""
        from skelloc.inference import api

        return api.predict_frames(seq, self, **kwargs)

    def localize(self, seq: Any, **kwargs: Any) -> Any:
        """See :func:`skelloc.localize` (the keyword arguments are the same)."""
        from skelloc.inference import api

        return api.localize(seq, self, **kwargs)

    def extract_features(self, seq: Any, **kwargs: Any) -> Any:
        """See :func:`skelloc.extract_features` (the keyword arguments are the same)."""
        from skelloc.inference import api

        return api.extract_features(seq, self, **kwargs)

    # ------------------------------------------------------------------ persistence
    @classmethod
    def from_config(
        cls,
        config: ModelConfig | Mapping[str, Any],
        labels: Sequence[str] | None = None,
        input_spec: InputSpec | Mapping[str, Any] | None = None,
    ) -> Localizer:
        """A freshly initialised model from its :class:`ModelConfig` (or its JSON dict)."""
        from skelloc.models.registry import build_backbone, build_head

        cfg = config if isinstance(config, ModelConfig) else ModelConfig.from_dict(config)
        label_list = [str(x) for x in labels] if labels is not None else default_labels(
            cfg.num_classes)
        if len(label_list) != cfg.num_classes:
            raise ConfigError(f"num_classes={cfg.num_classes} but {len(label_list)} labels "
                              "were given")
        encoder = build_backbone(cfg.architecture, **cfg.model_args)
        head = None
        if cfg.head is not None:
            head = build_head(cfg.head, block_channels=list(encoder.block_channels),
                              block_strides=list(encoder.block_strides),
                              num_classes=cfg.num_classes, **cfg.head_args)
        return cls(encoder, head, label_list, input_spec=input_spec, config=cfg)

    def save(self, path: str | PathLike[str]) -> Path:
        """Save as safetensors (see :func:`skelloc.models.weights.save_model`)."""
        return save_model(self, path)

    @classmethod
    def load(cls, path: str | PathLike[str], **kwargs: Any) -> Localizer:
        """Load a model saved by :meth:`save`.

        See :func:`load_model` for the keyword arguments.
        """
        return load_model(path, **kwargs)

    def extra_repr(self) -> str:
        arch = self.architecture or type(self.encoder).__name__
        head = self.config.head if self.config is not None else type(self.head).__name__
        return f"architecture={arch!r}, head={head!r}, num_classes={self.num_classes}"


# ---------------------------------------------------------------------------------- loading
def model_from_files(
    encoder_file: str | PathLike[str],
    head_file: str | PathLike[str] | None = None,
    *,
    config: ModelConfig | Mapping[str, Any] | None = None,
    labels: Sequence[str] | None = None,
    input_spec: InputSpec | Mapping[str, Any] | None = None,
    num_classes: int | None = None,
    load_head: bool = True,
    device: str | torch.device = "cpu",
) -> Localizer:
    """Build a model from an encoder file and an optional head file.

    ``config``, ``labels`` and ``input_spec`` default to the encoder file's metadata (a
    manifest may supply them). ``num_classes``, ``labels`` and ``load_head`` follow the class
    rule of :mod:`skelloc.models.loading`.
    """
    source = source_from_files(encoder_file, head_file if load_head else None, config=config,
                               input_spec=input_spec)
    return build_from_source(source, Localizer.from_config, num_classes=num_classes, labels=labels,
                             load_head=load_head, device=device)


def load_model(
    path: str | PathLike[str],
    *,
    device: str | torch.device = "cpu",
    num_classes: int | None = None,
    labels: Sequence[str] | None = None,
    load_head: bool = True,
) -> Localizer:
    """Load a model written by :func:`~skelloc.models.weights.save_model` (single file or
    directory), in eval mode; the same loading as :func:`skelloc.load` of that path.

    Another class count (``num_classes`` / ``labels``) keeps the encoder and the head's body and
    re-initialises the classifier; ``load_head=False`` loads the encoder alone (a fresh head
    when ``num_classes`` / ``labels`` are given too). See :mod:`skelloc.models.loading`.
    """
    return build_from_source(source_from_path(path, load_head=load_head), Localizer.from_config,
                             num_classes=num_classes, labels=labels, load_head=load_head,
                             device=device)
