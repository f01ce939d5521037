"""Uncertainty of scores: intervals over seeds, a bootstrap over test subjects, paired differences,
chance levels, and the rule that turns an effect's interval into a verdict on a paper's claim.

design.md: every score is shown with its interval and the chance level, and an effect is a paired
difference with its interval. Under LOSO the test subjects are the sampling unit (clips of one
subject are not independent), so the bootstrap resamples whole subjects (a cluster bootstrap) and
recomputes the pooled score; two systems evaluated on the same clips are compared on the SAME
resampled subjects (paired), and seeds are paired by index. Built on ``scipy.stats.bootstrap``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95
MIN_SUBJECTS = 3  # subject_bootstrap gives no interval (nan, so every verdict is inconclusive) below this
MIN_TIMING_REPS = 5  # ratio_interval gives no interval below this many interleaved repetitions


@dataclass(frozen=True)
class Interval:
    """A point estimate with its two-sided interval (``confidence``) and how it was obtained."""

    estimate: float
    low: float
    high: float
    confidence: float = CONFIDENCE
    method: str = ""
    n: int = 0

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    def excludes(self, value: float) -> bool:
        """True when ``value`` lies outside the interval."""
        return bool(value < self.low or value > self.high)

    def __format__(self, spec: str) -> str:
        spec = spec or ".3f"
        return f"{self.estimate:{spec}} [{self.low:{spec}}, {self.high:{spec}}]"

    def __str__(self) -> str:
        return format(self, "")


def seed_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> Interval:
    """Mean over seeds with a Student-t interval (n - 1 degrees of freedom); one seed has no width (nan)."""
    from scipy import stats

    v = np.asarray(values, dtype=float).ravel()
    if v.size == 0:
        raise ValueError("seed_interval needs at least one value")
    mean = float(v.mean())
    if v.size == 1:
        return Interval(mean, float("nan"), float("nan"), confidence, "t over seeds", 1)
    half = stats.t.ppf(0.5 + confidence / 2, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size)
    return Interval(mean, mean - half, mean + half, confidence, "t over seeds", int(v.size))


def _groups(subjects) -> list[np.ndarray]:
    subjects = np.asarray(subjects).ravel()
    if subjects.size == 0:
        raise ValueError("no subjects given")
    return [np.flatnonzero(subjects == s) for s in dict.fromkeys(subjects.tolist())]


def subject_bootstrap(statistic: Callable[..., float], subjects, *samples, n_resamples: int = 2000,
                      confidence: float = CONFIDENCE, seed: int = 0, method: str = "percentile") -> Interval:
    """Cluster bootstrap over test subjects of ``statistic(*samples)``.

    ``samples`` are arrays whose first axis is aligned with ``subjects`` (one row per test clip/event);
    a resample draws len(unique subjects) subjects with replacement and evaluates ``statistic`` on
    all their rows. Pass both systems' predictions in ``samples`` and return their difference to get
    a paired interval. ``method`` is scipy's ("percentile", "basic" or "BCa").
    """
    from scipy import stats

    groups = _groups(subjects)
    arrays = [np.asarray(s) for s in samples]
    n_rows = sum(len(g) for g in groups)
    for a in arrays:
        if a.shape[0] != n_rows:
            raise ValueError(f"a sample has {a.shape[0]} rows but subjects has {n_rows}")
    estimate = float(statistic(*arrays))
    if len(groups) < MIN_SUBJECTS:  # 2 subjects give 3 distinct resamples: no interval worth the name
        return Interval(estimate, float("nan"), float("nan"), confidence,
                        f"subject bootstrap (fewer than {MIN_SUBJECTS} subjects: no interval)", len(groups))

    def on_subjects(idx):
        rows = np.concatenate([groups[i] for i in np.asarray(idx, dtype=int)])
        return statistic(*(a[rows] for a in arrays))

    res = stats.bootstrap((np.arange(len(groups)),), on_subjects, vectorized=False, n_resamples=n_resamples,
                          confidence_level=confidence, method=method, rng=np.random.default_rng(seed))
    return Interval(estimate, float(res.confidence_interval.low), float(res.confidence_interval.high),
                    confidence, f"subject bootstrap ({method}, {n_resamples})", len(groups))


def _per_seed(preds) -> np.ndarray:
    p = np.asarray(preds)
    return p[None] if p.ndim == 1 else p


def score_interval(score: Callable, y_true, preds, subjects, **kw) -> Interval:
    """Seed-averaged pooled score with a subject-bootstrap interval.

    ``preds`` is (N,) or (n_seeds, N) predictions aligned with ``y_true`` and ``subjects``; the
    statistic is mean over seeds of ``score(y_true, preds[s])`` on the resampled subjects' rows.
    """
    p = _per_seed(preds)
    y = np.asarray(y_true)

    def stat(y_, *ps):
        return float(np.mean([score(y_, q) for q in ps]))

    return subject_bootstrap(stat, subjects, y, *p, **kw)


def difference_interval(score: Callable, y_true, preds_a, preds_b, subjects, **kw) -> Interval:
    """Paired difference score(A) - score(B): same clips, same resampled subjects, seeds paired by index."""
    pa, pb = _per_seed(preds_a), _per_seed(preds_b)
    if pa.shape != pb.shape:
        raise ValueError(f"paired predictions differ in shape: {pa.shape} vs {pb.shape}")
    y, k = np.asarray(y_true), len(pa)

    def stat(y_, *ps):
        return float(np.mean([score(y_, ps[i]) - score(y_, ps[k + i]) for i in range(k)]))

    return subject_bootstrap(stat, subjects, y, *pa, *pb, **kw)


def chance_level(score: Callable, y_true, n_classes: int, n_draws: int = 500, seed: int = 0) -> float:
    """Expected ``score`` of a guesser that ignores its input and picks a class uniformly at random.

    Monte Carlo over ``n_draws`` guesses with the real metric (UAR's is 1/K exactly in expectation; UF1's
    depends on the class balance). The label set is the evaluated one, so the chance level matches it.
    """
    y = np.asarray(y_true)
    rng = np.random.default_rng(seed)
    return float(np.mean([score(y, rng.integers(0, n_classes, size=y.shape)) for _ in range(n_draws)]))


VERDICTS = ("supported", "contradicted", "inconclusive")


def verdict(effect: Interval, claim: str = "increase", margin: float = 0.0) -> str:
    """Judge a paper's claim from the interval of its effect (never typed by hand).

    - ``"increase"`` (A beats B by more than ``margin``): supported if low > margin, contradicted if
      high < margin, else inconclusive. ``"decrease"`` mirrors it (high < -margin / low > -margin).
    - ``"no_worse"`` (A within ``margin`` of B, non-inferiority): supported if low > -margin,
      contradicted if high < -margin, else inconclusive.
    - ``"equal"`` (the effect equals ``margin``'s centre: pass ``margin=(target, tolerance)``):
      supported if the interval lies inside target +- tolerance, contradicted if it lies outside it.
    An interval with nan bounds (one seed, one subject) is inconclusive.
    """
    lo, hi = effect.low, effect.high
    if np.isnan(lo) or np.isnan(hi):
        return "inconclusive"
    if claim == "increase":
        return "supported" if lo > margin else "contradicted" if hi < margin else "inconclusive"
    if claim == "decrease":
        return "supported" if hi < -margin else "contradicted" if lo > -margin else "inconclusive"
    if claim == "no_worse":
        return "supported" if lo > -margin else "contradicted" if hi < -margin else "inconclusive"
    if claim == "equal":
        target, tol = margin
        if target - tol <= lo and hi <= target + tol:
            return "supported"
        return "contradicted" if hi < target - tol or lo > target + tol else "inconclusive"
    raise ValueError(f"claim must be 'increase', 'decrease', 'no_worse' or 'equal', got {claim!r}")


def interleaved_timing(fns: dict[str, Callable[[], object]], reps: int = 10, warmup: int = 1) -> dict[str, np.ndarray]:
    """Wall seconds per call of each function, interleaved (A, B, A, B, ...) so drifting machine load
    hits every candidate alike; ``warmup`` untimed rounds first. Returns name -> (reps,) seconds."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    out = {name: np.empty(reps) for name in fns}
    for r in range(reps):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            out[name][r] = time.perf_counter() - t0
    return out


def ratio_interval(times_a, times_b, confidence: float = CONFIDENCE, n_resamples: int = 2000,
                   seed: int = 0) -> Interval:
    """Ratio of median times A/B with a bootstrap interval (pairs of interleaved repetitions resampled
    together). Compare two timings only when this interval excludes 1 or is narrow enough to matter."""
    a, b = np.asarray(times_a, float), np.asarray(times_b, float)
    if a.shape != b.shape or a.size < 1:
        raise ValueError("ratio_interval needs two equally long, non-empty timing series")
    if a.size < MIN_TIMING_REPS:  # a bootstrap of 2-4 pairs says nothing: no interval
        return Interval(float(np.median(a) / np.median(b)), float("nan"), float("nan"), confidence,
                        f"median ratio (fewer than {MIN_TIMING_REPS} repetitions: no interval)", int(a.size))

    def stat(i):
        return float(np.median(a[i]) / np.median(b[i]))

    from scipy import stats

    res = stats.bootstrap((np.arange(a.size),), stat, vectorized=False, n_resamples=n_resamples,
                          confidence_level=confidence, method="percentile", rng=np.random.default_rng(seed))
    return Interval(float(np.median(a) / np.median(b)), float(res.confidence_interval.low),
                    float(res.confidence_interval.high), confidence, "median ratio, bootstrap", int(a.size))
