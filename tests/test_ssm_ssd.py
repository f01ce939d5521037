"""SSD and NC-SSD equal the recurrence; the matrix form; mixers; shapes and errors."""

import pytest
import torch
import torch.nn.functional as F

from melib.ssm import AttentionMixer, NCSSDMixer, nc_ssd, nc_ssd_ref, ssd_chunked, ssd_matrix, ssd_ref
from melib.ssm.ssd import segsum


def inputs(b, l, h, p, g, n, seed=0, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=gen, dtype=dtype)  # noqa: E731
    return dict(x=r(b, l, h, p), dt=r(b, l, h), A=-torch.rand(h, generator=gen, dtype=dtype) * 3,
                B=r(b, l, g, n), C=r(b, l, g, n), D=r(h), z=r(b, l, h, p), dt_bias=r(h), dt_softplus=True)


SEQ = {"x", "dt", "B", "C", "z"}


def along_l(kw, idx):
    """The per-token arguments indexed along l (parameters and flags unchanged)."""
    return {k: (v[:, idx] if k in SEQ and v is not None else v) for k, v in kw.items()}


def test_segsum_is_sum_between_positions():
    a = torch.tensor([1.0, 2.0, 4.0, 8.0], dtype=torch.float64)
    S = segsum(a)
    assert S[3, 1] == 2 + 4 + 8 - 2 and S[2, 2] == 0 and S[0, 1] == float("-inf")  # a[2] + a[3] = 12


@pytest.mark.parametrize("shape", [(1, 1, 1, 2, 1, 3), (2, 37, 4, 3, 2, 5), (3, 64, 2, 4, 1, 8)])
@pytest.mark.parametrize("chunk", [8, 16, 7])
def test_chunked_ssd_equals_recurrence(shape, chunk):
    kw = inputs(*shape)
    y, s = ssd_chunked(**kw, chunk_size=chunk, return_final_states=True)
    torch.testing.assert_close(y, ssd_ref(**kw), rtol=1e-10, atol=1e-10)
    assert s.shape == (shape[0], shape[2], shape[3], shape[5])


def test_ssd_matrix_form_and_initial_state():
    kw = inputs(2, 20, 2, 3, 1, 4, seed=1)
    dt = F.softplus(kw["dt"] + kw["dt_bias"])
    M = ssd_matrix(dt, kw["A"], kw["B"], kw["C"])  # (b, h, l, l)
    assert torch.all(M.triu(1) == 0)  # causal: semiseparable lower-triangular
    y = torch.einsum("bhts,bshp->bthp", M, kw["x"] * dt[..., None])
    bare = dict(kw, D=None, z=None)
    torch.testing.assert_close(y, ssd_chunked(**bare, chunk_size=8))
    # split the sequence in two: the second half started from the first half's final state
    first, s = ssd_chunked(**along_l(bare, slice(0, 12)), chunk_size=5, return_final_states=True)
    second = ssd_chunked(**along_l(bare, slice(12, None)), chunk_size=5, initial_states=s)
    torch.testing.assert_close(torch.cat([first, second], 1), y)


@pytest.mark.parametrize("scale", ["dt_a", "inv_a"])
def test_nc_ssd_equals_no_decay_recurrence_and_linear_attention(scale):
    kw = inputs(2, 30, 4, 3, 2, 5, seed=2)
    y = nc_ssd(**kw, scale=scale)
    torch.testing.assert_close(y, nc_ssd_ref(**kw, scale=scale), rtol=1e-10, atol=1e-10)
    dt = F.softplus(kw["dt"] + kw["dt_bias"])
    m = dt * kw["A"].abs() if scale == "dt_a" else 1 / kw["A"].abs().expand_as(dt)
    Bh, Ch = kw["B"].repeat_interleave(2, 2), kw["C"].repeat_interleave(2, 2)
    att = torch.einsum("bthn,bshn->bhts", Ch, Bh)  # Q K^T, no mask, no softmax
    lin = torch.einsum("bhts,bshp->bthp", att, kw["x"] * m[..., None]) + kw["x"] * kw["D"][:, None]
    torch.testing.assert_close(y, lin * F.silu(kw["z"]))
    perm = torch.randperm(30)
    torch.testing.assert_close(nc_ssd(**along_l(kw, perm), scale=scale), y[:, perm])  # non-causal: permutation-equivariant


def test_ssd_errors_name_the_argument():
    kw = inputs(1, 5, 2, 3, 1, 4)
    with pytest.raises(ValueError, match="dt must be"):
        ssd_chunked(**{**kw, "dt": kw["dt"][:, :4]})
    with pytest.raises(ValueError, match="B must be"):
        nc_ssd(**{**kw, "B": kw["B"][:, :, :, None]})
    with pytest.raises(ValueError, match="scale"):
        nc_ssd(**kw, scale="A")


def test_mixers_shapes_init_and_permutation_equivariance_of_attention():
    torch.manual_seed(0)
    m = NCSSDMixer(64, d_state=16)
    assert m.nheads == 2 and m.in_proj.bias is None and m.out_proj.bias is None
    assert torch.all((m.A_log.exp() >= 1) & (m.A_log.exp() <= 16)) and torch.equal(m.D.data, torch.ones(2))
    x = torch.randn(2, 6 * 5, 64)
    assert m(x, (6, 5)).shape == x.shape
    with pytest.raises(ValueError, match="hw"):
        m(x, (5, 5))
    a = AttentionMixer(64, heads=4).double()
    assert a.qkv.bias is None
    xd = x.double()
    perm = torch.randperm(30)
    torch.testing.assert_close(a(xd[:, perm], None), a(xd, None)[:, perm])
