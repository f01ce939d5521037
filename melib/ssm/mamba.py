"""Mamba block (Gu & Dao 2023, fig. 3 and sec. 3.4), laid out exactly as mamba-ssm's
``mamba_ssm.modules.mamba_simple.Mamba``: the same parameter names, shapes and initialisation, so a
state_dict moves between the two in both directions.

    x, z  = in_proj(u)                      (B, L, 2*d_inner) split in two
    x     = silu(causal depthwise conv1d(x))
    dt, B, C = x_proj(x)                    (dt_rank, d_state, d_state)
    dt    = dt_proj.weight @ dt             (bias added inside the scan, then softplus)
    y     = selective_scan(x, dt, A=-exp(A_log), B, C, D, z, dt_proj.bias, softplus)
    out   = out_proj(y)

On CUDA with mamba-ssm importable (:func:`melib.ssm.backend`) the scan runs in its fused kernel.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from melib.ssm.scan import selective_scan


def dt_bias_init(n: int, dt_min: float, dt_max: float, floor: float, generator=None) -> torch.Tensor:
    """Inverse softplus of dt ~ log-uniform[dt_min, dt_max] (clamped at ``floor``): softplus(bias) = dt."""
    u = torch.rand(n, generator=generator)
    dt = torch.exp(u * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)).clamp(min=floor)
    return dt + torch.log(-torch.expm1(-dt))


def causal_depthwise_conv(x: torch.Tensor, conv: nn.Conv1d) -> torch.Tensor:
    """``conv(x)[..., :L]`` for Mamba's depthwise conv (padding k - 1) as k shifted multiply-adds:
    y_t = bias + sum_j w_j x_{t - k + 1 + j}. Same numbers; on a CPU its backward is several times
    faster than the convolution's at Mamba's sizes (benchmarks/metst_train_step.py)."""
    k, L = conv.weight.shape[-1], x.shape[-1]
    xp = F.pad(x, (k - 1, 0))  # (B, d, L + k - 1)
    w = conv.weight[:, 0]  # (d, k)
    y = xp[..., :L] * w[:, :1]
    for j in range(1, k):
        y = torch.addcmul(y, xp[..., j:j + L], w[:, j:j + 1])
    return y if conv.bias is None else y + conv.bias[:, None]


class Mamba(nn.Module):
    """Mamba-1 mixer, forward (B, L, d_model) -> (B, L, d_model); mamba_simple's constructor arguments."""

    def __init__(self, d_model, d_state=16, d_conv=4, expand=2, dt_rank="auto", dt_min=0.001, dt_max=0.1,
                 dt_init="random", dt_scale=1.0, dt_init_floor=1e-4, conv_bias=True, bias=False,
                 use_fast_path=True, layer_idx=None, device=None, dtype=None):
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.d_model, self.d_state, self.d_conv, self.expand = d_model, d_state, d_conv, expand
        self.d_inner = int(expand * d_model)
        self.dt_rank = math.ceil(d_model / 16) if dt_rank == "auto" else int(dt_rank)
        self.use_fast_path, self.layer_idx = use_fast_path, layer_idx
        self.in_proj = nn.Linear(d_model, 2 * self.d_inner, bias=bias, **kw)
        self.conv1d = nn.Conv1d(self.d_inner, self.d_inner, d_conv, groups=self.d_inner, padding=d_conv - 1,
                                bias=conv_bias, **kw)
        self.act = nn.SiLU()
        self.x_proj = nn.Linear(self.d_inner, self.dt_rank + 2 * d_state, bias=False, **kw)
        self.dt_proj = nn.Linear(self.dt_rank, self.d_inner, bias=True, **kw)
        std = self.dt_rank**-0.5 * dt_scale
        with torch.no_grad():
            if dt_init == "constant":
                self.dt_proj.weight.fill_(std)
            elif dt_init == "random":
                self.dt_proj.weight.uniform_(-std, std)
            else:
                raise ValueError(f"dt_init must be 'constant' or 'random'; got {dt_init!r}")
            self.dt_proj.bias.copy_(dt_bias_init(self.d_inner, dt_min, dt_max, dt_init_floor))
        self.dt_proj.bias._no_reinit = True
        A = torch.arange(1, d_state + 1, dtype=torch.float32, device=device).repeat(self.d_inner, 1)
        self.A_log = nn.Parameter(torch.log(A))  # (d_inner, d_state), S4D-real init A = -(1..N)
        self.A_log._no_weight_decay = True
        self.D = nn.Parameter(torch.ones(self.d_inner, device=device))  # (d_inner,)
        self.D._no_weight_decay = True
        self.out_proj = nn.Linear(self.d_inner, d_model, bias=bias, **kw)

    def forward(self, hidden_states, inference_params=None):
        if inference_params is not None:
            raise NotImplementedError("step-by-step decoding (inference_params) is not implemented in melib")
        if hidden_states.dim() != 3 or hidden_states.shape[-1] != self.d_model:
            raise ValueError(f"Mamba expects (B, L, d_model={self.d_model}); got {tuple(hidden_states.shape)}")
        L = hidden_states.shape[1]
        xz = self.in_proj(hidden_states).transpose(1, 2)  # (B, 2*d_inner, L)
        x, z = xz.chunk(2, dim=1)  # (B, d_inner, L) each
        x = self.act(causal_depthwise_conv(x, self.conv1d) if x.device.type == "cpu"
                     else self.conv1d(x)[..., :L])  # (B, d_inner, L) causal: drop the right padding
        dt, B, C = self.x_proj(x.transpose(1, 2)).split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        dt = F.linear(dt, self.dt_proj.weight).transpose(1, 2)  # (B, d_inner, L), bias added in the scan
        A = -torch.exp(self.A_log.float())  # (d_inner, d_state)
        y = selective_scan(x, dt, A, B.transpose(1, 2).contiguous(), C.transpose(1, 2).contiguous(),
                           self.D.float(), z=z, delta_bias=self.dt_proj.bias.float(), delta_softplus=True)
        return self.out_proj(y.transpose(1, 2))  # (B, L, d_model)
