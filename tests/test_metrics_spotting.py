"""Spotting metrics against hand-worked cases (ME-TST Sec. III-A; reference matcher and STRS)."""

import pytest

from melib.metrics.spotting import analysis_scores, iou, match, pool_matches, recognition_scores, strs


def test_iou_uses_inclusive_ranges():
    # [0, 9] has 10 frames, [0, 4] has 5: inclusive IoU 5/10; an exclusive-range IoU would give 4/9
    assert iou((0, 9), (0, 4)) == pytest.approx(0.5)
    assert iou((0, 9), (5, 14)) == pytest.approx(5 / 15)
    assert iou((3, 3), (3, 3)) == 1.0
    assert iou((0, 4), (5, 9)) == 0.0


def test_iou_edge_exactly_half_is_a_true_positive():
    m = match([(0, 9)], [(0, 4)])
    assert (m.tp, m.fp, m.fn) == (1, 0, 0)
    m = match([(0, 10)], [(0, 4)])  # 5/11 < 0.5
    assert (m.tp, m.fp, m.fn) == (0, 1, 1)


def test_two_predictions_on_one_ground_truth_count_once():
    m = match([(11, 20), (10, 19)], [(10, 19)])
    assert (m.tp, m.fp, m.fn) == (1, 1, 0)
    assert m.pairs == [(0, 0)]  # prediction order decides, not the better IoU of the second


def test_greedy_uses_each_predictions_best_ground_truth_only():
    # prediction 1's best GT (0) is taken by prediction 0; its second-best GT (1, IoU 0.5) is not tried
    m = match([(0, 9), (0, 11)], [(0, 9), (6, 11)])
    assert (m.tp, m.fp, m.fn) == (1, 1, 1)


def test_empty_predictions_and_empty_ground_truth():
    m = match([], [(0, 9), (20, 29)])
    assert (m.tp, m.fp, m.fn) == (0, 0, 2)
    assert pool_matches([m])["f1"] == 0.0
    m = match([(0, 9)], [])
    assert (m.tp, m.fp, m.fn) == (0, 1, 0)


def test_pooled_counts_and_scores():
    s = pool_matches([match([(0, 9), (50, 59)], [(0, 9)]), match([], [(0, 9)])])
    assert (s["tp"], s["fp"], s["fn"]) == (1, 1, 1)
    assert s["precision"] == pytest.approx(0.5) and s["recall"] == pytest.approx(0.5)
    assert s["f1"] == pytest.approx(0.5)


def test_recognition_mean_p_mean_r_f1_hand_worked():
    # class 0: TP1 FP1 FN0 -> P .5, R 1, F1 2/3; class 1: TP0 FP0 FN1 -> P 0 (undefined), R 0, F1 0;
    # classes 2, 3 absent everywhere -> left out of every mean
    r = recognition_scores([0, 1], [0, 0], 4)
    assert r["precision"] == pytest.approx(0.25) and r["recall"] == pytest.approx(0.5)
    assert r["f1"] == pytest.approx(2 * 0.25 * 0.5 / 0.75)
    assert r["uf1"] == pytest.approx(1 / 3) and r["uar"] == pytest.approx(0.5)


def test_strs_over_correctly_spotted_intervals_only():
    gts = [[(0, 9), (20, 29)], [(0, 9), (30, 39)]]
    gl = [[0, 1], [2, 2]]
    preds = [[(0, 9), (20, 29), (50, 59), (70, 79)], []]
    pl = [[0, 0, 2, 2], []]  # the unmatched predictions' labels must not enter recognition
    ms = [match(p, g) for p, g in zip(preds, gts)]
    a = analysis_scores(ms, pl, gl, n_classes=4)
    assert (a["spot_tp"], a["spot_fp"], a["spot_fn"]) == (2, 2, 2)
    assert a["spot_f1"] == pytest.approx(0.5)
    assert a["recog_f1"] == pytest.approx(1 / 3)
    assert a["strs"] == pytest.approx(1 / 6) == strs(0.5, 1 / 3)


def test_samm_lv_drops_true_others_and_scores_three_classes():
    ms = [match([(0, 9), (20, 29), (40, 49)], [(0, 9), (20, 29), (40, 49)])]
    # true others (3) removed; a predicted "others" on a true negative is simply wrong
    a = analysis_scores(ms, [[0, 3, 3]], [[0, 0, 3]], n_classes=4, drop_class=3)
    assert a["recog_n"] == 2
    # class 0: TP1 FP0 FN1 -> P 1, R .5; classes 1, 2 absent -> mean P 1, mean R .5
    assert a["recog_precision"] == pytest.approx(1.0) and a["recog_recall"] == pytest.approx(0.5)


def test_bad_interval_is_a_clear_error():
    with pytest.raises(ValueError, match="prediction 0: offset 3 is before onset 5"):
        match([(5, 3)], [(0, 9)])
