"""The cache never deletes outside its root; leftovers of killed downloads are cleared (issue 15)."""

from __future__ import annotations

import os
from pathlib import Path

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
