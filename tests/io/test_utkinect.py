"""UTKinect-Action3D: the 30 fps frame-id timeline, label files, the cache (real and synthetic)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from skelloc.errors import SkeletonFormatError
from skelloc.io import detect_format, read
from skelloc.io.prepare_domains import prepare_utkinect
from skelloc.io.utkinect import UTKINECT_CLASSES, read_utkinect_labels, utkinect_segments


def _row(frame_id: int, value: float) -> str:
    return " ".join([str(frame_id)] + [f"{value + 0.001 * k:.6f}" for k in range(60)])


def _write_joints(path: Path, rows: list[tuple[int, float]]) -> Path:
    path.write_text("\n".join(_row(i, v) for i, v in rows) + "\n")
    return path


def test_timeline_merges_repeats_and_interpolates(tmp_path: Path) -> None:
    f = _write_joints(tmp_path / "joints_s03_e02.txt",
                      [(10, 0.0), (12, 2.0), (12, 4.0), (16, 7.0)])
    assert detect_format(f) == "utkinect"
    seq = read(f)
    assert seq.layout == "kinect_v1_20" and seq.fps == 30.0
    assert seq.joints.shape == (7, 1, 20, 3)  # ids 10..16
    assert seq.meta["first_frame_id"] == 10 and seq.meta["num_repeated_ids"] == 1
    assert seq.meta["subject"] == 3 and seq.meta["sequence_name"] == "s03_e02"
    x = seq.joints[:, 0, 0, 0]
    # id 12 = mean of its two rows (3.0); 11 halfway; 13..15 on the line from 3 to 7
    np.testing.assert_allclose(x, [0, 1.5, 3, 4, 5, 6, 7], atol=1e-6)
    np.testing.assert_allclose(seq.joints[3, 0, 19, 2] - seq.joints[3, 0, 0, 0], 0.059, atol=1e-5)


def test_bad_joint_rows(tmp_path: Path) -> None:
    f = tmp_path / "joints_s01_e01.txt"
    f.write_text(_row(5, 0.0) + "\n" + "6 1 2 3\n")
    with pytest.raises(SkeletonFormatError, match=r":2: expected 61"):
        read(f, format="utkinect")
    _write_joints(f, [(8, 0.0), (6, 0.0)])
    with pytest.raises(SkeletonFormatError, match="goes back"):
        read(f, format="utkinect")
    _write_joints(f, [(1, 0.0), (10**9, 0.0)])  # a tiny file must not allocate 10^9 frames
    with pytest.raises(SkeletonFormatError, match="span"):
        read(f, format="utkinect")


def test_labels_skip_nan_rows_with_the_line(tmp_path: Path,
                                            caplog: pytest.LogCaptureFixture) -> None:
    f = tmp_path / "actionLabel.txt"
    f.write_text("s01_e01\nwalk: 12 14\ncarry: NaN NaN\npush: 16 16\ns02_e01\nthrow: 3 9\n")
    with caplog.at_level(logging.WARNING):
        table = read_utkinect_labels(f)
    assert "line 3" in caplog.text and "carry" in caplog.text
    assert [a.label for a in table["s01_e01"]] == ["walk", "push"]
    segs = utkinect_segments(table["s01_e01"], first_frame_id=10, num_frames=7)
    assert segs == [[0, 2, 5], [6, 6, 7]]  # inclusive ids -> [start, end) on the timeline
    f.write_text("s01_e01\nwalk 12 14\n")
    with pytest.raises(SkeletonFormatError, match=":2:"):
        read_utkinect_labels(f)
    f.write_text("s01_e01\ndance: 1 2\n")
    with pytest.raises(SkeletonFormatError, match="unknown action"):
        utkinect_segments(read_utkinect_labels(f)["s01_e01"], 0, 5)


def test_synthetic_cache(tmp_path: Path) -> None:
    src = tmp_path / "utk"
    (src / "joints").mkdir(parents=True)
    _write_joints(src / "joints" / "joints_s01_e01.txt", [(i, 0.1 * i) for i in range(4, 40, 3)])
    _write_joints(src / "joints" / "joints_s02_e01.txt", [(i, 0.1 * i) for i in range(2, 30, 2)])
    (src / "actionLabel.txt").write_text("s01_e01\nwalk: 10 20\npull: 22 30\n"
                                         "s02_e01\nclapHands: 2 28\n")
    path = prepare_utkinect(src, tmp_path / "cache", labels="official", val_subjects=["s02"])
    data = json.loads(path.read_text())
    assert data["layout"] == "ntu25" and data["classes"] == list(UTKINECT_CLASSES)
    v = {x["id"]: x for x in data["videos"]}
    assert v["s01_e01"]["num_frames"] == 34 and v["s01_e01"]["segments"] == [[0, 6, 17],
                                                                             [7, 18, 27]]
    assert v["s02_e01"]["split"] == "val" and v["s02_e01"]["segments"] == [[9, 0, 27]]
    joints = np.load(tmp_path / "cache" / "skeletons" / "s01_e01.npy")
    assert joints.shape == (34, 1, 25, 3)
    with pytest.raises(SkeletonFormatError, match="label file not found"):
        prepare_utkinect(src, tmp_path / "c2", labels="modified")


def test_real_files(utkinect_root: Path) -> None:
    seq = read(utkinect_root / "joints" / "joints_s04_e02.txt")
    ids = np.loadtxt(utkinect_root / "joints" / "joints_s04_e02.txt", usecols=0)
    assert seq.num_frames == ids[-1] - ids[0] + 1 and seq.meta["first_frame_id"] == ids[0]
    assert seq.meta["num_rows"] == len(ids) and seq.meta["num_repeated_ids"] > 0
    assert np.isfinite(seq.joints).all()
    ntu = read(utkinect_root / "joints" / "joints_s04_e02.txt", to_layout="ntu25")
    assert ntu.layout == "ntu25" and ntu.joints.shape[2] == 25
    official = read_utkinect_labels(utkinect_root / "actionLabel.txt")
    modified = read_utkinect_labels(utkinect_root / "actionLabel_modified.txt")
    assert len(official) == len(modified) == 16
    assert all(len(a) == 10 for a in official.values())
    changed = [(k, a.label) for k in official for a, b in zip(official[k], modified[k])
               if a != b and (a.start_id, a.end_id) != (b.start_id, b.end_id)]
    assert ("s01_e02", "walk") in changed and len(changed) == 4


def test_real_cache(utkinect_root: Path, tmp_path: Path) -> None:
    path = prepare_utkinect(utkinect_root, tmp_path / "c", val_subjects=["s07", "s08"])
    data = json.loads(path.read_text())
    assert len(data["videos"]) == 16 and data["labels"] == "actionLabel_modified.txt"
    assert sum(len(v["segments"]) for v in data["videos"]) == 160
    assert sorted({v["performance"] for v in data["videos"] if v["split"] == "val"}) == \
        ["s07", "s08"]
    for v in data["videos"]:
        assert sorted(s[0] for s in v["segments"]) == list(range(10))
