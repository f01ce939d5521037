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


def test_iou_tie_takes_the_first_truth_melibs_rule():
    # prediction 0 has IoU 10/15 with both truths; melib takes the first, which leaves truth 1 to
    # prediction 1 (2 TP). Taking the last tied truth instead would give TP 1, FP 1, FN 1.
    m = match([(5, 14), (5, 19)], [(0, 14), (5, 19)])
    assert iou((5, 14), (0, 14)) == iou((5, 14), (5, 19))
    assert m.pairs == [(0, 0), (1, 1)] and (m.tp, m.fp, m.fn) == (2, 0, 0)


def test_veto_after_matching_turns_the_vetoed_tp_into_a_fn():
    from melib.metrics.spotting import apply_veto

    m = match([(19, 25), (26, 32)], [(19, 32)])  # issue 11 M2: both IoU 0.5, the first takes the truth
    assert (m.tp, m.fp, m.fn) == (1, 1, 0)
    v = apply_veto(m, [True, False])
    assert (v.tp, v.fp, v.fn) == (0, 1, 1) and v.pairs == []
    v = apply_veto(m, [False, True])  # a vetoed FP simply disappears
    assert (v.tp, v.fp, v.fn) == (1, 0, 0)
    with pytest.raises(ValueError, match="2 matched predictions"):
        apply_veto(m, [True])


def test_megc_one_prediction_may_take_several_truths():
    from melib.metrics.spotting import match_megc

    preds, gts = [(0, 20)], [(0, 14), (5, 20)]  # IoU 15/21 and 16/21
    m = match_megc(preds, gts)
    assert (m.tp, m.fp, m.fn) == (2, 0, 0) and m.pairs == [(0, 0), (0, 1)]
    m = match_megc(preds, gts, multi_match=False)  # the first truth over the threshold only
    assert (m.tp, m.fp, m.fn) == (1, 0, 1) and m.pairs == [(0, 0)]
    m = match(preds, gts)  # ME-TST: the best truth only
    assert (m.tp, m.fp, m.fn) == (1, 0, 1) and m.pairs == [(0, 1)]


def _vid(subject, preds, labels, gt, gt_labels):
    return {"subject": subject, "intervals": preds, "labels": labels, "gt": gt, "gt_labels": gt_labels}


def test_megc_skips_unannotated_videos_and_unpredicted_subjects():
    from melib.metrics.spotting import megc_scores

    videos = [_vid("A", [(0, 9)], [0], [(0, 9)], [0]),
              _vid("A", [(50, 59)], [0], [], []),  # predictions in a video without truth: never counted
              _vid("B", [], [], [(0, 9)], [0])]  # a subject without predictions: its truth never counted
    r = megc_scores(videos)
    assert (r["spot_tp"], r["spot_fp"], r["spot_fn"]) == (1, 0, 0)
    r = megc_scores(videos, skips=False)
    assert (r["spot_tp"], r["spot_fp"], r["spot_fn"]) == (1, 1, 1)


def test_megc_analysis_uar_is_mean_precision_and_empty_classes_count_zero():
    from melib.metrics.spotting import megc_scores

    gts = [(0, 9), (20, 29), (40, 49), (60, 69)]
    v = [_vid("s", gts, [0, 0, 1, 1], gts, [0, 0, 0, 1])]
    # class 0: TP 2 FP 0 FN 1 -> P 1, R 2/3, F1 .8; class 1: TP 1 FP 1 -> P .5, R 1, F1 2/3;
    # class 2: no sample and no prediction -> 0, 0, 0 (and it enters the means)
    r = megc_scores(v, classes=[0, 1, 2])
    assert r["recog_precision"] == pytest.approx(0.5) and r["recog_recall"] == pytest.approx(5 / 9)
    assert r["recog_uar"] == pytest.approx(0.5)  # "UAR" = mean precision
    assert r["recog_f1"] == pytest.approx(10 / 19) and r["recog_uf1"] == pytest.approx(22 / 45)
    assert r["strs"] == pytest.approx(1.0 * 10 / 19)
    assert megc_scores(v, classes=[0, 1, 2], uar_is_precision=False)["recog_uar"] == pytest.approx(5 / 9)
    metst = recognition_scores([0, 0, 0, 1], [0, 0, 1, 1], 3)  # ME-TST leaves class 2 out
    assert metst["precision"] == pytest.approx(0.75) and metst["uar"] == pytest.approx(5 / 6)
    # every TP of one class, truly and predicted: the evaluator's one-class confusion matrix scores it 0
    same = [_vid("s", [(0, 9), (20, 29)], [0, 0], [(0, 9), (20, 29)], [0, 0])]
    assert megc_scores(same)["recog_f1"] == 0.0 and megc_scores(same)["strs"] == 0.0
    assert recognition_scores([0, 0], [0, 0], 1)["f1"] == pytest.approx(1.0)


def test_evaluate_folds_megc_protocol_and_bad_protocol():
    import numpy as np

    from melib.metrics.spotting import evaluate_folds

    n = 60
    x = np.zeros(n)
    x[20:31] = 1.0  # one peak at 25 -> [20, 30] with k_p = 5
    logits = np.zeros((n, 5))
    logits[:, 1] = 5.0
    pred = {"scores_video": x, "logits_video": logits, "lengths": np.array([n]), "names": np.array(["s1/v1"]),
            "k": np.array(10), "batch": np.array(4), "win_counts": np.array([0]),
            "gt": np.array([[20, 30], [22, 31]]), "gt_labels": np.array([1, 2]), "gt_counts": np.array([2]),
            "k_p": np.array(5), "k_p_all": np.array(5)}
    metst = evaluate_folds([pred], 2, "video")
    megc = evaluate_folds([pred], 2, "video", protocol="megc")
    assert (metst["spot_tp"], metst["spot_fp"], metst["spot_fn"]) == (1, 0, 1)
    assert (megc["spot_tp"], megc["spot_fp"], megc["spot_fn"]) == (2, 0, 0)  # one interval, two truths
    assert megc["recog_n"] == 2 and metst["recog_n"] == 1
    one = evaluate_folds([pred], 2, "video", protocol="megc", megc={"multi_match": False})
    assert (one["spot_tp"], one["spot_fn"]) == (1, 1)
    with pytest.raises(ValueError, match="protocol"):
        evaluate_folds([pred], 2, "video", protocol="megc2023")


def _one_video_fold(subject, peak_at, gt, label=1, n=60):
    import numpy as np

    x = np.zeros(n)
    x[peak_at - 5:peak_at + 6] = 1.0  # one peak -> [peak - 5, peak + 5] with k_p = 5
    logits = np.zeros((n, 5))
    logits[:, label] = 5.0
    return {"scores_video": x, "logits_video": logits, "lengths": np.array([n]), "names": np.array([f"{subject}/v1"]),
            "k": np.array(10), "batch": np.array(4), "win_counts": np.array([0]), "gt": np.array([gt]),
            "gt_labels": np.array([1]), "gt_counts": np.array([1]), "k_p": np.array(5), "k_p_all": np.array(5)}


def test_evaluate_folds_intervals_bootstrap_over_subjects():
    from melib.metrics.spotting import evaluate_folds, evaluate_folds_intervals

    hits = [_one_video_fold(f"s{i}", 25, [20, 30]) for i in range(4)]  # spotted exactly
    misses = [_one_video_fold(f"m{i}", 45, [10, 16]) for i in range(4)]  # a FP and a FN each
    folds = hits + misses
    iv = evaluate_folds_intervals(folds, n_resamples=500, source="video")
    point = evaluate_folds(folds, 2, "video")
    assert iv["scores"] == point and iv["spot_f1"].estimate == point["spot_f1"] == 0.5
    assert iv["spot_f1"].n == 8 and iv["spot_f1"].low < 0.5 < iv["spot_f1"].high
    # every subject spotted perfectly: nothing varies between resamples
    perfect = evaluate_folds_intervals(hits, keys=("spot_f1",), n_resamples=200, source="video")["spot_f1"]
    assert (perfect.low, perfect.estimate, perfect.high) == (1.0, 1.0, 1.0)


def test_paired_difference_of_two_post_processings_on_the_same_videos():
    from melib.metrics.spotting import evaluate_folds, paired_difference_intervals

    folds = [_one_video_fold(f"s{i}", 25, [20, 30]) for i in range(3)] + [_one_video_fold("m", 45, [10, 16])]
    same = paired_difference_intervals(folds, folds, {"source": "video"}, {"source": "video"}, n_resamples=200)
    assert all((d.estimate, d.low, d.high) == (0.0, 0.0, 0.0) for d in same.values())
    looser = paired_difference_intervals(folds, folds, {"source": "video", "p": 0.0}, {"source": "video"},
                                         keys=("spot_f1",), n_resamples=200)["spot_f1"]
    a = evaluate_folds(folds, 2, "video", p=0.0)["spot_f1"]
    b = evaluate_folds(folds, 2, "video")["spot_f1"]
    assert looser.estimate == a - b
