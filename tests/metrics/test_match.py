"""match_segments: the greedy one-to-one pairing of a side-by-side report."""

from __future__ import annotations

import pytest

from skelloc.errors import InputError
from skelloc.inference.segments import Segment
from skelloc.metrics import Instance, Match, match_segments


def seg(label: str, start: int, end: int, score: float = 0.5) -> Segment:
    return Segment(label, ["wave", "kick"].index(label), start, end, start / 10, end / 10, score)


def test_same_label_first_then_best_overlap_then_leftovers() -> None:
    gt = [Instance("v", "wave", 50, 60), Instance("v", "wave", 0, 10),
          Instance("v", "wave", 20, 30)]  # not in start order
    pred = [seg("kick", 20, 30, 0.9), seg("wave", 2, 10, 0.8), seg("kick", 70, 80, 0.1)]
    rows = match_segments(gt, pred)
    assert rows == [Match(1, 1, pytest.approx(0.8)),  # same label, tIoU 8/10
                    Match(2, 0, 1.0),  # no same-label overlap: the best of any label
                    Match(0, None, 0.0),  # nothing overlaps
                    Match(None, 2, 0.0)]  # left over
    assert isinstance(rows[0], tuple) and rows[0].ground_truth == 1


def test_a_same_label_prediction_beats_a_better_overlap() -> None:
    gt = [{"label": "kick", "start": 10, "end": 20}]  # mappings work too
    wrong = seg("wave", 10, 20, 0.9)
    right = seg("kick", 12, 20, 0.5)
    assert match_segments(gt, [wrong, right]) == [Match(0, 1, pytest.approx(0.8)),
                                                  Match(None, 0, 0.0)]


def test_ties_go_by_score_and_each_prediction_is_taken_once() -> None:
    gt = [Instance("v", "wave", 0, 10), Instance("v", "wave", 0, 10)]
    low, high = seg("wave", 0, 10, 0.3), seg("wave", 0, 10, 0.7)
    assert match_segments(gt, [low, high]) == [Match(0, 1, 1.0), Match(1, 0, 1.0)]
    assert match_segments(gt, [low]) == [Match(0, 0, 1.0), Match(1, None, 0.0)]
    assert match_segments([], [low]) == [Match(None, 0, 0.0)]


def test_label_field_and_bad_records() -> None:
    gt = [seg("kick", 0, 10)]
    other = Segment("renamed", 1, 0, 10, 0.0, 1.0, 0.5)  # same id, another name
    assert match_segments(gt, [seg("wave", 0, 10), other], label="label_id")[0] == Match(
        0, 1, 1.0)
    with pytest.raises(InputError, match="no 'score'"):
        match_segments(gt, [{"label": "kick", "start": 0, "end": 10}])
    with pytest.raises(InputError, match="must be numbers"):
        match_segments([{"label": "kick", "start": "a", "end": 10}], [])
