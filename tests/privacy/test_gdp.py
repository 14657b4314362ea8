"""Gaussian-DP auditing (issue 18): closed-form identities, the accountant, coverage on a
Gaussian mechanism, random attacks, and the comparison with the epsilon posterior."""

from __future__ import annotations

import json
import math

import jsonschema
import numpy as np
import pytest
from click.testing import CliRunner
from scipy.special import ndtri
from scipy.stats import norm

from varkit.cli.main import cli
from varkit.datasets.privacy import mia_example_path
from varkit.errors import VarkitError, VarkitTypeError
from varkit.privacy import (
    audit_epsilon,
    bayesian_epsilon,
    gdp_audit,
    gdp_epsilon,
    theoretical_epsilon,
)
from varkit.privacy.gdp import _delta_of, _u_cdf
from varkit.results import ResultSet, load_json_schema


@pytest.mark.parametrize("mu", [0.3, 1.0, 2.5, 6.0])
@pytest.mark.parametrize("delta", [1e-3, 1e-5, 1e-9])
def test_epsilon_solves_the_gdp_delta_curve(mu, delta) -> None:
    """Dong, Roth & Su (2022), Cor. 2.13: delta(eps) = Phi(-eps/mu + mu/2) - e^eps Phi(...)."""
    eps = gdp_epsilon(mu, delta)
    first = norm.cdf(-eps / mu + mu / 2)
    second = math.exp(eps) * norm.cdf(-eps / mu - mu / 2)
    assert first - second == pytest.approx(delta, rel=1e-8)
    assert gdp_epsilon(mu * 1.1, delta) > eps > gdp_epsilon(mu * 0.9, delta)


@pytest.mark.parametrize(("sigma", "steps"), [(0.5, 1), (1.0, 1), (2.0, 4), (4.0, 16)])
def test_epsilon_matches_the_pld_accountant_for_the_gaussian_mechanism(sigma, steps) -> None:
    """Noise sigma, no subsampling, k steps is (sqrt(k)/sigma)-GDP exactly (DRS Cor. 3.3);
    dp-accounting's PLD accountant (through theoretical_epsilon) agrees."""
    theory = theoretical_epsilon(noise_multiplier=sigma, sample_rate=1.0, steps=steps, delta=1e-5)
    assert gdp_epsilon(math.sqrt(steps) / sigma, 1e-5) == pytest.approx(theory.estimate, rel=1e-5)


def test_edges_of_the_conversion() -> None:
    assert gdp_epsilon(0.0, 1e-5) == 0.0
    assert gdp_epsilon(1.0, 0.0) == math.inf
    assert gdp_epsilon(0.01, 0.5) == 0.0  # delta(0) = 2 Phi(mu/2) - 1 < 0.5
    assert _delta_of(0.0, 1.0) == pytest.approx(2 * norm.cdf(0.5) - 1)
    with pytest.raises(VarkitError, match="`mu`"):
        gdp_epsilon(-1.0, 1e-5)


def test_u_cdf_matches_monte_carlo() -> None:
    px, py = (60.5, 440.5), (80.5, 420.5)
    rng = np.random.default_rng(0)
    u = ndtri(rng.beta(*px, 400_000)) + ndtri(rng.beta(*py, 400_000))
    grid = np.array([-2.4, -2.1, -1.9, -1.6])
    np.testing.assert_allclose(_u_cdf(grid, px, py), [(u <= g).mean() for g in grid], atol=3e-3)


def test_estimate_approaches_the_closed_form_for_large_counts() -> None:
    """mu = -(Phi^-1(FPR) + Phi^-1(FNR)) at the observed rates."""
    n, fpr, fnr = 1_000_000, 0.05, 0.2
    r = gdp_audit(fp=int(n * fpr), fn=int(n * fnr), tn=int(n * (1 - fpr)), tp=int(n * (1 - fnr)))[0]
    assert r.estimate == pytest.approx(-(norm.ppf(fpr) + norm.ppf(fnr)), abs=2e-3)
    assert r.ci_low < r.estimate < r.ci_high


def test_worse_than_chance_attack_is_its_mirror_image() -> None:
    a = gdp_audit(fp=30, fn=70, tn=470, tp=430, delta=(1e-5, 1e-3))
    b = gdp_audit(fp=470, fn=430, tn=30, tp=70, delta=(1e-5, 1e-3))
    for x, y in zip(a, b, strict=True):
        assert (x.estimate, x.ci_low, x.ci_high) == pytest.approx((y.estimate, y.ci_low, y.ci_high))
    assert [r.metric for r in a] == ["gdp_mu", "epsilon", "epsilon"]


def test_random_attack_lower_bound_is_zero() -> None:
    rng = np.random.default_rng(5)
    zeros = 0
    runs = 200
    for _ in range(runs):
        fp, fn = rng.binomial(300, 0.5, size=2)
        zeros += (
            gdp_audit(fp=int(fp), fn=int(fn), tn=300 - int(fp), tp=300 - int(fn))[0].ci_low == 0
        )
    # two-sided: 0 lies in U's 95% interval in 95% of runs (measured 0.941 and 0.955 over
    # 1500 runs at n = 300 and 1000)
    assert zeros / runs >= _floor(runs)


def _mu_coverage(mu: float, threshold: float, n: int, reps: int, seed: int, bound: str):
    """Member scores N(mu, 1) against N(0, 1): every threshold shows exactly mu."""
    rng = np.random.default_rng(seed)
    fpr, fnr = norm.sf(threshold), norm.cdf(threshold - mu)
    hits = 0
    for _ in range(reps):
        fp, fn = int(rng.binomial(n, fpr)), int(rng.binomial(n, fnr))
        r = gdp_audit(fp=fp, fn=fn, tn=n - fp, tp=n - fn, bound=bound)[0]
        hits += r.ci_low <= mu <= r.ci_high
    return hits / reps


def _floor(reps: int) -> float:
    return 0.95 - 3 * math.sqrt(0.95 * 0.05 / reps)


def test_mu_interval_covers_where_fpr_equals_fnr() -> None:
    reps = 200
    assert _mu_coverage(2.0, 1.0, 500, reps, seed=6, bound="two-sided") >= _floor(reps)


@pytest.mark.slow
@pytest.mark.parametrize("mu", [0.1, 1.0, 2.0, 3.0])
@pytest.mark.parametrize("where", ["tie", "off"])
@pytest.mark.parametrize("bound", ["two-sided", "lower"])
def test_mu_coverage_study(mu, where, bound) -> None:
    reps = 400
    threshold = mu / 2 if where == "tie" else mu + 0.5
    cov = _mu_coverage(mu, threshold, 500, reps, seed=7, bound=bound)
    print(f"gdp mu coverage mu={mu} {where} {bound}: {cov}")
    assert cov >= _floor(reps)


def test_gdp_epsilon_lower_bound_is_tighter_for_a_gaussian_mechanism() -> None:
    """On the same counts, the GDP-derived epsilon lower bound exceeds the epsilon posterior's
    (it extrapolates the whole trade-off curve) and stays below the mechanism's epsilon."""
    rng = np.random.default_rng(8)
    mu, n, delta = 2.0, 500, 1e-5
    truth = gdp_epsilon(mu, delta)
    for threshold in (1.0, 2.5):
        fpr, fnr = norm.sf(threshold), norm.cdf(threshold - mu)
        fp, fn = int(rng.binomial(n, fpr)), int(rng.binomial(n, fnr))
        counts = {"fp": fp, "fn": fn, "tn": n - fp, "tp": n - fn}
        eps_gdp = gdp_audit(**counts, delta=delta, bound="lower")[1]
        eps_bayes = bayesian_epsilon(**counts, delta=delta, bound="lower")
        assert eps_gdp.ci_low > eps_bayes.ci_low
        assert eps_gdp.ci_low <= truth


def test_audit_epsilon_adds_the_gdp_results() -> None:
    rng = np.random.default_rng(9)
    members = np.repeat([1, 0], 400)
    scores = np.concatenate([rng.normal(1.5, 1, 400), rng.normal(0, 1, 400)])
    rs = audit_epsilon(members, scores, delta=[1e-5, 1e-3], random_state=0, gdp=True)
    metrics = [(r.metric, r.method) for r in rs]
    assert metrics[-3:] == [
        ("gdp_mu", "gdp-bayes-jeffreys"),
        ("epsilon", "gdp-bayes-jeffreys"),
        ("epsilon", "gdp-bayes-jeffreys"),
    ]
    pooled, mu = rs[0], rs[-3]
    assert {k: mu.details[k] for k in "fp fn tn tp".split()} == {
        k: pooled.details[k] for k in "fp fn tn tp".split()
    }
    assert mu.details["protocol"] == pooled.details["protocol"]
    assert len(audit_epsilon(members, scores, random_state=0)) == 1
    with pytest.raises(VarkitTypeError, match="`gdp`"):
        audit_epsilon(members, scores, gdp="yes")


def test_cli_gdp_flag() -> None:
    out = CliRunner().invoke(
        cli,
        ["privacy", "epsilon", mia_example_path(), "--delta", "1e-5", "--gdp", "--seed", "0",
         "--format", "json"],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    jsonschema.validate(json.loads(out.output), load_json_schema())
    rs = ResultSet.from_json(out.output)
    assert [r.metric for r in rs if r.method.startswith("gdp")] == ["gdp_mu", "epsilon"]


def test_demo_shows_the_gdp_audit_beside_the_audited_epsilon() -> None:
    """The bundled log simulates mu_m in [0.8, 1.2] per model (not DP-SGD): the demo's GDP
    audit must not claim more than the simulation's largest mu, nor its epsilon more
    than that mu's epsilon."""
    from varkit.demo import demo_results

    rs = demo_results(seed=0, device="cpu", sections=["privacy"])
    mu = next(r for r in rs if r.metric == "gdp_mu")
    gdp_eps = next(r for r in rs if r.metric == "epsilon" and r.method.startswith("gdp"))
    bayes = next(r for r in rs if r.method == "bayes-jeffreys")
    assert 0 < mu.ci_low <= 1.2 <= mu.ci_high
    assert gdp_eps.ci_low <= gdp_epsilon(1.2, 1e-5)
    assert bayes.ci_low <= gdp_eps.ci_low
