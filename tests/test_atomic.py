"""skelloc._atomic: stale temporaries of killed writers are removed, live ones kept (issue 15)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from skelloc._atomic import _host, atomic_write_text, remove_stale_temporaries


def test_only_temporaries_of_dead_processes_are_removed(tmp_path: Path) -> None:
    dead = tmp_path / f".checkpoint.pt.{_host()}-99999999.abcd1234.tmp"
    alive = tmp_path / f".best.safetensors.{_host()}-{os.getppid()}.efgh5678.tmp"
    foreign_new = tmp_path / ".X.npy.otherhost-12.ijkl9012.npy"
    foreign_old = tmp_path / ".segments.json.otherhost-13.mnop3456.tmp"
    unrelated = tmp_path / ".hidden.config"
    for p in (dead, alive, foreign_new, foreign_old, unrelated):
        p.write_bytes(b"x")
    old = time.time() - 2 * 24 * 3600
    os.utime(foreign_old, (old, old))
    removed = remove_stale_temporaries(tmp_path)
    assert sorted(removed) == sorted([dead, foreign_old])
    assert alive.exists() and foreign_new.exists() and unrelated.exists()


def test_a_later_process_write_cleans_the_folder(tmp_path: Path) -> None:
    stale = tmp_path / f".segments.json.{_host()}-99999998.qrst7890.tmp"
    stale.write_bytes(b"partial")
    atomic_write_text(tmp_path / "segments.json", "{}\n")
    assert not stale.exists() and (tmp_path / "segments.json").read_text() == "{}\n"
    assert [p.name for p in tmp_path.iterdir()] == ["segments.json"]
