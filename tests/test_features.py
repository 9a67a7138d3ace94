"""skelloc.export_features: the one feature-export pipeline of `skelloc extract` and
`skelloc train features` (skelloc.train.extract_dataset_features)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from train.cachegen import make_cache  # tests/ is on sys.path (rootdir-relative packages)

import skelloc
from skelloc.cli import run
from skelloc.errors import ConfigError, SkeletonFormatError
from skelloc.features import FeatureInput, export_features


@pytest.fixture(scope="module")
def model() -> skelloc.Localizer:
    torch.manual_seed(0)
    return skelloc.create_model("stgcn", num_classes=2, labels=["action0", "action1"],
                                base_channels=4, head_args={"fusion_dim": 8})


def sequence(frames: int, seed: int = 0) -> skelloc.SkeletonSequence:
    joints = np.random.default_rng(seed).normal(size=(frames, 1, 25, 3)).astype(np.float32)
    return skelloc.SkeletonSequence(joints, fps=30.0)


def counted(seq: skelloc.SkeletonSequence, calls: list[str], name: str,
            ) -> Callable[[], skelloc.SkeletonSequence]:
    def load() -> skelloc.SkeletonSequence:
        calls.append(name)
        return seq
    return load


def test_cache_and_cli_write_the_same_files(tmp_path: Path, model: skelloc.Localizer) -> None:
    from skelloc.train import extract_dataset_features

    cache = make_cache(tmp_path / "cache", num_videos=2)
    paths = extract_dataset_features(model, cache, tmp_path / "a")
    assert [p.name for p in paths] == ["0000-L.npy", "0000-R.npy"]
    model.save(tmp_path / "model")
    assert run(["extract", str(cache / "skeletons"), "--out", str(tmp_path / "b"),
                "--model", str(tmp_path / "model"), "--fps", "30"]) == 0
    for p in paths:
        assert (tmp_path / "b" / p.name).read_bytes() == p.read_bytes()
    assert np.load(paths[0]).dtype == np.float32


def test_overwrite_false_keeps_files_without_loading(tmp_path: Path,
                                                     model: skelloc.Localizer) -> None:
    calls: list[str] = []
    kept = tmp_path / "a.npy"
    np.save(kept, np.zeros((5, 3), np.float32))
    before = kept.read_bytes()
    items = [FeatureInput("a", counted(sequence(10), calls, "a"), num_frames=10, fps=30.0),
             FeatureInput("b", counted(sequence(12), calls, "b"))]
    result = export_features(items, tmp_path, model, overwrite=False)
    assert kept.read_bytes() == before and calls == ["b"]  # "a" kept, never loaded
    assert [(r.video, r.num_features, r.feature_dim) for r in result.records] == [
        ("a", 5, 3), ("b", 12, 8)]
    export_features(items, tmp_path, model)  # overwrite=True (the default) recomputes
    assert np.load(kept).shape == (10, 8)


def test_a_failing_input_is_reported_and_the_rest_written(tmp_path: Path,
                                                          model: skelloc.Localizer) -> None:
    def broken() -> skelloc.SkeletonSequence:
        raise SkeletonFormatError("not a skeleton\nsecond line", path="x.npy")

    def bad_labels(seq: skelloc.SkeletonSequence) -> list[tuple[str, int, int]]:
        raise IndexError("class 60 is not in the list")

    seen: list[str] = []
    items = [FeatureInput("good", lambda: sequence(8), [("walk", 1, 4)], "validation"),
             FeatureInput("bad", broken, source="x.npy"),
             FeatureInput("labels", lambda: sequence(8), bad_labels)]
    result = export_features(items, tmp_path, model,
                             on_failure=lambda f: seen.append(f.input.name))
    assert [r.video for r in result.records] == ["good"] and seen == ["x.npy", "labels"]
    assert [f.reason for f in result.failed] == ["x.npy: not a skeleton",
                                                 "class 60 is not in the list"]
    assert sorted(p.name for p in tmp_path.glob("*.npy")) == ["good.npy"]
    assert (tmp_path / "missing_files.txt").read_text() == "bad\nlabels\n"
    ann = json.loads(result.annotations.read_text())  # type: ignore[union-attr]
    assert ann["classes"] == ["walk"] and list(ann["database"]) == ["good"]
    assert ann["database"]["good"]["subset"] == "validation"
    with pytest.raises(ConfigError, match="unique video names; repeated: good"):
        export_features(items[:1] * 2, tmp_path, model)


def test_two_shards_write_each_video_once(tmp_path: Path, model: skelloc.Localizer) -> None:
    calls: list[str] = []
    items = [FeatureInput(f"v{i}", counted(sequence(6 + i, i), calls, f"v{i}"),
                          [("walk", 0, 2)], num_frames=6 + i, fps=30.0) for i in range(5)]
    barriers: list[int] = []
    one = export_features(items, tmp_path, model, rank=1, world_size=2,
                          barrier=lambda: barriers.append(1))
    assert [r.video for r in one.records] == ["v1", "v3"] and one.annotations is None
    assert not (tmp_path / "annotations.json").exists()
    zero = export_features(items, tmp_path, model, rank=0, world_size=2,
                           barrier=lambda: barriers.append(0))
    assert [r.video for r in zero.records] == ["v0", "v2", "v4"] and barriers == [1, 0]
    assert sorted(calls) == [f"v{i}" for i in range(5)]  # each loaded (and written) once
    db = json.loads(zero.annotations.read_text())["database"]  # type: ignore[union-attr]
    assert list(db) == [f"v{i}" for i in range(5)]
    assert [db[f"v{i}"]["num_feats"] for i in range(5)] == [6, 7, 8, 9, 10]
    assert all(v["annotations"][0]["segment_frames"] == [0, 2] for v in db.values())
    (tmp_path / "v3.npy").unlink()  # a video the other process did not write: missing
    export_features(items, tmp_path, model, rank=0, world_size=2)
    assert (tmp_path / "missing_files.txt").read_text() == "v3\n"


def test_cache_annotations_carry_segments_and_subsets(tmp_path: Path,
                                                      model: skelloc.Localizer) -> None:
    from skelloc.train import extract_dataset_features

    cache = make_cache(tmp_path / "cache", num_videos=4, splits=["train", "val", "test", None])
    extract_dataset_features(model, cache, tmp_path / "f")
    meta = json.loads((cache / "dataset.json").read_text())
    ann = json.loads((tmp_path / "f" / "annotations.json").read_text())
    assert ann["classes"] == meta["classes"]
    db = ann["database"]
    assert [db[v["id"]]["subset"] for v in meta["videos"]] == [
        "training", "validation", "testing", "training"]
    for v in meta["videos"]:
        assert [(a["label_id"], *a["segment_frames"]) for a in db[v["id"]]["annotations"]] == [
            tuple(s) for s in v["segments"]]
        assert db[v["id"]]["frame"] == v["num_frames"] == db[v["id"]]["num_feats"]
    assert (tmp_path / "f" / "class_map.txt").read_text() == "action0\naction1\n"
