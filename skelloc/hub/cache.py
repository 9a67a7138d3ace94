"""Cache housekeeping and re-verification (``skelloc cache``, ``skelloc verify``)."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from skelloc.hub.manifest import registry
from skelloc.hub.resolve import locate_file, mirror_cache_path
from skelloc.hub.settings import resolve_settings
from skelloc.hub.verify import check_file, remove_cached_copy

__all__ = ["cache_path", "clear_cache", "verify_models", "VerifyRecord"]

log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]


def cache_path(cache_dir: PathLike | None = None) -> Path:
    """The Hub cache skelloc uses now (shared with huggingface_hub)."""
    return resolve_settings(cache_dir=cache_dir).cache_dir


def _repo_folder(cache: Path, repo_id: str, repo_type: str = "model") -> Path:
    return cache / f"{repo_type}s--{repo_id.replace('/', '--')}"


def clear_cache(names: Sequence[str] | None = None, *,
                cache_dir: PathLike | None = None) -> list[Path]:
    """Delete the cached files of skelloc models (all, or ``names``) at their pinned commits.

    Only the snapshot pointers and blobs named by the manifest are removed; other files of the
    same repos and other repos in the shared cache are left alone.  Returns the removed paths.
    """
    settings = resolve_settings(cache_dir=cache_dir)
    reg = registry()
    entries = [reg.get(n) for n in names] if names else list(reg.models.values())
    removed: list[Path] = []
    for entry in entries:
        for spec in entry.files.values():
            mc = mirror_cache_path(spec, settings)
            if mc.is_file():
                mc.unlink()
                removed.append(mc)
            removed.extend(_remove_incomplete(mc.parent))
            if entry.hub is None:
                continue
            repo = _repo_folder(settings.cache_dir, entry.hub.repo_id, entry.hub.repo_type)
            snap = repo / "snapshots" / entry.hub.revision
            pointer = snap / spec.filename
            if pointer.is_symlink() or pointer.exists():
                removed.extend(remove_cached_copy(pointer))
        if entry.hub is not None:
            repo = _repo_folder(settings.cache_dir, entry.hub.repo_id, entry.hub.repo_type)
            removed.extend(_remove_incomplete(repo / "blobs"))
            _prune_empty(repo / "snapshots" / entry.hub.revision, stop=repo)
    log.info("removed %d cached files", len(removed))
    return removed


def _remove_incomplete(blobs: Path) -> list[Path]:
    """huggingface_hub's ``*.incomplete`` leftovers of killed downloads (plain files only)."""
    out: list[Path] = []
    if blobs.is_dir() and not blobs.is_symlink():
        for f in blobs.glob("*.incomplete"):
            if f.is_file() and not f.is_symlink():
                f.unlink()
                out.append(f)
    return out


def _prune_empty(folder: Path, stop: Path) -> None:
    cur = folder
    while cur.is_dir() and cur != stop and not any(cur.iterdir()):
        cur.rmdir()
        cur = cur.parent
    snaps = stop / "snapshots"
    if snaps.is_dir() and not any(snaps.iterdir()):
        shutil.rmtree(stop, ignore_errors=True)


@dataclass(frozen=True)
class VerifyRecord:
    """One line of ``skelloc verify``: ``status`` is OK, MISMATCH or MISSING."""

    name: str
    role: str
    filename: str
    status: str
    location: str
    path: str | None


def verify_models(names: Sequence[str] | None = None, *, weights_dir: PathLike | None = None,
                  cache_dir: PathLike | None = None) -> list[VerifyRecord]:
    """Re-hash every local copy of the models' files (no network)."""
    settings = resolve_settings(weights_dir=weights_dir, cache_dir=cache_dir, offline=True)
    reg = registry()
    entries = [reg.get(n) for n in names] if names else list(reg.models.values())
    out: list[VerifyRecord] = []
    for entry in entries:
        for spec in entry.files.values():
            location, path = locate_file(entry, spec, settings)
            if path is None:
                out.append(VerifyRecord(entry.name, spec.role, spec.filename, "MISSING",
                                        location, None))
                continue
            status = check_file(path, spec).status
            out.append(VerifyRecord(entry.name, spec.role, spec.filename, status, location,
                                    str(path)))
    return out
