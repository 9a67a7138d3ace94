"""The bundled 2D model: picked automatically for 2D keypoints, and it works on pose-estimator
style input made from the example clip (PKU-MMD 0015-L, a validation performance).

The clip's Kinect joints are projected into the Kinect v2 depth camera, written as COCO-17
keypoints of a 1920 x 1080 video with jitter and estimator-like scores in MMPose's inferencer
JSON, and read back with ``skelloc.read`` -- the path a user's video takes.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

import skelloc
from skelloc.cli import run
from skelloc.io.pkummd import read_pkummd_labels
from skelloc.io.prepare import image2d_keypoints

REPO = Path(__file__).resolve().parents[1]
CLIP = REPO / "examples" / "pkummd_0015-L_clip.npy"
LABELS = REPO / "examples" / "pkummd_0015-L_clip_labels.txt"
DEFAULT_2D = "stgcn16-coco13-pkummd"
# coco13 joint of each COCO-17 keypoint (the five face points all take the head)
COCO17_FROM_13 = [0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]


def _mmpose_json(path: Path, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    kp = image2d_keypoints(np.load(CLIP).astype(np.float32))  # (T, 2, 13, 3) pixels, 512 x 424
    kp = kp[:, :, COCO17_FROM_13]
    scale = 1080 / 424
    frames = []
    for t in range(kp.shape[0]):
        instances = []
        for m in range(kp.shape[1]):
            ok = kp[t, m, :, 2] > 0
            if not ok.any():
                continue
            xy = kp[t, m, :, :2] * scale + [(1920 - 512 * scale) / 2, 0]
            xy = xy + rng.normal(0, 4.0, xy.shape)  # a few pixels of estimator jitter
            scores = np.where(ok, rng.uniform(0.4, 1.0, ok.shape), 0.0)
            instances.append({"keypoints": xy.round(1).tolist(),
                              "keypoint_scores": scores.round(3).tolist()})
        frames.append({"frame_id": t, "instances": instances})
    path.write_text(json.dumps(frames))
    return path


def _hits(segments: list, truth: list, labels: list[str]) -> int:
    hits = 0
    for g in truth:
        for s in segments:
            inter = min(s.end, g.end) - max(s.start, g.start)
            union = max(s.end, g.end) - min(s.start, g.start)
            if s.label == labels[g.label - 1] and inter / union >= 0.5:
                hits += 1
                break
    return hits


def test_manifest_names_the_2d_default() -> None:
    manifest = json.loads((REPO / "weights_manifest.json").read_text())
    assert manifest["default_2d"] == DEFAULT_2D
    spec = manifest["models"][DEFAULT_2D]["input_spec"]
    assert (spec["layout"], spec["channels"], spec["confidence"], spec["normalization"]) == (
        "coco13", 3, True, "person2d")
    assert run(["verify", DEFAULT_2D]) == 0


def test_estimator_keypoints_get_the_2d_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("SKELLOC_OFFLINE", "1")
    seq = skelloc.read(_mmpose_json(tmp_path / "poses.json"), max_persons=2, fps=30)
    assert seq.layout == "coco17" and seq.meta["confidence"] and seq.joints.shape[1] == 2
    with caplog.at_level(logging.INFO, logger="skelloc"):
        segments = skelloc.localize(seq)
    assert f"using {DEFAULT_2D}" in caplog.text
    truth = read_pkummd_labels(LABELS, num_frames=seq.num_frames)
    hits = _hits(segments, truth, list(skelloc.load(DEFAULT_2D).labels))
    # measured when written: see docs/MODELS.md; a floor well under it for numeric drift
    assert hits >= 4, f"only {hits} of {len(truth)} ground-truth actions found"
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="skelloc"):
        skelloc.localize(skelloc.read(CLIP))  # 3D joints keep the 3D default
    assert "using stgcn16-scratch-pkummd (the default for 3D input)" in caplog.text


def test_cli_names_the_model(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKELLOC_OFFLINE", "1")
    xy = image2d_keypoints(np.load(CLIP).astype(np.float32)[:600])[..., :2]
    np.save(tmp_path / "xy.npy", xy)  # bare (x, y) keypoints, coco13
    assert run(["localize", str(tmp_path / "xy.npy"), "--layout", "coco13"]) == 0
    err = capsys.readouterr().err
    assert f"model: {DEFAULT_2D} (the default for 2D input)" in err
