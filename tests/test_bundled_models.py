"""The models shipped inside the package: manifest, integrity, and behaviour on real data.

The example clip is PKU-MMD video 0015-L (examples/TERMS.md), from a performance held out for
validation, so this checks held-out behaviour, not memorisation.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import skelloc
from skelloc.cli import run
from skelloc.io.pkummd import read_pkummd_labels

REPO = Path(__file__).resolve().parents[1]
CLIP = REPO / "examples" / "pkummd_0015-L_clip.npy"
LABELS = REPO / "examples" / "pkummd_0015-L_clip_labels.txt"
DEFAULT = "stgcn16-scratch-pkummd"
SNIPPET = "stgcn16-snippet-pkummd"


def test_manifest_lists_the_bundled_models(capsys: pytest.CaptureFixture[str]) -> None:
    manifest = json.loads((REPO / "weights_manifest.json").read_text())
    assert manifest["default"] == DEFAULT
    assert {DEFAULT, SNIPPET, f"{SNIPPET}-encoder"} <= set(manifest["models"])
    total = 0
    for entry in manifest["models"].values():
        assert entry["license"]["id"] == "other" and "research" in entry["license"]["notes"]
        for f in entry["files"].values():
            assert f["source"] == "package"
            path = REPO / "skelloc" / "weights" / f["filename"]
            assert path.stat().st_size == f["size"]
            total += f["size"]
    assert total < 10_000_000  # "well under 10 MB" in the wheel
    assert run(["verify", "--all"]) == 0
    assert run(["list", "--json"]) == 0
    assert DEFAULT in capsys.readouterr().out


def test_default_model_finds_the_clip_actions_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKELLOC_OFFLINE", "1")
    seq = skelloc.read(CLIP)
    segments = skelloc.localize(seq)  # the bundled default, no network
    truth = read_pkummd_labels(LABELS, num_frames=seq.num_frames)
    model = skelloc.load()
    hits = 0
    for g in truth:
        name = model.labels[g.label - 1]
        for s in segments:
            inter = min(s.end, g.end) - max(s.start, g.start)
            union = max(s.end, g.end) - min(s.start, g.start)
            if s.label == name and inter / union >= 0.5:
                hits += 1
                break
    # 7 of 8 when this test was written (validation-split clip); allow numeric drift
    assert hits >= 6, f"only {hits} of {len(truth)} ground-truth actions found"


def test_encoder_entry_extracts_frame_features(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKELLOC_OFFLINE", "1")
    joints = np.load(CLIP)[:300]
    feats = skelloc.extract_features(joints, f"{SNIPPET}-encoder", level="encoder", fps=30)
    assert feats.shape[0] == 300 and feats.ndim == 2 and np.isfinite(feats).all()


def test_the_obvious_call_takes_a_raw_array_at_30_fps(monkeypatch: pytest.MonkeyPatch) -> None:
    """``localize(np.load(...))`` of a 30 fps Kinect array: 30 fps assumed (with the warning),
    the same segments as ``fps=30``, and only those above the model's own threshold."""
    from skelloc.errors import FrameRateAssumedWarning

    monkeypatch.setenv("SKELLOC_OFFLINE", "1")
    joints = np.load(CLIP)
    with pytest.warns(FrameRateAssumedWarning, match="30 fps"):
        implicit = skelloc.localize(joints)
    explicit = skelloc.localize(joints, fps=30)
    assert implicit == explicit
    threshold = json.loads((REPO / "weights_manifest.json").read_text())[
        "models"][DEFAULT]["inference"]["min_score"]
    assert 0 < threshold < 1 and all(s.score >= threshold for s in implicit)
    everything = skelloc.localize(joints, fps=30, min_score=0)
    assert len(implicit) < len(everything) and set(implicit) <= set(everything)


# --------------------------------------------------------------------------- issue 17 models
BABEL = "stgcn16-snippet-babel"


def test_domain_models_load_by_their_promised_names(monkeypatch: pytest.MonkeyPatch) -> None:
    from skelloc.io.babel_tal import BT20_CLASSES
    from skelloc.io.utkinect import UTKINECT_CLASSES

    monkeypatch.setenv("SKELLOC_OFFLINE", "1")
    babel = skelloc.load("stgcn-snippet-babel")
    assert babel.output == "sigmoid" and babel.labels == list(BT20_CLASSES)
    assert babel.input_spec.max_persons == 1 and babel.input_spec.fps == 15.0
    utk = skelloc.load("stgcn-snippet-utkinect")
    assert utk.output == "softmax" and utk.labels == list(UTKINECT_CLASSES)
    manifest = json.loads((REPO / "weights_manifest.json").read_text())["models"]
    assert manifest[BABEL]["output"] == "sigmoid"
    for entry in (manifest[BABEL], *(e for n, e in manifest.items() if n.endswith("-utkinect"))):
        card = entry["card"]
        assert "research" in entry["license"]["notes"].lower()
        assert "instances" in card["training_data"] and "Reproduce" in card["validation_details"]


def test_utkinect_model_on_a_validation_subject(utkinect_root: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from skelloc.io.utkinect import read_utkinect_labels, utkinect_segments

    monkeypatch.setenv("SKELLOC_OFFLINE", "1")
    table = read_utkinect_labels(utkinect_root / "actionLabel_modified.txt")
    model = skelloc.load("stgcn-snippet-utkinect")
    hits = total = 0
    for name in ("s07_e01", "s08_e02"):  # subjects held out for validation
        seq = skelloc.read(utkinect_root / "joints" / f"joints_{name}.txt")  # kinect_v1_20
        found = skelloc.localize(seq, model)  # converted to ntu25 on the way in
        for cls, s, e in utkinect_segments(table[name], seq.meta["first_frame_id"],
                                           seq.num_frames):
            total += 1
            hits += any(f.label_id == cls and (min(e, f.end) - max(s, f.start))
                        / (max(e, f.end) - min(s, f.start)) >= 0.5 for f in found)
    # 13 of 20 when this test was written (5 + 8); allow numeric drift
    assert hits >= 10, f"{hits} of {total} actions found at tIoU 0.5"


def test_babel_model_is_multi_label_on_real_mocap(babel_cmu_root: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKELLOC_OFFLINE", "1")
    seq = skelloc.read(babel_cmu_root / "bvh" / "006_11.bvh")  # CMU subject 06: validation
    result = skelloc.analyze(seq, "stgcn-snippet-babel")
    assert result.probs.shape == (seq.num_frames, 21)
    assert not np.allclose(result.probs.sum(axis=1), 1.0)  # per-class sigmoid
    assert {s.label for s in result.segments} & {"walk", "turn_or_spin", "stand"}
