"""Threshold selection uses the reported estimator, avoids degenerate thresholds, and says
which protocol it followed (issue 18)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from varkit.privacy import audit_epsilon, bayesian_epsilon, clopper_pearson_epsilon
from varkit.privacy.attack import counts_at_thresholds
from varkit.privacy.thresholds import MIN_SIDE_ROWS, _threshold_grid


def _gaussian_log(mu: float, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    members = np.repeat([1, 0], n)
    scores = np.concatenate([rng.normal(mu, 1.0, n), rng.normal(0.0, 1.0, n)])
    return members, scores


@pytest.mark.parametrize(
    ("kwargs", "start"),
    [
        ({}, "split: "),
        ({"threshold": "bonferroni"}, "bonferroni: "),
        ({"threshold": 0.5}, "fixed: "),
    ],
)
def test_protocol_is_stated(kwargs, start) -> None:
    members, scores = _gaussian_log(1.0, 200, np.random.default_rng(0))
    r = audit_epsilon(members, scores, random_state=0, **kwargs)[0]
    assert r.details["protocol"].startswith(start)
    guess = audit_epsilon(members, guess=scores > 0.5)[0]
    assert guess.details["protocol"].startswith("guess: ")


@pytest.mark.parametrize(
    ("method", "function"),
    [("bayes", bayesian_epsilon), ("clopper-pearson", clopper_pearson_epsilon)],
)
def test_bonferroni_picks_the_largest_lower_bound_of_the_reported_estimator(
    method, function
) -> None:
    """The reported lower end is the largest over the grid of the same estimator's."""
    members, scores = _gaussian_log(2.0, 300, np.random.default_rng(1))
    r = audit_epsilon(members, scores, threshold="bonferroni", method=method, delta=1e-5)[0]
    assert r.details["selection_method"] == method
    level = r.details["per_threshold_confidence"]
    grid = _threshold_grid(scores, 20)
    counts = counts_at_thresholds(members.astype(bool), scores, grid)
    lows = [
        function(**{k: int(v[i]) for k, v in counts.items()}, delta=1e-5, confidence=level).ci_low
        for i in range(grid.size)
    ]
    assert r.ci_low == pytest.approx(max(lows), abs=1e-9)
    assert r.details["threshold"] == grid[int(np.argmax(lows))]


def test_random_attacks_pick_balanced_thresholds() -> None:
    """Ties at 0 used to go to the lowest threshold (FPR near 0.93)."""
    rng = np.random.default_rng(2)
    fprs, sides = [], []
    for run in range(20):
        members, scores = _gaussian_log(0.0, 250, rng)
        d = audit_epsilon(members, scores, random_state=run)[0].details
        fprs.append(d["fp"] / (d["fp"] + d["tn"]))
        sides.append(min(d["fp"] + d["tp"], d["fn"] + d["tn"]))
    assert 0.3 < float(np.median(fprs)) < 0.7
    assert min(sides) >= MIN_SIDE_ROWS


def test_small_logs_never_pick_a_threshold_with_few_rows_on_a_side() -> None:
    rng = np.random.default_rng(3)
    members, scores = _gaussian_log(1.0, 60, rng)
    for strategy in ("split", "bonferroni"):
        r = audit_epsilon(members, scores, threshold=strategy, n_thresholds=50, random_state=0)
        d = r[0].details
        called = int((scores >= d["threshold"]).sum())
        assert min(called, members.size - called) >= MIN_SIDE_ROWS


def _true_epsilon(mu: float, threshold: float, delta: float) -> float:
    """Closed form: member scores N(mu, 1), non-members N(0, 1), calls above threshold."""
    fpr, fnr = norm.sf(threshold), norm.cdf(threshold - mu)
    keep = 1.0 - delta
    return max(0.0, math.log((keep - fpr) / fnr), math.log((keep - fnr) / fpr))


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["split", "bonferroni"])
@pytest.mark.parametrize("mu", [0.0, 2.0])
def test_selected_lower_bound_is_calibrated(strategy, mu) -> None:
    """The reported lower bound stays below the true epsilon of the chosen threshold."""
    rng = np.random.default_rng(4)
    runs, misses = 100, 0
    for run in range(runs):
        members, scores = _gaussian_log(mu, 300, rng)
        r = audit_epsilon(
            members, scores, threshold=strategy, bound="lower", delta=1e-5, random_state=run
        )[0]
        misses += r.ci_low > _true_epsilon(mu, r.details["threshold"], 1e-5)
    assert misses / runs <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / runs)
