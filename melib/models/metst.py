"""ME-TST: temporal state transition with Mamba for ME spotting and recognition (ME-TST Sec. II, Fig. 2b).

Input (B, C=10, T): per-frame ROI optical-flow displacements. Stem: Conv1d(10->d, 3) + BN + ReLU,
Conv1d(d->d, 3) + BN + ReLU. Trunk: ``depth`` residual blocks x = x + DropPath(LN1(Mamba(LN0(x))))
(no MLP; drop-path rates as the reference: block 0 and 1 at 0, then linspace(0, 0.2, depth)[1:-1]).
Heads: spotting Linear(d->1) + sigmoid -> (B, T); recognition Linear(d->emo+1) logits -> (B, T, emo+1).

``paths`` (Replication note in notebook 08):
- "shared" (default): the network the reference actually runs: one trunk feeds both heads; it is run
  once (the reference runs it twice, which only differs by independent drop-path masks in training).
- "reference": the shared trunk run twice, exactly as the reference's forward (and thop's 48 LN calls).
- "separate": the paper's description: the recognition head has its own trunk.
The module always builds both trunks and each block's unused third LayerNorm, like the reference, so
parameter counts and state dicts line up with it (1,249,926 parameters at d = 64, 630,918 used).

Init (reference): Linear weights trunc-normal(std 0.02), biases 0 (this zeroes Mamba's dt bias too);
LayerNorm 1/0; Mamba out_proj Kaiming-uniform(a = sqrt 5) / 2 (the reference's n_layer = 4).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from melib.ssm import Mamba, selective_scan

PATHS = ("shared", "reference", "separate")
_NEGLIGIBLE = 80.0  # exponent beyond which a carried state's decay exp(-80) ~ 2e-35 is dropped


def drop_path_rates(depth: int, max_rate: float) -> list[float]:
    """The reference's per-block rates: [0] + linspace(0, max_rate, depth), first ``depth`` taken."""
    return ([0.0] + torch.linspace(0, max_rate, depth).tolist())[:depth]


class DropPath(nn.Module):
    """Stochastic depth: zero a whole sample's residual branch with probability p (scaled by 1/(1-p))."""

    def __init__(self, p: float = 0.0):
        super().__init__()
        self.p = float(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)  # (B, 1, 1)
        return x * mask / keep


class MambaBlock(nn.Module):
    """x = x + DropPath(LN1(Mamba(LN0(x)))); ``norm2`` is built but never called (as the reference)."""

    def __init__(self, dim: int, d_state: int, d_conv: int, expand: int, drop_path: float):
        super().__init__()
        self.norm0 = nn.LayerNorm(dim)
        self.mamba = Mamba(d_model=dim, d_state=d_state, d_conv=d_conv, expand=expand)
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)  # unused: kept for the reference's parameter count
        self.drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.drop_path(self.norm1(self.mamba(self.norm0(x))))  # (B, T, D)


class Trunk(nn.Module):
    """``depth`` residual Mamba blocks over (B, T, D)."""

    def __init__(self, dim: int, depth: int, d_state: int, d_conv: int, expand: int, drop_path: float):
        super().__init__()
        self.blocks = nn.ModuleList(MambaBlock(dim, d_state, d_conv, expand, p)
                                    for p in drop_path_rates(depth, drop_path))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for blk in self.blocks:
            x = blk(x)  # (B, T, D)
        return x


def mamba_forward(m: Mamba, x: torch.Tensor, state: tuple | None = None):
    """Mamba's forward read straight from its weights, as mamba-ssm's fused ``mamba_inner_fn`` does,
    continuing from ``state`` = (conv inputs (B, di, d_conv - 1), SSM state h (B, di, ds)) of the
    preceding frames. Returns y (B, L, D) and the state after the last frame, so a long sequence can be
    processed chunk by chunk with the same result as one pass (Mamba eq. 2a-2b; h_0 = 0 when None).
    """
    xz = F.linear(x, m.in_proj.weight, m.in_proj.bias).transpose(1, 2)  # (B, 2 di, L)
    u, z = xz.chunk(2, dim=1)  # (B, di, L) each
    k = m.conv1d.weight.shape[-1]
    prev = u.new_zeros(u.shape[0], u.shape[1], k - 1) if state is None else state[0]  # (B, di, k - 1)
    u_pad = torch.cat([prev, u], dim=-1)  # (B, di, L + k - 1): the causal conv's left context
    u = F.silu(F.conv1d(u_pad, m.conv1d.weight, m.conv1d.bias, groups=m.conv1d.groups))  # (B, di, L)
    dt, B, C = torch.split(F.linear(u.transpose(1, 2), m.x_proj.weight), [m.dt_rank, m.d_state, m.d_state], -1)
    delta = F.linear(dt, m.dt_proj.weight).transpose(1, 2)  # (B, di, L)
    A = -torch.exp(m.A_log.float())  # (di, ds)
    B, C = B.transpose(1, 2).contiguous(), C.transpose(1, 2).contiguous()  # (B, ds, L)
    y, h = selective_scan(u, delta, A, B, C, None, None, m.dt_proj.bias.float(), True,
                          return_last_state=True)  # (B, di, L), (B, di, ds) from h_0 = 0
    if state is not None:  # add the carried state's decayed contribution: h_t += exp(A sum Delta) h_0
        cum = F.softplus(delta + m.dt_proj.bias[None, :, None]).cumsum(-1)  # (B, di, L)
        # only the first L0 steps matter: beyond them exp(A cum) < e^-80 for every channel and state
        L0 = int((cum.amin(dim=(0, 1)) * (-A).min() < _NEGLIGIBLE).sum())
        decay = torch.exp(cum[..., :L0, None] * A[None, :, None, :])  # (B, di, L0, ds)
        y[..., :L0] += torch.einsum("bdln,bnl,bdn->bdl", decay, C[..., :L0], state[1])
        h = h + torch.exp(cum[..., -1:] * A[None]) * state[1]  # (B, di, ds)
    y = (y + u * m.D[None, :, None]) * F.silu(z)  # (B, di, L): skip and gate
    new_state = (u_pad[..., -(k - 1):] if k > 1 else u_pad[..., :0], h)
    return F.linear(y.transpose(1, 2), m.out_proj.weight, m.out_proj.bias), new_state  # (B, L, D)


def _trunk_chunked(trunk: Trunk, h: torch.Tensor, chunk: int) -> torch.Tensor:
    """Eval-mode trunk over (B, T, D) in time chunks of ``chunk`` frames, Mamba states carried."""
    for blk in trunk.blocks:
        states, outs = None, []
        x = blk.norm0(h)  # (B, T, D)
        for s in range(0, x.shape[1], chunk):
            y, states = mamba_forward(blk.mamba, x[:, s:s + chunk], states)  # (B, c, D)
            outs.append(y)
        h = h + blk.norm1(torch.cat(outs, dim=1))  # (B, T, D); drop-path is the identity in eval
    return h


class METST(nn.Module):
    """ME-TST network; ``forward(x (B, C, T)) -> (spot (B, T) in [0, 1], logits (B, T, emo + 1))``."""

    def __init__(self, in_channels: int = 10, n_emotions: int = 4, dim: int = 64, depth: int = 12,
                 d_state: int = 64, d_conv: int = 4, expand: int = 2, drop_path: float = 0.2,
                 paths: str = "shared"):
        super().__init__()
        if paths not in PATHS:
            raise ValueError(f"paths must be one of {PATHS}, got {paths!r}")
        self.paths, self.n_emotions, self.in_channels = paths, n_emotions, in_channels
        self.stem = nn.Sequential(
            nn.Conv1d(in_channels, dim, 3, 1, 1), nn.BatchNorm1d(dim), nn.ReLU(inplace=True),
            nn.Conv1d(dim, dim, 3, 1, 1), nn.BatchNorm1d(dim), nn.ReLU(inplace=True),
        )
        args = (dim, depth, d_state, d_conv, expand, drop_path)
        self.spot_path = Trunk(*args)
        self.recog_path = Trunk(*args)  # used only when paths == "separate"
        self.fc_spot = nn.Linear(dim, 1)
        self.fc_recog = nn.Linear(dim, n_emotions + 1)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """The reference's init (module docstring)."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        for m in self.modules():
            if isinstance(m, Mamba):
                nn.init.kaiming_uniform_(m.out_proj.weight, a=math.sqrt(5))
                with torch.no_grad():
                    m.out_proj.weight /= math.sqrt(4)  # the reference's n_layer = 4 (not the depth)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if x.ndim != 3 or x.shape[1] != self.in_channels:
            raise ValueError(f"METST expects (B, {self.in_channels}, T) ROI-flow input, got {tuple(x.shape)}")
        h = self.stem(x).transpose(1, 2)  # (B, T, D)
        hs = self.spot_path(h)  # (B, T, D)
        if self.paths == "shared":
            hr = hs
        elif self.paths == "reference":
            hr = self.spot_path(h)  # the reference re-runs the spotting blocks
        else:
            hr = self.recog_path(h)  # (B, T, D)
        spot = torch.sigmoid(self.fc_spot(hs)).squeeze(-1)  # (B, T)
        return spot, self.fc_recog(hr)  # (B, T), (B, T, emo + 1)

    @torch.no_grad()
    def predict_video(self, seq: torch.Tensor, chunk: int | None = 4096) -> tuple[torch.Tensor, torch.Tensor]:
        """Whole-video inference on one (C, T) sequence of any length: (T,) scores, (T, emo + 1) logits.

        Above ``chunk`` frames the Mamba layers run chunk by chunk with their states carried
        (:func:`mamba_forward`): the same outputs as one pass, memory bounded by the chunk, time linear in T.
        """
        was = self.training
        self.eval()
        dev = next(self.parameters()).device
        x = torch.as_tensor(seq, dtype=torch.float32, device=dev)[None]  # (1, C, T)
        if chunk is None or x.shape[-1] <= chunk:
            spot, logits = self(x)  # (1, T), (1, T, K)
        else:
            h = self.stem(x).transpose(1, 2)  # (1, T, D)
            hs = _trunk_chunked(self.spot_path, h, chunk)
            hr = _trunk_chunked(self.recog_path, h, chunk) if self.paths == "separate" else hs
            spot, logits = torch.sigmoid(self.fc_spot(hs)).squeeze(-1), self.fc_recog(hr)
        self.train(was)
        return spot[0].cpu(), logits[0].cpu()


def used_parameters(model: METST) -> int:
    """Parameters the forward pass actually reads (stem, used trunk(s) without norm2, heads)."""
    trunks = [model.spot_path] + ([model.recog_path] if model.paths == "separate" else [])
    n = sum(p.numel() for m in (model.stem, model.fc_spot, model.fc_recog) for p in m.parameters())
    for t in trunks:
        for blk in t.blocks:
            n += sum(p.numel() for name, p in blk.named_parameters() if not name.startswith("norm2."))
    return n
