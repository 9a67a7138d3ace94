"""Test helpers: a mock Hugging Face Hub on 127.0.0.1 (``hub.md`` §12) and manifest helpers.

The server implements HEAD and GET of ``/{org}/{name}/resolve/{revision}/{filename}`` with
``X-Repo-Commit``, a quoted sha256 ``ETag`` and the true ``Content-Length``, serves inline (no
redirects, no Xet headers) and answers misses with 404 + ``X-Error-Code``.  It is driven by the
unmodified huggingface_hub client.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

COMMIT = "0123456789abcdef0123456789abcdef01234567"
OTHER_COMMIT = "fedcba9876543210fedcba9876543210fedcba98"
REPO = "skelloc-test/tiny"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class MockHub:
    """State of the mock Hub: repo -> commit -> {path: bytes}, plus switches and a request log."""

    repos: dict[str, dict[str, dict[str, bytes]]] = field(default_factory=dict)
    refs: dict[str, dict[str, str]] = field(default_factory=dict)
    log: list[tuple[str, str]] = field(default_factory=list)
    tamper: set[str] = field(default_factory=set)  # same size, different bytes
    tamper_times: int = 10**9  # how many GETs get the tampered body
    truncate: set[str] = field(default_factory=set)
    stall: set[str] = field(default_factory=set)  # half the body, then wait for `release`
    release: threading.Event = field(default_factory=threading.Event)
    omit_headers: set[str] = field(default_factory=set)
    endpoint: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, repo: str, commit: str, files: dict[str, bytes], branch: str = "main") -> None:
        self.repos.setdefault(repo, {})[commit] = dict(files)
        self.refs.setdefault(repo, {})[branch] = commit

    def requests(self, method: str | None = None) -> list[tuple[str, str]]:
        with self.lock:
            return [r for r in self.log if method is None or r[0] == method]

    def gets(self, filename: str) -> int:
        return sum(1 for m, p in self.requests("GET") if p.endswith("/" + filename))


def _make_handler(hub: MockHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # silence
            pass

        def _error(self, status: int, code: str, commit: str | None = None) -> None:
            self.send_response(status)
            self.send_header("X-Error-Code", code)
            self.send_header("X-Error-Message", f"mock hub: {code}")
            if commit:
                self.send_header("X-Repo-Commit", commit)
            body = json.dumps({"error": code}).encode()
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command == "GET":
                self.wfile.write(body)

        def _serve(self) -> None:
            with hub.lock:
                hub.log.append((self.command, self.path))
            parts = urllib.parse.urlsplit(self.path).path.split("/")
            # ['', org, name, 'resolve', rev, *filename]
            if len(parts) < 6 or parts[3] != "resolve":
                self._error(404, "RepoNotFound")
                return
            repo = f"{parts[1]}/{parts[2]}"
            rev = urllib.parse.unquote(parts[4])
            filename = urllib.parse.unquote("/".join(parts[5:]))
            if repo not in hub.repos:
                self._error(404, "RepoNotFound")
                return
            commit = hub.refs[repo].get(rev, rev)
            if commit not in hub.repos[repo]:
                self._error(404, "RevisionNotFound")
                return
            files = hub.repos[repo][commit]
            if filename not in files:
                self._error(404, "EntryNotFound", commit)
                return
            data = files[filename]
            body = data
            if self.command == "GET" and filename in hub.tamper:
                with hub.lock:
                    if hub.tamper_times > 0:
                        hub.tamper_times -= 1
                        body = bytes(b ^ 0xFF for b in data[:8]) + data[8:]
            self.send_response(200)
            if "X-Repo-Commit" not in hub.omit_headers:
                self.send_header("X-Repo-Commit", commit)
            if "ETag" not in hub.omit_headers:
                self.send_header("ETag", f'"{sha256(data)}"')
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Type", "application/octet-stream")
            if self.command == "GET" and filename in hub.stall:
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                hub.release.wait(60)  # the client is killed meanwhile
                self.close_connection = True
                return
            if self.command == "GET" and filename in hub.truncate:
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.end_headers()
            if self.command == "GET":
                self.wfile.write(body)

        def do_HEAD(self) -> None:  # noqa: N802
            self._serve()

        def do_GET(self) -> None:  # noqa: N802
            self._serve()

    return Handler


@pytest.fixture
def mock_hub() -> Iterator[MockHub]:
    hub = MockHub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(hub))
    server.daemon_threads = True
    hub.endpoint = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield hub
    finally:
        hub.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def closed_port() -> str:
    """An endpoint on a port that was bound and then closed (the Hub is down)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"


def file_record(filename: str, data: bytes) -> dict[str, Any]:
    return {"filename": filename, "sha256": sha256(data), "size": len(data)}


def make_entry(files: dict[str, tuple[str, bytes]], *, repo: str | None = REPO,
               commit: str = COMMIT, labels: list[str] | None = None,
               architecture: str = "stgcn", model_args: dict[str, Any] | None = None,
               head: str | None = "simple", head_args: dict[str, Any] | None = None,
               classifier_keys: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    """A manifest entry whose files are ``{role: (filename, bytes)}``."""
    entry: dict[str, Any] = {
        "description": "test model",
        "architecture": architecture,
        "model_args": model_args or {},
        "input_spec": {"layout": "ntu25", "num_joints": 25, "channels": 3, "fps": 30.0,
                       "normalization": "ntu"},
        "labels": {"names": labels or ["a", "b", "c"]},
        "head": {"name": head if "head" in files else None, "args": head_args or {},
                 "classifier_keys": classifier_keys or []},
        "files": {role: file_record(fn, data) for role, (fn, data) in files.items()},
        "license": {"id": "apache-2.0"},
    }
    if repo is not None:
        entry["hub"] = {"repo_id": repo, "revision": commit}
    entry.update(extra)
    return entry


def write_manifest(path: Path, models: dict[str, dict[str, Any]],
                   default: str | None = None) -> Path:
    doc: dict[str, Any] = {"schema_version": 1, "models": models}
    if default:
        doc["default"] = default
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture(autouse=True)
def _fresh_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """``register_manifest`` state is per process; give every test a clean one."""
    import skelloc.hub.manifest as manifest

    monkeypatch.setattr(manifest, "_REGISTERED", [])


@pytest.fixture
def tiny_files() -> dict[str, tuple[str, bytes]]:
    """Two small weight-like files (resolution tests do not need real tensors)."""
    return {"encoder": ("encoder.safetensors", b"E" * 300 + bytes(range(200))),
            "head": ("sub/head.safetensors", b"H" * 123 + bytes(range(50)))}


@pytest.fixture
def hub_model(tmp_path: Path, mock_hub: MockHub, tiny_files: dict[str, tuple[str, bytes]],
              monkeypatch: pytest.MonkeyPatch) -> str:
    """A model 'tiny' served by the mock Hub and registered through SKELLOC_MANIFEST."""
    mock_hub.add(REPO, COMMIT, dict(tiny_files.values()))
    path = write_manifest(tmp_path / "extra_manifest.json", {"tiny": make_entry(tiny_files)})
    monkeypatch.setenv("SKELLOC_MANIFEST", str(path))
    monkeypatch.setenv("SKELLOC_ENDPOINT", mock_hub.endpoint)
    monkeypatch.setenv("SKELLOC_CACHE", str(tmp_path / "cache"))
    return "tiny"
