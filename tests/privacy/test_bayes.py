"""EpsilonPosterior / bayesian_epsilon against an independent high-precision computation.

``fixtures/bayes_reference.csv`` comes from ``fixtures/make_bayes_reference.py``: adaptive
QUADPACK over the whole privacy region in both integration orders, brentq to 1e-12, and a
1e7-draw Monte Carlo check. ``fixtures/privacy_estimates_reference.csv`` holds the authors'
package's joint-beta intervals (tolerance 1e-2).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from varkit.privacy import EpsilonPosterior, bayesian_epsilon, epsilon_from_rates

FIXTURES = Path(__file__).parent / "fixtures"
REFERENCE = pd.read_csv(FIXTURES / "bayes_reference.csv")


@pytest.mark.parametrize(
    "key", sorted({tuple(r) for r in REFERENCE[["fp", "fn", "tn", "tp", "delta"]].to_numpy()})
)
def test_quantiles_match_the_high_precision_reference_to_1e_4(key) -> None:
    fp, fn, tn, tp, delta = key
    rows = REFERENCE[
        (REFERENCE.fp == fp)
        & (REFERENCE.fn == fn)
        & (REFERENCE.tn == tn)
        & (REFERENCE.tp == tp)
        & (REFERENCE.delta == delta)
    ]
    post = EpsilonPosterior(fp=int(fp), fn=int(fn), tn=int(tn), tp=int(tp), delta=float(delta))
    got = post.ppf(rows.q.to_numpy())
    np.testing.assert_allclose(got, rows.eps.to_numpy(), rtol=0, atol=1e-4)


def test_largest_quantile_error_is_far_below_the_requirement() -> None:
    errors = []
    for key, rows in REFERENCE.groupby(["fp", "fn", "tn", "tp", "delta"]):
        fp, fn, tn, tp, delta = key
        post = EpsilonPosterior(fp=fp, fn=fn, tn=tn, tp=tp, delta=delta)
        errors.append(np.abs(post.ppf(rows.q.to_numpy()) - rows.eps.to_numpy()).max())
    assert max(errors) < 2e-6  # measured 4.9e-7; the median error is 5e-12


def test_interval_agrees_with_privacy_estimates_joint_beta() -> None:
    ref = pd.read_csv(FIXTURES / "privacy_estimates_reference.csv")
    ref = ref[ref.method == "joint-beta"]
    assert len(ref) >= 1
    for row in ref.itertuples():
        r = bayesian_epsilon(
            fp=row.fp,
            fn=row.fn,
            tn=row.tn,
            tp=row.tp,
            delta=row.delta,
            confidence=1 - row.alpha,
            lower_end="posterior",
        )
        # privacy-estimates stops its root finder at xtol = 1e-2.
        assert r.ci_low == pytest.approx(row.lo, abs=1e-2)
        assert r.ci_high == pytest.approx(row.hi, abs=1e-2)


def test_cdf_inverts_ppf_and_pdf_is_the_derivative_of_cdf() -> None:
    post = EpsilonPosterior(fp=100, fn=100, tn=900, tp=900, delta=1e-5)
    q = np.array([0.01, 0.2, 0.5, 0.8, 0.99])
    np.testing.assert_allclose(post.cdf(post.ppf(q)), q, atol=1e-9)
    e = post.ppf(q)
    h = 1e-5
    numeric = (post.cdf(e + h) - post.cdf(e - h)) / (2 * h)
    np.testing.assert_allclose(post.pdf(e), numeric, rtol=1e-4)


def test_monte_carlo_draws_follow_the_cdf() -> None:
    post = EpsilonPosterior(fp=3, fn=0, tn=5, tp=8, delta=1e-5)
    draws = post.sample(40_000, random_state=2)
    grid = post.ppf(np.linspace(0.05, 0.95, 19))
    empirical = (draws[:, None] <= grid).mean(axis=0)
    np.testing.assert_allclose(empirical, np.linspace(0.05, 0.95, 19), atol=4 * 0.5 / 200)


@pytest.mark.parametrize(
    ("counts", "delta"),
    [
        ((0, 0, 100, 100), 1e-5),  # perfect attack: privacy-estimates raises here (issue #7)
        ((0, 0, 1_000_000, 1_000_000), 0.0),  # quantiles far above privacy-estimates' cap of 10
        ((500, 500, 500, 500), 0.0),  # random attack
        ((512, 0, 1, 487), 1e-5),  # FPR + FNR close to 1 from below; README case
        ((900, 800, 100, 200), 0.0),  # FPR + FNR > 1: reflected
        ((0, 1, 1, 0), 0.0),  # one point of each class, all wrong
        ((10, 400, 990, 600), 0.9),  # large delta
        ((5, 0, 0, 5), 0.0),  # TN = FN = 0
    ],
)
def test_edge_cases_are_finite_and_never_raise(counts, delta) -> None:
    fp, fn, tn, tp = counts
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = bayesian_epsilon(fp=fp, fn=fn, tn=tn, tp=tp, delta=delta)
        low = bayesian_epsilon(fp=fp, fn=fn, tn=tn, tp=tp, delta=delta, bound="lower")
    assert all(math.isfinite(v) for v in (r.estimate, r.ci_low, r.ci_high))
    assert 0 <= r.ci_low <= r.estimate <= r.ci_high
    assert r.ci_low <= low.ci_low <= r.estimate and low.ci_high == math.inf
    assert 0 <= r.details["mass_at_zero"] <= 1


def test_perfect_attack_upper_end_exceeds_ten() -> None:
    r = bayesian_epsilon(fp=0, fn=0, tn=100, tp=100, delta=1e-5, confidence=0.9)
    assert r.ci_high > 10  # privacy-estimates' max_eps, where its bracket fails


def test_reflection_gives_the_same_posterior() -> None:
    a = EpsilonPosterior(fp=10, fn=400, tn=990, tp=600)
    b = EpsilonPosterior(fp=990, fn=600, tn=10, tp=400)  # every guess flipped
    np.testing.assert_allclose(a.ppf([0.1, 0.5, 0.9]), b.ppf([0.1, 0.5, 0.9]), atol=1e-8)


def test_mass_at_zero_is_the_probability_of_the_chance_strip() -> None:
    post = EpsilonPosterior(fp=500, fn=500, tn=500, tp=500, delta=0.01)
    draws_fnr = np.random.default_rng(0).beta(500.5, 500.5, 400_000)
    draws_fpr = np.random.default_rng(1).beta(500.5, 500.5, 400_000)
    mc = (np.abs(draws_fnr + draws_fpr - 1) <= 0.01).mean()
    assert post.mass_at_zero == pytest.approx(mc, abs=4 * math.sqrt(mc * (1 - mc) / 400_000))
    assert EpsilonPosterior(fp=500, fn=500, tn=500, tp=500).mass_at_zero == 0.0
    # Quantiles below the atom are 0, and the interval starts at 0.
    assert post.ppf(post.mass_at_zero / 2) == 0.0
    assert post.interval(0.95)[0] == 0.0


def test_estimate_is_the_posterior_median_and_close_to_the_point_estimate() -> None:
    r = bayesian_epsilon(fp=100, fn=100, tn=900, tp=900)
    assert r.estimate == pytest.approx(EpsilonPosterior(fp=100, fn=100, tn=900, tp=900).median())
    # The median of epsilon(FPR, FNR) is not the plug-in value, but close to it.
    assert r.estimate == pytest.approx(epsilon_from_rates(0.1, 0.1), abs=0.05)
    assert r.method == "bayes-jeffreys" and r.n == 2000 and r.alternative == "two-sided"


def test_uniform_prior_is_available() -> None:
    r = bayesian_epsilon(fp=10, fn=400, tn=990, tp=600, prior="uniform")
    assert r.method == "bayes-uniform"
    assert r.estimate == pytest.approx(4.07, abs=0.05)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"fp": -1}, ValueError, "`fp` must be a non-negative integer"),
        ({"fn": 1.5}, ValueError, "`fn` must be a non-negative integer"),
        ({"tn": "3"}, TypeError, "`tn` must be a non-negative integer"),
        ({"tp": 0, "fn": 0}, ValueError, "saw no members"),
        ({"tn": 0, "fp": 0}, ValueError, "saw no non-members"),
        ({"delta": 1.0}, ValueError, r"`delta` must be in \[0, 1\)"),
        ({"delta": -0.1}, ValueError, r"`delta` must be in \[0, 1\)"),
        ({"confidence": 1.0}, ValueError, r"`confidence` must be between 0.5 and"),
        ({"bound": "upper"}, ValueError, "`bound` must be"),
        ({"prior": "flat"}, ValueError, "`prior` must be"),
    ],
)
def test_bad_arguments_raise_one_sentence(kwargs, error, message) -> None:
    args = {"fp": 10, "fn": 400, "tn": 990, "tp": 600, **kwargs}
    with pytest.raises(error, match=message):
        bayesian_epsilon(**args)


def test_ppf_rejects_levels_outside_the_unit_interval() -> None:
    post = EpsilonPosterior(fp=1, fn=1, tn=1, tp=1)
    with pytest.raises(ValueError, match="`q` must lie"):
        post.ppf(1.5)
    assert post.ppf(1.0) == math.inf and post.ppf(0.0) == 0.0


def test_direction_quantiles_match_monte_carlo() -> None:
    """Each direction's quantile (a 1-D integral) against draws of the two Betas."""
    post = EpsilonPosterior(fp=50, fn=60, tn=450, tp=440, delta=1e-5)
    q = post.direction_quantiles(0.0125)
    rng = np.random.default_rng(1)
    fnr, fpr = rng.beta(60.5, 440.5, 400_000), rng.beta(50.5, 450.5, 400_000)
    keep = 1 - 1e-5
    mc = [
        np.quantile(np.log((keep - fpr) / fnr), 0.0125),
        np.quantile(np.log((keep - fnr) / fpr), 0.0125),
    ]
    assert q[:2] == pytest.approx(mc, abs=5e-3)
    assert q[2:] == (0.0, 0.0)  # the reflected directions: below chance only


def test_directions_lower_end_is_below_the_posterior_quantile() -> None:
    r = bayesian_epsilon(fp=10, fn=400, tn=990, tp=600, delta=1e-5)
    post = EpsilonPosterior(fp=10, fn=400, tn=990, tp=600, delta=1e-5)
    assert r.ci_low == pytest.approx(max(post.direction_quantiles(0.0125)), abs=1e-9)
    assert r.ci_low < r.details["posterior_quantile_lower"] == pytest.approx(post.ppf(0.025))
    paper = bayesian_epsilon(fp=10, fn=400, tn=990, tp=600, delta=1e-5, lower_end="posterior")
    assert paper.ci_low == r.details["posterior_quantile_lower"]
    assert paper.ci_high == r.ci_high and paper.estimate == r.estimate
