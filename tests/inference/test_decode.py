"""Decoders on hand-built probability arrays; expected segments are worked out in comments."""

from __future__ import annotations

import numpy as np
import pytest

from skelloc.errors import ConfigError, ShapeError
from skelloc.inference.decode import (
    Detection,
    decode,
    decode_argmax,
    decode_proposals,
    find_runs,
    get_decoder,
    nms,
    smooth,
)


def with_background(*columns: list[float]) -> np.ndarray:
    """Stack action-class columns and append background = 1 - sum (background last)."""
    acts = np.stack([np.asarray(c, dtype=np.float64) for c in columns], axis=1)
    return np.concatenate([acts, 1.0 - acts.sum(axis=1, keepdims=True)], axis=1)


# one class, two nested runs depending on the threshold
P_NESTED = with_background([0.00, 0.04, 0.06, 0.06, 0.06, 0.06, 0.04, 0.00, 0.00, 0.00, 0.00, 0.00])


def test_find_runs() -> None:
    assert find_runs(np.array([0, 1, 1, 0, 1], bool)) == [(1, 3), (4, 5)]
    assert find_runs(np.array([1, 1], bool)) == [(0, 2)]
    assert find_runs(np.zeros(3, bool)) == []


def test_proposals_nested_thresholds() -> None:
    # θ = 0.030, 0.035: p > θ on frames 1..6 -> run [1, 7), L = 6, margin m = ceil(1.5) = 2:
    #   outer = p[0:1] ∪ p[7:9] = {0, 0, 0} -> mean 0; inner = (0.04 + 4·0.06 + 0.04) / 6
    #   = 0.32 / 6 = 0.053333 -> score 0.053333 (twice, one per threshold).
    # θ = 0.040, 0.045, 0.050: 0.04 is not > 0.04 -> run [2, 6), L = 4, m = 1:
    #   outer = {p[1], p[6]} = {0.04, 0.04}; score = 0.06 - 0.6·0.04 = 0.036.
    # NMS: [1,7) is kept; its duplicate (overlap 6/6) and [2,6) (overlap 4/4) are removed.
    dets = decode_proposals(P_NESTED)
    assert len(dets) == 1
    d = dets[0]
    assert (d.label_id, d.start, d.end) == (0, 1, 7)
    assert d.score == pytest.approx(0.32 / 6)


def test_proposals_only_high_thresholds_see_the_inner_run() -> None:
    # With thresholds (0.045, 0.05) only [2, 6) remains, score 0.036 (see above).
    dets = decode_proposals(P_NESTED, thresholds=(0.045, 0.05))
    assert [(d.start, d.end) for d in dets] == [(2, 6)]
    assert dets[0].score == pytest.approx(0.06 - 0.6 * 0.04)


def test_proposals_outer_weight_and_margin_change_the_score() -> None:
    # [2, 6) with margin 0.5: m = ceil(2) = 2 -> outer = p[0:2] ∪ p[6:8] = {0, .04, .04, 0}
    #   mean 0.02; outer_weight 1.0 -> score 0.06 - 0.02 = 0.04.
    dets = decode_proposals(P_NESTED, thresholds=(0.05,), outer_weight=1.0, margin=0.5)
    assert dets[0].score == pytest.approx(0.04)
    # margin 0 -> no outer frames -> score = inner mean 0.06
    dets = decode_proposals(P_NESTED, thresholds=(0.05,), margin=0.0)
    assert dets[0].score == pytest.approx(0.06)


def test_proposals_two_classes_min_length_and_sequence_edges() -> None:
    # class 0: frames 0-2 at 0.9 -> run [0, 3), L = 3, m = 1: left margin is clipped away,
    #   right margin p0[3] = 0 -> score 0.9.  Frames 5-6 at 0.3 -> L = 2 < 3: dropped.
    # class 1: frames 5-7 at 0.5 -> run [5, 8) at the end, m = 1: left margin p1[4] = 0.02,
    #   right margin clipped -> score 0.5 - 0.6·0.02 = 0.488.  A 1-frame blip at 1 is dropped.
    c0 = [0.9, 0.9, 0.9, 0.0, 0.0, 0.3, 0.3, 0.0]
    c1 = [0.0, 0.05, 0.0, 0.0, 0.02, 0.5, 0.5, 0.5]
    dets = decode_proposals(with_background(c0, c1))
    assert dets == [Detection(0, 0, 3, pytest.approx(0.9)), Detection(1, 5, 8, pytest.approx(0.488))]
    # min_length=2 keeps class 0's [5, 7): m = ceil(0.5) = 1, outer {p0[4], p0[7]} = {0, 0}
    dets = decode_proposals(with_background(c0, c1), min_length=2)
    assert [(d.label_id, d.start, d.end) for d in dets] == [(0, 0, 3), (0, 5, 7), (1, 5, 8)]
    assert dets[1].score == pytest.approx(0.3)


def test_proposals_legacy_reproduces_released_off_by_ones() -> None:
    # Released code on P_NESTED:
    # θ 0.03: s=1, e=7, L=6: inner = mean(p[1:8]) = 0.32/7; outer_s = int(1-1.5) = 0 -> [0];
    #   outer_e = min(11, int(7+1.5+1) = 9) -> range(8, 9) = [8]; outer mean 0;
    #   segment [1, 8), score 0.045714.
    # θ 0.04: s=2, e=6, L=4: inner = mean(p[2:7]) = 0.28/5 = 0.056; outer [1] + [7] -> 0.02;
    #   score 0.056 - 0.012 = 0.044, segment [2, 7).
    # NMS (+1 lengths): [2,7) vs kept [1,8): inter 7-2+1 = 6, area 6 -> removed.
    dets = decode_proposals(P_NESTED, legacy=True)
    assert [(d.start, d.end) for d in dets] == [(1, 8)]
    assert dets[0].score == pytest.approx(0.32 / 7)
    dets = decode_proposals(P_NESTED, thresholds=(0.05,), legacy=True)
    assert [(d.start, d.end) for d in dets] == [(2, 7)]
    assert dets[0].score == pytest.approx(0.044)


def test_nms_divides_by_the_other_segments_length() -> None:
    # keep [0,10) (0.9).  [8,30): inter 2 / its length 22 = 0.09 <= 0.2 -> kept.
    # [9,12): inter 1 / its length 3 = 0.33 > 0.2 -> removed (its IoU, 1/12, would keep it;
    # dividing by the kept segment's length, 1/10, would keep it too).
    segs = [(0, 10, 0.9), (8, 30, 0.5), (9, 12, 0.4)]
    assert nms(segs, 0.2) == [0, 1]
    # exactly 0.2 is not "more than" the threshold: [9,14) overlaps 1/5 -> kept
    assert nms([(0, 10, 0.9), (9, 14, 0.5)], 0.2) == [0, 1]
    # picks follow the score, not the input order
    assert nms([(0, 5, 0.1), (0, 5, 0.7)], 0.2) == [1]
    assert nms([], 0.2) == []


def test_argmax_runs_and_min_length() -> None:
    # frame argmax: bg bg 0 0 0 1 1 bg 0 0
    c0 = [0.1, 0.1, 0.6, 0.7, 0.8, 0.1, 0.1, 0.1, 0.6, 0.6]
    c1 = [0.1, 0.1, 0.1, 0.1, 0.1, 0.7, 0.5, 0.1, 0.1, 0.1]
    p = with_background(c0, c1)
    # min_length 3: only class 0 on [2, 5), score mean(0.6, 0.7, 0.8) = 0.7
    assert decode_argmax(p) == [Detection(0, 2, 5, pytest.approx(0.7))]
    # min_length 2 adds class 1 [5, 7) (mean 0.6) and class 0 [8, 10) (mean 0.6)
    dets = decode_argmax(p, min_length=2)
    assert [(d.label_id, d.start, d.end) for d in dets] == [(0, 2, 5), (1, 5, 7), (0, 8, 10)]
    assert [d.score for d in dets] == pytest.approx([0.7, 0.6, 0.6])


def test_argmax_median_smoothing_removes_a_one_frame_flip() -> None:
    # raw argmax: 0 0 0 1 0 0 0 -> class 0 runs of 3 and 3 frames around a 1-frame class-1 blip.
    c0 = [0.8, 0.8, 0.8, 0.1, 0.8, 0.8, 0.8]
    c1 = [0.1, 0.1, 0.1, 0.8, 0.1, 0.1, 0.1]
    p = with_background(c0, c1)
    assert [(d.start, d.end) for d in decode_argmax(p)] == [(0, 3), (4, 7)]
    # 3-frame median: at frame 3 class 0 -> median(.8, .1, .8) = .8, class 1 -> .1 -> one run
    # [0, 7) scored on the raw probabilities: (6·0.8 + 0.1) / 7 = 0.7
    dets = decode_argmax(p, smoothing=3)
    assert dets == [Detection(0, 0, 7, pytest.approx(0.7))]


def test_smooth_mean_and_median_by_hand() -> None:
    col = np.array([[0.0], [0.0], [3.0], [0.0], [0.0]])
    # edge-padded [0 0 0 3 0 0 0], 3-frame mean -> [0, 1, 1, 1, 0]
    np.testing.assert_allclose(smooth(col, 3, "mean")[:, 0], [0, 1, 1, 1, 0])
    np.testing.assert_allclose(smooth(col, 3, "median")[:, 0], [0, 0, 0, 0, 0])
    np.testing.assert_allclose(smooth(col, 1, "mean"), col)


def test_decoder_registry_and_argument_errors() -> None:
    assert get_decoder("argmax") is decode_argmax
    assert decode(P_NESTED, "proposals") == decode_proposals(P_NESTED)
    with pytest.raises(ConfigError, match="unknown decoder"):
        get_decoder("viterbi")
    with pytest.raises(ConfigError, match="bad arguments"):
        decode(P_NESTED, "argmax", thresholds=(0.1,))
    with pytest.raises(ConfigError):
        decode_proposals(P_NESTED, min_length=0)


@pytest.mark.parametrize("bad", [np.zeros(5), np.zeros((5, 1)), np.full((3, 2), np.nan)])
def test_bad_probabilities(bad: np.ndarray) -> None:
    with pytest.raises(ShapeError):
        decode_proposals(bad)
    with pytest.raises(ShapeError):
        decode_argmax(bad)
