"""Rows that end before they start (the official PKU-MMD 0043-L holds ``1,4925,4036,2``).

ActivityNet's ``eval_detection.py`` counts such a ground truth in the recall denominator and
never matches it; skelloc must give its numbers exactly, warn once with file and line, and never
abort.  ``anet_reference`` below transcribes the upstream loop (``segment_iou`` and
``compute_average_precision_detection``) without vectorisation.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from skelloc.metrics import Instance, detection_map

FIXTURES = Path(__file__).resolve().parents[1] / "io" / "fixtures"


def _anet_segment_iou(target: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    tt1 = np.maximum(target[0], candidates[:, 0])
    tt2 = np.minimum(target[1], candidates[:, 1])
    inter = (tt2 - tt1).clip(0)
    union = (candidates[:, 1] - candidates[:, 0]) + (target[1] - target[0]) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter.astype(float) / union


def _anet_ap_one_class(gt: list[Instance], pred: list[Instance], thr: float) -> float:
    npos = float(len(gt))
    lock = [False] * len(gt)
    order = np.array([p.score for p in pred]).argsort()[::-1]
    tp, fp = np.zeros(len(pred)), np.zeros(len(pred))
    for idx, k in enumerate(order):
        p = pred[k]
        cands = [j for j, g in enumerate(gt) if g.video == p.video]
        if not cands:
            fp[idx] = 1
            continue
        segs = np.array([[gt[j].start, gt[j].end] for j in cands])
        tiou = _anet_segment_iou(np.array([p.start, p.end]), segs)
        for jdx in tiou.argsort()[::-1]:
            if tiou[jdx] < thr:
                fp[idx] = 1
                break
            if lock[cands[jdx]]:
                continue
            tp[idx] = 1
            lock[cands[jdx]] = True
            break
        if tp[idx] == 0 and fp[idx] == 0:
            fp[idx] = 1
    tp_c, fp_c = np.cumsum(tp), np.cumsum(fp)
    rec, prec = tp_c / npos, tp_c / (tp_c + fp_c)
    mprec = np.hstack([[0], prec, [0]])
    mrec = np.hstack([[0], rec, [1]])
    for i in range(len(mprec) - 1)[::-1]:
        mprec[i] = max(mprec[i], mprec[i + 1])
    idx = np.where(mrec[1:] != mrec[:-1])[0] + 1
    return float(np.sum((mrec[idx] - mrec[idx - 1]) * mprec[idx]))


def anet_reference(pred: list[Instance], gt: list[Instance], thr: float) -> float:
    classes = sorted({g.label for g in gt})
    return float(np.mean([_anet_ap_one_class([g for g in gt if g.label == c],
                                             [p for p in pred if p.label == c], thr)
                          for c in classes]))


def test_reversed_ground_truth_matches_activitynet_exactly() -> None:
    rng = random.Random(3)
    for _ in range(40):
        gt, pred = [], []
        for v in ("0043-L", "0044-L"):
            for _ in range(rng.randint(1, 5)):
                s = rng.uniform(0, 500)
                gt.append(Instance(v, rng.randint(1, 3), s, s + rng.uniform(5, 80)))
            # the 0043-L row 1,4925,4036,2 in 0-based frames, and a random reversed one
            gt.append(Instance(v, 1, 4924.0, 4036.0))
            s = rng.uniform(0, 500)
            gt.append(Instance(v, rng.randint(1, 3), s, s - rng.uniform(1, 30)))
            for _ in range(rng.randint(0, 8)):
                s = rng.uniform(0, 500)
                e = s + rng.uniform(5, 80) if rng.random() > 0.1 else 4036.0 + rng.uniform(0, 900)
                pred.append(Instance(v, rng.randint(1, 3), s, e, rng.random()))
        for thr in (0.1, 0.5):
            want = anet_reference(pred, gt, thr)
            assert detection_map(pred, gt, [thr], "anet").mAP[thr] == pytest.approx(want,
                                                                                 abs=1e-12)


def test_reversed_row_in_a_label_folder_warns_once_with_file_and_line(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    gt_dir = tmp_path / "gt"
    gt_dir.mkdir()
    src = FIXTURES / "messy_labels" / "0015-L_clip.txt"
    (gt_dir / src.name).write_text(src.read_text())
    pred_dir = tmp_path / "pred"
    pred_dir.mkdir()
    # a perfect prediction for every valid row (confidence = score)
    (pred_dir / src.name).write_text("24,42,116,0.9\n12,309,428,0.8\n16,1517,1700,0.7\n"
                                     "21,1650,1700,0.6\n")
    with caplog.at_level("WARNING"):
        for protocol in ("anet", "pkummd", "frameset"):
            res = detection_map(pred_dir, gt_dir, [0.5], protocol)  # never aborts
            assert res.num_ground_truth == 5
            # class 1's only ground truth is the reversed row: counted, never matched -> AP 0
            assert res.per_class_ap[1][0.5] == 0.0
            assert res.per_class_ap[24][0.5] == 1.0
    warned = [r.getMessage() for r in caplog.records if "ends before it starts" in r.getMessage()]
    assert len(warned) == 3  # once per read (one per protocol here), never per prediction
    assert all(f"{gt_dir / src.name}:2:" in w for w in warned)


def test_reversed_python_records_warn(caplog: pytest.LogCaptureFixture) -> None:
    gt = [Instance("v", 1, 4924, 4036), Instance("v", 1, 0, 10)]
    with caplog.at_level("WARNING", logger="skelloc.metrics.records"):
        res = detection_map([Instance("v", 1, 0, 10, 0.9)], gt, [0.5])
    assert res.mAP[0.5] == 0.5  # 1 of 2 ground truths found
    assert sum("ends before it starts" in r.getMessage() for r in caplog.records) == 1
