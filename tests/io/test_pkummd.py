"""PKU-MMD skeleton text and label files: fixtures and the official files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from skelloc.errors import SkeletonFormatError
from skelloc.io import read
from skelloc.io.pkummd import (
    LabelInstance,
    format_pkummd_labels,
    read_pkummd_labels,
    read_pkummd_split,
    write_pkummd_labels,
)

FIXTURES = Path(__file__).parent / "fixtures"


def test_fixture_skeleton_text() -> None:
    seq = read(FIXTURES / "0001-L.txt")
    assert seq.joints.shape == (4, 2, 25, 3) and seq.layout == "ntu25" and seq.fps == 30
    # the generator wrote f + 0.5 m + 0.01 j + 0.001 c (person 2 absent in frames 0, 1)
    assert seq.joints[3, 1, 7, 2] == pytest.approx(3 + 0.5 + 0.07 + 0.002, abs=1e-6)
    assert seq.joints[2, 0, 24, 0] == pytest.approx(2 + 0.24, abs=1e-6)
    assert not seq.joints[:2, 1].any()
    assert seq.meta["video_id"] == "0001-L"


def test_label_convention_one_based_inclusive() -> None:
    labels = read_pkummd_labels(FIXTURES / "0001-L_labels.txt")
    # "3,1,2,1": the 1st and 2nd frame -> [0, 2); "51,3,4,2" -> [2, 4)
    assert labels == [LabelInstance(3, 0, 2, 1), LabelInstance(51, 2, 4, 2)]
    assert read_pkummd_labels(FIXTURES / "0001-L_labels.txt", index_base=0,
                              inclusive_end=False)[1] == LabelInstance(51, 3, 4, 2)


def test_messy_label_rows_warn_once_and_never_abort(caplog: pytest.LogCaptureFixture) -> None:
    """The official 0043-L holds ``1,4925,4036,2`` (ends before it starts); rows may also run
    past the video (here 1637 frames, the example clip's length)."""
    path = FIXTURES / "messy_labels" / "0015-L_clip.txt"
    with caplog.at_level("WARNING", logger="skelloc.io.pkummd"):
        skip = read_pkummd_labels(path, num_frames=1637)
    assert skip == [LabelInstance(24, 41, 116, 2), LabelInstance(12, 308, 428, 2),
                    LabelInstance(16, 1516, 1637, 2)]  # reversed and outside rows dropped
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 3  # one per kind of problem, each naming file and line
    assert f"{path}:2: label row '1,4925,4036,2'" in messages[0]
    assert f"{path}:4:" in messages[1] and "clipped" in messages[1]
    assert f"{path}:5:" in messages[2] and "dropped" in messages[2]
    keep = read_pkummd_labels(path, invalid="keep")
    assert keep[1] == LabelInstance(1, 4924, 4036, 2)  # kept as is, for evaluation
    # a row past the end of a short video is clipped, never an error
    assert read_pkummd_labels(FIXTURES / "0001-L_labels.txt", num_frames=3)[1] == \
        LabelInstance(51, 2, 3, 2)


@pytest.mark.parametrize("base, inclusive", [(1, True), (0, False), (0, True), (1, False)])
def test_label_round_trip(tmp_path: Path, base: int, inclusive: bool) -> None:
    insts = [LabelInstance(5, 10, 20, 1), LabelInstance(51, 20, 21, 0)]
    path = write_pkummd_labels(tmp_path / "x.txt", insts, index_base=base,
                               inclusive_end=inclusive)
    assert read_pkummd_labels(path, index_base=base, inclusive_end=inclusive) == insts
    assert format_pkummd_labels(insts).splitlines() == ["5,11,20,1", "51,21,21,0"]


@pytest.mark.parametrize("text, line, msg", [
    ("1,2,3\n", 1, "found 3 fields"),
    ("1,2,3,1\n1,2,x,1\n", 2, "integer"),
])
def test_bad_label_files(tmp_path: Path, text: str, line: int, msg: str) -> None:
    (tmp_path / "l.txt").write_text(text)
    with pytest.raises(SkeletonFormatError, match=msg) as info:
        read_pkummd_labels(tmp_path / "l.txt")
    assert f"l.txt:{line}:" in str(info.value)


def test_empty_label_file_is_no_instances(tmp_path: Path) -> None:
    (tmp_path / "l.txt").write_text("")
    assert read_pkummd_labels(tmp_path / "l.txt") == []


@pytest.mark.parametrize("text, line, msg", [
    ("1 " * 150 + "\n" + "1 " * 149 + "\n", 2, "expected 150 values"),
    ("1 " * 149 + "nan\n", 1, "NaN"),
    ("1 " * 149 + "abc\n", 1, "not a number"),
    ("\n\n", None, "empty"),
])
def test_bad_skeleton_text(tmp_path: Path, text: str, line: int | None, msg: str) -> None:
    (tmp_path / "0001-M.txt").write_text(text)
    with pytest.raises(SkeletonFormatError, match=msg) as info:
        read(tmp_path / "0001-M.txt")
    assert (f"0001-M.txt:{line}:" if line else "0001-M.txt:") in str(info.value)


def test_binary_garbage(tmp_path: Path) -> None:
    (tmp_path / "0001-R.txt").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(SkeletonFormatError, match="binary"):
        read(tmp_path / "0001-R.txt")


def test_split_file(tmp_path: Path) -> None:
    (tmp_path / "cross-subject.txt").write_text(
        "Training videos: \n0002-L, 0002-M, 0002-R, \nValidataion videos: \n0291-L, 0291-M\n")
    assert read_pkummd_split(tmp_path / "cross-subject.txt") == {
        "train": ["0002-L", "0002-M", "0002-R"], "test": ["0291-L", "0291-M"]}


def test_official_raw_files_match_arrays_and_labels(pkummd_root: Path) -> None:
    for vid in ("0005-L", "0160-M"):
        seq = read(pkummd_root / "raw" / f"{vid}.txt")
        ref = np.load(pkummd_root / "skeletons" / f"{vid}.npy")
        assert seq.joints.shape == ref.shape
        # the arrays are the float16 cast of these files (about 2 mm resolution)
        np.testing.assert_allclose(seq.joints, ref.astype(np.float32), atol=2e-3)
        labels = read_pkummd_labels(pkummd_root / "labels" / f"{vid}.txt",
                                    num_frames=seq.num_frames)
        raw_lines = (pkummd_root / "labels" / f"{vid}.txt").read_text().split()
        assert len(labels) == len(raw_lines)
        first = [int(x) for x in raw_lines[0].split(",")]
        assert (labels[0].label, labels[0].start, labels[0].end) == (
            first[0], first[1] - 1, first[2])
        assert all(0 <= lab.start < lab.end <= seq.num_frames for lab in labels)


def test_every_official_label_file_fits_its_video(pkummd_root: Path) -> None:
    """The 1-based inclusive reading keeps every instance of the 193 videos inside its video."""
    total = 0
    for path in sorted((pkummd_root / "labels").glob("*.txt")):
        t = np.load(pkummd_root / "skeletons" / f"{path.stem}.npy", mmap_mode="r").shape[0]
        labels = read_pkummd_labels(path, num_frames=t)
        assert all(1 <= lab.label <= 51 and lab.confidence in (0, 1, 2) for lab in labels)
        total += len(labels)
    assert total == 1558  # the dataset README's instance count


def test_example_clip_is_a_slice_of_0015_L(pkummd_root: Path) -> None:
    repo = Path(__file__).parents[2]
    clip = read(repo / "examples" / "pkummd_0015-L_clip.npy")
    assert clip.joints.shape == (1637, 2, 25, 3)
    ref = np.load(pkummd_root / "skeletons" / "0015-L.npy")
    np.testing.assert_array_equal(clip.joints, ref[60:1697].astype(np.float32))
    clip_labels = read_pkummd_labels(repo / "examples" / "pkummd_0015-L_clip_labels.txt",
                                     num_frames=clip.num_frames)
    full = read_pkummd_labels(pkummd_root / "labels" / "0015-L.txt")
    assert [(c.label, c.start + 60, c.end + 60, c.confidence) for c in clip_labels] == [
        (f.label, f.start, f.end, f.confidence) for f in full]
    # the clip's performance is held out for validation: the bundled models never saw it
    val = (repo / "docs" / "splits" / "pkummd-v1-val-performances.txt").read_text().split()
    assert "0015" in val
    assert (repo / "examples" / "pkummd_0015-L_clip.npy").stat().st_size < 1_000_000
