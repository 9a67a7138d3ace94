"""Detection records for the metrics, and their conversion to flat arrays.

One record type, :class:`Instance`, serves both sides: ground truth leaves ``score`` at ``None``,
predictions set it.  Frames follow the package convention: ``start`` is the first frame (0-based)
and ``end`` is exclusive, so an instance covers ``end - start`` frames.  Seconds work too for the
``anet`` protocol, which only looks at continuous intervals.

Anything with ``video``, ``label``, ``start``, ``end`` (and ``score``) attributes, or a mapping with
those keys, is accepted wherever an :class:`Instance` is.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral
from typing import Any, Union

import numpy as np

from skelloc.errors import InputError

__all__ = ["Instance", "Label", "as_instances"]

logger = logging.getLogger(__name__)

Label = Union[int, str]

@dataclass(frozen=True)
class Instance:
    """One action instance in one video.

    ``label`` may be an ``int`` or a ``str``; ``1`` and ``"1"`` are different labels.
    ``score`` is the confidence of a prediction and ``None`` for ground truth.
    """

    video: str
    label: Label
    start: float
    end: float
    score: float | None = None

    @property
    def length(self) -> float:
        return self.end - self.start

    @classmethod
    def from_segment(cls, segment: Any, video: str, *, use_label_id: bool = False) -> Instance:
        """Build a prediction from a :class:`skelloc.inference.segments.Segment` (frames)."""
        label = segment.label_id if use_label_id else segment.label
        return cls(str(video), label, segment.start, segment.end, float(segment.score))


def _normalize_label(label: Hashable) -> Label:
    if isinstance(label, (bool, np.bool_)):
        raise InputError(f"label must be an int or a str, got the boolean {label!r}")
    if isinstance(label, Integral):
        return int(label)
    if isinstance(label, str):
        return str(label)
    raise InputError(f"label must be an int or a str, got {type(label).__name__} {label!r}")


def as_instances(records: Iterable[Any], *, predictions: bool) -> list[Instance]:
    """Convert records (instances, objects or mappings) to a list of validated :class:`Instance`."""
    out = []
    for i, rec in enumerate(records):
        if isinstance(rec, Instance):
            inst = rec
        elif isinstance(rec, Mapping):
            try:
                inst = Instance(rec["video"], rec["label"], rec["start"], rec["end"],
                                rec.get("score"))
            except KeyError as err:
                raise InputError(f"record {i} has no {err.args[0]!r} field: {rec!r}") from None
        else:
            try:
                inst = Instance(rec.video, rec.label, rec.start, rec.end,
                                getattr(rec, "score", None))
            except AttributeError as err:
                raise InputError(
                    f"record {i} ({type(rec).__name__}) lacks a field: {err}") from None
        out.append(inst)
    arrays = InstanceArrays.build(out, predictions=predictions)  # validates
    del arrays
    return out


@dataclass(frozen=True)
class InstanceArrays:
    """Column view of a list of records (internal to :mod:`skelloc.metrics`)."""

    videos: list[str]
    labels: list[Label]
    start: np.ndarray  # float64 (n,)
    end: np.ndarray
    score: np.ndarray  # float64 (n,), NaN-free for predictions, zeros for ground truth

    def __len__(self) -> int:
        return len(self.videos)

    @classmethod
    def build(cls, records: Iterable[Any], *, predictions: bool,
              warn_reversed: bool = True) -> InstanceArrays:
        """Validate and convert; a record ending before it starts is kept (ActivityNet counts
        such a ground truth and never matches it) with one warning unless ``warn_reversed`` is
        off (the file readers warn with file and line themselves)."""
        recs: Sequence[Any] = records if isinstance(records, Sequence) else list(records)
        what = "prediction" if predictions else "ground-truth"
        if not all(type(r) is Instance for r in recs):
            recs = as_instances(recs, predictions=predictions)
        videos = [r.video for r in recs]
        labels = [r.label for r in recs]
        starts = [r.start for r in recs]
        ends = [r.end for r in recs]
        scores = [r.score for r in recs]
        videos = [v if isinstance(v, str) else str(v) for v in videos]
        cache: dict[Hashable, Label] = {}
        try:
            labels = [cache[lab] if lab in cache else cache.setdefault(lab, _normalize_label(lab))
                      for lab in labels]
        except TypeError as err:  # unhashable
            raise InputError(f"{what} label is not hashable: {err}") from None
        try:
            start = np.asarray(starts, dtype=np.float64).reshape(-1)
            end = np.asarray(ends, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as err:
            raise InputError(f"{what} start/end must be numbers: {err}") from None
        bad = ~(np.isfinite(start) & np.isfinite(end))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f"{what} {i} has a non-finite start/end: {recs[i]!r}")
        neg = end < start
        if neg.any() and warn_reversed:
            i = int(np.flatnonzero(neg)[0])
            more = f" (and {int(neg.sum()) - 1} more)" if neg.sum() > 1 else ""
            logger.warning("%s %d ends before it starts%s: counted, never matched (as the "
                           "ActivityNet code): %r", what, i, more, recs[i])
        if predictions:
            if any(s is None for s in scores):
                i = next(k for k, s in enumerate(scores) if s is None)
                raise InputError(f"prediction {i} has no score: {recs[i]!r}")
            try:
                score = np.asarray(scores, dtype=np.float64).reshape(-1)
            except (TypeError, ValueError) as err:
                raise InputError(f"prediction scores must be numbers: {err}") from None
            if not np.isfinite(score).all():
                i = int(np.flatnonzero(~np.isfinite(score))[0])
                raise InputError(f"prediction {i} has a non-finite score: {recs[i]!r}")
        else:
            score = np.zeros(len(videos), dtype=np.float64)
        return cls(videos, labels, start, end, score)


def encode(values: Sequence[Hashable], vocab: dict[Hashable, int], *, grow: bool) -> np.ndarray:
    """Integer codes of ``values`` in ``vocab``; unknown values get -1 unless ``grow``."""
    if grow:
        return np.fromiter((vocab.setdefault(v, len(vocab)) for v in values), dtype=np.int64,
                           count=len(values))
    return np.fromiter((vocab.get(v, -1) for v in values), dtype=np.int64, count=len(values))


def label_sort_key(label: Label) -> tuple[int, Any]:
    """Sort ints before strs, each in natural order."""
    return (0, label) if isinstance(label, int) else (1, str(label))
