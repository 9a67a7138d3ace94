"""Training caches: PKU-MMD (both layouts), NTU, validation splits, fps downsampling."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from skelloc.errors import ConfigError
from skelloc.io.prepare import (
    CacheVideo,
    assign_validation,
    load_cache,
    prepare_ntu,
    prepare_pkummd,
    resample_segments,
)

FIXTURES = Path(__file__).parent / "fixtures"


def _official_layout(root: Path) -> Path:
    """A miniature of the official PKU-MMD download: skeleton text, labels, split file."""
    (root / "Data" / "PKU_Skeleton_Renew").mkdir(parents=True)
    (root / "Label" / "Train_Label_PKU_final").mkdir(parents=True)
    (root / "Split").mkdir()
    text = (FIXTURES / "0001-L.txt").read_text()
    for vid in ("0001-L", "0001-M", "0002-L", "0003-R"):
        (root / "Data" / "PKU_Skeleton_Renew" / f"{vid}.txt").write_text(text)
        (root / "Label" / "Train_Label_PKU_final" / f"{vid}.txt").write_text("3,1,2,1\n51,3,4,2\n")
    (root / "Split" / "cross-subject.txt").write_text(
        "Training videos: \n0001-L, 0001-M, 0002-L\nValidataion videos: \n0003-R\n")
    return root


def test_official_layout(tmp_path: Path) -> None:
    src = _official_layout(tmp_path / "pku")
    data = load_cache(prepare_pkummd(src, tmp_path / "out", dtype="float32"))
    assert data["format"] == "skelloc-cache" and data["version"] == 1
    assert data["dataset"] == "pkummd" and data["fps"] == 30.0 and data["layout"] == "ntu25"
    assert len(data["classes"]) == 51 and data["background_index"] == 51
    assert data["classes"][2] == "brushing teeth" and data["classes"][50] == "writing"
    by_id = {v["id"]: v for v in data["videos"]}
    assert {k: v["split"] for k, v in by_id.items()} == {
        "0001-L": "train", "0001-M": "train", "0002-L": "train", "0003-R": "test"}
    assert by_id["0001-M"]["performance"] == "0001" and by_id["0001-M"]["num_frames"] == 4
    # "3,1,2,1" (1-based inclusive) -> [class index 2, 0, 2); "51,3,4,2" -> [50, 2, 4)
    assert by_id["0001-L"]["segments"] == [[2, 0, 2], [50, 2, 4]]
    arr = np.load(tmp_path / "out" / "skeletons" / "0002-L.npy")
    assert arr.shape == (4, 2, 25, 3) and arr.dtype == np.float32
    assert arr[3, 1, 7, 2] == pytest.approx(3.572, abs=1e-6)


def test_messy_label_rows_never_abort_prepare(tmp_path: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
    """A reversed row (official 0043-L: ``1,4925,4036,2``) is dropped and a row past the
    video's 4 frames is clipped, each with a warning naming file and line."""
    src = _official_layout(tmp_path / "pku")
    label = src / "Label" / "Train_Label_PKU_final" / "0002-L.txt"
    label.write_text("3,1,2,1\n1,4925,4036,2\n51,3,9,2\n")
    with caplog.at_level("WARNING"):
        data = load_cache(prepare_pkummd(src, tmp_path / "out", dtype="float32"))
    by_id = {v["id"]: v for v in data["videos"]}
    assert by_id["0002-L"]["segments"] == [[2, 0, 2], [50, 2, 4]]
    text = " ".join(r.getMessage() for r in caplog.records)
    assert f"{label}:2: label row '1,4925,4036,2'" in text and f"{label}:3:" in text


def test_validation_by_performance_is_seeded(tmp_path: Path) -> None:
    src = _official_layout(tmp_path / "pku")
    a = load_cache(prepare_pkummd(src, tmp_path / "a", val_fraction=0.5, seed=3))
    b = load_cache(prepare_pkummd(src, tmp_path / "b", val_fraction=0.5, seed=3))
    assert a["videos"] == b["videos"] and a["val_performances"] == b["val_performances"]
    assert len(a["val_performances"]) == 1  # round(0.5 * 2 training performances)
    for v in a["videos"]:  # all views of one performance on the same side
        if v["performance"] in a["val_performances"]:
            assert v["split"] == "val"
        else:
            assert v["split"] in ("train", "test")
    named = load_cache(prepare_pkummd(src, tmp_path / "c", val_performances=["0001"]))
    assert sorted(v["id"] for v in named["videos"] if v["split"] == "val") == ["0001-L",
                                                                                  "0001-M"]
    with pytest.raises(ConfigError):
        prepare_pkummd(src, tmp_path / "d", val_fraction=0.5, val_performances=["0001"])


def test_assign_validation_arithmetic() -> None:
    vids = [CacheVideo(f"{p:04d}-{v}", 10, f"{p:04d}", "train") for p in range(10) for v in "LMR"]
    chosen = assign_validation(vids, val_fraction=0.2, seed=0)
    assert len(chosen) == 2 and sum(v.split == "val" for v in vids) == 6
    again = [CacheVideo(v.id, 10, v.performance, "train") for v in vids]
    assert assign_validation(again, val_fraction=0.2, seed=0) == chosen


def test_resample_segments_keeps_extent() -> None:
    # 30 -> 15 fps: [41, 100) covers seconds [1.3667, 3.3333) -> frames [20, 50) at 15 fps
    assert resample_segments([[0, 41, 100], [1, 3, 4]], 30, 15, 60) == [[0, 20, 50], [1, 1, 2]]
    assert resample_segments([[0, 10, 20]], 30, 30, 60) == [[0, 10, 20]]


def test_shared_layout_real_data_with_fps(pkummd_root: Path, tmp_path: Path) -> None:
    src = tmp_path / "shared"
    (src / "skeletons").mkdir(parents=True)
    (src / "labels").mkdir()
    for vid in ("0005-L", "0005-M"):
        shutil.copy(pkummd_root / "skeletons" / f"{vid}.npy", src / "skeletons")
        shutil.copy(pkummd_root / "labels" / f"{vid}.txt", src / "labels")
    full = load_cache(prepare_pkummd(src, tmp_path / "o30"))
    half = load_cache(prepare_pkummd(src, tmp_path / "o15", fps=15))
    f30, f15 = full["videos"][0], half["videos"][0]
    t = np.load(pkummd_root / "skeletons" / "0005-L.npy", mmap_mode="r").shape[0]
    assert f30["num_frames"] == t and f15["num_frames"] == -(-t // 2)
    first = (pkummd_root / "labels" / "0005-L.txt").read_text().split()[0].split(",")
    assert f30["segments"][0] == [int(first[0]) - 1, int(first[1]) - 1, int(first[2])]
    s, e = f30["segments"][0][1:]
    assert f15["segments"][0][1:] == [s // 2, -(-e // 2)]
    assert len(f15["segments"]) == len(f30["segments"])
    arr15 = np.load(tmp_path / "o15" / "skeletons" / "0005-L.npy")
    ref = np.load(pkummd_root / "skeletons" / "0005-L.npy")
    np.testing.assert_allclose(arr15[10], ref[20], atol=1e-3)  # frame 10 @ 15 = frame 20 @ 30
    assert half["fps"] == 15.0


def test_prepare_ntu(tmp_path: Path) -> None:
    src = tmp_path / "ntu"
    src.mkdir()
    text = (FIXTURES / "S001C002P003R002A013.skeleton").read_text()
    for name in ("S001C002P003R002A013", "S001C003P003R002A013", "S002C001P001R001A060"):
        (src / f"{name}.skeleton").write_text(text)
    (src / "S001C001P001R001A001.skeleton").write_text("3\n1\n")
    path, failures = prepare_ntu(src, tmp_path / "out", benchmark="xsub")
    assert [f.name for f, _ in failures] == ["S001C001P001R001A001.skeleton"]
    data = json.loads(path.read_text())
    assert len(data["classes"]) == 60 and data["classes"][12] == "A013"
    by_id = {v["id"]: v for v in data["videos"]}
    assert by_id["S001C002P003R002A013"]["segments"] == [[12, 0, 3]]
    assert by_id["S001C002P003R002A013"]["split"] == "test"  # performer 3 is a test subject
    assert by_id["S002C001P001R001A060"]["split"] == "train"
    assert by_id["S001C003P003R002A013"]["performance"] == "S001P003R002A013"
