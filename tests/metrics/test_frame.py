"""Frame-level metrics on hand-made label sequences (values worked out in the comments)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from skelloc.errors import InputError, ShapeError
from skelloc.metrics import (
    boundary_accuracy,
    edit_score,
    frame_accuracy,
    frame_metrics,
    per_class_f1,
    segments_from_labels,
)

#            0  1  2  3  4  5  6  7  8  9
GT = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2, 2])
PRED = np.array([0, 0, 1, 1, 1, 1, 2, 2, 2, 0])


def test_accuracy_and_ignore_index() -> None:
    # wrong at frames 2, 6, 9 -> 7/10
    assert frame_accuracy(PRED, GT) == pytest.approx(0.7)
    gt = GT.copy()
    gt[[2, 9]] = 255  # padding: frames 2 and 9 drop out -> 7 right of 8
    assert frame_accuracy(PRED, gt, ignore_index=255) == pytest.approx(7 / 8)
    assert math.isnan(frame_accuracy([], []))


def test_per_class_f1() -> None:
    # class 0: tp 2 (frames 0,1), pred 3, gt 3 -> 4/6; class 1: tp 3 (3,4,5), pred 4, gt 4 -> 6/8
    # class 2: tp 2 (7,8), pred 3, gt 3 -> 4/6
    f1 = per_class_f1(PRED, GT)
    assert f1 == {0: pytest.approx(2 / 3), 1: pytest.approx(0.75), 2: pytest.approx(2 / 3)}
    assert math.isnan(per_class_f1(PRED, GT, classes=[5])[5])


def test_segments_and_edit_score() -> None:
    labels, starts, ends = segments_from_labels(PRED)
    assert labels.tolist() == [0, 1, 2, 0] and starts.tolist() == [0, 2, 6, 9]
    assert ends.tolist() == [2, 6, 9, 10]
    # segments pred [0,1,2,0] vs gt [0,1,2]: one insertion -> 1 - 1/4
    assert edit_score(PRED, GT) == pytest.approx(0.75)
    # without background 0: [1,2] vs [1,2] -> 1
    assert edit_score(PRED, GT, background=0) == pytest.approx(1.0)
    # two videos: 0.75 and 1.0 -> mean 0.875
    assert edit_score([PRED, GT], [GT, GT]) == pytest.approx(0.875)
    # [1,1,2] vs [3]: segments [1,2] vs [3] -> distance 2, longest 2 -> 0
    assert edit_score([1, 1, 2], [3, 3, 3]) == 0.0


def test_boundary_accuracy() -> None:
    # GT changes at 3 and 7; radius 1 marks frames 2,3 and 6,7 as boundary frames.
    # boundary: 2 wrong, 3 right, 6 wrong, 7 right -> 2/4; interior 0,1,4,5,8,9: 9 wrong -> 5/6
    out = boundary_accuracy(PRED, GT, radius=1)
    assert out["boundary"] == pytest.approx(0.5) and out["interior"] == pytest.approx(5 / 6)
    assert out["num_boundary"] == 4 and out["num_interior"] == 6
    # radius 15 covers everything: boundary = overall accuracy, interior undefined
    wide = boundary_accuracy(PRED, GT)
    assert wide["boundary"] == pytest.approx(0.7) and math.isnan(wide["interior"])
    # radius 0: no boundary frames
    assert boundary_accuracy(PRED, GT, radius=0)["interior"] == pytest.approx(0.7)
    # boundaries never cross videos: two constant videos have no boundary frames
    two = boundary_accuracy([[1, 1], [2, 2]], [[1, 1], [2, 2]], radius=3)
    assert two["num_boundary"] == 0 and two["interior"] == 1.0
    # ignored frames are in neither set
    gt = GT.copy()
    gt[2] = -100
    ign = boundary_accuracy(PRED, gt, radius=1, ignore_index=-100)
    assert ign["num_boundary"] + ign["num_interior"] == 9


def test_frame_metrics_bundle() -> None:
    out = frame_metrics(PRED, GT, background=0, radius=1)
    assert out["accuracy"] == pytest.approx(0.7)
    assert out["mean_f1"] == pytest.approx((0.75 + 2 / 3) / 2)  # background left out
    assert out["edit"] == pytest.approx(1.0)
    assert out["boundary"]["boundary"] == pytest.approx(0.5)


def test_bad_inputs() -> None:
    with pytest.raises(ShapeError):
        frame_accuracy([1, 2], [1])
    with pytest.raises(ShapeError):
        frame_accuracy([[1, 2]], [[1, 2], [1, 2]])
    with pytest.raises(InputError):
        frame_accuracy([0.5], [1])
    with pytest.raises(InputError):
        boundary_accuracy(PRED, GT, radius=-1)
