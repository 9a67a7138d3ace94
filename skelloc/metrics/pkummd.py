"""The official PKU-MMD detection metric (``ECHO960/PKU-MMD`` ``evaluate.py``; docs/design/conventions.md#pkummd-metric).

Rules, as in the script (the version copied into Simple-Skeleton-Detection and FoundSkelModel):

- overlap ``(min(e_p, e_g) - max(s_p, s_g)) / (max(e_p, e_g) - min(s_p, s_g))`` on the label
  files' 1-based inclusive frames, no +1; 0 across labels or videos, negative when disjoint;
- many-to-one matching: every proposal goes to the same-class ground truth of its video with the
  largest overlap >= theta (ties: the later ground truth, as the script's ``<`` comparison does);
  a ground truth is covered when at least one proposal went to it;
- proposal-removal AP: proposals by ascending confidence (ties: input order); start from all of
  them with precision = covered / proposals, recall = covered / ground truth; remove them one by
  one; at each matched removal keep a running max of precision and add
  ``max_precision * (recall_before - recall_after)``;
- ``mAP_action``: mean AP over classes (over the present ones in ``mAP``; the official variant
  divides the sum by all 51 classes), ``mAP_video``: mean over ground-truth videos of the AP of
  the video's own proposals (all labels; a video without predictions scores 0), ``AP``: all
  proposals pooled, ``F1`` from the pooled precision and recall.

Ground truth shorter than two frames never matches: in 1-based inclusive frames its overlap is
at most 0 under the official formula (which would even divide by zero for an identical one-frame
proposal).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from skelloc.errors import ConfigError
from skelloc.metrics.records import InstanceArrays, Label, encode

__all__ = ["pkummd_scores", "PkuMmdScores", "removal_ap", "PKUMMD_NUM_CLASSES"]

PKUMMD_NUM_CLASSES = 51


@dataclass(frozen=True)
class PkuMmdScores:
    class_ap: np.ndarray  # (T, n_gt_classes)
    labels: list[Label]
    extra: dict[str, dict[float, float]]
    num_classes: int


def _assign(pred_key: np.ndarray, ps: np.ndarray, pe: np.ndarray, gt_key: np.ndarray,
            gs: np.ndarray, ge: np.ndarray, theta: float) -> np.ndarray:
    """Index of the ground truth each proposal is assigned to (-1: none)."""
    n = pred_key.size
    assigned = np.full(n, -1, dtype=np.int64)
    gt_order = np.argsort(gt_key, kind="stable")
    gt_sorted = gt_key[gt_order]
    lo = np.searchsorted(gt_sorted, pred_key, side="left")
    hi = np.searchsorted(gt_sorted, pred_key, side="right")
    counts = np.where(pred_key >= 0, hi - lo, 0)
    total = int(counts.sum())
    if total == 0:
        return assigned
    pair_pred = np.repeat(np.arange(n), counts)
    starts = np.cumsum(counts) - counts
    within = np.arange(total) - np.repeat(starts, counts)
    pair_gt = gt_order[np.repeat(lo, counts) + within]
    num = np.minimum(pe[pair_pred], ge[pair_gt]) - np.maximum(ps[pair_pred], gs[pair_gt])
    den = np.maximum(pe[pair_pred], ge[pair_gt]) - np.minimum(ps[pair_pred], gs[pair_gt])
    ok = (den > 0) & (ge[pair_gt] > gs[pair_gt])
    ov = np.full(total, -np.inf)
    np.divide(num, den, out=ov, where=ok)
    good = ov >= theta
    pair_pred, pair_gt, ov = pair_pred[good], pair_gt[good], ov[good]
    # per proposal: the largest overlap, ties to the later ground truth -> last after sorting
    order = np.lexsort((pair_gt, ov, pair_pred))
    pair_pred, pair_gt = pair_pred[order], pair_gt[order]
    last = np.flatnonzero(np.r_[pair_pred[1:] != pair_pred[:-1], True]) if order.size else order
    assigned[pair_pred[last]] = pair_gt[last]
    return assigned


def removal_ap(group: np.ndarray, conf: np.ndarray, assigned: np.ndarray,
               n_ground: np.ndarray) -> np.ndarray:
    """The official ``ap()`` of every group of proposals at once.

    ``group``: group id of each proposal (0..G-1); ``conf``: confidences; ``assigned``: the
    ground truth each proposal covers (-1: none); ``n_ground[g]``: ground-truth count of group g.
    Every ground truth's proposals must lie in one group.  Returns ``(G,)`` APs.
    """
    n_groups = n_ground.size
    ap = np.zeros(n_groups)
    n = group.size
    if n == 0:
        return ap
    idx = np.arange(n)
    order = np.lexsort((idx, conf, group))  # ascending confidence, stable
    g = group[order]
    a = assigned[order]
    n_prop = np.bincount(g, minlength=n_groups)
    first = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    pos = idx - np.repeat(first, np.diff(np.r_[first, n]))
    matched = a >= 0
    # the removal that uncovers each ground truth is that of its last (highest) proposal
    n_gt_total = int(a.max()) + 1 if matched.any() else 0
    last = np.full(n_gt_total, -1, dtype=np.int64)
    np.maximum.at(last, a[matched], idx[matched])
    last = last[last >= 0]
    uncover = np.zeros(n, dtype=np.int64)
    uncover[last] = 1
    covered = np.bincount(g[last], minlength=n_groups)  # positives of the full proposal set
    cum = np.cumsum(uncover)
    cum -= np.repeat(cum[first] - uncover[first], np.diff(np.r_[first, n]))
    remaining = n_prop[g] - pos - 1
    positive = covered[g] - cum
    ng = n_ground[g].astype(np.float64)
    defined = (remaining > 0) & (ng > 0)
    prec = np.where(defined, positive / np.maximum(remaining, 1), 0.0)
    rec = np.where(defined, positive / np.maximum(ng, 1.0), 0.0)
    ok0 = (n_prop > 0) & (n_ground > 0)
    p0 = np.where(ok0, covered / np.maximum(n_prop, 1), 0.0)
    r0 = np.where(ok0, covered / np.maximum(n_ground, 1), 0.0)
    m = np.flatnonzero(matched)
    if m.size == 0:
        return ap
    gm = g[m]
    offset = 2.0 * gm
    runmax = np.maximum.accumulate(prec[m] + offset) - offset
    runmax = np.maximum(runmax, p0[gm])
    rec_m = rec[m]
    start_m = np.r_[True, gm[1:] != gm[:-1]]
    rec_prev = np.where(start_m, r0[gm], np.r_[0.0, rec_m[:-1]])
    ap += np.bincount(gm, weights=runmax * (rec_prev - rec_m), minlength=n_groups)
    return ap


def pkummd_scores(pred: InstanceArrays, gt: InstanceArrays, thresholds: tuple[float, ...], *,
                  num_classes: int | None, one_based: bool) -> PkuMmdScores:
    class_vocab: dict[Any, int] = {}
    gt_cls = encode(gt.labels, class_vocab, grow=True)
    n_gt_cls = len(class_vocab)
    pred_cls = encode(pred.labels, class_vocab, grow=True)  # absent labels: classes without GT
    n_cls = len(class_vocab)
    n_div = PKUMMD_NUM_CLASSES if num_classes is None else int(num_classes)
    if n_div < n_gt_cls:
        raise ConfigError(f"num_classes={n_div} is smaller than the {n_gt_cls} classes present "
                          "in the ground truth")
    video_vocab: dict[Any, int] = {}
    gt_vid = encode(gt.videos, video_vocab, grow=True)
    n_gt_vid = len(video_vocab)
    pred_vid = encode(pred.videos, video_vocab, grow=True)
    n_vid = len(video_vocab)
    shift = 1.0 if one_based else 0.0
    ps, pe = pred.start + shift, pred.end
    gs, ge = gt.start + shift, gt.end
    gt_key = gt_cls * n_vid + gt_vid
    pred_key = pred_cls * n_vid + pred_vid
    n_gt_per_cls = np.bincount(gt_cls, minlength=n_cls)
    n_gt_per_vid = np.bincount(gt_vid, minlength=n_vid)
    in_gt_video = pred_vid < n_gt_vid

    class_ap = np.zeros((len(thresholds), n_gt_cls))
    extra: dict[str, dict[float, float]] = {"mAP_action_official": {}, "mAP_video": {},
                                            "AP": {}, "F1": {}}
    for ti, theta in enumerate(thresholds):
        assigned = _assign(pred_key, ps, pe, gt_key, gs, ge, theta)
        ap_c = removal_ap(pred_cls, pred.score, assigned, n_gt_per_cls)
        class_ap[ti] = ap_c[:n_gt_cls]
        extra["mAP_action_official"][theta] = float(ap_c[:n_gt_cls].sum() / n_div)
        keep = np.flatnonzero(in_gt_video)
        ap_v = removal_ap(pred_vid[keep], pred.score[keep], assigned[keep],
                          n_gt_per_vid[:n_gt_vid])
        extra["mAP_video"][theta] = float(ap_v.mean())
        ap_all = removal_ap(np.zeros(pred.score.size, dtype=np.int64), pred.score, assigned,
                            np.array([len(gt)]))
        extra["AP"][theta] = float(ap_all[0])
        positive = np.unique(assigned[assigned >= 0]).size
        precision = positive / len(pred) if len(pred) else 0.0
        recall = positive / len(gt)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
        extra["F1"][theta] = float(f1)
    return PkuMmdScores(class_ap, list(class_vocab)[:n_gt_cls], extra, n_div)
