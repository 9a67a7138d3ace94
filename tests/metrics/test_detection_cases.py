"""Hand-built detection cases on which the three mAP conventions disagree.

Every expected value is worked out by hand in the comments (frames, end exclusive).
"""

from __future__ import annotations

import math

import pytest

from skelloc.errors import ConfigError, EmptyInputError, InputError
from skelloc.metrics import DetectionResult, Instance, detection_map


def G(video: str, label: object, s: float, e: float) -> Instance:
    return Instance(video, label, s, e)


def P(video: str, label: object, s: float, e: float, score: float) -> Instance:
    return Instance(video, label, s, e, score)


def maps(pred, gt, thr, **kw) -> dict[str, float]:
    out = {}
    for name, proto, extra in (("anet", "anet", {}), ("frameset", "frameset", {}),
                               ("frameset_exact", "frameset", {"frameset_ends": "exact"}),
                               ("pkummd", "pkummd", {})):
        out[name] = detection_map(pred, gt, [thr], proto, **extra, **kw).mAP[thr]
    return out


def test_three_protocols_disagree_on_one_case() -> None:
    # One video, one class, theta 0.4.
    #   ground truth g1 [0,100), g2 [40,140), g3 [300,302) (two frames)
    #   predictions  a [0,100) .9, b [10,110) .8, c [300,302) .7
    gt = [G("v", "A", 0, 100), G("v", "A", 40, 140), G("v", "A", 300, 302)]
    pred = [P("v", "A", 0, 100, 0.9), P("v", "A", 10, 110, 0.8), P("v", "A", 300, 302, 0.7)]
    got = maps(pred, gt, 0.4)
    # anet: a->g1 (IoU 1). b: g1 is locked, g2 IoU = 70/130 = .538 >= .4 -> TP.
    #   c->g3 IoU 1. TP TP TP -> AP 1.
    assert got["anet"] == pytest.approx(1.0)
    # frameset, released ends: gt sets range(s, e-1), pred sets range(s, e+1).
    #   a {0..100} vs g1 {0..98}: 99/101 -> TP. b {10..110} vs g2 {40..138}: 71/129 = .55 -> TP.
    #   c {300,301,302} vs g3 {300}: 1/3 < .4 -> FP.  precision 1, 1, 2/3; recall 1/3, 2/3, 2/3.
    #   AP = 1/3 * 1 + 1/3 * 1 = 2/3.
    assert got["frameset"] == pytest.approx(2 / 3)
    # frameset, exact ends: the same sets as anet's intervals -> 1.
    assert got["frameset_exact"] == pytest.approx(1.0)
    # pkummd (1-based inclusive: a (1,100) b (11,110) c (301,302); g1 (1,100) g2 (41,140)
    #   g3 (301,302)): many-to-one, b's best is g1 (89/109 = .82 > 69/129 = .53) so g2 stays
    #   uncovered. covered {g1, g3}: P=2, N=3, G=3 -> p0 = 2/3, r0 = 2/3.
    #   remove c (.7): g3 uncovered, prec 1/2, rec 1/3, max prec 2/3 -> += 2/3 * 1/3 = 2/9
    #   remove b (.8): g1 still covered, prec 1/1, rec 1/3, max prec 1 -> += 0
    #   remove a (.9): nothing left (0, 0)               -> += 1 * 1/3
    #   AP = 2/9 + 1/3 = 5/9.
    assert got["pkummd"] == pytest.approx(5 / 9)


def test_pkummd_extras_on_the_same_case() -> None:
    gt = [G("v", "A", 0, 100), G("v", "A", 40, 140), G("v", "A", 300, 302)]
    pred = [P("v", "A", 0, 100, 0.9), P("v", "A", 10, 110, 0.8), P("v", "A", 300, 302, 0.7)]
    res = detection_map(pred, gt, [0.4], "pkummd")
    # one class, one video: mAP_video = AP (all) = mAP_action = 5/9; official divides by 51
    assert res.extra["mAP_video"][0.4] == pytest.approx(5 / 9)
    assert res.extra["AP"][0.4] == pytest.approx(5 / 9)
    assert res.extra["mAP_action_official"][0.4] == pytest.approx(5 / 9 / 51)
    # F1: 2 covered of 3 GT, 2 positives over 3 proposals -> P = R = 2/3 -> F1 = 2/3
    assert res.extra["F1"][0.4] == pytest.approx(2 / 3)
    assert detection_map(pred, gt, [0.4], "pkummd", num_classes=3).extra[
        "mAP_action_official"][0.4] == pytest.approx(5 / 27)


def test_duplicate_ground_truth() -> None:
    # Two identical ground truths [0,50) and two identical predictions (.9, .8), theta .5.
    gt = [G("v", 1, 0, 50), G("v", 1, 0, 50)]
    pred = [P("v", 1, 0, 50, 0.9), P("v", 1, 0, 50, 0.8)]
    got = maps(pred, gt, 0.5)
    # anet / frameset: one-to-one, .9 takes the first GT, .8 the second -> AP 1.
    assert got["anet"] == pytest.approx(1.0)
    assert got["frameset_exact"] == pytest.approx(1.0)
    assert got["frameset"] == pytest.approx(1.0)  # 49/51 >= .5
    # pkummd: both proposals go to the same (later) GT; P=1, N=2, G=2: p0 = 1/2, r0 = 1/2.
    #   remove .8: GT still covered, prec 1, rec 1/2, max 1 -> += 0
    #   remove .9: (0, 0) -> += 1 * 1/2.  AP = 1/2.
    assert got["pkummd"] == pytest.approx(0.5)


def test_low_score_false_positive_only_hurts_pkummd() -> None:
    # GT [20,40); a perfect prediction (.9) and a false positive elsewhere (.1), theta .5.
    gt = [G("v", 1, 20, 40)]
    pred = [P("v", 1, 20, 40, 0.9), P("v", 1, 100, 120, 0.1)]
    got = maps(pred, gt, 0.5)
    # anet / frameset: TP then FP; recall reaches 1 at precision 1 -> AP 1.
    assert got["anet"] == pytest.approx(1.0)
    assert got["frameset"] == pytest.approx(1.0)  # released: 19/21 >= .5
    # pkummd: p0 = 1/2, r0 = 1. Removing the unmatched .1 recomputes nothing (the script
    #   `continue`s); removing .9 leaves (0, 0): += 1/2 * 1.  AP = 1/2.
    assert got["pkummd"] == pytest.approx(0.5)


def test_duplicate_prediction_is_a_false_positive_for_anet() -> None:
    # GT g1 [0,100), g2 [200,300); preds: x dup of g1 (.9), y = g1 (.8), z = g2 (.7); theta .5.
    gt = [G("v", 1, 0, 100), G("v", 1, 200, 300)]
    pred = [P("v", 1, 0, 100, 0.9), P("v", 1, 0, 100, 0.8), P("v", 1, 200, 300, 0.7)]
    got = maps(pred, gt, 0.5)
    # anet: TP FP TP: precision 1, 1/2, 2/3; recall 1/2, 1/2, 1 -> AP = 1/2 + 1/2 * 2/3 = 5/6.
    assert got["anet"] == pytest.approx(5 / 6)
    # pkummd: all cover; P=2, N=3, G=2: p0 = 2/3, r0 = 1.
    #   remove z (.7): prec 1/2, rec 1/2, max 2/3 -> += 2/3 * 1/2 = 1/3
    #   remove y (.8): g1 still covered by x, prec 1, rec 1/2, max 1 -> += 0
    #   remove x (.9): (0, 0) -> += 1 * 1/2.  AP = 5/6 as well: here duplicates only inflate
    #   the denominator, exactly like a VOC false positive.
    assert got["pkummd"] == pytest.approx(5 / 6)


def test_short_segments_under_released_frame_ends() -> None:
    # A perfect 2-frame detection: released frame sets {300} vs {300, 301, 302} -> IoU 1/3.
    gt = [G("v", 1, 300, 302)]
    pred = [P("v", 1, 300, 302, 0.5)]
    res = detection_map(pred, gt, [0.3, 0.5], "frameset")
    assert res.mAP == {0.3: pytest.approx(1.0), 0.5: 0.0}
    assert detection_map(pred, gt, [0.5], "frameset", frameset_ends="exact").mAP[0.5] == 1.0


def test_zero_length_ground_truth_counts_but_never_matches() -> None:
    # GT g0 [10,10) (zero length), g1 [20,40); preds: p [10,11) (.8), q [20,40) (.9).
    gt = [G("v", 1, 10, 10), G("v", 1, 20, 40)]
    pred = [P("v", 1, 10, 11, 0.8), P("v", 1, 20, 40, 0.9)]
    # anet: q TP, p FP (IoU with g0 = 0/1 = 0); npos = 2 -> AP = 1/2 * 1.
    assert detection_map(pred, gt, [0.5], "anet").mAP[0.5] == pytest.approx(0.5)
    # identical zero-length prediction: union 0 -> IoU 0 -> still unmatched
    same = [P("v", 1, 10, 10, 0.8), P("v", 1, 20, 40, 0.9)]
    assert detection_map(same, gt, [0.5], "anet").mAP[0.5] == pytest.approx(0.5)
    assert detection_map(same, gt, [0.5], "frameset").mAP[0.5] == pytest.approx(0.5)
    # pkummd: q covers g1; P=1, N=2, G=2: p0 = 1/2, r0 = 1/2; p unmatched (skipped);
    #   removing q leaves (0, 0): += 1/2 * 1/2 = 1/4.
    assert detection_map(same, gt, [0.5], "pkummd").mAP[0.5] == pytest.approx(0.25)


def test_absent_predicted_labels_and_videos_without_predictions() -> None:
    # video a: GT 1 [0,10); video b: GT 2 [0,10), no prediction of label 2 anywhere.
    gt = [G("a", 1, 0, 10), G("b", 2, 0, 10)]
    pred = [P("a", 1, 0, 10, 0.9), P("a", "ghost", 50, 60, 0.95), P("zz", 1, 0, 10, 0.3)]
    res = detection_map(pred, gt, [0.5], "anet")
    # class 1: TP (.9), FP (.3, video zz has no GT) -> AP 1; class 2: no predictions -> 0.
    # "ghost" is not a class: mAP = (1 + 0) / 2.
    assert res.per_class_ap == {1: {0.5: pytest.approx(1.0)}, 2: {0.5: 0.0}}
    assert res.mAP[0.5] == pytest.approx(0.5)
    # pkummd, class 1: proposals .9 (covers) and .3 (video zz): p0 = 1/2, r0 = 1; removing .3
    #   (unmatched) is skipped; removing .9 leaves (0, 0): += 1/2 * 1.  AP_1 = 1/2, AP_2 = 0.
    pk = detection_map(pred, gt, [0.5], "pkummd")
    assert pk.per_class_ap == {1: {0.5: pytest.approx(0.5)}, 2: {0.5: 0.0}}
    assert pk.mAP[0.5] == pytest.approx(0.25)


def test_mixed_pkummd_video_average() -> None:
    # mAP_video averages over GT videos; "ghost" counts as a proposal of video a (as in the
    # official script), the prediction in video zz (no GT) is left out of mAP_video.
    gt = [G("a", 1, 0, 10), G("b", 2, 0, 10)]
    pred = [P("a", 1, 0, 10, 0.9), P("a", "ghost", 50, 60, 0.95), P("zz", 1, 0, 10, 0.3)]
    res = detection_map(pred, gt, [0.5], "pkummd")
    # class 1: proposals .9 (covers g_a) and .3 (zz): p0 = 1/2, r0 = 1; remove .3 (skip);
    #   remove .9 -> (0,0): += 1/2.  AP_1 = 1/2; class 2: 0.  mAP_action = 1/4.
    assert res.mAP[0.5] == pytest.approx(0.25)
    # video a: proposals .9 (covers) and ghost .95: p0 = 1/2, r0 = 1; ascending, .9 goes
    #   first: positive 0, N = 1 -> prec 0, rec 0: += 1/2 * 1 -> AP_a = 1/2.
    # video b: no proposals -> 0.  mAP_video = 1/4.
    assert res.extra["mAP_video"][0.5] == pytest.approx(0.25)
    # all pooled: proposals .95 ghost, .9 TP, .3 FP; G = 2, P = 1: p0 = 1/3, r0 = 1/2;
    #   asc .3 (skip), .9: positive 0, N=1 -> prec 0, rec 0 -> += 1/3 * 1/2 = 1/6.
    assert res.extra["AP"][0.5] == pytest.approx(1 / 6)


def test_labels_may_be_ints_or_strings_and_are_distinct() -> None:
    gt = [G("v", 1, 0, 10), G("v", "1", 20, 30)]
    pred = [P("v", 1, 0, 10, 0.9)]
    res = detection_map(pred, gt, [0.5])
    assert res.per_class_ap == {1: {0.5: 1.0}, "1": {0.5: 0.0}}
    assert res.classes == [1, "1"]


def test_records_from_mappings_and_objects() -> None:
    class Rec:
        def __init__(self, **kw: object) -> None:
            self.__dict__.update(kw)

    gt = [{"video": "v", "label": "x", "start": 0, "end": 10}]
    pred = [Rec(video="v", label="x", start=1, end=10, score=0.4)]
    assert detection_map(pred, gt).average_mAP == pytest.approx(1.0)


def test_empty_inputs() -> None:
    gt = [G("v", 1, 0, 10), G("w", 2, 0, 10)]
    res = detection_map([], gt, protocol="anet")
    assert res.mAP == dict.fromkeys((0.1, 0.2, 0.3, 0.4, 0.5), 0.0)
    assert res.average_mAP == 0.0
    pk = detection_map([], gt, protocol="pkummd")
    assert pk.mAP == {0.5: 0.0} and pk.extra["mAP_video"] == {0.5: 0.0}
    with pytest.raises(EmptyInputError):
        detection_map([P("v", 1, 0, 10, 1.0)], [])


def test_bad_inputs_raise_typed_errors() -> None:
    gt = [G("v", 1, 0, 10)]
    with pytest.raises(InputError, match="no score"):
        detection_map([G("v", 1, 0, 10)], gt)
    with pytest.raises(InputError, match="non-finite"):
        detection_map([P("v", 1, 0, 10, math.nan)], gt)
    with pytest.raises(InputError, match="lacks a field"):
        detection_map([object()], gt)
    with pytest.raises(ConfigError, match="unknown protocol"):
        detection_map([], gt, protocol="voc")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"\(0, 1\]"):
        detection_map([], gt, [0.0])
    with pytest.raises(ConfigError, match="smaller"):
        detection_map([], [G("v", 1, 0, 1), G("v", 2, 0, 1)], protocol="pkummd", num_classes=1)


def test_result_table_and_dict() -> None:
    gt = [G("v", "wave", 0, 10)]
    res = detection_map([P("v", "wave", 0, 10, 0.5)], gt, [0.3, 0.5])
    assert isinstance(res, DetectionResult)
    d = res.to_dict()
    assert d["mAP"] == {"0.3": 1.0, "0.5": 1.0} and d["per_class_ap"]["wave"]["0.5"] == 1.0
    table = res.format_table(per_class=True)
    assert "anet" in table and "100.00" in table and "AP wave" in table


def test_tie_breaking_follows_each_script() -> None:
    # GT g1 [0,20), g2 [10,30); p1 [5,25) (.9) is equally close to both; p2 = g2 (.8); theta .5.
    gt = [G("v", 1, 0, 20), G("v", 1, 10, 30)]
    pred = [P("v", 1, 5, 25, 0.9), P("v", 1, 10, 30, 0.8)]
    got = maps(pred, gt, 0.5)
    # anet: IoU(p1, g1) = IoU(p1, g2) = 15/25; ActivityNet's argsort()[::-1] takes the later
    #   GT, g2.  p2 then finds g2 locked and g1 at 10/30 < .5 -> FP.  TP FP -> AP 1/2 * 1 = 1/2.
    assert got["anet"] == pytest.approx(0.5)
    # frameset (exact): the strict ">" keeps the first GT, g1; p2 takes g2.  TP TP -> AP 1.
    assert got["frameset_exact"] == pytest.approx(1.0)
    # pkummd: 1-based p1 (6,25) vs g1 (1,20): 14/24, vs g2 (11,30): 14/24 -> the later GT, g2
    #   (the script's "<" lets the last tie win).  p2 -> g2.  covered {g2}: P=1, N=2, G=2:
    #   p0 = 1/2, r0 = 1/2; remove p2 (.8): g2 still covered, prec 1, rec 1/2 -> += 0;
    #   remove p1: (0, 0) -> += 1 * 1/2.  AP = 1/2.
    assert got["pkummd"] == pytest.approx(0.5)


def test_equal_scores_order() -> None:
    # GT [0,10); a = GT (.5, listed first), b elsewhere (.5, listed second); theta .5.
    gt = [G("v", 1, 0, 10)]
    pred = [P("v", 1, 0, 10, 0.5), P("v", 1, 50, 60, 0.5)]
    got = maps(pred, gt, 0.5)
    # anet visits tied scores in reverse input order: b (FP), a (TP) -> AP = 1 * 1/2.
    assert got["anet"] == pytest.approx(0.5)
    # frameset keeps input order: a (TP), b (FP) -> AP 1.
    assert got["frameset_exact"] == pytest.approx(1.0)
    # pkummd removes tied confidences in input order: a first -> (0 covered)/1: += 1/2 * 1.
    assert got["pkummd"] == pytest.approx(0.5)


def test_instances_from_localisation_segments() -> None:
    from skelloc.inference.segments import Segment

    seg = Segment("wave", 3, 10, 40, 10 / 30, 40 / 30, 0.8)
    inst = Instance.from_segment(seg, "v")
    assert inst == Instance("v", "wave", 10, 40, 0.8)
    assert Instance.from_segment(seg, "v", use_label_id=True).label == 3
    assert detection_map([inst], [G("v", "wave", 10, 40)], [0.5], "frameset",
                         frameset_ends="exact").mAP[0.5] == 1.0
