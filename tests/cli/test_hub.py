"""``skelloc list/info/download/verify/cache/export``: output and exit codes (``hub.md`` §9)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests/hub helpers

from hub.mockhub import (  # noqa: E402,F401  (fixtures)
    COMMIT,
    MockHub,
    _fresh_registry,
    closed_port,
    hub_model,
    make_entry,
    mock_hub,
    sha256,
    tiny_files,
    write_manifest,
)

from skelloc.cli import run  # noqa: E402


def test_list_and_info(hub_model: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["list", "tiny"]) == 0
    assert capsys.readouterr().out.startswith("tiny\tstgcn\t-\t-\ttest model")
    assert run(["list", "ti*", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {"name": "tiny", "default": False, "description": "test model", "architecture": "stgcn",
         "headline_metric": "", "cached": False}]
    assert run(["list", "--markdown"]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].startswith("| model | detects (training instances) | input |")
    assert "| `tiny` | 3 classes | 3D, `ntu25` (25 joints)" in table
    assert "resampled to 30 fps" in table
    assert run(["info", "tiny", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["entry"]["hub"]["revision"] == COMMIT
    assert [f["location"] for f in info["files"]] == ["missing", "missing"]
    assert run(["info", "tiny"]) == 0
    assert "license:" in capsys.readouterr().out


def test_list_marks_the_default_with_its_headline_metric(
        capsys: pytest.CaptureFixture[str]) -> None:
    from skelloc.hub.manifest import registry

    assert run(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    marked = [ln for ln in lines if "(default)" in ln.split("\t")[0]]
    assert len(marked) == 1 and "val avg mAP" in marked[0], lines
    assert marked[0].startswith(f"{registry().default} (default)")
    assert run(["list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sum(r["default"] for r in rows) == 1
    # a flag takes no value: "--json true" reads "true" as the pattern and says so
    assert run(["list", "--json", "true"]) == 2
    assert "--json take no value" in capsys.readouterr().err
    assert run(["info", registry().default]) == 0
    out = capsys.readouterr().out
    assert '"min_score"' in out and "val avg mAP" in out


def test_flags_show_no_value_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["evaluate", "--help"]) == 0
    rows = [ln for ln in capsys.readouterr().out.splitlines() if "--json" in ln or "--per-class" in ln]
    assert rows and not any("<bool>" in ln for ln in rows)


def test_download_verify_cache(hub_model: str, mock_hub: MockHub, tmp_path: Path,
                               tiny_files: dict, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["download", "tiny", "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split("\t")[:3] for ln in lines] == [["tiny", "encoder", "OK"],
                                                    ["tiny", "head", "OK"]]
    assert run(["info", "tiny", "--json"]) == 0
    assert {f["location"] for f in json.loads(capsys.readouterr().out)["files"]} == {"cache"}
    assert run(["verify", "tiny"]) == 0
    assert capsys.readouterr().out.count("\tOK\t") == 2
    assert run(["cache", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "cache")
    # corrupt the cached head: verify exits 4 and says which file
    snapshot = tmp_path / "cache" / "models--skelloc-test--tiny" / "snapshots" / COMMIT
    head = snapshot / "sub" / "head.safetensors"
    head.resolve().write_bytes(b"x" * len(tiny_files["head"][1]))
    assert run(["verify", "--all"]) == 4
    captured = capsys.readouterr()
    assert "\tMISMATCH\t" in captured.out and "sub/head.safetensors" in captured.err
    assert run(["cache", "clear", "tiny"]) == 0
    assert "4 file(s) removed" in capsys.readouterr().out  # two pointers + two blobs
    assert run(["verify", "tiny"]) == 5


def test_download_to_then_offline(hub_model: str, mock_hub: MockHub, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    staged = tmp_path / "staged"
    assert run(["download", "tiny", "--to", str(staged), "-q"]) == 0
    assert (staged / "tiny" / "SHA256SUMS").is_file()
    capsys.readouterr()
    n = len(mock_hub.requests())
    monkeypatch.setenv("SKELLOC_CACHE", str(tmp_path / "empty"))
    monkeypatch.setenv("SKELLOC_OFFLINE", "1")
    assert run(["download", "tiny"]) == 5  # offline, not cached
    assert "skelloc download tiny" in capsys.readouterr().err
    assert run(["verify", "tiny", "--dir", str(staged)]) == 0
    assert capsys.readouterr().out.count("\tOK\t") == 2
    monkeypatch.setenv("SKELLOC_WEIGHTS_DIR", str(staged))
    assert run(["download", "tiny", "--json"]) == 0
    paths = json.loads(capsys.readouterr().out)["tiny"]
    assert paths["encoder"] == str(staged / "tiny" / "encoder.safetensors")
    assert len(mock_hub.requests()) == n


def test_exit_codes(hub_model: str, mock_hub: MockHub, tmp_path: Path, closed_port: str,
                    tiny_files: dict, monkeypatch: pytest.MonkeyPatch,
                    capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["download"]) == 2  # nothing named
    assert run(["download", "tiny", "--bogus-flag"]) == 2  # typer usage error
    assert run(["info", "tinny"]) == 5
    assert "Did you mean: tiny" in capsys.readouterr().err
    assert run(["download", "tiny", "--endpoint", closed_port]) == 3
    assert closed_port in capsys.readouterr().err
    mock_hub.tamper.add(tiny_files["encoder"][0])
    assert run(["download", "tiny"]) == 4
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"schema_version": 9, "models": {}}))
    monkeypatch.setenv("SKELLOC_MANIFEST", str(bad))
    assert run(["list"]) == 6
    assert "upgrade skelloc" in capsys.readouterr().err
    entry = make_entry(tiny_files)
    entry["files"]["encoder"]["filename"] = "../escape.safetensors"
    write_manifest(bad, {"tiny": entry})
    assert run(["download", "tiny"]) == 6
    assert "traversal" in capsys.readouterr().err


def test_export_registered_model(hub_model: str, tmp_path: Path, tiny_files: dict,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "export"
    assert run(["export", "tiny", "--to", str(out), "-q"]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    doc = json.loads((out / "weights_manifest.json").read_text())
    assert "hub" not in doc["models"]["tiny"]
    assert (out / "sub" / "head.safetensors").read_bytes() == tiny_files["head"][1]
    assert (out / "README.md").read_text().startswith("---\nlicense: \"apache-2.0\"")
    assert sha256(tiny_files["encoder"][1]) in (out / "SHA256SUMS").read_text()


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from skelloc import __version__

    assert run(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"skelloc {__version__}"
