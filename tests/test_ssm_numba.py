"""The numba selective-scan kernel equals the recurrence (values and gradients), and the dispatch uses it.

numba compiles each kernel once per dtype (float32, float64) and caches the machine code in
melib/ssm/__pycache__, so only the first run on a fresh checkout pays the compile (~10 s).
"""

import pytest
import torch

from melib.ssm import Mamba, backend, cpu_kernel, selective_scan, use_backend
from melib.ssm.scan import selective_scan_fused, selective_scan_ref

pytestmark = pytest.mark.skipif(not cpu_kernel.available(), reason="numba is not installed")
F64 = torch.float64
LEAVES = ["u", "delta", "A", "B", "C", "D", "z", "delta_bias"]


def inputs(b, d, n, l, groups=0, dtype=F64, seed=0, extras=True, softplus=True):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g, dtype=dtype)  # noqa: E731
    bc = (b, groups, n, l) if groups else (b, n, l)
    kw = dict(u=r(b, d, l), delta=r(b, d, l) if softplus else torch.rand(b, d, l, generator=g, dtype=dtype),
              A=-torch.rand(d, n, generator=g, dtype=dtype) * 2, B=r(*bc), C=r(*bc))
    if extras:
        kw.update(D=r(d), z=r(b, d, l), delta_bias=r(d) if softplus else torch.rand(d, generator=g, dtype=dtype))
    kw["delta_softplus"] = softplus
    return kw


def run(fn, kw, leaves):
    """Outputs and gradients of a loss that uses y and the last state."""
    ins = {k: (v.clone().requires_grad_() if k in leaves else v) for k, v in kw.items()}
    y, h = fn(**ins, return_last_state=True)
    (y.sin().sum() + h.square().sum()).backward()
    return [y, h] + [ins[k].grad for k in leaves]


# every shape of tests/test_ssm_scan.py, plus channels that do not fill a work item evenly
@pytest.mark.parametrize("shape", [(1, 4, 4, 1), (2, 6, 3, 37), (3, 4, 8, 64), (2, 6, 2, 130), (2, 10, 16, 23)])
@pytest.mark.parametrize("groups", [0, 2])
def test_float64_values_and_gradients_equal_the_recurrence(shape, groups):
    kw = inputs(*shape, groups=groups)
    leaves = [k for k in LEAVES if k in kw]
    for a, b, name in zip(run(selective_scan_ref, kw, leaves), run(cpu_kernel.selective_scan_numba, kw, leaves),
                          ["y", "h"] + leaves):
        torch.testing.assert_close(b, a, rtol=1e-12, atol=1e-12, msg=f"{name} at {shape}, groups {groups}")


@pytest.mark.parametrize("extras,softplus", [(False, False), (True, False), (False, True)])
def test_each_option_alone(extras, softplus):
    kw = inputs(2, 6, 5, 19, groups=3, seed=1, extras=extras, softplus=softplus)
    leaves = [k for k in LEAVES if k in kw]
    for a, b in zip(run(selective_scan_ref, kw, leaves), run(cpu_kernel.selective_scan_numba, kw, leaves)):
        torch.testing.assert_close(b, a, rtol=1e-12, atol=1e-12)


def test_b_and_c_grouped_differently():
    kw = inputs(2, 6, 3, 17, seed=2)
    g = torch.Generator().manual_seed(9)
    kw["C"] = torch.randn(2, 3, 3, 17, generator=g, dtype=F64)  # B shared (b, n, l), C in 3 groups
    for a, b in zip(run(selective_scan_ref, kw, LEAVES), run(cpu_kernel.selective_scan_numba, kw, LEAVES)):
        torch.testing.assert_close(b, a, rtol=1e-12, atol=1e-12)


def test_backward_passes_gradcheck():
    kw = inputs(1, 3, 2, 7, seed=3)
    args = [kw[k].requires_grad_() for k in ("u", "delta", "A", "B", "C", "D", "z", "delta_bias")]
    assert torch.autograd.gradcheck(lambda *a: cpu_kernel.selective_scan_numba(*a, delta_softplus=True), args)


def test_float32_within_1e_5_of_the_float64_recurrence():
    g = torch.Generator().manual_seed(3)
    b, d, n, l = 1, 16, 16, 512
    u, B, C = torch.randn(b, d, l, generator=g), torch.randn(b, n, l, generator=g), torch.randn(b, n, l, generator=g)
    delta = torch.rand(b, d, l, generator=g) * 0.1 + 1e-3  # memories of up to ~1000 steps
    A = -torch.arange(1.0, n + 1).repeat(d, 1)
    y64 = selective_scan_ref(u.double(), delta.double(), A.double(), B.double(), C.double())
    y = cpu_kernel.selective_scan_numba(u, delta, A, B, C)
    assert y.dtype == torch.float32
    assert ((y.double() - y64).abs().max() / y64.abs().max()).item() <= 1e-5


def test_float32_gradients_close_to_float64():
    kw = inputs(2, 8, 16, 40, seed=4)
    k32 = {k: (v.float() if isinstance(v, torch.Tensor) else v) for k, v in kw.items()}
    for a, b in zip(run(selective_scan_ref, kw, LEAVES), run(cpu_kernel.selective_scan_numba, k32, LEAVES)):
        assert b.dtype == torch.float32
        assert ((b.double() - a).abs().max() / a.abs().max()).item() <= 1e-5


def test_extreme_decay_saturates_without_nan():
    kw = inputs(1, 4, 3, 20, seed=5)
    kw["A"] = kw["A"] * 1e4  # exp(Delta A) underflows: the kernel's exp saturates at 2**-1022, not NaN
    y, y0 = cpu_kernel.selective_scan_numba(**kw), selective_scan_ref(**kw)
    assert torch.isfinite(y).all()
    torch.testing.assert_close(y, y0, rtol=1e-12, atol=1e-12)


def test_dispatch_uses_the_kernel_and_the_torch_fallback_still_works(monkeypatch):
    kw = inputs(1, 3, 2, 5)
    assert backend("cpu") == "numba"
    calls = []
    real = cpu_kernel.selective_scan_numba
    monkeypatch.setattr(cpu_kernel, "selective_scan_numba", lambda *a, **k: calls.append(1) or real(*a, **k))
    torch.testing.assert_close(selective_scan(**kw), selective_scan_ref(**kw))
    assert calls == [1]
    with use_backend("torch"):
        assert backend("cpu") == "torch"
        torch.testing.assert_close(selective_scan(**kw), selective_scan_fused(**kw))
    assert calls == [1]
    with use_backend("numba"):
        assert backend("cpu") == "numba"
        with pytest.raises(RuntimeError, match="CPU only"):
            backend("cuda")
    monkeypatch.setattr(cpu_kernel, "available", lambda: False)  # as if numba were not installed
    assert backend("cpu") == "torch"
    with pytest.raises(RuntimeError, match="numba"):
        use_backend("numba")


def test_errors_name_the_problem():
    kw = inputs(1, 3, 2, 5)
    with pytest.raises(ValueError, match="A must be"):
        cpu_kernel.selective_scan_numba(**{**kw, "A": kw["A"][:2]})
    with pytest.raises(ValueError, match="method"):
        selective_scan(**kw, method="numbaa")


def test_mamba_block_same_with_either_backend():
    torch.manual_seed(0)
    m = Mamba(16, d_state=8).double()
    x = torch.randn(3, 21, 16, dtype=F64, requires_grad=True)
    y = m(x)
    gx, gA = torch.autograd.grad(y.square().sum(), (x, m.A_log))
    with use_backend("torch"):
        y0 = m(x)
        gx0, gA0 = torch.autograd.grad(y0.square().sum(), (x, m.A_log))
    for a, b in ((y, y0), (gx, gx0), (gA, gA0)):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_empty_batch_and_length():
    for b, l in ((0, 5), (2, 0)):
        kw = inputs(b, 4, 3, l, seed=6)
        y, h = cpu_kernel.selective_scan_numba(**kw, return_last_state=True)
        assert y.shape == (b, 4, l) and h.shape == (b, 4, 3)
        assert torch.equal(h, torch.zeros_like(h))
