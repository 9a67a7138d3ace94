"""The :class:`Localizer`: an encoder, an optional frame head, the labels and the input spec.

``forward(x)`` maps ``(N, C, T, V, M)`` to frame logits ``(N, K + 1, T)`` with the background
class last (index ``K``). ``forward_features`` gives frame-aligned features. The user-facing
helpers (``predict_frames``, ``localize``, ``extract_features``) live in
:mod:`skelloc.inference.api` (a lower layer) and are only forwarded from here.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from os import PathLike
from pathlib import Path
from typing import Any, cast

import torch
from torch import Tensor, nn

from skelloc.errors import ConfigError, IncompatibleWeightsError, WeightsNotFoundError
from skelloc.model_config import INFERENCE_KEYS, OUTPUTS, InputSpec, ModelConfig, default_labels
from skelloc.models.base import (
    BackboneModule,
    HeadModule,
    interpolate_linear,
    pool_joints_persons,
)
from skelloc.models.weights import (
    CONFIG_FILE,
    ENCODER_FILE,
    HEAD_FILE,
    WeightsMetadata,
    check_weights_fit,
    first_line,
    load_into,
    read_metadata,
    read_state_dict,
    save_model,
)

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
def _check_component(meta: WeightsMetadata, expected: str, path: Path) -> None:
    if meta.component != expected:
        raise IncompatibleWeightsError(
            f"{path} holds component {meta.component!r}, expected {expected!r}"
        )


def _build(
    config: ModelConfig,
    labels: Sequence[str],
    input_spec: InputSpec,
    num_classes: int | None,
    new_labels: Sequence[str] | None,
) -> tuple[Localizer, bool]:
    """Build the model; returns it and whether the saved head still fits."""
    head_fits = True
    if new_labels is not None or (num_classes is not None and num_classes != config.num_classes):
        if new_labels is not None:
            labels = [str(x) for x in new_labels]
            if num_classes is not None and num_classes != len(labels):
                raise ConfigError(f"num_classes={num_classes} but {len(labels)} labels were given")
        else:
            assert num_classes is not None
            labels = default_labels(num_classes)
        head_fits = len(labels) == config.num_classes
        config = replace(config, num_classes=len(labels))
    if len(labels) != config.num_classes:
        labels = default_labels(config.num_classes)
    return Localizer.from_config(config, labels=labels, input_spec=input_spec), head_fits


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
    manifest may supply them). A ``num_classes`` or ``labels`` that changes the class count
    keeps the encoder weights and gives a freshly initialised head; so does ``load_head=False``
    or a missing ``head_file``.
    """
    encoder_file = Path(encoder_file)
    meta = read_metadata(encoder_file)
    _check_component(meta, "encoder", encoder_file)
    cfg = meta.config if config is None else (
        config if isinstance(config, ModelConfig) else ModelConfig.from_dict(config)
    )
    if cfg.architecture != meta.architecture:
        raise IncompatibleWeightsError(
            f"{encoder_file} holds architecture {meta.architecture!r}, "
            f"expected {cfg.architecture!r}"
        )
    if cfg.model_args != meta.config.model_args:
        raise IncompatibleWeightsError(
            f"{encoder_file} was saved with model_args {meta.config.model_args}, "
            f"expected {cfg.model_args}"
        )
    spec = meta.input_spec if input_spec is None else (
        input_spec if isinstance(input_spec, InputSpec) else InputSpec.from_dict(input_spec)
    )
    saved_labels = meta.labels if config is None else (
        meta.labels if len(meta.labels) == cfg.num_classes else []
    )
    parts: dict[str, tuple[Path, str]] = {"encoder": (encoder_file, "encoder.")}
    if head_file is not None and load_head and (num_classes in (None, cfg.num_classes)) and (
            labels is None or len(labels) == cfg.num_classes):
        parts["head"] = (Path(head_file), "head.")
    check_weights_fit(lambda: _build(cfg, saved_labels, spec, num_classes, labels)[0], parts)
    model, head_fits = _build(cfg, saved_labels, spec, num_classes, labels)
    load_into(model.encoder, read_state_dict(encoder_file), what=f"{cfg.architecture} encoder",
              source=str(encoder_file))
    if model.head is not None:
        if load_head and head_fits and head_file is not None:
            head_file = Path(head_file)
            head_meta = read_metadata(head_file)
            _check_component(head_meta, "head", head_file)
            if head_meta.config != cfg:
                raise IncompatibleWeightsError(
                    f"{head_file} was saved for {head_meta.config.to_dict()}, "
                    f"expected {cfg.to_dict()}"
                )
            load_into(model.head, read_state_dict(head_file), what=f"{cfg.head} head",
                      source=str(head_file))
        else:
            logger.info("head %r is freshly initialised (not loaded from weights)", cfg.head)
    return model.to(device).eval()


def load_model(
    path: str | PathLike[str],
    *,
    device: str | torch.device = "cpu",
    num_classes: int | None = None,
    labels: Sequence[str] | None = None,
    load_head: bool = True,
) -> Localizer:
    """Load a model written by :func:`~skelloc.models.weights.save_model` (single file or
    directory), in eval mode.

    ``num_classes`` / ``labels`` that change the class count, or ``load_head=False``, keep the
    encoder weights and give a freshly initialised head.
    """
    path = Path(path)
    if path.suffix == ".safetensors" or path.is_file():
        meta = read_metadata(path)
        _check_component(meta, "full", path)
        full_parts = {"encoder": (path, "encoder."), "head": (path, "head.")}
        if not (load_head and num_classes in (None, meta.config.num_classes) and (
                labels is None or len(labels) == meta.config.num_classes)):
            del full_parts["head"]
        check_weights_fit(lambda: _build(meta.config, meta.labels, meta.input_spec, num_classes,
                                         labels)[0], full_parts)
        model, head_fits = _build(meta.config, meta.labels, meta.input_spec, num_classes, labels)
        state = read_state_dict(path)
        if model.head is not None and load_head and head_fits:
            load_into(model, state, what=f"{meta.architecture} model", source=str(path))
        else:
            enc = {k[len("encoder."):]: v for k, v in state.items() if k.startswith("encoder.")}
            others = sorted(k for k in state if not k.startswith(("encoder.", "head.")))
            if others:
                raise IncompatibleWeightsError(f"{path}: unexpected keys ({len(others)}): "
                                              + ", ".join(others[:20]))
            load_into(model.encoder, enc, what=f"{meta.architecture} encoder", source=str(path))
            if model.head is not None:
                logger.info("head %r is freshly initialised (not loaded)", meta.config.head)
        return model.to(device).eval()
    if not path.is_dir():
        raise WeightsNotFoundError(
            f"no model at {path} (expected a .safetensors file or a directory)"
        )
    encoder_file = path / ENCODER_FILE
    if not encoder_file.is_file():
        raise WeightsNotFoundError(f"weights file not found: {encoder_file}")
    config: ModelConfig | None = None
    saved_labels: list[str] | None = None
    spec: InputSpec | None = None
    cfg_path = path / CONFIG_FILE
    if cfg_path.is_file():
        try:
            raw = json.loads(cfg_path.read_text(encoding="utf-8"))
            saved_labels = [str(x) for x in raw.pop("labels", [])]
            spec = InputSpec.from_dict(raw.pop("input_spec"))
            raw.pop("skelloc_schema", None)
            raw.pop("skelloc_version", None)
            config = ModelConfig.from_dict(raw)
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            raise IncompatibleWeightsError(
                f"{cfg_path} is not a valid skelloc config: {first_line(exc)}"
            ) from None
    head_file = path / HEAD_FILE
    want_head = config.head if config is not None else read_metadata(encoder_file).config.head
    if want_head is not None and load_head and not head_file.is_file() and labels is None and (
        num_classes is None or config is None or num_classes == config.num_classes
    ):
        raise IncompatibleWeightsError(
            f"{path} has no {HEAD_FILE} for head {want_head!r}; pass load_head=False to load the "
            "encoder with a fresh head"
        )
    if labels is None and saved_labels is not None and config is not None and (
        num_classes is None or num_classes == config.num_classes
    ):
        labels = saved_labels if len(saved_labels) == config.num_classes else None
    return model_from_files(
        encoder_file,
        head_file if head_file.is_file() else None,
        config=config,
        labels=labels,
        input_spec=spec,
        num_classes=num_classes,
        load_head=load_head,
        device=device,
    )
