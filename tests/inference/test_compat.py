"""Inputs a model cannot take (2D keypoints for a 3D model), persons kept from pose-estimator
files, the encoder-only feature default and CLI messages in CLI words."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import skelloc
from skelloc import api  # the public functions (names and paths resolve)
from skelloc.cli import run
from skelloc.cli.data import persons_of, reader_options
from skelloc.errors import InputKindError, LayoutMismatchError
from skelloc.inference.compat import accepts, coordinate_channels
from skelloc.models.factory import create_model
from skelloc.skeleton.sequence import SkeletonSequence

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "io" / "fixtures"
MMPOSE = FIXTURES / "mmpose_video.json"


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model("stgcn", num_classes=2, labels=["wave", "kick"], base_channels=4,
                        head_args={"fusion_dim": 8}).eval()


@pytest.fixture(scope="module")
def weights(model: torch.nn.Module, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("w") / "tiny.safetensors"
    model.save(path)
    return path


def coco17_array() -> np.ndarray:
    """What a COCO-style 2D estimator gives for two people: ``(T, 2, 17, 3)`` = x, y (pixels),
    score, from the MMPose fixture's keypoints."""
    seq = skelloc.read(MMPOSE, max_persons=2)
    assert seq.joints.shape == (4, 2, 17, 3)
    return seq.joints.copy()


def test_coco17_array_to_a_3d_model_is_one_error_at_once(model: torch.nn.Module) -> None:
    arr = coco17_array()
    for kwargs in ({}, {"layout": "coco17"}):
        with pytest.raises(InputKindError) as info:
            api.localize(arr, model, **kwargs)
        text = str(info.value)
        assert "takes 3D joints" in text and "2D keypoints (x, y, score) in layout coco17" in text
        assert "use a model that takes 2D keypoints" in text and "lift" in text
    # a 3D sequence in a COCO-17 layout (z beyond [0, 1]) is no keypoint array: it is
    # converted and runs
    arr3d = arr.copy()
    arr3d[..., 2] = 3.0
    assert isinstance(api.localize(arr3d, model, layout="coco17"), list)
    # without a layout a 17-joint 3D array still asks for it (not taken for keypoints)
    with pytest.raises(LayoutMismatchError, match="coco17"):
        api.localize(arr3d, model)


def test_pose_estimator_json_to_a_3d_model(model: torch.nn.Module) -> None:
    seq = skelloc.read(MMPOSE)
    assert coordinate_channels(seq) == 2 and accepts(model.input_spec, seq) is not None
    with pytest.raises(InputKindError, match="2D keypoints \\(x, y, score\\)"):
        api.localize(seq, model)


def test_accepts_is_none_for_3d_input_and_an_explicit_z(model: torch.nn.Module) -> None:
    clip = skelloc.read(REPO / "examples" / "pkummd_0015-L_clip.npy")
    assert coordinate_channels(clip) == 3 and accepts(model.input_spec, clip) is None
    arr = coco17_array()
    stated = SkeletonSequence(arr, layout="coco17", meta={"confidence": False})  # "really z"
    assert coordinate_channels(stated) == 3 and accepts(model.input_spec, stated) is None


def test_cli_2d_input_error_names_cli_options(weights: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["localize", str(MMPOSE), "-m", str(weights)]) == 2
    err = [line for line in capsys.readouterr().err.strip().splitlines()
           if not line.startswith("warning:")]  # e.g. the assumed frame rate
    assert len(err) == 1 and err[0].startswith("error: ") and "2D keypoints" in err[0]
    assert "--model NAME" in err[0] and "skelloc list" in err[0] and "model='" not in err[0]
    path = tmp_path / "coco.npy"
    np.save(path, coco17_array())
    assert run(["localize", str(path), "-m", str(weights), "--layout", "coco17"]) == 2
    assert "2D keypoints (x, y, score) in layout coco17" in capsys.readouterr().err


def test_cli_messages_use_option_names(weights: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(0)
    nan = rng.normal(size=(20, 25, 3)).astype(np.float32)
    nan[3, 0, 0] = np.nan
    np.save(tmp_path / "nan.npy", nan)
    assert run(["localize", str(tmp_path / "nan.npy"), "-m", str(weights)]) == 2
    err = capsys.readouterr().err
    assert "pass --nonfinite interpolate" in err and "nonfinite='" not in err
    np.save(tmp_path / "j19.npy", rng.normal(size=(20, 19, 3)).astype(np.float32) + 5)
    assert run(["localize", str(tmp_path / "j19.npy"), "-m", str(weights)]) == 2
    err = capsys.readouterr().err
    assert "pass --layout NAME" in err and "layout=" not in err
    # Python's raw-array message, in CLI words when it reaches the CLI
    with pytest.raises(LayoutMismatchError) as info:
        api.localize(rng.normal(size=(20, 17, 3)).astype(np.float32) + 5, weights)
    assert "pass layout='coco17' (CLI: --layout coco17)" in str(info.value)
    assert info.value.cli_message is not None and "pass --layout coco17" in \
        info.value.cli_message and "layout='" not in info.value.cli_message
    (tmp_path / "odd.json").write_text(json.dumps({"something": 1}))
    assert run(["localize", str(tmp_path / "odd.json"), "-m", str(weights)]) == 2
    err = capsys.readouterr().err
    assert "--input-format mmpose, openpose or mediapipe" in err and "format=" not in err
    # and Python keeps its own words
    with pytest.raises(Exception, match="pass nonfinite='interpolate'"):
        api.localize(nan, weights)


def test_pose_estimator_files_keep_the_models_persons(model: torch.nn.Module, weights: Path,
                                                      tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Both people of a two-person clip reach a 2-person model, tracked across frames (MMPose
    alone kept one)."""
    opts = reader_options(None, persons_of(model))(MMPOSE)
    assert opts == {"max_persons": model.input_spec.max_persons} == {"max_persons": 2}
    two = skelloc.read(MMPOSE, **opts)
    assert two.joints.shape[1] == 2 and two.joints[0, 1].any()  # the partner is kept
    assert persons_of(None) == 2
    assert reader_options(None, 2)(REPO / "examples" / "pkummd_0015-L_clip.npy") == {}
    # 3D keypoints (x, y, z, score) from the same detections feed the 3D model from the CLI
    data = json.loads(MMPOSE.read_text())
    for frame in data:
        for inst in frame["instances"]:
            inst["keypoints"] = [[x / 100, y / 100, 3.0] for x, y in inst["keypoints"]]
    (tmp_path / "mm3d.json").write_text(json.dumps(data))
    assert run(["localize", str(tmp_path / "mm3d.json"), "-m", str(weights), "--input-format",
                "mmpose", "--layout", "coco17", "-f", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["num_frames"] == 4


def test_encoder_only_models_default_to_encoder_features(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    torch.manual_seed(0)
    encoder_only = create_model("stgcn", num_classes=0, head=None, base_channels=4).eval()
    x = np.random.default_rng(1).normal(size=(12, 25, 3)).astype(np.float32) + 2
    feats = api.extract_features(x, encoder_only)
    assert feats.shape == (12, encoder_only.encoder.out_channels)
    np.testing.assert_array_equal(feats, api.extract_features(x, encoder_only, level="encoder"))
    path = tmp_path / "enc"
    encoder_only.save(path)
    np.save(tmp_path / "clip.npy", x)
    assert run(["extract", str(tmp_path / "clip.npy"), "--model", str(path),
                "--out", str(tmp_path / "f")]) == 0
    assert np.load(tmp_path / "f" / "clip.npy").shape == feats.shape


def test_bundled_encoder_only_model_gives_encoder_features() -> None:
    """The shipped ``stgcn16-snippet-pkummd-encoder`` has no head: the obvious call works."""
    seq = skelloc.read(REPO / "examples" / "pkummd_0015-L_clip.npy")
    clip = SkeletonSequence(seq.joints[:300], layout=seq.layout, fps=seq.fps)
    feats = skelloc.extract_features(clip, "stgcn16-snippet-pkummd-encoder")
    assert feats.shape == (300, 64) and np.isfinite(feats).all()


def test_reading_one_person_of_a_crowded_file_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="skelloc.io.pose_estimators"):
        skelloc.read(MMPOSE)  # frames 0 and 1 show two people
    assert "2 of 4 frames show more than one person" in caplog.text
    assert "max_persons=2" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="skelloc.io.pose_estimators"):
        skelloc.read(MMPOSE, max_persons=2)
    assert "more than one person" not in caplog.text
