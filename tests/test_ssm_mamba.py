"""Mamba block: mamba_simple's parameter layout, state_dict round trip, init, forward, causality."""

import math

import pytest
import torch
import torch.nn.functional as F

from melib.ssm import Mamba, backend, cpu_kernel, use_backend
from melib.ssm.scan import selective_scan_ref


def mamba_simple_layout(d_model, d_state, d_conv, expand, dt_rank):
    """Names and shapes of mamba_ssm.modules.mamba_simple.Mamba's state_dict (bias=False, conv_bias=True),
    in its order: the module's own parameters (A_log, D) first, then the sub-modules as registered."""
    di = expand * d_model
    return {
        "A_log": (di, d_state), "D": (di,), "in_proj.weight": (2 * di, d_model), "conv1d.weight": (di, 1, d_conv), "conv1d.bias": (di,),
        "x_proj.weight": (dt_rank + 2 * d_state, di), "dt_proj.weight": (di, dt_rank), "dt_proj.bias": (di,),
        "out_proj.weight": (d_model, di),
    }


def test_me_tst_settings_have_51072_parameters_in_mamba_simple_layout():
    m = Mamba(64, d_state=64, d_conv=4, expand=2)
    assert sum(p.numel() for p in m.parameters()) == 51_072
    layout = mamba_simple_layout(64, 64, 4, 2, dt_rank=4)
    assert {k: tuple(v.shape) for k, v in m.state_dict().items()} == layout
    assert list(m.state_dict()) == list(layout)


def test_state_dict_round_trip_with_a_mamba_simple_state_dict():
    g = torch.Generator().manual_seed(0)
    foreign = {k: torch.randn(*s, generator=g) for k, s in mamba_simple_layout(32, 8, 4, 2, dt_rank=2).items()}
    m = Mamba(32, d_state=8)
    m.load_state_dict(foreign, strict=True)
    back = m.state_dict()
    assert all(torch.equal(back[k], v) for k, v in foreign.items())
    m2 = Mamba(32, d_state=8)
    m2.load_state_dict(back)
    x = torch.randn(2, 11, 32, generator=g)
    torch.testing.assert_close(m2(x), m(x))


def test_initialisation_follows_mamba_simple():
    torch.manual_seed(0)
    m = Mamba(48, d_state=16, dt_min=0.001, dt_max=0.1)
    torch.testing.assert_close(m.A_log, torch.log(torch.arange(1.0, 17).repeat(96, 1)))
    assert torch.equal(m.D.data, torch.ones(96))
    dt = F.softplus(m.dt_proj.bias)
    assert dt.min() >= 1e-3 * (1 - 1e-4) and dt.max() <= 0.1 * (1 + 1e-4)
    bound = m.dt_rank**-0.5
    assert m.dt_proj.weight.abs().max() <= bound and m.dt_proj.weight.std() > bound / 4
    assert m.dt_rank == math.ceil(48 / 16) and m.A_log._no_weight_decay and m.dt_proj.bias._no_reinit


def test_forward_equals_the_equations_with_the_reference_scan():
    torch.manual_seed(1)
    m = Mamba(16, d_state=4, d_conv=3).double()
    x = torch.randn(2, 9, 16, dtype=torch.float64)
    xz = m.in_proj(x).transpose(1, 2)
    u, z = xz[:, :32], xz[:, 32:]
    u = F.silu(F.conv1d(F.pad(u, (2, 0)), m.conv1d.weight, m.conv1d.bias, groups=32))  # causal conv
    dbl = m.x_proj(u.transpose(1, 2))
    dt, B, C = dbl[..., :1], dbl[..., 1:5], dbl[..., 5:]
    delta = (dt @ m.dt_proj.weight.T).transpose(1, 2)
    y = selective_scan_ref(u, delta, -torch.exp(m.A_log), B.transpose(1, 2), C.transpose(1, 2), m.D, z,
                           m.dt_proj.bias, True)
    torch.testing.assert_close(m(x), m.out_proj(y.transpose(1, 2)))


def test_output_is_causal():
    torch.manual_seed(2)
    m = Mamba(16, d_state=4).double()
    x = torch.randn(1, 12, 16, dtype=torch.float64)
    x2 = x.clone()
    x2[:, 7:] += 1.0
    y, y2 = m(x), m(x2)
    torch.testing.assert_close(y[:, :7], y2[:, :7])
    assert (y[:, 7:] - y2[:, 7:]).abs().max() > 1e-3


def test_bad_input_and_backend_switch():
    m = Mamba(8, d_state=4)
    with pytest.raises(ValueError, match="d_model=8"):
        m(torch.randn(2, 5, 7))
    assert backend("cpu") == ("numba" if cpu_kernel.available() else "torch")
    with use_backend("torch"):
        assert backend("cuda") == "torch"
        assert backend("cpu") == "torch"
    with pytest.raises(ValueError, match="backend must be"):
        use_backend("triton")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="mamba_ssm"):
            use_backend("mamba_ssm")
        assert backend() == "torch"
