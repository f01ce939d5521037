"""Regularisers AMMSM trains with (Sec. IV-C): Mixup (Zhang et al. 2018) and MESA (Du et al. 2022).

The paper names both and gives no settings; what follows is upstream's (VSSD's) or melib's own:

- :func:`mixup`: x' = lam * x_i + (1 - lam) * x_perm(i), soft targets mixed the same way, lam ~ Beta(a, a).
  Applied to the flow and the onset frame together; eq. 1 stays valid on mixed flow (it is linear).
  a = 0.8 in the paper profile is VSSD's training recipe (its config: MIXUP 0.8); VSSD also switches to
  CutMix (alpha 1.0) half the time and smooths labels by 0.1, which melib leaves out (melib's choice:
  CutMix would paste flow of one face onto another).
- :class:`EMATeacher` + :func:`mesa_loss`: sharpness-aware training for free. The teacher is an EMA of
  the model; the student adds lambda * CE(student, softmax(teacher)). This is VSSD's variant of MESA
  (soft-target cross-entropy, no temperature), not the MESA paper's KL at temperature 5; switched on
  after a fraction of training.
- :func:`ema_decay_for`: melib's choice of the teacher's decay. VSSD's 0.9998 suits ImageNet's hundreds
  of thousands of steps; over the ~1,300 steps of a LOSO fold it leaves the teacher 0.9998**1300 = 77 %
  its random initial weights while it is distilled at weight 1. melib scales the decay to the run:
  d = exp(-1 / (horizon * steps)), a time constant of ``horizon`` of training, so the teacher keeps
  exp(-1 / horizon) of its initial weights at the end (horizon 0.05: e^-20) and exp(-s / horizon) after a
  fraction s (at MESA's start, s = 0.25: e^-5 = 0.7 %). ``ema_horizon=None`` uses a fixed ``ema_decay``.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def soft_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of -sum_c target_c log softmax(logits)_c; target (B, K) rows sum to 1."""
    return -(target * F.log_softmax(logits, dim=1)).sum(1).mean()


def mixup(tensors: list[torch.Tensor], target: torch.Tensor, alpha: float, generator: torch.Generator):
    """Mix every tensor of a batch (and the soft targets (B, K)) with one lam ~ Beta(alpha, alpha).

    Returns (mixed tensors, mixed targets, lam). alpha <= 0 turns Mixup off (lam = 1).
    """
    if alpha <= 0:
        return tensors, target, 1.0
    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
    lam = float(np.random.default_rng(seed).beta(alpha, alpha))
    perm = torch.randperm(target.shape[0], generator=generator)
    mixed = [lam * t + (1 - lam) * t[perm.to(t.device)] for t in tensors]  # each (B, ...)
    return mixed, lam * target + (1 - lam) * target[perm.to(target.device)], lam


def ema_decay_for(steps: int, horizon: float) -> float:
    """EMA decay with a time constant of ``horizon`` x ``steps`` updates: exp(-1 / (horizon * steps)).

    After ``steps`` updates the teacher keeps decay**steps = exp(-1 / horizon) of its initial weights.
    """
    if steps < 1 or not horizon > 0:
        raise ValueError(f"ema_decay_for needs steps >= 1 and horizon > 0; got steps={steps}, horizon={horizon}")
    return float(np.exp(-1.0 / (horizon * steps)))


def initial_weight_fraction(decay: float, steps: int) -> float:
    """Share of an EMA's initial value left after ``steps`` updates at ``decay``: decay**steps."""
    return float(decay) ** int(steps)


class EMATeacher:
    """Exponential moving average of a model's parameters and buffers (MESA's teacher).

    ``updates`` counts :meth:`update` calls, so ``initial_weight_fraction(decay, updates)`` is the share
    of the initial (random) weights the teacher still holds.
    """

    def __init__(self, model: nn.Module, decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay}")
        self.decay, self.updates = decay, 0
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        ema = self.model.state_dict()
        for k, v in model.state_dict().items():
            if v.dtype.is_floating_point:
                ema[k].mul_(self.decay).add_(v.detach(), alpha=1 - self.decay)
            else:
                ema[k].copy_(v)
        self.updates += 1


def mesa_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    """MESA (VSSD variant): soft-target CE of the student against softmax of the EMA teacher's logits."""
    return soft_cross_entropy(student_logits, F.softmax(teacher_logits.detach(), dim=1))
