"""Token mixers for 2-D maps, ``forward(x (B, L, C), hw, keep=None) -> (B, L, C)``.

- :class:`NCSSDMixer`: VSSD's non-causal SSD mixer (the "SSD block" of AMMSM sec. III-B, eq. 6).
- :class:`AttentionMixer`: plain multi-head self-attention (qkv without bias, no position bias), which
  AMMSM puts in the last block of stages 3 and 4.

``hw`` is the map size. With ``keep`` (B, K) the tokens are the gathered kept 4x4 windows of a map of
size ``hw`` (see :mod:`melib.ssm.windows`); the NC-SSD depthwise conv then runs on the map with the
pruned windows zeroed (their tokens are absent), attention and NC-SSD themselves are order-invariant.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from melib.ssm import windows
from melib.ssm.mamba import dt_bias_init
from melib.ssm.ssd import nc_ssd


class NCSSDMixer(nn.Module):
    """NC-SSD mixer (ammsm-building-blocks.md, "NC-SSD mixer" steps 1-5).

    in_proj -> [z, xBC, dt]; xBC -> depthwise 3x3 conv on the map -> SiLU -> x, B, C;
    Y = C (B^T (x * dt|A|)) + D x  (:func:`melib.ssm.ssd.nc_ssd`); LayerNorm(Y) * z; out_proj.
    """

    def __init__(self, dim, d_state=64, expand=2, headdim=64, ngroups=1, d_conv=3, dt_min=0.001, dt_max=0.1,
                 dt_init_floor=1e-4, A_init_range=(1.0, 16.0), scale="dt_a"):
        super().__init__()
        self.d_inner = int(expand * dim)
        if self.d_inner % headdim:
            raise ValueError(f"expand*dim={self.d_inner} must be a multiple of headdim={headdim}")
        self.nheads, self.headdim, self.d_state, self.ngroups, self.scale = (
            self.d_inner // headdim, headdim, d_state, ngroups, scale)
        conv_dim = self.d_inner + 2 * ngroups * d_state
        self.in_proj = nn.Linear(dim, self.d_inner + conv_dim + self.nheads, bias=False)
        self.conv2d = nn.Conv2d(conv_dim, conv_dim, d_conv, padding=d_conv // 2, groups=conv_dim, bias=True)
        self.dt_bias = nn.Parameter(dt_bias_init(self.nheads, dt_min, dt_max, dt_init_floor))  # (h,)
        A = torch.empty(self.nheads).uniform_(*A_init_range)
        self.A_log = nn.Parameter(torch.log(A))  # (h,)
        self.D = nn.Parameter(torch.ones(self.nheads))  # (h,)
        for p in (self.dt_bias, self.A_log, self.D):
            p._no_weight_decay = True
        self.norm = nn.LayerNorm(self.d_inner)
        self.out_proj = nn.Linear(self.d_inner, dim, bias=False)

    def _conv(self, xbc, hw, keep):
        """Depthwise conv of (B, L, C') tokens laid out on the map (kept windows only when ``keep``)."""
        Bn, L, Cc = xbc.shape
        if keep is None:
            if hw[0] * hw[1] != L:
                raise ValueError(f"hw={tuple(hw)} does not hold L={L} tokens")
            m = xbc.transpose(1, 2).reshape(Bn, Cc, *hw)  # (B, C', H, W)
            return self.conv2d(m).flatten(2).transpose(1, 2)  # (B, L, C')
        empty = xbc.new_zeros(Bn, Cc, *hw)  # pruned windows read as zeros
        m = windows.scatter(xbc, keep, empty)  # (B, C', Hp, Wp)
        return windows.gather(self.conv2d(m), keep)  # (B, K*16, C')

    def forward(self, x, hw, keep=None):
        Bn, L, _ = x.shape
        z, xbc, dt = self.in_proj(x).split([self.d_inner, self.d_inner + 2 * self.ngroups * self.d_state,
                                            self.nheads], dim=-1)
        xbc = F.silu(self._conv(xbc, hw, keep))  # (B, L, d_inner + 2*g*N)
        xs, B, C = xbc.split([self.d_inner, self.ngroups * self.d_state, self.ngroups * self.d_state], dim=-1)
        y = nc_ssd(xs.reshape(Bn, L, self.nheads, self.headdim), dt, -torch.exp(self.A_log),
                   B.reshape(Bn, L, self.ngroups, -1), C.reshape(Bn, L, self.ngroups, -1), D=self.D,
                   dt_bias=self.dt_bias, dt_softplus=True, scale=self.scale)  # (B, L, h, p)
        return self.out_proj(self.norm(y.reshape(Bn, L, -1)) * z)  # (B, L, dim)


class AttentionMixer(nn.Module):
    """Multi-head self-attention over all tokens (no position bias; qkv Linear without bias)."""

    def __init__(self, dim, heads=8):
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim={dim} must be divisible by heads={heads}")
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, hw=None, keep=None):
        Bn, L, C = x.shape
        q, k, v = self.qkv(x).reshape(Bn, L, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)  # (B, h, L, c)
        y = F.scaled_dot_product_attention(q, k, v, scale=1.0 / math.sqrt(C // self.heads))  # (B, h, L, c)
        return self.proj(y.transpose(1, 2).reshape(Bn, L, C))  # (B, L, C)
