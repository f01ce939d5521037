"""Selective scan (Mamba-1, Gu & Dao 2023, eq. 2a-2b with the ZOH/Euler discretisation of sec. 3.5).

For every channel d and state n, with Delta = delta (after ``delta_bias`` and softplus):

    h_t = exp(Delta_t * A) * h_{t-1} + Delta_t * B_t * u_t      (discretised recurrence)
    y_t = <C_t, h_t> + D * u_t,   then  y_t *= silu(z_t)        (read-out, skip, gate)

Argument convention = mamba-ssm's ``selective_scan_fn``: u, delta, z (b, d, l); A (d, n);
B, C (b, n, l) or grouped (b, g, n, l) with d divisible by g; D, delta_bias (d).

The compiled CPU kernel (:func:`melib.ssm.cpu_kernel.selective_scan_numba`, numba) runs by default on
CPU tensors when numba is importable; three pure-PyTorch implementations are the teaching references and
the fallback, all equal to the recurrence (tests/test_ssm_scan.py, tests/test_ssm_numba.py):
- :func:`selective_scan_ref`: the recurrence written to be read, one step per Python iteration.
- :func:`selective_scan_fused`: the same recurrence as one autograd node with a hand-written backward
  (no per-step autograd graph), in cache-sized blocks of steps: discretisation, read-out and all
  gradients are one tensor operation per block, only the state update is stepped. The fastest pure
  path on a CPU; the default without numba (or under ``use_backend("torch")``).
- :func:`selective_scan_chunked`: the parallel form. Inside a chunk of T steps the recurrence is solved
  in closed form with cumulative sums in log space,
  h_t = exp(a_t) * sum_{s<=t} exp(-a_s) Delta_s B_s u_s,  a_t = A * sum_{r<=t} Delta_r,
  and chunks are chained by their end states. T shrinks automatically so that exp(+-a) stays finite.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# |exponent| allowed inside one chunk of the log-space scan, per dtype (e^60 ~ 1e26 < float32 max).
_EXP_LIMIT = {torch.float32: 60.0, torch.float64: 600.0, torch.float16: 8.0, torch.bfloat16: 60.0}


def _check(u, delta, A, B, C):
    if u.dim() != 3 or delta.shape != u.shape:
        raise ValueError(f"u and delta must both be (b, d, l); got u {tuple(u.shape)}, delta {tuple(delta.shape)}")
    b, d, l = u.shape
    if A.dim() != 2 or A.shape[0] != d:
        raise ValueError(f"A must be (d={d}, n); got {tuple(A.shape)}")
    n = A.shape[1]
    for name, M in (("B", B), ("C", C)):
        ok = (M.dim() == 3 and tuple(M.shape) == (b, n, l)) or (
            M.dim() == 4 and M.shape[0] == b and M.shape[2:] == (n, l) and d % M.shape[1] == 0
        )
        if not ok:
            raise ValueError(f"{name} must be (b={b}, n={n}, l={l}) or (b, g, n, l) with g dividing d={d}; "
                             f"got {tuple(M.shape)}")


def _per_channel(M: torch.Tensor, d: int) -> torch.Tensor:
    """B or C as (b, d, n, l): shared (b, n, l) or grouped (b, g, n, l) expanded to the d channels."""
    if M.dim() == 3:
        return M[:, None]  # (b, 1, n, l)
    return M.repeat_interleave(d // M.shape[1], dim=1)  # (b, d, n, l)


def discretise_delta(delta, delta_bias=None, delta_softplus=False):
    """Delta = softplus(delta + delta_bias) (as mamba-ssm), or delta (+ bias) as given."""
    if delta_bias is not None:
        delta = delta + delta_bias[None, :, None].to(delta.dtype)  # (b, d, l)
    return F.softplus(delta) if delta_softplus else delta


def _finish(y, u, D, z):
    """y + D * u, then the gate y * silu(z) (mamba-ssm's order)."""
    if D is not None:
        y = y + u * D[None, :, None].to(u.dtype)  # (b, d, l)
    if z is not None:
        y = y * F.silu(z)  # (b, d, l)
    return y


def selective_scan_ref(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False,
                       return_last_state=False):
    """The selective-scan recurrence, one time step at a time (the reference every fast path must equal)."""
    _check(u, delta, A, B, C)
    delta = discretise_delta(delta, delta_bias, delta_softplus)
    b, d, l = u.shape
    Bd, Cd = _per_channel(B, d), _per_channel(C, d)  # (b, d|1, n, l)
    h = u.new_zeros(b, d, A.shape[1])  # (b, d, n)
    ys = []
    for t in range(l):
        dt = delta[:, :, t, None]  # (b, d, 1)
        A_bar = torch.exp(dt * A)  # (b, d, n)   ZOH: exp(Delta A)
        B_bar = dt * Bd[..., t]  # (b, d, n)     Euler: Delta B
        h = A_bar * h + B_bar * u[:, :, t, None]  # (b, d, n)
        ys.append((h * Cd[..., t]).sum(-1))  # (b, d)
    y = _finish(torch.stack(ys, dim=-1), u, D, z)  # (b, d, l)
    return (y, h) if return_last_state else y


BLOCK_ELEMENTS = 1 << 16  # elements of one (T, b, d, n) block of the fused scan (256 KiB in float32)


def _block_size(b, d, n, l):
    """Steps per block so that one (T, b, d, n) block tensor holds about BLOCK_ELEMENTS (stays in cache)."""
    return max(1, min(l, BLOCK_ELEMENTS // max(1, b * d * n)))


class _FusedScan(torch.autograd.Function):
    """The recurrence as one autograd node, in blocks of T steps that fit in cache.

    Per block, exp(Delta A), Delta B u and the read-out with C are single tensor operations; only
    h_t = A_bar_t * h_{t-1} + X_t is stepped (one ``addcmul`` per step). Backward steps only the
    reversed recurrence g_t = C_t gy_t + A_bar_{t+1} g_{t+1} and forms every gradient per block.
    Inputs: u, delta (b, d, l) with Delta final, A (d, n), B, C (b, d|1, n, l). Keeps H (l, b, d, n).
    """

    @staticmethod
    def forward(ctx, u, delta, A, B, C):
        b, d, l = u.shape
        H = u.new_empty(l, b, d, A.shape[1])  # (l, b, d, n)
        y = u.new_empty(l, b, d)
        h = u.new_zeros(b, d, A.shape[1])  # (b, d, n)
        T = _block_size(b, d, A.shape[1], l)
        for t0 in range(0, l, T):
            sl = slice(t0, min(t0 + T, l))
            dl = delta[:, :, sl].permute(2, 0, 1)[..., None]  # (T, b, d, 1)
            A_bar = torch.exp(dl * A)  # (T, b, d, n)
            X = (dl * u[:, :, sl].permute(2, 0, 1)[..., None]) * B[..., sl].permute(3, 0, 1, 2)  # (T, b, d, n)
            for a_t, x_t, h_out in zip(A_bar.unbind(0), X.unbind(0), H[sl].unbind(0)):
                h = torch.addcmul(x_t, a_t, h, out=h_out)  # (b, d, n)
            y[sl] = (H[sl] * C[..., sl].permute(3, 0, 1, 2)).sum(-1)  # (T, b, d)
        ctx.save_for_backward(u, delta, A, B, C, H)
        return y.permute(1, 2, 0), H[-1].clone()

    @staticmethod
    def backward(ctx, gy, g_last):
        u, delta, A, B, C, H = ctx.saved_tensors
        b, d, l = u.shape
        n = A.shape[1]
        gy = gy.permute(2, 0, 1)  # (l, b, d)
        gu, gdelta = torch.empty(l, b, d, dtype=u.dtype, device=u.device), torch.empty_like(gy, dtype=u.dtype)
        gA, gB, gC = torch.zeros_like(A), torch.empty_like(B), torch.empty_like(C)
        carry = g_last if g_last is not None else u.new_zeros(b, d, n)  # dL/dh_t from steps after the block
        T = _block_size(b, d, n, l)
        for t0 in reversed(range(0, l, T)):
            t1 = min(t0 + T, l)
            sl = slice(t0, t1)
            dl = delta[:, :, sl].permute(2, 0, 1)[..., None]  # (T, b, d, 1)
            ul = u[:, :, sl].permute(2, 0, 1)[..., None]  # (T, b, d, 1)
            A_bar = torch.exp(dl * A)  # (T, b, d, n)
            Bl, Cl = B[..., sl].permute(3, 0, 1, 2), C[..., sl].permute(3, 0, 1, 2)  # (T, b, d|1, n)
            G = gy[sl][..., None] * Cl  # (T, b, d, n)  direct gradient of each h_t
            GH = torch.empty_like(G)
            g = carry
            for i in range(t1 - t0 - 1, -1, -1):
                g = torch.add(G[i], g, out=GH[i])  # (b, d, n)
                if i > 0:
                    g = A_bar[i] * g  # to h_{t-1}
            carry = A_bar[0] * GH[0]
            H_prev = H[t0 - 1 : t1 - 1] if t0 > 0 else torch.cat([H.new_zeros(1, b, d, n), H[: t1 - 1]])
            g_a = GH * A_bar * H_prev  # (T, b, d, n)  dL/dA_bar * A_bar
            ghB = (GH * Bl).sum(-1)  # (T, b, d)
            gdelta[sl] = (g_a * A).sum(-1) + ul[..., 0] * ghB
            gA += (g_a * dl).sum((0, 1))
            gu[sl] = dl[..., 0] * ghB
            gb = GH * (dl * ul)  # (T, b, d, n)
            gc = gy[sl][..., None] * H[sl]  # (T, b, d, n)
            gB[..., sl] = (gb.sum(2, keepdim=True) if B.shape[1] == 1 and d > 1 else gb).permute(1, 2, 3, 0)
            gC[..., sl] = (gc.sum(2, keepdim=True) if C.shape[1] == 1 and d > 1 else gc).permute(1, 2, 3, 0)
        return gu.permute(1, 2, 0), gdelta.permute(1, 2, 0), gA, gB, gC


def selective_scan_fused(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False,
                         return_last_state=False):
    """The recurrence as one autograd node with a hand-written backward (the CPU fast path)."""
    _check(u, delta, A, B, C)
    delta = discretise_delta(delta, delta_bias, delta_softplus)
    d = u.shape[1]
    Bd, Cd = _per_channel(B, d).contiguous(), _per_channel(C, d).contiguous()  # (b, d|1, n, l)
    y, h = _FusedScan.apply(u.contiguous(), delta.contiguous(), A.contiguous(), Bd, Cd)  # (b, d, l), (b, d, n)
    y = _finish(y, u, D, z)
    return (y, h) if return_last_state else y


def _safe_chunk(delta, A, chunk_size):
    """Largest power-of-two chunk <= chunk_size whose in-chunk decay |A| * sum(Delta) stays finite in exp."""
    limit = _EXP_LIMIT.get(delta.dtype, 60.0)
    a_max = A.detach().abs().amax(dim=1)[None, :, None]  # (1, d, 1)
    T = 1 << max(int(chunk_size), 1).bit_length() - 1
    while T > 1:
        pad = (-delta.shape[-1]) % T
        sums = F.pad(delta.detach(), (0, pad)).unflatten(-1, (-1, T)).sum(-1)  # (b, d, c)
        if float((sums * a_max).max()) <= limit:
            break
        T //= 2
    return T


def selective_scan_chunked(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False,
                           chunk_size=64, return_last_state=False):
    """Parallel (log-space cumulative-sum) scan inside chunks, chunk end states chained in order."""
    _check(u, delta, A, B, C)
    delta = discretise_delta(delta, delta_bias, delta_softplus)
    b, d, l = u.shape
    T = _safe_chunk(delta, A, chunk_size)
    pad = (-l) % T  # padded steps have Delta = 0: no decay, no input, outputs dropped
    dl = F.pad(delta, (0, pad)).unflatten(-1, (-1, T))  # (b, d, c, T)
    ul = F.pad(u, (0, pad)).unflatten(-1, (-1, T))  # (b, d, c, T)
    Bc = F.pad(_per_channel(B, d), (0, pad)).unflatten(-1, (-1, T)).permute(0, 1, 3, 4, 2)  # (b, d|1, c, T, n)
    Cc = F.pad(_per_channel(C, d), (0, pad)).unflatten(-1, (-1, T)).permute(0, 1, 3, 4, 2)  # (b, d|1, c, T, n)
    a = dl.cumsum(-1)[..., None] * A[None, :, None, None, :]  # (b, d, c, T, n), <= 0
    E = torch.exp(a)  # (b, d, c, T, n)  decay from the chunk start to step t
    h_local = E * (torch.exp(-a) * (dl * ul)[..., None] * Bc).cumsum(-2)  # (b, d, c, T, n)
    starts, h = [], u.new_zeros(b, d, A.shape[1])  # (b, d, n)
    for k in range(dl.shape[2]):
        starts.append(h)
        h = E[:, :, k, -1] * h + h_local[:, :, k, -1]  # (b, d, n)
    H = h_local + E * torch.stack(starts, dim=2)[:, :, :, None]  # (b, d, c, T, n)
    y = (H * Cc).sum(-1).flatten(2)[..., :l]  # (b, d, l)
    y = _finish(y, u, D, z)
    return (y, h) if return_last_state else y


METHODS = {"ref": selective_scan_ref, "fused": selective_scan_fused, "chunked": selective_scan_chunked}


def selective_scan(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False,
                   return_last_state=False, method="auto"):
    """Selective scan with mamba-ssm's ``selective_scan_fn`` signature.

    ``method``: "auto" (what :func:`melib.ssm.backend` says for these tensors: mamba-ssm's CUDA kernel,
    the numba CPU kernel, or else "fused"), "numba" (CPU only), "fused", "chunked", "ref", or "mamba_ssm"
    (the kernel, CUDA only).
    """
    from melib.ssm.backend import backend, kernels

    if method == "auto":
        method = {"mamba_ssm": "mamba_ssm", "numba": "numba"}.get(backend(u.device), "fused")
    if method == "mamba_ssm":
        fn = kernels(require=True).selective_scan_fn
        return fn(u, delta, A, B, C, D, z, delta_bias, delta_softplus, return_last_state)
    if method == "numba":
        from melib.ssm.cpu_kernel import selective_scan_numba

        return selective_scan_numba(u, delta, A, B, C, D, z, delta_bias, delta_softplus,
                                    return_last_state=return_last_state)
    if method not in METHODS:
        raise ValueError(f"method must be 'auto', 'mamba_ssm', 'numba' or one of {sorted(METHODS)}; got {method!r}")
    return METHODS[method](u, delta, A, B, C, D, z, delta_bias, delta_softplus,
                           return_last_state=return_last_state)
