"""Cross-checks against plain loop implementations, and property tests (hypothesis).

The loop references below are written from the protocols' descriptions (``field.md`` §2.4,
§2.5, §3.1) one prediction at a time, with no vectorisation, so that they are easy to check by
eye.  The vectorised library must agree with them on random inputs.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skelloc.metrics import Instance, detection_map


# --------------------------------------------------------------------------- loop references
def voc_ap(tp: list[int], npos: int) -> float:
    """Pascal VOC / ActivityNet interpolated AP, with loops."""
    if not tp:
        return 0.0
    prec, rec, hits = [], [], 0
    for i, t in enumerate(tp):
        hits += t
        prec.append(hits / (i + 1))
        rec.append(hits / npos)
    mprec = [0.0] + prec + [0.0]
    mrec = [0.0] + rec + [1.0]
    for i in range(len(mprec) - 2, -1, -1):
        mprec[i] = max(mprec[i], mprec[i + 1])
    return sum((mrec[i] - mrec[i - 1]) * mprec[i] for i in range(1, len(mrec))
               if mrec[i] != mrec[i - 1])


def ref_one_to_one(pred: list[Instance], gt: list[Instance], thr: float, iou,
                   later_first: bool) -> dict:
    """Greedy one-to-one matching per class (ActivityNet rules), one prediction at a time.

    Ties go to the earlier record, or to the later one with ``later_first`` (ActivityNet)."""
    aps = {}
    for c in dict.fromkeys(g.label for g in gt):
        gts = [g for g in gt if g.label == c]
        preds = [p for p in pred if p.label == c]
        if later_first:
            preds = preds[::-1]
        preds = sorted(preds, key=lambda p: -p.score)  # stable
        locked = [False] * len(gts)
        tp = []
        for p in preds:
            cands = [(iou(p, g), j) for j, g in enumerate(gts) if g.video == p.video]
            cands.sort(key=lambda x: (-x[0], -x[1] if later_first else x[1]))
            hit = 0
            for v, j in cands:
                if v < thr:
                    break
                if not locked[j]:
                    locked[j] = True
                    hit = 1
                    break
            tp.append(hit)
        aps[c] = voc_ap(tp, len(gts))
    return aps


def anet_iou(p: Instance, g: Instance) -> float:
    inter = max(0.0, min(p.end, g.end) - max(p.start, g.start))
    union = (p.end - p.start) + (g.end - g.start) - inter
    return inter / union if union > 0 else 0.0


def frameset_iou(released: bool):
    def iou(p: Instance, g: Instance) -> float:
        gs = set(range(int(round(g.start)), int(round(g.end)) - (1 if released else 0)))
        ps = set(range(int(p.start), int(p.end) + (1 if released else 0)))
        union = gs | ps
        return len(gs & ps) / len(union) if union else 0.0
    return iou


def ref_pkummd_ap(lst: list[Instance], ground: list[Instance], theta: float) -> float:
    """The official ``match`` + ``ap`` (1-based inclusive frames), transcribed with loops."""
    def overlap(p: Instance, g: Instance) -> float:
        if p.label != g.label or p.video != g.video:
            return 0.0
        sp, ep, sg, eg = p.start + 1, p.end, g.start + 1, g.end
        den = max(ep, eg) - min(sp, sg)
        return (min(ep, eg) - max(sp, sg)) / den if den > 0 and eg >= sg else -1.0

    lst = sorted(lst, key=lambda x: x.score)
    cos_map = [-1] * len(lst)
    count_map = [0] * len(ground)
    for x, p in enumerate(lst):
        for y, g in enumerate(ground):
            if g.label != p.label:
                continue
            if overlap(p, g) < theta:
                continue
            if cos_map[x] != -1 and overlap(p, g) < overlap(p, ground[cos_map[x]]):
                continue
            cos_map[x] = y
        if cos_map[x] != -1:
            count_map[cos_map[x]] += 1
    positive = sum(c > 0 for c in count_map)

    def calc_pr(pos: int, prop: int, gr: int) -> tuple[float, float]:
        if prop == 0 or gr == 0:
            return 0.0, 0.0
        return pos / prop, pos / gr

    number_proposal = len(lst)
    old_precision, old_recall = calc_pr(positive, number_proposal, len(ground))
    score = 0.0
    for x in range(len(lst)):
        number_proposal -= 1
        if cos_map[x] == -1:
            continue
        count_map[cos_map[x]] -= 1
        if count_map[cos_map[x]] == 0:
            positive -= 1
        precision, recall = calc_pr(positive, number_proposal, len(ground))
        if precision > old_precision:
            old_precision = precision
        score += old_precision * (old_recall - recall)
        old_recall = recall
    return score


# --------------------------------------------------------------------------- random data
def random_case(rng: random.Random, n_videos: int, n_classes: int, n_gt: int,
                n_pred: int, span: int = 60) -> tuple[list[Instance], list[Instance]]:
    videos = [f"vid{i}" for i in range(n_videos)]
    labels = list(range(n_classes))
    gt = []
    for _ in range(n_gt):
        s = rng.randrange(0, span)
        gt.append(Instance(rng.choice(videos), rng.choice(labels), s, s + rng.randrange(1, 25)))
    scores = rng.sample(range(1, 10 * (n_pred + 1)), n_pred)  # distinct
    pred = []
    for k in range(n_pred):
        if gt and rng.random() < 0.6:  # near a ground truth, sometimes with the wrong label
            g = rng.choice(gt)
            s = max(0, g.start + rng.randrange(-6, 7))
            e = max(s + 1, g.end + rng.randrange(-6, 7))
            lab = g.label if rng.random() < 0.85 else rng.choice(labels + [99])
            pred.append(Instance(g.video, lab, s, e, scores[k] / 7.0))
        else:
            s = rng.randrange(0, span)
            pred.append(Instance(rng.choice(videos + ["novid"]), rng.choice(labels), s,
                                 s + rng.randrange(1, 25), scores[k] / 7.0))
    return pred, gt


THRESHOLDS = (0.1, 0.3, 0.5, 0.7)


@pytest.mark.parametrize("seed", range(12))
def test_anet_matches_loop_reference(seed: int) -> None:
    rng = random.Random(seed)
    pred, gt = random_case(rng, n_videos=rng.randrange(1, 5), n_classes=rng.randrange(1, 4),
                           n_gt=rng.randrange(1, 15), n_pred=rng.randrange(0, 40))
    res = detection_map(pred, gt, THRESHOLDS, "anet")
    for t in THRESHOLDS:
        ref = ref_one_to_one(pred, gt, t, anet_iou, later_first=True)
        for c, v in ref.items():
            assert res.per_class_ap[c][t] == pytest.approx(v, abs=1e-12), (c, t)
        assert res.mAP[t] == pytest.approx(np.mean(list(ref.values())), abs=1e-12)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("ends", ["released", "exact"])
def test_frameset_matches_loop_reference(seed: int, ends: str) -> None:
    rng = random.Random(100 + seed)
    pred, gt = random_case(rng, n_videos=rng.randrange(1, 4), n_classes=rng.randrange(1, 4),
                           n_gt=rng.randrange(1, 12), n_pred=rng.randrange(0, 30))
    res = detection_map(pred, gt, THRESHOLDS, "frameset", frameset_ends=ends)
    for t in THRESHOLDS:
        ref = ref_one_to_one(pred, gt, t, frameset_iou(ends == "released"), later_first=False)
        assert res.mAP[t] == pytest.approx(np.mean(list(ref.values())), abs=1e-12)


@pytest.mark.parametrize("seed", range(10))
def test_pkummd_matches_loop_transcription(seed: int) -> None:
    rng = random.Random(200 + seed)
    pred, gt = random_case(rng, n_videos=rng.randrange(1, 4), n_classes=rng.randrange(1, 4),
                           n_gt=rng.randrange(1, 12), n_pred=rng.randrange(0, 30))
    thetas = (0.1, 0.3, 0.5)
    res = detection_map(pred, gt, thetas, "pkummd")
    gt_classes = list(dict.fromkeys(g.label for g in gt))
    gt_videos = list(dict.fromkeys(g.video for g in gt))
    for t in thetas:
        aps = {c: ref_pkummd_ap([p for p in pred if p.label == c],
                                [g for g in gt if g.label == c], t) for c in gt_classes}
        for c in gt_classes:
            assert res.per_class_ap[c][t] == pytest.approx(aps[c], abs=1e-12)
        v_aps = [ref_pkummd_ap([p for p in pred if p.video == v],
                               [g for g in gt if g.video == v], t) for v in gt_videos]
        assert res.extra["mAP_video"][t] == pytest.approx(np.mean(v_aps), abs=1e-12)
        assert res.extra["AP"][t] == pytest.approx(ref_pkummd_ap(pred, gt, t), abs=1e-12)
        assert res.extra["mAP_action_official"][t] == pytest.approx(sum(aps.values()) / 51)


# --------------------------------------------------------------------------- properties
@st.composite
def gt_sets(draw: st.DrawFn, min_len: int = 1) -> list[Instance]:
    n = draw(st.integers(1, 12))
    items = draw(st.lists(
        st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.sampled_from([0, 1, "x"]),
                  st.integers(0, 200), st.integers(min_len, 40)),
        min_size=1, max_size=n, unique_by=lambda t: (t[0], t[1], t[2], t[3])))
    return [Instance(v, lab, s, s + ln) for v, lab, s, ln in items]


PROTOS = [("anet", {}), ("frameset", {"frameset_ends": "exact"}), ("pkummd", {})]


@settings(max_examples=40, deadline=None)
@given(gt=gt_sets(min_len=2), seed=st.integers(0, 10**6))
def test_perfect_predictions_score_one(gt: list[Instance], seed: int) -> None:
    scores = random.Random(seed).sample(range(1, 1000), len(gt))
    pred = [Instance(g.video, g.label, g.start, g.end, s / 1000) for g, s in zip(gt, scores)]
    for proto, kw in PROTOS:
        res = detection_map(pred, gt, (0.1, 0.5, 0.9), proto, **kw)
        assert res.average_mAP == pytest.approx(1.0), proto
        if proto == "pkummd":
            assert res.extra["mAP_video"][0.5] == pytest.approx(1.0)


def _shuffle_videos(records: list[Instance], rng: random.Random) -> list[Instance]:
    videos = list(dict.fromkeys(r.video for r in records))
    rng.shuffle(videos)
    return [r for v in videos for r in records if r.video == v]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6))
def test_shuffling_videos_does_not_change_results(seed: int) -> None:
    rng = random.Random(seed)
    pred, gt = random_case(rng, n_videos=4, n_classes=3, n_gt=rng.randrange(1, 12),
                           n_pred=rng.randrange(0, 30))
    for proto, kw in PROTOS + [("frameset", {})]:
        a = detection_map(pred, gt, THRESHOLDS, proto, **kw)
        b = detection_map(_shuffle_videos(pred, rng), _shuffle_videos(gt, rng), THRESHOLDS,
                          proto, **kw)
        assert a.mAP == pytest.approx(b.mAP, abs=1e-12)
        assert a.per_class_ap.keys() == b.per_class_ap.keys()
        for c in a.per_class_ap:
            assert a.per_class_ap[c] == pytest.approx(b.per_class_ap[c], abs=1e-12)
        for key in a.extra:
            assert a.extra[key] == pytest.approx(b.extra[key], abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6), fp_video=st.sampled_from(["vid0", "vid1", "elsewhere"]),
       fp_start=st.integers(0, 80), fp_len=st.integers(1, 30), fp_label=st.sampled_from([0, 1]))
def test_low_score_false_positive_never_raises_ap(seed: int, fp_video: str, fp_start: int,
                                                  fp_len: int, fp_label: int) -> None:
    rng = random.Random(seed)
    pred, gt = random_case(rng, n_videos=2, n_classes=2, n_gt=rng.randrange(1, 10),
                           n_pred=rng.randrange(0, 20))
    low = min((p.score for p in pred), default=1.0) / 2
    # ground truth ends before frame 85: a prediction from frame 300 on overlaps nothing
    extra = Instance(fp_video, fp_label, 300 + fp_start, 300 + fp_start + fp_len, low)
    for proto, kw in PROTOS + [("frameset", {})]:
        before = detection_map(pred, gt, THRESHOLDS, proto, **kw)
        after = detection_map(pred + [extra], gt, THRESHOLDS, proto, **kw)
        for t in THRESHOLDS:
            for c in before.per_class_ap:
                assert after.per_class_ap[c][t] <= before.per_class_ap[c][t] + 1e-12
                if proto != "pkummd":  # VOC AP: a false positive after the last hit is free
                    assert after.per_class_ap[c][t] == pytest.approx(before.per_class_ap[c][t])
            for key in before.extra:
                assert after.extra[key][t] <= before.extra[key][t] + 1e-12


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10**6))
def test_pkummd_low_score_duplicate_never_raises_ap(seed: int) -> None:
    rng = random.Random(seed)
    pred, gt = random_case(rng, n_videos=2, n_classes=2, n_gt=rng.randrange(1, 10),
                           n_pred=rng.randrange(1, 20))
    low = min(p.score for p in pred) / 2
    dup = rng.choice(pred)  # many-to-one: a copy goes to the same ground truth, if any
    extra = Instance(dup.video, dup.label, dup.start, dup.end, low)
    before = detection_map(pred, gt, THRESHOLDS, "pkummd")
    after = detection_map(pred + [extra], gt, THRESHOLDS, "pkummd")
    for t in THRESHOLDS:
        assert after.mAP[t] <= before.mAP[t] + 1e-12
