"""Writers: segment files round trip, feature export for ActionFormer / OpenTAD."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from skelloc.inference.segments import Segment
from skelloc.io import (  # the package's public names
    segments_csv_text,
    segments_json_text,
    segments_pkummd_text,
    write_segments_pkummd_folder,
)
from skelloc.io.pkummd import read_pkummd_labels
from skelloc.io.writers import (
    FeatureRecord,
    feature_grid,
    read_segments_csv,
    read_segments_json,
    tad_annotations,
    write_features,
    write_segments_csv,
    write_segments_json,
    write_segments_pkummd,
    write_tad_annotations,
)

SEGS = [Segment("hand waving", 12, 40, 100, 40 / 120, 100 / 120, 0.875),
        Segment("kick, fast", 3, 0, 7, 0.0, 7 / 120, 0.1234567891)]


def test_json_round_trip_and_activitynet_shape(tmp_path: Path) -> None:
    path = write_segments_json(tmp_path / "r.json", {"v1": SEGS, "v2": []})
    data = json.loads(path.read_text())
    assert set(data) == {"version", "results", "external_data"}
    first = data["results"]["v1"][0]
    assert first["label"] == "hand waving" and first["segment"] == [40 / 120, 100 / 120]
    assert read_segments_json(path) == {"v1": SEGS, "v2": []}
    assert read_segments_json(write_segments_json(tmp_path / "s.json", SEGS, video="x")) == {
        "x": SEGS}


def test_csv_round_trip(tmp_path: Path) -> None:
    path = write_segments_csv(tmp_path / "r.csv", {"a": SEGS, "b": SEGS[:1]})
    assert path.read_text().splitlines()[0] == "video,label,label_id,start,end,start_s,end_s,score"
    assert read_segments_csv(path) == {"a": SEGS, "b": SEGS[:1]}


def test_pkummd_lines(tmp_path: Path) -> None:
    path = write_segments_pkummd(tmp_path / "0002-L.txt", SEGS)
    assert path.read_text().splitlines() == ["13,41,100,0.875", "4,1,7,0.123457"]
    # the label reader takes integer confidences; with scores swapped for ints the frames
    # come back 0-based and end-exclusive, as written
    ints = tmp_path / "ints.txt"
    ints.write_text(path.read_text().replace("0.875", "2").replace("0.123457", "1"))
    labels = read_pkummd_labels(ints)
    assert [(x.label, x.start, x.end) for x in labels] == [(13, 40, 100), (4, 0, 7)]
    named = write_segments_pkummd(tmp_path / "n.txt", SEGS[:1], class_ids={"hand waving": 13})
    assert named.read_text() == "13,41,100,0.875\n"


def test_text_variants_are_the_files(tmp_path: Path) -> None:
    both = {"a": SEGS, "b": SEGS[:1]}
    assert segments_json_text(both) == write_segments_json(tmp_path / "r.json", both).read_text()
    assert segments_csv_text(both) == write_segments_csv(tmp_path / "r.csv", both).read_text()
    assert segments_pkummd_text(SEGS) == write_segments_pkummd(tmp_path / "p.txt",
                                                               SEGS).read_text()
    # the frame rates `skelloc evaluate` reads, last; the first CSV column named as asked
    doc = json.loads(segments_json_text(both, fps={"a": 30, "b": 120.0}, indent=2))
    assert list(doc) == ["version", "results", "external_data", "fps"]
    assert doc["fps"] == {"a": 30.0, "b": 120.0}
    text = segments_csv_text({"x/clip.npy": SEGS[:1]}, key="input")
    assert text.splitlines() == ["input,label,label_id,start,end,start_s,end_s,score",
                                 "x/clip.npy,hand waving,12,40,100,0.3333333333333333,"
                                 "0.8333333333333334,0.875"]


def test_pkummd_class_ids_by_dataset_name_and_folder(tmp_path: Path) -> None:
    named = [Segment("drink water", 0, 0, 5, 0.0, 0.1, 0.5)] + SEGS  # PKU-MMD class 8
    assert segments_pkummd_text(named, class_ids="pkummd").splitlines() == [
        "8,1,5,0.5", "13,41,100,0.875", "4,1,7,0.123457"]  # "kick, fast": label_id + 1
    paths = write_segments_pkummd_folder(tmp_path / "new" / "pred", {"v1": SEGS, "v2": []})
    assert [p.name for p in paths] == ["v1.txt", "v2.txt"]
    assert paths[0].read_text() == segments_pkummd_text(SEGS) and paths[1].read_text() == ""


@pytest.mark.parametrize("n_feat, n_frames, fps, expected", [
    (300, 300, 30.0, (1, 30.0)),
    (75, 300, 30.0, (4, 30.0)),
    (76, 301, 30.0, (4, 30.0)),  # ceil(301 / 4) = 76
    (38, 300, 120.0, (8, 120.0)),
    (7, 300, 30.0, (43, 30.0)),  # ceil(300 / 43) = 7
    (100, 301, 30.0, (1, 30.0 * 100 / 301)),  # no integer stride gives 100 rows
])
def test_feature_grid(n_feat: int, n_frames: int, fps: float, expected: tuple) -> None:
    stride, f = feature_grid(n_feat, n_frames, fps)
    assert stride == expected[0] and f == pytest.approx(expected[1])


def test_features_and_tad_json(tmp_path: Path) -> None:
    feats = np.random.default_rng(0).normal(size=(240, 16)).astype(np.float64)
    path = write_features(tmp_path, "0001-L", feats)
    back = np.load(path)
    assert back.shape == (240, 16) and back.dtype == np.float32
    np.testing.assert_allclose(back, feats, rtol=1e-6)
    rec = FeatureRecord("0001-L", 240, 120.0, 240, 16, "validation",
                        [("walk", 120, 180), ("jump", 0, 12)])
    native = FeatureRecord("0002-L", 240, 120.0, 15, 16, feat_stride=16.0)
    ann = write_tad_annotations(tmp_path, [rec, native], ["jump", "walk"], missing=["bad"])
    data = json.loads(ann.read_text())
    v = data["database"]["0001-L"]
    assert v["subset"] == "validation" and v["duration"] == 2.0 and v["frame"] == 240
    assert v["fps"] == 120.0 and v["feat_stride"] == 1 and v["num_feats"] == 240
    assert v["annotations"][0] == {"label": "walk", "label_id": 1, "segment": [1.0, 1.5],
                                   "segment_frames": [120, 180]}
    assert data["database"]["0002-L"]["feat_stride"] == 16.0
    # ActionFormer's grid position of the walk start: t * fps / feat_stride = frame 120
    assert v["annotations"][0]["segment"][0] * v["fps"] / v["feat_stride"] == 120
    assert (tmp_path / "class_map.txt").read_text() == "jump\nwalk\n"
    assert (tmp_path / "missing_files.txt").read_text() == "bad\n"
    with pytest.raises(ValueError, match="not in classes"):
        tad_annotations([rec], ["walk"])
    with pytest.raises(ValueError, match=r"\[T, D\]"):
        write_features(tmp_path, "x", np.zeros(3))
