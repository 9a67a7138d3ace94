"""MMPose, OpenPose and MediaPipe readers (hand-written fixtures in each format)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from skelloc.errors import SkeletonFormatError
from skelloc.io import read

FIXTURES = Path(__file__).parent / "fixtures"


def _mm_point(x0: float, scale: float, j: int) -> list[float]:
    return [x0 + scale * (j % 4), 10 + scale * (j // 4)]


def test_mmpose_largest_person_and_frame_gaps() -> None:
    seq = read(FIXTURES / "mmpose_video.json")
    assert seq.layout == "coco17" and seq.meta["confidence"] is True
    assert seq.joints.shape == (4, 1, 17, 3)  # frame ids 0, 1, 3 -> 4 frames, frame 2 empty
    np.testing.assert_allclose(seq.joints[0, 0, 5], [*_mm_point(0, 20, 5), 0.5])
    np.testing.assert_allclose(seq.joints[1, 0, 16], [*_mm_point(0, 21, 16), 0.6], rtol=1e-6)
    assert not seq.joints[2].any()
    np.testing.assert_allclose(seq.joints[3, 0, 9], [*_mm_point(1, 22, 9), 0.7], rtol=1e-6)


def test_mmpose_most_confident_and_tracking() -> None:
    seq = read(FIXTURES / "mmpose_video.json", select="confident")
    np.testing.assert_allclose(seq.joints[0, 0, 1, :2], _mm_point(100, 2, 1))
    np.testing.assert_allclose(seq.joints[1, 0, 1, :2], _mm_point(101, 2, 1))
    two = read(FIXTURES / "mmpose_video.json", select="confident", max_persons=2)
    # frame 3 holds only the big person: linked by centre to its slot (1), not ranked into 0
    assert not two.joints[3, 0].any()
    np.testing.assert_allclose(two.joints[3, 1, 9, :2], _mm_point(1, 22, 9))
    np.testing.assert_allclose(two.joints[1, 1, 0, :2], _mm_point(0, 21, 0))


def test_mmpose_demo_wrapper_and_track_ids(tmp_path: Path) -> None:
    def inst(x: float, tid: int) -> dict:
        return {"keypoints": [[x, 1.0]] * 17, "keypoint_scores": [1.0] * 17, "track_id": tid}

    data = {"meta_info": {}, "instance_info": [
        {"frame_id": 1, "instances": [inst(5, 7), inst(9, 3)]},
        {"frame_id": 2, "instances": [inst(9.5, 3)]}]}
    (tmp_path / "demo.json").write_text(json.dumps(data))
    seq = read(tmp_path / "demo.json", max_persons=2, select="confident")
    # id 3 has the larger summed score (2 frames) -> slot 0 in both frames
    np.testing.assert_allclose(seq.joints[:, 0, 0, 0], [9, 9.5])
    np.testing.assert_allclose(seq.joints[:, 1, 0, 0], [5, 0])


def test_openpose_folder() -> None:
    seq = read(FIXTURES / "openpose_clip", fps=25)
    assert seq.layout == "body25" and seq.fps == 25 and seq.joints.shape == (3, 1, 25, 3)
    np.testing.assert_allclose(seq.joints[1, 0, 3], [104, 203, 0.8], rtol=1e-6)
    np.testing.assert_allclose(seq.joints[0, 0, 24], [124, 224, 0.0])
    assert not seq.joints[2].any()
    one = read(FIXTURES / "openpose_clip" / "clip_000000000001_keypoints.json")
    np.testing.assert_array_equal(one.joints[0], seq.joints[1])


def test_mediapipe_json_and_csv_agree() -> None:
    js = read(FIXTURES / "mediapipe_pose.json")
    assert js.layout == "mediapipe33" and js.fps == 25 and js.joints.shape == (2, 1, 33, 4)
    i = 11
    np.testing.assert_allclose(js.joints[1, 0, i],
                               [0.5 + 0.01 * i + 0.1, 0.2 + 0.02 * i, -0.1 * i / 33,
                                0.9 - 0.01 * i], rtol=1e-6)
    csv = read(FIXTURES / "mediapipe_pose.csv")
    assert csv.joints.shape == (3, 1, 33, 4) and csv.fps == 30
    np.testing.assert_allclose(csv.joints[0], js.joints[0])
    assert not csv.joints[1].any()  # empty row = no detection
    np.testing.assert_allclose(csv.joints[2, 0, 0, 0], 0.5 + 0.2, rtol=1e-6)


def test_to_layout_conversion() -> None:
    pytest.importorskip("skelloc.skeleton.convert")
    seq = read(FIXTURES / "mmpose_video.json", to_layout="ntu25")
    assert seq.layout == "ntu25" and seq.joints.shape[:3] == (4, 1, 25)
    assert seq.meta["converted_from"] == "coco17"


@pytest.mark.parametrize("payload, fmt, msg", [
    ([{"frame_id": 0, "instances": [{"keypoints": [[1, 2]] * 17,
                                     "keypoint_scores": [1] * 16}]}], "mmpose", "16 scores"),
    ([{"frame_id": 0, "instances": [{"keypoints": [1, 2, 3]}]}], "mmpose", r"\[K, 2\|3\]"),
    ([{"frame_id": "a", "instances": []}], "mmpose", "frame_id"),
    ({"people": [{"pose_keypoints_2d": [1.0] * 74}]}, "openpose", "multiple of 3"),
    ({"people": "x"}, "openpose", "people"),
    ([[{"x": 1, "y": 2}] * 32], "mediapipe", "33 landmarks"),
    ({"frames": [{"pose_landmarks": [[{"x": "a", "y": 1}] * 33]}]}, "mediapipe", "numeric"),
    ([{"frame_id": 0, "instances": []}], "mmpose", "no person"),
])
def test_wrong_json_shapes(tmp_path: Path, payload: object, fmt: str, msg: str) -> None:
    (tmp_path / "bad.json").write_text(json.dumps(payload))
    with pytest.raises(SkeletonFormatError, match=msg) as info:
        read(tmp_path / "bad.json", format=fmt)
    assert "bad.json" in str(info.value)


def test_json_syntax_error_names_line(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('[\n{"frame_id": 0,\n "instances": [}\n]')
    with pytest.raises(SkeletonFormatError, match=r"bad.json:3: invalid JSON"):
        read(tmp_path / "bad.json", format="mmpose")
    (tmp_path / "odd.json").write_text('{"hello": 1}')
    with pytest.raises(SkeletonFormatError, match="cannot tell"):
        read(tmp_path / "odd.json")


def test_mediapipe_csv_errors(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("frame,foo\n0,1\n")
    with pytest.raises(SkeletonFormatError, match=r"a.csv:1: CSV header"):
        read(tmp_path / "a.csv")
    lines = (FIXTURES / "mediapipe_pose.csv").read_text().splitlines()
    (tmp_path / "b.csv").write_text("\n".join([lines[0], lines[1].rsplit(",", 1)[0]]) + "\n")
    with pytest.raises(SkeletonFormatError, match=r"b.csv:2: "):
        read(tmp_path / "b.csv")
