"""Sparse window selection and the SSSD block: scores, top-k, stage prefixes, pruned windows untouched."""

import pytest
import torch

from melib.sparse import SSSDBlock, n_kept, select_windows, stage_windows, token_importance, window_importance
from melib.ssm import windows


def test_window_scores_follow_eq_4_with_padding():
    x = torch.zeros(1, 3, 6, 5)
    x[0, :, 4, 4] = torch.tensor([3.0, -3.0, 3.0])  # one token, importance 3, in window (1, 1)
    x[0, 0, 0, 0] = -6.0  # importance 2 in window (0, 0)
    x[0, 1, 0, 1] = 6.0  # importance 2 in window (0, 0)
    assert torch.equal(token_importance(x)[0, 4, 4], torch.tensor(3.0))
    s = window_importance(x, score="sparsevit")  # padded to 8x8: 2x2 windows; L2 of token importances
    torch.testing.assert_close(s, torch.tensor([[8**0.5, 0.0, 0.0, 3.0]]))
    p = window_importance(x)  # eq. 4 as written: L2 norm of the whole 4x4xC block
    torch.testing.assert_close(p, torch.tensor([[72**0.5, 0.0, 0.0, 27**0.5]]))


def test_paper_and_sparsevit_scores_rank_windows_differently():
    x = torch.zeros(1, 4, 4, 8)  # two windows, C = 4
    x[0, 2, 1, 1] = 3.0  # window 0: one token, one strong channel -> eq. 4: 3, SparseViT: 3/4
    x[0, :, 2, 6] = 1.0  # window 1: one token, every channel weak -> eq. 4: 2, SparseViT: 1
    torch.testing.assert_close(window_importance(x), torch.tensor([[3.0, 2.0]]))
    torch.testing.assert_close(window_importance(x, score="sparsevit"), torch.tensor([[0.75, 1.0]]))
    assert select_windows(window_importance(x), 0.5).tolist() == [[0]]
    assert stage_windows(x, [0.5])[0].tolist() == [[0]]
    assert stage_windows(x, [0.5], score="sparsevit")[0].tolist() == [[1]]
    with pytest.raises(ValueError, match="score"):
        window_importance(x, score="mean")


def test_top_k_count_and_order():
    assert [n_kept(10, r) for r in (0.0, 0.1, 0.7, 0.9, 0.95)] == [10, 9, 3, 1, 1]
    scores = torch.tensor([[0.1, 5.0, 3.0, 4.0, 0.2]])
    assert select_windows(scores, 0.4).tolist() == [[1, 3, 2]]
    with pytest.raises(ValueError, match="sparsity"):
        n_kept(4, 1.0)


def test_stage_sets_are_prefixes_and_sparsity_must_not_decrease():
    x = torch.randn(2, 8, 16, 16)
    k1, k2 = stage_windows(x, [0.25, 0.5])
    assert k1.shape == (2, 12) and k2.shape == (2, 8) and torch.equal(k1[:, :8], k2)
    torch.testing.assert_close(k2, select_windows(window_importance(x), 0.5))
    with pytest.raises(ValueError, match="decrease"):
        stage_windows(x, [0.5, 0.25])


def test_gather_scatter_round_trip():
    x = torch.randn(2, 3, 8, 12)
    keep = torch.tensor([[5, 0, 2], [1, 4, 3]])
    g = windows.gather(x, keep)
    assert g.shape == (2, 3 * 16, 3)
    torch.testing.assert_close(g[0, :16], x[0, :, 4:8, 8:12].reshape(3, 16).T)  # window 5 = row 1, col 2
    assert torch.equal(windows.scatter(g, keep, x), x)
    mask = windows.window_mask(keep, (8, 12))
    assert mask.sum() == 2 * 3 * 16 and mask[0, 0, 4:8, 8:12].all() and not mask[0, 0, 0:4, 4:8].any()


@pytest.mark.parametrize("mixer", ["ssd", "attention"])
def test_pruned_windows_untouched_and_full_keep_equals_dense(mixer):
    torch.manual_seed(0)
    blk = SSSDBlock(32, mixer, d_state=8, headdim=32).double().eval()
    x = torch.randn(2, 32, 14, 11, dtype=torch.float64)  # padded to 16x12: 4x3 windows
    keep = stage_windows(x, [0.5])[0]
    y = blk(x, keep)
    mask = windows.window_mask(keep, (16, 12))[:, :, :14, :11].expand_as(x)
    assert torch.equal(y[~mask], x[~mask])  # bit-for-bit
    assert (y[mask] - x[mask]).abs().min() > 0  # every kept position was updated
    x16 = torch.randn(2, 32, 16, 12, dtype=torch.float64)
    everything = torch.stack([torch.randperm(12) for _ in range(2)])
    torch.testing.assert_close(blk(x16, everything), blk(x16))


def test_kept_output_ignores_pruned_content_and_block_errors():
    torch.manual_seed(1)
    blk = SSSDBlock(16, "ssd", d_state=4, headdim=16).double().eval()
    x = torch.randn(1, 16, 8, 8, dtype=torch.float64)
    keep = torch.tensor([[0, 3]])
    x2 = x.clone()
    x2[:, :, 4:, :4] += 5.0  # window 2 (pruned)
    kept = windows.window_mask(keep, (8, 8)).expand_as(x)
    torch.testing.assert_close(blk(x, keep)[kept], blk(x2, keep)[kept])  # pruned windows read as zeros
    with pytest.raises(ValueError, match="outside"):
        blk(x, torch.tensor([[0, 4]]))
    with pytest.raises(ValueError, match="LongTensor"):
        blk(x, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="C=16"):
        blk(torch.randn(1, 8, 8, 8))
    with pytest.raises(ValueError, match="mixer"):
        SSSDBlock(16, "conv")
