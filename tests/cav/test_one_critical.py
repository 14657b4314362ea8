"""The one-critical proposal: exact weights, zero-mean controls, exact variances."""

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from varkit.cav.scenarios import (
    BINNED_CONTROL_COLUMNS,
    CONTROL_COLUMNS,
    EXTRA_LOG_COLUMNS,
    TWIST_CONTROL_COLUMNS,
    OvertakingScenario,
)


def _enumerate(scenario, gap):
    """Every (twisted step J, maneuver sequence) for one row of gaps, with its q-probability.

    Returns the probabilities, the maneuvers, J, the likelihood ratio by the simulator's
    formula, and the p-probability of each maneuver sequence.
    """
    t = gap.size
    critical = gap < scenario.critical_gap()
    p = scenario.maneuver_probabilities(gap)
    q_step = scenario.step_proposal(gap)
    kappa = np.where(critical, scenario.criticality(gap), 0.0)
    pi = kappa / kappa.sum()
    seqs = np.array(list(itertools.product(range(3), repeat=t)))
    steps = np.arange(t)
    p_seq = np.prod(p[steps, seqs], axis=1)
    rows, js, probs = [], [], []
    for j in np.flatnonzero(critical):
        dist = p.copy()
        dist[j] = q_step[j]
        rows.append(seqs)
        js.append(np.full(len(seqs), j))
        probs.append(pi[j] * np.prod(dist[steps, seqs], axis=1))
    u = np.vstack(rows)
    chosen = np.concatenate(js)
    prob = np.concatenate(probs)
    rho = q_step[steps, u] / p[steps, u]
    w = kappa.sum() / np.sum(kappa * rho, axis=1)
    return prob, u, chosen, w, np.tile(p_seq, len(js)), critical, kappa


GAPS = [
    np.array([5.0, 30.0, 9.0, 12.0, 40.0]),  # three critical steps
    np.array([20.0, 13.5, 30.0, 25.0, 7.0]),  # two
]


@pytest.mark.parametrize("gap", GAPS)
def test_weight_is_the_exact_likelihood_ratio_and_bounded(gap):
    # Over all (J, u): q sums to 1, E_q[W] = 1 and W q(u) = p(u) summed over J (the
    # balance-heuristic weight of the mixture over the twisted step), W <= 1/eps.
    scenario = OvertakingScenario(n_steps=gap.size)
    prob, u, _, w, p_seq, _, _ = _enumerate(scenario, gap)
    assert prob.sum() == pytest.approx(1.0, abs=1e-12)
    assert float(np.sum(prob * w)) == pytest.approx(1.0, abs=1e-12)
    n_seq = 3**gap.size
    q_of_u = prob.reshape(-1, n_seq).sum(axis=0)
    np.testing.assert_allclose(w[:n_seq] * q_of_u, p_seq[:n_seq], rtol=1e-10)
    assert w.max() <= 1 / scenario.eps + 1e-12


@pytest.mark.parametrize("gap", GAPS)
def test_binned_controls_have_mean_exactly_zero_given_gaps(gap):
    # Sum over every twisted step and maneuver sequence weighted by q. The disturbance
    # enters only cv_twist_verdict_*, whose mean given (gaps, J, u) is zero by
    # construction, and cv_gap_* has mean zero only over the gaps given n_critical (both
    # checked by simulation below); here the gaps and the disturbance are fixed.
    scenario = OvertakingScenario(n_steps=gap.size)
    prob, u, chosen, w, _, critical, kappa = _enumerate(scenario, gap)
    n = len(prob)
    gaps = np.tile(gap, (n, 1))
    crit = np.tile(critical, (n, 1))
    p = scenario.maneuver_probabilities(gaps)
    cols = {"cv_weight": w - 1.0, **scenario._maneuver_controls(gaps, crit, u, w[:, None], p)}
    cols.update(
        scenario._twisted_controls(
            gaps, u, np.zeros_like(gaps), np.tile(kappa, (n, 1)), chosen, np.ones(n, bool)
        )
    )
    for name in BINNED_CONTROL_COLUMNS:
        if name.startswith(("cv_twist_verdict", "cv_gap_")):
            continue
        h = cols[name]
        assert abs(float(np.sum(prob * h))) < 1e-12 * max(1.0, float(np.sum(prob * abs(h)))), name


@pytest.mark.slow
def test_controls_mean_zero_by_simulation_and_default_is_one_critical():
    # Bounded columns (|W| <= 2), so 4 Monte Carlo standard errors is a fair check; the gap
    # bins also check that the critical gaps are i.i.d. given n_critical. The binned family
    # holds every twist column, so this covers the default (twist) family too.
    scenario = OvertakingScenario(n_steps=10, controls="binned")
    log = scenario.simulate(100_000, "distracted", random_state=11)
    assert list(log.columns[3:]) == [*BINNED_CONTROL_COLUMNS, *EXTRA_LOG_COLUMNS]
    assert log["weight"].max() <= 2.0 + 1e-12
    assert set(TWIST_CONTROL_COLUMNS) < set(BINNED_CONTROL_COLUMNS)
    for col in BINNED_CONTROL_COLUMNS:
        x = log[col].to_numpy()
        assert abs(x.mean()) < 4 * x.std() / math.sqrt(x.size), col


def test_default_family_is_twist_the_binned_draws_without_weighted_columns():
    # The family changes only the columns written: the default log is the binned log's
    # crash, weight, n_critical and cv_twist_* columns, bit for bit.
    default = OvertakingScenario(n_steps=10)
    assert default.testing_proposal == "one-critical" and default.control_family == "twist"
    twist = default.simulate(5000, "distracted", random_state=12)
    binned = OvertakingScenario(n_steps=10, controls="binned").simulate(
        5000, "distracted", random_state=12
    )
    assert list(twist.columns) == [
        "crash",
        "weight",
        "n_critical",
        *TWIST_CONTROL_COLUMNS,
        *EXTRA_LOG_COLUMNS,
    ]
    assert all(c.startswith("cv_twist_") for c in TWIST_CONTROL_COLUMNS)
    assert len(TWIST_CONTROL_COLUMNS) == 15  # 3 gap bins + 4 x (cut in, brake, verdict)
    pd.testing.assert_frame_equal(twist, binned[list(twist.columns)])
    for name in ("cv_weight", "cv_surrogate", "cv_gap_1"):
        assert name in binned and name not in twist
    product = OvertakingScenario(n_steps=10, controls="product").simulate(10, random_state=0)
    assert list(product.columns[3:]) == [*CONTROL_COLUMNS, *EXTRA_LOG_COLUMNS]


@pytest.mark.slow
def test_gap_bins_split_the_twisted_gap_into_quartiles():
    scenario = OvertakingScenario()
    edges = scenario.gap_bin_edges()
    assert edges[0] == 0 and edges[-1] == pytest.approx(scenario.critical_gap())
    assert np.all(np.diff(edges) > 0)
    assert scenario.gap_bin_probabilities().sum() == pytest.approx(1.0)
    log = scenario.simulate(40_000, random_state=4)
    twisted = log.filter(regex="^cv_twist_gap_").to_numpy()
    assert twisted.shape[1] == edges.size - 2


@pytest.mark.slow
def test_exact_moments_converge_and_match_the_crash_rate():
    scenario = OvertakingScenario()
    m = scenario._one_critical_moments("distracted")
    fine = scenario._one_critical_moments("distracted", panels=200, nodes=16)
    np.testing.assert_allclose(fine, m, rtol=1e-9)
    assert 1 - m[4] == pytest.approx(scenario.crash_rate("distracted"), rel=1e-9)


@pytest.mark.slow
def test_one_critical_needs_far_fewer_is_tests_than_all_critical():
    # (all four vehicles: benchmarks/cav_variance_reduction.py; two here for time)
    # The reason for the new default: exact per-test variances of Y W, relative to mu^2.
    new, old = OvertakingScenario(), OvertakingScenario(proposal="all-critical")
    assert new.weight_second_moment() < 2.0 < 1e5 < old.weight_second_moment()
    for vehicle in ("distracted", "aggressive"):
        mu = new.crash_rate(vehicle)
        assert mu == old.crash_rate(vehicle)
        ratio = old.importance_sampling_variance(vehicle) / new.importance_sampling_variance(
            vehicle
        )
        assert ratio > 1e4, vehicle
        # no control of gaps and maneuvers gets 5x here (module docstring)
        gain = new.importance_sampling_variance(vehicle) / new.control_variance_bound(vehicle)
        assert 1.0 < gain < 2.5, vehicle


def test_disturbance_bound_needs_one_critical():
    with pytest.raises(ValueError, match="one-critical"):
        OvertakingScenario(proposal="all-critical").control_variance_bound(
            "surrogate", disturbances=True
        )
