"""Selective scan as a compiled CPU kernel (numba): forward and backward, parallel over batch x channels.

The recurrence of :func:`melib.ssm.scan.selective_scan_ref` (Mamba eq. 2a-2b, sec. 3.5), for every
channel d of every sequence, with Delta already discretised:

    h_t = exp(Delta_t A) * h_{t-1} + Delta_t B_t u_t,      y_t = <C_t, h_t>

Delta's bias and softplus, the skip D u and the gate y * silu(z) are elementwise PyTorch operations
around the kernel (autograd differentiates them), as in :func:`melib.ssm.scan.selective_scan_fused`.

- Forward (:func:`_forward_row` per sequence and channel): only the last state is kept.
- Backward (:func:`_backward_row`): recompute the channel's states h_t and factors exp(Delta_t A), run
  the reversed recurrence G_t = exp(Delta_{t+1} A) G_{t+1} + gy_t C_t (G_t = dL/dh_t) and form the
  gradients of u, Delta, A, B, C. B and C are shared by the channels of a group, so their gradients are
  summed per work item into its own slice (no two threads write one element) and then over items.
- The innermost loops run over the n states, contiguous in memory, so the compiler vectorises them;
  exp(x) is computed as 2**(x log2 e) by a polynomial with an exact power-of-two scaling (``_exp2_32``,
  ``_exp2_64``), since numba's ``math.exp`` is a scalar library call that cannot be vectorised. It
  saturates at the smallest/largest normal power of two instead of returning 0/inf.

numba compiles on first use (one specialisation per dtype, float32 and float64; ~10 s in all) and caches
the machine code in ``__pycache__`` next to this file (``cache=True``), so later processes load it in
well under a second. :func:`available` says whether numba is importable; :func:`selective_scan_numba`
is the entry point (autograd-aware), used by :func:`melib.ssm.scan.selective_scan` on CPU tensors.
"""

from __future__ import annotations

import math
import os
import threading

import numpy as np
import torch

try:
    import numba
    from numba import njit, prange
    from numba.core import types
    from numba.extending import intrinsic, overload
except ImportError:  # the pure-PyTorch paths remain (melib.ssm.backend reports "torch")
    numba = None
else:
    # numba's own task queue: its threads sleep between kernels. The OpenMP layer's threads spin after
    # each kernel and then slow PyTorch's own OpenMP threads (measured here: a following Python loop of
    # torch ops ran 40x slower). NUMBA_THREADING_LAYER in the environment still decides when set.
    if "NUMBA_THREADING_LAYER" not in os.environ:
        numba.config.THREADING_LAYER = "workqueue"

FLOAT_DTYPES = (torch.float32, torch.float64)
_LOCK = threading.Lock()
_LOG2E = 1.4426950408889634


def available() -> bool:
    """True when numba is importable (the compiled kernel can run)."""
    return numba is not None


def _exp2(x):
    """2**x (numpy; inside the kernels, the vectorisable polynomial ``_exp2_32`` / ``_exp2_64``)."""
    return np.exp2(x)


if numba is not None:
    _JIT = dict(cache=True, nogil=True)
    _FAST = {"reassoc", "contract", "nsz"}  # reorder sums (vectorised reductions), fuse multiply-adds

    def _bitcast(src, dst):
        """An intrinsic that reinterprets the bits of a ``src`` scalar as a ``dst`` scalar (same width)."""
        @intrinsic
        def cast(typingctx, x):
            def codegen(context, builder, sig, args):
                return builder.bitcast(args[0], context.get_value_type(dst))
            return dst(src), codegen
        return cast

    _f64_bits, _bits_f64 = _bitcast(types.float64, types.int64), _bitcast(types.int64, types.float64)
    _f32_bits, _bits_f32 = _bitcast(types.float32, types.int32), _bitcast(types.int32, types.float32)

    @njit(**_JIT)
    def _exp2_64(x):
        """2**x in float64 to ~1 ulp: x = k + r, |r| <= 1/2, 2**r by its degree-12 Taylor series in r ln 2
        (error < 2e-16), 2**k added to the exponent bits. Saturates to [2**-1022, 2**1023]; branch-free."""
        x = min(max(x, -1022.0), 1023.0)
        k = np.rint(x)
        r = x - k
        p = ((((((2.5678435993488196e-11 * r + 4.44553827187081e-10) * r + 7.054911620801121e-09) * r
                + 1.0178086009239696e-07) * r + 1.3215486790144305e-06) * r + 1.5252733804059838e-05) * r
             + 0.00015403530393381606) * r + 0.0013333558146428441
        p = ((((p * r + 0.009618129107628477) * r + 0.055504108664821576) * r + 0.2402265069591007) * r
             + 0.6931471805599453) * r + 1.0
        return _bits_f64(_f64_bits(p) + (np.int64(k) << 52))

    @njit(**_JIT)
    def _exp2_32(x):
        """2**x in float32 to ~2 ulp: x = k + r, degree-5 Chebyshev fit of 2**r on [-1/2, 1/2] (relative
        error 1.0e-7), 2**k added to the exponent bits. Saturates to [2**-126, 2**127]; branch-free."""
        x = min(max(x, np.float32(-126.0)), np.float32(127.0))
        k = np.rint(x)
        r = x - k
        p = ((((np.float32(0.001339086336353527) * r + np.float32(0.009676031918255982)) * r
               + np.float32(0.05550357114222094)) * r + np.float32(0.2402210748530968)) * r
             + np.float32(0.6931471880262273)) * r + np.float32(1.0000000754548972)
        return _bits_f32(_f32_bits(p) + (np.int32(k) << np.int32(23)))

    @overload(_exp2, jit_options=_JIT)
    def _exp2_overload(x):
        if x == types.float64:
            return lambda x: _exp2_64(x)
        if x == types.float32:
            return lambda x: _exp2_32(x)
        return None

    def _forward_row_for(lanes):
        """:func:`_forward_row` for ``lanes`` states exactly (a compile-time trip count: the compiler then
        vectorises the state loop without runtime length checks or a remainder loop), or any number (0)."""

        @njit(fastmath=_FAST, **_JIT)
        def row(u, delta, A2d, Bg, Cg, y, h):
            """One channel of one sequence: y (l,) = <C_t, h_t>, h (n,) from 0 to h_l; u, delta (l,),
            A2d (n,), Bg, Cg (l, n). The innermost loop runs over the n states (SIMD lanes)."""
            T = u.dtype.type  # every variable of the inner loop stays in the input precision
            n = lanes if lanes else h.shape[0]
            h[:] = 0.0
            for t in range(u.shape[0]):
                dt = delta[t]
                du = dt * u[t]
                Bv, Cv = Bg[t], Cg[t]
                acc = T(0.0)
                for k in range(n):
                    v = _exp2(dt * A2d[k]) * h[k] + du * Bv[k]
                    h[k] = v
                    acc += Cv[k] * v
                y[t] = acc

        return row

    # 16 states (ME-TST teach, Mamba's default) fill one or two SIMD vectors: with a fixed trip count
    # the per-step overhead of a runtime-length loop goes (1.2-1.5x at L 4096, d_inner 128, one thread); for 32 and more
    # the runtime-length loop is as fast (the compiler interleaves several vectors).
    _forward_row16, _forward_row = _forward_row_for(16), _forward_row_for(0)

    @njit(parallel=True, **_JIT)
    def _forward(u, delta, A2, Bt, Ct, y, h_last):
        """y (b, d, l) = <C_t, h_t> and h_last (b, d, n) from u, delta (b, d, l) (Delta final), A2 = A log2(e)
        (d, n), Bt, Ct (b, g, l, n); one work item per (sequence, channel)."""
        b, d, _ = u.shape
        per_group = d // Bt.shape[1]
        for i in prange(b * d):
            bi, di = i // d, i % d
            gi = di // per_group
            if A2.shape[1] == 16:
                _forward_row16(u[bi, di], delta[bi, di], A2[di], Bt[bi, gi], Ct[bi, gi], y[bi, di], h_last[bi, di])
            else:
                _forward_row(u[bi, di], delta[bi, di], A2[di], Bt[bi, gi], Ct[bi, gi], y[bi, di], h_last[bi, di])

    @njit(fastmath=_FAST, **_JIT)
    def _backward_row(u, delta, Ad, A2d, Bg, Cg, gy, g_last, gu, gdelta, gAd, gBs, gCs, H, E, G, r):
        """One channel of one sequence (arguments as :func:`_forward_row`, gradients alike; gBs, gCs (l, n)
        accumulate over channels). Recompute the states H (l + 1, n) and factors E = exp(Delta A) (l + 1, n);
        run the reversed recurrence G_t = E_{t+1} G_{t+1} + gy_t C_t (G_t = dL/dh_t, G_l = g_last) with the
        sums over states that give dL/dDelta_t and dL/du_t; then the per-state sums for A, B, C. Each inner
        loop writes one array, so each vectorises. H, E, G (l + 1, n) and r (n,) are scratch space."""
        T = u.dtype.type
        l, n = u.shape[0], Ad.shape[0]
        # The running state and gradient live in 1-D arrays written in place: a loop that writes row
        # t + 1 of a 2-D array while reading row t does not vectorise (the compiler cannot rule out
        # overlapping rows), one that updates r[k] from r[k] does.
        r[:] = 0.0
        H[0] = 0.0  # H[t + 1] = h_t, H[0] = h_{-1} = 0
        E[l] = 1.0
        for t in range(l):  # forward again, keeping the states
            dt = delta[t]
            du = dt * u[t]
            Bv, Et, Hn = Bg[t], E[t], H[t + 1]
            for k in range(n):
                e = _exp2(dt * A2d[k])
                Et[k] = e
                v = e * r[k] + du * Bv[k]
                r[k] = v
                Hn[k] = v
        r[:] = g_last
        for t in range(l - 1, -1, -1):
            go = gy[t]
            En, Gt, Cv, Bv, Et, Hp = E[t + 1], G[t], Cg[t], Bg[t], E[t], H[t]
            sA, sB = T(0.0), T(0.0)
            for k in range(n):
                gk = En[k] * r[k] + go * Cv[k]
                r[k] = gk
                Gt[k] = gk
                sA += gk * Et[k] * Hp[k] * Ad[k]  # dL/dDelta_t through exp(Delta_t A)
                sB += gk * Bv[k]  # dL/d(Delta_t u_t)
            gdelta[t] = sA + u[t] * sB
            gu[t] = delta[t] * sB
        gAd[:] = 0.0
        for t in range(l):
            dt, go = delta[t], gy[t]
            du = dt * u[t]
            Gt, Et, Hp, Hn, gBv, gCv = G[t], E[t], H[t], H[t + 1], gBs[t], gCs[t]
            for k in range(n):
                gAd[k] += Gt[k] * Et[k] * Hp[k] * dt
            for k in range(n):
                gBv[k] += Gt[k] * du
            for k in range(n):
                gCv[k] += go * Hn[k]

    @njit(parallel=True, **_JIT)
    def _backward(u, delta, A, A2, Bt, Ct, gy, g_last, parts, gu, gdelta, gA_b, gB_p, gC_p):
        """Gradients of :func:`_forward` given gy (b, d, l) and g_last (b, d, n) (dL/dh_l).

        Work item (sequence, group, part) takes the channels of one ``parts``-th of a group in turn
        (:func:`_backward_row`); its B/C sums go to its own slot of gB_p, gC_p (b, g, parts, l, n), so no
        two threads write one element. gA_b (b, d, n) is summed over b by the caller.
        """
        b, d, l = u.shape
        n = A.shape[1]
        groups = Bt.shape[1]
        per_group = d // groups
        for item in prange(b * groups * parts):
            bi, rest = item // (groups * parts), item % (groups * parts)
            gi, p = rest // parts, rest % parts
            H = np.empty((l + 1, n), dtype=u.dtype)
            E = np.empty((l + 1, n), dtype=u.dtype)
            G = np.empty((l + 1, n), dtype=u.dtype)
            r = np.empty(n, dtype=u.dtype)
            for di in range(gi * per_group + (p * per_group) // parts, gi * per_group + ((p + 1) * per_group) // parts):
                _backward_row(u[bi, di], delta[bi, di], A[di], A2[di], Bt[bi, gi], Ct[bi, gi], gy[bi, di],
                              g_last[bi, di], gu[bi, di], gdelta[bi, di], gA_b[bi, di], gB_p[bi, gi, p],
                              gC_p[bi, gi, p], H, E, G, r)


def _parts(b: int, groups: int, per_group: int) -> int:
    """Channel parts per (sequence, group) for the backward: >= 4 work items per thread (load balance)."""
    want = 4 * numba.get_num_threads()
    return max(1, min(per_group, -(-want // max(1, b * groups))))


def _grouped(M: torch.Tensor, groups: int) -> torch.Tensor:
    """B or C, (b, n, l) or (b, g, n, l), as (b, groups, l, n) contiguous (groups a multiple of g)."""
    M = M[:, None] if M.dim() == 3 else M
    if groups > M.shape[1]:
        M = M.repeat_interleave(groups // M.shape[1], 1)
    return M.transpose(-1, -2).contiguous()


def _ungrouped(G: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """The gradient (b, groups, l, n) summed back to the shape of B or C (``like``)."""
    g = 1 if like.dim() == 3 else like.shape[1]
    G = G.unflatten(1, (g, -1)).sum(2).transpose(-1, -2)  # (b, g, n, l)
    return G[:, 0] if like.dim() == 3 else G


def _call(kernel, *args):
    """Run a kernel on the tensors' memory, one caller at a time (the workqueue layer is not re-entrant)."""
    with _LOCK:
        kernel(*(a.numpy() if isinstance(a, torch.Tensor) else a for a in args))


class _NumbaScan(torch.autograd.Function):
    """y_t = <C_t, h_t>, h_last for h_t = exp(Delta_t A) h_{t-1} + Delta_t B_t u_t; Delta given (final).

    Inputs u, delta (b, d, l), A (d, n), B, C (b, n, l) or (b, g, n, l), all of one float dtype.
    """

    @staticmethod
    def forward(ctx, u, delta, A, B, C):
        groups = math.lcm(1 if B.dim() == 3 else B.shape[1], 1 if C.dim() == 3 else C.shape[1])
        Bt, Ct = _grouped(B, groups), _grouped(C, groups)  # (b, groups, l, n)
        u, delta, A = u.contiguous(), delta.contiguous(), A.contiguous()
        A2 = A * _LOG2E  # exp(Delta A) = 2**(Delta A log2 e)
        y, h = torch.empty_like(u), u.new_empty(u.shape[0], u.shape[1], A.shape[1])  # (b, d, l), (b, d, n)
        _call(_forward, u, delta, A2, Bt, Ct, y, h)
        ctx.save_for_backward(u, delta, A, A2, Bt, Ct, B, C)
        return y, h

    @staticmethod
    def backward(ctx, gy, g_last):
        u, delta, A, A2, Bt, Ct, B, C = ctx.saved_tensors
        b, d, l = u.shape
        n, groups = A.shape[1], Bt.shape[1]
        parts = _parts(b, groups, d // groups)
        gy = u.new_zeros(b, d, l) if gy is None else gy.contiguous()
        g_last = u.new_zeros(b, d, n) if g_last is None else g_last.contiguous()
        gu, gdelta, gA_b = torch.empty_like(u), torch.empty_like(u), u.new_empty(b, d, n)
        gB_p, gC_p = u.new_zeros(b, groups, parts, l, n), u.new_zeros(b, groups, parts, l, n)
        _call(_backward, u, delta, A, A2, Bt, Ct, gy, g_last, parts, gu, gdelta, gA_b, gB_p, gC_p)
        return gu, gdelta, gA_b.sum(0), _ungrouped(gB_p.sum(2), B), _ungrouped(gC_p.sum(2), C)


def selective_scan_numba(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False,
                         return_last_state=False):
    """The selective scan with its recurrence in the compiled kernel, mamba-ssm's ``selective_scan_fn``
    signature and results; CPU tensors. Delta's bias and softplus, the skip D u and the gate silu(z) are
    elementwise PyTorch operations around the kernel (as in :func:`melib.ssm.scan.selective_scan_fused`).
    Arithmetic in float64 when any of u, delta, A, B, C is float64, else float32 (half inputs too)."""
    from melib.ssm.scan import _check, _finish, discretise_delta

    if not available():
        raise RuntimeError("the numba kernel needs numba (pip install numba); use method='fused' instead")
    _check(u, delta, A, B, C)
    devices = {t.device.type for t in (u, delta, A, B, C, D, z, delta_bias) if t is not None}
    if devices != {"cpu"}:
        raise ValueError(f"the numba kernel runs on CPU tensors only; got tensors on {sorted(devices)}")
    wide = any(t.dtype == torch.float64 for t in (u, delta, A, B, C))
    dt = torch.float64 if wide else torch.float32
    delta = discretise_delta(delta.to(dt), delta_bias, delta_softplus)
    y, h = _NumbaScan.apply(u.to(dt), delta, A.to(dt), B.to(dt), C.to(dt))  # (b, d, l), (b, d, n)
    y = _finish(y, u.to(dt), D, z)
    if u.dtype not in FLOAT_DTYPES:
        y = y.to(u.dtype)
    return (y, h) if return_last_state else y
