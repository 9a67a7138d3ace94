"""Staging for air-gapped machines and Hub-ready export folders (docs/design/hub.md#offline).

* :func:`stage_models` (``skelloc download --to DIR``): ``DIR/<name>/<files>``, the manifest entry
  as ``DIR/<name>/weights_manifest.json`` and ``DIR/<name>/SHA256SUMS``; then
  ``SKELLOC_WEIGHTS_DIR=DIR SKELLOC_OFFLINE=1`` or ``load("local-dir:DIR/<name>")`` works offline.
* :func:`export_model` (``skelloc export``, ``skelloc train export``): a folder ready for
  ``hf upload``: weights, ``weights_manifest.json`` with sha256/size, ``SHA256SUMS`` and a model
  card ``README.md`` with YAML front matter.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from skelloc._atomic import atomic_copy, atomic_write_text
from skelloc.errors import ConfigError
from skelloc.hub.api import resolve_weights
from skelloc.hub.card import model_card
from skelloc.hub.manifest import SCHEMA_VERSION, parse_entry, registry
from skelloc.hub.verify import sha256_file
from skelloc.models.weights import full_config_from_metadata, read_header, read_state_dict

__all__ = ["stage_models", "export_model", "export_registered"]

log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]


def _write_folder(folder: Path, name: str, entry: dict[str, Any], sources: Mapping[str, Path],
                  readme: str | None) -> None:
    for role, src in sources.items():
        atomic_copy(src, folder / entry["files"][role]["filename"])
    doc = {"schema_version": SCHEMA_VERSION, "default": name, "models": {name: entry}}
    atomic_write_text(folder / "weights_manifest.json", json.dumps(doc, indent=2) + "\n")
    sums = "".join(f"{f['sha256']}  {f['filename']}\n" for f in entry["files"].values())
    atomic_write_text(folder / "SHA256SUMS", sums)
    if readme is not None:
        atomic_write_text(folder / "README.md", readme)


def stage_models(names: Sequence[str], to: PathLike, **kwargs: Any) -> list[Path]:
    """Download, verify and copy models into ``to/<name>/`` for offline use.

    Keyword arguments are those of :func:`skelloc.hub.api.resolve_weights` (endpoint, cache_dir,
    offline, token).  Returns the model folders.
    """
    reg = registry()
    out = []
    for name in names:
        entry = reg.get(name)
        paths = resolve_weights(entry.name, **kwargs)
        extra = {spec.role: None for spec in entry.files.values() if spec.role not in paths}
        if extra:
            log.warning("%s: only weights files are staged, not %s", entry.name, sorted(extra))
        folder = Path(to) / entry.name
        _write_folder(folder, entry.name, entry.to_json(), paths, None)
        out.append(folder)
        log.info("staged %s in %s", entry.name, folder)
    return out


def _file_record(path: Path, filename: str) -> dict[str, Any]:
    return {"filename": filename, "sha256": sha256_file(path), "size": path.stat().st_size,
            "format": "safetensors"}


def _classifier_keys(head_path: Path, num_classes: int, head: Any = None) -> list[str]:
    declared = getattr(head, "classifier_keys", None)
    if declared:
        return list(declared)
    sd = read_state_dict(head_path)
    keys = [k[5:] if k.startswith("head.") else k for k in sd]
    hits = [k for k, t in zip(keys, sd.values(), strict=True)
            if t.ndim >= 1 and t.shape[0] == num_classes + 1]
    if not hits:
        return []
    module = hits[-1].rsplit(".", 1)[0]
    return [k for k in hits if k.rsplit(".", 1)[0] == module]


def _weights_from(source: Any, workdir: Path) -> tuple[dict[str, Path], Any]:
    """Encoder/head safetensors from a Localizer, a saved folder or a {role: path} map."""
    if isinstance(source, Mapping):
        return {str(k): Path(v) for k, v in source.items()}, None
    if isinstance(source, str | os.PathLike):
        folder = Path(source)
        if not (folder / "encoder.safetensors").is_file():
            raise ConfigError(f"{folder} holds no encoder.safetensors (save the model with "
                              "Localizer.save(folder) first)")
        files = {"encoder": folder / "encoder.safetensors"}
        if (folder / "head.safetensors").is_file():
            files["head"] = folder / "head.safetensors"
        return files, None
    save = getattr(source, "save", None)
    if save is None:
        raise ConfigError(f"cannot export a {type(source).__name__}; pass a Localizer, a saved "
                          "folder or {'encoder': path, 'head': path}")
    save(workdir)
    return _weights_from(workdir, workdir)[0], getattr(source, "head", None)


def export_model(localizer_or_files: Any, name: str, to: PathLike, *,
                 metrics: Mapping[str, Any] | None = None,
                 card_extra: Mapping[str, Any] | None = None, description: str = "",
                 license: str | Mapping[str, Any] | None = None,
                 datasets: Sequence[str] | None = None, citation: str | None = None,
                 repo_id: str | None = None, aliases: Sequence[str] = ()) -> Path:
    """Write a Hub-ready folder for a trained model and return it.

    ``card_extra`` adds model-card sections; recognised keys are ``training_data``, ``recipe``,
    ``seeds``, ``limitations``, ``intended_use``, ``tags`` and ``paper``; any other key becomes a
    section of its own.  The manifest entry has no ``hub`` section until the folder is uploaded:
    the README explains how to pin the commit.
    """
    folder = Path(to)
    with tempfile.TemporaryDirectory(prefix="skelloc-export-") as tmp:
        files, head = _weights_from(localizer_or_files, Path(tmp))
        meta = read_header(files["encoder"])
        cfg = full_config_from_metadata(meta, str(files["encoder"]))
        head_meta = read_header(files["head"]) if "head" in files else meta
        labels = json.loads(head_meta.get("skelloc.labels", meta.get("skelloc.labels", "[]")))
        input_spec = json.loads(meta.get("skelloc.input_spec", "{}"))
        head_cfg = full_config_from_metadata(head_meta, str(files.get("head", files["encoder"])))
        extra = dict(card_extra or {})
        entry: dict[str, Any] = {
            "description": description or f"{cfg.get('architecture')} temporal action localizer",
            "aliases": list(aliases),
            "task": "temporal-action-localization",
            "architecture": cfg.get("architecture", meta["skelloc.architecture"]),
            "model_args": cfg.get("model_args", {}),
            "input_spec": input_spec,
            "labels": {"names": labels, "num_classes": len(labels),
                       "background_index": len(labels)},
            "head": {"name": head_cfg.get("head") if "head" in files else None,
                     "args": head_cfg.get("head_args") or {},
                     "classifier_keys": (_classifier_keys(files["head"], len(labels), head)
                                         if "head" in files else [])},
            "files": {role: _file_record(p, f"{role}.safetensors") for role, p in files.items()},
        }
        if cfg.get("inference"):
            entry["inference"] = dict(cfg["inference"])
        if head_cfg.get("output", "softmax") != "softmax":  # multi-label (per-class sigmoid)
            entry["output"] = head_cfg["output"]
        if license is not None:
            entry["license"] = dict(license) if isinstance(license, Mapping) else {"id": license}
        if datasets:
            entry["datasets"] = list(datasets)
        if metrics:
            entry["metrics"] = dict(metrics)
        if citation:
            entry["citation"] = citation
        if extra.get("paper"):
            entry["paper"] = extra["paper"]
        if extra:  # kept in the entry so that `skelloc export NAME` rebuilds the same card
            entry["card"] = {k: v for k, v in extra.items() if k != "paper"}
        parse_entry(name, entry, f"export of {name}")  # the folder must load back
        readme = model_card(name, entry, repo_id=repo_id, extra=extra)
        _write_folder(folder, name, entry, files, readme)
        cfg_json = Path(tmp) / "config.json"
        if cfg_json.is_file():
            atomic_copy(cfg_json, folder / "config.json")
    log.info("exported %s to %s", name, folder)
    return folder


def export_registered(name: str, to: PathLike, **kwargs: Any) -> Path:
    """``skelloc export NAME``: the Hub-ready folder of a model already in a manifest."""
    entry = registry().get(name)
    paths = resolve_weights(entry.name, **kwargs)
    data = entry.to_json()
    data.pop("hub", None)
    readme = model_card(entry.name, data, repo_id=entry.hub.repo_id if entry.hub else None,
                        extra=dict(data.get("card") or {}))
    folder = Path(to)
    data["files"] = {r: data["files"][r] for r in paths}
    _write_folder(folder, entry.name, data, paths, readme)
    return folder
