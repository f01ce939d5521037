"""State space duality (Mamba-2, Dao & Gu 2024, sec. 6-7) and its non-causal form NC-SSD (VSSD, Shi et al.
2024), the mixer of AMMSM's SSSD block (AMMSM eq. 6).

Argument convention = mamba-ssm's ``mamba_chunk_scan_combined``: x (b, l, h, p), dt (b, l, h),
A (h) (negative), B, C (b, l, g, n) with h divisible by g; D (h); z (b, l, h, p).

SSD is the selective scan with one scalar decay per head: h_t = exp(dt_t A) h_{t-1} + dt_t B_t x_t^T,
y_t = C_t h_t. As a matrix, y = M x with the semiseparable M[t, s] = C_t.B_s * exp(sum_{r=s+1..t} dt_r A)
for s <= t (:func:`ssd_matrix`). :func:`ssd_chunked` evaluates it by block decomposition (Mamba-2
listing 1): diagonal blocks as small masked matrices, off-diagonal blocks through chunk states.

NC-SSD drops the causal mask and the decay: Y = C (B^T (x * m)) + D * x with m = dt * |A| per token and
head -- linear attention with Q = C, K = B. Replication note: AMMSM eq. 6 writes the factor as 1/A;
VSSD's public code multiplies by dt * |A|. ``scale="dt_a"`` (default) follows the code,
``scale="inv_a"`` the paper's wording taken literally (m = 1/|A|, no dt).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from melib.ssm.scan import selective_scan_ref


def _check(x, dt, A, B, C):
    if x.dim() != 4:
        raise ValueError(f"x must be (b, l, h, p); got {tuple(x.shape)}")
    b, l, h, _ = x.shape
    if tuple(dt.shape) != (b, l, h) or tuple(A.shape) != (h,):
        raise ValueError(f"dt must be (b, l, h)={(b, l, h)} and A (h,)={(h,)}; got {tuple(dt.shape)}, {tuple(A.shape)}")
    for name, M in (("B", B), ("C", C)):
        if M.dim() != 4 or tuple(M.shape[:2]) != (b, l) or h % M.shape[2] != 0:
            raise ValueError(f"{name} must be (b={b}, l={l}, g, n) with g dividing h={h}; got {tuple(M.shape)}")


def _dt(dt, dt_bias, dt_softplus):
    if dt_bias is not None:
        dt = dt + dt_bias.to(dt.dtype)  # (b, l, h)
    return F.softplus(dt) if dt_softplus else dt


def _heads(M, h):
    """(b, l, g, n) -> (b, l, h, n): head i uses group i // (h/g), as mamba-ssm."""
    return M.repeat_interleave(h // M.shape[2], dim=2)


def _finish(y, x, D, z):
    if D is not None:
        y = y + x * D[:, None].to(x.dtype)  # (b, l, h, p)
    if z is not None:
        y = y * F.silu(z)
    return y


def segsum(a: torch.Tensor) -> torch.Tensor:
    """(..., T) -> (..., T, T): out[t, s] = a[s+1] + ... + a[t] for s <= t, -inf above the diagonal.

    Summed from a masked copy (not as a difference of cumulative sums), so exp() of it is exact and stable.
    """
    T = a.shape[-1]
    rep = a[..., None, :].expand(*a.shape, T).transpose(-1, -2)  # (..., T, T): rep[t, s] = a[t]
    low = torch.tril(torch.ones(T, T, dtype=torch.bool, device=a.device), -1)
    out = rep.masked_fill(~low, 0).cumsum(-2)  # (..., T, T)
    return out.masked_fill(~torch.tril(torch.ones_like(low)), float("-inf"))


def ssd_matrix(dt, A, B, C):
    """The semiseparable matrix M (b, h, l, l) of SSD: y = M (x * dt) per head (diagnostic, O(l^2))."""
    h = dt.shape[-1]
    L = torch.exp(segsum((dt * A).transpose(1, 2)))  # (b, h, l, l) decay mask
    return torch.einsum("bthn,bshn->bhts", _heads(C, h), _heads(B, h)) * L


def ssd_ref(x, dt, A, B, C, D=None, z=None, dt_bias=None, dt_softplus=False):
    """SSD through the selective-scan recurrence (one scalar decay per head, shared over n and p)."""
    _check(x, dt, A, B, C)
    b, l, h, p = x.shape
    n = B.shape[-1]
    dt = _dt(dt, dt_bias, dt_softplus)
    u = x.permute(0, 2, 3, 1).reshape(b, h * p, l)  # (b, h*p, l)
    delta = dt.permute(0, 2, 1).repeat_interleave(p, dim=1)  # (b, h*p, l)
    A_dn = A.repeat_interleave(p)[:, None].expand(h * p, n)  # (h*p, n)
    y = selective_scan_ref(u, delta, A_dn, B.permute(0, 2, 3, 1), C.permute(0, 2, 3, 1))  # groups of h*p/g
    y = y.reshape(b, h, p, l).permute(0, 3, 1, 2)  # (b, l, h, p)
    return _finish(y, x, D, z)


def ssd_steps(x, dt, A, B, C, chunk_size=64, initial_states=None):
    """The four steps of the block decomposition (Mamba-2 sec. 6, listing 1), on final dt; a dict of
    the intermediate tensors, padded to whole chunks (dt = 0 on padding: no decay, no input)."""
    b, l, h, p = x.shape
    T = int(chunk_size)
    pad = (-l) % T
    xs = F.pad(x * dt[..., None], (0, 0, 0, 0, 0, pad)).unflatten(1, (-1, T))  # (b, c, T, h, p)
    Bh = F.pad(_heads(B, h), (0, 0, 0, 0, 0, pad)).unflatten(1, (-1, T))  # (b, c, T, h, n)
    Ch = F.pad(_heads(C, h), (0, 0, 0, 0, 0, pad)).unflatten(1, (-1, T))  # (b, c, T, h, n)
    a = F.pad(dt * A, (0, 0, 0, pad)).unflatten(1, (-1, T)).permute(0, 3, 1, 2)  # (b, h, c, T)
    a_cum = a.cumsum(-1)  # (b, h, c, T)
    # 1. diagonal blocks: y = (C B^T o L) x inside each chunk
    L = torch.exp(segsum(a))  # (b, h, c, T, T)
    scores = torch.einsum("bcthn,bcshn->bchts", Ch, Bh) * L.transpose(1, 2)  # (b, c, h, T, T)
    y_diag = torch.einsum("bchts,bcshp->bcthp", scores, xs)  # (b, c, T, h, p)
    # 2. state of each chunk from its own inputs, decayed to the chunk end
    decay_out = torch.exp(a_cum[..., -1:] - a_cum)  # (b, h, c, T)
    Bd = Bh * decay_out.permute(0, 2, 3, 1)[..., None]  # (b, c, T, h, n)
    states = torch.einsum("bcshn,bcshp->bchpn", Bd, xs)  # (b, c, h, p, n)
    # 3. chain the chunk states in order (c steps; linear in l)
    s = x.new_zeros(b, h, p, Bh.shape[-1]) if initial_states is None else initial_states  # (b, h, p, n)
    chunk_decay = torch.exp(a_cum[..., -1])  # (b, h, c)
    starts = []
    for k in range(states.shape[1]):
        starts.append(s)
        s = chunk_decay[:, :, k, None, None] * s + states[:, k]  # (b, h, p, n)
    starts = torch.stack(starts, 1)  # (b, c, h, p, n)
    # 4. off-diagonal blocks: read the incoming state out with C, decayed from the chunk start
    Cd = Ch * torch.exp(a_cum).permute(0, 2, 3, 1)[..., None]  # (b, c, T, h, n)
    y_off = torch.einsum("bcthn,bchpn->bcthp", Cd, starts)  # (b, c, T, h, p)
    return {"L": L, "y_diag": y_diag, "states": states, "starts": starts, "final": s, "y_off": y_off}


def ssd_chunked(x, dt, A, B, C, chunk_size=64, D=None, z=None, dt_bias=None, dt_softplus=False,
                initial_states=None, return_final_states=False):
    """Causal SSD by block decomposition (:func:`ssd_steps`); linear in l for a fixed chunk size.

    On CUDA with the mamba_ssm backend this calls its fused ``mamba_chunk_scan_combined`` instead.
    """
    _check(x, dt, A, B, C)
    from melib.ssm.backend import backend, kernels

    if backend(x.device) == "mamba_ssm":
        return kernels(require=True).mamba_chunk_scan_combined(
            x, dt, A, B, C, chunk_size, D=D, z=z, dt_bias=dt_bias, initial_states=initial_states,
            dt_softplus=dt_softplus, return_final_states=return_final_states)
    st = ssd_steps(x, _dt(dt, dt_bias, dt_softplus), A, B, C, chunk_size, initial_states)
    y = _finish((st["y_diag"] + st["y_off"]).flatten(1, 2)[:, : x.shape[1]], x, D, z)  # (b, l, h, p)
    return (y, st["final"]) if return_final_states else y


def nc_weight(dt, A, scale="dt_a"):
    """Per-token, per-head input weight m of NC-SSD (b, l, h): dt * |A| (code) or 1 / |A| (paper eq. 6)."""
    if scale == "dt_a":
        return dt * A.abs()
    if scale == "inv_a":
        return (1.0 / A.abs()).expand_as(dt)
    raise ValueError(f"scale must be 'dt_a' (VSSD code) or 'inv_a' (AMMSM eq. 6 as written); got {scale!r}")


def nc_ssd(x, dt, A, B, C, D=None, z=None, dt_bias=None, dt_softplus=False, scale="dt_a"):
    """NC-SSD: Y = C (B^T (x * m)) + D * x, global linear attention in O(l * n * p) per head."""
    _check(x, dt, A, B, C)
    b, l, h, p = x.shape
    g = B.shape[2]
    m = nc_weight(_dt(dt, dt_bias, dt_softplus), A, scale)  # (b, l, h)
    xm = (x * m[..., None]).reshape(b, l, g, h // g, p)  # (b, l, g, r, p): heads of a group share B, C
    kv = torch.einsum("blgn,blgrp->bgnrp", B, xm)  # (b, g, n, r, p) one global state per head
    y = torch.einsum("blgn,bgnrp->blgrp", C, kv).reshape(b, l, h, p)  # (b, l, h, p)
    return _finish(y, x, D, z)


def nc_ssd_ref(x, dt, A, B, C, D=None, z=None, dt_bias=None, dt_softplus=False, scale="dt_a"):
    """NC-SSD through the recurrence: a scan with no decay (A = 0) read out from its final state."""
    _check(x, dt, A, B, C)
    b, l, h, p = x.shape
    n = B.shape[-1]
    m = nc_weight(_dt(dt, dt_bias, dt_softplus), A, scale)  # (b, l, h)
    u = x.permute(0, 2, 3, 1).reshape(b, h * p, l)  # (b, h*p, l)
    delta = m.permute(0, 2, 1).repeat_interleave(p, dim=1)  # (b, h*p, l)
    _, state = selective_scan_ref(u, delta, x.new_zeros(h * p, n), B.permute(0, 2, 3, 1), C.permute(0, 2, 3, 1),
                                  return_last_state=True)  # (b, h*p, n) = sum_s m_s x_s B_s
    Ch = _heads(C, h)  # (b, l, h, n)
    y = torch.einsum("blhn,bhpn->blhp", Ch, state.reshape(b, h, p, n))  # (b, l, h, p)
    return _finish(y, x, D, z)
