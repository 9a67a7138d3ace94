"""Readers of results / ground-truth files: conventions and error messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from skelloc.errors import InputError, SkeletonFormatError
from skelloc.metrics import (
    Instance,
    detection_map,
    read_anet_json,
    read_instances,
    read_pkummd_folder,
)


def test_pkummd_labels_are_one_based_inclusive(tmp_path: Path) -> None:
    # "5,1,100,2": class 5 on frames 1..100 (1-based, inclusive) = 0-based [0, 100)
    (tmp_path / "0002-L.txt").write_text("5,1,100,2\n12 201 260 1\n\n")
    gt = read_pkummd_folder(tmp_path, predictions=False)
    assert gt == [Instance("0002-L", 5, 0.0, 100.0), Instance("0002-L", 12, 200.0, 260.0)]
    pred = read_instances(tmp_path / "0002-L.txt", predictions=True)
    assert [p.score for p in pred] == [2.0, 1.0]


def test_pkummd_reader_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no .txt"):
        read_pkummd_folder(tmp_path, predictions=False)
    (tmp_path / "a.txt").write_text("1,2,3,4\n1,2.5x,3,4\n")
    with pytest.raises(SkeletonFormatError, match=r"a\.txt:2"):
        read_pkummd_folder(tmp_path, predictions=True)
    (tmp_path / "a.txt").write_text("1,2,3\n")
    assert len(read_pkummd_folder(tmp_path, predictions=False)) == 1
    with pytest.raises(SkeletonFormatError, match="confidence"):
        read_pkummd_folder(tmp_path, predictions=True)
    (tmp_path / "a.txt").write_text("1.5,2,3,1\n")
    with pytest.raises(SkeletonFormatError, match="not an integer"):
        read_pkummd_folder(tmp_path, predictions=False)


def test_anet_json(tmp_path: Path) -> None:
    gt_file = tmp_path / "gt.json"
    gt_file.write_text(json.dumps({"database": {
        "v1": {"subset": "validation", "annotations": [{"label": "run", "segment": [1.5, 3.0]}]},
        "v2": {"annotations": []}}}))
    pred_file = tmp_path / "pred.json"
    pred_file.write_text(json.dumps({"results": {
        "v1": [{"label": "run", "segment": [1.5, 2.5], "score": 0.7}]}}))
    assert read_anet_json(gt_file, predictions=False) == [Instance("v1", "run", 1.5, 3.0)]
    # seconds are fine for anet: IoU 1.0 / 1.5 = 2/3
    res = detection_map(pred_file, gt_file, [0.6, 0.7])
    assert res.mAP == {0.6: 1.0, 0.7: 0.0}
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(SkeletonFormatError, match="invalid JSON"):
        read_anet_json(bad, predictions=True)
    bad.write_text(json.dumps({"results": {"v": [{"label": "x", "segment": [1]}]}}))
    with pytest.raises(SkeletonFormatError, match="instance 0"):
        read_anet_json(bad, predictions=True)
    with pytest.raises(SkeletonFormatError, match="swap"):
        read_anet_json(gt_file, predictions=True)


def test_real_pkummd_labels_against_themselves(pkummd_root: Path) -> None:
    gt = read_pkummd_folder(pkummd_root / "labels", predictions=False)
    assert len(gt) == 1558 and len({g.video for g in gt}) == 193
    assert all(g.start >= 0 and g.end - g.start >= 2 for g in gt)
    # the files' confidence column as scores: labels predicting themselves are perfect
    pred = read_pkummd_folder(pkummd_root / "labels", predictions=True)
    assert detection_map(pred, gt, protocol="anet").average_mAP == pytest.approx(1.0)
    pk = detection_map(pred, gt, protocol="pkummd")
    assert pk.mAP[0.5] == pytest.approx(1.0) and pk.extra["mAP_video"][0.5] == pytest.approx(1.0)
    assert pk.extra["mAP_action_official"][0.5] == pytest.approx(24 / 51)  # 24 classes present
    exact = detection_map(pred, gt, protocol="frameset", frameset_ends="exact")
    assert exact.average_mAP == pytest.approx(1.0)


def test_non_utf8_label_file_is_a_typed_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "0002-L.txt").write_bytes(b"5,1,100,2\n" + b"\xff\xfe,3,4,1\n")
    with pytest.raises(SkeletonFormatError, match=r"0002-L\.txt:2: not UTF-8"):
        read_pkummd_folder(tmp_path, predictions=False)
