"""Evolutionary search and adaptive sampling: feasibility, caching, convergence; Mixup and the EMA teacher."""

import math

import pytest
import torch
import torch.nn.functional as F

from melib.train.regularizers import EMATeacher, ema_decay_for, initial_weight_fraction, mesa_loss, mixup
from melib.train.search import Candidate, SearchSpace, evolutionary_search


def _monotone(space, ratios):
    i = 0
    for n in space.genes_per_stage:
        seg = ratios[i:i + n]
        if list(seg) != sorted(seg):
            return False
        i += n
    return True


def test_samples_are_feasible_and_cover_the_ranges():
    space, g = SearchSpace([1, 2, 4, 2]), torch.Generator().manual_seed(0)
    cands = [space.sample(g) for _ in range(300)]
    assert all(len(c.ratios) == 9 and _monotone(space, c.ratios) for c in cands)
    vals = {r for c in cands for r in c.ratios}
    assert vals == set(space.choices)  # every ratio 0.1..0.8 drawn, nothing else
    alphas = [c.alpha for c in cands]
    assert min(alphas) >= 1.0 and max(alphas) <= 4.0 and max(alphas) - min(alphas) > 2.5


def test_search_finds_a_planted_optimum_and_caches():
    space, g = SearchSpace([1, 2, 4, 2]), torch.Generator().manual_seed(1)
    target = Candidate(space.repair([0.8, 0.1, 0.3, 0.2, 0.2, 0.5, 0.6, 0.4, 0.4]), 3.0)
    calls = []

    def fitness(c):
        calls.append(c.key())
        return -sum(abs(a - b) for a, b in zip(c.ratios, target.ratios)) - abs(c.alpha - target.alpha)

    res = evolutionary_search(fitness, space, population=40, parents=10, generations=30, mutation_prob=0.2,
                              generator=g)
    assert len(calls) == len(set(calls))  # each candidate evaluated once (cache by value)
    assert res.best_fitness > -0.5  # random candidates score about -3.5
    best_per_gen = [h["best"] for h in res.history]
    assert best_per_gen == sorted(best_per_gen)  # elitism: the best never gets worse
    assert _monotone(space, res.best.ratios)


def test_nan_fitness_is_never_chosen():
    space, g = SearchSpace([1, 1]), torch.Generator().manual_seed(2)
    res = evolutionary_search(lambda c: float("nan") if c.alpha > 2 else c.alpha, space, 10, 3, 4, 0.1, g)
    assert res.best.alpha <= 2


def test_mixup_mixes_inputs_and_targets_with_one_lambda():
    g = torch.Generator().manual_seed(0)
    y = F.one_hot(torch.tensor([0, 1, 2, 0]), 3).float()
    x = y.clone() * 10  # inputs that encode their label: mixing must act on both alike
    (xm,), ym, lam = mixup([x], y, 0.8, g)
    assert 0 < lam < 1 and torch.allclose(ym.sum(1), torch.ones(4))
    assert torch.allclose(xm, ym * 10)
    assert not torch.allclose(ym, y)  # something was mixed
    assert torch.allclose(xm.sum(0), x.sum(0))  # a permutation mix keeps the batch sums


def test_ema_teacher_moves_towards_the_student():
    student = torch.nn.Linear(2, 2)
    teacher = EMATeacher(student, decay=0.5)
    before = teacher.model.weight.clone()
    with torch.no_grad():
        student.weight.add_(1.0)
    teacher.update(student)
    assert torch.allclose(teacher.model.weight, 0.5 * before + 0.5 * student.weight)
    assert not teacher.model.weight.requires_grad
    logits = torch.tensor([[2.0, 0.0]])
    assert float(mesa_loss(logits, logits)) < float(mesa_loss(logits, torch.tensor([[0.0, 2.0]])))


def test_scaled_ema_teacher_keeps_the_designed_share_of_its_initial_weights():
    """A teacher scaled to N steps holds exp(-1/horizon) of its initial weights after N updates (and
    exp(-s/horizon) after s * N); a fixed 0.9998 over a fold's ~1,300 steps would still hold ~77 %."""
    n, horizon = 400, 0.05
    student = torch.nn.Linear(3, 3)
    with torch.no_grad():
        student.weight.fill_(1.0)
    teacher = EMATeacher(student, ema_decay_for(n, horizon))
    with torch.no_grad():
        student.weight.zero_()  # from now on the teacher only forgets: its weight = share of the initial one
    for _ in range(n // 4):
        teacher.update(student)
    assert float(teacher.model.weight[0, 0]) == pytest.approx(math.exp(-0.25 / horizon), rel=1e-3)  # MESA on
    for _ in range(n - n // 4):
        teacher.update(student)
    assert teacher.updates == n
    assert float(teacher.model.weight[0, 0]) == pytest.approx(math.exp(-1 / horizon), rel=1e-3)
    assert initial_weight_fraction(teacher.decay, teacher.updates) == pytest.approx(math.exp(-1 / horizon))
    assert initial_weight_fraction(0.9998, 1300) == pytest.approx(0.771, abs=1e-3)
    with pytest.raises(ValueError, match="horizon"):
        ema_decay_for(100, 0.0)
