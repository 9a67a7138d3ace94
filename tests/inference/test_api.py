"""The inference API end to end on tiny random-weight models."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch

import skelloc as api
from skelloc.errors import ConfigError, LayoutMismatchError, NonFiniteError
from skelloc.inference.decode import decode_proposals
from skelloc.inference.segments import Segment
from skelloc.inference.validate import as_sequence, prepare_input
from skelloc.models.factory import create_model
from skelloc.skeleton.sequence import SkeletonSequence


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model(
        "stgcn", num_classes=3, labels=["wave", "kick", "sit"], base_channels=4,
        head_args={"fusion_dim": 8},
    ).eval()


def motion(t: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.normal(scale=0.1, size=(t, 2, 25, 3)), axis=0).astype(np.float32) + 1.0


def upsample_2x(x: np.ndarray) -> np.ndarray:
    """The same motion at twice the frame rate: even frames are the originals, odd frames
    the midpoints (the last one repeated)."""
    out = np.empty((2 * len(x), *x.shape[1:]), dtype=np.float32)
    out[0::2] = x
    out[1:-1:2] = (x[:-1] + x[1:]) / 2
    out[-1] = x[-1]
    return out


def softmax_logits(model: torch.nn.Module, joints: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        logits = model(torch.from_numpy(joints).permute(3, 0, 2, 1)[None])[0]
    return torch.softmax(logits.double(), dim=0).T.numpy()


def test_predict_frames_equals_whole_sequence_inference(model: torch.nn.Module) -> None:
    x = motion(50)
    probs = api.predict_frames(x, model)
    assert probs.shape == (50, 4) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    prepared = prepare_input(as_sequence(x), model.input_spec).joints
    np.testing.assert_allclose(probs, softmax_logits(model, prepared), rtol=1e-4, atol=1e-6)
    # several windows still give one row per frame
    windowed = api.predict_frames(x, model, window=16, overlap=8, batch_size=2)
    assert windowed.shape == (50, 4)
    np.testing.assert_allclose(windowed.sum(axis=1), 1.0, rtol=1e-5)


def test_60fps_input_to_a_30fps_model(model: torch.nn.Module) -> None:
    x30 = motion(64, seed=1)
    x60 = upsample_2x(x30)
    p30 = api.predict_frames(x30, model, fps=30)
    p60 = api.predict_frames(x60, model, fps=60)
    assert p60.shape == (128, 4)
    # resampled to 30 fps, the 60 fps input is the 30 fps one: even frames match exactly,
    # odd frames are interpolated between their neighbours
    np.testing.assert_allclose(p60[0::2], p30, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(p60[1:-1:2], (p30[:-1] + p30[1:]) / 2, rtol=1e-5, atol=1e-6)
    # a threshold at the median of class 0 splits the sequence into several runs
    theta = float(np.median(p30[:, 0]))
    kw = {"decoder": "proposals", "thresholds": (theta,), "min_length": 1, "nms_threshold": 1.0}
    segs30 = api.localize(x30, model, fps=30, **kw)
    segs60 = api.localize(x60, model, fps=60, **kw)
    assert len(segs30) >= 2
    assert [(s.label_id, 2 * s.start, 2 * s.end) for s in segs30] == [
        (s.label_id, s.start, s.end) for s in segs60
    ]
    for a, b in zip(segs30, segs60):
        assert (a.start_s, a.end_s, a.score) == pytest.approx((b.start_s, b.end_s, b.score))
        assert a.start_s == pytest.approx(a.start / 30)


def test_localize_returns_segments_with_labels_and_seconds(model: torch.nn.Module) -> None:
    seq = SkeletonSequence(motion(40, seed=2), fps=20.0)
    segs = api.localize(seq, model)  # the paper's decoder by default
    assert segs and all(isinstance(s, Segment) for s in segs)
    for s in segs:
        assert s.label == ["wave", "kick", "sit"][s.label_id]
        assert 0 <= s.start < s.end <= 40
        assert s.start_s == pytest.approx(s.start / 20) and s.end_s == pytest.approx(s.end / 20)
    argmax = api.localize(seq, model, decoder="argmax", min_length=1)
    assert all(s.label_id < 3 for s in argmax)
    with pytest.raises(ConfigError, match="unknown decoder"):
        api.localize(seq, model, decoder="beam")


def test_model_path_and_bad_model(model: torch.nn.Module, tmp_path: Path) -> None:
    path = tmp_path / "tiny.safetensors"
    model.save(path)
    x = motion(24, seed=3)
    np.testing.assert_allclose(
        api.predict_frames(x, str(path)), api.predict_frames(x, model), rtol=1e-5, atol=1e-6
    )
    with pytest.raises(ConfigError, match="model must be"):
        api.predict_frames(x, model=42)


def test_the_inference_layer_takes_a_loaded_model(model: torch.nn.Module, tmp_path: Path) -> None:
    """skelloc.inference never loads by name (that is the facade's, skelloc.api); keyword
    arguments and one InferenceOptions mean the same."""
    from skelloc.inference import api as inference

    path = tmp_path / "tiny.safetensors"
    model.save(path)
    x = motion(24, seed=3)
    for not_a_model in (None, str(path)):
        with pytest.raises(ConfigError, match="model must be"):
            inference.predict_frames(x, not_a_model)
    options = inference.InferenceOptions(window=16, overlap=8, fuse=False)
    np.testing.assert_array_equal(inference.predict_frames(x, model, options),
                                  inference.predict_frames(x, model, window=16, overlap=8,
                                                           fuse=False))
    np.testing.assert_array_equal(inference.predict_frames(x, model, options),
                                  api.predict_frames(x, model, window=16, overlap=8, fuse=False))
    assert inference.localize(x, model, options, decoder="argmax", min_length=1) == \
        api.localize(x, model, window=16, overlap=8, fuse=False, decoder="argmax", min_length=1)


def test_extract_features_levels_and_native_stride(model: torch.nn.Module) -> None:
    x = motion(30, seed=4)
    fused = api.extract_features(x, model)
    assert isinstance(fused, np.ndarray) and fused.shape == (30, 8)
    enc = api.extract_features(x, model, level="encoder")
    assert enc.shape == (30, 16)  # 4 * base_channels
    native, stride = api.extract_features(x, model, level="encoder", native=True)
    assert native.shape == (8, 16) and stride == 4.0  # ceil(30 / 4) rows, total stride 4
    native60, stride60 = api.extract_features(upsample_2x(x), model, level="encoder", native=True,
                                              fps=60)
    assert stride60 == 8.0  # 4 model frames = 8 input frames
    np.testing.assert_allclose(native60, native, rtol=1e-4, atol=1e-5)
    with pytest.raises(ConfigError, match="level"):
        api.extract_features(x, model, level="logits")  # type: ignore[arg-type]


def test_device_mode_and_no_grad(model: torch.nn.Module, caplog: pytest.LogCaptureFixture) -> None:
    x = motion(20, seed=5)
    ref = api.predict_frames(x, model)
    model.train()
    try:
        with caplog.at_level(logging.WARNING, logger="skelloc.inference.api"):
            out = api.predict_frames(x, model, device="cuda")
        assert model.training  # restored
    finally:
        model.eval()
    assert next(model.parameters()).device.type == "cpu"
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-6)  # eval mode was used inside
    if not torch.cuda.is_available():
        assert "CUDA is not available" in caplog.text


def test_encoder_only_model_and_bad_inputs(model: torch.nn.Module) -> None:
    encoder_only = create_model("stgcn", num_classes=3, head=None, base_channels=4)
    with pytest.raises(ConfigError, match="no head"):
        api.predict_frames(motion(10), encoder_only)
    assert api.extract_features(motion(10), encoder_only, level="encoder").shape == (10, 16)
    with pytest.raises(LayoutMismatchError, match="coco17"):  # 3D joints in 17 places
        api.localize(np.full((10, 17, 3), 2.0, dtype=np.float32), model)
    x = motion(10)
    x[3, 0, 0, 0] = np.nan
    with pytest.raises(NonFiniteError):
        api.predict_frames(x, model)
    assert api.predict_frames(x, model, nonfinite="interpolate").shape == (10, 4)


def test_model_methods_delegate_to_the_api(model: torch.nn.Module) -> None:
    x = motion(30, seed=6)
    assert model.localize(x) == api.localize(x, model)
    np.testing.assert_array_equal(model.predict_frames(x), api.predict_frames(x, model))


def test_lower_input_rate_keeps_the_segment_extent(model: torch.nn.Module) -> None:
    # 15 fps input to the 30 fps model: decoding runs on the 66 model frames and a model
    # segment [s, e) becomes input frames [floor(s / 2), ceil(e / 2)).
    x = motion(33, seed=7)
    prepared = prepare_input(as_sequence(x, fps=15), model.input_spec).joints
    assert len(prepared) == 66
    probs = softmax_logits(model, prepared)
    theta = float(np.median(probs[:, 1]))
    kw = {"thresholds": (theta,), "min_length": 1, "nms_threshold": 1.0}
    expected = [(d.label_id, d.start // 2, -(-d.end // 2)) for d in decode_proposals(probs, **kw)]
    assert len(expected) >= 2
    segs = api.localize(x, model, fps=15, **kw)
    assert [(s.label_id, s.start, s.end) for s in segs] == expected
    assert all(s.end_s == pytest.approx(s.end / 15) for s in segs)


def test_unknown_device(model: torch.nn.Module) -> None:
    with pytest.raises(ConfigError, match="unknown device"):
        api.predict_frames(motion(10), model, device="gpu0")


def test_real_pkummd_recording(model: torch.nn.Module, pkummd_root: Path) -> None:
    video = (pkummd_root / "videos.txt").read_text().split()[0]
    x = np.load(pkummd_root / "skeletons" / f"{video}.npy")[:600]  # float16 (T, 2, 25, 3)
    assert x.dtype == np.float16
    probs = api.predict_frames(x, model)
    assert probs.shape == (len(x), 4) and np.isfinite(probs).all()
    segs = api.localize(x, model, decoder="argmax", min_length=1)
    assert all(0 <= s.start < s.end <= len(x) for s in segs)


def test_decoder_choice_follows_the_model_config() -> None:
    from types import SimpleNamespace

    from skelloc.inference.api import _decoder_choice

    plain = SimpleNamespace(config=None)
    assert _decoder_choice(plain, None, {}) == ("proposals", {})
    named = SimpleNamespace(config={"decoder": "argmax"})
    assert _decoder_choice(named, None, {"min_length": 5}) == ("argmax", {"min_length": 5})
    with_args = SimpleNamespace(config={"decoder": {"name": "argmax", "smoothing": 5}})
    assert _decoder_choice(with_args, None, {"min_length": 2}) == (
        "argmax", {"smoothing": 5, "min_length": 2})
    # an explicit other decoder drops the configured decoder's arguments
    assert _decoder_choice(with_args, "proposals", {}) == ("proposals", {})


def test_analyze_is_localize_plus_probabilities(model: torch.nn.Module) -> None:
    seq = SkeletonSequence(motion(60, seed=5), fps=15.0)  # half the model's rate
    result = api.analyze(seq, model, decoder="argmax", min_length=1)
    assert result.segments == api.localize(seq, model, decoder="argmax", min_length=1)
    np.testing.assert_array_equal(result.probs, api.predict_frames(seq, model))
    assert result.num_frames == 60 and result.fps == 15.0
    assert result.labels == ["wave", "kick", "sit"]


def test_bf16_copy_computes_the_same_function() -> None:
    """The GPU's bf16 path runs a bf16 copy of the inference form: within bf16 rounding of
    fp32, and the original stays fp32."""
    from skelloc.inference.api import bf16_copy
    from skelloc.models.factory import create_model
    from skelloc.models.fuse import inference_model

    model = create_model("stgcn", num_classes=3, base_channels=4, out_channels=8).eval()
    x = torch.randn(2, 3, 64, 25, 2)
    with torch.inference_mode():
        fused = inference_model(model)
        copy16 = bf16_copy(fused)
        ref, got = fused(x), copy16(x.bfloat16()).float()
    assert next(copy16.parameters()).dtype == torch.bfloat16
    assert next(fused.parameters()).dtype == torch.float32
    assert float((got - ref).norm() / ref.norm()) < 2e-2
