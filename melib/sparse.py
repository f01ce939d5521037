"""Window-level sparse activation and the SSSD block (AMMSM sec. III-B, eqs. 3-5; after SparseViT).

- :func:`token_importance`: per-token score = mean over channels of |x|  -> (B, H, W) (SparseViT's).
- :func:`window_importance`: one score per 4x4 window -> (B, nW), on the grid padded to multiples of 4
  (padding scores 0), windows numbered row-major. ``score="paper"`` (default) is AMMSM eq. 4 as
  written, Phi_{m,n} = ||X_{m,n}||_2, the L2 norm of the whole 4x4xC block; ``score="sparsevit"`` is
  SparseViT's code, the L2 norm of the 16 token importances. The two rank windows differently when
  channels disagree (a window with one strong channel vs one with many weak ones).
- :func:`select_windows`: the top int(nW * (1 - S)) windows (eq. 5; at least one), best first.
- :func:`stage_windows`: the scores are computed once per stage and sorted once; with sparsities that do
  not decrease inside the stage, every block's kept set is a prefix of that order.
- :class:`SSSDBlock`: x += DWConv(x); x += DropPath(Mixer(LN x)); x += DWConv(x); x += DropPath(MLP(LN x)).

With ``keep`` the block gathers the kept windows, runs the mixer and MLP on their tokens only and
scatters them back; pruned windows come out bit-for-bit unchanged. Replication note: AMMSM masks the
input with M before the block and copies the masked regions back at the end of the stage; we use the
same mask for the two depthwise convs: they read the map with pruned windows zeroed, and only kept
windows receive their update. Padded positions inside a kept window take part in the mixer as tokens.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from melib.ssm import windows
from melib.ssm.mixers import AttentionMixer, NCSSDMixer


def token_importance(x: torch.Tensor) -> torch.Tensor:
    """Mean |x| over channels: (B, C, H, W) -> (B, H, W)."""
    return x.abs().mean(1)


SCORES = ("paper", "sparsevit")


def window_importance(x: torch.Tensor, window: int = 4, score: str = "paper") -> torch.Tensor:
    """Window scores (B, C, H, W) -> (B, nW): "paper" = ||X_{m,n}||_2 over the 4x4xC block (AMMSM eq. 4);
    "sparsevit" = L2 norm of the window's 16 token importances mean_c |x| (SparseViT's code)."""
    if score == "paper":
        blocks = windows.to_windows(windows.pad_to_windows(x, window), window)  # (B, nW, w*w, C)
        return blocks.flatten(2).norm(dim=-1)  # (B, nW)
    if score == "sparsevit":
        imp = windows.pad_to_windows(token_importance(x)[:, None], window)  # (B, 1, Hp, Wp)
        return windows.to_windows(imp, window)[..., 0].norm(dim=-1)  # (B, nW)
    raise ValueError(f"score must be one of {SCORES}; got {score!r}")


def n_kept(n_windows: int, sparsity: float) -> int:
    """int(nW * (1 - S)), at least 1 (a 1e-9 guard keeps int(10 * (1 - 0.7)) at 3)."""
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1); got {sparsity}")
    return max(1, int(n_windows * (1.0 - sparsity) + 1e-9))


def select_windows(scores: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Indices (B, K) of the top windows by score, best first (AMMSM eq. 5)."""
    return scores.topk(n_kept(scores.shape[1], sparsity), dim=1, sorted=True).indices


def stage_windows(x: torch.Tensor, sparsities, window: int = 4, score: str = "paper") -> list[torch.Tensor]:
    """Kept windows of each block of a stage: importance computed and sorted once (at the stage input)."""
    s = list(sparsities)
    if any(b < a for a, b in zip(s, s[1:])):
        raise ValueError(f"sparsities must not decrease within a stage (prefixes of one order); got {s}")
    order = window_importance(x, window, score).argsort(dim=1, descending=True)  # (B, nW)
    return [order[:, : n_kept(order.shape[1], r)] for r in s]


class DropPath(nn.Module):
    """Stochastic depth: drop the residual branch per sample with probability ``p`` while training."""

    def __init__(self, p: float = 0.0):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        keep = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(1 - self.p)
        return x * keep / (1 - self.p)


class SSSDBlock(nn.Module):
    """Sparse SSD block (AMMSM fig. 3) on (B, C, H, W) maps; ``mixer`` = "ssd" (NC-SSD) or "attention"."""

    def __init__(self, dim, mixer="ssd", heads=None, d_state=64, expand=2, headdim=64, mlp_ratio=4.0,
                 drop_path=0.0, window=4, scale="dt_a"):
        super().__init__()
        self.dim, self.window = dim, window
        self.cpe1 = nn.Conv2d(dim, dim, 3, padding=1, groups=dim)
        self.norm1 = nn.LayerNorm(dim)
        if mixer == "ssd":
            self.mixer = NCSSDMixer(dim, d_state=d_state, expand=expand, headdim=min(headdim, expand * dim),
                                    scale=scale)
        elif mixer == "attention":
            self.mixer = AttentionMixer(dim, heads or max(1, dim // 32))
        else:
            raise ValueError(f"mixer must be 'ssd' or 'attention'; got {mixer!r}")
        self.cpe2 = nn.Conv2d(dim, dim, 3, padding=1, groups=dim)
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
        self.drop_path = DropPath(drop_path)

    def _dense(self, x):
        B, C, H, W = x.shape
        x = x + self.cpe1(x)  # (B, C, H, W)
        t = x.flatten(2).transpose(1, 2)  # (B, L, C)
        t = t + self.drop_path(self.mixer(self.norm1(t), (H, W)))
        x = t.transpose(1, 2).reshape(B, C, H, W)
        x = x + self.cpe2(x)
        t = x.flatten(2).transpose(1, 2)  # (B, L, C)
        t = t + self.drop_path(self.mlp(self.norm2(t)))
        return t.transpose(1, 2).reshape(B, C, H, W)

    def _check_keep(self, keep, x, size):
        n_w = (size[0] // self.window) * (size[1] // self.window)
        if keep.dim() != 2 or keep.shape[0] != x.shape[0] or keep.dtype != torch.long:
            raise ValueError(f"keep must be a LongTensor (B={x.shape[0]}, K); got {keep.dtype} {tuple(keep.shape)}")
        if keep.numel() and (keep.min() < 0 or keep.max() >= n_w):
            raise ValueError(f"keep holds window numbers outside [0, {n_w}) for a {size[0]}x{size[1]} padded map")

    def forward(self, x, keep=None):
        if x.dim() != 4 or x.shape[1] != self.dim:
            raise ValueError(f"SSSDBlock expects (B, C={self.dim}, H, W); got {tuple(x.shape)}")
        if keep is None:
            return self._dense(x)
        H, W = x.shape[-2:]
        w = self.window
        xp = windows.pad_to_windows(x, w)  # (B, C, Hp, Wp)
        size = tuple(xp.shape[-2:])
        self._check_keep(keep, x, size)
        M = windows.window_mask(keep, size, w)  # (B, 1, Hp, Wp)
        xp = torch.where(M, xp + self.cpe1(xp * M), xp)  # conv reads pruned windows as zeros
        g = windows.gather(xp, keep, w)  # (B, K*w*w, C)
        g = g + self.drop_path(self.mixer(self.norm1(g), size, keep))
        xp = windows.scatter(g, keep, xp, w)
        xp = torch.where(M, xp + self.cpe2(xp * M), xp)
        g = windows.gather(xp, keep, w)  # (B, K*w*w, C)
        g = g + self.drop_path(self.mlp(self.norm2(g)))
        return windows.scatter(g, keep, xp, w)[..., :H, :W]  # (B, C, H, W)


def cost_vs_sparsity(block: SSSDBlock, x: torch.Tensor, sparsities, repeats: int = 2, score: str = "paper"):
    """Forward seconds of ``block`` on ``x`` and tokens through its mixer/MLP, per sparsity (a DataFrame)."""
    import pandas as pd

    from melib.ssm.bench import time_call

    order = window_importance(x, block.window, score).argsort(dim=1, descending=True)  # (B, nW)
    rows = []
    with torch.no_grad():
        for s in sparsities:
            keep = order[:, : n_kept(order.shape[1], s)]
            rows.append({"sparsity": s, "windows": keep.shape[1], "tokens": keep.shape[1] * block.window**2,
                         "seconds": time_call(lambda k=keep: block(x, k), repeats)})
    return pd.DataFrame(rows)
