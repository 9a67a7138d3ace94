"""Transport: ``hf_hub_download`` at a pinned commit, and mirror URLs through ``requests``.

Every exception from huggingface_hub, requests, httpx or httpx2 is wrapped in a
:class:`~skelloc.errors.DownloadError` (or a subclass) that names the endpoint
(docs/design/hub.md#errors).  Nothing here verifies hashes; :mod:`skelloc.hub.resolve` does.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from skelloc._atomic import disk_full
from skelloc.errors import (
    DiskFullError,
    DownloadError,
    RepositoryAccessError,
    RevisionNotFoundError,
)
from skelloc.hub.settings import HubSettings

__all__ = ["hub_download", "cached_path", "mirror_download", "ETAG_TIMEOUT"]

log = logging.getLogger(__name__)

ETAG_TIMEOUT = 10.0
_NET_HINT = ("check the network, the proxy variables (HTTPS_PROXY, NO_PROXY) and the CA "
             "variables (SSL_CERT_FILE, REQUESTS_CA_BUNDLE)")


def cached_path(repo_id: str, filename: str, revision: str, settings: HubSettings,
                repo_type: str = "model") -> Path | None:
    """The cached file at the pinned commit, with zero network, or ``None``."""
    from huggingface_hub import try_to_load_from_cache

    try:
        found = try_to_load_from_cache(repo_id, filename, cache_dir=str(settings.cache_dir),
                                       revision=revision, repo_type=repo_type)
    except Exception as err:  # noqa: BLE001 - a broken cache is treated as a miss
        log.debug("cache lookup failed for %s/%s: %s", repo_id, filename, err)
        return None
    return Path(found) if isinstance(found, str) and os.path.isfile(found) else None


def _probe(endpoint: str, timeout: float) -> None:
    """Fail fast when the endpoint refuses connections.

    huggingface_hub retries a refused HEAD with backoff for about 23 s before giving up; a plain
    TCP connect answers at once.  Skipped when a proxy applies (the proxy decides reachability).
    """
    import socket
    import urllib.parse
    import urllib.request

    url = urllib.parse.urlsplit(endpoint)
    host = url.hostname
    if not host:
        return
    proxies = urllib.request.getproxies()
    if (proxies.get(url.scheme) or proxies.get("all")) and not urllib.request.proxy_bypass(host):
        return
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as err:
        raise DownloadError(f"cannot connect to {endpoint} ({type(err).__name__}: {err}); "
                            f"{_NET_HINT}") from err


def hub_download(repo_id: str, filename: str, revision: str, settings: HubSettings, *,
                 repo_type: str = "model", force_download: bool = False,
                 local_files_only: bool = False) -> Path:
    """``hf_hub_download`` with every setting explicit and every error wrapped (a full disk
    is a :class:`DiskFullError`, exit 7, with the partial download removed)."""
    where = f"{repo_id}@{revision[:12]} file {filename!r} from {settings.endpoint}"
    try:
        return _hub_download(repo_id, filename, revision, settings, where, repo_type=repo_type,
                             force_download=force_download, local_files_only=local_files_only)
    except DownloadError as err:
        full = disk_full(err)
        if full is None:
            raise
        blobs = settings.cache_dir / f"{repo_type}s--{repo_id.replace('/', '--')}" / "blobs"
        for partial in blobs.glob("*.incomplete") if blobs.is_dir() else []:
            partial.unlink(missing_ok=True)  # nothing partial is kept
        raise DiskFullError(f"{where}: cannot store the download in {settings.cache_dir}: "
                            f"{os.strerror(full.errno or 0)} (disk full or file size limit); "
                            "nothing partial was kept, free some space or set SKELLOC_CACHE "
                            "to another disk") from err


def _hub_download(repo_id: str, filename: str, revision: str, settings: HubSettings,
                  where: str, *, repo_type: str, force_download: bool,
                  local_files_only: bool) -> Path:
    import huggingface_hub
    from huggingface_hub import errors as hf_errors

    from skelloc._version import __version__

    if not local_files_only:
        try:
            _probe(settings.endpoint, ETAG_TIMEOUT)
        except DownloadError as err:
            raise DownloadError(f"{where}: {err}") from err.__cause__
    try:
        path = huggingface_hub.hf_hub_download(
            repo_id, filename, revision=revision, repo_type=repo_type,
            endpoint=settings.endpoint, cache_dir=str(settings.cache_dir),
            library_name="skelloc", library_version=__version__, etag_timeout=ETAG_TIMEOUT,
            token=settings.token, force_download=force_download,
            local_files_only=local_files_only,
        )
    except hf_errors.GatedRepoError as err:
        raise RepositoryAccessError(
            f"{where}: the repository is gated; accept its terms on the Hub page and log in "
            f"('hf auth login') or set HF_TOKEN. ({err})") from err
    except hf_errors.RepositoryNotFoundError as err:
        raise RepositoryAccessError(
            f"{where}: repository not found or not accessible (private repos need HF_TOKEN "
            f"or 'hf auth login'). ({_short(err)})") from err
    except hf_errors.RevisionNotFoundError as err:
        raise RevisionNotFoundError(
            f"{where}: the pinned commit is gone upstream; the model's maintainers must "
            f"republish it (or use 'skelloc download' on a machine that has it cached). "
            f"({_short(err)})") from err
    except hf_errors.LocalEntryNotFoundError as err:  # before EntryNotFoundError (a subclass)
        cause = err.__cause__ or err.__context__
        detail = f"{type(cause).__name__}: {cause}" if cause else _short(err)
        raise DownloadError(f"{where}: could not download (endpoint unreachable or not a "
                            f"Hugging Face Hub endpoint); {_NET_HINT}. ({detail})") from err
    except hf_errors.EntryNotFoundError as err:
        raise RevisionNotFoundError(
            f"{where}: the file does not exist at the pinned commit; the manifest and the "
            f"repository disagree, so the maintainers must republish. ({_short(err)})") from err
    except hf_errors.OfflineModeIsEnabled as err:
        raise DownloadError(f"{where}: HF_HUB_OFFLINE was set when huggingface_hub was "
                            f"imported, so it refuses all requests. ({err})") from err
    except Exception as err:  # noqa: BLE001 - httpx/httpx2/requests/OSError: wrap them all
        raise DownloadError(f"{where}: download failed with {type(err).__name__}: "
                            f"{_short(err)}; {_NET_HINT}") from err
    return Path(path)


def _short(err: BaseException, limit: int = 300) -> str:
    text = " ".join(str(err).split())
    return text if len(text) <= limit else text[:limit] + "..."


def mirror_download(url: str, dest: Path, *, timeout: float = 30.0,
                    token: str | bool | None = None) -> Path:
    """Download ``url`` into a temporary file next to ``dest`` and rename it into place.

    The caller verifies the hash (and deletes ``dest`` on a mismatch).
    """
    try:
        import requests
    except ImportError as err:  # pragma: no cover - requests is a declared dependency
        raise DownloadError(f"mirror {url}: the 'requests' package is needed for mirrors") from err
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=dest.name + ".", suffix=".incomplete", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            with requests.get(url, stream=True, timeout=timeout) as resp:
                resp.raise_for_status()
                for chunk in resp.iter_content(chunk_size=1 << 20):
                    fh.write(chunk)
        os.replace(tmp, dest)
    except Exception as err:  # noqa: BLE001 - wrap every transport error
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        full = disk_full(err)
        if full is not None:
            raise DiskFullError(f"mirror {url}: cannot store the download in {dest.parent}: "
                                f"{os.strerror(full.errno or 0)} (disk full or file size "
                                "limit); nothing partial was kept") from err
        raise DownloadError(f"mirror {url}: download failed with {type(err).__name__}: "
                            f"{_short(err)}; {_NET_HINT}") from err
    return dest
