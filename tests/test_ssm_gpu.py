"""GPU checks (pytest -m gpu): the pure paths against mamba-ssm's kernels, and their speed.

Skipped without CUDA, and the kernel comparisons without an importable mamba_ssm. Run on a GPU machine:
    pip install --no-build-isolation --no-deps mamba-ssm einops triton
    pytest -m gpu -s tests/test_ssm_gpu.py
"""

import pytest
import torch

from melib.ssm import Mamba, kernels, selective_scan, ssd_chunked, use_backend

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]


def need_kernels():
    if kernels() is None:
        pytest.skip("mamba_ssm is not importable on this CUDA machine")


def test_pure_paths_run_on_cuda():
    torch.manual_seed(0)
    m = Mamba(64, d_state=64).cuda()
    x = torch.randn(4, 50, 64, device="cuda")
    with use_backend("torch"):
        y = m(x)
        y.sum().backward()
    y_cpu = m.cpu()(x.cpu())
    torch.testing.assert_close(y.cpu(), y_cpu, rtol=1e-4, atol=1e-4)


def test_selective_scan_matches_kernel():
    need_kernels()
    g = torch.Generator(device="cuda").manual_seed(0)
    b, d, n, l = 2, 128, 16, 512
    r = lambda *s: torch.randn(*s, device="cuda", generator=g)  # noqa: E731
    u, delta, B, C, z = r(b, d, l), r(b, d, l), r(b, n, l), r(b, n, l), r(b, d, l)
    A, D, bias = -torch.rand(d, n, device="cuda", generator=g) * 4, r(d), r(d)
    y_k = selective_scan(u, delta, A, B, C, D, z, bias, True, method="mamba_ssm")
    y_t = selective_scan(u, delta, A, B, C, D, z, bias, True, method="fused")
    torch.testing.assert_close(y_t, y_k, rtol=1e-3, atol=1e-3)


def test_ssd_matches_kernel():
    """Chunked SSD: the pure path against float64, and mamba-ssm's Triton kernel against the pure path by
    relative norm. The kernel's fp32 dots run in TF32 (Triton's default), so it differs by ~1.5e-3 of the
    output's norm (H200, 2026-11-30; 1.2e-6 with TRITON_F32_DEFAULT=ieee) while the pure path is within 2e-7
    of float64; a different convention (dt, decay, chunk boundaries) would differ by order 1."""
    need_kernels()
    g = torch.Generator(device="cuda").manual_seed(1)
    b, l, h, p, n = 2, 300, 4, 64, 64
    r = lambda *s: torch.randn(*s, device="cuda", generator=g)  # noqa: E731
    x, dt, B, C = r(b, l, h, p), r(b, l, h), r(b, l, 1, n), r(b, l, 1, n)
    A, bias = -torch.rand(h, device="cuda", generator=g) * 4, r(h)
    y_k = ssd_chunked(x, dt, A, B, C, 64, dt_bias=bias, dt_softplus=True)
    with use_backend("torch"):
        y_t = ssd_chunked(x, dt, A, B, C, 64, dt_bias=bias, dt_softplus=True)
        y64 = ssd_chunked(*(t.double() for t in (x, dt, A, B, C)), 64, dt_bias=bias.double(), dt_softplus=True)
    rel = lambda a, ref: float((a.double() - ref).norm() / ref.norm())  # noqa: E731
    assert rel(y_t, y64) < 1e-5
    assert rel(y_k, y_t.double()) < 5e-3


def test_state_dict_moves_to_mamba_simple_and_back():
    need_kernels()
    from mamba_ssm.modules.mamba_simple import Mamba as MambaSimple

    torch.manual_seed(2)
    ours, theirs = Mamba(64, d_state=64).cuda(), MambaSimple(64, d_state=64).cuda()
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(4, 50, 64, device="cuda")
    with use_backend("torch"):
        torch.testing.assert_close(ours(x), theirs(x), rtol=1e-3, atol=1e-3)
    ours.load_state_dict(theirs.state_dict())


def test_mamba_layer_gradients_match_kernel():
    """Forward and every parameter gradient of one Mamba layer: pure path vs mamba-ssm's fused kernels.
    (Speed is measured by benchmarks/gpu.py, not asserted.)"""
    need_kernels()
    torch.manual_seed(3)
    m = Mamba(64, d_state=64).cuda()
    x = torch.randn(8, 50, 64, device="cuda", requires_grad=True)
    out = {}
    for name in ("torch", "mamba_ssm"):
        m.zero_grad()
        x.grad = None
        with use_backend(name):
            y = m(x)
        (y * torch.linspace(-1, 1, y.shape[-1], device="cuda")).sum().backward()
        out[name] = [y.detach(), x.grad.clone()] + [p.grad.clone() for p in m.parameters()]
    for a, b in zip(out["torch"], out["mamba_ssm"]):
        torch.testing.assert_close(a, b, rtol=2e-3, atol=2e-3)
