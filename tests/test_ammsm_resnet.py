"""ResNet18 written here (no torchvision): standard size, truncated features for the spatial stream."""

import torch

from melib.models.resnet import ResNet18


def test_resnet18_standard_size_and_truncation():
    assert sum(p.numel() for p in ResNet18(n_classes=1000).parameters()) == 11_689_512  # torchvision's count
    f = ResNet18(width=8, stages=2).features(torch.randn(1, 3, 64, 64))
    assert f.shape == (1, 16, 8, 8)
