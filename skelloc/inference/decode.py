"""Turning frame probabilities into action segments.

Both decoders take ``probs`` shaped ``(T, K+1)`` (softmax over K action classes plus the
background, which is **last**; or a multi-label model's independent per-class sigmoids) and return :class:`Detection` records with 0-based frame
indices, ``end`` exclusive, sorted by start frame.

* :func:`decode_proposals` is the paper's post-processing (docs/design/method.md#decoding, inherited from
  Yu & Fujiwara's BABEL code and FAC-Net): multi-threshold runs, outer-inner-contrast scores,
  per-class greedy NMS.
* :func:`decode_argmax` groups runs of the frame-wise argmax (optionally smoothed), the way
  most frame-classification pipelines do.

Multi-label models: the proposal decoder treats every class on its own, so overlapping actions
(BABEL: walking while turning) are all found; the argmax decoder gives one class per frame.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from skelloc.errors import ConfigError, ShapeError

__all__ = [
    "DEFAULT_THRESHOLDS",
    "SIGMOID_THRESHOLDS",
    "Detection",
    "decode",
    "decode_argmax",
    "decode_proposals",
    "find_runs",
    "get_decoder",
    "list_decoders",
    "nms",
    "smooth",
]

#: the paper's per-class thresholds: 0.030, 0.035, ..., 0.050
DEFAULT_THRESHOLDS: tuple[float, ...] = (0.030, 0.035, 0.040, 0.045, 0.050)
#: thresholds for multi-label (per-class sigmoid) models, whose probabilities are not shared
#: among the classes: the default of ``localize`` for such a model unless it stores its own
SIGMOID_THRESHOLDS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5)


@dataclass(frozen=True)
class Detection:
    """One decoded segment: class index (background excluded), frames ``[start, end)``, score."""

    label_id: int
    start: int
    end: int
    score: float


# --------------------------------------------------------------------------- helpers
def _check_probs(probs: Any) -> np.ndarray:
    arr = np.asarray(probs, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] < 2:
        raise ShapeError(
            f"expected probabilities shaped (T, K+1) with K >= 1 (background last), got shape "
            f"{arr.shape}"
        )
    if not np.isfinite(arr).all():
        raise ShapeError("the probabilities contain NaN or infinite values")
    return arr


def find_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Maximal runs of True in a 1-D boolean array, as ``(start, end_exclusive)`` pairs."""
    padded = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]])
    change = np.flatnonzero(padded[1:] != padded[:-1])
    return [(int(s), int(e)) for s, e in zip(change[::2], change[1::2])]


def _label_runs(labels: np.ndarray) -> list[tuple[int, int, int]]:
    """Runs of equal values in a 1-D integer array, as ``(value, start, end_exclusive)``."""
    if len(labels) == 0:
        return []
    bounds = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [len(labels)]])
    return [(int(labels[s]), int(s), int(e)) for s, e in zip(starts, ends)]


def nms(
    segments: Sequence[tuple[int, int, float]], threshold: float, *, legacy: bool = False
) -> list[int]:
    """Greedy temporal NMS where overlap is intersection / the *other* segment's length.

    ``segments`` are ``(start, end_exclusive, score)``. The best-scoring remaining segment is
    kept and every remaining segment whose overlap with it, divided by that segment's own
    length, exceeds ``threshold`` is removed. Ties in score keep the earlier segment first.
    ``legacy=True`` counts lengths and intersections with the released code's ``+1``.
    Returns the kept indices in the order they were picked.
    """
    if not segments:
        return []
    arr = np.asarray(segments, dtype=np.float64)
    s, e, scores = arr[:, 0], arr[:, 1], arr[:, 2]
    extra = 1.0 if legacy else 0.0
    length = np.maximum(e - s + extra, 1e-12)
    order = np.argsort(-scores, kind="stable")
    alive = np.ones(len(arr), dtype=bool)
    keep: list[int] = []
    for i in order:  # one vectorised suppression per kept segment
        if not alive[i]:
            continue
        keep.append(int(i))
        alive[i] = False
        inter = np.maximum(0.0, np.minimum(e[i], e) - np.maximum(s[i], s) + extra)
        alive &= inter / length <= threshold
    return keep


def smooth(probs: np.ndarray, window: int, mode: Literal["median", "mean"] = "median") -> np.ndarray:
    """Median or moving-average filter along time (axis 0), edges padded by repetition."""
    arr = np.asarray(probs, dtype=np.float64)
    window = int(window)
    if window <= 1:
        return arr
    if mode not in ("median", "mean"):
        raise ConfigError(f"smoothing mode must be 'median' or 'mean', got {mode!r}")
    left, right = window // 2, (window - 1) // 2
    padded = np.pad(arr, ((left, right), (0, 0)), mode="edge")
    if mode == "mean":
        csum = np.cumsum(np.concatenate([np.zeros((1, arr.shape[1])), padded]), axis=0)
        return (csum[window:] - csum[:-window]) / window
    views = np.lib.stride_tricks.sliding_window_view(padded, window, axis=0)  # (T, K+1, w)
    return np.median(views, axis=-1)


def _sorted(dets: list[Detection]) -> list[Detection]:
    return sorted(dets, key=lambda d: (d.start, d.end, d.label_id, -d.score))


# --------------------------------------------------------------------------- decoders
def decode_proposals(
    probs: np.ndarray,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    min_length: int = 3,
    outer_weight: float = 0.6,
    margin: float = 0.25,
    nms_threshold: float = 0.2,
    *,
    legacy: bool = False,
) -> list[Detection]:
    """The paper's proposal decoder (docs/design/method.md#decoding).

    For every action class ``c`` and every threshold ``θ``: each maximal run of frames with
    ``p_c > θ`` and at least ``min_length`` frames is a proposal ``[s, e)`` of length ``L``;
    with ``m = ceil(margin · L)`` its score is

        mean(p_c[s:e]) − outer_weight · mean(p_c[s−m:s] ∪ p_c[e:e+m])

    (margins clipped to the sequence; an empty margin counts as 0). The proposals of all
    thresholds are pooled and reduced by :func:`nms` at ``nms_threshold``.

    ``legacy=True`` reproduces the released code exactly, off-by-ones included: the inner mean
    and the segment take one frame past the run (``[s, e+1)``), the left margin has
    ``s − int(s − margin·L)`` frames, the right one starts at ``e+1`` and ends before
    ``min(T−1, int(e + margin·L + 1))``, and NMS lengths use ``+1``. Use it only to compare
    with published numbers.
    """
    p_all = _check_probs(probs)
    num_classes = p_all.shape[1] - 1
    if int(min_length) < 1:
        raise ConfigError(f"min_length must be >= 1, got {min_length}")
    thresholds = [float(x) for x in thresholds]
    if not thresholds:
        raise ConfigError("at least one threshold is needed")
    detections: list[Detection] = []
    for c in range(num_classes):
        p = p_all[:, c]
        proposals: list[tuple[int, int, float]] = []
        if legacy:
            for theta in thresholds:
                for s, e in find_runs(p > theta):
                    if e - s >= min_length:
                        proposals.append(_legacy_proposal(p, s, e, outer_weight, margin))
        else:
            proposals = _score_runs(p, thresholds, int(min_length), outer_weight, margin)
        for i in nms(proposals, nms_threshold, legacy=legacy):
            s, e, score = proposals[i]
            detections.append(Detection(c, int(s), int(e), float(score)))
    return _sorted(detections)


def _score_runs(
    p: np.ndarray, thresholds: Sequence[float], min_length: int, outer_weight: float,
    margin: float,
) -> list[tuple[int, int, float]]:
    """Every proposal of one class, scored from prefix sums (no per-proposal Python work)."""
    t = len(p)
    csum = np.concatenate([[0.0], np.cumsum(p, dtype=np.float64)])
    padded = np.zeros(t + 2, dtype=bool)
    out: list[tuple[int, int, float]] = []
    for theta in thresholds:
        padded[1:-1] = p > theta
        change = np.flatnonzero(padded[1:] != padded[:-1])
        s, e = change[::2], change[1::2]
        ok = e - s >= min_length
        s, e = s[ok], e[ok]
        if len(s) == 0:
            continue
        length = e - s
        m = np.ceil(margin * length - 1e-9).astype(np.int64)
        left, right = np.maximum(0, s - m), np.minimum(t, e + m)
        count = (s - left) + (right - e)
        outer_sum = (csum[s] - csum[left]) + (csum[right] - csum[e])
        outer = np.divide(outer_sum, count, out=np.zeros(len(s)), where=count > 0)
        score = (csum[e] - csum[s]) / length - outer_weight * outer
        out.extend(zip(s.tolist(), e.tolist(), score.tolist()))
    return out


def _legacy_proposal(
    p: np.ndarray, s: int, e: int, outer_weight: float, margin: float
) -> tuple[int, int, float]:
    length = e - s
    inner = float(p[s : e + 1].mean())
    outer_s = max(0, int(s - margin * length))
    outer_e = min(len(p) - 1, int(e + margin * length + 1))
    idx = list(range(outer_s, s)) + list(range(e + 1, outer_e))
    outer = float(p[idx].mean()) if idx else 0.0
    return s, e + 1, inner - outer_weight * outer


def decode_argmax(
    probs: np.ndarray,
    smoothing: int | None = None,
    min_length: int = 3,
    *,
    smoothing_mode: Literal["median", "mean"] = "median",
) -> list[Detection]:
    """Runs of the frame-wise argmax class.

    The probabilities are first smoothed along time by a ``smoothing``-frame median (or, with
    ``smoothing_mode="mean"``, moving-average) filter when ``smoothing > 1``. Every maximal run
    of a non-background argmax with at least ``min_length`` frames is a segment; its score is
    the mean *unsmoothed* probability of its class over the run.
    """
    p = _check_probs(probs)
    background = p.shape[1] - 1
    if int(min_length) < 1:
        raise ConfigError(f"min_length must be >= 1, got {min_length}")
    smoothed = smooth(p, int(smoothing or 0), smoothing_mode)
    labels = np.argmax(smoothed, axis=1)
    dets = [
        Detection(c, s, e, float(p[s:e, c].mean()))
        for c, s, e in _label_runs(labels)
        if c != background and e - s >= min_length
    ]
    return _sorted(dets)


# --------------------------------------------------------------------------- registry
_DECODERS: dict[str, Callable[..., list[Detection]]] = {
    "proposals": decode_proposals,
    "argmax": decode_argmax,
}


def list_decoders() -> list[str]:
    """Names accepted by :func:`get_decoder`."""
    return sorted(_DECODERS)


def get_decoder(name: str) -> Callable[..., list[Detection]]:
    """The decoder function called ``name`` (``"proposals"`` or ``"argmax"``)."""
    try:
        return _DECODERS[str(name).lower()]
    except KeyError:
        raise ConfigError(
            f"unknown decoder {name!r}; choose one of {', '.join(list_decoders())}"
        ) from None


def decode(probs: np.ndarray, decoder: str = "proposals", **kwargs: Any) -> list[Detection]:
    """Decode ``probs`` with the decoder called ``decoder`` and its keyword arguments."""
    fn = get_decoder(decoder)
    try:
        inspect.signature(fn).bind(probs, **kwargs)
    except TypeError as err:
        raise ConfigError(f"bad arguments for decoder {decoder!r}: {err}") from None
    return fn(probs, **kwargs)
