"""ME-TST network: sizes (me-tst-reference.md "Model"), thop reproduction, MACs, shapes, init."""

import math

import pytest
import torch

from melib.models.metst import METST, drop_path_rates, used_parameters
from melib.models.metst_cost import fused_mamba, mac_counts, parameter_counts, thop_counts


@pytest.fixture(scope="module")
def paper_model():
    torch.manual_seed(0)
    return METST()  # d_model 64, 12 blocks, d_state 64: the paper's network


def test_parameter_counts_equal_the_reference(paper_model):
    c = parameter_counts(paper_model)
    assert c["mamba_layer"] == 51_072
    assert c["whole"] == 1_249_926
    assert c["used"] == 630_918
    assert c["stem"] + c["layernorms_used"] + c["heads"] == 18_054
    sep = METST(paths="separate")
    assert used_parameters(sep) == 14_592 + 2 * 12 * (51_072 + 256) + 390


def test_thop_reproduces_the_papers_numbers_only_in_the_fused_setting():
    torch.manual_seed(0)
    ref = METST(paths="reference")
    assert thop_counts(ref, 50, fused=True) == (1_369_600, 18_054)
    macs_unfused, params_unfused = thop_counts(ref, 50, fused=False)
    assert macs_unfused > 30 * 1_369_600 and params_unfused > 25 * 18_054  # it then sees Mamba's Linears
    m = mac_counts(ref, 50)
    assert m["thop_visible"] == 1_369_600
    assert m["total"] > 50 * m["thop_visible"]  # the selective scan and projections dominate


def test_mac_formula_hand_worked_for_a_small_model():
    m = METST(dim=8, depth=1, d_state=2, expand=2, n_emotions=4)
    c = mac_counts(m, 10)
    di, ds, dr = 16, 2, 1
    assert c["selective_scan"] == 10 * (4 * di * ds + 2 * di)
    assert c["mamba_projections"] == 10 * (8 * 2 * di + di * 4 + di * (dr + 2 * ds) + dr * di + di * 8)
    assert c["stem_conv"] == 10 * (8 * 10 * 3 + 8 * 8 * 3) and c["heads"] == 10 * 8 * 6


def test_fused_forward_equals_the_module_forward():
    torch.manual_seed(1)
    m = METST(dim=16, depth=2, d_state=8).eval()
    x = torch.randn(2, 10, 23)
    s0, l0 = m(x)
    with fused_mamba(m):
        s1, l1 = m(x)
    assert torch.allclose(s0, s1, atol=1e-5) and torch.allclose(l0, l1, atol=1e-5)
    s2, _ = m(x)  # forward restored
    assert torch.equal(s0, s2)


def test_shapes_any_length_and_causal_beyond_the_stem():
    torch.manual_seed(2)
    m = METST(dim=16, depth=2, d_state=8).eval()
    for T in (7, 50, 301):
        s, lg = m(torch.randn(3, 10, T))
        assert s.shape == (3, T) and lg.shape == (3, T, 5) and 0 <= s.min() and s.max() <= 1
    x = torch.randn(1, 10, 80)
    y = x.clone()
    y[0, :, 40] += 5.0
    (a, _), (b, _) = m(x), m(y)
    # two k=3 convs see 2 frames ahead; the Mamba layers are causal: frames <= 37 cannot change
    assert torch.equal(a[0, :38], b[0, :38]) and not torch.allclose(a[0, 38:], b[0, 38:])
    with pytest.raises(ValueError, match=r"\(B, 10, T\)"):
        m(torch.randn(2, 9, 20))


def test_paths_shared_and_reference_agree_in_eval_separate_differs():
    torch.manual_seed(3)
    m = METST(dim=16, depth=2, d_state=8).eval()
    x = torch.randn(2, 10, 30)
    _, l_shared = m(x)
    m.paths = "reference"
    _, l_ref = m(x)
    m.paths = "separate"
    _, l_sep = m(x)
    assert torch.allclose(l_shared, l_ref) and not torch.allclose(l_shared, l_sep)


def test_reference_init_and_drop_path_schedule(paper_model):
    mb = paper_model.spot_path.blocks[3].mamba
    assert torch.all(mb.dt_proj.bias == 0)  # the reference's Linear init zeroes Mamba's dt bias
    assert mb.out_proj.weight.abs().max() <= 0.5 / math.sqrt(128) + 1e-7  # Kaiming bound / 2
    assert abs(float(mb.in_proj.weight.detach().std()) - 0.02) < 0.002
    r = drop_path_rates(12, 0.2)
    assert r[:2] == [0.0, 0.0] and r[-1] == pytest.approx(0.2 * 10 / 11) and len(r) == 12


def test_bad_paths_name():
    with pytest.raises(ValueError, match="paths must be one of"):
        METST(paths="both")


@pytest.mark.parametrize("paths", ["shared", "separate"])
def test_chunked_whole_video_inference_equals_one_pass(paths):
    torch.manual_seed(4)
    m = METST(dim=16, depth=2, d_state=8, paths=paths).eval()
    x = torch.randn(10, 157)
    s_full, l_full = m.predict_video(x, chunk=None)
    s_chunk, l_chunk = m.predict_video(x, chunk=32)  # 5 chunks, the last one partial
    assert torch.allclose(s_full, s_chunk, atol=1e-5) and torch.allclose(l_full, l_chunk, atol=1e-4)
    assert s_full.shape == (157,) and l_full.shape == (157, 5)


def test_chunked_inference_on_a_long_video_drops_only_negligible_decay():
    torch.manual_seed(5)
    m = METST(dim=16, depth=2, d_state=8).eval()
    x = torch.randn(10, 3000)
    s_full, l_full = m.predict_video(x, chunk=None)
    s_chunk, l_chunk = m.predict_video(x, chunk=500)  # the carried state's effect is cut after ~e^-80
    assert torch.allclose(s_full, s_chunk, atol=1e-5) and torch.allclose(l_full, l_chunk, atol=1e-4)
