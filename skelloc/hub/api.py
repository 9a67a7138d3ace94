"""The public hub API: :func:`load`, :func:`list_models`, :func:`model_info`, :func:`prefetch`.

Identifiers (docs/design/hub.md#identifiers): a registry name or alias (optionally ``name@revision``),
``hf-hub:org/repo[@commit]`` (a repo carrying its own ``weights_manifest.json``),
``local-dir:<path>`` or an existing path.  Any other string with ``/``, ``\\`` or ``:`` is refused
with a hint, rather than guessed.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skelloc.errors import ManifestError, UnknownModelError, WeightsNotCachedError
from skelloc.hub import download
from skelloc.hub.local import inspect_local
from skelloc.hub.manifest import HubRef, ModelEntry, read_manifest, registry
from skelloc.hub.manifest import register_manifest as _register_manifest
from skelloc.hub.resolve import locate_file, resolve_files
from skelloc.hub.settings import HubSettings, resolve_settings

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from skelloc.models.localizer import Localizer

__all__ = ["load", "list_models", "list_pretrained", "model_info", "register_manifest",
           "prefetch", "resolve_weights", "parse_identifier", "Identifier", "ModelInfo",
           "FileStatus", "default_model_name"]

log = logging.getLogger(__name__)
_HEX40 = re.compile(r"^[0-9a-f]{40}$")

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class Identifier:
    """A parsed model identifier: ``kind`` is ``name``, ``local`` or ``hf-hub``."""

    kind: str
    value: str
    revision: str | None = None


def parse_identifier(name_or_path: str | os.PathLike[str] | None) -> Identifier:
    """Parse what :func:`load` accepts (see the module docstring)."""
    if name_or_path is None:
        return Identifier("name", default_model_name())
    if isinstance(name_or_path, os.PathLike):
        return Identifier("local", os.fspath(name_or_path))
    s = str(name_or_path).strip()
    if s.startswith("local-dir:"):
        return Identifier("local", s[len("local-dir:"):])
    if s.startswith("hf-hub:"):
        repo, _, rev = s[len("hf-hub:"):].partition("@")
        if not re.match(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$", repo):
            raise UnknownModelError(f"{s!r}: expected hf-hub:org/repo[@commit]")
        return Identifier("hf-hub", repo, rev or None)
    if os.path.exists(s):
        return Identifier("local", s)
    if any(c in s for c in "/\\:"):
        raise UnknownModelError(
            f"{s!r} is neither a model name nor an existing path. Use 'local-dir:<path>' for a "
            "local folder (it must exist), 'hf-hub:org/repo@<commit>' for a Hub repo with its "
            "own weights_manifest.json, or a name from 'skelloc list'.")
    name, _, rev = s.partition("@")
    return Identifier("name", name, rev or None)


def default_model_name(kind: str = "3d") -> str:
    """The manifest's ``default`` model, or with ``kind="2d"`` its ``default_2d`` (the model
    for 2D keypoints; the 3D default when no manifest names one)."""
    reg = registry()
    if kind not in ("2d", "3d"):
        raise UnknownModelError(f"kind must be '2d' or '3d', got {kind!r}")
    if kind == "2d" and reg.default_2d is not None:
        return reg.default_2d
    if reg.default is None:
        raise UnknownModelError("no default model: no manifest sets 'default'. Pass a model "
                                "name; see 'skelloc list'.")
    return reg.default


def register_manifest(path: PathLike) -> list[str]:
    """Register a manifest of private or self-hosted models for this process."""
    return _register_manifest(path)


def list_models(pattern: str = "*", pretrained: bool | None = None,
                task: str | None = None) -> list[str]:
    """Model names matching the fnmatch ``pattern``, naturally sorted.

    Every manifest entry has weights, so ``pretrained=False`` returns nothing.
    """
    reg = registry()
    names = reg.names(pattern)
    if pretrained is False:
        return []
    if task is not None:
        names = [n for n in names
                 if reg.models[n].task == task]
    return names


def list_pretrained(pattern: str = "*") -> list[str]:
    """:func:`list_models` with ``pretrained=True``."""
    return list_models(pattern, pretrained=True)


def _settings(**kw: Any) -> HubSettings:
    return resolve_settings(**kw)


def _hf_hub_entry(ident: Identifier, settings: HubSettings) -> tuple[ModelEntry, str]:
    """Fetch ``weights_manifest.json`` of a third-party repo; return its entry and commit."""
    rev = ident.revision or "main"
    if not _HEX40.match(rev):
        log.warning("hf-hub:%s@%s is not pinned to a commit; its content may change", ident.value,
                    rev)
    path = download.cached_path(ident.value, "weights_manifest.json", rev, settings)
    if path is None:
        if settings.offline:
            raise WeightsNotCachedError(
                f"hf-hub:{ident.value}@{rev}: weights_manifest.json is not cached and skelloc is "
                f"offline. Tried: cache {settings.cache_dir}: missing -> hub: offline.\nfixes: "
                "load it once online, or copy the Hub cache folder to this machine")
        path = download.hub_download(ident.value, "weights_manifest.json", rev, settings)
    commit = path.parent.name if _HEX40.match(path.parent.name) else rev
    manifest = read_manifest(path)
    if manifest.default is not None:
        entry = manifest.models[manifest.default]
    elif len(manifest.models) == 1:
        entry = next(iter(manifest.models.values()))
    else:
        raise ManifestError(f"hf-hub:{ident.value}: its manifest lists several models and no "
                            "default")
    log.warning("hf-hub:%s: third-party weights, verified only against that repo's own "
                "manifest (not the packaged one)", ident.value)
    entry = dataclasses.replace(entry, hub=HubRef(ident.value, commit))
    return entry, commit


def _entry_for(ident: Identifier, settings: HubSettings) -> tuple[ModelEntry, str | None, bool]:
    """Entry, revision override, and whether hashes can be checked."""
    if ident.kind == "hf-hub":
        entry, commit = _hf_hub_entry(ident, settings)
        return entry, commit, True
    entry = registry().get(ident.value)
    if ident.revision is not None and (entry.hub is None or ident.revision != entry.hub.revision):
        log.warning("%s@%s: not the pinned commit, so the manifest hashes do not apply and "
                    "files are NOT verified", entry.name, ident.revision)
        return entry, ident.revision, False
    return entry, None, True


def resolve_weights(name: str | None = None, *, load_head: bool = True, verify: bool = True,
                    weights_dir: PathLike | None = None, cache_dir: PathLike | None = None,
                    endpoint: str | None = None, offline: bool | None = None,
                    token: str | bool | None = None) -> dict[str, Path]:
    """Local, verified paths of a model's weights files by role (downloading if needed)."""
    settings = _settings(endpoint=endpoint, cache_dir=cache_dir, offline=offline,
                         weights_dir=weights_dir, token=token)
    ident = parse_identifier(name)
    if ident.kind == "local":
        src = inspect_local(Path(ident.value))
        if src.from_manifest:
            entry = _trusted(src.entry)
            res = resolve_files(entry, settings, load_head=load_head,
                                local_dir=Path(ident.value), verify=verify)
            return {r: f.path for r, f in res.items()}
        return {"full": src.full_file} if src.full_file is not None else dict(src.files)
    entry, rev, can_verify = _entry_for(ident, settings)
    res = resolve_files(entry, settings, load_head=load_head, verify=verify and can_verify,
                        revision=rev)
    return {r: f.path for r, f in res.items()}


def _trusted(entry: ModelEntry) -> ModelEntry:
    """Prefer the packaged/registered entry of the same name (the trust root)."""
    try:
        known = registry().get(entry.name)
    except UnknownModelError:
        return entry
    if known.raw != entry.raw:
        log.warning("%s: the local weights_manifest.json differs from the registered entry; "
                    "verifying against the registered one (%s)", entry.name, known.origin)
    return known


def load(name_or_path: str | os.PathLike[str] | None = None, *, num_classes: int | None = None,
         labels: Sequence[str] | None = None, device: str | torch.device = "cpu",
         weights_dir: PathLike | None = None,
         cache_dir: PathLike | None = None, endpoint: str | None = None,
         offline: bool | None = None, verify: bool = True, allow_pickle: bool = False,
         load_head: bool = True, token: str | bool | None = None) -> Localizer:
    """Load a pretrained model, verified against its manifest.

    Args:
        name_or_path: a model name or alias (``None``: the manifest's default),
            ``hf-hub:org/repo@commit``, ``local-dir:<path>`` or an existing path.
        num_classes: a different class count keeps the encoder and the head's body and
            re-initialises the head's classifier tensors (logged).
        labels: class names for the head (their count works like ``num_classes``).
        device: where to put the model.
        weights_dir: a pre-staged folder (``<dir>/<name>/<file>``); default ``SKELLOC_WEIGHTS_DIR``.
        cache_dir: the Hub cache; default ``SKELLOC_CACHE`` > ``HF_HUB_CACHE`` > ``HF_HOME/hub``.
        endpoint: the Hub endpoint; default ``SKELLOC_ENDPOINT`` > ``HF_ENDPOINT``.
        offline: never use the network; default ``SKELLOC_OFFLINE`` > ``HF_HUB_OFFLINE``.
        verify: check SHA-256 and size of every file (memoised per process).
        allow_pickle: read ``.pt``/``.pth`` files with ``torch.load(weights_only=True)``.
        load_head: ``False`` loads the encoder only (with ``num_classes`` / ``labels``: and a
            freshly initialised head for them).
        token: Hub token; by default only the official Hub gets the stored token.

    Returns:
        A :class:`~skelloc.models.localizer.Localizer` in eval mode.
    """
    from skelloc.hub.build import build_model

    settings = _settings(endpoint=endpoint, cache_dir=cache_dir, offline=offline,
                         weights_dir=weights_dir, token=token)
    ident = parse_identifier(name_or_path)
    if ident.kind == "local":
        folder = Path(ident.value).expanduser()
        src = inspect_local(folder, allow_pickle=allow_pickle)
        if src.from_manifest:
            entry = _trusted(src.entry)
            res = resolve_files(entry, settings, load_head=load_head, local_dir=folder,
                                verify=verify)
            return build_model(entry, {r: f.path for r, f in res.items()},
                               num_classes=num_classes, labels=labels, device=device,
                               load_head=load_head)
        return build_model(src.entry, src.files, num_classes=num_classes, labels=labels,
                           device=device, load_head=load_head, allow_pickle=allow_pickle,
                           check_meta=False,
                           full_file=src.full_file)
    entry, rev, can_verify = _entry_for(ident, settings)
    res = resolve_files(entry, settings, load_head=load_head, verify=verify and can_verify,
                        revision=rev)
    return build_model(entry, {r: f.path for r, f in res.items()}, num_classes=num_classes,
                       labels=labels, device=device, load_head=load_head)


def prefetch(names: str | Sequence[str] | None = None, **kwargs: Any) -> dict[str, dict[str, Path]]:
    """Download and verify models ahead of time (e.g. on rank 0 before a barrier).

    ``names`` defaults to the manifest's default model; keyword arguments are those of
    :func:`resolve_weights`.  Returns ``{name: {role: path}}``.
    """
    if names is None:
        names = [default_model_name()]
    elif isinstance(names, str):
        names = [names]
    return {n: resolve_weights(n, **kwargs) for n in names}


@dataclass(frozen=True)
class FileStatus:
    """Local availability of one file.

    ``location`` is weights-dir, package, cache, mirror or missing.
    """

    role: str
    filename: str
    size: int
    sha256: str
    location: str
    path: str | None


@dataclass(frozen=True)
class ModelInfo:
    """A model's manifest entry plus where each file is available locally."""

    name: str
    entry: dict[str, Any]
    files: list[FileStatus]
    origin: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "origin": self.origin, "entry": self.entry,
                "files": [dataclasses.asdict(f) for f in self.files]}


def model_info(name: str | None = None, *, weights_dir: PathLike | None = None,
               cache_dir: PathLike | None = None) -> ModelInfo:
    """The manifest entry of ``name`` and the cache status of each file (no network)."""
    settings = _settings(weights_dir=weights_dir, cache_dir=cache_dir, offline=True)
    entry = registry().get(name if name is not None else default_model_name())
    files = []
    for spec in entry.files.values():
        location, path = locate_file(entry, spec, settings)
        files.append(FileStatus(spec.role, spec.filename, spec.size, spec.sha256, location,
                                str(path) if path else None))
    return ModelInfo(entry.name, entry.to_json(), files, entry.origin)
