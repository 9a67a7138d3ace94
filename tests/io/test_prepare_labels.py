"""`skelloc prepare labels`: label tables (CSV, ActivityNet JSON), typed row errors, splits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from skelloc.errors import ConfigError, LabelTableError
from skelloc.io.prepare import load_cache
from skelloc.io.prepare_labels import prepare_labels, read_label_table


def _recordings(root: Path, n: int = 6, frames: int = 90, channels: int = 3) -> Path:
    """``n`` recordings ``rec{i}.npy`` of 3 s at 30 fps (ntu25 arrays)."""
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        np.save(root / f"rec{i}.npy", rng.normal(0, 0.3, (frames, 1, 25, channels))
                .astype(np.float32))
    return root


def _csv(path: Path, rows: list[str], header: str = "video,label,start_s,end_s,group") -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_csv_to_cache_with_grouped_validation(tmp_path: Path) -> None:
    rec = _recordings(tmp_path / "rec")
    rows = [f"rec{i},{'wave' if i % 2 else 'kick'},0.5,{1.5 + 0.1 * i},subj{i // 2}"
            for i in range(6)]
    table = _csv(tmp_path / "labels.csv", rows)
    path = prepare_labels(rec, tmp_path / "out", table, val_fraction=0.34, seed=1)
    data = load_cache(path)
    assert data["classes"] == ["kick", "wave"] and data["layout"] == "ntu25"
    assert data["fps"] == 30.0 and len(data["videos"]) == 6
    by = {v["id"]: v for v in data["videos"]}
    assert by["rec1"]["segments"] == [[1, 15, 48]]  # 0.5 s -> frame 15, 1.6 s -> 48 (exclusive)
    val_groups = {v["performance"] for v in data["videos"] if v["split"] == "val"}
    train_groups = {v["performance"] for v in data["videos"] if v["split"] == "train"}
    assert len(val_groups) == 1 and not val_groups & train_groups  # no subject on both sides
    # a list of videos takes their whole group along; --fps resamples
    path = prepare_labels(rec, tmp_path / "out2", table, val_videos=["rec0"], fps=15)
    data = load_cache(path)
    assert sorted(v["id"] for v in data["videos"] if v["split"] == "val") == ["rec0", "rec1"]
    assert data["fps"] == 15.0 and data["videos"][0]["num_frames"] == 45


def test_activitynet_json(tmp_path: Path) -> None:
    rec = _recordings(tmp_path / "rec", n=2)
    db = {"database": {
        "rec0": {"subset": "training", "annotations": [{"label": "a", "segment": [0.1, 1.0]}]},
        "rec1": {"subset": "validation", "annotations": [{"label": "b", "segment": [1, 2.9]}]}}}
    (tmp_path / "gt.json").write_text(json.dumps(db))
    data = load_cache(prepare_labels(rec, tmp_path / "out", tmp_path / "gt.json"))
    assert {v["id"]: v["split"] for v in data["videos"]} == {"rec0": "train", "rec1": "val"}
    db["database"]["rec1"]["annotations"][0]["segment"] = [2.0, 1.0]
    (tmp_path / "gt.json").write_text(json.dumps(db))
    with pytest.raises(LabelTableError, match=r"row rec1\[0\]: end_s 1 is not after"):
        read_label_table(tmp_path / "gt.json")


@pytest.mark.parametrize(("rows", "header", "message"), [
    (["rec9,wave,0,1"], "video,label,start_s,end_s", r"labels.csv: row 2: unknown video 'rec9'"),
    (["rec0,wave,0,1", "rec1,wave,2,1.5"], "video,label,start_s,end_s",
     r"row 3: end_s 1.5 is not after start_s 2"),
    (["rec0,wave,0,7"], "video,label,start_s,end_s", r"row 2: end_s 7 is past the end of rec0"),
    (["rec0, ,0,1"], "video,label,start_s,end_s", r"row 2: empty label"),
    (["rec0,wave,0,1", "video,label,start_s,end_s", "rec1,wave,0,1"],
     "video,label,start_s,end_s", r"row 3: duplicate header"),
    (["rec0,wave,0,1"], "video,label,label,start_s,end_s", r"row 1: duplicate column"),
    (["rec0,wave,zero,1"], "video,label,start_s,end_s", r"row 2: start_s 'zero' is not a number"),
    (["rec0,wave,0,1"], "video,start_s,end_s", r"row 1: the header lacks \['label'\]"),
])
def test_bad_rows_name_the_row(tmp_path: Path, rows: list[str], header: str,
                               message: str) -> None:
    rec = _recordings(tmp_path / "rec", n=2)
    table = _csv(tmp_path / "labels.csv", rows, header)
    with pytest.raises(LabelTableError, match=message):
        prepare_labels(rec, tmp_path / "out", table)


def test_mixed_layouts_and_bad_splits(tmp_path: Path) -> None:
    rec = _recordings(tmp_path / "rec", n=2)
    np.save(rec / "rec1.npy", np.zeros((90, 1, 17, 2), np.float32) + 1)
    table = _csv(tmp_path / "labels.csv", ["rec0,a,0,1,s1", "rec1,a,0,1,s2"])
    with pytest.raises(ConfigError, match="differs from the first recording"):
        prepare_labels(rec, tmp_path / "out", table)
    rec = _recordings(tmp_path / "rec2", n=2)
    with pytest.raises(ConfigError, match="without recording"):
        prepare_labels(rec, tmp_path / "out", table, val_videos=["nope"])
    with pytest.raises(ConfigError, match="at least two groups"):
        prepare_labels(rec, tmp_path / "out",
                       _csv(tmp_path / "one.csv", ["rec0,a,0,1,s1", "rec1,a,0,1,s1"]),
                       val_fraction=0.5)
