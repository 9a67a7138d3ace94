"""Local sources: ``local-dir:`` folders, plain paths and ``SHA256SUMS`` (docs/design/hub.md#resolution).

A folder holds either a ``weights_manifest.json`` (as written by ``skelloc download --to`` and
``skelloc export``) or self-describing skelloc safetensors (``encoder.safetensors``,
``head.safetensors``, optional ``config.json``); a single ``.safetensors`` path is the ``full``
component.  Pickle checkpoints need ``allow_pickle=True`` and a ``config.json`` beside them.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skelloc.errors import (
    ChecksumMismatchError,
    IncompatibleWeightsError,
    ManifestError,
    UnsafeCheckpointError,
    WeightsNotFoundError,
)
from skelloc.hub.manifest import (
    Manifest,
    ModelEntry,
    parse_entry,
    parse_input_spec,
    read_manifest,
)
from skelloc.hub.verify import sha256_file
from skelloc.model_config import default_labels
from skelloc.models.weights import PICKLE_SUFFIXES, full_config_from_metadata, read_header

__all__ = ["LocalSource", "inspect_local", "read_sha256sums", "verify_sha256sums"]

log = logging.getLogger(__name__)

_WARNED: set[str] = set()


@dataclass
class LocalSource:
    """What was found at a local path."""

    entry: ModelEntry
    files: dict[str, Path]
    full_file: Path | None = None
    from_manifest: bool = False


def read_sha256sums(path: Path) -> dict[str, str]:
    """Parse a ``sha256sum``-style file (``<hex>  <name>``)."""
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^([0-9a-fA-F]{64})\s+\*?(.+)$", line.strip())
        if m:
            out[m.group(2).strip()] = m.group(1).lower()
    return out


def verify_sha256sums(folder: Path, files: list[Path]) -> bool:
    """Check ``files`` against ``folder/SHA256SUMS``; warn once when there is none."""
    sums_path = folder / "SHA256SUMS"
    if not sums_path.is_file():
        key = str(folder.resolve())
        if key not in _WARNED:
            _WARNED.add(key)
            log.warning("loading unverified local weights from %s (no weights_manifest.json or "
                        "SHA256SUMS there)", folder)
        return False
    sums = read_sha256sums(sums_path)
    for f in files:
        rel = f.relative_to(folder).as_posix() if f.is_relative_to(folder) else f.name
        expected = sums.get(rel)
        if expected is None:
            continue
        actual = sha256_file(f)
        if actual != expected:
            raise ChecksumMismatchError(f"{f}: sha256 {actual} does not match {sums_path} "
                                        f"({expected})")
    return True


def _entry_from_config(cfg: dict[str, Any], name: str, origin: str) -> ModelEntry:
    labels = cfg.get("labels")
    num_classes = cfg.get("num_classes")
    if labels is not None and not (isinstance(labels, list)
                                   and all(isinstance(x, str) for x in labels)):
        raise IncompatibleWeightsError(f"{origin}: labels must be a JSON list of strings, got "
                                       f"{type(labels).__name__}")
    if labels and isinstance(num_classes, int) and len(labels) != num_classes:
        raise IncompatibleWeightsError(f"{origin}: {len(labels)} labels for {num_classes} "
                                       "classes")
    if not isinstance(labels, list):
        n = int(num_classes) if isinstance(num_classes, int) else 0
        labels = default_labels(n)
    spec = cfg.get("input_spec") or {}
    try:
        if not isinstance(spec, dict):
            raise ManifestError(f"{origin}: input_spec must be an object")
        input_spec = parse_input_spec(spec, origin, "input_spec")
    except ManifestError as err:
        raise IncompatibleWeightsError(str(err)) from None
    return ModelEntry(
        name=name, architecture=str(cfg.get("architecture")),
        model_args=dict(cfg.get("model_args") or {}),
        input_spec=input_spec,
        label_names=[str(x) for x in labels], head_name=cfg.get("head"),
        head_args=dict(cfg.get("head_args") or {}), classifier_keys=[], files={}, raw=cfg,
        origin=origin, inference=dict(cfg.get("inference") or {}),
        output=str(cfg.get("output", "softmax")),
    )


def _json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise IncompatibleWeightsError(f"{what} is not JSON ({err.msg}, line {err.lineno})") \
            from None
    except RecursionError:
        raise IncompatibleWeightsError(f"{what} is JSON nested too deeply") from None


def _json_file(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise IncompatibleWeightsError(f"{path}: cannot read it as UTF-8 text "
                                       f"({type(err).__name__})") from None
    return _json(text, str(path))


def _config_from_meta(path: Path) -> dict[str, Any]:
    meta = read_header(path)
    cfg = dict(full_config_from_metadata(meta, str(path)))
    for key, meta_key in (("labels", "skelloc.labels"), ("input_spec", "skelloc.input_spec")):
        if key not in cfg and meta_key in meta:
            cfg[key] = _json(meta[meta_key], f"{path}: {meta_key}")
    return cfg


def _pick_entry(manifest: Manifest, folder: Path) -> ModelEntry:
    if manifest.default is not None:
        return manifest.models[manifest.default]
    if len(manifest.models) == 1:
        return next(iter(manifest.models.values()))
    raise WeightsNotFoundError(f"{folder}/weights_manifest.json lists {len(manifest.models)} "
                               "models and no default; load one of its subfolders instead")


def inspect_local(path: Path, *, allow_pickle: bool = False) -> LocalSource:
    """Work out the model at a local path (raises :class:`WeightsNotFoundError` if missing)."""
    if not path.exists():
        raise WeightsNotFoundError(f"local weights path {path} does not exist")
    name = re.sub(r"[^a-z0-9._-]+", "-", path.stem.lower()).strip("-") or "local"
    if path.is_file():
        if path.suffix == ".safetensors":
            cfg = _config_from_meta(path)
            verify_sha256sums(path.parent, [path])
            return LocalSource(_entry_from_config(cfg, name, str(path)), {}, full_file=path)
        if path.suffix in PICKLE_SUFFIXES:
            if not allow_pickle:
                raise UnsafeCheckpointError(
                    f"{path} is a pickle checkpoint; pickle can run arbitrary code, so skelloc "
                    "refuses it. Convert it with 'skelloc convert', or pass allow_pickle=True "
                    "to read it with torch.load(weights_only=True).")
            cfg_path = path.parent / "config.json"
            if not cfg_path.is_file() and allow_pickle:
                raise WeightsNotFoundError(f"{path}: a pickle checkpoint needs a config.json "
                                           "beside it naming the architecture")
            cfg = _json_file(cfg_path) if cfg_path.is_file() else {}
            verify_sha256sums(path.parent, [path])
            return LocalSource(_entry_from_config(cfg, name, str(path)), {}, full_file=path)
        raise IncompatibleWeightsError(f"{path}: unknown weights format (expected .safetensors)")
    manifest_path = path / "weights_manifest.json"
    if manifest_path.is_file():
        entry = _pick_entry(read_manifest(manifest_path), path)
        return LocalSource(entry, {}, from_manifest=True)
    files: dict[str, Path] = {}
    for role in ("encoder", "head"):
        for suffix in (".safetensors", *PICKLE_SUFFIXES):
            candidate = path / f"{role}{suffix}"
            if candidate.is_file():
                files[role] = candidate
                break
    if "encoder" not in files:
        singles = sorted(path.glob("*.safetensors"))
        if len(singles) == 1:
            return inspect_local(singles[0], allow_pickle=allow_pickle)
        raise WeightsNotFoundError(f"{path} holds no weights_manifest.json, no "
                                   "encoder.safetensors and no single .safetensors file")
    cfg_path = path / "config.json"
    if files["encoder"].suffix == ".safetensors":
        cfg = _config_from_meta(files.get("head", files["encoder"]))
    elif cfg_path.is_file():
        cfg = _json_file(cfg_path)
    else:
        raise WeightsNotFoundError(f"{path}: pickle weights need a config.json")
    if cfg_path.is_file():
        extra = _json_file(cfg_path)
        if isinstance(extra, dict):
            cfg = {**extra, **cfg}
    verify_sha256sums(path, list(files.values()))
    entry = _entry_from_config(cfg, name, str(path))
    return LocalSource(entry, files)


def entry_from_json(data: dict[str, Any], name: str, origin: str) -> ModelEntry:
    """Validate a bare manifest entry (used for ``export`` round trips)."""
    return parse_entry(name, data, origin)
