"""ME-TST loss, class weights and a tiny LOSO run end to end (me-tst-reference.md "Training")."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from melib.data.windows import WindowSettings
from melib.metrics.spotting import evaluate_folds
from melib.spotting import fold_videos
from melib.train.loso import run_loso
from melib.train.metst import (
    VideoSeq,
    class_weights,
    fold_trainer,
    metst_loss,
    recognition_ce,
    sampled_starts,
    training_windows,
)


def test_balanced_class_weights_with_neutral_factor():
    r = np.array([0, 0, 4, 4, 4, 4])
    w = class_weights(r, 5)
    # N / (K N_c) over the 2 present classes: 6/(2*2) = 1.5 and 6/(2*4) = 0.75, neutral then x6
    assert np.allclose(w, [1.5, 0, 0, 0, 4.5])
    assert class_weights(r, 5, neutral_trained=False)[4] == 0.0


def test_loss_is_point_nine_mse_plus_point_one_weighted_ce():
    torch.manual_seed(0)
    spot, logits = torch.rand(2, 6), torch.randn(2, 6, 5)
    ys, yr = torch.randint(0, 2, (2, 6)).float(), torch.randint(0, 5, (2, 6))
    w = torch.tensor([1.0, 2.0, 0.5, 1.0, 6.0])
    logp = torch.log_softmax(logits.reshape(-1, 5), 1)
    yf = yr.reshape(-1)
    wsum = -(w[yf] * logp[torch.arange(12), yf]).sum()
    mse = ((spot - ys) ** 2).mean()
    # default = the authors' normalisation (over the 12 frames); "weights" = PyTorch's class-index rule
    assert torch.allclose(metst_loss(spot, logits, ys, yr, w), 0.9 * mse + 0.1 * wsum / 12)
    assert torch.allclose(metst_loss(spot, logits, ys, yr, w, ce_norm="weights"), 0.9 * mse + 0.1 * wsum / w[yf].sum())
    with pytest.raises(ValueError, match="ce_norm"):
        metst_loss(spot, logits, ys, yr, w, ce_norm="mean")


def test_recognition_ce_equals_the_authors_hand_computed_value():
    # two frames: logits (0, 0, 0) -> p = 1/3 each; (ln 2, 0, 0) -> p = (1/2, 1/4, 1/4); targets 0 and 1
    logits = torch.tensor([[[0.0, 0.0, 0.0], [float(np.log(2)), 0.0, 0.0]]])  # (1, 2, 3)
    y = torch.tensor([[0, 1]])
    w = torch.tensor([2.0, 1.0, 1.0])
    authors = (2 * np.log(3) + 1 * np.log(4)) / 2  # sum_i w_yi (-log p_i[y_i]) / N frames
    assert float(recognition_ce(logits, y, w)) == pytest.approx(authors, rel=1e-6)
    # ... which is what CrossEntropyLoss(weight) gives for the one-hot probability targets they pass
    onehot = torch.nn.functional.one_hot(y.reshape(-1), 3).float()
    assert float(torch.nn.CrossEntropyLoss(weight=w)(logits.reshape(-1, 3), onehot)) == pytest.approx(authors, rel=1e-6)
    assert float(recognition_ce(logits, y, w, "weights")) == pytest.approx(authors * 2 / 3, rel=1e-6)
    spot, ys = torch.tensor([[0.5, 1.0]]), torch.tensor([[0.0, 1.0]])
    assert float(metst_loss(spot, logits, ys, y, w)) == pytest.approx(0.9 * 0.125 + 0.1 * authors, rel=1e-6)


def _plain(name, n, intervals):
    iv = np.array(intervals, int).reshape(-1, 2)
    return VideoSeq("s", name, np.zeros((10, n), np.float32), iv, np.zeros(len(iv), int))


def test_negatives_are_drawn_from_the_whole_fold_pool():
    # video a: k = 10, 5 windows, all positive (ME frames 3..27); video b: 11 windows, none positive
    vids = [_plain("a", 30, [(2, 28)]), _plain("b", 60, [])]
    fold = sampled_starts(vids, 10, 1.0, np.random.default_rng(0))
    assert len(fold[0]) == 5 and len(fold[1]) == 5  # int(5 * 1.0) negatives, all from video b
    per_video = sampled_starts(vids, 10, 1.0, np.random.default_rng(0), neg_pool="video")
    assert len(per_video[0]) == 5 and len(per_video[1]) == 0  # b has no positive of its own
    # more negatives wanted (20) than exist (11): the authors take all of them but 2
    assert len(sampled_starts(vids, 10, 4.0, np.random.default_rng(0))[1]) == 9
    X, S, R = training_windows(vids, 10, 1.0, np.random.default_rng(0))
    assert X.shape == (10, 10, 10) and (S.sum(1) > 0).sum() == 5 and R.dtype == np.int64
    with pytest.raises(ValueError, match="neg_pool"):
        sampled_starts(vids, 10, 1.0, np.random.default_rng(0), neg_pool="subject")


def _videos(rng, n_subjects=3, per=2, T=160):
    vids = []
    for s in range(n_subjects):
        for v in range(per):
            seq = rng.normal(0, 0.05, (10, T)).astype(np.float32)
            ivs, labs = [], []
            for on in rng.choice(np.arange(10, T - 30, 40), 2, replace=False):
                seq[:, on:on + 12] += np.linspace(0, 1, 12)[None] * 2  # a rising ROI displacement
                ivs.append((on, on + 11))
                labs.append(int(rng.integers(0, 4)))
            vids.append(VideoSeq(f"s{s}", f"v{v}", np.cumsum(seq, 1), np.array(ivs), np.array(labs)))
    return vids


def test_tiny_loso_run_writes_folds_resumes_and_scores(tmp_path):
    rng = np.random.default_rng(0)
    vids = _videos(rng)
    hp = SimpleNamespace(dim=8, depth=1, d_state=4, d_conv=4, expand=2, drop_path=0.0, epochs=2, lr=3e-3,
                         batch=16, paths="shared")
    ws = WindowSettings(skip=1, k=20, ratio=1.0, batch=16)
    subjects = np.array([v.subject for v in vids])
    folds = [SimpleNamespace(name=s, train_idx=np.flatnonzero(subjects != s),
                             test_idx=np.flatnonzero(subjects == s)) for s in ("s0", "s1")]
    trainer = fold_trainer(vids, ws, hp, torch.device("cpu"), seed=0, progress=False)
    res = run_loso(folds, trainer, tmp_path, progress=False)
    assert [r.resumed for r in res] == [False, False]
    assert (tmp_path / "s0" / "model.pt").is_file()
    p = res[0].predictions
    assert p["k_p"] == 6 and p["k_p_all"] == 6  # int((11 + 1) / 2)
    for source in ("fixed", "reference", "video"):
        per_video = fold_videos(p, source)
        assert [len(v["scores"]) for v in per_video] == [160, 160]
        assert per_video[0]["logits"].shape == (160, 5)
    fixed = fold_videos(p, "fixed")[0]["scores"]
    assert np.all(fixed > 0)  # every frame written
    scores = evaluate_folds([r.predictions for r in res], strategy=2)
    assert scores["spot_tp"] + scores["spot_fn"] == 8 and 0 <= scores["strs"] <= 1
    again = run_loso(folds, lambda f, d: pytest.fail("a finished fold must not retrain"), tmp_path,
                     progress=False)
    assert [r.resumed for r in again] == [True, True]
