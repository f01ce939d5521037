"""ResNet18 (He et al. 2016, "Deep residual learning"), written here without torchvision.

AMMSM (Sec. III, Fig. 2) uses ResNet18 on the onset frame as its spatial stream. ``width`` scales every
stage (64 = the standard network; smaller widths for the teach/smoke profiles). ``stages`` lets a model
keep only the first layers (AMMSM fuses after stage 2, so it builds ``stages=2``; no dead parameters).
No pretrained weights are downloaded: a user checkpoint loads with ``load_state_dict``.
"""

from __future__ import annotations

import torch
from torch import nn


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with BN and an identity (or 1x1-projected) shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.downsample = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False),
                                            nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        idt = x if self.downsample is None else self.downsample(x)  # (B, C_out, H/s, W/s)
        y = torch.relu(self.bn1(self.conv1(x)))  # (B, C_out, H/s, W/s)
        return torch.relu(self.bn2(self.conv2(y)) + idt)  # (B, C_out, H/s, W/s)


class ResNet18(nn.Module):
    """ResNet18: stem (7x7 s2 + max-pool, H/4), 4 stages of 2 BasicBlocks, widths w*[1, 2, 4, 8].

    ``forward(x (B, in_ch, H, W))`` returns logits (B, n_classes) when ``n_classes`` is set and all four
    stages exist; :meth:`features` returns the map after the last built stage: (B, w*2**(stages-1),
    H/2**(stages+1), W/2**(stages+1)).
    """

    def __init__(self, in_ch: int = 3, width: int = 64, stages: int = 4, n_classes: int | None = None):
        super().__init__()
        if not 1 <= stages <= 4:
            raise ValueError(f"ResNet18 stages must be 1..4, got {stages}")
        if n_classes is not None and stages != 4:
            raise ValueError("a classifier head needs all 4 stages (stages=4)")
        self.widths = [width * 2**i for i in range(stages)]
        self.stem = nn.Sequential(
            nn.Conv2d(in_ch, width, 7, 2, 3, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, 1),
        )
        c_prev, layers = width, []
        for i, c in enumerate(self.widths):
            layers.append(nn.Sequential(BasicBlock(c_prev, c, 1 if i == 0 else 2), BasicBlock(c, c)))
            c_prev = c
        self.layers = nn.ModuleList(layers)
        self.fc = nn.Linear(c_prev, n_classes) if n_classes is not None else None

    @property
    def out_channels(self) -> int:
        return self.widths[-1]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)  # (B, w, H/4, W/4)
        for layer in self.layers:
            x = layer(x)  # (B, C_i, H/2**(i+2), W/2**(i+2))
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.features(x)  # (B, C, h, w)
        if self.fc is None:
            return f
        return self.fc(f.mean((2, 3)))  # (B, n_classes)
