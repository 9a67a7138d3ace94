"""Reproducers of issue 15: tiny files that asked for huge allocations, values past float32,
untyped errors and accepted garbage.  Each must now be a SkeletonFormatError naming the file."""

from __future__ import annotations

import io
import json
import os
import time
import tracemalloc
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

from skelloc.errors import SkeletonFormatError
from skelloc.io import read
from skelloc.io.pkummd import read_pkummd_labels
from skelloc.metrics.io import read_pkummd_folder

FIXTURES = Path(__file__).parent / "fixtures"
BUDGET = 64 * 1024**2  # no reader may allocate more than this for a file of a few KiB


def _refused(path: Path, match: str, **options: object) -> SkeletonFormatError:
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings(), pytest.raises(SkeletonFormatError, match=match) as info:
            warnings.simplefilter("error")  # no numpy overflow warning on stderr either
            read(path, **options)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < BUDGET, f"{path.name}: peak {peak} bytes"
    assert time.perf_counter() - t0 < 10
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    return info.value


def _mmpose(frames: list[tuple[int, float]]) -> str:
    kp = [[10.0 + k, 20.0 + k] for k in range(17)]
    return json.dumps([{"frame_id": fid, "instances": [
        {"keypoints": [[x * scale for x in p] for p in kp], "keypoint_scores": [0.9] * 17}]}
        for fid, scale in frames])


def test_mmpose_frame_id_gap_is_bounded_by_the_file(tmp_path: Path) -> None:
    p = tmp_path / "gap.json"
    p.write_text(_mmpose([(0, 1.0), (9_999_999, 1.0)]))
    _refused(p, "frame_id range 0..9999999", format="mmpose", layout="coco17")
    p.write_text(_mmpose([(5, 1.0), (8, 1.0)]))  # a real gap of two frames is fine
    seq = read(p, format="mmpose")
    assert seq.joints.shape[0] == 4 and not seq.joints[1:3].any()


def test_npy_header_larger_than_the_file(tmp_path: Path) -> None:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<f4", "fortran_order": False, "shape": (1_000_000_000, 2, 25, 3)})
    p = tmp_path / "huge.npy"
    p.write_bytes(buf.getvalue() + b"\0" * 1024)
    _refused(p, r"declares shape \(1000000000, 2, 25, 3\)")


def test_npz_entry_larger_than_declared(tmp_path: Path) -> None:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<f4", "fortran_order": False, "shape": (100_000_000, 25, 3)})
    p = tmp_path / "bomb.npz"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("joints.npy", buf.getvalue() + b"\0" * 4096)
    _refused(p, "declares shape")


def test_npz_flipped_bytes_are_typed(tmp_path: Path) -> None:
    src = tmp_path / "ok.npz"
    rng = np.random.default_rng(0)
    np.savez_compressed(src, joints=rng.normal(size=(40, 25, 3)).astype(np.float32))
    data = bytearray(src.read_bytes())
    raised = 0
    for pos in range(60, len(data) - 30, max(1, len(data) // 97)):
        bad = bytearray(data)
        bad[pos] ^= 0xFF
        p = tmp_path / f"flip{pos}.npz"
        p.write_bytes(bytes(bad))
        try:
            seq = read(p)
        except SkeletonFormatError as err:
            assert str(p) in str(err)
            raised += 1
        else:
            assert np.isfinite(seq.joints).all()
    assert raised > 10  # zlib.error / bad CRC among them, all typed


def test_bvh_fk_bounded_and_depth_bounded(tmp_path: Path) -> None:
    joints = "".join(f"  JOINT j{k}\n  {{\n    OFFSET 0 0 0\n    CHANNELS 0\n  }}\n"
                     for k in range(3000))
    flat = (f"HIERARCHY\nROOT r\n{{\n  OFFSET 0 0 0\n  CHANNELS 1 Xposition\n{joints}}}\n"
            f"MOTION\nFrames: 1000\nFrame Time: 0.01\n" + "0\n" * 1000)
    p = tmp_path / "wide.bvh"
    p.write_text(flat)
    _refused(p, "forward kinematics", layout=None)
    depth = 3000
    deep = ("HIERARCHY\nROOT r\n{\nOFFSET 0 0 0\nCHANNELS 1 Xposition\n"
            + "JOINT j\n{\nOFFSET 0 0 1\nCHANNELS 0\n" * depth + "}\n" * (depth + 1)
            + "MOTION\nFrames: 1\nFrame Time: 0.01\n0\n")
    p = tmp_path / "deep.bvh"
    p.write_text(deep)
    _refused(p, "nested deeper", layout=None)


def test_text_size_and_special_files(tmp_path: Path) -> None:
    big = tmp_path / "0001-L.txt"
    with big.open("wb") as fh:  # sparse: 3 GiB declared, nothing written
        fh.truncate(3 * 1024**3)
    _refused(big, "limit")
    link = tmp_path / "0002-L.txt"
    link.symlink_to("/dev/zero")
    _refused(link, "not a regular file")


@pytest.mark.parametrize("value, match", [
    ("1e39", "plausible range"),  # finite in float64, inf in float32
    ("1e38", "plausible range"),
    ("-20000", "plausible range"),
])
def test_pkummd_values_past_float32_or_implausible(tmp_path: Path, value: str,
                                                  match: str) -> None:
    rows = ["0.1 " * 150, ("0.2 " * 149) + value]
    p = tmp_path / "0003-M.txt"
    p.write_text("\n".join(rows) + "\n")
    err = _refused(p, match)
    assert f"{p}:2:" in str(err)  # file and line


@pytest.mark.parametrize("fmt, name", [("mmpose", "m.json"), ("openpose", "o.json"),
                                       ("mediapipe", "mp.json"), ("mediapipe", "mp.csv")])
def test_pose_estimators_refuse_values_past_float32(tmp_path: Path, fmt: str, name: str) -> None:
    p = tmp_path / name
    if fmt == "mmpose":
        text = _mmpose([(0, 1.0)]).replace("10.0", "1e39", 1)
    elif fmt == "openpose":
        flat = [v for k in range(25) for v in (1.0 + k, 2.0, 0.9)]
        text = json.dumps({"people": [{"pose_keypoints_2d": flat}]}).replace("1.0", "1e39", 1)
    elif name.endswith(".json"):
        text = json.dumps([[[0.5, 0.5, 0.0, 1.0]] * 33]).replace("0.5", "1e39", 1)
    else:
        header = ",".join(f"x{k},y{k},z{k},visibility{k}" for k in range(33))
        text = header + "\n" + ",".join(["0.5"] * 131 + ["1e39"]) + "\n"
    p.write_text(text)
    _refused(p, "float32|plausible|infinite", format=fmt)


def test_accepted_garbage_is_refused(tmp_path: Path) -> None:
    bom = tmp_path / "0004-R.txt"
    bom.write_bytes(b"\xef\xbb\xbf")
    _refused(bom, "empty")
    cplx = tmp_path / "c.npy"
    np.save(cplx, np.ones((5, 25, 3), dtype=np.complex64))
    _refused(cplx, "complex")
    inf_fps = tmp_path / "f.npz"
    np.savez(inf_fps, joints=np.zeros((5, 25, 3), np.float32), fps=np.array(np.inf))
    _refused(inf_fps, "fps")
    far = tmp_path / "far.npy"
    np.save(far, np.full((5, 25, 3), 1e38, dtype=np.float32))
    _refused(far, "plausible range")
    wide = tmp_path / "wide.npy"
    np.save(wide, np.full((5, 25, 3), 1e39))  # float64 past float32
    _refused(wide, "plausible range")
    ok = tmp_path / "ok.npy"
    arr = np.full((5, 25, 3), 9999.0, dtype=np.float32)
    arr[2, 3] = np.nan  # NaN stays the "missing" marker of arrays
    np.save(ok, arr)
    assert np.isnan(read(ok).joints).sum() == 3


def test_non_utf8_label_files_are_typed(tmp_path: Path) -> None:
    p = tmp_path / "0005-L.txt"
    p.write_bytes(b"1,10,20,1\n2,30,40,\xff\xfe\n")
    with pytest.raises(SkeletonFormatError, match=r"0005-L.txt:2: not UTF-8"):
        read_pkummd_labels(p)
    with pytest.raises(SkeletonFormatError, match=r"0005-L.txt:2: not UTF-8"):
        read_pkummd_folder(p, predictions=False)
    assert os.path.exists(p)


def test_babel_tal_ids_that_are_not_integers(tmp_path: Path) -> None:
    from skelloc.io.babel_tal import load_amass_to_babel, read_bt_classes

    amass = tmp_path / "amass_to_babel.json"
    amass.write_text('{"CMU/CMU/01/01_01_poses": "x"}')
    with pytest.raises(SkeletonFormatError, match="not an integer"):
        load_amass_to_babel(amass)
    classes = tmp_path / "action_mapping.txt"
    classes.write_text("0 walk\n\u00b2 kick\n", encoding="utf-8")
    with pytest.raises(SkeletonFormatError, match="action_mapping.txt:2"):
        read_bt_classes(classes)
