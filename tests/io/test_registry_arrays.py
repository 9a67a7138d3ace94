"""read() dispatch, register_reader, and the .npy/.npz reader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import skelloc
from skelloc.errors import ConfigError, SkeletonFormatError
from skelloc.io import detect_format, list_formats, read, register_reader
from skelloc.skeleton.sequence import SkeletonSequence

FIXTURES = Path(__file__).parent / "fixtures"


def test_npy_tvc_gets_person_axis_and_defaults(tmp_path: Path) -> None:
    arr = np.arange(4 * 25 * 3, dtype=np.float16).reshape(4, 25, 3)
    np.save(tmp_path / "clip.npy", arr)
    seq = skelloc.read(tmp_path / "clip.npy")
    assert seq.joints.shape == (4, 1, 25, 3) and seq.joints.dtype == np.float32
    assert seq.layout == "ntu25" and seq.fps == 30.0
    np.testing.assert_array_equal(seq.joints[:, 0], arr.astype(np.float32))
    assert seq.meta["format"] == "npy" and seq.meta["source"].endswith("clip.npy")


def test_npy_axes_and_overrides(tmp_path: Path) -> None:
    ctvm = np.random.default_rng(0).normal(size=(3, 6, 17, 2)).astype(np.float32)
    np.save(tmp_path / "a.npy", ctvm)
    seq = read(tmp_path / "a.npy", axes="CTVM", fps=12.5)
    assert seq.joints.shape == (6, 2, 17, 3)
    assert seq.layout == "coco17" and seq.fps == 12.5
    np.testing.assert_array_equal(seq.joints[4, 1, 7], ctvm[:, 4, 7, 1])


def test_npz_keys_fps_layout_and_pyskl(tmp_path: Path) -> None:
    np.savez(tmp_path / "a.npz", joints=np.ones((5, 2, 18, 3)), fps=np.array(24.0),
             layout=np.array("openpose18"))
    seq = read(tmp_path / "a.npz")
    assert (seq.fps, seq.layout, seq.joints.shape) == (24.0, "openpose18", (5, 2, 18, 3))
    kp = np.zeros((2, 7, 17, 2), np.float16)
    kp[1, 3, 5] = [4.0, 5.0]
    score = np.full((2, 7, 17), 0.5, np.float16)
    np.savez(tmp_path / "pyskl.npz", keypoint=kp, keypoint_score=score)
    seq = read(tmp_path / "pyskl.npz")
    assert seq.joints.shape == (7, 2, 17, 3) and seq.meta["confidence"] is True
    np.testing.assert_array_equal(seq.joints[3, 1, 5], [4.0, 5.0, 0.5])
    np.savez(tmp_path / "two.npz", a=np.ones((2, 25, 3)), b=np.ones(3))
    with pytest.raises(SkeletonFormatError, match="pass key"):
        read(tmp_path / "two.npz")
    assert read(tmp_path / "two.npz", key="a").joints.shape == (2, 1, 25, 3)


@pytest.mark.parametrize("arr, msg", [
    (np.zeros((0, 25, 3)), "zero frames"),
    (np.zeros((5, 25)), "expected"),
    (np.zeros((5, 13, 3)), "no known layout"),
    (np.array(["a", "b"]), "non-numeric"),
])
def test_npy_bad_arrays(tmp_path: Path, arr: np.ndarray, msg: str) -> None:
    np.save(tmp_path / "bad.npy", arr)
    with pytest.raises(SkeletonFormatError, match=msg) as info:
        read(tmp_path / "bad.npy")
    assert "bad.npy" in str(info.value)


def test_pickled_and_garbage_npy_refused(tmp_path: Path) -> None:
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(SkeletonFormatError, match="obj.npy"):
        read(tmp_path / "obj.npy")
    (tmp_path / "junk.npy").write_bytes(b"\x93NUMPY garbage" * 3)
    with pytest.raises(SkeletonFormatError, match="junk.npy"):
        read(tmp_path / "junk.npy")
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(SkeletonFormatError, match="junk.npz"):
        read(tmp_path / "junk.npz")


def test_detect_format() -> None:
    assert detect_format(FIXTURES / "S001C002P003R002A013.skeleton") == "ntu"
    assert detect_format(FIXTURES / "0001-L.txt") == "pkummd"
    assert detect_format(FIXTURES / "mmpose_video.json") == "mmpose"
    assert detect_format(FIXTURES / "mediapipe_pose.json") == "mediapipe"
    assert detect_format(FIXTURES / "mediapipe_pose.csv") == "mediapipe"
    assert detect_format(FIXTURES / "openpose_clip") == "openpose"
    assert detect_format(FIXTURES / "openpose_clip" / "clip_000000000000_keypoints.json") \
        == "openpose"
    assert {"npy", "npz", "ntu", "pkummd", "bvh", "mmpose", "openpose", "mediapipe"} \
        <= set(list_formats())


def test_unknown_extension_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "x.abc").write_text("1 2 3")
    with pytest.raises(SkeletonFormatError, match="unknown file extension '.abc'"):
        read(tmp_path / "x.abc")
    with pytest.raises(SkeletonFormatError, match="no such file"):
        read(tmp_path / "missing.npy")
    with pytest.raises(ConfigError, match="unknown format"):
        read(tmp_path / "x.abc", format="nope")
    np.save(tmp_path / "a.npy", np.zeros((2, 25, 3)))
    with pytest.raises(ConfigError, match="'npy' does not take these options"):
        read(tmp_path / "a.npy", max_persons=2)


def test_register_reader_third_party(tmp_path: Path) -> None:
    def read_csvxyz(path: Path, fps: float = 10.0) -> SkeletonSequence:
        rows = np.loadtxt(path, delimiter=",", ndmin=2)
        return SkeletonSequence(rows.reshape(len(rows), 1, -1, 3).astype(np.float32),
                                layout="coco17", fps=fps)

    register_reader("xyzcsv-test", read_csvxyz, extensions=(".xyzcsv",))
    try:
        (tmp_path / "a.xyzcsv").write_text("\n".join(",".join(["1"] * 51) for _ in range(4)))
        seq = read(tmp_path / "a.xyzcsv", fps=5.0)
        assert seq.joints.shape == (4, 1, 17, 3) and seq.fps == 5.0
        assert seq.meta["format"] == "xyzcsv-test"
        with pytest.raises(ConfigError, match="already registered"):
            register_reader("xyzcsv-test", read_csvxyz)

        @register_reader("xyzcsv-test", overwrite=True, extensions=(".xyzcsv",))
        def _other(path: Path) -> SkeletonSequence:
            return SkeletonSequence(np.zeros((2, 1, 17, 3), np.float64), layout="coco17")

        seq = read(tmp_path / "a.xyzcsv")
        assert seq.joints.shape == (2, 1, 17, 3) and seq.joints.dtype == np.float32
    finally:
        from skelloc.io import registry

        registry._REGISTRY.pop("xyzcsv-test", None)
