"""One-sided bootstrap intervals: bounds that run to the statistic's own range, and cover."""

from __future__ import annotations

import math

import numpy as np
import pytest

from varkit.gpu import bootstrap


@pytest.mark.parametrize("method", ["bca", "percentile", "basic"])
def test_one_sided_ends_are_the_two_sided_ends_at_twice_the_tail(method: str) -> None:
    x = np.random.default_rng(0).exponential(size=200)
    kw = {"n_resamples": 2000, "random_state": 1, "device": "cpu", "method": method}
    upper = bootstrap(x, "mean", alternative="less", confidence=0.95, **kw)
    lower = bootstrap(x, "mean", alternative="greater", confidence=0.95, **kw)
    two = bootstrap(x, "mean", confidence=0.9, **kw)
    assert upper.ci_low == -math.inf and lower.ci_high == math.inf
    assert upper.ci_high == pytest.approx(two.ci_high, rel=1e-12)
    assert lower.ci_low == pytest.approx(two.ci_low, rel=1e-12)
    assert upper.alternative == "less" and "overflow" not in upper.details


def test_one_sided_proportion_stays_in_range_and_is_exact_at_zero_events() -> None:
    kw = {"n_resamples": 200, "random_state": 1, "device": "cpu"}
    zero = bootstrap(np.zeros(30), "proportion", alternative="less", **kw)
    assert zero.ci_low == 0.0
    assert zero.ci_high == pytest.approx(1.0 - 0.05 ** (1 / 30), rel=1e-12)
    assert bootstrap(
        np.zeros(30), "proportion", alternative="greater", **kw
    ).confidence_interval == (0.0, 1.0)
    some = bootstrap(
        (np.arange(40) % 4 == 0).astype(float), "proportion", alternative="greater", **kw
    )
    assert some.ci_high == 1.0 and 0.0 < some.ci_low < 0.25


def test_one_sided_bootstrap_bounds_cover() -> None:
    reps, confidence, upper_hits, lower_hits = 200, 0.9, 0, 0
    for seed in range(reps):
        x = np.random.default_rng(seed).exponential(size=80)
        kw = {"n_resamples": 500, "random_state": seed, "device": "cpu", "confidence": confidence}
        upper_hits += 1.0 <= bootstrap(x, "mean", alternative="less", **kw).ci_high
        lower_hits += bootstrap(x, "mean", alternative="greater", **kw).ci_low <= 1.0
    # BCa's one-sided coverage error is O(1/n); allow 3 Monte Carlo standard errors and 2 points
    floor = confidence - 3 * math.sqrt(confidence * (1 - confidence) / reps) - 0.02
    assert upper_hits / reps >= floor and lower_hits / reps >= floor
