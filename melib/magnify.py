"""Adaptive motion magnification on optical flow (AMMSM Sec. III-A, eqs. 1-2; after FlowMag).

:class:`FlowMagnifier` is a standard UNet (Ronneberger et al.; FlowMag's layout: DoubleConv =
(Conv3x3 + BN + ReLU) x 2, Down = MaxPool2 + DoubleConv, bilinear Up + skip concatenation, a 1x1 output
conv, no final activation because flow is signed). Input = flow OF_ori (2 channels) + an alpha code;
output = the magnified flow OF_mag (2 channels).

- alpha codes: ``"constant"`` = one channel filled with alpha (AMMSM's "map of magnification factor");
  ``"sinusoidal"`` = FlowMag's 32 channels sin(2 pi alpha / lambda_k), lambda_k geometric 2^-3 .. 2^7.
- :func:`magnification_loss` = eq. 1, :func:`loss_weight` / :func:`total_loss` = eq. 2.
- :func:`sample_alpha` draws alpha in [1, 4] (AMMSM Sec. IV-B: "the magnification factor ranges from
  1 to 4"); :func:`pretrain` fits the magnifier self-supervised on unlabelled flows (eq. 1 only).

Profile keys (``cfg.magnify``): ``base``, ``levels`` (UNet width and depth), ``alpha_code``,
``size`` (flow side in pixels), ``n_flows`` (SynthME clips used), ``steps``, ``batch``, ``lr``,
``alpha_low``, ``alpha_high``, ``method`` (flow estimator for OF_ori).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

ALPHA_CODES = ("constant", "sinusoidal")
SINUSOIDAL_DIM = 32


def alpha_code(alpha: torch.Tensor, kind: str, hw: tuple[int, int]) -> torch.Tensor:
    """alpha (B,) -> conditioning map (B, C, H, W): C = 1 (constant) or 32 (sinusoidal)."""
    alpha = alpha.reshape(-1, 1).float()  # (B, 1)
    if kind == "constant":
        code = alpha  # (B, 1)
    elif kind == "sinusoidal":
        lam = torch.logspace(-3, 7, SINUSOIDAL_DIM, base=2.0, device=alpha.device)  # (32,)
        code = torch.sin(2 * math.pi * alpha / lam)  # (B, 32)
    else:
        raise ValueError(f"alpha_code must be one of {ALPHA_CODES}, got {kind!r}")
    return code[:, :, None, None].expand(-1, -1, *hw)  # (B, C, H, W)


class DoubleConv(nn.Sequential):
    """(Conv3x3 + BN + ReLU) x 2."""

    def __init__(self, cin: int, cout: int):
        super().__init__(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        )


class FlowMagnifier(nn.Module):
    """UNet F_mag(OF_ori, alpha) -> OF_mag. Widths base * 2^i capped at base * 2^(levels-2)
    (base 64, levels 5: 64-128-256-512-512, the FlowMag/Pytorch-UNet bilinear layout)."""

    def __init__(self, base: int = 64, levels: int = 5, alpha_code: str = "constant", normalize: bool = True):
        super().__init__()
        self.normalize = normalize
        if alpha_code not in ALPHA_CODES:
            raise ValueError(f"alpha_code must be one of {ALPHA_CODES}, got {alpha_code!r}")
        if levels < 2:
            raise ValueError(f"levels must be >= 2, got {levels}")
        self.alpha_kind = alpha_code
        cin = 2 + (1 if alpha_code == "constant" else SINUSOIDAL_DIM)
        widths = [base * 2 ** min(i, levels - 2) for i in range(levels)]
        self.enc = nn.ModuleList([DoubleConv(cin, widths[0])])
        self.enc.extend(DoubleConv(widths[i - 1], widths[i]) for i in range(1, levels))
        self.dec = nn.ModuleList()
        ch = widths[-1]
        for i in range(levels - 2, -1, -1):
            out = widths[i - 1] if i > 0 else widths[0]
            self.dec.append(DoubleConv(widths[i] + ch, out))
            ch = out
        self.out = nn.Conv2d(ch, 2, 1)

    def forward(self, flow: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        """flow (B, 2, H, W), alpha (B,) or scalar -> magnified flow (B, 2, H, W)."""
        b, _, h, w = flow.shape
        scale = flow.flatten(1).abs().mean(1).clamp_min(1e-6)[:, None, None, None] if self.normalize else None
        flow = flow / scale if self.normalize else flow  # (B, 2, H, W), unit mean |flow| per sample
        alpha = torch.as_tensor(alpha, dtype=flow.dtype, device=flow.device).expand(b)  # (B,)
        x = torch.cat([flow, alpha_code(alpha, self.alpha_kind, (h, w)).to(flow.dtype)], 1)  # (B, 2+C, H, W)
        skips = []
        for i, block in enumerate(self.enc):
            x = block(x if i == 0 else F.max_pool2d(x, 2))  # (B, w_i, H/2^i, W/2^i)
            skips.append(x)
        x = skips.pop()
        for block in self.dec:
            skip = skips.pop()
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=True)
            x = block(torch.cat([skip, x], 1))  # (B, w, h_i, w_i)
        out = self.out(x)  # (B, 2, H, W)
        return out * scale if self.normalize else out


def magnification_loss(flow_mag: torch.Tensor, flow: torch.Tensor, alpha: torch.Tensor,
                       reduction: str = "mean") -> torch.Tensor:
    """AMMSM eq. 1: L_mag = || alpha * OF_ori - OF_mag ||_1.

    ``reduction``: "mean" over all elements (melib's choice, the default: its size does not grow with the
    resolution, so eq. 2 weighs it against L_cls at about 1 px per element); "sample_sum" = eq. 1 as
    written, the L1 norm summed over each sample's 2 x H x W values, averaged over the batch (2 x 224^2
    = 100,352 times the mean at the paper's size); "sum" over the whole batch.
    """
    alpha = torch.as_tensor(alpha, dtype=flow.dtype, device=flow.device).reshape(-1, 1, 1, 1)  # (B, 1, 1, 1)
    err = (alpha * flow - flow_mag).abs()  # (B, 2, H, W)
    if reduction == "mean":
        return err.mean()
    if reduction == "sample_sum":
        return err.flatten(1).sum(1).mean()
    if reduction == "sum":
        return err.sum()
    raise ValueError(f"reduction must be 'mean', 'sample_sum' or 'sum', got {reduction!r}")


def loss_weight(epoch: float, e_r: float) -> float:
    """AMMSM eq. 2 weight (e_r - e) / e_r: 1 at e = 0, 0 at e = e_r (clamped to [0, 1] beyond)."""
    if e_r <= 0:
        raise ValueError(f"e_r (total epochs) must be > 0, got {e_r}")
    return float(min(1.0, max(0.0, (e_r - epoch) / e_r)))


def total_loss(l_cls: torch.Tensor, l_mag: torch.Tensor, epoch: float, e_r: float) -> torch.Tensor:
    """AMMSM eq. 2: L = L_cls + (e_r - e) / e_r * L_mag."""
    return l_cls + loss_weight(epoch, e_r) * l_mag


def sample_alpha(n: int, generator: torch.Generator | None = None, low: float = 1.0, high: float = 4.0,
                 dist: str = "uniform") -> torch.Tensor:
    """n magnification factors in [low, high]: ``"uniform"`` (AMMSM) or ``"log"`` (FlowMag) -> (n,)."""
    if not 0 < low <= high:
        raise ValueError(f"need 0 < low <= high, got low={low}, high={high}")
    u = torch.rand(n, generator=generator)  # (n,)
    if dist == "uniform":
        return low + (high - low) * u
    if dist == "log":
        return torch.exp(math.log(low) + (math.log(high) - math.log(low)) * u)
    raise ValueError(f"dist must be 'uniform' or 'log', got {dist!r}")


def augment_flows(flow: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Label-free augmentation that keeps eq. 1 valid: random sign flip and horizontal mirror
    (mirroring x negates u). flow (B, 2, H, W) -> (B, 2, H, W)."""
    b = flow.shape[0]
    sign = torch.where(torch.rand(b, generator=generator) < 0.5, -1.0, 1.0).to(flow)  # (B,)
    flow = flow * sign[:, None, None, None]
    mirror = torch.rand(b, generator=generator) < 0.5  # (B,)
    flipped = torch.flip(flow, dims=[-1]) * torch.tensor([-1.0, 1.0], device=flow.device)[None, :, None, None]
    return torch.where(mirror.to(flow.device)[:, None, None, None], flipped, flow)


def pretrain(magnifier: FlowMagnifier, flows: torch.Tensor, steps: int = 200, batch: int = 8,
             lr: float = 1e-3, low: float = 1.0, high: float = 4.0, generator: torch.Generator | None = None,
             device: str | torch.device = "cpu", progress: Callable | None = None) -> list[float]:
    """Self-supervised pre-training on unlabelled flows (N, 2, H, W) with eq. 1 alone: each step draws
    a batch, random alphas in [low, high] and the augmentations of :func:`augment_flows`.
    Returns the loss per step. ``progress`` wraps the step range (e.g. ``tqdm.auto.tqdm``)."""
    if flows.ndim != 4 or flows.shape[1] != 2:
        raise ValueError(f"pretrain: flows must be (N, 2, H, W), got {tuple(flows.shape)}")
    if not torch.isfinite(flows).all():
        raise ValueError("pretrain: flows contain NaN/inf")
    magnifier.to(device).train()
    opt = torch.optim.Adam(magnifier.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, steps))
    history = []
    for _ in (progress or (lambda r: r))(range(steps)):
        idx = torch.randint(0, flows.shape[0], (batch,), generator=generator)  # (batch,)
        x = augment_flows(flows[idx], generator).to(device)  # (batch, 2, H, W)
        alpha = sample_alpha(batch, generator, low, high).to(device)  # (batch,)
        loss = magnification_loss(magnifier(x, alpha), x, alpha)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        history.append(loss.item())
    magnifier.eval()
    return history


@torch.no_grad()
def relative_error(magnifier: FlowMagnifier, flows: torch.Tensor, alpha: float) -> float:
    """mean |F_mag(flow, alpha) - alpha * flow| / mean |alpha * flow| over a set (N, 2, H, W)."""
    magnifier.eval()
    target = alpha * flows  # (N, 2, H, W)
    out = magnifier(flows, torch.full((flows.shape[0],), float(alpha)))  # (N, 2, H, W)
    return ((out - target).abs().mean() / target.abs().mean().clamp_min(1e-12)).item()


def clip_flows(clips, method: str = "tvl1", size: int = 64, cache_dir=None, progress=None) -> torch.Tensor:
    """Onset->apex flows of clips (:func:`melib.flow.onset_apex_flow`, cached) -> (N, 2, size, size)."""
    from melib.flow import onset_apex_flow

    flows = [onset_apex_flow(c, method, size, cache_dir) for c in (progress or (lambda x: x))(clips)]
    return torch.from_numpy(np.stack(flows))  # (N, 2, size, size)


@torch.no_grad()
def magnify_flows(magnifier: FlowMagnifier, flows: torch.Tensor, alpha: float) -> torch.Tensor:
    """F_mag(flows, alpha) in eval mode: (N, 2, H, W) -> (N, 2, H, W)."""
    magnifier.eval()
    return magnifier(flows, torch.full((flows.shape[0],), float(alpha)))


def gain(out: torch.Tensor, flows: torch.Tensor, moving: float = 0.75) -> float:
    """The scale the magnifier applied: median over the moving pixels (|OF_ori| above its ``moving``
    quantile) of the per-pixel projection <OF_mag, OF_ori> / |OF_ori|^2. Median and moving pixels keep
    it robust to the estimator's isolated outlier vectors. (N, 2, H, W) x 2 -> float."""
    mag = flows.norm(dim=1)  # (N, H, W)
    sel = mag > torch.quantile(mag.flatten(), moving)
    per_pixel = (out * flows).sum(1) / mag.clamp_min(1e-12) ** 2  # (N, H, W)
    return float(per_pixel[sel].median())


def error_table(magnifier: FlowMagnifier, flows: torch.Tensor, alphas, truth: torch.Tensor | None = None):
    """Per alpha: relative L1 error of F_mag(OF_ori) against alpha * OF_ori (eq. 1's target), the gain,
    and, given the true flows, against alpha * truth (with alpha * OF_ori itself as the baseline)."""
    import pandas as pd

    rows = []
    for a in alphas:
        out = magnify_flows(magnifier, flows, a)  # (N, 2, H, W)
        row = {"alpha": a, "gain": gain(out, flows),
               "rel. L1 vs alpha*OF_ori": float((out - a * flows).abs().mean() / (a * flows).abs().mean())}
        if truth is not None:
            scale = (a * truth).abs().mean()
            row["rel. L1 vs alpha*truth"] = float((out - a * truth).abs().mean() / scale)
            row["baseline alpha*OF_ori vs alpha*truth"] = float((a * flows - a * truth).abs().mean() / scale)
        rows.append(row)
    return pd.DataFrame(rows).set_index("alpha").round(3)
