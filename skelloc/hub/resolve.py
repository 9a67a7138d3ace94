"""Find, fetch and verify each weights file (docs/design/hub.md#resolution).

Order, first hit wins: explicit local folder → ``SKELLOC_WEIGHTS_DIR`` → package data → Hub cache
at the pinned commit → offline gate (:class:`WeightsNotCachedError`) → ``hf_hub_download`` →
mirror URLs.  Every file is checked against the manifest's SHA-256 and size; a bad downloaded
or cached copy is deleted and fetched once more before :class:`ChecksumMismatchError`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from skelloc.errors import (
    ChecksumMismatchError,
    DownloadError,
    WeightsNotCachedError,
    WeightsNotFoundError,
)
from skelloc.hub import download
from skelloc.hub.manifest import FileSpec, ModelEntry
from skelloc.hub.settings import HubSettings
from skelloc.hub.verify import check_file, remove_cached_copy, verify_file

__all__ = ["ResolvedFile", "resolve_file", "resolve_files", "package_file", "mirror_cache_path",
           "locate_file"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResolvedFile:
    """A verified local file and where it came from."""

    spec: FileSpec
    path: Path
    source: str  # "local-dir", "weights-dir", "package", "cache", "hub", "mirror"
    trail: list[str] = field(default_factory=list)


@contextlib.contextmanager
def package_file(filename: str) -> Iterator[Path | None]:
    """``skelloc/weights/<filename>`` as a real path (works from zipped installs)."""
    ref = resources.files("skelloc").joinpath("weights").joinpath(filename)
    if not ref.is_file():
        yield None
        return
    with resources.as_file(ref) as real:
        yield Path(real)


def mirror_cache_path(spec: FileSpec, settings: HubSettings) -> Path:
    return settings.cache_dir / "skelloc-mirrors" / spec.sha256 / Path(spec.filename).name


def _check(path: Path, spec: FileSpec, source: str, verify: bool, action: str = "none") -> Path:
    if verify:
        verify_file(path, spec, source=source, action=action)
    return path


def _fix_text(entry: ModelEntry) -> str:
    return (f"fixes: run 'skelloc download {entry.name}' on a connected machine (or unset "
            f"SKELLOC_OFFLINE/HF_HUB_OFFLINE), or stage the files elsewhere with 'skelloc download "
            f"{entry.name} --to DIR', copy DIR here and set SKELLOC_WEIGHTS_DIR=DIR")


def resolve_file(entry: ModelEntry, spec: FileSpec, settings: HubSettings, *,
                 local_dir: Path | None = None, verify: bool = True,
                 revision: str | None = None) -> ResolvedFile:
    """Return a verified local path for one file of ``entry``."""
    trail: list[str] = []
    # 1. explicit local folder: never touches the network
    if local_dir is not None:
        path = local_dir / spec.filename
        if not path.is_file():
            raise WeightsNotFoundError(f"{entry.name}: {spec.role} file {path} does not exist")
        return ResolvedFile(spec, _check(path, spec, f"local folder {local_dir}", verify),
                            "local-dir", [f"local dir {local_dir}: found"])
    # 2. pre-staged folder (air-gapped use)
    if settings.weights_dir is not None:
        path = settings.weights_dir / entry.name / spec.filename
        if path.is_file():
            return ResolvedFile(spec, _check(path, spec, f"weights dir {settings.weights_dir}",
                                             verify), "weights-dir", trail)
        trail.append(f"weights dir {path}: missing")
    else:
        trail.append("weights dir: not set")
    # 3. package data
    if spec.source == "package":
        with package_file(spec.filename) as packaged:
            if packaged is None:
                raise WeightsNotFoundError(f"{entry.name}: packaged file skelloc/weights/"
                                           f"{spec.filename} is missing; reinstall skelloc")
            return ResolvedFile(spec, _check(packaged, spec, "package data", verify), "package",
                                trail)
    hub = entry.hub
    if hub is None:
        raise WeightsNotFoundError(f"{entry.name}: {spec.filename} not found and the manifest "
                                   f"({entry.origin}) names no Hub repo; tried: "
                                   + " -> ".join(trail))
    rev = revision or hub.revision
    # 4. Hub cache at the pinned commit (zero network); a bad copy is dropped and refetched
    cached = download.cached_path(hub.repo_id, spec.filename, rev, settings, hub.repo_type)
    refetch = False
    if cached is not None:
        result = check_file(cached, spec) if verify else None
        if result is None or result.ok:
            return ResolvedFile(spec, cached, "cache", trail)
        log.warning("%s: cached %s fails verification (%s); deleting it", entry.name,
                    spec.filename, result.status)
        remove_cached_copy(cached)
        refetch = True
        trail.append(f"cache {settings.cache_dir}@{rev[:12]}: corrupt, deleted")
    else:
        trail.append(f"cache {settings.cache_dir}@{rev[:12]}: missing")
    mirror_copy = mirror_cache_path(spec, settings)
    if entry.mirrors and mirror_copy.is_file():
        if not verify or check_file(mirror_copy, spec).ok:
            return ResolvedFile(spec, mirror_copy, "mirror", trail)
        mirror_copy.unlink()
    # 5. offline gate
    if settings.offline:
        trail.append("hub: offline")
        raise WeightsNotCachedError(
            f"{entry.name}: {spec.filename} is not available offline. Tried: "
            + " -> ".join(trail) + ".\n" + _fix_text(entry))
    # 6. Hub download (verified; one forced retry on a mismatch)
    try:
        path = download.hub_download(hub.repo_id, spec.filename, rev, settings,
                                     repo_type=hub.repo_type, force_download=refetch)
        source = f"{settings.endpoint} ({hub.repo_id}@{rev[:12]})"
        if not verify:
            return ResolvedFile(spec, path, "hub", trail)
        if check_file(path, spec).ok:
            return ResolvedFile(spec, path, "hub", trail)
        if not refetch:  # a bad cached copy was already deleted and fetched once
            log.warning("%s: downloaded %s fails verification; deleting it and retrying once",
                        entry.name, spec.filename)
            remove_cached_copy(path)
            path = download.hub_download(hub.repo_id, spec.filename, rev, settings,
                                         repo_type=hub.repo_type, force_download=True)
        if not check_file(path, spec).ok:
            try:
                verify_file(path, spec, source=source,
                            action="bad copy deleted, retried once with force_download, "
                            "deleted again")
            finally:
                remove_cached_copy(path)
        return ResolvedFile(spec, path, "hub", trail)
    except DownloadError as hub_err:
        if not entry.mirrors:
            raise
        trail.append(f"hub {settings.endpoint}: {type(hub_err).__name__}")
        return _from_mirrors(entry, spec, settings, trail, hub_err)


def _from_mirrors(entry: ModelEntry, spec: FileSpec, settings: HubSettings, trail: list[str],
                  hub_err: DownloadError) -> ResolvedFile:
    dest = mirror_cache_path(spec, settings)
    errors: list[str] = []
    mismatch: ChecksumMismatchError | None = None
    for template in entry.mirrors:
        url = template.format(filename=spec.filename, sha256=spec.sha256, name=entry.name)
        for attempt in range(2):
            try:
                download.mirror_download(url, dest)
            except DownloadError as err:
                errors.append(str(err))
                break
            result = check_file(dest, spec)
            if result.ok:
                trail.append(f"mirror {url}: ok")
                return ResolvedFile(spec, dest, "mirror", trail)
            dest.unlink(missing_ok=True)
            if attempt == 1:
                mismatch = ChecksumMismatchError(
                    f"{spec.filename}: checksum mismatch from mirror {url}: expected sha256 "
                    f"{spec.sha256} size {spec.size}, got {result.actual_sha256} size "
                    f"{result.actual_size}; action taken: deleted, retried once")
    if mismatch is not None:
        raise mismatch
    raise DownloadError(f"{hub_err}\nmirrors also failed: " + "; ".join(errors)) from hub_err


def resolve_files(entry: ModelEntry, settings: HubSettings, *, load_head: bool = True,
                  local_dir: Path | None = None, verify: bool = True,
                  revision: str | None = None) -> dict[str, ResolvedFile]:
    """Resolve the encoder (and head) files of ``entry``."""
    return {f.role: resolve_file(entry, f, settings, local_dir=local_dir, verify=verify,
                                 revision=revision)
            for f in entry.weight_files(load_head)}


def locate_file(entry: ModelEntry, spec: FileSpec,
                settings: HubSettings) -> tuple[str, Path | None]:
    """Where a file is available locally right now, without network or verification."""
    if settings.weights_dir is not None:
        p = settings.weights_dir / entry.name / spec.filename
        if p.is_file():
            return "weights-dir", p
    if spec.source == "package":
        with package_file(spec.filename) as packaged:
            return ("package", packaged) if packaged is not None else ("missing", None)
    if entry.hub is not None:
        cached = download.cached_path(entry.hub.repo_id, spec.filename, entry.hub.revision,
                                      settings, entry.hub.repo_type)
        if cached is not None:
            return "cache", cached
    mc = mirror_cache_path(spec, settings)
    if mc.is_file():
        return "mirror", mc
    return "missing", None
