"""BABEL annotations: per-frame labels at any fps, subsets, deterministic overlap resolution."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from skelloc.errors import SkeletonFormatError
from skelloc.io.babel import (
    SMPLH_TO_NTU25,
    frame_labels,
    label_runs,
    load_babel,
    smplh_to_ntu25,
    subset_frame_labels,
)
from skelloc.io.prepare import load_cache, prepare_babel

FIXTURE = Path(__file__).parent / "fixtures" / "babel_mini.json"


def test_load_and_frame_labels_at_30_and_10_fps() -> None:
    seqs = load_babel(FIXTURE)
    assert sorted(seqs) == ["7001", "7002", "7003"]
    assert seqs["7001"].dense and not seqs["7002"].dense
    assert seqs["7002"].segments[0].act_cat == ("jog",) and seqs["7002"].segments[0].end_t == 1.0
    labels = frame_labels(seqs["7001"], 60, fps=30)
    assert labels[0] == ("walk",) and labels[14] == ("walk",)
    assert labels[15] == ("gesture", "turn", "walk")  # 0.5 s: start_t <= t
    assert labels[30] == ("gesture", "turn")  # 1.0 s: walk ended (end_t exclusive)
    assert labels[45] == ("stand",) and labels[59] == ("stand",)
    at10 = frame_labels(seqs["7001"], 20, fps=10)
    assert at10[4] == ("walk",) and at10[5] == ("gesture", "turn", "walk") and at10[10] == (
        "gesture", "turn")


def test_subsets_resolve_by_class_order() -> None:
    labels = frame_labels(load_babel(FIXTURE)["7001"], 60)
    s1 = subset_frame_labels(labels, 1)  # walk, stand, turn, jump
    assert s1[:30].tolist() == [0] * 30  # walk beats turn where both hold
    assert s1[30:45].tolist() == [2] * 15 and s1[45:].tolist() == [1] * 15
    s3 = subset_frame_labels(labels, 3)  # jog, wave, dance, gesture
    assert s3[:15].tolist() == [4] * 15 and s3[15:45].tolist() == [3] * 30
    assert label_runs(s1, 4) == [[0, 0, 30], [2, 30, 45], [1, 45, 60]]
    assert label_runs(s3, 4) == [[3, 15, 45]]


_CHILD = """
import json, sys
from skelloc.io.babel import frame_labels, load_babel, subset_frame_labels
seqs = load_babel(sys.argv[1])
print(json.dumps({s: [subset_frame_labels(frame_labels(q, 60), k).tolist() for k in (1, 2, 3)]
                  for s, q in sorted(seqs.items())}))
"""


def test_subsets_deterministic_across_hash_seeds() -> None:
    outs = []
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        res = subprocess.run([sys.executable, "-c", _CHILD, str(FIXTURE)], env=env,
                             capture_output=True, text=True, check=True, timeout=120)
        outs.append(json.loads(res.stdout))
    assert outs[0] == outs[1] == outs[2]
    assert outs[0]["7001"][0][:30] == [0] * 30


def test_smplh_map() -> None:
    j = np.arange(2 * 73 * 3, dtype=np.float32).reshape(2, 73, 3)
    out = smplh_to_ntu25(j)
    assert out.shape == (2, 25, 3)
    np.testing.assert_array_equal(out[:, 7], j[:, 22])  # NTU left hand <- left_index1
    assert SMPLH_TO_NTU25[21:] == (63, 64, 68, 69)
    with pytest.raises(SkeletonFormatError):
        smplh_to_ntu25(np.zeros((2, 25, 3)))


@pytest.mark.parametrize("payload, msg", [
    ([1, 2], "keyed by babel_sid"),
    ({"1": {"dur": "x"}}, "dur"),
    ({"1": {"dur": 1.0, "frame_ann": {"labels": [{"act_cat": "walk", "start_t": 0,
                                                  "end_t": 1}]}}}, "act_cat"),
    ({"1": {"dur": 1.0, "frame_ann": {"labels": [{"act_cat": ["walk"], "start_t": 0}]}}},
     "end_t"),
])
def test_bad_babel_json(tmp_path: Path, payload: object, msg: str) -> None:
    (tmp_path / "b.json").write_text(json.dumps(payload))
    with pytest.raises(SkeletonFormatError, match=msg):
        load_babel(tmp_path / "b.json")


def test_prepare_babel_subset_and_multilabel(tmp_path: Path) -> None:
    jdir = tmp_path / "joints"
    jdir.mkdir()
    # 7001 at 60 fps (120 frames = 2 s) -> resampled to 60 frames at 30 fps; 7003 at 30 fps
    np.savez(jdir / "7001.npz", joints=np.ones((120, 25, 3), np.float32), fps=np.array(60.0))
    np.save(jdir / "7003.npy", np.ones((30, 25, 3), np.float32))
    path = prepare_babel({"train": FIXTURE}, jdir, tmp_path / "s1", subset=1)
    data = load_cache(path)
    assert data["classes"] == ["walk", "stand", "turn", "jump"] and data["background_index"] == 4
    assert [v["id"] for v in data["videos"]] == ["7001"]  # 7003 has no subset-1 frame
    assert data["videos"][0]["num_frames"] == 60
    assert data["videos"][0]["segments"] == [[0, 0, 30], [2, 30, 45], [1, 45, 60]]
    arr = np.load(tmp_path / "s1" / "skeletons" / "7001.npy")
    assert arr.shape == (60, 1, 25, 3) and arr.dtype == np.float16
    multi = load_cache(prepare_babel({"train": FIXTURE}, jdir, tmp_path / "all"))
    assert multi["classes"] == ["gesture", "jog", "sit", "stand", "turn", "walk"]
    v3 = next(v for v in multi["videos"] if v["id"] == "7003")
    assert v3["segments"] == [[2, 6, 24]]  # 0.2-0.8 s at 30 fps
    s2 = load_cache(prepare_babel({"train": FIXTURE}, jdir, tmp_path / "s2", subset=2,
                                  max_frames=50))
    assert [v["id"] for v in s2["videos"]] == ["7003"]  # 7001 (60 frames) exceeds 50
