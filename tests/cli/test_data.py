"""`skelloc extract` and `skelloc prepare` through skelloc.cli.run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from skelloc.cli import run
from skelloc.models.factory import create_model

FIXTURES = Path(__file__).parents[1] / "io" / "fixtures"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    model = create_model("stgcn", num_classes=2, labels=["a", "b"], base_channels=4,
                         head_args={"fusion_dim": 8})
    path = tmp_path_factory.mktemp("model") / "tiny"
    model.save(path)
    return path


def test_extract_batch_skips_bad_files(tmp_path: Path, tiny_model: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "in"
    data.mkdir()
    np.save(data / "clip_a.npy", np.random.default_rng(0).normal(size=(20, 25, 3)))
    shutil.copy(FIXTURES / "0001-L.txt", data / "0001-L.txt")
    (data / "broken.npy").write_bytes(b"not an array")
    labels = tmp_path / "labels"
    labels.mkdir()
    shutil.copy(FIXTURES / "0001-L_labels.txt", labels / "0001-L.txt")
    out = tmp_path / "feats"
    code = run(["extract", str(data), str(FIXTURES / "S001C002P003R002A013.skeleton"),
                "--out", str(out), "--model", str(tiny_model), "--labels", str(labels)])
    captured = capsys.readouterr()
    assert code == 2  # one failure: non-zero at the end, the others written
    assert "broken.npy" in captured.err and "1 of 4 input(s) failed" in captured.err
    assert "wrote 3 feature file(s)" in captured.out
    assert np.load(out / "clip_a.npy").shape == (20, 8)
    assert np.load(out / "S001C002P003R002A013.npy").shape == (3, 8)
    ann = json.loads((out / "annotations.json").read_text())
    v = ann["database"]["0001-L"]
    assert v["frame"] == 4 and v["fps"] == 30.0 and v["feat_stride"] == 1
    assert [a["label"] for a in v["annotations"]] == ["brushing teeth", "writing"]
    assert v["annotations"][1]["segment"] == [2 / 30, 4 / 30]
    assert (out / "missing_files.txt").read_text() == "broken\n"


def test_extract_glob_format_and_native(tmp_path: Path, tiny_model: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "f"
    code = run(["extract", str(FIXTURES / "openpose_clip"), str(FIXTURES / "mediapipe_pose.*"),
                "--to-layout", "ntu25", "--out", str(out), "--model", str(tiny_model),
                "--level", "encoder"])
    err = capsys.readouterr().err
    # 2D OpenPose cannot feed a 3D model: one clear error (in CLI words) and skipped;
    # MediaPipe (x, y, z) works
    assert code == 2 and "openpose_clip: the model takes 3D joints" in err
    assert "2D keypoints (x, y, score)" in err and "--model NAME" in err
    assert "model='NAME'" not in err  # CLI words, never Python keywords
    assert np.load(out / "mediapipe_pose.npy").shape[0] == 3  # the CSV (sorted first)
    assert np.load(out / "mediapipe_pose-2.npy").shape[0] == 2  # the JSON, same stem
    np.save(tmp_path / "long.npy", np.random.default_rng(1).normal(size=(40, 25, 3)))
    code = run(["extract", str(tmp_path / "long.npy"), "--out", str(tmp_path / "n"),
                "--model", str(tiny_model), "--native"])
    assert code == 0
    rows = np.load(tmp_path / "n" / "long.npy").shape[0]
    ann = json.loads((tmp_path / "n" / "annotations.json").read_text())["database"]["long"]
    assert rows == ann["num_feats"] and ann["feat_stride"] * rows >= 40 > ann["feat_stride"] * (
        rows - 1)


def test_extract_nothing_matched(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["extract", str(tmp_path / "*.npy"), "--out", str(tmp_path / "o")]) == 2


def test_prepare_pkummd_cli(pkummd_root: Path, tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "src"
    (src / "skeletons").mkdir(parents=True)
    (src / "labels").mkdir()
    for p in ("0005", "0006"):
        for v in "LMR":
            shutil.copy(pkummd_root / "skeletons" / f"{p}-{v}.npy", src / "skeletons")
            shutil.copy(pkummd_root / "labels" / f"{p}-{v}.txt", src / "labels")
    perf = tmp_path / "val.txt"
    perf.write_text("# held out\n0006\n")
    code = run(["prepare", "pkummd", str(src), str(tmp_path / "out"),
                "--val-performances", str(perf), "--fps", "15"])
    out = capsys.readouterr().out
    assert code == 0 and "6 videos (train 3, val 3)" in out and "15 fps" in out
    data = json.loads((tmp_path / "out" / "dataset.json").read_text())
    assert {v["id"] for v in data["videos"] if v["split"] == "val"} == {
        "0006-L", "0006-M", "0006-R"}


def test_prepare_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    assert run(["prepare", "pkummd", str(tmp_path / "empty"), str(tmp_path / "o")]) == 2
    assert "no PKU-MMD label folder" in capsys.readouterr().err
    assert run(["prepare", "ntu", str(tmp_path / "empty"), str(tmp_path / "o")]) == 2


def test_prepare_babel_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    jdir = tmp_path / "j"
    jdir.mkdir()
    np.save(jdir / "7001.npy", np.ones((60, 25, 3), np.float32))
    code = run(["prepare", "babel", str(jdir), str(tmp_path / "o"), "--train",
                str(FIXTURES / "babel_mini.json"), "--subset", "1"])
    assert code == 0 and "1 videos (train 1), 3 segments" in capsys.readouterr().out


def test_extract_labels_with_messy_rows(tmp_path: Path, tiny_model: Path,
                                        caplog: pytest.LogCaptureFixture) -> None:
    """A reversed row (as in the official 0043-L) and one past the video's 4 frames never
    abort ``extract --labels``: dropped / clipped, with a warning naming file and line."""
    data = tmp_path / "in"
    data.mkdir()
    shutil.copy(FIXTURES / "0001-L.txt", data / "0001-L.txt")
    labels = tmp_path / "labels"
    labels.mkdir()
    (labels / "0001-L.txt").write_text("3,1,2,1\n1,4925,4036,2\n51,3,9,2\n")
    out = tmp_path / "feats"
    with caplog.at_level("WARNING"):
        code = run(["extract", str(data), "--out", str(out), "--model", str(tiny_model),
                    "--labels", str(labels)])
    assert code == 0
    v = json.loads((out / "annotations.json").read_text())["database"]["0001-L"]
    assert [a["label"] for a in v["annotations"]] == ["brushing teeth", "writing"]
    assert v["annotations"][1]["segment"] == [2 / 30, 4 / 30]  # clipped to the 4 frames
    assert f"{labels / '0001-L.txt'}:2: label row '1,4925,4036,2'" in caplog.text


def test_prepare_utkinect_and_babel_tal_cli(utkinect_root: Path, babel_cmu_root: Path,
                                            tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["prepare", "utkinect", str(utkinect_root), str(tmp_path / "u"),
                "--val-subjects", "s08", "--labels", "official"])
    out = capsys.readouterr().out
    assert code == 0 and "16 videos (train 14, val 2), 160 segments, 10 classes, 30 fps" in out
    code = run(["prepare", "babel-tal", str(babel_cmu_root), str(tmp_path / "b"),
                "--val-subjects", "05,07"])
    out = capsys.readouterr().out
    assert code == 0 and "29 videos" in out and "74 segments, 20 classes" in out
    assert run(["prepare", "utkinect", str(tmp_path), str(tmp_path / "x")]) == 2
    assert "no joints_sXX_eYY.txt files" in capsys.readouterr().err
    assert run(["prepare", "babel-tal", str(tmp_path), str(tmp_path / "y")]) == 2
    assert "BT_action.json" in capsys.readouterr().err
