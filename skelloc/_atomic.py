"""Atomic file writes: a temporary file in the target's folder, then :func:`os.replace`.

Readers never see a half-written cache entry, checkpoint, weights file or export: either the
old file or the complete new one is there.  A failed write leaves no temporary file behind; a
write killed outright (SIGKILL, power loss) leaves ``.<name>.<host>-<pid>.<random><suffix>``,
which a later process deletes once the process that made it is gone: on its first write into
that folder, or through :func:`remove_stale_temporaries`.  A full disk (ENOSPC, EFBIG, EDQUOT) is a
:class:`~skelloc.errors.DiskFullError`; any other write failure an
:class:`~skelloc.errors.OutputWriteError`.  ``durable=True`` (checkpoints, weights) also
``fsync``\\ s the file before the rename and the folder after it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from skelloc.errors import DiskFullError, OutputWriteError, SkellocError

__all__ = [
    "DISK_FULL_ERRNOS",
    "atomic_copy",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "disk_full",
    "remove_stale_temporaries",
]

#: errno values that mean "the device cannot take more bytes"
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT})
# temporaries of processes on other hosts (shared file systems) or of older versions of this
# module are only removed once they are this old
_FOREIGN_MAX_AGE_S = 24 * 3600.0
_CLEANED: set[str] = set()
_TMP = re.compile(r"^\.(?P<name>.+?)\.(?:(?P<host>[A-Za-z0-9_-]+)-(?P<pid>\d+)\.)?"
                  r"[A-Za-z0-9_]{8}(?:\.tmp|\.npy|\.incomplete)$")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname())[:40] or "host"


def disk_full(err: BaseException) -> OSError | None:
    """The ENOSPC/EFBIG/EDQUOT :class:`OSError` in ``err``'s cause chain, if any."""
    seen: set[int] = set()
    cur: BaseException | None = err
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, OSError) and cur.errno in DISK_FULL_ERRNOS:
            return cur
        cur = cur.__cause__ or cur.__context__
    return None


def _typed_write_error(err: OSError, target: Path) -> SkellocError:
    full = disk_full(err)
    if full is not None:
        return DiskFullError(f"{target}: cannot write: {os.strerror(full.errno or 0)} "
                             "(disk full or file size limit); nothing partial was kept, "
                             "free some space or choose another folder")
    return OutputWriteError(f"{target}: cannot write: {err.strerror or err}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def _is_stale(tmp: Path, now: float) -> bool:
    m = _TMP.match(tmp.name)
    if m is None:
        return False
    if m["pid"] is not None and m["host"] == _host():
        return int(m["pid"]) != os.getpid() and not _pid_alive(int(m["pid"]))
    try:
        return now - tmp.stat().st_mtime > _FOREIGN_MAX_AGE_S
    except OSError:
        return False


def remove_stale_temporaries(folder: str | os.PathLike[str], name: str | None = None,
                             ) -> list[Path]:
    """Delete the temporaries that killed writers left in ``folder`` (only of ``name`` when
    given): files ``.<name>.<host>-<pid>.<random>{.tmp,.npy}`` whose process no longer runs on
    this host, and unattributed ones older than a day.  Returns the removed paths."""
    base = Path(folder)
    removed: list[Path] = []
    if not base.is_dir():
        return removed
    now = time.time()
    pattern = f".{_glob_escape(name)}.*" if name else ".*"
    for tmp in base.glob(pattern):
        m = _TMP.match(tmp.name)
        if m is None or (name is not None and m["name"] != name):
            continue
        if tmp.is_file() and not tmp.is_symlink() and _is_stale(tmp, now):
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
                removed.append(tmp)
    return removed


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - file systems that refuse directory fsync
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str = ".tmp", *,
                durable: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``.

    The temporary name ends with ``suffix`` (e.g. ``".npy"`` for writers that append one).
    The result gets the usual file mode (``mkstemp`` would leave it at 0600).  With
    ``durable`` the data reaches the disk before the rename, and the rename before returning.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        folder = os.path.realpath(target.parent)
        if folder not in _CLEANED:  # once per folder and process: O(files), not O(files^2)
            _CLEANED.add(folder)
            remove_stale_temporaries(target.parent)
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.{_host()}-{os.getpid()}.",
                                    suffix=suffix, dir=target.parent)
        os.close(fd)
    except OSError as err:
        raise _typed_write_error(err, target) from err
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        if durable:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, target)
        if durable:
            _fsync_dir(target.parent)
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        full = None if isinstance(err, SkellocError) else disk_full(err)
        if full is not None:
            raise _typed_write_error(full, target) from err
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """UTF-8; characters that cannot be encoded (the surrogate escapes of a non-UTF-8 file
    name) are written as backslash escapes."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8", errors="backslashreplace", newline="")
    return Path(path)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *,
                       durable: bool = False) -> Path:
    with atomic_path(path, durable=durable) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_copy(src: str | os.PathLike[str], dst: str | os.PathLike[str], *,
                durable: bool = False) -> Path:
    """Copy ``src`` (symlinks followed) to ``dst`` atomically."""
    with atomic_path(dst, durable=durable) as tmp:
        shutil.copyfile(os.path.realpath(src), tmp)
    return Path(dst)
