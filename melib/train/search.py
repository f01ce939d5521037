"""Evolutionary search over AMMSM's configuration (Sec. III-C; after SparseViT's search).

A candidate = (sparsity ratio per pair of blocks, magnification factor alpha). Ratios come from
``choices`` (AMMSM: {0.1, ..., 0.8}) and are non-decreasing within a stage (:func:`repair` sorts them);
alpha lies in [alpha_low, alpha_high] on a grid of ``alpha_step`` so that candidates can be cached by
value. Each generation keeps the ``parents`` fittest, then fills the population half by mutation (each
gene resampled with probability ``mutation_prob``) and half by uniform crossover of two parents.
``fitness`` is to be MAXIMISED: AMMSM uses minus the classification loss on held-out TRAINING subjects.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch


@dataclass(frozen=True)
class Candidate:
    ratios: tuple[float, ...]
    alpha: float

    def key(self) -> tuple:
        return (tuple(round(r, 4) for r in self.ratios), round(self.alpha, 4))


@dataclass
class SearchSpace:
    genes_per_stage: list[int]  # number of ratios (pairs of blocks) per stage
    choices: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
    alpha_low: float = 1.0
    alpha_high: float = 4.0
    alpha_step: float = 0.1

    @property
    def n_ratios(self) -> int:
        return sum(self.genes_per_stage)

    def _pick(self, n: int, g: torch.Generator) -> list[float]:
        idx = torch.randint(0, len(self.choices), (n,), generator=g).tolist()
        return [self.choices[i] for i in idx]

    def _alpha(self, g: torch.Generator) -> float:
        steps = round((self.alpha_high - self.alpha_low) / self.alpha_step)
        return self.alpha_low + self.alpha_step * int(torch.randint(0, steps + 1, (1,), generator=g))

    def repair(self, ratios: Sequence[float]) -> tuple[float, ...]:
        """Sort the ratios within each stage (non-decreasing, Sec. III-B / SparseViT)."""
        out, i = [], 0
        for n in self.genes_per_stage:
            out += sorted(ratios[i:i + n])
            i += n
        return tuple(out)

    def sample(self, g: torch.Generator) -> Candidate:
        """One random feasible configuration (also the adaptive phase's per-step draw)."""
        return Candidate(self.repair(self._pick(self.n_ratios, g)), self._alpha(g))

    def mutate(self, c: Candidate, prob: float, g: torch.Generator) -> Candidate:
        fresh = self.sample(g)
        flips = (torch.rand(self.n_ratios + 1, generator=g) < prob).tolist()
        ratios = [f if m else r for r, f, m in zip(c.ratios, self._pick(self.n_ratios, g), flips)]
        return Candidate(self.repair(ratios), fresh.alpha if flips[-1] else c.alpha)

    def crossover(self, a: Candidate, b: Candidate, g: torch.Generator) -> Candidate:
        pick = (torch.rand(self.n_ratios + 1, generator=g) < 0.5).tolist()
        ratios = [x if p else y for x, y, p in zip(a.ratios, b.ratios, pick)]
        return Candidate(self.repair(ratios), a.alpha if pick[-1] else b.alpha)


@dataclass
class SearchResult:
    best: Candidate
    best_fitness: float
    history: list[dict] = field(default_factory=list)  # per generation: best, mean, top candidates
    evaluated: dict = field(default_factory=dict)  # candidate key -> fitness (the cache)


def next_generation(pop: Sequence[Candidate], score: Callable[[Candidate], float], space: SearchSpace,
                    parents: int, mutation_prob: float, generator: torch.Generator) -> list[Candidate]:
    """One generation: the ``parents`` fittest of ``pop`` (best first, ties in population order) survive,
    then (len(pop) - parents) // 2 mutants of randomly drawn survivors, then uniform crossovers of two
    drawn survivors fill the population back to len(pop)."""
    top = sorted(pop, key=score, reverse=True)[:parents]
    children = []
    for _ in range((len(pop) - parents) // 2):
        p = top[int(torch.randint(0, len(top), (1,), generator=generator))]
        children.append(space.mutate(p, mutation_prob, generator))
    while len(children) < len(pop) - parents:
        i, j = torch.randint(0, len(top), (2,), generator=generator).tolist()
        children.append(space.crossover(top[i], top[j], generator))
    return top + children


def evolutionary_search(fitness: Callable[[Candidate], float], space: SearchSpace, population: int,
                        parents: int, generations: int, mutation_prob: float, generator: torch.Generator,
                        progress: Callable | None = None) -> SearchResult:
    """Maximise ``fitness`` over ``space``; candidates are evaluated once each (cached by value)."""
    if not 1 <= parents <= population:
        raise ValueError(f"need 1 <= parents <= population, got parents={parents}, population={population}")
    cache: dict[tuple, float] = {}

    def score(c: Candidate) -> float:
        if c.key() not in cache:
            f = float(fitness(c))
            cache[c.key()] = f if math.isfinite(f) else -math.inf  # infeasible/NaN -> -inf
        return cache[c.key()]

    pop = [space.sample(generator) for _ in range(population)]
    history = []
    gens = range(generations)
    for gen in progress(gens) if progress else gens:
        fits = [score(c) for c in pop]
        pop = next_generation(pop, score, space, parents, mutation_prob, generator)
        top = pop[:parents]
        history.append({"generation": gen, "best": score(top[0]), "mean": sum(fits) / len(fits),
                        "top": [(c, score(c)) for c in top]})
    best = max(pop, key=score)
    return SearchResult(best, score(best), history, dict(cache))
