"""Coverage of the IS and SCV intervals on the simulator's default (one-critical) proposal.

The surrogate vehicle needs 726 tests for a relative half-width of 0.3 at 90% by
importance sampling (exact, ``importance_sampling_variance``); 4000 tests is 5.5 times that.
Campaigns are simulated with a fixed seed and each interval checked against the exact
crash rate (quadrature). Tolerances: 3 binomial standard errors of the coverage, 3 Monte
Carlo standard errors of the mean estimate.

SCV runs as ``varkit cav crash-rate --method scv`` does: every ``cv_*`` column of the
default log (the 15 ``cv_twist_*``), cross-fitted, strata pooled until each fit has 10
crashes per control (``crashes_per_control``, the default). Before that rule (strata
0, 1, 2, 3 and 4+ regressed separately, ``pool_above=4``) the same 1000 campaigns gave a
90% coverage of 0.867 and 1.4 times the variance of importance sampling; the unpooled
fit is kept here as the comparison that shows what the rule buys.
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
    for name in ("is", "scv", "scv_unpooled") if scv else ("is",):
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
                confidence=confidence,
                random_state=i,
            )
            results["scv_unpooled"] = sparse_control_variates(
                log["crash"],
                log["weight"],
                log["n_critical"],
                controls,
                pool_above=4,
                crashes_per_control=0,
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
def test_scv_is_unbiased_and_covers_nominal_at_4000_tests(at_4000: dict[str, Any]) -> None:
    coverage, tol = _coverage_within_3se(at_4000, "scv")
    assert abs(coverage - 0.9) <= tol, coverage
    _unbiased(at_4000, "scv")


@pytest.mark.slow
def test_crash_pooling_makes_scv_beat_importance_sampling(at_4000: dict[str, Any]) -> None:
    # Empirical variance over the same campaigns: SCV with the crashes-per-control rule
    # below importance sampling. The unpooled per-stratum fit was above it (1.4x) until
    # the fits screened out near-constant controls (varkit.cav.moments.screen_controls):
    # its small strata's brake columns carry their variance in one or two tests, and
    # screened it is below importance sampling too (0.83x on these campaigns).
    var = {k: np.var(at_4000[k]["estimates"], ddof=1) for k in ("is", "scv", "scv_unpooled")}
    assert var["scv"] < var["is"], var
    assert var["scv_unpooled"] < var["is"], var


@pytest.mark.slow
def test_is_covers_on_the_demo_log_size() -> None:
    # Quick version: 150 campaigns of 2000 tests (the bundled log's size) at 95%;
    # measured 0.961 over 1000 campaigns, so the 3-SE band [0.897, 1] holds with room.
    run = _campaigns(reps=150, n_tests=2000, confidence=0.95, scv=False)
    coverage, tol = _coverage_within_3se(run, "is")
    assert abs(coverage - 0.95) <= tol, coverage
    _unbiased(run, "is")
