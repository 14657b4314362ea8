"""A random attack (scores independent of membership) must not show leakage (issue 18).

The lower end of the Bayesian interval must be 0 in at least 95% of runs; a strong attack
must still get a lower end above 0.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from varkit.privacy import audit_epsilon, bayesian_epsilon

SETTINGS = {
    "default": {},
    "lower-1e-5": {"bound": "lower", "delta": 1e-5},
    "bonferroni": {"threshold": "bonferroni"},
}


def _zero_rate(n: int, runs: int, seed: int, **kwargs: object) -> float:
    rng = np.random.default_rng(seed)
    zeros = 0
    for run in range(runs):
        members = np.repeat([1, 0], n)
        scores = rng.normal(size=2 * n)
        r = audit_epsilon(members, scores, random_state=run, **kwargs)[0]
        zeros += r.ci_low == 0.0
    return zeros / runs


@pytest.mark.parametrize("n", [250, 1000])
@pytest.mark.parametrize("setting", list(SETTINGS))
def test_random_attack_lower_bound_is_zero_fast(n: int, setting: str) -> None:
    assert _zero_rate(n, 40, seed=n, **SETTINGS[setting]) >= 36 / 40


@pytest.mark.slow
@pytest.mark.parametrize("n", [250, 1000])
@pytest.mark.parametrize("setting", list(SETTINGS))
def test_random_attack_lower_bound_is_zero(n: int, setting: str) -> None:
    # The lower end is 0 exactly when the posterior interval of FPR + FNR reaches chance,
    # which a random attack's does in 1 - t of runs (t = 0.05 one-sided): exactly nominal,
    # so the check allows 3 Monte Carlo standard errors (0.95 - 0.046 over 200 runs).
    runs = 200
    floor = 0.95 - 3 * math.sqrt(0.95 * 0.05 / runs)
    assert _zero_rate(n, runs, seed=10 + n, **SETTINGS[setting]) >= floor


@pytest.mark.parametrize("setting", list(SETTINGS))
def test_strong_attack_still_shows_leakage(setting: str) -> None:
    rng = np.random.default_rng(3)
    positive = 0
    for run in range(20):
        n = 500
        members = np.repeat([1, 0], n)
        scores = np.concatenate([rng.normal(3.0, 1.0, n), rng.normal(0.0, 1.0, n)])
        r = audit_epsilon(members, scores, random_state=run, **SETTINGS[setting])[0]
        positive += r.ci_low > 0.0
        assert not r.details["lower_bound_reaches_random"]
    assert positive >= 19


def test_chance_tail_matches_monte_carlo() -> None:
    r = bayesian_epsilon(fp=230, fn=240, tn=270, tp=260)
    rng = np.random.default_rng(0)
    s = rng.beta(240.5, 260.5, 400_000) + rng.beta(230.5, 270.5, 400_000)
    assert r.details["chance_tail"] == pytest.approx((s >= 1.0).mean(), abs=3e-3)
    assert r.details["lower_bound_reaches_random"] is (r.ci_low == 0.0)


def test_estimate_inside_interval_at_random() -> None:
    r = bayesian_epsilon(fp=500, fn=500, tn=500, tp=500, bound="lower", delta=1e-5)
    assert r.ci_low == 0.0 <= r.estimate <= r.ci_high
    assert r.details["lower_bound_reaches_random"]
