"""`skelloc train ...` through the CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from train.cachegen import make_cache  # tests/ is on sys.path (rootdir-relative packages)

from skelloc.cli import run


def test_recipes(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["train", "recipes"]) == 0
    assert {"tiny", "pkummd-stgcn16", "paper-babel-agcn"} <= set(capsys.readouterr().out.split())


def test_pretrain_finetune_evaluate_export(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    cache = make_cache(tmp_path / "cache", splits=["train"] * 4 + ["val"] * 2)
    pre, ft = tmp_path / "pre", tmp_path / "ft"
    assert run(["train", "pretrain", "tiny", "--data", str(cache), "--out", str(pre)]) == 0
    assert "pretrain.safetensors" in capsys.readouterr().out
    code = run(["train", "finetune", "tiny", "--data", str(cache), "--init", str(pre),
                "--out", str(ft), "--set", "model.head=simple", "--set", "seed=1"])
    assert code == 0
    out = capsys.readouterr().out
    assert "best.safetensors" in out and "val average mAP" in out
    assert json.loads((ft / "config.json").read_text())["model"]["head"] == "simple"

    assert run(["train", "evaluate", str(ft / "best.safetensors"), str(cache), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    best = json.loads((ft / "metrics.json").read_text())["best"]
    assert result["average_mAP"] == pytest.approx(best["average_mAP"])
    assert result["frame_accuracy"] == pytest.approx(best["frame_accuracy"])
    assert run(["train", "evaluate", str(ft / "best.safetensors"), str(cache)]) == 0
    table = capsys.readouterr().out
    assert "mAP@0.5" in table and "frame accuracy" in table

    hub = tmp_path / "hub"
    assert run(["train", "export", str(ft / "best.safetensors"), "--name", "toy-stgcn",
                "--to", str(hub)]) == 0
    manifest = json.loads((hub / "weights_manifest.json").read_text())
    entry = manifest["models"]["toy-stgcn"]
    assert entry["metrics"]["average_mAP"] == pytest.approx(best["average_mAP"])
    assert entry["labels"]["names"] == ["action0", "action1"]
    import skelloc

    model = skelloc.load(str(hub))
    assert model.labels == ["action0", "action1"] and model.config.head == "simple"


def test_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["train", "pretrain", "nosuchrecipe"]) == 2
    assert "no recipe" in capsys.readouterr().err
    assert run(["train", "pretrain", "tiny", "--set", "sed=1"]) == 2
    assert "did you mean seed" in capsys.readouterr().err
    assert run(["train", "pretrain", "tiny", "--data", str(tmp_path / "missing")]) == 2
    assert "not a directory" in capsys.readouterr().err
    assert run(["train", "finetune", "tiny", "--data", str(tmp_path), "--init",
                str(tmp_path / "nope.safetensors")]) != 0


def test_features(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import numpy as np

    from skelloc.train import load_config, run_finetune

    cache = make_cache(tmp_path / "cache", num_videos=4, splits=["train", "train", "val", "val"])
    cfg = load_config("tiny", [f"data.path={json.dumps(str(cache))}", "max_steps=1"])
    run_finetune(cfg, tmp_path / "ft")
    out = tmp_path / "feats"
    assert run(["train", "features", str(tmp_path / "ft" / "last.safetensors"), str(cache),
                "--out", str(out), "--split", "val"]) == 0
    assert "2 feature files" in capsys.readouterr().out
    meta = json.loads((cache / "dataset.json").read_text())
    for v in meta["videos"][2:]:
        feats = np.load(out / f"{v['id']}.npy")
        assert feats.shape == (v["num_frames"], 16)  # frames of the cache, fused width 16
    # the features and, for ActionFormer / OpenTAD, the annotations of the val videos
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{v['id']}.npy" for v in meta["videos"][2:]]
        + ["annotations.json", "class_map.txt", "missing_files.txt"])
    db = json.loads((out / "annotations.json").read_text())["database"]
    assert sorted(db) == sorted(v["id"] for v in meta["videos"][2:])
    assert {v["subset"] for v in db.values()} == {"validation"}
