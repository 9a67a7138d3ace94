"""Reading weights files and loading them strictly into a model (``hub.md`` §3, §7).

safetensors only: the ``__metadata__`` map carries the architecture and arguments (written by
:mod:`skelloc.models.serialization`) and is cross-checked against the manifest.  Pickle files are
refused unless the caller passes ``allow_pickle=True``, and then read only with
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skelloc.errors import IncompatibleWeightsError, UnsafeCheckpointError

__all__ = [
    "PICKLE_SUFFIXES",
    "read_metadata",
    "read_state_dict",
    "load_torch_file",
    "clean_state_dict",
    "strip_prefix",
    "load_into",
    "check_metadata",
    "full_config_from_metadata",
]

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from torch import nn

log = logging.getLogger(__name__)

PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".pkl", ".tar")
_WRAPPERS = ("state_dict_ema", "model_ema", "ema", "state_dict", "model", "net", "module")
_PREFIXES = ("module.", "_orig_mod.")


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0][:200]


def read_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The ``__metadata__`` of a safetensors file (header only; no tensor is read)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as fh:
            return dict(fh.metadata() or {})
    except Exception as err:  # noqa: BLE001 - SafetensorError, OSError, ...
        raise IncompatibleWeightsError(
            f"{path} is not a readable safetensors file: {_first_line(err)}") from None


def read_state_dict(path: str | os.PathLike[str], *, allow_pickle: bool = False,
                    device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """Tensors of a safetensors file, or (opt-in) of a pickle checkpoint via ``weights_only``."""
    p = Path(path)
    if p.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return dict(load_file(str(p), device=str(device)))
        except Exception as err:  # noqa: BLE001
            raise IncompatibleWeightsError(
                f"{p} is not a readable safetensors file: {_first_line(err)}") from None
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
    import pickle

    import torch

    try:
        return torch.load(str(path), map_location=device, weights_only=True)
    except pickle.UnpicklingError as err:
        raise UnsafeCheckpointError(
            f"{path}: the {what} holds objects other than tensors and plain containers; "
            f"refused, nothing was executed ({_first_line(err)})") from None
    except (RuntimeError, EOFError, OSError, ValueError, KeyError, AttributeError,
            TypeError, IndexError, UnicodeDecodeError, MemoryError) as err:
        raise IncompatibleWeightsError(
            f"{path}: not a readable {what} (truncated or corrupt: {_first_line(err)})") from None


def clean_state_dict(obj: Any, *, source: str = "checkpoint") -> dict[str, torch.Tensor]:
    """Unwrap ``state_dict``/``model``/``ema`` sub-dicts and strip ``module.``/``_orig_mod.``."""
    import torch

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


def _listing(items: list[str], limit: int = 20) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" ... (+{len(items) - limit} more)" if len(items) > limit else "")


def load_into(module: nn.Module, state: Mapping[str, torch.Tensor], *, what: str,
              drop: Iterable[str] = (), source: str = "") -> list[str]:
    """Load ``state`` into ``module`` strictly, except the keys in ``drop``.

    Returns the keys that were left at their fresh initialisation (the dropped ones).  Raises
    :class:`IncompatibleWeightsError` listing missing and unexpected keys and shape mismatches,
    and when no key overlaps at all (never a silently random model).
    """
    from skelloc.models.serialization import dtype_mismatches

    own = module.state_dict()
    drop_set = set(drop)
    sd = {k: v for k, v in state.items() if k not in drop_set}
    overlap = set(sd) & set(own)
    where = f"{what} weights" + (f" from {source}" if source else "")
    if not overlap and own:
        raise IncompatibleWeightsError(
            f"{where}: no key matches the model at all, so loading would give a random model. "
            f"checkpoint keys: {_listing(sorted(state), 8)}; "
            f"model keys: {_listing(sorted(own), 8)}")
    missing = sorted(k for k in own if k not in sd and k not in drop_set)
    unexpected = sorted(k for k in sd if k not in own)
    shapes = sorted(f"{k} {tuple(sd[k].shape)} vs model {tuple(own[k].shape)}"
                    for k in overlap if tuple(sd[k].shape) != tuple(own[k].shape))
    dtypes = dtype_mismatches(own, sd)
    if missing or unexpected or shapes or dtypes:
        parts = []
        if missing:
            parts.append(f"missing keys ({len(missing)}): {_listing(missing)}")
        if unexpected:
            parts.append(f"unexpected keys ({len(unexpected)}): {_listing(unexpected)}")
        if shapes:
            parts.append(f"shape mismatches ({len(shapes)}): {_listing(shapes)}")
        if dtypes:
            parts.append(f"dtype mismatches ({len(dtypes)}): {_listing(dtypes)}")
        raise IncompatibleWeightsError(f"{where} do not fit the model: " + "; ".join(parts))
    module.load_state_dict(sd, strict=not drop_set)
    return sorted(drop_set & set(own))


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
    meta = read_metadata(path)
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
