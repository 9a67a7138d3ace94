"""2D keypoint input: scores added when absent, person2d normalisation, the input kind."""

from __future__ import annotations

import numpy as np
import pytest

from skelloc.errors import ShapeError
from skelloc.inference.validate import input_kind, prepare_input
from skelloc.models.localizer import InputSpec
from skelloc.skeleton.sequence import SkeletonSequence

SPEC = InputSpec(layout="coco13", num_joints=13, channels=3, fps=15.0, normalization="person2d",
                 max_persons=2, confidence=True)


def _coco17(t: int = 30, scores: bool = True) -> SkeletonSequence:
    rng = np.random.default_rng(0)
    xy = rng.uniform(100, 900, (t, 1, 17, 2)).astype(np.float32)
    if not scores:
        return SkeletonSequence(xy, layout="coco17", fps=30.0)
    s = rng.uniform(0.2, 1.0, (t, 1, 17, 1)).astype(np.float32)
    return SkeletonSequence(np.concatenate([xy, s], -1), layout="coco17", fps=30.0,
                            meta={"confidence": True})


def test_estimator_keypoints_become_model_input():
    out = prepare_input(_coco17(), SPEC)
    assert out.joints.shape == (15, 2, 13, 3) and out.layout == "coco13" and out.meta["confidence"]
    assert np.all(out.joints[:, 1] == 0)  # the absent second person stays empty
    assert 0 < float(out.joints[:, 0, :, 2].min()) <= 1
    assert np.abs(out.joints[..., :2]).max() < 50  # body units, not pixels


def test_scores_added_for_bare_xy():
    out = prepare_input(_coco17(scores=False), SPEC)
    np.testing.assert_array_equal(out.joints[:, 0, :, 2], 1.0)
    raw = np.ones((20, 1, 13, 3), np.float32)  # bare (x, y, score) in the model's layout
    assert prepare_input(SkeletonSequence(raw, layout="coco13", fps=15.0),
                         SPEC).joints.shape == (20, 2, 13, 3)


def test_3d_input_to_a_2d_model_is_refused():
    xyz = SkeletonSequence(np.ones((10, 1, 25, 4), np.float32), layout="ntu25", fps=30.0,
                           meta={"confidence": True})
    with pytest.raises(ShapeError, match="3D model"):
        prepare_input(xyz, SPEC)


def test_input_kind():
    assert input_kind(_coco17()) == "2d"
    assert input_kind(_coco17(scores=False)) == "2d"
    assert input_kind(np.zeros((5, 17, 2))) == "2d"
    assert input_kind(np.zeros((5, 2, 25, 3))) == "3d"
    assert input_kind(SkeletonSequence(np.zeros((5, 1, 25, 4), np.float32),
                                       meta={"confidence": True})) == "3d"
    assert input_kind([[[0.0, 1.0]]]) == "2d"


def test_mediapipe_image_landmarks_are_2d():
    rng = np.random.default_rng(2)
    lm = rng.uniform(0.2, 0.8, (12, 1, 33, 4)).astype(np.float32)  # x, y, z, visibility
    seq = SkeletonSequence(lm, layout="mediapipe33", fps=15.0,
                           meta={"confidence": True, "format": "mediapipe", "world": False})
    assert input_kind(seq) == "2d"
    out = prepare_input(seq, SPEC)
    assert out.joints.shape == (12, 2, 13, 3)
    np.testing.assert_allclose(out.joints[:, 0, 1, 2], np.minimum(lm[:, 0, 11, 3], 1.0))
    world = SkeletonSequence(lm, layout="mediapipe33", fps=15.0,
                             meta={"confidence": True, "format": "mediapipe", "world": True})
    assert input_kind(world) == "3d"
