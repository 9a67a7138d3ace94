"""BABEL-TAL (BT20): normalised times, overlaps, truncation, the join to CMU BVH motions."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from skelloc.errors import SkeletonFormatError
from skelloc.io.babel_tal import (
    BT20_CLASSES,
    bt_segments,
    load_amass_to_babel,
    load_bt_actions,
    read_bt_classes,
)
from skelloc.io.prepare_domains import prepare_babel_tal

FIXTURES = Path(__file__).parent / "fixtures"
KEY = "video_validation_0000010_https:--babel-renders.s3.eu-central-1.amazonaws.com-{}.mp4@0000010"


def _write_src(root: Path, actions: list[list[float]], sid: str = "007311") -> Path:
    (root / "bvh").mkdir(parents=True)
    shutil.copy(FIXTURES / "cc_mini.bvh", root / "bvh" / "002_09.bvh")
    (root / "BT_action.json").write_text(json.dumps(
        {KEY.format(sid): {"actions": actions, "duration": 99.0, "subset": "training"}}))
    (root / "amass_to_babel.json").write_text(json.dumps({"CMU/02/02_09_poses": "7311"}))
    return root


def test_times_are_normalised_and_overlaps_kept(tmp_path: Path) -> None:
    src = _write_src(tmp_path / "src", [[13, 0.0, 33.0], [11, 20.0, 99.0], [13, 50.0, 60.0]])
    entries = load_bt_actions(src / "BT_action.json")
    assert list(entries) == ["7311"] and not entries["7311"].maybe_truncated
    # 300 frames: v / 99 * 300, start down, end up; the two 'stand' and the 'turn' all kept
    assert bt_segments(entries["7311"], 300) == [[13, 0, 100], [11, 60, 300], [13, 151, 182]]
    assert load_amass_to_babel(src / "amass_to_babel.json") == {"7311": (2, 9)}


def test_truncation_is_noted(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    src = _write_src(tmp_path / "src", [[0, float(i), float(i + 1)] for i in range(20)])
    with caplog.at_level(logging.WARNING):
        entries = load_bt_actions(src / "BT_action.json")
    assert entries["7311"].maybe_truncated and "cap" in caplog.text


@pytest.mark.parametrize("actions, msg", [
    ([[20, 0.0, 1.0]], "outside 0..19"),
    ([[1, 5.0, 2.0]], "outside 0-99"),
    ([[1, 0.0]], r"\[class, start, end\]"),
])
def test_bad_entries(tmp_path: Path, actions: list, msg: str) -> None:
    src = _write_src(tmp_path / "src", actions)
    with pytest.raises(SkeletonFormatError, match=msg):
        load_bt_actions(src / "BT_action.json")


def test_synthetic_cache(tmp_path: Path) -> None:
    src = _write_src(tmp_path / "src", [[4, 0.0, 99.0], [0, 33.0, 66.0]])
    path = prepare_babel_tal(src, tmp_path / "cache")
    data = json.loads(path.read_text())
    assert data["classes"] == list(BT20_CLASSES) and data["multilabel"] is True
    (video,) = data["videos"]
    # 3 frames at 60 fps -> 2 frames at 30 fps; overlapping jump and walk
    assert video["id"] == "002_09" and video["performance"] == "02" and video["num_frames"] == 2
    assert video["segments"] == [[4, 0, 2], [0, 0, 1]]  # walk: 60 fps frames [1, 2)
    assert data["babel_sid"] == {"002_09": "7311"}


def test_real_files_and_jump_alignment(babel_cmu_root: Path, tmp_path: Path) -> None:
    assert read_bt_classes(babel_cmu_root / "action_mapping.txt") == list(BT20_CLASSES)
    path = prepare_babel_tal(babel_cmu_root, tmp_path / "c", val_subjects=["07"])
    data = json.loads(path.read_text())
    assert len(data["videos"]) == 29
    assert sum(len(v["segments"]) for v in data["videos"]) == 74
    assert {v["performance"] for v in data["videos"] if v["split"] == "val"} == {"07"}
    assert data["maybe_truncated"] == ["001_01"]
    # the README's alignment check: hip peaks > 15 cm above the median fall in 'jump' windows
    hits = total = 0
    for v in data["videos"]:
        jumps = [s for s in v["segments"] if s[0] == 4]
        if not jumps:
            continue
        y = np.load(tmp_path / "c" / "skeletons" / f"{v['id']}.npy")[:, 0, 0, 1].astype(float)
        up = np.flatnonzero(y > np.median(y) + 0.15)
        runs = np.split(up, np.flatnonzero(np.diff(up) > 1) + 1) if len(up) else []
        for run in runs:
            peak = int(run[np.argmax(y[run])])
            total += 1
            hits += any(s <= peak < e for _, s, e in jumps)
    assert total >= 10 and hits / total >= 0.85
