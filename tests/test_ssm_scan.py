"""Selective scan: every fast path equals the recurrence (values and gradients), edge cases, errors."""

import math

import pytest
import torch

from melib.ssm import scan
from melib.ssm.scan import selective_scan, selective_scan_chunked, selective_scan_fused, selective_scan_ref

F64 = torch.float64


def inputs(b, d, n, l, groups=0, dtype=F64, seed=0, a_scale=2.0):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g, dtype=dtype)  # noqa: E731
    bc = (b, groups, n, l) if groups else (b, n, l)
    return dict(u=r(b, d, l), delta=r(b, d, l), A=-torch.rand(d, n, generator=g, dtype=dtype) * a_scale,
                B=r(*bc), C=r(*bc), D=r(d), z=r(b, d, l), delta_bias=r(d), delta_softplus=True)


def test_reference_matches_closed_form_for_one_channel():
    # d = n = 1, constant Delta: h_t = sum_s a^(t-s) * Delta * B_s u_s, a = exp(Delta A)
    l, dt, A = 6, 0.3, -0.7
    u, B, C = torch.arange(1.0, l + 1, dtype=F64), torch.linspace(-1, 1, l, dtype=F64), torch.ones(l, dtype=F64)
    y = selective_scan_ref(u[None, None], torch.full((1, 1, l), dt, dtype=F64), torch.tensor([[A]], dtype=F64),
                           B[None, None], C[None, None])[0, 0]
    a = math.exp(dt * A)
    expect = [sum(a ** (t - s) * dt * B[s] * u[s] for s in range(t + 1)) for t in range(l)]
    torch.testing.assert_close(y, torch.tensor(expect, dtype=F64))


@pytest.mark.parametrize("shape", [(1, 4, 4, 1), (2, 6, 3, 37), (3, 4, 8, 64), (2, 6, 2, 130)])
@pytest.mark.parametrize("groups", [0, 2])
def test_fast_paths_equal_recurrence(shape, groups):
    kw = inputs(*shape, groups=groups)
    y0, h0 = selective_scan_ref(**kw, return_last_state=True)
    for fn, extra in ((selective_scan_fused, {}), (selective_scan_chunked, {"chunk_size": 16}),
                      (selective_scan_chunked, {"chunk_size": 7})):
        y, h = fn(**kw, return_last_state=True, **extra)
        torch.testing.assert_close(y, y0, rtol=1e-10, atol=1e-10)
        torch.testing.assert_close(h, h0, rtol=1e-10, atol=1e-10)


def test_chunked_shrinks_its_chunk_for_strong_decay():
    kw = inputs(2, 4, 6, 50, a_scale=60.0)  # |A| up to 60, Delta ~ softplus(N(0, 2)): huge decays
    y = selective_scan_chunked(**kw, chunk_size=64)
    assert torch.isfinite(y).all()
    torch.testing.assert_close(y, selective_scan_ref(**kw), rtol=1e-9, atol=1e-9)
    delta = scan.discretise_delta(kw["delta"], kw["delta_bias"], True)
    assert scan._safe_chunk(delta, kw["A"], 64) < 64


@pytest.mark.parametrize("fn", [selective_scan_fused, selective_scan_chunked])
@pytest.mark.parametrize("groups", [0, 2])
def test_gradients_equal_recurrence(fn, groups):
    kw = inputs(2, 4, 3, 23, groups=groups, seed=1)
    leaves = ["u", "delta", "A", "B", "C", "D", "z", "delta_bias"]
    grads = []
    for f in (selective_scan_ref, fn):
        ins = {k: (v.clone().requires_grad_() if k in leaves else v) for k, v in kw.items()}
        y, h = f(**ins, return_last_state=True)
        (y.sin().sum() + h.square().sum()).backward()
        grads.append([ins[k].grad for k in leaves])
    for name, g0, g1 in zip(leaves, *grads):
        torch.testing.assert_close(g1, g0, rtol=1e-9, atol=1e-9, msg=f"gradient of {name}")


@pytest.mark.parametrize("block_elements", [1, 50, 700])
def test_fused_blocks_of_any_size_equal_recurrence(monkeypatch, block_elements):
    monkeypatch.setattr(scan, "BLOCK_ELEMENTS", block_elements)  # b*d*n = 48: 1, 1 and 14 steps per block
    kw = inputs(2, 6, 4, 37, groups=2, seed=4)
    assert scan._block_size(2, 6, 4, 37) == max(1, block_elements // 48)
    leaves = ["u", "delta", "A", "B", "C"]
    outs = []
    for f in (selective_scan_ref, selective_scan_fused):
        ins = {k: (v.clone().requires_grad_() if k in leaves else v) for k, v in kw.items()}
        y, h = f(**ins, return_last_state=True)
        (y.cos().sum() + h.sum()).backward()
        outs.append([y, h] + [ins[k].grad for k in leaves])
    for a, b in zip(*outs):
        torch.testing.assert_close(b, a, rtol=1e-9, atol=1e-9)


def test_fused_backward_passes_gradcheck():
    kw = inputs(1, 2, 3, 9, seed=2)
    args = [kw[k].requires_grad_() for k in ("u", "delta", "A", "B", "C")]
    assert torch.autograd.gradcheck(lambda *a: selective_scan_fused(*a, kw["D"], kw["z"]), args)


def test_float32_fast_paths_within_1e_5_of_float64_recurrence():
    g = torch.Generator().manual_seed(3)
    b, d, n, l = 1, 16, 16, 512
    u, B, C = torch.randn(b, d, l, generator=g), torch.randn(b, n, l, generator=g), torch.randn(b, n, l, generator=g)
    delta = torch.rand(b, d, l, generator=g) * 0.1 + 1e-3
    A = -torch.arange(1.0, n + 1).repeat(d, 1)
    y64 = selective_scan_ref(u.double(), delta.double(), A.double(), B.double(), C.double())
    for fn in (selective_scan_fused, selective_scan_chunked):
        y = fn(u, delta, A, B, C)
        assert y.dtype == torch.float32
        assert ((y.double() - y64).abs().max() / y64.abs().max()).item() <= 1e-5


def test_dispatch_and_errors():
    kw = inputs(1, 3, 2, 5)
    torch.testing.assert_close(selective_scan(**kw), selective_scan_ref(**kw))
    torch.testing.assert_close(selective_scan(**kw, method="chunked"), selective_scan_ref(**kw))
    with pytest.raises(ValueError, match="method"):
        selective_scan(**kw, method="nope")
    with pytest.raises(ValueError, match="A must be"):
        selective_scan(**{**kw, "A": kw["A"][:2]})
    with pytest.raises(ValueError, match="B must be"):
        selective_scan(**{**kw, "B": kw["B"][..., :4]})
