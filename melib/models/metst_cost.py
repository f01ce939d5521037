"""ME-TST size and cost, honestly (ME-TST Sec. IV: "1.370M MACs and 18.054K parameters").

- :func:`parameter_counts`: the whole module, the parameters the forward pass actually reads, and one
  Mamba layer (51,072 at d_model 64, d_state 64, expand 2, d_conv 4).
- :func:`mac_counts`: multiply-accumulates per forward of T frames by part, INCLUDING the Mamba layers'
  projections, depthwise conv and selective scan. Conventions: a Linear/Conv MAC per weight use (bias and
  activations free, as thop); BatchNorm and LayerNorm 4 per element (thop's count for affine norms);
  selective scan per token and layer 4 * d_inner * d_state (exp(delta A) argument, delta * B * u,
  the state update A_bar h + B_bar u, the read-out C h) plus 2 * d_inner (D skip and the SiLU(z) gate).
- :func:`thop_counts`: what the ``thop`` counter reports. ``fused=True`` runs each Mamba layer the way
  mamba-ssm's fused CUDA path does, reading its weights directly instead of calling its sub-modules,
  so thop's forward hooks never fire inside Mamba: that is how the paper's 18,054 / 1,369,600 arise
  (with ``paths="reference"``: the trunk runs twice, thop sees its 24 LayerNorms called 48 times).
"""

from __future__ import annotations

import contextlib
import time

import torch
from torch import nn

from melib.models.metst import METST, mamba_forward, used_parameters
from melib.ssm import Mamba


def parameter_counts(model: METST) -> dict[str, int]:
    """Whole module, actually used, one Mamba layer, and the parts thop sees in the fused setting."""
    mamba = model.spot_path.blocks[0].mamba
    lns = sum(p.numel() for blk in model.spot_path.blocks for n in ("norm0", "norm1")
              for p in getattr(blk, n).parameters())
    heads = sum(p.numel() for m in (model.fc_spot, model.fc_recog) for p in m.parameters())
    return {"whole": sum(p.numel() for p in model.parameters()), "used": used_parameters(model),
            "mamba_layer": sum(p.numel() for p in mamba.parameters()),
            "stem": sum(p.numel() for p in model.stem.parameters()), "layernorms_used": lns, "heads": heads}


def mac_counts(model: METST, T: int) -> dict[str, int]:
    """MACs of one forward over T frames (batch 1), by part; ``total`` includes the selective scan."""
    d = model.fc_spot.in_features
    convs = [m for m in model.stem if isinstance(m, nn.Conv1d)]
    conv = sum(T * c.out_channels * c.in_channels * c.kernel_size[0] for c in convs)
    bn = 2 * 4 * T * d
    m = model.spot_path.blocks[0].mamba
    di, ds, dr, dc = m.d_inner, m.d_state, m.dt_rank, m.d_conv
    n_trunk_runs = 1 if model.paths == "shared" else 2
    n_layers = len(model.spot_path.blocks) * n_trunk_runs
    ln = n_layers * 2 * 4 * T * d
    proj = T * (d * 2 * di + di * dc + di * (dr + 2 * ds) + dr * di + di * d)
    scan = T * (4 * di * ds + 2 * di)
    heads = T * d * (1 + model.n_emotions + 1)
    out = {"stem_conv": conv, "stem_bn": bn, "layernorm": ln, "heads": heads,
           "mamba_projections": n_layers * proj, "selective_scan": n_layers * scan}
    out["thop_visible"] = conv + bn + ln + heads
    out["total"] = sum(v for k, v in out.items() if k != "thop_visible")
    return out


@contextlib.contextmanager
def fused_mamba(model: nn.Module):
    """Temporarily run every Mamba layer through :func:`~melib.models.metst.mamba_forward` (weights read
    directly, no sub-module calls: what thop sees under mamba-ssm's fused path)."""
    layers = [m for m in model.modules() if isinstance(m, Mamba)]
    for m in layers:
        m.forward = (lambda mm: (lambda x: mamba_forward(mm, x)[0]))(m)
    try:
        yield model
    finally:
        for m in layers:
            del m.forward


def thop_counts(model: METST, T: int, fused: bool = True) -> tuple[int, int]:
    """(MACs, params) as the ``thop`` counter reports them for one (1, C, T) input."""
    import thop

    x = torch.zeros(1, model.in_channels, T)
    ctx = fused_mamba(model) if fused else contextlib.nullcontext()
    with ctx:
        macs, params = thop.profile(model, inputs=(x,), verbose=False)
    return int(macs), int(params)


def inference_seconds(model: METST, lengths, reps: int = 3, device: torch.device | None = None) -> list[float]:
    """Seconds of whole-video inference (:meth:`METST.predict_video`) per length: random (C, T) inputs,
    lengths interleaved over ``reps`` rounds, fastest round kept (robust to other jobs on the CPU)."""
    device = device or next(model.parameters()).device
    xs = {T: torch.randn(model.in_channels, T, device=device) for T in lengths}
    model.predict_video(xs[lengths[0]][:, :256])  # warm-up
    best = {T: float("inf") for T in lengths}
    for _ in range(reps):
        for T in lengths:
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            model.predict_video(xs[T])
            if device.type == "cuda":
                torch.cuda.synchronize()
            best[T] = min(best[T], time.perf_counter() - t0)
    return [best[T] for T in lengths]
