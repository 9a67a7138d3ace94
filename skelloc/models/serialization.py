"""Saving and loading models as safetensors (never pickle).

Two forms:

* **single file** (a path ending in ``.safetensors``): component ``full``, keys ``encoder.*``
  and ``head.*``;
* **directory** (any other path): ``encoder.safetensors`` (component ``encoder``, encoder keys
  without prefix), ``head.safetensors`` (component ``head``, when the model has a head) and
  ``config.json``.

Every file carries ``__metadata__`` (str → str): ``format=pt``, ``skelloc.schema=1``,
``skelloc.component``, ``skelloc.architecture``, ``skelloc.model_args`` (JSON of the full
config ``{"architecture", "model_args", "head", "head_args", "num_classes"}``),
``skelloc.version``, ``skelloc.labels`` (JSON list) and ``skelloc.input_spec`` (JSON).
Loading is strict: a file without skelloc metadata, of the wrong component, or whose keys or
shapes differ from the model raises :class:`~skelloc.errors.IncompatibleWeightsError` that lists
the missing / unexpected keys and shape mismatches. Writes are atomic (temp file + ``os.replace``).
"""

from __future__ import annotations

import json
import logging
import os
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from skelloc._atomic import atomic_path, atomic_write_text
from skelloc.errors import ConfigError, IncompatibleWeightsError, WeightsNotFoundError
from skelloc.models.localizer import InputSpec, Localizer, ModelConfig

__all__ = [
    "SCHEMA",
    "WeightsMetadata",
    "save_model",
    "load_model",
    "model_from_files",
    "read_metadata",
    "load_state_dict",
    "load_component",
    "make_metadata",
]

logger = logging.getLogger(__name__)

SCHEMA = "1"
_MAX_LISTED = 20
ENCODER_FILE = "encoder.safetensors"
HEAD_FILE = "head.safetensors"
CONFIG_FILE = "config.json"


@dataclass(frozen=True)
class WeightsMetadata:
    """The skelloc header of one safetensors file."""

    component: str
    config: ModelConfig
    labels: list[str]
    input_spec: InputSpec
    version: str
    schema: str = SCHEMA

    @property
    def architecture(self) -> str:
        return self.config.architecture


def _version() -> str:
    from skelloc import __version__

    return __version__


def make_metadata(model: Localizer, component: str) -> dict[str, str]:
    """The ``__metadata__`` dict written into every file of ``model``."""
    if model.config is None:
        raise ConfigError(
            "this model has no ModelConfig (build it with create_model) and cannot be saved"
        )
    return {
        "format": "pt",
        "skelloc.schema": SCHEMA,
        "skelloc.component": component,
        "skelloc.architecture": model.config.architecture,
        "skelloc.model_args": model.config.to_json(),
        "skelloc.version": _version(),
        "skelloc.labels": json.dumps(list(model.labels)),
        "skelloc.input_spec": json.dumps(model.input_spec.to_dict(), sort_keys=True),
    }


def _tensors(module: nn.Module, prefix: str = "") -> dict[str, Tensor]:
    return {
        prefix + k: v.detach().to("cpu").contiguous().clone()
        for k, v in module.state_dict().items()
    }


def _canonical_header(path: Path) -> None:
    """Rewrite a safetensors header with sorted keys, in place and at the same length.

    The safetensors library writes ``__metadata__`` in hash-map order, which differs from one
    process to the next; sorting makes equal tensors and metadata give identical bytes (and so
    the same sha256 in a manifest). Readers do not depend on the header's key order.
    """
    with open(path, "r+b") as fh:
        (length,) = struct.unpack("<Q", fh.read(8))
        header = json.loads(fh.read(length))
        text = json.dumps(header, sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False).encode("utf-8")
        if len(text) <= length:
            fh.seek(8)
            fh.write(text + b" " * (length - len(text)))


def save_tensors(tensors: dict[str, Tensor], path: str | os.PathLike[str],
                 metadata: dict[str, str]) -> Path:
    """Write a safetensors file with the canonical header, atomically and durably (fsync)."""
    with atomic_path(path, durable=True) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
        _canonical_header(tmp)
    return Path(path)


_atomic_save = save_tensors


def save_model(model: Localizer, path: str | os.PathLike[str]) -> Path:
    """Save ``model``; a ``.safetensors`` path gives one file, any other path a directory."""
    path = Path(path)
    if path.suffix == ".safetensors":
        _atomic_save(_tensors(model), path, make_metadata(model, "full"))
        return path
    if path.exists() and not path.is_dir():
        raise ConfigError(
            f"{path} exists and is not a directory (use a .safetensors name for one file)"
        )
    path.mkdir(parents=True, exist_ok=True)
    _atomic_save(_tensors(model.encoder), path / ENCODER_FILE, make_metadata(model, "encoder"))
    if model.head is not None:
        _atomic_save(_tensors(model.head), path / HEAD_FILE, make_metadata(model, "head"))
    else:
        (path / HEAD_FILE).unlink(missing_ok=True)  # never leave a stale head behind
    assert model.config is not None
    config = {
        "skelloc_schema": int(SCHEMA),
        "skelloc_version": _version(),
        **model.config.to_dict(),
        "labels": list(model.labels),
        "input_spec": model.input_spec.to_dict(),
    }
    atomic_write_text(path / CONFIG_FILE, json.dumps(config, indent=2, sort_keys=True) + "\n")
    return path


# ---------------------------------------------------------------------------------- reading
def _require_file(path: Path) -> None:
    if not path.is_file():
        raise WeightsNotFoundError(f"weights file not found: {path}")


def read_metadata(path: str | os.PathLike[str]) -> WeightsMetadata:
    """Read the skelloc header of a safetensors file (no tensors are loaded)."""
    path = Path(path)
    _require_file(path)
    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
    except Exception as exc:  # safetensors raises its own error types
        raise IncompatibleWeightsError(f"{path} is not a readable safetensors file: {exc}") from exc
    if "skelloc.schema" not in meta:
        raise IncompatibleWeightsError(
            f"{path} has no skelloc metadata; convert original checkpoints with `skelloc convert`"
        )
    if meta["skelloc.schema"] != SCHEMA:
        raise IncompatibleWeightsError(
            f"{path} uses skelloc schema {meta['skelloc.schema']!r}; this version reads {SCHEMA!r}"
        )
    try:
        config = ModelConfig.from_dict(json.loads(meta["skelloc.model_args"]))
        labels = [str(x) for x in json.loads(meta.get("skelloc.labels", "[]"))]
        spec = InputSpec.from_dict(json.loads(meta["skelloc.input_spec"]))
        component = meta["skelloc.component"]
    except (KeyError, ValueError, TypeError) as exc:
        raise IncompatibleWeightsError(f"{path} has invalid skelloc metadata: {exc}") from exc
    if meta.get("skelloc.architecture", config.architecture) != config.architecture:
        raise IncompatibleWeightsError(
            f"{path}: skelloc.architecture={meta['skelloc.architecture']!r} disagrees with "
            f"the config's {config.architecture!r}"
        )
    return WeightsMetadata(component, config, labels, spec, meta.get("skelloc.version", ""))


def load_state_dict(path: str | os.PathLike[str]) -> dict[str, Tensor]:
    """All tensors of a safetensors file, on the CPU."""
    path = Path(path)
    _require_file(path)
    try:
        return load_file(str(path), device="cpu")
    except Exception as exc:
        raise IncompatibleWeightsError(f"{path} is not a readable safetensors file: {exc}") from exc


def _listing(title: str, items: Sequence[str]) -> str:
    shown = ", ".join(items[:_MAX_LISTED])
    more = f" (+{len(items) - _MAX_LISTED} more)" if len(items) > _MAX_LISTED else ""
    return f"{title} ({len(items)}): {shown}{more}"


def load_component(module: nn.Module, state: Mapping[str, Tensor], what: str = "model") -> None:
    """Strictly load ``state`` into ``module``; any key or shape mismatch raises."""
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    shapes = sorted(
        f"{k} {tuple(state[k].shape)} vs {tuple(expected[k].shape)}"
        for k in set(expected) & set(state)
        if tuple(state[k].shape) != tuple(expected[k].shape)
    )
    if missing or unexpected or shapes:
        parts = [f"weights do not fit the {what}"]
        if missing:
            parts.append(_listing("missing keys", missing))
        if unexpected:
            parts.append(_listing("unexpected keys", unexpected))
        if shapes:
            parts.append(_listing("shape mismatches (file vs model)", shapes))
        raise IncompatibleWeightsError("; ".join(parts))
    module.load_state_dict(dict(state), strict=True)


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
    from skelloc.models.factory import create_from_config, default_labels

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
    return create_from_config(config, labels=labels, input_spec=input_spec), head_fits


def model_from_files(
    encoder_file: str | os.PathLike[str],
    head_file: str | os.PathLike[str] | None = None,
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
    model, head_fits = _build(cfg, saved_labels, spec, num_classes, labels)
    load_component(model.encoder, load_state_dict(encoder_file), f"{cfg.architecture} encoder")
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
            load_component(model.head, load_state_dict(head_file), f"{cfg.head} head")
        else:
            logger.info("head %r is freshly initialised (not loaded from weights)", cfg.head)
    return model.to(device).eval()


def load_model(
    path: str | os.PathLike[str],
    *,
    device: str | torch.device = "cpu",
    num_classes: int | None = None,
    labels: Sequence[str] | None = None,
    load_head: bool = True,
) -> Localizer:
    """Load a model written by :func:`save_model` (single file or directory), in eval mode.

    ``num_classes`` / ``labels`` that change the class count, or ``load_head=False``, keep the
    encoder weights and give a freshly initialised head.
    """
    path = Path(path)
    if path.suffix == ".safetensors" or path.is_file():
        meta = read_metadata(path)
        _check_component(meta, "full", path)
        model, head_fits = _build(meta.config, meta.labels, meta.input_spec, num_classes, labels)
        state = load_state_dict(path)
        if model.head is not None and load_head and head_fits:
            load_component(model, state, f"{meta.architecture} model")
        else:
            enc = {k[len("encoder."):]: v for k, v in state.items() if k.startswith("encoder.")}
            others = sorted(k for k in state if not k.startswith(("encoder.", "head.")))
            if others:
                raise IncompatibleWeightsError(_listing(f"{path}: unexpected keys", others))
            load_component(model.encoder, enc, f"{meta.architecture} encoder")
            if model.head is not None:
                logger.info("head %r is freshly initialised (not loaded)", meta.config.head)
        return model.to(device).eval()
    if not path.is_dir():
        raise WeightsNotFoundError(
            f"no model at {path} (expected a .safetensors file or a directory)"
        )
    encoder_file = path / ENCODER_FILE
    _require_file(encoder_file)
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
        except (ValueError, KeyError, TypeError) as exc:
            raise IncompatibleWeightsError(
                f"{cfg_path} is not a valid skelloc config: {exc}"
            ) from exc
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
