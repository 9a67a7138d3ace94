"""Detection mAP under the field's three conventions (docs/design/conventions.md#map-conventions).

``protocol="anet"``
    ActivityNet's ``eval_detection.py``: per class, predictions by descending score; each one
    takes the not-yet-matched ground truth of the same video with the highest tIoU at or above
    the threshold (continuous intervals, no +1); duplicates are false positives; VOC interpolated
    AP; mean over the classes present in the ground truth.  Ties (equal scores, equal tIoUs) go
    to the *later* record, as the script's ``argsort()[::-1]`` does.
``protocol="frameset"``
    The paper's code (SnipCLR / LINE ``detectionMAP.py``): the same greedy one-to-one matching and
    VOC AP, but IoU on integer frame sets.  With ``frameset_ends="released"`` (default) the sets
    are those the released code builds from the same segments: ground truth ``range(start, end-1)``
    (its run-length decoder drops the last frame) and predictions ``range(start, end+1)`` (its
    proposal encoder adds one), which is what the published numbers measure.
    ``frameset_ends="exact"`` uses ``range(start, end)`` on both sides.  Ties go to the earlier
    record (``np.argsort(-score)``, strict ``>`` on IoU).
``protocol="pkummd"``
    The official PKU-MMD ``evaluate.py``: see :mod:`skelloc.metrics.pkummd`.

Every implementation is vectorised with numpy: 100k predictions in well under a second.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np

from skelloc.errors import ConfigError, EmptyInputError, LabelMismatchError, in_cli_words
from skelloc.metrics.records import InstanceArrays, Label, encode, label_sort_key
from skelloc.metrics.result import DetectionResult

__all__ = ["detection_map", "PROTOCOLS", "DEFAULT_THRESHOLDS", "segment_iou", "interpolated_ap",
           "map_class_names"]

logger = logging.getLogger(__name__)

PROTOCOLS = ("anet", "pkummd", "frameset")
DEFAULT_THRESHOLDS: dict[str, tuple[float, ...]] = {
    "anet": (0.1, 0.2, 0.3, 0.4, 0.5),
    "frameset": (0.1, 0.2, 0.3, 0.4, 0.5),
    "pkummd": (0.5,),
}

Records = Iterable[Any] | str | os.PathLike


def segment_iou(s1: np.ndarray, e1: np.ndarray, s2: np.ndarray,
                e2: np.ndarray) -> np.ndarray:
    """Continuous tIoU of paired intervals (ActivityNet ``segment_iou``); 0 where the union is 0."""
    inter = np.clip(np.minimum(e1, e2) - np.maximum(s1, s2), 0.0, None)
    union = (e1 - s1) + (e2 - s2) - inter
    out = np.zeros(np.broadcast(inter, union).shape, dtype=np.float64)
    np.divide(inter, union, out=out, where=union > 0)
    return out


def interpolated_ap(precision: np.ndarray, recall: np.ndarray) -> float:
    """VOC2011 AP of one precision/recall curve (ActivityNet ``interpolated_prec_rec``)."""
    mprec = np.concatenate([[0.0], precision, [0.0]])
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mprec = np.maximum.accumulate(mprec[::-1])[::-1]
    idx = np.flatnonzero(mrec[1:] != mrec[:-1]) + 1
    return float(np.sum((mrec[idx] - mrec[idx - 1]) * mprec[idx]))


# --------------------------------------------------------------------------- inputs
def _load(records: Records, *, predictions: bool,
          frames_fps: float | None = None) -> InstanceArrays:
    if isinstance(records, (str, os.PathLike)):
        from skelloc.metrics.io import read_instances

        # the reader has warned about reversed rows with file and line
        found = read_instances(records, predictions=predictions, frames_fps=frames_fps)
        return InstanceArrays.build(found, predictions=predictions, warn_reversed=False)
    return InstanceArrays.build(records, predictions=predictions)


def _frames_fps(pred: Records, gt: Records, fps: float | None) -> tuple[float | None,
                                                                         float | None]:
    """Which side (if any) must turn JSON seconds into frames: the one that is JSON when the
    other is a PKU-MMD label folder."""
    if not (isinstance(pred, (str, os.PathLike)) and isinstance(gt, (str, os.PathLike))):
        return None, None
    from skelloc.metrics.io import path_units

    units = path_units(pred), path_units(gt)
    if units[0] == units[1]:
        return None, None
    rate = 30.0 if fps is None else float(fps)
    if not rate > 0:
        raise ConfigError(f"fps must be positive, got {fps}")
    logger.info("comparing JSON seconds with label-folder frames at %g fps", rate)
    return (rate, None) if units[0] == "seconds" else (None, rate)


def _class_table(classes: Sequence[str] | Mapping[int, str] | None) -> dict[int, str]:
    if classes is None:
        from skelloc.io.pkummd import PKUMMD_CLASSES

        classes = PKUMMD_CLASSES
    if isinstance(classes, Mapping):
        return {int(k): str(v) for k, v in classes.items()}
    return {i + 1: str(name) for i, name in enumerate(classes)}


def map_class_names(pred: InstanceArrays, gt: InstanceArrays,
                    classes: Sequence[str] | Mapping[int, str] | None = None,
                    ) -> tuple[InstanceArrays, InstanceArrays]:
    """Make both sides label by the same kind: where one side uses names and the other ids,
    names become ids through ``classes`` (see :func:`detection_map`); case and surrounding
    spaces are ignored.  Unknown names stay as they are."""
    def kinds(a: InstanceArrays) -> set[type]:
        return {type(lab) for lab in a.labels}

    pk, gk = kinds(pred), kinds(gt)
    if not pk or not gk or pk == gk:
        return pred, gt
    ids = {name.strip().lower(): cid for cid, name in _class_table(classes).items()}

    def to_ids(a: InstanceArrays) -> InstanceArrays:
        labels = [ids.get(lab.strip().lower(), lab) if isinstance(lab, str) else lab
                  for lab in a.labels]
        return InstanceArrays(a.videos, labels, a.start, a.end, a.score)

    if gk == {int} and str in pk:
        pred = to_ids(pred)
    elif pk == {int} and str in gk:
        gt = to_ids(gt)
    return pred, gt


def _check_labels_overlap(pred: InstanceArrays, gt: InstanceArrays, *, strict: bool) -> None:
    """No predicted label among the ground truth's: an error for names against ids (or with
    ``strict``), else a warning."""
    gt_labels = set(gt.labels)
    pred_labels = set(pred.labels)
    if pred_labels & gt_labels:
        return
    shown_p = sorted(pred_labels, key=label_sort_key)[:3]
    shown_g = sorted(gt_labels, key=label_sort_key)[:3]
    message = (
        f"no predicted label is a ground-truth class (predicted e.g. "
        f"{', '.join(map(repr, shown_p))}; ground truth e.g. {', '.join(map(repr, shown_g))}): "
        "every AP would be 0; map class names to ids with the right class list (classes=; "
        "CLI: --classes) or check that the files belong together")
    if strict or {type(x) for x in pred_labels} != {type(x) for x in gt_labels}:
        raise in_cli_words(LabelMismatchError(message),
                           ("(classes=; CLI: --classes)", "(--classes)"))
    logger.warning("%s", message)


def _check_thresholds(thresholds: Sequence[float]) -> tuple[float, ...]:
    try:
        ts = tuple(float(t) for t in thresholds)
    except (TypeError, ValueError):
        raise ConfigError(f"tiou_thresholds must be numbers, got {thresholds!r}") from None
    if not ts:
        raise ConfigError("tiou_thresholds is empty")
    if not all(0.0 < t <= 1.0 for t in ts):
        raise ConfigError(f"tiou_thresholds must lie in (0, 1], got {list(ts)}")
    return ts


def _segmented_rev_cummax(values: np.ndarray, seg: np.ndarray) -> np.ndarray:
    """Reverse running max within contiguous segments ``seg`` (ascending ints), values in [0, 1]."""
    if values.size == 0:
        return values
    offset = 2.0 * (seg.max() - seg).astype(np.float64)  # larger for earlier segments
    rev = (values + offset)[..., ::-1]
    return np.maximum.accumulate(rev, axis=-1)[..., ::-1] - offset


# --------------------------------------------------------------------------- one-to-one
def _greedy_match(pred_key: np.ndarray, pred_score: np.ndarray, gt_key: np.ndarray,
                  pair_iou_fn: Any, thresholds: np.ndarray, later_first: bool) -> np.ndarray:
    """ActivityNet's greedy one-to-one matching, vectorised over groups and thresholds.

    ``pred_key`` / ``gt_key`` identify the (class, video) group (-1: no group).  Within a group,
    predictions are visited by descending score and each takes the unmatched ground truth with
    the highest IoU >= threshold.  Ties (equal scores, equal IoUs) go to the earlier record, or
    to the later one with ``later_first`` (ActivityNet's ``argsort()[::-1]``).  Groups are
    independent, so the k-th prediction of every group is processed at once.  Returns the
    boolean true-positive matrix ``(len(thresholds), n_pred)``.
    """
    n_pred, n_thr = pred_key.size, thresholds.size
    tp = np.zeros((n_thr, n_pred), dtype=bool)
    gt_order = np.argsort(gt_key, kind="stable")
    gt_sorted = gt_key[gt_order]
    lo = np.searchsorted(gt_sorted, pred_key, side="left")
    hi = np.searchsorted(gt_sorted, pred_key, side="right")
    counts = np.where(pred_key >= 0, hi - lo, 0)
    cand = np.flatnonzero(counts > 0)
    if cand.size == 0:
        return tp
    # rank of each candidate prediction inside its group (descending score, stable)
    sign = -1 if later_first else 1
    order = cand[np.lexsort((sign * cand, -pred_score[cand], pred_key[cand]))]
    okey = pred_key[order]
    first = np.flatnonzero(np.r_[True, okey[1:] != okey[:-1]])
    rank = np.arange(order.size) - np.repeat(first, np.diff(np.r_[first, order.size]))
    # all (prediction, ground truth) pairs of the same group
    c = counts[order]
    pair_pred = np.repeat(order, c)
    pair_rank = np.repeat(rank, c)
    starts = np.cumsum(c) - c
    within = np.arange(pair_pred.size) - np.repeat(starts, c)
    pair_gt = gt_order[np.repeat(lo[order], c) + within]
    iou = pair_iou_fn(pair_pred, pair_gt)
    # pairs by (rank, prediction, IoU descending, ground-truth index)
    p_order = np.lexsort((sign * pair_gt, -iou, pair_pred, pair_rank))
    pair_pred, pair_gt, iou, pair_rank = (pair_pred[p_order], pair_gt[p_order], iou[p_order],
                                          pair_rank[p_order])
    bounds = np.flatnonzero(np.r_[True, pair_rank[1:] != pair_rank[:-1], True])
    locked = np.zeros((n_thr, gt_key.size), dtype=bool)
    ge = iou[None, :] >= thresholds[:, None]  # (T, pairs)
    for a, b in zip(bounds[:-1], bounds[1:]):
        blk_pred, blk_gt = pair_pred[a:b], pair_gt[a:b]
        seg = np.flatnonzero(np.r_[True, blk_pred[1:] != blk_pred[:-1]])
        m = b - a
        valid = ge[:, a:b] & ~locked[:, blk_gt]
        idx = np.where(valid, np.arange(m), m)
        best = np.minimum.reduceat(idx, seg, axis=1)  # (T, n_seg): first valid pair or m
        t_i, s_i = np.nonzero(best < m)
        chosen = best[t_i, s_i]
        locked[t_i, blk_gt[chosen]] = True
        tp[t_i, blk_pred[seg[s_i]]] = True
    return tp


def _voc_ap_per_class(pred_cls: np.ndarray, score: np.ndarray, tp: np.ndarray,
                      npos: np.ndarray, later_first: bool) -> np.ndarray:
    """VOC interpolated AP of every class at every threshold: ``(T, n_classes)``."""
    n_thr, n_cls = tp.shape[0], npos.size
    ap = np.zeros((n_thr, n_cls))
    keep = np.flatnonzero(pred_cls >= 0)
    if keep.size == 0:
        return ap
    sign = -1 if later_first else 1
    order = keep[np.lexsort((sign * keep, -score[keep], pred_cls[keep]))]
    cls = pred_cls[order]
    first = np.flatnonzero(np.r_[True, cls[1:] != cls[:-1]])
    lengths = np.diff(np.r_[first, order.size])
    pos = np.arange(order.size) - np.repeat(first, lengths)
    t = tp[:, order].astype(np.float64)
    csum = np.cumsum(t, axis=1)
    base = np.repeat(csum[:, first] - t[:, first], lengths, axis=1)
    tp_cum = csum - base
    precision = tp_cum / (pos + 1)
    envelope = _segmented_rev_cummax(precision, cls)
    # AP = sum over true positives of envelope precision / npos (recall steps of 1/npos)
    contrib = np.where(t > 0, envelope, 0.0)
    for ti in range(n_thr):
        ap[ti] = np.bincount(cls, weights=contrib[ti], minlength=n_cls) / npos
    return ap


def _frame_bounds(s: np.ndarray, e: np.ndarray, *, gt: bool,
                  ends: str) -> tuple[np.ndarray, np.ndarray]:
    """Integer frame ranges as the LINE / SnipCLR code builds them (``int()`` / ``round()``)."""
    if gt:
        a, b = np.rint(s), np.rint(e)
        if ends == "released":
            b = b - 1.0
    else:
        a, b = np.trunc(s), np.trunc(e)
        if ends == "released":
            b = b + 1.0
    return a, np.maximum(b, a)


def _one_to_one(pred: InstanceArrays, gt: InstanceArrays, thresholds: tuple[float, ...],
                protocol: str, frameset_ends: str) -> tuple[np.ndarray, list[Label]]:
    class_vocab: dict[Any, int] = {}
    gt_cls = encode(gt.labels, class_vocab, grow=True)
    pred_cls = encode(pred.labels, class_vocab, grow=False)
    video_vocab: dict[Any, int] = {}
    gt_vid = encode(gt.videos, video_vocab, grow=True)
    pred_vid = encode(pred.videos, video_vocab, grow=False)
    n_vid = max(len(video_vocab), 1)
    gt_key = gt_cls * n_vid + gt_vid
    pred_key = np.where((pred_cls >= 0) & (pred_vid >= 0), pred_cls * n_vid + pred_vid, -1)
    if protocol == "frameset":
        ps, pe = _frame_bounds(pred.start, pred.end, gt=False, ends=frameset_ends)
        gs, ge = _frame_bounds(gt.start, gt.end, gt=True, ends=frameset_ends)
    else:
        ps, pe, gs, ge = pred.start, pred.end, gt.start, gt.end

    def pair_iou(pi: np.ndarray, gi: np.ndarray) -> np.ndarray:
        return segment_iou(ps[pi], pe[pi], gs[gi], ge[gi])

    thr = np.asarray(thresholds)
    later_first = protocol == "anet"
    tp = _greedy_match(pred_key, pred.score, gt_key, pair_iou, thr, later_first)
    npos = np.bincount(gt_cls, minlength=len(class_vocab)).astype(np.float64)
    ap = _voc_ap_per_class(pred_cls, pred.score, tp, npos, later_first)
    labels = list(class_vocab)
    return ap, labels


# --------------------------------------------------------------------------- public entry
def detection_map(
    predictions: Records,
    ground_truth: Records,
    tiou_thresholds: Sequence[float] | None = None,
    protocol: Literal["anet", "pkummd", "frameset"] = "anet",
    *,
    num_classes: int | None = None,
    frameset_ends: Literal["released", "exact"] = "released",
    pkummd_one_based: bool = True,
    classes: Sequence[str] | Mapping[int, str] | None = None,
    fps: float | None = None,
    strict_labels: bool = False,
) -> DetectionResult:
    """Detection mAP of ``predictions`` against ``ground_truth`` under one protocol.

    Args:
        predictions: records with ``video``, ``label``, ``start``, ``end``, ``score``
            (:class:`~skelloc.metrics.Instance`, any object with those attributes, or mappings),
            or the path of an ActivityNet-style results JSON / a PKU-MMD label folder.
        ground_truth: the same without ``score``, or a path.
        tiou_thresholds: IoU thresholds; default ``0.1..0.5`` (SnipCLR) for ``anet`` and
            ``frameset``, ``(0.5,)`` for ``pkummd``.
        protocol: ``"anet"``, ``"pkummd"`` or ``"frameset"`` (see the module docstring).
        num_classes: ``pkummd`` only: the divisor of ``mAP_action_official`` (default 51).
        frameset_ends: ``frameset`` only: ``"released"`` (the paper's code) or ``"exact"``.
        pkummd_one_based: ``pkummd`` only: turn records (0-based, end exclusive) back into the
            label files' 1-based inclusive frames before the official overlap formula, so that
            the numbers equal the official script's on the same files.
        classes: the class list that maps class names to numeric ids when one side labels by
            name and the other by id (PKU-MMD label folders): names in id order (id 1 first)
            or ``{id: name}``; default: PKU-MMD's 51 classes (``skelloc.io.pkummd``).  Pass
            a model's ``labels`` for a model with its own classes.
        fps: frame rate that turns ActivityNet JSON seconds into frames when the other side
            is a PKU-MMD label folder (frames), for JSON instances without a ``frames`` entry
            or a per-video ``fps``; default 30 (PKU-MMD's).
        strict_labels: raise :class:`~skelloc.errors.LabelMismatchError` whenever no
            predicted label is a ground-truth class (``skelloc evaluate`` does).

    Predicted labels absent from the ground truth are no class of their own (no error).  When
    *no* predicted label is a ground-truth class every AP is 0: if one side names classes and the
    other numbers them (names the class list could not map) that can never be right and
    :class:`~skelloc.errors.LabelMismatchError` is raised; otherwise it is a warning (an error
    with ``strict_labels``).  Ground truth of zero length, or ending before it starts (the official PKU-MMD
    ``0043-L`` holds such a row), counts in the recall denominator but is never matched, as in
    the ActivityNet code; the latter is logged once as a warning.
    """
    if protocol not in PROTOCOLS:
        raise ConfigError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")
    if frameset_ends not in ("released", "exact"):
        raise ConfigError(f"frameset_ends must be 'released' or 'exact', got {frameset_ends!r}")
    thresholds = _check_thresholds(
        DEFAULT_THRESHOLDS[protocol] if tiou_thresholds is None else tiou_thresholds)
    pred_frames_fps, gt_frames_fps = _frames_fps(predictions, ground_truth, fps)
    pred = _load(predictions, predictions=True, frames_fps=pred_frames_fps)
    gt = _load(ground_truth, predictions=False, frames_fps=gt_frames_fps)
    pred, gt = map_class_names(pred, gt, classes)
    if len(gt) == 0:
        raise EmptyInputError("no ground-truth instances: detection mAP is undefined")
    if len(pred) == 0:
        logger.warning("no predictions: every AP is 0")
    else:
        _check_labels_overlap(pred, gt, strict=strict_labels)
    extra: dict[str, dict[float, float]] = {}
    options: dict[str, Any] = {}
    if protocol == "pkummd":
        from skelloc.metrics.pkummd import pkummd_scores

        res = pkummd_scores(pred, gt, thresholds, num_classes=num_classes,
                            one_based=pkummd_one_based)
        ap, labels = res.class_ap, res.labels
        extra = res.extra
        options = {"num_classes": res.num_classes, "one_based": pkummd_one_based}
    else:
        if num_classes is not None:
            raise ConfigError("num_classes applies to protocol='pkummd' only")
        ap, labels = _one_to_one(pred, gt, thresholds, protocol, frameset_ends)
        if protocol == "frameset":
            options = {"frameset_ends": frameset_ends}
    unknown = set(pred.labels) - set(labels)
    if unknown:
        logger.info("ignored predicted labels absent from the ground truth: %s",
                    sorted(unknown, key=label_sort_key)[:10])
    mAP = {t: float(ap[i].mean()) for i, t in enumerate(thresholds)}
    per_class = {lab: {t: float(ap[i, c]) for i, t in enumerate(thresholds)}
                 for c, lab in enumerate(labels)}
    per_class = {k: per_class[k] for k in sorted(per_class, key=label_sort_key)}
    return DetectionResult(
        protocol=protocol,
        thresholds=thresholds,
        mAP=mAP,
        average_mAP=float(np.mean(list(mAP.values()))),
        per_class_ap=per_class,
        num_predictions=len(pred),
        num_ground_truth=len(gt),
        num_videos=len(set(gt.videos)),
        extra=extra,
        options=options,
    )
