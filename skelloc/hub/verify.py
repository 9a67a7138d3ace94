"""SHA-256 and size verification (docs/design/hub.md#verification): streamed, memoised per process."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from skelloc.errors import ChecksumMismatchError
from skelloc.hub.manifest import FileSpec

__all__ = ["sha256_file", "check_file", "verify_file", "FileCheck", "remove_cached_copy"]

log = logging.getLogger(__name__)

_CHUNK = 1 << 20
_MEMO: dict[tuple[str, int, int], str] = {}
_LOCK = threading.Lock()
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def sha256_file(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file in 1 MiB chunks, memoised by (real path, size, mtime)."""
    real = os.path.realpath(path)
    st = os.stat(real)
    key = (real, st.st_size, st.st_mtime_ns)
    with _LOCK:
        if key in _MEMO:
            return _MEMO[key]
    h = hashlib.sha256()
    with open(real, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    digest = h.hexdigest()
    with _LOCK:
        _MEMO[key] = digest
    return digest


@dataclass(frozen=True)
class FileCheck:
    """The outcome of checking one file: ``status`` is OK, MISMATCH or MISSING."""

    path: Path
    status: str
    expected_sha256: str
    actual_sha256: str | None = None
    expected_size: int = 0
    actual_size: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == "OK"


def check_file(path: str | os.PathLike[str], spec: FileSpec) -> FileCheck:
    """Compare size, then SHA-256, without raising."""
    p = Path(path)
    if not p.is_file():
        return FileCheck(p, "MISSING", spec.sha256, expected_size=spec.size)
    size = p.stat().st_size
    if size != spec.size:
        return FileCheck(p, "MISMATCH", spec.sha256, None, spec.size, size)
    # cheap pre-check: Hub blobs are named by their sha256 ETag
    blob = os.path.basename(os.path.realpath(p))
    if _HEX64.match(blob) and blob != spec.sha256:
        return FileCheck(p, "MISMATCH", spec.sha256, f"{blob} (blob name)", spec.size, size)
    digest = sha256_file(p)
    status = "OK" if digest == spec.sha256 else "MISMATCH"
    return FileCheck(p, status, spec.sha256, digest, spec.size, size)


def verify_file(path: str | os.PathLike[str], spec: FileSpec, *, source: str,
                action: str = "none") -> Path:
    """Raise :class:`ChecksumMismatchError` unless ``path`` matches ``spec`` exactly."""
    result = check_file(path, spec)
    if result.ok:
        return Path(path)
    if result.status == "MISSING":
        raise ChecksumMismatchError(f"{spec.filename}: file {path} is missing after download "
                                    f"from {source}")
    raise ChecksumMismatchError(
        f"{spec.filename}: checksum mismatch for {path} (from {source}): expected sha256 "
        f"{spec.sha256} size {spec.size}, got sha256 {result.actual_sha256 or '(not hashed)'} "
        f"size {result.actual_size}; action taken: {action}")


def _repo_blobs(pointer: Path) -> Path | None:
    """``<repo>/blobs`` for a Hub-cache snapshot entry ``<repo>/snapshots/<rev>/<file...>``."""
    for parent in pointer.parents:
        if parent.parent.name == "snapshots":
            return parent.parent.parent / "blobs"
    return None


def remove_cached_copy(path: str | os.PathLike[str]) -> list[Path]:
    """Delete a Hub-cache snapshot entry, and its blob only when that lies in the repo's
    ``blobs/`` folder; nothing outside the cache is ever deleted (a snapshot entry that is a
    symlink to a user's file loses the link, never the file).  Returns the removed paths."""
    p = Path(os.path.abspath(path))
    real = Path(os.path.realpath(p))
    removed: list[Path] = []
    blobs = _repo_blobs(p)
    if p.is_symlink() or p.is_file():
        p.unlink()
        removed.append(p)
    if (blobs is not None and real != p and real.parent == Path(os.path.realpath(blobs))
            and real.is_file() and not real.is_symlink()):
        real.unlink()
        removed.append(real)
    with _LOCK:
        for key in [k for k in _MEMO if k[0] == str(real)]:
            del _MEMO[key]
    if removed:
        log.info("removed the bad cached copy %s", ", ".join(map(str, removed)))
    return removed
