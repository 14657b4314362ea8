"""One-sided tests and intervals of varkit.evaluate: coverage and size by simulation.

A one-sided interval at ``confidence`` must cover the truth at least that often (exact
methods) or about that often (approximate ones), and run to the parameter's own bound.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from varkit.evaluate import (
    corrected_resampled_ttest,
    mcnemar,
    proportion_ci,
    proportion_difference,
)

METHODS = ["wilson", "clopper-pearson", "jeffreys", "normal", "agresti-coull"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("alternative", ["less", "greater"])
def test_proportion_bound_runs_to_the_parameter_bound(method: str, alternative: str) -> None:
    r = proportion_ci(7, 40, method=method, alternative=alternative)
    assert r.alternative == alternative
    assert r.ci_low <= r.estimate <= r.ci_high
    if alternative == "less":
        assert r.ci_low == 0.0 and r.ci_high < 1.0
    else:
        assert r.ci_high == 1.0 and r.ci_low > 0.0


def test_zero_events_get_the_exact_one_sided_upper_bound() -> None:
    # Clopper-Pearson's one-sided bound at 0 of n is 1 - alpha^(1/n) (alpha, not alpha/2)
    r = proportion_ci(0, 50, method="clopper-pearson", alternative="less", confidence=0.95)
    assert r.ci_high == pytest.approx(1.0 - 0.05 ** (1 / 50), rel=1e-12)
    assert proportion_ci(50, 50, method="clopper-pearson", alternative="greater").ci_low == (
        pytest.approx(0.05 ** (1 / 50), rel=1e-12)
    )
    # the bound that cannot be found at an edge is the whole range
    assert proportion_ci(0, 50, alternative="greater").confidence_interval == (0.0, 1.0)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("p", [0.0, 0.03, 0.3])
def test_one_sided_proportion_bounds_cover(method: str, p: float) -> None:
    rng = np.random.default_rng(20261206)
    n, reps, confidence = 40, 400, 0.9
    counts = rng.binomial(n, p, size=reps)
    upper = np.array(
        [
            proportion_ci(
                int(k), n, method=method, alternative="less", confidence=confidence
            ).ci_high
            for k in counts
        ]
    )
    lower = np.array(
        [
            proportion_ci(
                int(k), n, method=method, alternative="greater", confidence=confidence
            ).ci_low
            for k in counts
        ]
    )
    cover_upper, cover_lower = np.mean(p <= upper), np.mean(lower <= p)
    # exact methods never under-cover beyond Monte Carlo error; Wald (normal) is known to
    # under-cover at small n p (Brown, Cai & DasGupta 2001), so it only has to be close
    se = math.sqrt(confidence * (1 - confidence) / reps)
    floor = confidence - (0.12 if method == "normal" and 0 < p < 0.1 else 3 * se)
    assert cover_upper >= floor
    assert cover_lower >= floor
    if p == 0.0:
        assert cover_upper == 1.0 and np.all(upper > 0)  # never [0, 0]


def test_one_sided_difference_of_proportions() -> None:
    r = proportion_difference(0.9, 0.8, 100, alternative="greater")
    assert r.ci_high == 1.0 and r.alternative == "greater"
    # its lower bound is the two-sided 90% interval's lower end
    two = proportion_difference(0.9, 0.8, 100, confidence=0.9)
    assert r.ci_low == pytest.approx(two.ci_low, rel=1e-12)
    assert r.pvalue == pytest.approx(stats.norm.sf(r.statistic), rel=1e-12)
    rng = np.random.default_rng(7)
    p1, p2, n, reps = 0.7, 0.6, 200, 500
    a, b = rng.binomial(n, p1, reps) / n, rng.binomial(n, p2, reps) / n
    lows = [
        proportion_difference(x, y, n, alternative="greater", confidence=0.9).ci_low
        for x, y in zip(a, b, strict=True)
    ]
    assert np.mean(np.array(lows) <= p1 - p2) >= 0.9 - 3 * math.sqrt(0.09 / reps)


def test_mcnemar_greater_means_model_one_more_accurate() -> None:
    # b = 9 cases only model 1 gets right, c = 2 only model 2: evidence for model 1
    table = [[50, 9], [2, 39]]
    greater = mcnemar(table, alternative="greater")
    assert greater.pvalue == pytest.approx(stats.binomtest(9, 11, 0.5, "greater").pvalue)
    assert mcnemar(table, alternative="less").pvalue > 0.9
    assert greater.alternative == "greater"
    for method in ("mid-p", "chi2", "chi2-corrected"):
        one = mcnemar(table, method=method, alternative="greater").pvalue
        two = mcnemar(table, method=method).pvalue
        assert one == pytest.approx(two / 2, rel=1e-9)  # the tail of a symmetric law
    assert mcnemar([[5, 0], [0, 5]], alternative="greater").pvalue == 1.0


@pytest.mark.parametrize("method", ["exact", "mid-p", "chi2-corrected"])
def test_one_sided_mcnemar_size(method: str) -> None:
    # equally accurate models: a one-sided test at 5% rejects at most about 5% of the time
    rng = np.random.default_rng(11)
    reps, rejected = 2000, 0
    for _ in range(reps):
        b = int(rng.binomial(30, 0.5))
        rejected += (
            mcnemar([[60, b], [30 - b, 10]], method=method, alternative="greater").pvalue <= 0.05
        )
    assert rejected / reps <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / reps)


def test_one_sided_corrected_t_interval_covers() -> None:
    rng = np.random.default_rng(3)
    reps, confidence, hits_upper, hits_lower = 500, 0.9, 0, 0
    for _ in range(reps):
        d = 0.02 + rng.normal(scale=0.01, size=10)
        upper = corrected_resampled_ttest(
            d, n_train=90, n_test=10, confidence=confidence, alternative="less"
        )
        lower = corrected_resampled_ttest(
            d, n_train=90, n_test=10, confidence=confidence, alternative="greater"
        )
        assert upper.ci_low == -math.inf and lower.ci_high == math.inf
        hits_upper += 0.02 <= upper.ci_high
        hits_lower += lower.ci_low <= 0.02
    # independent differences: the correction only widens, so coverage is at least nominal
    floor = confidence - 3 * math.sqrt(confidence * (1 - confidence) / reps)
    assert hits_upper / reps >= floor and hits_lower / reps >= floor
