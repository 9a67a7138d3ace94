"""Frame-level metrics from per-frame labels.

Every function takes ``pred`` and ``gt`` as one 1-D integer array (one video) or a list of them
(several videos; boundaries and segments never cross videos).  Frames whose ground truth equals
``ignore_index`` (padding, e.g. 255 in Simple-Skeleton-Detection, or -100) are left out
everywhere.  Results are fractions in ``[0, 1]``.

- :func:`frame_accuracy`: share of frames whose label is right.
- :func:`per_class_f1`: frame-wise F1 of each class (one-vs-rest), and their mean.
- :func:`edit_score`: segmental edit score (Lea et al. 2017, as in MS-TCN): 1 - Levenshtein
  distance between the ordered segment labels / the longer segment count, averaged over videos.
- :func:`boundary_accuracy`: accuracy on frames within ``radius`` frames of a ground-truth label
  change (``radius`` frames on each side of the change) vs the other ("interior") frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from skelloc.errors import InputError, ShapeError

__all__ = ["frame_accuracy", "per_class_f1", "edit_score", "boundary_accuracy", "frame_metrics",
           "segments_from_labels"]

FrameLabels = Any  # a 1-D int array-like, or a sequence of them


def _as_videos(pred: FrameLabels, gt: FrameLabels) -> list[tuple[np.ndarray, np.ndarray]]:
    def is_multi(x: Any) -> bool:
        if isinstance(x, np.ndarray):
            return x.dtype == object
        return isinstance(x, Sequence) and len(x) > 0 and not np.isscalar(x[0])

    preds = list(pred) if is_multi(pred) else [pred]
    gts = list(gt) if is_multi(gt) else [gt]
    if len(preds) != len(gts):
        raise ShapeError(f"{len(preds)} predicted videos but {len(gts)} ground-truth videos")
    out = []
    for i, (p, g) in enumerate(zip(preds, gts)):
        p, g = np.asarray(p), np.asarray(g)
        if p.ndim != 1 or g.ndim != 1:
            raise ShapeError(f"video {i}: frame labels must be 1-D, got {p.shape} and {g.shape}")
        if p.shape != g.shape:
            raise ShapeError(f"video {i}: {p.size} predicted frames but {g.size} ground-truth")
        for name, a in (("pred", p), ("gt", g)):
            if a.size and not np.issubdtype(a.dtype, np.integer):
                if not (np.issubdtype(a.dtype, np.floating) and np.all(a == np.round(a))):
                    raise InputError(f"video {i}: {name} frame labels must be integers")
        out.append((p.astype(np.int64), g.astype(np.int64)))
    return out


def _valid(g: np.ndarray, ignore_index: int | None) -> np.ndarray:
    return np.ones(g.shape, bool) if ignore_index is None else g != ignore_index


def frame_accuracy(pred: FrameLabels, gt: FrameLabels, *, ignore_index: int | None = None) -> float:
    """Share of (non-ignored) frames whose predicted label equals the ground truth; NaN if none."""
    correct = total = 0
    for p, g in _as_videos(pred, gt):
        v = _valid(g, ignore_index)
        correct += int(np.count_nonzero(p[v] == g[v]))
        total += int(np.count_nonzero(v))
    return correct / total if total else float("nan")


def per_class_f1(pred: FrameLabels, gt: FrameLabels, *, ignore_index: int | None = None,
                 classes: Sequence[int] | None = None) -> dict[int, float]:
    """Frame-wise F1 of each class (default: every label seen in ``gt`` or ``pred``).

    Present on one side only, a class scores 0; a class given in ``classes`` but absent from both
    sides is NaN.
    """
    ps, gs = [], []
    for p, g in _as_videos(pred, gt):
        v = _valid(g, ignore_index)
        ps.append(p[v])
        gs.append(g[v])
    p = np.concatenate(ps) if ps else np.zeros(0, np.int64)
    g = np.concatenate(gs) if gs else np.zeros(0, np.int64)
    labels = sorted(set(np.unique(g).tolist()) | set(np.unique(p).tolist())) \
        if classes is None else [int(c) for c in classes]
    out: dict[int, float] = {}
    for c in labels:
        tp = int(np.count_nonzero((p == c) & (g == c)))
        denom = int(np.count_nonzero(p == c)) + int(np.count_nonzero(g == c))
        out[c] = 2.0 * tp / denom if denom else float("nan")
    return out


def segments_from_labels(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of equal labels: ``(label, start, end_exclusive)`` arrays."""
    labels = np.asarray(labels)
    if labels.size == 0:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty
    change = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    starts = np.r_[0, change]
    ends = np.r_[change, labels.size]
    return labels[starts], starts, ends


def _levenshtein(a: Sequence[int], b: Sequence[int]) -> int:
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        cur = [i] + [0] * len(b)
        for j, y in enumerate(b, start=1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y))
        prev = cur
    return prev[-1]


def edit_score(pred: FrameLabels, gt: FrameLabels, *, ignore_index: int | None = None,
               background: int | None = None) -> float:
    """Segmental edit score averaged over videos (``background`` segments are dropped first)."""
    scores = []
    for p, g in _as_videos(pred, gt):
        v = _valid(g, ignore_index)
        seq_p = segments_from_labels(p[v])[0].tolist()
        seq_g = segments_from_labels(g[v])[0].tolist()
        if background is not None:
            seq_p = [x for x in seq_p if x != background]
            seq_g = [x for x in seq_g if x != background]
        longest = max(len(seq_p), len(seq_g))
        scores.append(1.0 if longest == 0 else 1.0 - _levenshtein(seq_p, seq_g) / longest)
    return float(np.mean(scores)) if scores else float("nan")


def boundary_accuracy(pred: FrameLabels, gt: FrameLabels, radius: int = 15, *,
                      ignore_index: int | None = None) -> dict[str, float]:
    """Accuracy near ground-truth label changes vs elsewhere.

    A change between frames ``b-1`` and ``b`` marks frames ``b-radius .. b+radius-1`` as boundary
    frames.  Returns ``{"boundary", "interior", "num_boundary", "num_interior"}`` (accuracies are
    NaN when a set is empty).  Ignored frames are in neither set but still define changes.
    """
    if int(radius) != radius or radius < 0:
        raise InputError(f"radius must be a non-negative integer, got {radius!r}")
    radius = int(radius)
    hit_b = n_b = hit_i = n_i = 0
    for p, g in _as_videos(pred, gt):
        near = np.zeros(g.size, dtype=bool)
        if radius > 0 and g.size > 1:
            change = np.flatnonzero(g[1:] != g[:-1]) + 1
            diff = np.zeros(g.size + 1, dtype=np.int64)
            np.add.at(diff, np.clip(change - radius, 0, g.size), 1)
            np.add.at(diff, np.clip(change + radius, 0, g.size), -1)
            near = np.cumsum(diff[:-1]) > 0
        v = _valid(g, ignore_index)
        ok = p == g
        hit_b += int(np.count_nonzero(ok & near & v))
        n_b += int(np.count_nonzero(near & v))
        hit_i += int(np.count_nonzero(ok & ~near & v))
        n_i += int(np.count_nonzero(~near & v))
    nan = float("nan")
    return {"boundary": hit_b / n_b if n_b else nan, "interior": hit_i / n_i if n_i else nan,
            "num_boundary": float(n_b), "num_interior": float(n_i)}


def frame_metrics(pred: FrameLabels, gt: FrameLabels, *, ignore_index: int | None = None,
                  background: int | None = None, radius: int = 15) -> dict[str, Any]:
    """All frame metrics at once: accuracy, per-class and mean F1, edit, boundary accuracy."""
    f1 = per_class_f1(pred, gt, ignore_index=ignore_index)
    fg = [v for c, v in f1.items() if c != background and not np.isnan(v)]
    return {
        "accuracy": frame_accuracy(pred, gt, ignore_index=ignore_index),
        "f1": f1,
        "mean_f1": float(np.mean(fg)) if fg else float("nan"),
        "edit": edit_score(pred, gt, ignore_index=ignore_index, background=background),
        "boundary": boundary_accuracy(pred, gt, radius, ignore_index=ignore_index),
    }
