"""ME-TST windows, targets, sampling, augmentation (me-tst-reference.md "Training")."""

import numpy as np
import pytest

from melib.data.windows import (
    NEUTRAL,
    augment,
    cut_targets,
    cut_windows,
    emotion_class,
    frame_targets,
    n_skipped,
    sample_windows,
    settings,
    window_starts,
)


def test_window_starts_half_overlap_and_count():
    s = window_starts(130, 50)
    assert s.tolist() == [0, 25, 50, 75]  # 130 // 25 - 1 = 4 windows
    assert window_starts(40, 50).size == 0


def test_targets_inner_frames_after_skip():
    spot, recog = frame_targets(20, [(3, 8)], [2])
    assert np.flatnonzero(spot).tolist() == [4, 5, 6, 7]
    assert recog[4] == 2 and recog[3] == NEUTRAL and recog[8] == NEUTRAL
    # SAMM-LV skip 7: indices 14..63 -> 2..9 -> ME frames 3..8
    spot, _ = frame_targets(n_skipped(100, 7), [(14, 63)], [0], skip=7)
    assert np.flatnonzero(spot).tolist() == [3, 4, 5, 6, 7, 8]
    assert n_skipped(100, 7) == 15 and settings("samm_lv").k == 30 and settings("casme3").ratio == 4


def test_cut_windows_relative_to_first_frame():
    seq = np.cumsum(np.ones((10, 60), np.float32), axis=1)  # (10, 60)
    w = cut_windows(seq, window_starts(60, 20), 20)
    assert w.shape == (5, 10, 20)
    assert np.all(w[:, :, 0] == 0) and np.allclose(w[:, :, 5], 5)
    t = cut_targets(np.arange(60), window_starts(60, 20), 20)
    assert t[2, 0] == 20 and t.shape == (5, 20)


def test_sampling_keeps_all_positives_and_ratio_of_negatives():
    spot = np.zeros((40, 10))
    spot[[3, 7, 20, 31], 4] = 1
    idx = sample_windows(spot, 2.0, np.random.default_rng(0))
    assert set([3, 7, 20, 31]) <= set(idx.tolist()) and len(idx) == 4 + 8
    assert len(sample_windows(spot, 0.5, np.random.default_rng(0))) == 6
    # 36 negatives, 40 wanted: the authors' downSampling keeps all of them but 2 (spare=0: all)
    assert len(sample_windows(spot, 10.0, np.random.default_rng(0))) == 4 + 34
    assert len(sample_windows(spot, 10.0, np.random.default_rng(0), spare=0)) == 4 + 36


def test_augment_scales_each_sample_by_90_to_110_percent():
    x = np.ones((500, 10, 5), np.float32)
    y = augment(x, np.random.default_rng(0))
    s = y[:, 0, 0]
    assert np.all((s >= 0.9 - 1e-6) & (s <= 1.1 + 1e-6)) and np.allclose(y, s[:, None, None])
    assert np.allclose(np.round(s * 100), s * 100, atol=1e-4) and len(np.unique(np.round(s, 2))) > 15


def test_emotion_map_and_error():
    assert [emotion_class(e) for e in ("Happy", "sad", "Contempt", "surprise", "Other")] == [1, 0, 0, 2, 3]
    with pytest.raises(ValueError, match="row 7: emotion 'joy'"):
        emotion_class("joy", where="row 7")
