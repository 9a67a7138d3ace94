"""The CLI end of issue 15: odd file names, full disks and broken checkpoints give one typed line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

_LIMITED = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))
from skelloc.cli import run
sys.exit(run(sys.argv[1:]))
"""


@pytest.fixture
def odd_name(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    x = np.cumsum(rng.normal(scale=0.1, size=(40, 2, 25, 3)), axis=0).astype(np.float32)
    path = Path(os.fsdecode(bytes(tmp_path) + b"/clip\xff.npy"))  # not UTF-8
    np.save(path, x)
    return path


def test_non_utf8_file_name_under_a_strict_locale(weights: Path, odd_name: Path) -> None:
    env = {**os.environ, "LC_ALL": "C.UTF-8", "PYTHONIOENCODING": "utf-8:strict"}
    proc = subprocess.run([sys.executable, "-m", "skelloc", "localize", os.fsencode(odd_name),
                           "--model", str(weights)], env=env, capture_output=True, timeout=300,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert b"clip\\udcff.npy" in proc.stdout + proc.stderr or b"wave" in proc.stdout


def test_out_onto_a_full_disk(weights: Path, odd_name: Path, tmp_path: Path) -> None:
    out = tmp_path / "segments.json"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run([sys.executable, "-c", _LIMITED, "localize", os.fsencode(odd_name),
                           "--model", str(weights), "--out", str(out)],
                          env=env, capture_output=True, text=True, timeout=300,
                          errors="backslashreplace", check=False)
    assert proc.returncode == 7, proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "disk full" in errors[0] and str(out) in errors[0]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != odd_name.name) == []
