"""Simulator regimes (default, papers, nade) and the log columns a learned control needs."""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from varkit.cav import REGIMES, VEHICLES, OvertakingScenario, crash_rate
from varkit.cav.scenarios import CRITICAL_TABLE_COLUMNS, EXTRA_LOG_COLUMNS, PAPERS_VEHICLES
from varkit.errors import VarkitError

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "default_logs.json").read_text())


def _checksums(log: pd.DataFrame, columns: list[str]) -> dict[str, list[float]]:
    """As tests/cav/fixtures/make_default_logs.py computes them."""
    rows = np.arange(1, len(log) + 1) / len(log)
    out = {}
    for name in columns:
        x = log[name].to_numpy(dtype=np.float64)
        out[name] = [float(x.sum()), float((rows * x).sum()), float((x * x).sum())]
    return out


@pytest.mark.parametrize("case", FIXTURE["cases"], ids=lambda c: f"{c['scenario']}-{c['seed']}")
def test_default_regime_draws_the_logs_of_the_code_before_regimes(case):
    # Checksums of every column made by the code before regimes (commit d7a2a9b): the
    # same seed gives the same draws, weights and controls; new columns come after them.
    scenario = OvertakingScenario(**case["scenario"], regime="default")
    log = scenario.simulate(
        FIXTURE["n_tests"], case["vehicle"], testing=case["testing"], random_state=case["seed"]
    )
    old = case["columns"]
    assert list(log.columns) == [*old, *EXTRA_LOG_COLUMNS]
    got = _checksums(log, old)
    for name in old:
        if name in ("crash", "n_critical"):
            assert got[name] == case["checksums"][name], name
        else:  # to the last bits of libm, which may differ between machines
            np.testing.assert_allclose(got[name], case["checksums"][name], rtol=1e-11, atol=1e-12)


def test_default_regime_is_the_scenario_without_one():
    for vehicle, rate in FIXTURE["crash_rates"].items():
        assert OvertakingScenario(regime="default").crash_rate(vehicle) == pytest.approx(
            rate, rel=1e-13
        )
    plain = OvertakingScenario(n_steps=10).simulate(500, "aggressive", random_state=3)
    default = OvertakingScenario(n_steps=10, regime="default").simulate(
        500, "aggressive", random_state=3
    )
    pd.testing.assert_frame_equal(plain, default)
    assert OvertakingScenario().vehicles is VEHICLES


def test_regimes_set_the_defaults_and_explicit_parameters_win():
    papers, nade = OvertakingScenario(regime="papers"), OvertakingScenario(regime="nade")
    assert set(REGIMES) == {"default", "papers", "nade"}
    assert all(papers.vehicle(v).noise_sd == 0.1 for v in VEHICLES)
    assert set(PAPERS_VEHICLES) == set(VEHICLES)
    assert (papers.testing_proposal, papers.eps, papers.threshold) == ("one-critical", 0.5, 1e-6)
    assert (nade.testing_proposal, nade.eps, nade.threshold) == ("all-critical", 0.1, 5e-4)
    assert nade.control_family == "product"
    own = OvertakingScenario(regime="nade", proposal="one-critical", epsilon=0.3, gamma=1e-4)
    assert (own.testing_proposal, own.eps, own.threshold) == ("one-critical", 0.3, 1e-4)
    with pytest.raises(VarkitError, match="`regime` must be one of default, papers, nade"):
        OvertakingScenario(regime="fast").simulate(10)


def test_papers_surrogate_vehicle_is_the_surrogate_model():
    # P_SM(crash | s, u) = Phi((d_u - s)/0.1) = the surrogate vehicle's crash probability.
    scenario = OvertakingScenario(regime="papers")
    v = scenario.vehicle("surrogate")
    gap = np.linspace(4.0, 12.0, 81)
    sm = scenario.surrogate_crash(gap)
    for m in (1, 2):
        own = stats.norm.cdf((v.crash_distance[m] - gap) / v.noise_sd)
        np.testing.assert_allclose(sm[:, m], own, rtol=1e-12, atol=1e-300)
    assert (sm[:, 0] == 0).all()
    # the threshold: critical where a cut in has a 0.1% surrogate crash chance
    gap_c = scenario.critical_gap()
    assert stats.norm.cdf((10.0 - gap_c) / 0.1) == pytest.approx(1e-3, rel=1e-6)
    # the twisted distribution stays a distribution where the probit underflows to 0
    q = scenario.step_proposal(np.array([5.0, 10.0, 30.0, 200.0]))
    assert np.isfinite(q).all() and np.allclose(q.sum(axis=1), 1.0)


@pytest.mark.parametrize("vehicle", list(PAPERS_VEHICLES))
def test_papers_exact_crash_rate_matches_scipy_lognormal_expectation(vehicle):
    # An independent route to the step crash rate: scipy's lognorm.expect with breakpoints.
    scenario = OvertakingScenario(regime="papers")
    v = scenario.vehicle(vehicle)
    probs = scenario.maneuver_probabilities(np.zeros(()))

    def cond(gap):
        return sum(
            probs[m] * stats.norm.cdf((v.crash_distance[m] - gap) / v.noise_sd)
            for m in range(3)
            if math.isfinite(v.crash_distance[m])
        )

    dist = stats.lognorm(s=scenario.gap_sigma, scale=scenario.gap_median)
    points = sorted({d for d in v.crash_distance if math.isfinite(d)} | {10.31, 30.0})
    ref = dist.expect(cond, lb=0, ub=1e4, epsrel=1e-10, points=points, limit=400)
    assert scenario.step_crash_rate(vehicle) == pytest.approx(ref, rel=1e-6)


def test_nade_weight_second_moment_is_exact_and_the_threshold_keeps_it_moderate():
    # E_q[W^2] = a^T with a = E_p[w] for one step = 1 + int_crit (sum_u p^2/q - 1) f.
    scenario = OvertakingScenario(regime="nade")
    gap_c = scenario.critical_gap()
    dist = stats.lognorm(s=scenario.gap_sigma, scale=scenario.gap_median)

    def excess(gap):
        p = scenario.maneuver_probabilities(np.array(gap))
        return float(np.sum(p * p / scenario.step_proposal(np.array(gap))) - 1.0)

    a = 1.0 + dist.expect(excess, lb=0, ub=gap_c, epsrel=1e-10)
    assert scenario.weight_second_moment() == pytest.approx(a**scenario.n_steps, rel=1e-6)
    # the documented choice: the round threshold of the grid whose E_q[W^2] < 100
    moments = {
        g: OvertakingScenario(regime="nade", gamma=g).weight_second_moment()
        for g in (1.25e-4, 4e-4, 5e-4)
    }
    assert moments[1.25e-4] > 1e6 and moments[4e-4] > 100 > 20 < moments[5e-4] < 30


def _log_and_table(regime: str, testing: str, **kwargs):
    scenario = OvertakingScenario(regime=regime, n_steps=10, **kwargs)
    log, table = scenario.simulate_with_critical(
        3000, "aggressive", testing=testing, random_state=21
    )
    return scenario, log, table


@pytest.mark.parametrize(
    ("regime", "testing", "kwargs"),
    [
        ("default", "is", {}),
        ("papers", "is", {}),
        ("nade", "is", {}),
        ("default", "nde", {}),
        ("papers", "is", {"proposal": "all-critical"}),
    ],
)
def test_log_columns_and_critical_table_describe_the_tests(regime, testing, kwargs):
    scenario, log, table = _log_and_table(regime, testing, gap_median=14.0, **kwargs)
    assert log.equals(scenario.simulate(3000, "aggressive", testing=testing, random_state=21))
    assert list(log.columns[-2:]) == list(EXTRA_LOG_COLUMNS)
    assert list(table.columns) == list(CRITICAL_TABLE_COLUMNS)
    step = log["crash_step"]
    assert step.isna().equals(log["crash"] == 0)
    assert step.dropna().between(1, scenario.n_steps).all()
    k = log["n_critical"].to_numpy()
    np.testing.assert_allclose(log["p_k"], stats.binom.pmf(k, 10, scenario.critical_probability()))
    # one row per critical step, gaps below the critical gap, in test then step order
    counts = table.groupby("test").size().reindex(range(len(log)), fill_value=0)
    assert (counts.to_numpy() == k).all()
    assert (table["gap"] < scenario.critical_gap()).all()
    assert table.set_index(["test", "step"]).index.is_monotonic_increasing
    # twisted: the step J (one-critical), every critical step (all-critical), none (nde)
    twisted = table.groupby("test")["twisted"].sum()
    if testing == "nde":
        assert (table["twisted"] == 0).all()
    elif scenario.testing_proposal == "one-critical":
        assert (twisted == 1).all()
    else:
        assert (table["twisted"] == 1).all()
    # a crash at a critical step: the test crashed, no later than that step
    hits = table[table["crash"] == 1]
    assert (log.loc[hits["test"], "crash"].to_numpy() == 1).all()
    assert (log.loc[hits["test"], "crash_step"].to_numpy() <= hits["step"].to_numpy()).all()
    assert hits["maneuver"].isin([1, 2]).all()  # aggressive never crashes keeping its lane


def test_crash_step_is_the_first_step_below_the_crash_distance():
    # Rebuild every crash from the critical table: with every step critical (gaps of
    # 6-11 m, gamma tiny) the table holds every step.
    scenario = OvertakingScenario(
        regime="papers", n_steps=6, gap_median=8.0, gap_sigma=0.1, gamma=1e-300
    )
    log, table = scenario.simulate_with_critical(2000, "distracted", random_state=4)
    assert (log["n_critical"] == 6).all()
    v = scenario.vehicle("distracted")
    distance = np.asarray(v.crash_distance)[table["maneuver"]]
    hit = table["gap"] + v.noise_sd * table["disturbance"] < distance
    assert (hit.astype(int) == table["crash"]).all()
    first = table[hit].groupby("test")["step"].min()
    expected = first.reindex(range(len(log))).to_numpy(dtype=float)
    np.testing.assert_array_equal(log["crash_step"].to_numpy(), expected)


def test_pieces_with_critical_number_tests_in_the_whole_log(monkeypatch):
    import varkit.cav.scenarios as scenarios

    monkeypatch.setattr(scenarios, "BATCH_CELLS", 400)
    scenario = OvertakingScenario(regime="papers", gap_median=14.0)
    pieces = list(scenario.simulate_pieces_with_critical(250, random_state=9))
    log, table = scenario.simulate_with_critical(250, random_state=9)
    pd.testing.assert_frame_equal(pd.concat([p[0] for p in pieces], ignore_index=True), log)
    pd.testing.assert_frame_equal(pd.concat([p[1] for p in pieces], ignore_index=True), table)
    _, empty = scenario.simulate_with_critical(5, random_state=9, table=False)
    assert list(empty.columns) == list(CRITICAL_TABLE_COLUMNS) and empty.empty


@pytest.mark.parametrize("regime", list(REGIMES))
def test_nde_simulation_agrees_with_the_exact_rate_of_each_regime(regime):
    # Dangerous maneuvers 20x as often and shorter gaps, so 10,000 tests of 10 steps see
    # ~800 crashes; the exact rate does not depend on the proposal or the surrogate.
    scenario = OvertakingScenario(
        regime=regime, n_steps=10, gap_median=12.0, p_cut_in=0.02, p_brake=0.01
    )
    rng = np.random.default_rng(17)
    for vehicle in VEHICLES:
        log = scenario.simulate(10_000, vehicle, testing="nde", random_state=rng)
        mu = scenario.crash_rate(vehicle)
        se = math.sqrt(mu * (1 - mu) / len(log))
        assert abs(log["crash"].mean() - mu) < 4 * se, vehicle


@pytest.mark.slow
def test_importance_sampling_agrees_with_the_exact_rate_of_each_regime():
    # papers, at its own parameters: W <= 2, so the sample standard error is reliable;
    # E_q[W^2] by simulation against the exact one.
    papers = OvertakingScenario(regime="papers")
    rng = np.random.default_rng(18)
    for vehicle in VEHICLES:
        log = papers.simulate(10_000, vehicle, random_state=rng)
        z = log["crash"] * log["weight"]
        mu = papers.crash_rate(vehicle)
        assert abs(z.mean() - mu) < 4 * z.std() / math.sqrt(len(z)), vehicle
    w2 = log["weight"].to_numpy() ** 2
    assert abs(w2.mean() - papers.weight_second_moment()) < 4 * w2.std() / math.sqrt(w2.size)
    # nade (heavy-tailed weights): the exact standard error; cautious, 5 steps, whose
    # variance is the smallest
    nade = OvertakingScenario(regime="nade", n_steps=5)
    log = nade.simulate(150_000, "cautious", random_state=rng)
    mu = nade.crash_rate("cautious")
    se = math.sqrt(nade.importance_sampling_variance("cautious") / len(log))
    assert abs((log["crash"] * log["weight"]).mean() - mu) < 4 * se


def test_crash_rate_reads_new_logs_and_old_ones(tmp_path):
    # The appended columns (crash_step empty when no crash) pass the readers; a log
    # without them (the bundled one) still reads.
    scenario = OvertakingScenario(regime="papers")
    log = scenario.simulate(2000, "surrogate", random_state=5)
    path = tmp_path / "new.csv"
    log.to_csv(path, index=False, float_format="%.10g")
    old = tmp_path / "old.csv"
    log.drop(columns=list(EXTRA_LOG_COLUMNS)).to_csv(old, index=False, float_format="%.10g")
    for method in ("is", "scv"):
        new_r = crash_rate(path, method=method, pool_above=1, random_state=0).results[0]
        old_r = crash_rate(old, method=method, pool_above=1, random_state=0).results[0]
        chunks = crash_rate(
            path, method=method, pool_above=1, random_state=0, engine="chunks"
        ).results[0]
        assert new_r.estimate == old_r.estimate
        assert chunks.estimate == pytest.approx(new_r.estimate, rel=1e-9)


@pytest.mark.parametrize("vehicle", ["surrogate", "cautious"])
def test_critical_table_carries_a_zero_variance_control_in_the_papers_regime(vehicle):
    # What a learned control would learn: the vehicle's own crash rule at the critical
    # steps. h = W sum_{j critical} 1{s_j + sd e_j < D(u_j)} - T E_p[c(s) 1{s critical}]
    # has mean 0 under q (E_q[W g] = E_p[g]), and Z - h is almost constant here: the
    # papers regime's vehicles are near-deterministic given the critical variables.
    # (Vehicles whose crashes q rarely draws, aggressive braking at 6-8 m, make h
    # heavy-tailed: 10,000 tests cannot check its mean by its sample standard error.)
    scenario = OvertakingScenario(regime="papers")
    log, table = scenario.simulate_with_critical(10_000, vehicle, random_state=8)
    v = scenario.vehicle(vehicle)
    distance = np.asarray(v.crash_distance)
    probs = scenario.maneuver_probabilities(np.zeros(()))

    def step_crash(gap):
        return sum(
            probs[m] * stats.norm.cdf((distance[m] - gap) / v.noise_sd)
            for m in range(3)
            if math.isfinite(distance[m])
        )

    dist = stats.lognorm(s=scenario.gap_sigma, scale=scenario.gap_median)
    gap_c = scenario.critical_gap()
    points = [d for d in distance if math.isfinite(d) and d < gap_c]
    known = scenario.n_steps * dist.expect(step_crash, lb=0, ub=gap_c, points=points, limit=200)
    rule = table["gap"] + v.noise_sd * table["disturbance"] < distance[table["maneuver"]]
    assert (rule.astype(int) == table["crash"]).all()
    w = log["weight"].to_numpy()
    h = w * np.bincount(table["test"], weights=rule, minlength=len(log)) - known
    z = log["crash"].to_numpy() * w
    assert abs(h.mean()) < 4 * h.std() / math.sqrt(h.size)
    assert np.var(z - h) < 1e-6 * np.var(z)
    assert np.mean(z - h) == pytest.approx(scenario.crash_rate(vehicle), rel=0.01)
