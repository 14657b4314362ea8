"""Owen-Zhou mixture-component controls and the exact variances of the simulator."""

import itertools
import math

import numpy as np
import pytest

from varkit.cav import sparse_control_variates
from varkit.cav.scenarios import EXTRA_LOG_COLUMNS, MIXTURE_CONTROL_COLUMNS, OvertakingScenario


def _all_maneuvers(scenario, gap):
    """Every maneuver sequence for one row of gaps, its probability under q, and p/q."""
    critical = gap < scenario.critical_gap()
    p = scenario.maneuver_probabilities(gap)
    q = np.where(critical[:, None], scenario.step_proposal(gap), p)
    seqs = np.array(list(itertools.product(range(3), repeat=gap.size)))
    steps = np.arange(gap.size)
    prob = np.prod(q[steps, seqs], axis=1)
    step_w = np.where(critical, p[steps, seqs] / q[steps, seqs], 1.0)
    return seqs, prob, step_w, critical


@pytest.mark.parametrize(
    "gap",
    [
        [5.0, 30.0, 9.0, 12.0, 3.0, 40.0],  # five critical steps: orders 1-3 and the summed 4th
        [20.0, 13.0, 30.0, 25.0, 50.0, 8.0],  # two critical steps
    ],
)
def test_mixture_controls_have_mean_exactly_zero_given_gaps(gap):
    # Exact: sum over all 3^6 maneuver sequences weighted by q (Owen & Zhou 2000, Sec. 3:
    # E_q[q_S/q] = 1). Simulation cannot show this for the heavy components (their mean
    # sits in sequences of probability ~eps^k), so we enumerate.
    scenario = OvertakingScenario(n_steps=6, controls="mixture")
    gap = np.asarray(gap)
    seqs, prob, step_w, critical = _all_maneuvers(scenario, gap)
    assert prob.sum() == pytest.approx(1.0, abs=1e-12)
    n = len(seqs)
    cols = scenario._mixture_controls(np.tile(gap, (n, 1)), np.tile(critical, (n, 1)), step_w)
    assert set(cols) == set(MIXTURE_CONTROL_COLUMNS)
    for name, h in cols.items():
        scale = max(1.0, float(np.sum(prob * np.abs(h))))
        assert abs(float(np.sum(prob * h))) < 1e-12 * scale, name
    # E_q[W] = 1 is the p component itself; bounded components stay within their bounds
    k = int(critical.sum())
    assert cols["cv_twisted"].max() <= (1 - scenario.eps) ** -k - 1 + 1e-12
    for i in range(1, 5):
        assert cols[f"cv_step_{i}"].min() >= -1 - 1e-12
        assert cols[f"cv_step_{i}"].max() <= scenario.eps / (1 - scenario.eps) + 1e-12


def test_mixture_controls_mean_zero_by_simulation_where_tails_are_light():
    # eps = 0.5 and 4 steps keep every ratio below 2^4, so the sample mean is a fair check
    # (4 Monte Carlo standard errors; 15 columns, so a false alarm has probability ~1e-3).
    scenario = OvertakingScenario(n_steps=4, epsilon=0.5, gap_median=14.0, controls="mixture")
    log = scenario.simulate(100_000, "surrogate", random_state=12)
    assert list(log.columns[3:]) == [*MIXTURE_CONTROL_COLUMNS, *EXTRA_LOG_COLUMNS]
    for col in MIXTURE_CONTROL_COLUMNS:
        x = log[col].to_numpy()
        if x.std() > 0:
            assert abs(x.mean()) < 4 * x.std() / math.sqrt(x.size), col


def test_stratum_one_components_coincide():
    # With one critical step q_S/q for S = {j} and S = C are the same ratio r_j.
    log = OvertakingScenario(controls="mixture").simulate(3000, random_state=2)
    one = log[log["n_critical"] == 1]
    np.testing.assert_allclose(one["cv_twisted"], one["cv_single_1"])
    np.testing.assert_allclose(one["cv_step_1"], one["cv_single_1"])
    none = log[log["n_critical"] == 0]
    assert (none.filter(like="cv_") == 0).all().all()


def test_zero_variance_when_y_w_is_a_mixture_component():
    # Owen-Zhou zero-variance case: y = 1 makes Y W = W = q_empty/q, i.e. cv_nde + 1, so
    # every stratum's regression is exact and the estimate is E_p[1] = 1 with stderr 0.
    log = OvertakingScenario(controls="mixture").simulate(4000, random_state=3)
    r = sparse_control_variates(
        np.ones(len(log)), log["weight"], log["n_critical"], log[["cv_nde"]], random_state=0
    )
    # Round-off only: in strata with 6+ critical steps W ~ 1e-11, and cv_nde = W - 1 holds
    # its variation to ~1e-5 relative precision, so the fitted slope is 1 +- 1e-4 there.
    assert r.estimate == pytest.approx(1.0, abs=1e-5)
    assert r.stderr < 1e-5
    plain = sparse_control_variates(
        np.ones(len(log)), log["weight"], log["n_critical"], log[["cv_twisted"]], random_state=0
    )
    assert plain.stderr > 1e-3  # a control that is not that component does not do it


@pytest.mark.parametrize("proposal", ["all-critical", "one-critical"])
@pytest.mark.parametrize(("gap_median", "vehicle"), [(8.0, "surrogate"), (10.0, "distracted")])
@pytest.mark.slow
def test_exact_is_variance_matches_simulation_where_tails_are_light(gap_median, vehicle, proposal):
    # Short gaps make most steps critical and crashes common, so E_q[Z^2] is estimable;
    # checked to 4 Monte Carlo standard errors of the mean of Z^2.
    scenario = OvertakingScenario(n_steps=4, epsilon=0.5, gap_median=gap_median, proposal=proposal)
    log = scenario.simulate(200_000, vehicle, random_state=5)
    z2 = (log["crash"] * log["weight"]).to_numpy() ** 2
    mu = scenario.crash_rate(vehicle)
    exact = scenario.importance_sampling_variance(vehicle) + mu**2  # E_q[Z^2]
    assert abs(z2.mean() - exact) < 4 * z2.std() / math.sqrt(z2.size)


@pytest.mark.slow
def test_control_bound_is_below_is_variance_and_tiny_gain_on_all_critical_proposal():
    scenario = OvertakingScenario(proposal="all-critical")
    for vehicle in ("surrogate", "distracted"):
        var_is = scenario.importance_sampling_variance(vehicle)
        bound = scenario.control_variance_bound(vehicle)
        assert 0 < bound < var_is
        # No control built from gaps and maneuvers can reduce the variance 5x here.
        assert var_is / bound < 2.5
    # and importance sampling needs far more tests than the NDE (relative variance ~1e7)
    mu = scenario.crash_rate("surrogate")
    assert scenario.importance_sampling_variance("surrogate") / mu**2 > 100 * (1 - mu) / mu


def test_unknown_control_set_raises():
    with pytest.raises(ValueError, match="`controls` must be one of"):
        OvertakingScenario(controls="bogus").simulate(10)
    with pytest.raises(ValueError, match="for the one-critical proposal"):
        OvertakingScenario(proposal="one-critical", controls="mixture").simulate(10)
    with pytest.raises(ValueError, match="`proposal` must be one of"):
        OvertakingScenario(proposal="bogus").simulate(10)
