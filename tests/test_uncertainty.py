"""Intervals, paired differences, chance levels and the verdict rule (melib.metrics.uncertainty)."""

import numpy as np
import pytest
from scipy import stats

from melib.metrics.recognition import uar, uf1
from melib.metrics.uncertainty import (
    Interval,
    chance_level,
    difference_interval,
    ratio_interval,
    score_interval,
    seed_interval,
    subject_bootstrap,
    verdict,
)


def test_seed_interval_is_the_student_t_interval():
    iv = seed_interval([1.0, 2.0, 3.0])
    half = stats.t.ppf(0.975, 2) * 1.0 / np.sqrt(3)  # s = 1
    assert iv.estimate == 2.0
    assert iv.low == pytest.approx(2 - half) and iv.high == pytest.approx(2 + half)
    assert np.isnan(seed_interval([0.5]).low)


def test_bootstrap_of_a_mean_matches_the_analytic_interval():
    x = np.random.default_rng(1).normal(size=400)
    iv = subject_bootstrap(np.mean, np.arange(400), x, n_resamples=4000)
    half = 1.96 * x.std(ddof=1) / np.sqrt(x.size)
    assert iv.estimate == pytest.approx(x.mean())
    assert iv.half_width == pytest.approx(half, rel=0.12)


def test_bootstrap_resamples_subjects_not_rows():
    # 10 subjects, 50 identical rows each: the information is 10 values, not 500.
    rng = np.random.default_rng(2)
    values = rng.normal(size=10)
    x, subjects = np.repeat(values, 50), np.repeat(np.arange(10), 50)
    iv = subject_bootstrap(np.mean, subjects, x, n_resamples=4000)
    half = 1.96 * values.std(ddof=1) / np.sqrt(10)
    assert iv.half_width == pytest.approx(half, rel=0.3)  # a row bootstrap would be ~sqrt(50) narrower
    assert iv.n == 10


def test_paired_difference_is_narrower_than_the_unpaired_scores():
    rng = np.random.default_rng(3)
    n, subjects = 240, np.repeat(np.arange(12), 20)
    y = rng.integers(0, 3, n)
    a = np.where(rng.random(n) < 0.6, y, rng.integers(0, 3, n))
    b = a.copy()
    flip = rng.choice(n, 12, replace=False)
    b[flip] = (b[flip] + 1) % 3  # B = A with 12 answers changed
    d = difference_interval(uf1, y, a, b, subjects)
    assert d.estimate == pytest.approx(uf1(y, a) - uf1(y, b))
    ia, ib = score_interval(uf1, y, a, subjects), score_interval(uf1, y, b, subjects)
    unpaired = np.hypot(ia.half_width, ib.half_width)  # independent resamples of A and B
    assert d.half_width < 0.5 * unpaired
    # identical systems: a degenerate zero difference
    z = difference_interval(uf1, y, a, a, subjects)
    assert (z.estimate, z.low, z.high) == (0.0, 0.0, 0.0)
    # two subjects: no interval, so no verdict can be drawn from it
    two = difference_interval(uf1, y[:40], a[:40], b[:40], subjects[:40])
    assert two.n == 2 and np.isnan(two.low) and verdict(two, "increase") == "inconclusive"


def test_seeds_are_averaged_and_paired_by_index():
    y = np.array([0, 1, 0, 1, 0, 1])
    subjects = np.array([0, 0, 1, 1, 2, 2])
    seeds = np.array([y, 1 - y])  # seed 0 perfect, seed 1 always wrong
    iv = score_interval(uar, y, seeds, subjects)
    assert iv.estimate == pytest.approx(0.5)
    d = difference_interval(uar, y, seeds, seeds[::-1], subjects)
    assert d.estimate == pytest.approx(0.0)


def test_chance_level_of_uniform_guessing():
    y = np.repeat(np.arange(4), 25)
    assert chance_level(uar, y, 4, n_draws=800) == pytest.approx(0.25, abs=0.01)
    # skewed labels: UF1 chance is below 1/K (rare classes get low precision)
    y_skew = np.array([0] * 90 + [1] * 5 + [2] * 5)
    assert chance_level(uf1, y_skew, 3, n_draws=800) < 0.30


@pytest.mark.parametrize("iv, claim, margin, expected", [
    (Interval(0.05, 0.01, 0.09), "increase", 0.0, "supported"),
    (Interval(0.02, -0.01, 0.05), "increase", 0.0, "inconclusive"),
    (Interval(-0.05, -0.09, -0.01), "increase", 0.0, "contradicted"),
    (Interval(0.02, 0.00, 0.04), "increase", 0.05, "contradicted"),  # rules out the paper's +5 points
    (Interval(-0.01, -0.03, 0.01), "no_worse", 0.04, "supported"),
    (Interval(-0.08, -0.10, -0.06), "no_worse", 0.04, "contradicted"),
    (Interval(0.90, 0.85, 0.95), "equal", (1.0, 0.2), "supported"),
    (Interval(1.90, 1.85, 1.95), "equal", (1.0, 0.2), "contradicted"),
    (Interval(-0.05, -0.09, -0.01), "decrease", 0.0, "supported"),
    (Interval(0.1, float("nan"), float("nan")), "increase", 0.0, "inconclusive"),
])
def test_verdict_rule(iv, claim, margin, expected):
    assert verdict(iv, claim, margin) == expected


def test_ratio_of_medians_resolves_a_real_difference():
    rng = np.random.default_rng(4)
    a = 2.0 + 0.05 * rng.random(12)
    b = 1.0 + 0.05 * rng.random(12)
    r = ratio_interval(a, b)
    assert r.low > 1.8 and r.high < 2.2
    assert format(r, ".2f").startswith(f"{np.median(a) / np.median(b):.2f} [")
    few = ratio_interval(a[:3], b[:3])  # too few repetitions to resolve anything
    assert np.isnan(few.low) and not few.excludes(1.0)
