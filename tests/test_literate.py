"""The code the notebooks write out (cells starting ``# literate: <name>``) equals what melib runs: the
cell's source is read from the .ipynb and executed here, then compared with the library on fresh input."""

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from melib.run import NOTEBOOKS
from melib.spotting import spot_intervals
from melib.ssm import Mamba, selective_scan_ref


def literate(notebook: str, name: str, **namespace) -> dict:
    """Execute the notebook cell marked ``# literate: name`` in ``namespace``; return the namespace."""
    nb = nbformat.read(next(NOTEBOOKS.glob(f"{notebook}_*.ipynb")), as_version=4)
    cells = [c.source for c in nb.cells if c.cell_type == "code" and c.source.startswith(f"# literate: {name}\n")]
    assert len(cells) == 1, f"notebook {notebook}: expected one cell marked '# literate: {name}'"
    exec(compile(cells[0], f"{notebook}:{name}", "exec"), namespace)
    return namespace


@pytest.mark.parametrize("d_model,d_state,length", [(16, 4, 20), (32, 8, 7)])
def test_notebook_04_mamba_forward_equals_melib_mamba(d_model, d_state, length):
    ns = literate("04", "mamba_forward", torch=torch, F=F, selective_scan_ref=selective_scan_ref)
    torch.manual_seed(0)
    layer = Mamba(d_model, d_state=d_state, d_conv=4, expand=2).double()
    x = torch.randn(3, length, d_model, dtype=torch.double)
    with torch.no_grad():
        assert torch.allclose(ns["mamba_forward_written_out"](layer, x), layer(x), atol=1e-6)


def test_notebook_08_post_processing_equals_spot_intervals():
    ns = literate("08", "spot_intervals", np=np)
    rng = np.random.default_rng(1)
    for T, k_p, p in ((400, 6, 0.55), (150, 9, 0.3), (90, 3, 0.8)):
        t = np.arange(T)
        scores = np.clip(sum(a * np.exp(-0.5 * ((t - c) / 4.0) ** 2) for c, a in
                             zip(rng.integers(0, T, 5), rng.uniform(0.3, 1, 5))) + 0.05 * rng.normal(size=T), 0, None)
        mine, ref = ns["spot_written_out"](scores, k_p, p), spot_intervals(scores, k_p, p)
        assert np.array_equal(mine[0], ref[0]) and np.array_equal(mine[1], ref[1]), (T, k_p, p)
    empty = ns["spot_written_out"](np.zeros(40), 5, 0.55)[0]
    assert empty.shape == (0, 2) and np.array_equal(empty, spot_intervals(np.zeros(40), 5, 0.55)[0])


def test_notebook_09_synergy_rules_equal_analyse():
    from melib.spotting import analyse

    ns = literate("09", "synergy")
    rng = np.random.default_rng(2)
    t = np.arange(240)
    scores = np.clip(sum(a * np.exp(-0.5 * ((t - c) / 5.0) ** 2) for c, a in ((30, 1.0), (110, 0.8), (190, 0.9)))
                     + 0.03 * rng.normal(size=t.size), 0, None)
    logits = rng.normal(size=(t.size, 5))
    logits[100:121, 4] += 4.0  # one interval looks neutral: strategy 1 must drop it, 0 and 2 keep it
    n_kept = {}
    for st in (0, 1, 2):
        iv, lab = ns["analyse_written_out"](scores, logits, 6, st, 0.3)
        ref = analyse(scores, logits, 6, st, p=0.3)
        assert np.array_equal(iv, ref.intervals) and np.array_equal(lab, ref.labels), st
        n_kept[st] = len(iv)
    assert n_kept[1] == n_kept[2] - 1 == n_kept[0] - 1


def test_notebook_02_roi_pooling_equals_roi_reference():
    from melib.flow import roi_reference as rr

    ns = literate("02", "roi_pooling")
    rng = np.random.default_rng(3)
    for shape, p in (((7, 1), 0.3), ((25, 30), 0.2), ((13, 11), 0.7), ((40, 33), 0.3), ((0, 5), 0.3)):
        f = (rng.normal(size=(*shape, 2)) * rng.uniform(0.1, 3)).astype(np.float32)
        assert np.array_equal(ns["pool_top_written_out"](f, p), rr.pool_top(f, p)), (shape, p)
    seven = np.zeros((7, 1, 2), np.float32)
    seven[:, 0, 0] = np.arange(1, 8)  # |flow| 1..7: p = 0.3 keeps 7 - int(7 * 0.7) = 3 (5, 6, 7), not int(2.1)
    assert np.array_equal(ns["pool_top_written_out"](seven, 0.3), [6.0, 0.0])
    patches = {name: (rng.normal(size=(30, 36, 2)) + rng.normal(size=2)).astype(np.float32) for name in rr.PATCHES}
    pools = {"global": ("global", slice(15, -10), slice(5, -5), 0.7),
             "brow_l": ("brow_l", slice(4, -10), slice(10, -10), 0.3),
             "brow_r": ("brow_r", slice(0, -10), slice(10, -10), 0.3),
             "mouth": ("mouth", slice(10, -10), slice(10, -10), 0.3),
             "nose31": ("nose", slice(2, 27), slice(5, 26), 0.2),
             "nose35": ("nose", slice(30, 40), slice(3, 9), 0.2)}  # nose35 is empty: the patch has 30 rows
    ref = rr.subtract_global({name: rr.pool_top(patches[patch][r, c], p) for name, (patch, r, c, p) in pools.items()})
    mine = ns["features_written_out"](patches, pools)
    assert mine.shape == (10,) and np.array_equal(mine, ref)
    assert np.array_equal(mine[8:], -rr.pool_top(patches["global"][15:-10, 5:-5], 0.7))  # empty: (0, 0) - g


def test_notebook_03_loss_and_schedule_equal_train_fold(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from test_ammsm_train import _hp, _separable

    import melib.train.ammsm as tr
    from melib.magnify import loss_weight, magnification_loss
    from melib.models.ammsm import AMMSMConfig

    ns = literate("03", "ammsm_loss")
    g = torch.Generator().manual_seed(4)
    flow, flow_mag = torch.randn(4, 2, 6, 4, generator=g), torch.randn(4, 2, 6, 4, generator=g)  # B == W
    alpha = torch.tensor([1.0, 1.5, 3.0, 4.0])  # one per sample: broadcasting over W would give another value
    for red in ("mean", "sample_sum"):
        assert torch.allclose(ns["magnification_loss_written_out"](flow_mag, flow, alpha, red),
                              magnification_loss(flow_mag, flow, alpha, red)), red
    seen = []  # (e, e_r) of every training step, as train_fold passes them
    monkeypatch.setattr(tr, "loss_weight", lambda e, e_r: seen.append((e, e_r)) or loss_weight(e, e_r))
    d, hp = _separable(n_subjects=3, per_class=1), _hp(size=32, epochs=3, finetune_epochs=2, batch=4, max_batches=1,
                                                      population=2, parents=1, generations=1)
    fold = SimpleNamespace(name="sub02", train_idx=np.flatnonzero(d.subjects != "sub02"),
                           test_idx=np.flatnonzero(d.subjects == "sub02"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a 5-step toy fold: one thread takes a quarter of the CPU time on the 2-core machine
    try:
        tr.train_fold(fold, tmp_path, d, hp, AMMSMConfig.from_profile(hp, n_classes=3), seed=0)
    finally:
        torch.set_num_threads(threads)
    per_epoch = [loss_weight(e, e_r) for e, e_r in dict.fromkeys(seen)]  # one weight per epoch
    assert per_epoch == ns["schedule_written_out"](3, 2) == [1.0, 0.8, 0.6, 0.4, 0.2]
    assert [ns["loss_weight_written_out"](e, 5) for e in (0, 2.5, 5, 7)] == [1.0, 0.5, 0.0, 0.0]


def test_notebook_05_window_score_and_selection_equal_melib_sparse():
    from melib.sparse import select_windows, window_importance

    ns = literate("05", "window_selection")
    g = torch.Generator().manual_seed(5)
    for shape in ((2, 8, 16, 16), (1, 3, 10, 7), (3, 5, 9, 20)):  # the last two need zero padding
        X = torch.randn(*shape, generator=g)
        phi = ns["window_importance_written_out"](X)
        assert phi.shape == window_importance(X).shape and torch.allclose(phi, window_importance(X), rtol=1e-5)
    X = torch.zeros(1, 4, 4, 8)  # two windows whose channels disagree: eq. 4 and SparseViT's score rank them apart
    X[0, 0, :, :4] = 2.0  # window 0: one strong channel, ||X_0||_2 = 8, channel mean |x| = 0.5
    X[0, :, :, 4:] = 0.9  # window 1: four weaker channels, ||X_1||_2 = 7.2, channel mean |x| = 0.9
    assert torch.allclose(ns["window_importance_written_out"](X), torch.tensor([[8.0, 7.2]]))
    assert ns["select_written_out"](ns["window_importance_written_out"](X), 0.5).tolist() == [[0]]
    assert select_windows(window_importance(X, score="sparsevit"), 0.5).tolist() == [[1]]
    phi = torch.rand(3, 20, generator=g)
    for s in (0.0, 0.25, 0.5, 0.9, 0.99):  # 20 * (1 - 0.9) = 1.99999...: K = 2; S = 0.99 still keeps one
        assert torch.equal(ns["select_written_out"](phi, s), select_windows(phi, s)), s
    assert ns["select_written_out"](phi, 0.9).shape == (3, 2) and ns["select_written_out"](phi, 0.99).shape == (3, 1)
