"""The cache never deletes outside its root; leftovers of killed downloads are cleared (issue 15)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from skelloc.hub.api import resolve_weights
from skelloc.hub.cache import clear_cache

from .mockhub import REPO, MockHub


def _repo(tmp_path: Path) -> Path:
    return tmp_path / "cache" / f"models--{REPO.replace('/', '--')}"


def test_symlink_to_a_user_file_is_never_deleted(hub_model: str, mock_hub: MockHub,
                                                 tmp_path: Path, tiny_files: dict) -> None:
    filename, data = tiny_files["encoder"]
    pointer = resolve_weights(hub_model, load_head=False)["encoder"]
    precious = tmp_path / "home" / "thesis.tex"
    precious.parent.mkdir()
    precious.write_bytes(b"years of work")
    pointer.unlink()
    pointer.symlink_to(precious)  # the snapshot entry now points outside the cache
    again = resolve_weights(hub_model, load_head=False)["encoder"]
    assert precious.read_bytes() == b"years of work"  # the user's file survives
    assert again.read_bytes() == data and mock_hub.gets(filename) == 2
    # same with a symlink to a file in a folder that happens to be called "blobs"
    outside_blobs = tmp_path / "elsewhere" / "blobs" / "x"
    outside_blobs.parent.mkdir(parents=True)
    outside_blobs.write_bytes(b"keep")
    again.unlink()
    again.symlink_to(outside_blobs)
    resolve_weights(hub_model, load_head=False)
    assert outside_blobs.read_bytes() == b"keep"
    again.unlink()
    again.symlink_to(outside_blobs)
    clear_cache(["tiny"])
    assert outside_blobs.read_bytes() == b"keep" and not again.is_symlink()


def test_clear_cache_removes_incomplete_downloads(hub_model: str, tmp_path: Path) -> None:
    resolve_weights(hub_model)
    blobs = _repo(tmp_path) / "blobs"
    stale = blobs / ("0" * 64 + ".incomplete")
    stale.write_bytes(b"")  # what a killed huggingface_hub download leaves
    removed = clear_cache(["tiny"])
    assert stale in removed and not stale.exists()


_LIMITED = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))
from skelloc.cli import run
sys.exit(run(sys.argv[1:]))
"""


@pytest.mark.parametrize("args", [["download", "tiny"], ["download", "tiny", "--to", "STAGE"]])
def test_full_disk_is_its_own_error(hub_model: str, tmp_path: Path, tiny_files: dict,
                                    args: list[str]) -> None:
    """A file size limit (EFBIG, like ENOSPC) during a download or an export: exit 7, one line,
    no partial file, and not the network advice of exit 3."""
    args = [a.replace("STAGE", str(tmp_path / "stage")) for a in args]
    if "--to" in args:  # the download itself succeeds; writing the staged copy fails
        resolve_weights(hub_model)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run([sys.executable, "-c", _LIMITED, *args], env=env, text=True,
                          capture_output=True, timeout=120, check=False)
    assert proc.returncode == 7, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and "disk full" in lines[0] and "network" not in lines[0]
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file() and p.stat().st_size > 0 and (
        p.name.endswith((".incomplete", ".tmp")) or "stage" in p.parts)]
    assert leftovers == []


_PREFETCH = """
from skelloc.hub.api import prefetch
out = prefetch("tiny")
print(sorted(str(p) for p in out["tiny"].values()))
"""


def test_eight_processes_download_once(hub_model: str, mock_hub: MockHub,
                                       tiny_files: dict) -> None:
    procs = [subprocess.Popen([sys.executable, "-c", _PREFETCH], env=dict(os.environ),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(8)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert len({o for o, _ in outs}) == 1
    for filename, _ in tiny_files.values():
        assert mock_hub.gets(filename) == 1


def test_a_killed_download_is_never_used(hub_model: str, mock_hub: MockHub, tmp_path: Path,
                                         tiny_files: dict) -> None:
    filename, data = tiny_files["encoder"]
    mock_hub.stall.add(filename)
    proc = subprocess.Popen([sys.executable, "-c", _PREFETCH], env=dict(os.environ),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    blobs = _repo(tmp_path) / "blobs"
    deadline = time.time() + 120
    while not (blobs.is_dir() and any(blobs.glob("*.incomplete"))) and time.time() < deadline:
        time.sleep(0.1)
    assert any(blobs.glob("*.incomplete")), "the download never started"
    proc.kill()  # SIGKILL mid-body
    proc.wait(timeout=60)
    mock_hub.stall.clear()
    mock_hub.release.set()
    path = resolve_weights(hub_model, load_head=False)["encoder"]
    assert path.read_bytes() == data and mock_hub.gets(filename) == 2
