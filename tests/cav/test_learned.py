"""Learned control variates: exact control mean, cross-fitting, post-stratification, errors."""

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import special
from sklearn.base import BaseEstimator, ClassifierMixin

from varkit.cav import OvertakingScenario, crash_rate
from varkit.cav.learned import (
    PerManeuverClassifier,
    critical_step_mean,
    learned_control_estimate,
)
from varkit.cav.moments import fold_ids
from varkit.cli.main import cli
from varkit.errors import VarkitError

PAPERS = OvertakingScenario(regime="papers")


@pytest.fixture(scope="module")
def papers_log():
    return PAPERS.simulate_with_critical(3000, "surrogate", random_state=11)


def _smooth(rows):
    # depends on all three critical variables, with a mean of order 0.1 under p
    gap, u, e = rows[:, 0], rows[:, 1], rows[:, 2]
    return special.expit(gap - 9.0 + e) * np.where(u == 0, 1.0, 0.3)


def test_exact_control_mean_matches_a_long_naturalistic_simulation():
    # Critical steps drawn from p (NDE testing): their mean of g is what the quadrature gives.
    scenario = OvertakingScenario(regime="papers", n_steps=10)
    _, steps = scenario.simulate_with_critical(200_000, testing="nde", random_state=5)
    g = _smooth(steps[["gap", "maneuver", "disturbance"]].to_numpy())
    se = g.std(ddof=1) / np.sqrt(g.size)
    assert abs(critical_step_mean(_smooth, scenario) - g.mean()) < 4 * se
    # one-dimensional without the disturbance: g(gap, maneuver) = expit(gap - 9)
    flat = critical_step_mean(
        lambda r: special.expit(r[:, 0] - 9.0), scenario, features=("gap", "maneuver")
    )
    h = special.expit(steps["gap"].to_numpy() - 9.0)
    assert abs(flat - h.mean()) < 4 * h.std(ddof=1) / np.sqrt(h.size)


class _Spy(ClassifierMixin, BaseEstimator):
    """Records the gaps it is trained on; predicts the training crash share."""

    seen: list = []

    def fit(self, x, y):
        _Spy.seen.append(set(np.asarray(x)[:, 0].tolist()))
        self.classes_ = np.array([0, 1])
        self.share_ = float(np.mean(y))
        return self

    def predict_proba(self, x):
        p = np.full(len(x), self.share_)
        return np.column_stack([1 - p, p])


def test_each_fold_is_adjusted_by_a_model_that_never_saw_its_tests(papers_log):
    log, crit = papers_log
    _Spy.seen = []
    r = learned_control_estimate(
        log["crash"], log["weight"], log["n_critical"], crit, scenario=PAPERS,
        p_k=log["p_k"], model=_Spy(), crossfit=3, random_state=4,
    )  # fmt: skip
    fold = fold_ids(np.arange(len(log)), r.details["seed"], 3)[crit["test"].to_numpy()]
    assert len(_Spy.seen) == 3
    for f, seen in enumerate(_Spy.seen):
        own = set(crit["gap"].to_numpy()[fold == f].tolist())
        assert own and not own & seen  # disjoint: fold f's steps never trained fold f
        assert seen == set(crit["gap"].to_numpy()[fold != f].tolist())
    # the folds are a hash of (estimator seed, row id): a stream apart from the simulator's
    assert r.details["seed"] == 4


def test_learned_control_is_unbiased_and_beats_importance_sampling(papers_log):
    log, crit = papers_log
    r = crash_rate(
        log, method="learned", critical=crit, scenario=PAPERS, crossfit=5,
        confidence=0.9, random_state=2,
    ).results[0]  # fmt: skip
    truth = PAPERS.crash_rate("surrogate")
    assert r.method == "learned-crossfit"
    assert abs(r.estimate - truth) < 4 * r.stderr  # coverage: the slow study below
    assert r.details["variance_reduction_factor"] > 10
    assert r.details["probabilities"] == "known (p_k)"
    assert sum(s["probability"] for s in r.details["strata"]) == pytest.approx(1.0)
    # without p_k: strata weighted by their observed sizes, and details say so
    plain = crash_rate(
        log.drop(columns="p_k"), method="learned", critical=crit, scenario=PAPERS,
        random_state=2,
    ).results[0]  # fmt: skip
    assert plain.details["probabilities"] == "observed sizes"
    assert "P(K = k) unknown" in plain.details["note"]


@pytest.mark.slow
def test_learned_control_covers_on_a_small_study():
    # 12 logs of 2000 tests of the surrogate vehicle, papers regime (the benchmark,
    # benchmarks/bench_cav_learned.py, runs the full study).
    truth = PAPERS.crash_rate("surrogate")
    estimates, hits = [], 0
    for seed in range(12):
        log, crit = PAPERS.simulate_with_critical(2000, "surrogate", random_state=100 + seed)
        r = learned_control_estimate(
            log["crash"], log["weight"], log["n_critical"], crit, scenario=PAPERS,
            p_k=log["p_k"], confidence=0.9, random_state=seed,
        )  # fmt: skip
        estimates.append(r.estimate)
        hits += r.ci_low <= truth <= r.ci_high
    estimates = np.array(estimates)
    assert abs(estimates.mean() - truth) < 3 * estimates.std(ddof=1) / np.sqrt(12)
    assert hits >= 9


def test_per_maneuver_model_gives_zero_to_maneuvers_never_seen_to_crash(papers_log):
    _, crit = papers_log
    x = crit[["gap", "maneuver", "disturbance"]].to_numpy()
    model = PerManeuverClassifier().fit(x, crit["crash"].to_numpy())
    assert model.models_[0] == 0.0  # keeping the lane never crashes this vehicle
    p = model.predict_proba(np.array([[9.0, 1, 0.0], [10.3, 1, 0.0], [9.0, 0, 0.0]]))[:, 1]
    assert p[0] > 0.9 and p[1] < 0.1 and p[2] == 0.0


def test_bad_inputs_raise_varkit_errors(papers_log):
    log, crit = papers_log
    args = (log["crash"], log["weight"], log["n_critical"])
    with pytest.raises(VarkitError, match="`scenario` must be the OvertakingScenario"):
        learned_control_estimate(*args, crit, scenario="papers")
    with pytest.raises(VarkitError, match="rows for test"):
        learned_control_estimate(*args, crit.iloc[1:], scenario=PAPERS)
    with pytest.raises(VarkitError, match="`crossfit` must be a number of folds"):
        learned_control_estimate(*args, crit, scenario=PAPERS, crossfit=None)
    with pytest.raises(VarkitError, match="predict_proba"):
        learned_control_estimate(*args, crit, scenario=PAPERS, model=object())
    with pytest.raises(VarkitError, match="`features` must be a subset"):
        learned_control_estimate(*args, crit, scenario=PAPERS, features=("gap",))
    with pytest.raises(VarkitError, match="`critical` has no column 'disturbance'"):
        learned_control_estimate(*args, crit.drop(columns="disturbance"), scenario=PAPERS)
    bad_pk = log["p_k"].to_numpy().copy()
    bad_pk[np.flatnonzero(log["n_critical"] == 1)[0]] *= 0.5
    with pytest.raises(VarkitError, match="`p_k` differs between tests with n_critical = 1"):
        learned_control_estimate(*args, crit, scenario=PAPERS, p_k=bad_pk)
    with pytest.raises(VarkitError, match="needs `critical`"):
        crash_rate(log, method="learned", scenario=PAPERS)
    with pytest.raises(VarkitError, match="`critical` needs `method` learned"):
        crash_rate(log, method="scv", critical=crit)


def test_cli_learned(tmp_path):
    log, crit = PAPERS.simulate_with_critical(2000, "surrogate", random_state=3)
    log.to_csv(tmp_path / "log.csv", index=False)
    crit.to_csv(tmp_path / "crit.csv", index=False)
    base = ["cav", "crash-rate", str(tmp_path / "log.csv"), "--method", "learned"]
    ok = CliRunner().invoke(
        cli, [*base, "--critical", str(tmp_path / "crit.csv"), "--regime", "papers", "--seed", "1"]
    )
    assert ok.exit_code == 0, ok.output
    assert "learned-crossfit" in ok.output
    missing = CliRunner().invoke(cli, base)
    assert missing.exit_code == 2 and "error:" in missing.output
    assert isinstance(pd.read_csv(tmp_path / "crit.csv"), pd.DataFrame)


def test_details_carry_the_tail_diagnostics(papers_log):
    log, crit = papers_log
    r = learned_control_estimate(
        log["crash"], log["weight"], log["n_critical"], crit, scenario=PAPERS,
        p_k=log["p_k"], confidence=0.9, random_state=1,
    )  # fmt: skip
    d = r.details["diagnostics"]
    # q >= eps p for a whole test (one-critical, eps 0.5): (1/eps) ln(1/alpha) / n
    assert d["unsampled_mass_bound"] == pytest.approx(np.log(10) / (0.5 * len(log)))
    assert 0 < d["top_1pct_variance_share"] <= 1 and 0 < d["is_top_1pct_variance_share"] <= 1
    w = log["weight"].to_numpy()
    assert d["weight_effective_sample_size"] == pytest.approx(w.sum() ** 2 / (w @ w))
    # importance sampling with a known bound 1/eps on the weights gives the same bound
    is_ = crash_rate(log, method="is", weight_bound=2.0, confidence=0.9).results[0]
    assert is_.details["unsampled_mass_bound"] == pytest.approx(d["unsampled_mass_bound"])
    # every critical step twisted: no eps bounds the whole test's weight
    nade = OvertakingScenario(regime="nade", n_steps=10)
    log, crit = nade.simulate_with_critical(1500, "surrogate", random_state=2)
    r = learned_control_estimate(
        log["crash"], log["weight"], log["n_critical"], crit, scenario=nade, random_state=1
    )
    assert r.details["diagnostics"]["unsampled_mass_bound"] is None
