"""The one way weights become a model (docs/ARCHITECTURE.md, "Weights").

Every loader describes its files as a :class:`WeightsSource` and hands it to
:func:`build_from_source`: :meth:`Localizer.load <skelloc.models.localizer.Localizer.load>` with
:func:`source_from_path` (a model written by ``save``), :func:`skelloc.load` with a manifest entry
(``skelloc.hub.build``) or a local path. :func:`build_from_source` builds the model on the
``meta`` device first (metadata cannot ask for an absurd allocation), then for real, loads
every tensor strictly (:func:`~skelloc.models.weights.load_into`) and applies one class rule:

* ``num_classes`` / ``labels`` with the saved class count: everything loads (new names);
* another class count: the encoder and the head's body load; the classifier tensors (the
  source's ``classifier_keys``, else the head tensors whose shape changed) are freshly
  initialised, and the log says which;
* ``load_head=False``: the encoder alone (``head`` is ``None``); with ``num_classes`` or
  ``labels`` too, a freshly initialised head of the saved kind for those classes.

A fix to strict loading is made here once. This module does not import the model class: the
caller passes its ``build`` function (``Localizer.from_config``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from os import PathLike
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import Tensor, nn

from skelloc.errors import ConfigError, IncompatibleWeightsError, WeightsNotFoundError
from skelloc.model_config import InputSpec, ModelConfig, default_labels
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
    strip_prefix,
)

__all__ = ["WeightsSource", "build_from_source", "source_from_files", "source_from_path"]

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=nn.Module)
#: ``build(config, labels, input_spec)`` returns a freshly initialised model with ``.encoder``
#: and ``.head`` (``Localizer.from_config``)
Build = Callable[[ModelConfig, list[str], "InputSpec | None"], M]

_PARTS = ("encoder.", "head.")


@dataclass(frozen=True)
class WeightsSource:
    """What a set of weights files holds and describes.

    ``single_file``: ``encoder_file`` holds the whole model (keys ``encoder.*`` / ``head.*``,
    ``head_file`` is then the same path or ``None``); ``head_file`` is ``None`` when no head
    weights are to be read.
    ``classifier_keys`` name the head tensors that depend on the class count (empty: the
    tensors whose shape changes). ``allow_pickle`` lets ``.pt``/``.pth`` files be read with
    ``torch.load(weights_only=True)``.
    """

    name: str
    config: ModelConfig
    labels: tuple[str, ...]
    input_spec: InputSpec | None
    encoder_file: Path
    head_file: Path | None = None
    single_file: bool = False
    classifier_keys: tuple[str, ...] = ()
    allow_pickle: bool = False


# ------------------------------------------------------------------------- reading a source
def _check_component(meta: WeightsMetadata, expected: str, path: Path) -> None:
    if meta.component != expected:
        raise IncompatibleWeightsError(
            f"{path} holds component {meta.component!r}, expected {expected!r}")


def source_from_files(
    encoder_file: str | PathLike[str],
    head_file: str | PathLike[str] | None = None,
    *,
    config: ModelConfig | Mapping[str, Any] | None = None,
    labels: Sequence[str] | None = None,
    input_spec: InputSpec | Mapping[str, Any] | None = None,
) -> WeightsSource:
    """The source of an ``encoder.safetensors`` (and a ``head.safetensors``) written by ``save``.

    ``config``, ``labels`` and ``input_spec`` default to the encoder file's metadata; a given
    ``config`` must name the file's architecture and backbone arguments, and the head file
    must have been saved for exactly that config.
    """
    encoder_file = Path(encoder_file)
    meta = read_metadata(encoder_file)
    _check_component(meta, "encoder", encoder_file)
    cfg = meta.config if config is None else (
        config if isinstance(config, ModelConfig) else ModelConfig.from_dict(config))
    if cfg.architecture != meta.architecture:
        raise IncompatibleWeightsError(f"{encoder_file} holds architecture "
                                       f"{meta.architecture!r}, expected {cfg.architecture!r}")
    if cfg.model_args != meta.config.model_args:
        raise IncompatibleWeightsError(f"{encoder_file} was saved with model_args "
                                       f"{meta.config.model_args}, expected {cfg.model_args}")
    spec = meta.input_spec if input_spec is None else (
        input_spec if isinstance(input_spec, InputSpec) else InputSpec.from_dict(input_spec))
    saved = [str(x) for x in labels] if labels is not None else meta.labels
    if head_file is not None:
        head_file = Path(head_file)
        head_meta = read_metadata(head_file)
        _check_component(head_meta, "head", head_file)
        if head_meta.config != cfg:
            raise IncompatibleWeightsError(f"{head_file} was saved for "
                                           f"{head_meta.config.to_dict()}, expected "
                                           f"{cfg.to_dict()}")
    return WeightsSource(cfg.architecture, cfg, tuple(saved), spec, encoder_file,
                         head_file if cfg.head is not None else None)


def _read_config_json(path: Path) -> tuple[ModelConfig, list[str], InputSpec]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        labels = [str(x) for x in raw.pop("labels", [])]
        spec = InputSpec.from_dict(raw.pop("input_spec"))
        raw.pop("skelloc_schema", None)
        raw.pop("skelloc_version", None)
        return ModelConfig.from_dict(raw), labels, spec
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise IncompatibleWeightsError(
            f"{path} is not a valid skelloc config: {first_line(exc)}") from None


def source_from_path(path: str | PathLike[str], *, load_head: bool = True) -> WeightsSource:
    """The source of a model written by ``Localizer.save``: a ``.safetensors`` file
    (component ``full``) or a folder (``encoder.safetensors``, ``head.safetensors``,
    ``config.json``). With ``load_head=False`` the head file is not read at all."""
    path = Path(path)
    if path.suffix == ".safetensors" or path.is_file():
        meta = read_metadata(path)
        _check_component(meta, "full", path)
        head = path if meta.config.head is not None and load_head else None
        return WeightsSource(meta.architecture, meta.config, tuple(meta.labels),
                             meta.input_spec, path, head, single_file=True)
    if not path.is_dir():
        raise WeightsNotFoundError(
            f"no model at {path} (expected a .safetensors file or a directory)")
    encoder_file = path / ENCODER_FILE
    if not encoder_file.is_file():
        raise WeightsNotFoundError(f"weights file not found: {encoder_file}")
    config = labels = spec = None
    if (path / CONFIG_FILE).is_file():
        config, saved, spec = _read_config_json(path / CONFIG_FILE)
        labels = saved if len(saved) == config.num_classes else None
    head_file = path / HEAD_FILE
    source = source_from_files(encoder_file, head_file if load_head and head_file.is_file()
                               else None, config=config, labels=labels, input_spec=spec)
    return replace(source, name=path.name or source.name)


# ----------------------------------------------------------------------------- building
def _new_labels(saved_k: int, num_classes: int | None,
                labels: Sequence[str] | None) -> list[str] | None:
    """The class names asked for, or ``None`` when the caller asked for nothing."""
    if labels is not None:
        if isinstance(labels, str):
            raise ConfigError("labels must be a sequence of class names, not a single string")
        out = [str(x) for x in labels]
        if num_classes is not None and int(num_classes) != len(out):
            raise ConfigError(f"num_classes={num_classes} but {len(out)} labels were given")
        return out
    if num_classes is None:
        return None
    if int(num_classes) < 1:
        raise ConfigError(f"num_classes must be >= 1, got {num_classes}")
    return default_labels(int(num_classes))


def _shape_changed(head: nn.Module, sd: Mapping[str, Tensor]) -> list[str]:
    own = head.state_dict()
    return sorted(key for key, t in sd.items()
                  if key in own and tuple(t.shape) != tuple(own[key].shape))


def _single_file_state(state: dict[str, Tensor], with_head: bool) -> dict[str, Tensor]:
    """``encoder.*`` (and ``head.*``) keys of a single-file model; other keys stay so that the
    strict load lists them. A file without either prefix is a bare encoder state dict."""
    if not any(k.startswith(_PARTS) for k in state):
        return {f"encoder.{k}": v for k, v in state.items()}
    return {k: v for k, v in state.items() if with_head or not k.startswith("head.")}


def _classifier(source: WeightsSource, head: nn.Module, head_sd: Mapping[str, Tensor]) -> list[str]:
    drop = list(source.classifier_keys) or _shape_changed(head, head_sd)
    if not drop:
        raise IncompatibleWeightsError(
            f"{source.name}: the class count differs from the weights' "
            f"{source.config.num_classes} but no classifier tensors are known; set "
            "head.classifier_keys in the manifest")
    return drop


def build_from_source(source: WeightsSource, build: Build[M], *, num_classes: int | None = None,
                      labels: Sequence[str] | None = None, load_head: bool = True,
                      device: str | torch.device = "cpu") -> M:
    """Build the model ``source`` describes and load its weights strictly, in eval mode.

    See the module docstring for the class rule. Raises :class:`IncompatibleWeightsError` for
    weights that do not fit (every missing, unexpected or mis-shaped key listed) and when a head
    is wanted but ``source`` has no head weights (remedy: ``load_head=False``).
    """
    cfg = source.config
    new = _new_labels(cfg.num_classes, num_classes, labels)
    k = cfg.num_classes if new is None else len(new)
    head_weights = load_head and cfg.head is not None and source.head_file is not None
    if load_head and cfg.head is not None and source.head_file is None and new is None:
        raise IncompatibleWeightsError(
            f"{source.name} has no head weights for head {cfg.head!r}; pass load_head=False to "
            "load the encoder alone (or num_classes=/labels= for a fresh head)")
    with_head = cfg.head is not None and (load_head or new is not None)
    build_cfg = replace(cfg, num_classes=k) if with_head else replace(
        cfg, num_classes=k, head=None, head_args={})
    label_list = new if new is not None else (
        list(source.labels) if len(source.labels) == k else default_labels(k))

    def make() -> M:
        return build(build_cfg, label_list, source.input_spec)

    parts = {"encoder": (source.encoder_file, "encoder.")}
    if head_weights:
        assert source.head_file is not None
        parts["head"] = (source.head_file, "head.")
    check_weights_fit(make, parts)  # absurd metadata fails here, before any allocation
    model = make()
    head: nn.Module | None = getattr(model, "head", None)
    read = source.allow_pickle
    reinit: list[str] = []
    if source.single_file:
        state = _single_file_state(read_state_dict(source.encoder_file, allow_pickle=read),
                                   head_weights)
        drop: list[str] = []
        if head is not None:
            head_sd = {kk[5:]: v for kk, v in state.items() if kk.startswith("head.")}
            fresh = list(head.state_dict()) if not head_weights else (
                _classifier(source, head, head_sd) if k != cfg.num_classes else [])
            drop = [f"head.{kk}" for kk in fresh]
        reinit = [kk[5:] for kk in load_into(model, state, what=f"{source.name} model",
                                              drop=drop, source=str(source.encoder_file))]
    else:
        enc_sd = strip_prefix(read_state_dict(source.encoder_file, allow_pickle=read), "encoder.")
        encoder: nn.Module = getattr(model, "encoder")  # noqa: B009 - typed: M is any module
        load_into(encoder, enc_sd, what=f"{source.name} encoder",
                  source=str(source.encoder_file))
        if head is not None and head_weights:
            assert source.head_file is not None
            head_sd = strip_prefix(read_state_dict(source.head_file, allow_pickle=read), "head.")
            drop = _classifier(source, head, head_sd) if k != cfg.num_classes else []
            reinit = load_into(head, head_sd, what=f"{source.name} head", drop=drop,
                               source=str(source.head_file))
    if head is not None and not head_weights:
        logger.info("%s: head %r is freshly initialised for %d classes (train it before use)",
                    source.name, cfg.head, k)
    elif reinit:
        logger.info("%s: num_classes %d -> %d; re-initialised %s (train them before use)",
                    source.name, cfg.num_classes, k, ", ".join(reinit))
    return model.to(device).eval()
