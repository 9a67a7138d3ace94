"""Resolution, download and verification against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from skelloc.errors import (
    ChecksumMismatchError,
    DownloadError,
    RepositoryAccessError,
    RevisionNotFoundError,
    WeightsNotCachedError,
    WeightsNotFoundError,
)
from skelloc.hub.api import prefetch, resolve_weights
from skelloc.hub.cache import clear_cache, verify_models
from skelloc.hub.export import stage_models

from .mockhub import COMMIT, OTHER_COMMIT, REPO, MockHub, make_entry, sha256, write_manifest


def _cache(tmp_path: Path) -> Path:
    return tmp_path / "cache" / f"models--{REPO.replace('/', '--')}"


def test_first_download_then_zero_requests(hub_model: str, mock_hub: MockHub, tmp_path: Path,
                                           tiny_files: dict) -> None:
    paths = resolve_weights(hub_model)
    assert set(paths) == {"encoder", "head"}
    for role, (filename, data) in tiny_files.items():
        assert paths[role].read_bytes() == data
        assert paths[role] == _cache(tmp_path) / "snapshots" / COMMIT / filename
        assert paths[role].is_symlink()
        assert Path(os.path.realpath(paths[role])).name == sha256(data)  # blob = sha256
        assert mock_hub.gets(filename) == 1
    assert len(mock_hub.requests("HEAD")) == 2
    before = len(mock_hub.requests())
    again = resolve_weights(hub_model)
    assert again == paths
    assert len(mock_hub.requests()) == before  # pinned commit + cached: zero requests


def test_offline_with_and_without_cache(hub_model: str, mock_hub: MockHub,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKELLOC_OFFLINE", "1")  # set after import: still honoured
    with pytest.raises(WeightsNotCachedError) as info:
        resolve_weights(hub_model)
    msg = str(info.value)
    assert "weights dir: not set" in msg and "hub: offline" in msg
    assert "skelloc download tiny" in msg and "SKELLOC_WEIGHTS_DIR" in msg
    assert info.value.exit_code == 5
    assert mock_hub.requests() == []
    resolve_weights(hub_model, offline=False)  # the argument beats the environment
    n = len(mock_hub.requests())
    assert resolve_weights(hub_model)["encoder"].is_file()
    assert len(mock_hub.requests()) == n


def test_hub_down_is_a_download_error(hub_model: str, closed_port: str) -> None:
    with pytest.raises(DownloadError) as info:
        resolve_weights(hub_model, endpoint=closed_port)
    assert closed_port in str(info.value) and "HTTPS_PROXY" in str(info.value)
    assert info.value.exit_code == 3


@pytest.mark.parametrize("change, error", [
    (lambda e: e["hub"].update(repo_id="skelloc-test/missing"), RepositoryAccessError),
    (lambda e: e["hub"].update(revision=OTHER_COMMIT), RevisionNotFoundError),
    (lambda e: e["files"]["encoder"].update(filename="gone.safetensors"), RevisionNotFoundError),
])
def test_404s_map_to_typed_errors(hub_model: str, tmp_path: Path, tiny_files: dict,
                                  monkeypatch: pytest.MonkeyPatch, change, error) -> None:
    entry = make_entry(tiny_files)
    change(entry)
    path = write_manifest(tmp_path / "m404.json", {"tiny": entry})
    monkeypatch.setenv("SKELLOC_MANIFEST", str(path))
    with pytest.raises(error) as info:
        resolve_weights("tiny")
    assert info.value.exit_code == 5
    assert "127.0.0.1" in str(info.value)


def test_not_a_hub_endpoint(hub_model: str, mock_hub: MockHub) -> None:
    mock_hub.omit_headers.add("X-Repo-Commit")
    with pytest.raises(DownloadError, match="127.0.0.1"):
        resolve_weights(hub_model)


def test_tampered_body_same_size(hub_model: str, mock_hub: MockHub, tmp_path: Path,
                                 tiny_files: dict) -> None:
    filename = tiny_files["encoder"][0]
    mock_hub.tamper.add(filename)
    with pytest.raises(ChecksumMismatchError) as info:
        resolve_weights(hub_model, load_head=False)
    assert mock_hub.gets(filename) == 2  # exactly one forced retry
    msg = str(info.value)
    assert sha256(tiny_files["encoder"][1]) in msg and "retried once" in msg
    assert info.value.exit_code == 4
    blobs = _cache(tmp_path) / "blobs"
    assert not any(p.is_file() for p in blobs.iterdir())  # the bad copy is gone


def test_tampered_once_is_repaired_by_the_retry(hub_model: str, mock_hub: MockHub,
                                                tiny_files: dict) -> None:
    filename, data = tiny_files["encoder"]
    mock_hub.tamper.add(filename)
    mock_hub.tamper_times = 1
    path = resolve_weights(hub_model, load_head=False)["encoder"]
    assert path.read_bytes() == data and mock_hub.gets(filename) == 2


def test_truncated_body(hub_model: str, mock_hub: MockHub, tiny_files: dict) -> None:
    mock_hub.truncate.add(tiny_files["encoder"][0])
    with pytest.raises(DownloadError, match="127.0.0.1"):
        resolve_weights(hub_model, load_head=False)


def test_corrupt_cache_is_deleted_and_refetched(hub_model: str, mock_hub: MockHub,
                                                tiny_files: dict) -> None:
    filename, data = tiny_files["encoder"]
    path = resolve_weights(hub_model, load_head=False)["encoder"]
    blob = Path(os.path.realpath(path))
    blob.write_bytes(b"Z" * len(data))  # same size, flipped content
    assert verify_models(["tiny"])[0].status == "MISMATCH"
    again = resolve_weights(hub_model, load_head=False)["encoder"]
    assert again.read_bytes() == data and mock_hub.gets(filename) == 2


def test_settings_read_at_call_time(hub_model: str, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKELLOC_CACHE", str(tmp_path / "late-cache"))
    path = resolve_weights(hub_model)["encoder"]
    assert str(path).startswith(str(tmp_path / "late-cache"))


def test_staged_dir_then_offline(hub_model: str, mock_hub: MockHub, tmp_path: Path,
                                 tiny_files: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    staged = tmp_path / "staged"
    (folder,) = stage_models(["tiny"], staged)
    assert folder == staged / "tiny"
    doc = json.loads((folder / "weights_manifest.json").read_text())
    assert doc["default"] == "tiny" and doc["models"]["tiny"]["hub"]["revision"] == COMMIT
    sums = (folder / "SHA256SUMS").read_text().splitlines()
    assert f"{sha256(tiny_files['head'][1])}  sub/head.safetensors" in sums
    n = len(mock_hub.requests())
    # the target machine: a fresh cache, offline, the staged folder
    monkeypatch.setenv("SKELLOC_CACHE", str(tmp_path / "other-cache"))
    monkeypatch.setenv("SKELLOC_OFFLINE", "1")
    monkeypatch.setenv("SKELLOC_WEIGHTS_DIR", str(staged))
    paths = resolve_weights("tiny")
    assert paths["head"] == folder / "sub" / "head.safetensors"
    local = resolve_weights(f"local-dir:{folder}")
    assert local["encoder"] == folder / "encoder.safetensors"
    assert len(mock_hub.requests()) == n
    (folder / "encoder.safetensors").write_bytes(b"E" * 500)  # same size, wrong bytes
    with pytest.raises(ChecksumMismatchError):
        resolve_weights("tiny")
    with pytest.raises(WeightsNotFoundError):
        resolve_weights(f"local-dir:{tmp_path / 'nope'}")


def test_mirror_fallback(hub_model: str, mock_hub: MockHub, tmp_path: Path, tiny_files: dict,
                         closed_port: str, monkeypatch: pytest.MonkeyPatch) -> None:
    template = f"{mock_hub.endpoint}/{REPO}/resolve/{COMMIT}/{{filename}}"
    path = write_manifest(tmp_path / "mirror.json",
                          {"tiny": make_entry(tiny_files, mirrors=[template])})
    monkeypatch.setenv("SKELLOC_MANIFEST", str(path))
    paths = resolve_weights("tiny", endpoint=closed_port)
    assert paths["encoder"].read_bytes() == tiny_files["encoder"][1]
    assert "skelloc-mirrors" in str(paths["encoder"])
    mock_hub.tamper.add(tiny_files["head"][0])
    clear_cache(["tiny"])
    with pytest.raises(ChecksumMismatchError, match="mirror"):
        resolve_weights("tiny", endpoint=closed_port)


def test_clear_cache_only_removes_manifest_files(hub_model: str, tmp_path: Path) -> None:
    paths = resolve_weights(hub_model)
    foreign = tmp_path / "cache" / "models--someone--else" / "blobs" / "x"
    foreign.parent.mkdir(parents=True)
    foreign.write_text("keep")
    removed = clear_cache(["tiny"])
    assert paths["encoder"] in removed and not paths["encoder"].exists()
    assert foreign.is_file()
    assert [r.status for r in verify_models(["tiny"])] == ["MISSING", "MISSING"]


_WORKER = """
import sys
from skelloc.hub.api import prefetch
out = prefetch("tiny")
print(sorted(str(p) for p in out["tiny"].values()))
"""


def test_four_processes_download_once(hub_model: str, mock_hub: MockHub, tiny_files: dict) -> None:
    env = dict(os.environ)
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert len({o for o, _ in outs}) == 1  # everyone got the same verified paths
    for filename, _ in tiny_files.values():
        assert mock_hub.gets(filename) == 1
    assert all(r.status == "OK" for r in verify_models(["tiny"]))
    assert prefetch("tiny")["tiny"]["encoder"].is_file()


def test_unpinned_revision_is_loaded_unverified(hub_model: str, mock_hub: MockHub,
                                                tiny_files: dict,
                                                caplog: pytest.LogCaptureFixture) -> None:
    other = {fn: data[::-1] for fn, data in tiny_files.values()}
    mock_hub.add(REPO, OTHER_COMMIT, other, branch="dev")
    with caplog.at_level("WARNING", logger="skelloc"):
        paths = resolve_weights(f"tiny@{OTHER_COMMIT}")
    assert "NOT verified" in caplog.text
    assert paths["encoder"].read_bytes() == tiny_files["encoder"][1][::-1]
    assert OTHER_COMMIT in str(paths["encoder"])


def test_package_source_missing_file(tmp_path: Path, tiny_files: dict,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    entry = make_entry(tiny_files, repo=None)
    entry["files"]["encoder"]["source"] = "package"
    entry["files"]["encoder"]["filename"] = "definitely-not-shipped.safetensors"
    monkeypatch.setenv("SKELLOC_MANIFEST", str(write_manifest(tmp_path / "p.json", {"pk": entry})))
    with pytest.raises(WeightsNotFoundError, match="reinstall skelloc"):
        resolve_weights("pk", load_head=False)
