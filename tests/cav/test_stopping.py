"""Tests required for a target relative half-width, and the running evaluation."""

import numpy as np
import pytest
from scipy import stats

from varkit.cav import importance_sampling_estimate, n_required, nde_estimate, running_estimate


def test_n_required_formula():
    r = nde_estimate(np.r_[np.ones(20), np.zeros(1980)])
    out = n_required(r, rhw=0.3, confidence=0.9)
    z = stats.norm.ppf(0.95)
    expected = np.ceil(z**2 * r.details["per_test_variance"] / (0.3 * 0.01) ** 2)
    assert out.estimate == expected and out.metric == "tests_required"
    assert out.details["tests_remaining"] == expected - 2000


def test_n_required_reaches_target_when_run_that_long():
    # After n_required tests the relative half-width of the same process is about 0.3.
    rng = np.random.default_rng(0)
    pilot = nde_estimate(rng.random(5000) < 0.02, confidence=0.9)
    n = int(n_required(pilot).estimate)
    full = nde_estimate(rng.random(n) < 0.02, confidence=0.9)
    assert full.details["relative_half_width"] == pytest.approx(0.3, abs=0.05)


def test_n_required_without_crash_is_infinite():
    assert n_required(nde_estimate(np.zeros(10))).estimate == np.inf


def test_running_is_matches_estimator_on_prefixes():
    rng = np.random.default_rng(1)
    y = rng.random(500) < 0.3
    w = rng.uniform(0.1, 2, 500)
    rs = running_estimate(y, w, method="is", checkpoints=[10, 250, 500])
    for r in rs:
        ref = importance_sampling_estimate(y[: r.n], w[: r.n], confidence=0.9)
        assert r.estimate == pytest.approx(ref.estimate)
        assert r.details["relative_half_width"] == pytest.approx(ref.details["relative_half_width"])


def test_running_scv_skips_and_lists_short_prefixes():
    from varkit.datasets.cav import load_cav_example

    log = load_cav_example()
    rs = running_estimate(
        log["crash"],
        log["weight"],
        n_critical=log["n_critical"],
        controls=log.filter(like="cv_"),
        method="scv",
        checkpoints=[5, 2000],
        pool_above=3,
        random_state=0,
    )
    assert [r.n for r in rs] == [2000]
    assert rs.provenance["skipped_checkpoints"][0]["tests"] == 5


def test_running_bad_method_raises():
    with pytest.raises(ValueError, match="`method` must be one of"):
        running_estimate([0, 1], [1, 1], method="mc")
