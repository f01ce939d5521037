"""GPU checks (pytest -m gpu): the pure paths against mamba-ssm's kernels, and their speed.

Skipped without CUDA, and the kernel comparisons without an importable mamba_ssm. Run on a GPU machine:
    pip install --no-build-isolation --no-deps mamba-ssm einops triton
    pytest -m gpu -s tests/test_ssm_gpu.py
"""

import time

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
    need_kernels()
    g = torch.Generator(device="cuda").manual_seed(1)
    b, l, h, p, n = 2, 300, 4, 64, 64
    r = lambda *s: torch.randn(*s, device="cuda", generator=g)  # noqa: E731
    x, dt, B, C = r(b, l, h, p), r(b, l, h), r(b, l, 1, n), r(b, l, 1, n)
    A, bias = -torch.rand(h, device="cuda", generator=g) * 4, r(h)
    y_k = ssd_chunked(x, dt, A, B, C, 64, dt_bias=bias, dt_softplus=True)
    with use_backend("torch"):
        y_t = ssd_chunked(x, dt, A, B, C, 64, dt_bias=bias, dt_softplus=True)
    torch.testing.assert_close(y_t, y_k, rtol=2e-3, atol=2e-3)


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


def test_training_shape_throughput():
    """Tokens/s of one Mamba layer, forward + backward, ME-TST shape (B 256, L 50, d_model 64, N 64)."""
    need_kernels()
    m = Mamba(64, d_state=64).cuda()
    x = torch.randn(256, 50, 64, device="cuda")
    rates = {}
    for name in ("torch", "mamba_ssm"):
        with use_backend(name):
            for i in range(4):
                if i == 1:
                    torch.cuda.synchronize()
                    t = time.perf_counter()
                m(x).sum().backward()
            torch.cuda.synchronize()
            rates[name] = 3 * x.shape[0] * x.shape[1] / (time.perf_counter() - t)
    print("\nMamba fwd+bwd tokens/s at (256, 50, 64): " + ", ".join(f"{k} {v:,.0f}" for k, v in rates.items()))
    assert rates["mamba_ssm"] > rates["torch"]
