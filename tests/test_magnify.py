"""melib.magnify: UNet shapes, AMMSM eqs. 1-2, alpha sampling, self-supervised pre-training."""

import pytest
import torch
import torch.nn.functional as F

from melib.magnify import (
    FlowMagnifier,
    alpha_code,
    augment_flows,
    loss_weight,
    magnification_loss,
    pretrain,
    relative_error,
    sample_alpha,
    total_loss,
)


def test_shapes_any_size_and_both_codes():
    for code in ("constant", "sinusoidal"):
        m = FlowMagnifier(base=4, levels=4, alpha_code=code)
        out = m(torch.randn(2, 2, 37, 45), torch.tensor([1.0, 3.0]))
        assert out.shape == (2, 2, 37, 45)
    assert alpha_code(torch.tensor([2.0]), "sinusoidal", (3, 3)).shape == (1, 32, 3, 3)
    with pytest.raises(ValueError, match="alpha_code"):
        FlowMagnifier(alpha_code="film")


def test_paper_width_layout():
    m = FlowMagnifier(base=64, levels=5)
    widths = [blk[0].out_channels for blk in m.enc]
    assert widths == [64, 128, 256, 512, 512]
    assert m.out.out_channels == 2


def test_magnification_loss_eq1():
    flow = torch.ones(2, 2, 3, 3)
    alpha = torch.tensor([2.0, 3.0])
    assert magnification_loss(alpha[:, None, None, None] * flow, flow, alpha).item() == 0
    # || alpha * OF_ori - OF_mag ||_1 with OF_mag = 0: mean |alpha| = 2.5, sum = 2.5 * 36
    assert magnification_loss(torch.zeros_like(flow), flow, alpha).item() == pytest.approx(2.5)
    assert magnification_loss(torch.zeros_like(flow), flow, alpha, "sum").item() == pytest.approx(90)
    # eq. 1 as written: per-sample L1 norm (2 * 18 and 3 * 18), averaged over the batch
    assert magnification_loss(torch.zeros_like(flow), flow, alpha, "sample_sum").item() == pytest.approx(45)


def test_loss_weight_schedule_eq2():
    assert loss_weight(0, 70) == 1.0
    assert loss_weight(70, 70) == 0.0
    assert loss_weight(35, 70) == pytest.approx(0.5)
    assert loss_weight(100, 70) == 0.0
    l_cls, l_mag = torch.tensor(1.0), torch.tensor(4.0)
    assert total_loss(l_cls, l_mag, 0, 10).item() == 5.0
    assert total_loss(l_cls, l_mag, 10, 10).item() == 1.0
    assert total_loss(l_cls, l_mag, 5, 10).item() == 3.0
    with pytest.raises(ValueError):
        loss_weight(1, 0)


def test_sample_alpha_range_and_seed():
    a = sample_alpha(10000, torch.Generator().manual_seed(0))
    assert a.min() >= 1 and a.max() <= 4 and abs(a.mean().item() - 2.5) < 0.05
    b = sample_alpha(10000, torch.Generator().manual_seed(0))
    assert torch.equal(a, b)
    lg = sample_alpha(10000, torch.Generator().manual_seed(0), 1, 16, dist="log")
    assert abs(lg.log().mean().item() - torch.log(torch.tensor(16.0)).item() / 2) < 0.05


def test_augmentation_keeps_eq1_valid():
    flow = torch.randn(16, 2, 5, 6)
    aug = augment_flows(flow, torch.Generator().manual_seed(1))
    # each sample is +-flow or its mirror with u negated: magnitudes are a permutation of the original
    assert torch.allclose(aug.abs().sum(), flow.abs().sum())
    assert not torch.equal(aug, flow)


def test_pretrained_magnifier_scales_flow_by_alpha():
    torch.manual_seed(0)
    coarse = torch.randn(8, 2, 4, 4)
    flows = F.interpolate(coarse, size=(32, 32), mode="bilinear", align_corners=True)  # (8, 2, 32, 32)
    flows = flows * (0.3 + 2.7 * torch.rand(8, 1, 1, 1))
    m = FlowMagnifier(base=8, levels=3)
    before = [relative_error(m, flows, a) for a in (1.5, 2.5, 3.5)]
    hist = pretrain(m, flows, steps=800, batch=8, lr=3e-3, generator=torch.Generator().manual_seed(0))
    after = [relative_error(m, flows, a) for a in (1.5, 2.5, 3.5)]
    assert min(before) > 0.8
    assert max(after) < 0.2, after  # stated error: relative L1 below 20% for alpha in [1.5, 3.5]
    assert sum(hist[-50:]) / 50 < 0.3 * sum(hist[:10]) / 10
