"""ME-TST training and windowed inference read each window's own features (VideoSeq.windows, computed
from the window's first frame), not windows re-cut from the chained whole-video sequence."""

import numpy as np
import pytest
import torch

from melib.data.windows import cut_windows, window_starts
from melib.train.metst import VideoSeq, predict_windows, sampled_starts, training_windows

K = 10


def _video(n=42):
    rng = np.random.default_rng(0)
    seq = np.cumsum(rng.normal(size=(10, n)), 1).astype(np.float32)  # (10, n) chained sequence
    starts = [*window_starts(n, K), n - K]
    own = rng.normal(size=(len(starts), 10, K)).astype(np.float32)  # (n_w + 1, 10, k): differ from seq's
    own[:, :, 0] = 0
    return VideoSeq("s", "v", seq, np.array([[12, 18]]), np.array([1]), own), starts


def test_training_windows_are_the_own_windows():
    v, starts = _video()
    X, S, _ = training_windows([v], K, ratio=10.0, rng=np.random.default_rng(0))
    keep = sampled_starts([v], K, 10.0, np.random.default_rng(0))[0]
    assert len(X) == len(keep) >= 3
    assert np.array_equal(X, v.windows[keep // (K // 2)])  # the own rows, not cut_windows(v.seq, ...)
    assert not np.allclose(X, cut_windows(v.seq, keep, K))
    assert np.array_equal(v.window_x(np.array([42 - K]), K), v.windows[-1:])  # the last window's own row
    with pytest.raises(ValueError, match="no own features for windows starting at \\[3\\]"):
        v.window_x(np.array([3]), K)
    bare = VideoSeq("s", "v", v.seq, v.intervals, v.labels)  # no own windows: cut from the sequence
    assert np.array_equal(bare.window_x(np.array([5]), K), cut_windows(v.seq, np.array([5]), K))


def test_predict_windows_reads_the_own_windows():
    v, starts = _video()
    seen = []

    def model(x):  # records its input; spot (b, k), logits (b, k, 5)
        seen.append(x.numpy().copy())
        return torch.zeros(x.shape[0], K), torch.zeros(x.shape[0], K, 5)

    model.to = lambda device: model
    model.eval = lambda: model
    spot, _ = predict_windows(model, v.seq, K, 4, torch.device("cpu"), windows=v.windows)
    assert spot.shape == (len(starts), K) and np.array_equal(np.concatenate(seen), v.windows)
    with pytest.raises(ValueError, match="window feature rows"):
        predict_windows(model, v.seq, K, 4, torch.device("cpu"), windows=v.windows[:-1])
