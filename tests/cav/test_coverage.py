"""Coverage of the IS and SCV intervals on the simulator's default (one-critical) proposal.

The surrogate vehicle needs 726 tests for a relative half-width of 0.3 at 90% by
importance sampling (exact, ``importance_sampling_variance``); 4000 tests is 5.5 times that.
Campaigns are simulated with a fixed seed and each interval checked against the exact
crash rate (quadrature). Tolerances: 3 binomial standard errors of the coverage, 3 Monte
Carlo standard errors of the mean estimate.

Measured (seed 2026, 1000 campaigns of 4000 tests, 90%): importance sampling covers 0.905;
SCV with the twisted-step controls (``cv_twist_*``: every ``cv_*`` column of the default
log, the ``twist`` family, as ``varkit cav crash-rate --method scv`` and
benchmarks/cav_variance_reduction.py run it) covers 0.867, 3.5 standard errors below
nominal, with an empirical variance 1.4 times that of importance sampling on the same logs.
(Those were measured on binned logs filtered to ``cv_twist_*``: the same draws and columns.)
Its nominal-coverage test is therefore a strict xfail, and it is held to the issue's floor
of 0.85 instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from varkit.cav import importance_sampling_estimate, sparse_control_variates
from varkit.cav.scenarios import TWIST_CONTROL_COLUMNS, OvertakingScenario

VEHICLE = "surrogate"


def _campaigns(reps: int, n_tests: int, confidence: float, scv: bool) -> dict[str, Any]:
    scenario = OvertakingScenario()
    truth = scenario.crash_rate(VEHICLE)
    rng = np.random.default_rng(2026)
    out: dict[str, Any] = {"truth": truth, "reps": reps, "confidence": confidence}
    for name in ("is", "scv") if scv else ("is",):
        out[name] = {"hits": 0, "estimates": []}
    for i in range(reps):
        log = scenario.simulate(n_tests, VEHICLE, random_state=rng)
        results = {
            "is": importance_sampling_estimate(log["crash"], log["weight"], confidence=confidence)
        }
        if scv:
            controls = log.filter(like="cv_")  # the default (twist) family: cv_twist_* only
            assert list(controls) == list(TWIST_CONTROL_COLUMNS)
            results["scv"] = sparse_control_variates(
                log["crash"],
                log["weight"],
                log["n_critical"],
                controls,
                pool_above=4,
                confidence=confidence,
                random_state=i,
            )
        for name, r in results.items():
            out[name]["hits"] += r.ci_low <= truth <= r.ci_high
            out[name]["estimates"].append(r.estimate)
    return out


def _coverage_within_3se(run: dict[str, Any], name: str) -> tuple[float, float]:
    coverage = run[name]["hits"] / run["reps"]
    level = run["confidence"]
    return coverage, 3 * np.sqrt(level * (1 - level) / run["reps"])


def _unbiased(run: dict[str, Any], name: str) -> None:
    est = np.asarray(run[name]["estimates"])
    assert abs(est.mean() - run["truth"]) <= 3 * est.std(ddof=1) / np.sqrt(est.size)


@pytest.fixture(scope="module")
def at_4000() -> dict[str, Any]:
    return _campaigns(reps=1000, n_tests=4000, confidence=0.9, scv=True)


@pytest.mark.slow
def test_is_covers_at_4000_tests(at_4000: dict[str, Any]) -> None:
    coverage, tol = _coverage_within_3se(at_4000, "is")
    assert abs(coverage - 0.9) <= tol, coverage
    _unbiased(at_4000, "is")


@pytest.mark.slow
def test_scv_is_unbiased_and_meets_the_issue_floor(at_4000: dict[str, Any]) -> None:
    coverage, _ = _coverage_within_3se(at_4000, "scv")
    assert coverage >= 0.85, coverage  # issue 5's goal: coverage at least 0.85
    _unbiased(at_4000, "scv")


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="SCV 90% intervals cover 0.867 over 1000 campaigns of 4000 tests (SE 0.011): "
    "below nominal by more than 3 standard errors (not tuned; see the module docstring).",
)
def test_scv_covers_nominal_at_4000_tests(at_4000: dict[str, Any]) -> None:
    coverage, tol = _coverage_within_3se(at_4000, "scv")
    assert abs(coverage - 0.9) <= tol, coverage


def test_is_covers_on_the_demo_log_size() -> None:
    # Quick version: 150 campaigns of 2000 tests (the bundled log's size) at 95%;
    # measured 0.961 over 1000 campaigns, so the 3-SE band [0.897, 1] holds with room.
    run = _campaigns(reps=150, n_tests=2000, confidence=0.95, scv=False)
    coverage, tol = _coverage_within_3se(run, "is")
    assert abs(coverage - 0.95) <= tol, coverage
    _unbiased(run, "is")
