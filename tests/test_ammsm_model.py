"""AMMSM model: shapes through every stage, pruned windows untouched, ablation switches, bad input."""

import pytest
import torch

pytest.importorskip("melib.sparse", reason="melib.sparse (SSSDBlock) has not landed yet")

from melib.models.ammsm import AMMSM, AMMSMConfig
from melib.params import profile_section


def _cfg(**kw):
    return AMMSMConfig.from_profile(profile_section("smoke", "ammsm"), **{"size": 64, "depths": [2, 3, 2, 2], **kw})


def test_shapes_through_every_stage():
    torch.manual_seed(0)
    model = AMMSM(_cfg(n_classes=5)).eval()
    seen = []
    for st in model.stages:
        st.register_forward_hook(lambda m, i, o: seen.append(tuple(o.shape)))
    flow, onset = torch.randn(3, 2, 64, 64), torch.randn(3, 3, 64, 64)  # (B, 2, S, S), (B, 3, S, S)
    out = model(flow, onset, 2.0, [0.2, 0.3, 0.5, 0.1, 0.4])
    assert seen == model.stage_shapes(3) == [(3, 8, 16, 16), (3, 16, 8, 8), (3, 16, 4, 4), (3, 16, 2, 2)]
    assert out.logits.shape == (3, 5) and out.flow_mag.shape == (3, 2, 64, 64)
    assert model.cfg.genes_per_stage == [1, 2, 1, 1]  # one ratio per pair of blocks (ceil(depth / 2))
    # 16x16 and 8x8 maps hold 16 and 4 windows of 4x4; the 4x4 and 2x2 maps of stages 3-4 hold one each
    assert model.inert_genes() == [False, False, False, True, True]
    counts = model.param_counts()
    assert counts["total"] == sum(v for k, v in counts.items() if k != "total")


def test_attention_in_last_block_of_stages_3_and_4_only():
    kinds = lambda m: [st.mixers for st in m.stages]  # noqa: E731
    assert kinds(AMMSM(_cfg())) == [["ssd"] * 2, ["ssd"] * 3, ["ssd", "attention"], ["ssd", "attention"]]
    assert kinds(AMMSM(_cfg(backbone="transformer"))) == [["attention"] * d for d in [2, 3, 2, 2]]


def test_pruned_windows_pass_through_a_stage_unchanged():
    torch.manual_seed(1)
    model = AMMSM(_cfg()).eval()
    stage = model.stages[1]  # 3 blocks at 8x8 -> 4 windows of 4x4; ratios per pair: [0.5, 0.75]
    x = torch.randn(2, 16, 8, 8)  # (B, C, h, w)
    with torch.no_grad():
        y = stage(x, [0.5, 0.75])
    win = lambda t: t.reshape(2, 16, 2, 4, 2, 4).permute(0, 2, 4, 1, 3, 5).reshape(2, 4, -1)  # noqa: E731
    changed = (win(y) - win(x)).abs().amax(-1) > 1e-6  # (B, 4 windows)
    assert changed.sum(1).tolist() == [2, 2]  # the first pair keeps int(4 * 0.5) = 2 windows
    with torch.no_grad():
        dense = stage(x, None)
    assert ((win(dense) - win(x)).abs().amax(-1) > 1e-6).all()


def test_switches_change_only_their_part():
    a, b = AMMSM(_cfg()).param_counts(), AMMSM(_cfg(magnifier=False)).param_counts()
    assert b["magnifier"] == 0 and a["magnifier"] > 0
    assert {k: v for k, v in a.items() if k not in ("magnifier", "total")} == \
        {k: v for k, v in b.items() if k not in ("magnifier", "total")}
    m = AMMSM(_cfg(sparse=False)).eval()
    flow, onset = torch.randn(1, 2, 64, 64), torch.randn(1, 3, 64, 64)
    with torch.no_grad():  # sparse off: the ratios are ignored
        assert torch.equal(m(flow, onset, 1.0, [0.8] * 5).logits, m(flow, onset, 1.0, None).logits)
    nomag = AMMSM(_cfg(magnifier=False)).eval()
    assert torch.equal(nomag(flow, onset, 3.0).flow_mag, flow)


def test_bad_ratios_and_config_are_named():
    m = AMMSM(_cfg())
    flow, onset = torch.randn(1, 2, 64, 64), torch.randn(1, 3, 64, 64)
    with pytest.raises(ValueError, match="expected 5 values"):
        m(flow, onset, 1.0, [0.1] * 4)
    with pytest.raises(ValueError, match="backbone"):
        _cfg(backbone="cnn")
    with pytest.raises(ValueError, match="multiple of 32"):
        _cfg(size=48)


def test_checkpoint_round_trip_and_bad_checkpoints(tmp_path):
    """AMMSM.load rebuilds the exact model from a model.pt written as training writes it
    (weights_only=True), and names what is wrong with a checkpoint that does not fit."""
    torch.manual_seed(0)
    model = AMMSM(_cfg()).eval()
    path = tmp_path / "model.pt"
    torch.save({"state_dict": model.state_dict(), "config": model.config_dict()}, path)
    loaded = AMMSM.load(path).eval()
    s = model.cfg.size
    flow, onset = torch.randn(2, 2, s, s), torch.randn(2, 3, s, s)
    with torch.no_grad():
        assert torch.equal(model(flow, onset, 2.0).logits, loaded(flow, onset, 2.0).logits)
    with pytest.raises(FileNotFoundError, match="no such checkpoint"):
        AMMSM.load(tmp_path / "missing.pt")
    torch.save({"weights": 1}, tmp_path / "odd.pt")
    with pytest.raises(ValueError, match="'state_dict' and 'config'"):
        AMMSM.load(tmp_path / "odd.pt")
    other = dict(model.config_dict(), n_classes=model.cfg.n_classes + 2)  # head of another size
    torch.save({"state_dict": model.state_dict(), "config": other}, tmp_path / "mismatch.pt")
    with pytest.raises(ValueError, match="do not fit"):
        AMMSM.load(tmp_path / "mismatch.pt")


def test_head_is_vssd_layernorm_then_pool_and_flag_keeps_the_old_order():
    torch.manual_seed(0)
    new, old = AMMSM(_cfg()).eval(), AMMSM(_cfg(head="pool_norm")).eval()
    with torch.no_grad():
        new.norm.weight.uniform_(0.5, 2.0)
        new.norm.bias.uniform_(-1.0, 1.0)
        old.load_state_dict(new.state_dict())  # same weights, only the order differs
        x = torch.zeros(1, 16, 1, 2)  # two tokens of the last stage: one large and one small activation
        x[0, 0, 0, 0], x[0, 1, 0, 1] = 10.0, 0.1
        per_token = torch.nn.functional.layer_norm(x[0].flatten(1).T, (16,), new.norm.weight, new.norm.bias)
        want = new.head(per_token.mean(0, keepdim=True))  # VSSD: LayerNorm every token, then average
        torch.testing.assert_close(new.classify(x), want)
        assert not torch.allclose(old.classify(x), want, atol=1e-3)
        torch.testing.assert_close(old.classify(x), old.head(old.norm(x.mean((2, 3)))))


def test_vssd_init_trunc_normal_002_on_linear_weights_and_torch_flag():
    torch.manual_seed(0)
    cfg = dict(dims=[32, 64, 64, 64], d_state=16)
    lin = [m for m in AMMSM(_cfg(**cfg)).modules() if isinstance(m, torch.nn.Linear)]
    w = torch.cat([m.weight.detach().flatten() for m in lin])
    assert len(lin) > 10 and abs(float(w.std()) - 0.02) < 0.001 and abs(float(w.mean())) < 0.001
    assert all(m.bias is None or not m.bias.any() for m in lin)
    torch.manual_seed(0)
    old = torch.cat([m.weight.detach().flatten() for m in AMMSM(_cfg(init="torch", **cfg)).modules()
                     if isinstance(m, torch.nn.Linear)])
    assert float(old.std()) > 0.05  # PyTorch's kaiming-uniform default: std 1/sqrt(3 fan_in)
    with pytest.raises(ValueError, match="init"):
        _cfg(init="xavier")


def test_checkpoint_from_before_the_score_head_init_fields_loads_with_its_own_forms(tmp_path):
    """A model.pt whose config predates `score`/`head`/`init` was trained with SparseViT's score and
    pool-then-LayerNorm: it is rebuilt so, not with today's defaults (same shapes, other outputs)."""
    torch.manual_seed(0)
    old = AMMSM(_cfg(score="sparsevit", head="pool_norm", init="torch")).eval()
    config = {k: v for k, v in old.config_dict().items() if k not in ("score", "head", "init")}
    torch.save({"state_dict": old.state_dict(), "config": config}, tmp_path / "old.pt")
    loaded = AMMSM.load(tmp_path / "old.pt").eval()
    assert (loaded.cfg.score, loaded.cfg.head) == ("sparsevit", "pool_norm")
    s = old.cfg.size
    flow, onset = torch.randn(2, 2, s, s), torch.randn(2, 3, s, s)
    with torch.no_grad():
        assert torch.equal(old(flow, onset, 2.0, [0.5] * old.cfg.n_genes).logits,
                           loaded(flow, onset, 2.0, [0.5] * old.cfg.n_genes).logits)
