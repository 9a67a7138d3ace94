"""One-to-one matching of one video's ground truth with its predicted segments, for reports.

This is the pairing a person reads beside a timeline (``skelloc localize --ground-truth``):
each ground-truth instance gets at most one prediction, greedily. It is not a detection metric
(:func:`skelloc.metrics.detection_map` matches by score order at a tIoU threshold).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from skelloc.errors import InputError
from skelloc.metrics.detection import segment_iou

__all__ = ["Match", "match_segments"]


class Match(NamedTuple):
    """One row of :func:`match_segments`: indices into its two lists (``None``: no partner)."""

    ground_truth: int | None
    prediction: int | None
    tiou: float


def _field(record: Any, name: str, i: int, what: str) -> Any:
    try:
        return record[name] if isinstance(record, Mapping) else getattr(record, name)
    except (KeyError, AttributeError):
        raise InputError(f"{what} {i} has no {name!r} field: {record!r}") from None


def _columns(records: Sequence[Any], what: str, label: str, *,
             score: bool) -> tuple[list[Any], np.ndarray, np.ndarray, list[float]]:
    labels = [_field(r, label, i, what) for i, r in enumerate(records)]
    try:
        start = np.array([_field(r, "start", i, what) for i, r in enumerate(records)], float)
        end = np.array([_field(r, "end", i, what) for i, r in enumerate(records)], float)
        scores = [float(_field(r, "score", i, what)) if score else 0.0
                  for i, r in enumerate(records)]
    except (TypeError, ValueError) as err:
        raise InputError(f"{what} start, end and score must be numbers: {err}") from None
    return labels, start, end, scores


def match_segments(ground_truth: Sequence[Any], predictions: Sequence[Any], *,
                   label: str = "label") -> list[Match]:
    """Pair each ground-truth instance with at most one prediction of the same video.

    Records are anything with ``label``, ``start`` and ``end`` (predictions also ``score``)
    as attributes or mapping keys: :class:`~skelloc.metrics.Instance`, a localisation
    ``Segment``, a dict. The rule, greedy in ground-truth start order: among the predictions
    not yet taken that overlap the instance (tIoU > 0), take a same-label one if any overlaps,
    else the best-overlapping one of any label; the highest tIoU wins, ties by score (then by
    position). An instance nothing overlaps gets ``Match(i, None, 0.0)``. ``label`` names the
    field compared for "same label" (e.g. ``"label_id"`` for segments of one model).

    Returns one :class:`Match` per ground-truth instance, in start order, then
    ``Match(None, j, 0.0)`` for every prediction left over, in their order.
    """
    g_labels, g_start, g_end, _ = _columns(ground_truth, "ground truth", label, score=False)
    p_labels, p_start, p_end, p_score = _columns(predictions, "prediction", label, score=True)
    used: set[int] = set()
    rows: list[Match] = []
    for g in sorted(range(len(ground_truth)), key=lambda k: g_start[k]):
        tiou = segment_iou(g_start[g], g_end[g], p_start, p_end)
        free = [(j, float(tiou[j])) for j in range(len(predictions))
                if j not in used and tiou[j] > 0]
        same = [c for c in free if p_labels[c[0]] == g_labels[g]]
        best = max(same or free, key=lambda c: (c[1], p_score[c[0]]), default=None)
        if best is None:
            rows.append(Match(g, None, 0.0))
            continue
        used.add(best[0])
        rows.append(Match(g, best[0], best[1]))
    rows += [Match(None, j, 0.0) for j in range(len(predictions)) if j not in used]
    return rows
