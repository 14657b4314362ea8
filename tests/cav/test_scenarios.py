"""The overtaking simulator: exact crash rate, zero-mean controls, the bundled log."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from varkit.cav import VEHICLES, OvertakingScenario
from varkit.datasets.cav import load_cav_example, make_cav_example
from varkit.errors import VarkitError


def test_step_crash_rate_matches_lognormal_expectation():
    # An independent route to r_v: scipy's lognorm.expect instead of our quadrature.
    scenario = OvertakingScenario()
    v = VEHICLES["distracted"]
    probs = scenario.maneuver_probabilities(np.zeros(()))

    def cond(gap):
        return sum(
            probs[m] * stats.norm.cdf((v.crash_distance[m] - gap) / v.noise_sd) for m in range(3)
        )

    dist = stats.lognorm(s=scenario.gap_sigma, scale=scenario.gap_median)
    ref = dist.expect(cond, lb=0, ub=1e4, epsrel=1e-10, points=[5, 10, 14, 30], limit=200)
    assert scenario.step_crash_rate("distracted") == pytest.approx(ref, rel=1e-6)
    assert scenario.crash_rate("distracted") == pytest.approx(1 - (1 - ref) ** 40, rel=1e-6)


@pytest.mark.slow
def test_nde_simulation_agrees_with_exact_rate():
    scenario = OvertakingScenario(n_steps=20)
    log = scenario.simulate(300_000, "aggressive", testing="nde", random_state=7)
    mu = scenario.crash_rate("aggressive")
    se = math.sqrt(mu * (1 - mu) / len(log))
    assert abs(log["crash"].mean() - mu) < 4 * se
    assert (log["weight"] == 1).all()


@pytest.mark.slow
def test_controls_have_mean_zero_and_n_critical_is_binomial():
    scenario = OvertakingScenario(n_steps=10)
    log = scenario.simulate(200_000, "surrogate", random_state=8)
    for col in log.filter(like="cv_"):
        x = log[col]
        assert abs(x.mean()) < 4 * x.std() / math.sqrt(len(x)), col
    p = scenario.critical_probability()
    assert log["n_critical"].mean() == pytest.approx(10 * p, abs=4 * math.sqrt(10 * p / 200_000))


def test_unknown_vehicle_and_bad_sizes_raise():
    with pytest.raises(ValueError, match="`vehicle` must be one of"):
        OvertakingScenario().simulate(10, "bus")
    with pytest.raises(ValueError, match="`n_tests` must be a positive integer"):
        OvertakingScenario().simulate(0)


def test_bundled_example_is_reproducible():
    saved, fresh = load_cav_example(), make_cav_example()
    assert list(saved.columns) == list(fresh.columns)
    np.testing.assert_allclose(saved.to_numpy(float), fresh.to_numpy(float), rtol=1e-10)


def test_pieces_draw_the_log_of_one_call(monkeypatch):
    # small batches, so that 250 tests make three pieces of whole batches
    import varkit.cav.scenarios as scenarios

    monkeypatch.setattr(scenarios, "BATCH_CELLS", 400)
    scenario = OvertakingScenario()
    assert scenario.piece_tests == 100
    pieces = list(scenario.simulate_pieces(250, "aggressive", random_state=9))
    assert [len(p) for p in pieces] == [100, 100, 50]
    whole = scenario.simulate(250, "aggressive", random_state=9)
    pd.testing.assert_frame_equal(pd.concat(pieces, ignore_index=True), whole)


def test_pieces_refuse_a_bad_count():
    with pytest.raises(VarkitError, match="`n_tests` must be a positive integer"):
        next(OvertakingScenario().simulate_pieces(0))
