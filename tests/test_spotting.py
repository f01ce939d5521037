"""Post-processing, stitching and synergy strategies (ME-TST Sec. II-A and II-C)."""

import numpy as np
import pytest

from melib.data.windows import frame_targets, window_starts
from melib.metrics.spotting import match, pool_matches
from melib.spotting import analyse, interval_labels, peak_half_width, smooth, spot_intervals, stitch

GTS = [(100, 129), (300, 329), (450, 479)]


def _perfect_video(T=600, gts=GTS):
    spot, _ = frame_targets(T, gts, [0] * len(gts))
    return spot


def test_k_p_is_half_the_mean_length():
    assert peak_half_width(GTS) == int((29 + 1) / 2) == 15
    assert peak_half_width([(0, 10), (0, 20)]) == 8  # int((15 + 1) / 2)


def test_smooth_is_a_box_of_width_2kp():
    x = np.zeros(50)
    x[25] = 1.0
    y = smooth(x, 5)
    assert y.sum() == pytest.approx(1.0) and np.count_nonzero(y) == 10 and y.max() == pytest.approx(0.1)


def test_perfect_score_curve_gives_spotting_f1_one():
    spot = _perfect_video()
    iv, peaks = spot_intervals(spot, peak_half_width(GTS))
    assert len(iv) == 3
    s = pool_matches([match(iv, GTS)])
    assert s["f1"] == pytest.approx(1.0)


def test_no_peak_gives_empty_prediction_or_reference_dummy():
    iv, _ = spot_intervals(np.zeros(100), 5)
    assert iv.shape == (0, 2)
    iv, _ = spot_intervals(np.zeros(100), 5, reference=True)
    assert iv.tolist() == [[0, 0]]
    assert match(iv, [(40, 50)]).fp == 1  # the dummy costs a false positive


def test_intervals_clipped_to_video_unless_reference():
    x = np.zeros(60)
    x[:6] = 1.0
    iv, _ = spot_intervals(x, 5)
    assert iv.min() >= 0
    iv_ref, _ = spot_intervals(x, 5, reference=True)
    assert iv_ref.min() < 0


def test_interval_label_is_the_mode_inside():
    labels = np.array([4, 4, 1, 1, 2, 2, 2, 4, 4, 4])
    # inside [1, 9] are frames 2..7: 1, 1, 2, 2, 2, 4 -> 2 (the trailing neutral frames are outside)
    assert interval_labels(labels, [(1, 9)]).tolist() == [2]


def _logits(T, gts, per_gt):
    """Logits (T, 5): neutral wins outside; inside GT g the class per_gt[g] wins, class 2 second."""
    z = np.zeros((T, 5))
    z[:, 4] = 3.0
    for (on, off), c in zip(gts, per_gt):
        z[on:off + 1] = 0.0
        z[on:off + 1, 2] = 1.0
        z[on:off + 1, c] = 3.0
    return z


def test_strategy_1_drops_neutral_intervals_and_their_tps_become_fns():
    spot = _perfect_video()
    logits = _logits(600, GTS, [0, 4, 1])  # the second ME looks neutral to the recognition head
    k_p = peak_half_width(GTS)
    s2 = analyse(spot, logits, k_p, strategy=2)
    s1 = analyse(spot, logits, k_p, strategy=1)
    assert s2.labels.tolist() == [0, 2, 1]  # strategy 2: best non-neutral emotion
    assert s1.labels.tolist() == [0, 1] and len(s1.dropped) == 1
    m2, m1 = match(s2.intervals, GTS), match(s1.intervals, GTS)
    assert (m2.tp, m2.fn) == (3, 0)
    assert (m1.tp, m1.fp, m1.fn) == (2, 0, 1)


def test_strategy_0_ignores_the_untrained_neutral_logit():
    logits = _logits(600, GTS, [4, 4, 4])
    s0 = analyse(_perfect_video(), logits, 15, strategy=0)
    assert s0.labels.tolist() == [2, 2, 2]
    with pytest.raises(ValueError, match="strategy"):
        analyse(_perfect_video(), logits, 15, strategy=3)


@pytest.mark.parametrize("n", [137, 150, 51, 400])
def test_stitcher_writes_every_frame(n):
    k = 30
    starts = window_starts(n, k)
    values = (starts[:, None] + np.arange(k)[None, :]).astype(float) + 1.0  # frame index + 1
    tail = np.arange(n - k, n) + 1.0
    out = stitch(values, starts, n, tail=tail)
    assert np.array_equal(out, np.arange(n) + 1.0)
    out = stitch(values, starts, n)  # no tail window: the last written value is carried
    assert np.all(out > 0)


def test_stitcher_reference_batch_quirk_leaves_first_half_zero():
    n, k = 150, 30
    starts = window_starts(n, k)
    values = np.ones((len(starts), k))
    out = stitch(values, starts, n, reference=True, batch_offset=3, batch_size=4)
    assert np.all(out[:15] == 0) and np.all(out[15:135] == 1)
    out = stitch(values, starts, n, reference=True, batch_offset=8, batch_size=4)
    assert np.all(out[:135] == 1)


def test_stitcher_keeps_channels():
    starts = window_starts(100, 20)
    v = np.random.default_rng(0).normal(size=(len(starts), 20, 5))
    out = stitch(v, starts, 100, tail=v[-1])
    assert out.shape == (100, 5)
    assert np.allclose(out[:20], v[0]) and np.allclose(out[30:40], v[2, 10:])


def _fold_pred(scores_per_video, k=20, batch=4):
    """A predictions.npz-like dict whose window outputs are cut from given per-frame score curves."""
    win, counts, lengths = [], [], []
    for s in scores_per_video:
        n = len(s)
        starts = np.concatenate([window_starts(n, k), [n - k]])
        win.append(np.stack([s[a:a + k] for a in starts]))
        counts.append(len(starts) - 1)
        lengths.append(n)
    w = np.concatenate(win).astype(np.float32)
    logits = np.zeros(w.shape + (5,), np.float32)
    return {"win_spot": w, "win_logits": logits, "win_counts": np.array(counts), "lengths": np.array(lengths),
            "names": np.array([f"s/v{i}" for i in range(len(lengths))]), "k": np.array(k),
            "batch": np.array(batch), "gt": np.array([[40, 59], [40, 59]]), "gt_labels": np.array([0, 0]),
            "gt_counts": np.array([1, 1]), "k_p": np.array(10), "k_p_all": np.array(3),
            "scores_video": np.concatenate(scores_per_video).astype(np.float32),
            "logits_video": np.zeros((sum(lengths), 5), np.float32)}


def test_fold_evaluation_fixed_vs_reference_quirks():
    from melib.metrics.spotting import evaluate_folds
    from melib.spotting import fold_videos

    good = np.zeros(150)
    good[41:59] = 1.0  # a perfect curve for the ME [40, 59]
    pred = _fold_pred([good, np.zeros(150)])
    fixed = evaluate_folds([pred])
    assert (fixed["spot_tp"], fixed["spot_fp"], fixed["spot_fn"]) == (1, 0, 1)
    ref = evaluate_folds([pred], reference=True, source="reference")
    # the flat video gets the dummy [0, 0] (one more FP); k_p_all = 3 gives a 7-frame interval: IoU < 0.5
    assert (ref["spot_tp"], ref["spot_fp"], ref["spot_fn"]) == (0, 2, 2)
    stitched = fold_videos(pred, "fixed")
    assert all(np.array_equal(v["scores"], s) for v, s in zip(stitched, [good, np.zeros(150)]))
    half = _fold_pred([good, np.full(150, 0.5)])  # video 2's first window is window 14 of the fold
    assert np.all(fold_videos(half, "fixed")[1]["scores"] == 0.5)
    ref2 = fold_videos(half, "reference")[1]["scores"]  # 14 % batch 4 != 0: its first half stays 0
    assert np.all(ref2[:10] == 0) and np.all(ref2[10:140] == 0.5)


def test_reference_stitcher_is_the_authors_test_loop():
    # k = 10 (h = 5), 53 frames -> 9 windows; window w's values are w + 1; the video's first window sits at
    # loader position 2 with batches of 4, so windows 2 and 6 open a batch and write all 10 frames
    n, k = 53, 10
    starts = window_starts(n, k)
    values = np.repeat(np.arange(1.0, 10.0)[:, None], k, axis=1)  # (9, 10)
    out = stitch(values, starts, n, reference=True, batch_offset=2, batch_size=4)
    authors = [0] * 5 + [1] * 5 + [3] * 10 + [4] * 5 + [5] * 5 + [7] * 10 + [8] * 5 + [9] * 5
    assert out.tolist() == authors  # (n_w + 1) * k // 2 = 50 frames, not 53; 2 and 6 overwrite 1 and 5
    fixed = stitch(values, starts, n, tail=np.full(k, 10.0))
    assert len(fixed) == 53 and fixed[10:15].tolist() == [2] * 5 and fixed[50:].tolist() == [10] * 3
    with pytest.raises(ValueError, match="even window length"):
        stitch(np.ones((3, 9)), np.array([0, 4, 8]), 20, reference=True)


def test_reference_strategy_0_takes_the_argmax_over_all_five_classes():
    from melib.spotting import frame_labels

    z = np.zeros((4, 5))
    z[:, 4], z[:, 2] = 3.0, 1.0  # the (untrained) neutral logit is the largest
    assert frame_labels(z, 0).tolist() == [2] * 4
    assert frame_labels(z, 0, reference=True).tolist() == [4] * 4
    assert frame_labels(z, 2, reference=True).tolist() == [2] * 4  # strategy 2 skips neutral in both


def _video_pred(scores, logits, gt, gt_labels, k_p):
    """A predictions.npz-like dict of one video scored from whole-video curves (source="video")."""
    n = len(scores)
    return {"scores_video": np.asarray(scores, np.float32), "logits_video": np.asarray(logits, np.float32),
            "lengths": np.array([n]), "names": np.array(["s1/v1"]), "k": np.array(10), "batch": np.array(4),
            "win_counts": np.array([0]), "gt": np.array(gt).reshape(-1, 2), "gt_labels": np.array(gt_labels),
            "gt_counts": np.array([len(gt)]), "k_p": np.array(k_p), "k_p_all": np.array(k_p)}


def test_reference_interval_label_clamps_the_onset_first():
    # issue 11 M1: T = 30, k_p = 4, peak at frame 2 -> [-2, 6]; frame labels 1, 1, 2, 2, 0, ...
    labels = np.array([1, 1, 2, 2, 0] + [0] * 25)
    assert interval_labels(labels, [(-2, 6)]).tolist() == [2]  # votes over frames 1..4, not 0..4
    x = np.zeros(30)
    x[:5] = 1.0
    logits = np.zeros((30, 5))
    logits[np.arange(30), labels] = 5.0
    res = analyse(x, logits, 4, strategy=2, reference=True)
    assert res.intervals.tolist() == [[-2, 6]] and res.labels.tolist() == [2]


def _m2_case():
    """Issue 11 M2: k_p = 3, peaks at 22 and 29 -> [19, 25], [26, 32]; truth [19, 32]; frames up to 25
    look neutral, so strategy 1 vetoes the first interval."""
    x = np.zeros(40)
    x[21:24] = x[28:31] = 1.0
    logits = np.zeros((40, 5))
    logits[:26, 4] = logits[26:, 0] = 5.0
    return _video_pred(x, logits, [(19, 32)], [0], 3)


def test_strategy_1_veto_order_default_and_reference():
    from melib.metrics.spotting import evaluate_folds, spotted_videos

    pred = _m2_case()
    s = spotted_videos([pred], 1, "video", reference=True)[0]["spotted"]
    assert s.intervals.tolist() == [[19, 25], [26, 32]] and s.vetoed.tolist() == [True, False]
    counts = lambda r: (r["spot_tp"], r["spot_fp"], r["spot_fn"])  # noqa: E731
    assert counts(evaluate_folds([pred], 1, "video")) == (1, 0, 0)  # vetoed before matching
    assert counts(evaluate_folds([pred], 1, "video", reference=True)) == (0, 1, 1)  # the authors' order
    assert counts(evaluate_folds([pred], 1, "video", veto="after")) == (0, 1, 1)
    assert counts(evaluate_folds([pred], 1, "video", reference=True, veto="before")) == (1, 0, 0)
    assert counts(evaluate_folds([pred], 2, "video", reference=True)) == (1, 1, 0)  # no veto at all
    with pytest.raises(ValueError, match="veto"):
        evaluate_folds([pred], 1, "video", veto="never")


def test_reference_strategy_0_neutral_label_is_a_wrong_emotion():
    from melib.metrics.spotting import evaluate_folds

    pred = _m2_case()  # the second interval is a TP; under strategy 0 it takes labels from frames 27..30
    pred["logits_video"][:, 4] = 9.0  # the untrained neutral logit wins everywhere
    fixed = evaluate_folds([pred], 0, "video")
    ref = evaluate_folds([pred], 0, "video", reference=True)
    assert fixed["spot_tp"] == ref["spot_tp"] == 1
    assert fixed["recog_f1"] == pytest.approx(1.0) and ref["recog_f1"] == 0.0  # neutral is right for no class


def _authors_test_loop(win_values, n_windows, k, batch):
    """The authors' stitching loop as me-tst-reference.md describes it: the fold's windows in order, in
    batches; the item at batch position 0 writes all k frames at w*k//2, every other item its second half;
    a video's curve has (n_w + 1) * k // 2 frames and starts at zero."""
    curves = [np.zeros((n + 1) * k // 2) for n in n_windows]
    owner = np.repeat(np.arange(len(n_windows)), n_windows)
    local = np.concatenate([np.arange(n) for n in n_windows])
    for pos, (vid, w) in enumerate(zip(owner, local)):
        if pos % batch == 0:
            curves[vid][w * k // 2:(w + 2) * k // 2] = win_values[pos]
        else:
            curves[vid][(w + 1) * k // 2:(w + 2) * k // 2] = win_values[pos][k // 2:]
    return curves


def test_reference_fold_stitching_matches_the_authors_loop_across_videos():
    from melib.spotting import fold_videos

    rng = np.random.default_rng(1)
    k, batch, n_windows = 6, 4, [4, 7, 1, 5]
    lengths = [(n + 1) * (k // 2) + extra for n, extra in zip(n_windows, [0, 2, 1, 2])]
    assert [len(window_starts(n, k)) for n in lengths] == n_windows
    win = rng.random((sum(n_windows), k))  # every window its own values, so any overwrite shows
    tails = rng.random((len(n_windows), k))
    rows = np.concatenate([np.vstack([win[a:a + n], t]) for a, n, t in
                           zip(np.cumsum([0] + n_windows[:-1]), n_windows, tails)])
    pred = {"win_spot": rows, "win_logits": np.repeat(rows[..., None], 5, -1), "win_counts": np.array(n_windows),
            "lengths": np.array(lengths), "names": np.array([f"s/v{i}" for i in range(4)]), "k": np.array(k),
            "batch": np.array(batch), "gt": np.zeros((0, 2), int), "gt_labels": np.zeros(0, int),
            "gt_counts": np.zeros(4, int)}
    authors = _authors_test_loop(win, n_windows, k, batch)
    ours = fold_videos(pred, "reference")
    for a, o in zip(authors, ours):
        assert np.array_equal(o["scores"], a) and np.array_equal(o["logits"][:, 0], a)
