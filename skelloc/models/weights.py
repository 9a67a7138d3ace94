"""The weights file format, in one place: writing, reading and strict loading.

safetensors only (pickle checkpoints are refused unless ``allow_pickle=True``, and then read
with ``torch.load(weights_only=True)``). Two forms:

* **single file** (a path ending in ``.safetensors``): component ``full``, keys ``encoder.*``
  and ``head.*``;
* **directory** (any other path): ``encoder.safetensors`` (component ``encoder``, encoder keys
  without prefix), ``head.safetensors`` (component ``head``, when the model has a head) and
  ``config.json``.

Every file carries ``__metadata__`` (str → str): ``format=pt``, ``skelloc.schema=1``,
``skelloc.component``, ``skelloc.architecture``, ``skelloc.model_args`` (JSON of the full
config ``{"architecture", "model_args", "head", "head_args", "num_classes"}``),
``skelloc.version``, ``skelloc.labels`` (JSON list) and ``skelloc.input_spec`` (JSON).
:func:`load_into` is the one strict loader, used by :mod:`skelloc.models.loading` (behind both
:meth:`Localizer.load <skelloc.models.localizer.Localizer.load>` and :func:`skelloc.load`) and
by the checkpoint converters: any missing, unexpected or mis-shaped key raises
:class:`~skelloc.errors.IncompatibleWeightsError` listing them. Writes are atomic (temp file +
``os.replace``). This module knows the model only through :class:`SavableModel`.
"""

from __future__ import annotations

import json
import logging
import math
import os
import pickle
import struct
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from skelloc._atomic import atomic_path, atomic_write_text
from skelloc._version import __version__
from skelloc.errors import (
    ConfigError,
    IncompatibleWeightsError,
    UnsafeCheckpointError,
    WeightsNotFoundError,
)
from skelloc.model_config import InputSpec, ModelConfig

__all__ = [
    "CONFIG_FILE",
    "ENCODER_FILE",
    "HEAD_FILE",
    "PICKLE_SUFFIXES",
    "SCHEMA",
    "SavableModel",
    "WeightsMetadata",
    "check_metadata",
    "check_weights_fit",
    "clean_state_dict",
    "dtype_mismatches",
    "first_line",
    "full_config_from_metadata",
    "header_tensors",
    "load_into",
    "load_torch_file",
    "make_metadata",
    "read_header",
    "read_metadata",
    "read_state_dict",
    "save_model",
    "save_tensors",
    "strip_prefix",
]

logger = logging.getLogger(__name__)

SCHEMA = "1"
_MAX_LISTED = 20
ENCODER_FILE = "encoder.safetensors"
HEAD_FILE = "head.safetensors"
CONFIG_FILE = "config.json"
PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".pkl", ".tar")
_WRAPPERS = ("state_dict_ema", "model_ema", "ema", "state_dict", "model", "net", "module")
_PREFIXES = ("module.", "_orig_mod.")


def first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0][:200]


class SavableModel(Protocol):
    """What :func:`save_model` needs of a model (a ``Localizer`` has it)."""

    @property
    def encoder(self) -> nn.Module: ...

    @property
    def head(self) -> nn.Module | None: ...

    @property
    def labels(self) -> list[str]: ...

    @property
    def input_spec(self) -> InputSpec: ...

    @property
    def config(self) -> ModelConfig | None: ...

    def state_dict(self) -> dict[str, Any]: ...


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


def make_metadata(model: SavableModel, component: str) -> dict[str, str]:
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
        "skelloc.version": __version__,
        "skelloc.labels": json.dumps(list(model.labels)),
        "skelloc.input_spec": json.dumps(model.input_spec.to_dict(), sort_keys=True),
    }


def _tensors(module: Any, prefix: str = "") -> dict[str, Tensor]:
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


def save_model(model: SavableModel, path: str | os.PathLike[str]) -> Path:
    """Save ``model``; a ``.safetensors`` path gives one file, any other path a directory."""
    path = Path(path)
    if path.suffix == ".safetensors":
        save_tensors(_tensors(model), path, make_metadata(model, "full"))
        return path
    if path.exists() and not path.is_dir():
        raise ConfigError(
            f"{path} exists and is not a directory (use a .safetensors name for one file)"
        )
    path.mkdir(parents=True, exist_ok=True)
    save_tensors(_tensors(model.encoder), path / ENCODER_FILE, make_metadata(model, "encoder"))
    if model.head is not None:
        save_tensors(_tensors(model.head), path / HEAD_FILE, make_metadata(model, "head"))
    else:
        (path / HEAD_FILE).unlink(missing_ok=True)  # never leave a stale head behind
    assert model.config is not None
    config = {
        "skelloc_schema": int(SCHEMA),
        "skelloc_version": __version__,
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


def read_header(path: str | os.PathLike[str]) -> dict[str, str]:
    """The ``__metadata__`` of a safetensors file (header only; no tensor is read)."""
    try:
        with safe_open(str(path), framework="pt") as fh:
            return dict(fh.metadata() or {})
    except Exception as err:  # noqa: BLE001 - SafetensorError, OSError, ...
        raise IncompatibleWeightsError(
            f"{path} is not a readable safetensors file: {first_line(err)}") from None


def read_metadata(path: str | os.PathLike[str]) -> WeightsMetadata:
    """Read the skelloc header of a safetensors file (no tensors are loaded)."""
    path = Path(path)
    _require_file(path)
    meta = read_header(path)
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
            f"{path} has invalid skelloc metadata: {first_line(exc)}") from None
    except RecursionError:
        raise IncompatibleWeightsError(f"{path} has invalid skelloc metadata: JSON nested "
                                       "too deeply") from None
    if meta.get("skelloc.architecture", config.architecture) != config.architecture:
        raise IncompatibleWeightsError(
            f"{path}: skelloc.architecture={meta['skelloc.architecture']!r} disagrees with "
            f"the config's {config.architecture!r}"
        )
    return WeightsMetadata(component, config, labels, spec, meta.get("skelloc.version", ""))


def read_state_dict(path: str | os.PathLike[str], *, allow_pickle: bool = False,
                    device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """Tensors of a safetensors file, or (opt-in) of a pickle checkpoint via ``weights_only``."""
    p = Path(path)
    if p.suffix == ".safetensors" or not p.exists():
        _require_file(p)
        try:
            return dict(load_file(str(p), device=str(device)))
        except Exception as err:  # noqa: BLE001
            raise IncompatibleWeightsError(
                f"{p} is not a readable safetensors file: {first_line(err)}") from None
    if p.suffix in PICKLE_SUFFIXES or p.name.endswith(".pth.tar"):
        if not allow_pickle:
            raise UnsafeCheckpointError(
                f"{p} is a pickle checkpoint; pickle can run arbitrary code, so skelloc refuses "
                "it. Convert it with 'skelloc convert', or pass allow_pickle=True to read it "
                "with torch.load(weights_only=True).")
        obj = load_torch_file(p, "pickle checkpoint", device=device)
        return clean_state_dict(obj, source=str(p))
    raise IncompatibleWeightsError(f"{p}: unknown weights format (expected .safetensors)")


def load_torch_file(path: str | os.PathLike[str], what: str = "checkpoint",
                    device: str | torch.device = "cpu") -> Any:
    """``torch.load(weights_only=True)`` with every failure typed: a refused pickle is an
    :class:`UnsafeCheckpointError`, a truncated or corrupt file an
    :class:`IncompatibleWeightsError` (both exit 6); nothing in the file is executed."""
    try:
        return torch.load(str(path), map_location=device, weights_only=True)
    except pickle.UnpicklingError as err:
        raise UnsafeCheckpointError(
            f"{path}: the {what} holds objects other than tensors and plain containers; "
            f"refused, nothing was executed ({first_line(err)})") from None
    except (RuntimeError, EOFError, OSError, ValueError, KeyError, AttributeError,
            TypeError, IndexError, UnicodeDecodeError, MemoryError) as err:
        raise IncompatibleWeightsError(
            f"{path}: not a readable {what} (truncated or corrupt: {first_line(err)})") from None


def clean_state_dict(obj: Any, *, source: str = "checkpoint") -> dict[str, torch.Tensor]:
    """Unwrap ``state_dict``/``model``/``ema`` sub-dicts and strip ``module.``/``_orig_mod.``."""
    for _ in range(3):
        if isinstance(obj, Mapping) and not any(isinstance(v, torch.Tensor) for v in obj.values()):
            inner = next((obj[k] for k in _WRAPPERS if isinstance(obj.get(k), Mapping)), None)
            if inner is None:
                break
            obj = inner
    if not isinstance(obj, Mapping):
        raise IncompatibleWeightsError(f"{source} holds no state dict ({type(obj).__name__})")
    out: dict[str, torch.Tensor] = {}
    for key, value in obj.items():
        if not isinstance(value, torch.Tensor):
            continue
        k = str(key)
        changed = True
        while changed:
            changed = False
            for prefix in _PREFIXES:
                if k.startswith(prefix):
                    k, changed = k[len(prefix):], True
        out[k] = value
    if not out:
        raise IncompatibleWeightsError(f"{source} contains no tensors")
    return out


def strip_prefix(sd: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """Drop ``prefix`` from every key when all keys carry it."""
    if sd and all(k.startswith(prefix) for k in sd):
        return {k[len(prefix):]: v for k, v in sd.items()}
    return dict(sd)


def _listing(title: str, items: list[str]) -> str:
    shown = ", ".join(items[:_MAX_LISTED])
    more = f" (+{len(items) - _MAX_LISTED} more)" if len(items) > _MAX_LISTED else ""
    return f"{title} ({len(items)}): {shown}{more}"


def load_into(module: nn.Module, state: Mapping[str, Tensor], *, what: str,
              drop: Iterable[str] = (), source: str = "") -> list[str]:
    """Load ``state`` into ``module`` strictly, except the keys in ``drop``.

    Returns the keys that were left at their fresh initialisation (the dropped ones). Raises
    :class:`IncompatibleWeightsError` listing missing and unexpected keys and shape mismatches,
    and when no key overlaps at all (never a silently random model).
    """
    own = module.state_dict()
    drop_set = set(drop)
    sd = {k: v for k, v in state.items() if k not in drop_set}
    overlap = set(sd) & set(own)
    where = f"{what} weights" + (f" from {source}" if source else "")
    if not overlap and own:
        raise IncompatibleWeightsError(
            f"{where}: no key matches the model at all, so loading would give a random model. "
            f"checkpoint keys: {', '.join(sorted(state)[:8])}; "
            f"model keys: {', '.join(sorted(own)[:8])}")
    missing = sorted(k for k in own if k not in sd and k not in drop_set)
    unexpected = sorted(k for k in sd if k not in own)
    shapes = sorted(f"{k} {tuple(sd[k].shape)} vs {tuple(own[k].shape)}"
                    for k in overlap if tuple(sd[k].shape) != tuple(own[k].shape))
    dtypes = dtype_mismatches(own, sd)
    if missing or unexpected or shapes or dtypes:
        parts = []
        if missing:
            parts.append(_listing("missing keys", missing))
        if unexpected:
            parts.append(_listing("unexpected keys", unexpected))
        if shapes:
            parts.append(_listing("shape mismatches (file vs model)", shapes))
        if dtypes:
            parts.append(_listing("dtype mismatches (file vs model)", dtypes))
        raise IncompatibleWeightsError(f"{where} do not fit the model: " + "; ".join(parts))
    module.load_state_dict(sd, strict=not drop_set)
    return sorted(drop_set & set(own))


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
            f"{path} is not a readable safetensors file: {first_line(exc)}") from None
    return out


def check_weights_fit(factory: Callable[[], nn.Module],
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


def full_config_from_metadata(meta: Mapping[str, str], source: str) -> dict[str, Any]:
    """The full model config stored under ``skelloc.model_args``."""
    if "skelloc.architecture" not in meta or "skelloc.model_args" not in meta:
        raise IncompatibleWeightsError(
            f"{source} has no skelloc metadata (skelloc.architecture / skelloc.model_args); "
            "it is not a skelloc weights file. Convert original checkpoints with "
            "'skelloc convert'.")
    try:
        cfg = json.loads(meta["skelloc.model_args"])
    except json.JSONDecodeError as err:
        raise IncompatibleWeightsError(f"{source}: skelloc.model_args is not JSON: {err}") from err
    except RecursionError:
        raise IncompatibleWeightsError(f"{source}: skelloc.model_args is nested too deeply") \
            from None
    if not isinstance(cfg, dict):
        raise IncompatibleWeightsError(f"{source}: skelloc.model_args is not a JSON object")
    if "model_args" not in cfg:  # tolerate files that store only the backbone kwargs
        cfg = {"architecture": meta["skelloc.architecture"], "model_args": cfg}
    return cfg


def _norm(x: Any) -> Any:
    return json.loads(json.dumps(x, sort_keys=True))


def check_metadata(path: str | os.PathLike[str], *, role: str, architecture: str,
                   model_args: Mapping[str, Any], head_name: str | None,
                   head_args: Mapping[str, Any], num_classes: int) -> dict[str, str]:
    """Cross-check a file's metadata with the manifest (:class:`IncompatibleWeightsError`)."""
    meta = read_header(path)
    cfg = full_config_from_metadata(meta, str(path))
    problems = []
    component = meta.get("skelloc.component")
    if component not in (role, "full"):
        problems.append(f"component is {component!r}, expected {role!r}")
    if meta["skelloc.architecture"] != architecture:
        problems.append(f"architecture {meta['skelloc.architecture']!r} != manifest "
                        f"{architecture!r}")
    if _norm(cfg.get("model_args", {})) != _norm(dict(model_args)):
        problems.append(f"model_args {cfg.get('model_args')} != manifest {dict(model_args)}")
    if role == "head":
        if cfg.get("head") != head_name:
            problems.append(f"head {cfg.get('head')!r} != manifest {head_name!r}")
        if _norm(cfg.get("head_args") or {}) != _norm(dict(head_args)):
            problems.append(f"head_args {cfg.get('head_args')} != manifest {dict(head_args)}")
        if "num_classes" in cfg and cfg["num_classes"] != num_classes:
            problems.append(f"num_classes {cfg['num_classes']} != manifest {num_classes}")
    if problems:
        raise IncompatibleWeightsError(f"{path} does not match its manifest entry: "
                                       + "; ".join(problems))
    return meta
