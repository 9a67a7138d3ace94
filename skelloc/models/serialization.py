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
import math
import os
import struct
from collections.abc import Callable, Mapping, Sequence
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
        raw_labels = json.loads(meta.get("skelloc.labels", "[]"))
        if not isinstance(raw_labels, list) or not all(isinstance(x, str) for x in raw_labels):
            raise TypeError("skelloc.labels must be a JSON list of strings, got "
                            f"{type(raw_labels).__name__}")
        if raw_labels and len(raw_labels) != config.num_classes:
            raise ValueError(f"{len(raw_labels)} labels for {config.num_classes} classes")
        labels = list(raw_labels)
        spec = InputSpec.from_dict(json.loads(meta["skelloc.input_spec"]))
        component = meta["skelloc.component"]
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise IncompatibleWeightsError(
            f"{path} has invalid skelloc metadata: {_first_line(exc)}") from None
    except RecursionError:
        raise IncompatibleWeightsError(f"{path} has invalid skelloc metadata: JSON nested "
                                       "too deeply") from None
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
    dtypes = dtype_mismatches(expected, state)
    if missing or unexpected or shapes or dtypes:
        parts = [f"weights do not fit the {what}"]
        if missing:
            parts.append(_listing("missing keys", missing))
        if unexpected:
            parts.append(_listing("unexpected keys", unexpected))
        if shapes:
            parts.append(_listing("shape mismatches (file vs model)", shapes))
        if dtypes:
            parts.append(_listing("dtype mismatches (file vs model)", dtypes))
        raise IncompatibleWeightsError("; ".join(parts))
    module.load_state_dict(dict(state), strict=True)


_KINDS = {"F": "float", "BF": "float", "I": "integer", "U": "integer", "BOOL": "bool",
          "C": "complex"}
_MAX_HEADER_BYTES = 100 * 1024**2


def _kind(dtype: torch.dtype | str) -> str:
    """``float``, ``integer``, ``bool`` or ``complex`` for a torch dtype or safetensors code."""
    if isinstance(dtype, torch.dtype):
        if dtype == torch.bool:
            return "bool"
        if dtype.is_complex:
            return "complex"
        return "float" if dtype.is_floating_point else "integer"
    code = str(dtype).upper()
    return next((v for k, v in sorted(_KINDS.items(), key=lambda kv: -len(kv[0]))
                 if code.startswith(k)), code)


def dtype_mismatches(own: Mapping[str, Tensor], state: Mapping[str, Any]) -> list[str]:
    """Keys whose file dtype is of another kind than the model's (float vs integer vs bool);
    ``state`` values are tensors or ``(shape, dtype code)`` header entries."""
    out = []
    for key in sorted(set(own) & set(state)):
        value = state[key]
        dt = value.dtype if isinstance(value, Tensor) else value[1]
        if _kind(dt) != _kind(own[key].dtype):
            out.append(f"{key} {dt} vs model {own[key].dtype}")
    return out


def header_tensors(path: str | os.PathLike[str]) -> dict[str, tuple[tuple[int, ...], str]]:
    """``{key: (shape, dtype code)}`` from a safetensors header, nothing else read; the
    header's offsets must lie inside the file."""
    path = Path(path)
    size = path.stat().st_size
    try:
        with open(path, "rb") as fh:
            (length,) = struct.unpack("<Q", fh.read(8))
            if length > min(size - 8, _MAX_HEADER_BYTES):
                raise ValueError(f"header length {length} past the file")
            header = json.loads(fh.read(length))
        out: dict[str, tuple[tuple[int, ...], str]] = {}
        for key, entry in header.items():
            if key == "__metadata__":
                continue
            shape = tuple(int(x) for x in entry["shape"])
            begin, end = (int(x) for x in entry["data_offsets"])
            if not 0 <= begin <= end <= size - 8 - length:
                raise ValueError(f"tensor {key!r} lies past the end of the file")
            out[str(key)] = (shape, str(entry["dtype"]))
    except (struct.error, ValueError, TypeError, KeyError, AttributeError, RecursionError,
            UnicodeDecodeError) as exc:
        raise IncompatibleWeightsError(
            f"{path} is not a readable safetensors file: {_first_line(exc)}") from None
    return out


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def check_weights_fit(factory: Callable[[], Localizer],
                      parts: Mapping[str, tuple[Path, str]]) -> None:
    """Build the model described by the metadata on the ``meta`` device (nothing allocated)
    and refuse it *before* the real model is built when it needs more tensor bytes than the
    safetensors files hold: metadata asking for a huge model (e.g. ``base_channels=40000`` in a
    190 KB file) is an :class:`IncompatibleWeightsError`.  Key, shape and dtype mismatches of a
    model of plausible size are listed by the strict load that follows.

    ``parts`` maps ``"encoder"`` / ``"head"`` to ``(file, key prefix in that file)``.
    """
    with torch.device("meta"):
        probe = factory()
    for part, (path, prefix) in parts.items():
        module = getattr(probe, part, None)
        if module is None or Path(path).suffix != ".safetensors":
            continue
        specs = header_tensors(path)
        if any(k.startswith(prefix) for k in specs):
            specs = {k: v for k, v in specs.items() if k.startswith(prefix)}
        held = sum(math.prod(shape) for shape, _ in specs.values())
        needed = sum(t.numel() for t in module.state_dict().values())
        if needed > 2 * held + 1024:
            raise IncompatibleWeightsError(
                f"{path}: its metadata describes a {part} of {needed} values but the file "
                f"holds {held}; refusing to build it")


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
    parts: dict[str, tuple[Path, str]] = {"encoder": (encoder_file, "encoder.")}
    if head_file is not None and load_head and (num_classes in (None, cfg.num_classes)) and (
            labels is None or len(labels) == cfg.num_classes):
        parts["head"] = (Path(head_file), "head.")
    check_weights_fit(lambda: _build(cfg, saved_labels, spec, num_classes, labels)[0], parts)
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
        full_parts = {"encoder": (path, "encoder."), "head": (path, "head.")}
        if not (load_head and num_classes in (None, meta.config.num_classes) and (
                labels is None or len(labels) == meta.config.num_classes)):
            del full_parts["head"]
        check_weights_fit(lambda: _build(meta.config, meta.labels, meta.input_spec, num_classes,
                                         labels)[0], full_parts)
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
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            raise IncompatibleWeightsError(
                f"{cfg_path} is not a valid skelloc config: {_first_line(exc)}"
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
