"""The README's models table is generated from the manifests."""

from __future__ import annotations

from pathlib import Path

import pytest

from skelloc.hub.readme import END, START, main, update_readme

from .mockhub import make_entry, write_manifest

REPO_README = Path(__file__).resolve().parents[2] / "README.md"


def test_repository_readme_table_is_current() -> None:
    text = REPO_README.read_text()
    table = text[text.index(START) + len(START):text.index(END)]
    from skelloc.hub.readme import models_table

    assert table.strip() == models_table().strip()


def test_update_readme(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                       capsys: pytest.CaptureFixture[str]) -> None:
    files = {"encoder": ("e.safetensors", b"e"), "head": ("h.safetensors", b"h")}
    entry = make_entry(files, datasets=["pku-mmd"], metrics={"mAP@0.5": 0.61, "split": "val"})
    monkeypatch.setenv("SKELLOC_MANIFEST",
                       str(write_manifest(tmp_path / "m.json", {"m1": entry}, default="m1")))
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n{START}\nold\n{END}\ntail\n")
    assert main(["--write", str(readme)]) == 0
    text = readme.read_text()
    row = "| `m1` (default) | 3 classes | 3D, `ntu25` (25 joints)"
    assert row in text and "old" not in text and text.endswith(f"{END}\ntail\n")
    assert update_readme(readme) is False
    assert "updated" in capsys.readouterr().out
