"""Issue 14 in varkit.fairness: extreme and malformed input, seeds, ranges (API and CLI)."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from varkit.cli.main import cli
from varkit.datasets.fairness import eligible_example_path, impressions_example_path
from varkit.errors import VarkitError, VarkitWarning
from varkit.fairness import (
    compliance_coverage,
    count_eligible,
    shuffle_distance,
    signed_gaps,
    simulate_delivery,
    vrs_metrics,
)
from varkit.fairness.counts import check_noise_scale
from varkit.fairness.simulate import MAX_ROUNDS, simulation_cost
from varkit.fairness.uncertainty import _multinomial, summarise_replicates
from varkit.results import ResultSet

LOG = pd.DataFrame(
    {
        "ad_id": ["a"] * 3,
        "user_id": ["u1", "u2", "u3"],
        "impressions": [2, 3, 1],
        "sex": ["female", "male", "male"],
    }
)


def _eligible(female: float, male: float, noise: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ad_id": ["a", "a"],
            "attribute": ["sex", "sex"],
            "group": ["female", "male"],
            "eligible": [female, male],
            "noise_scale": [noise, noise],
        }
    )


def _run(*args: str):
    return CliRunner().invoke(cli, ["fairness", *args])


def _one_error_line(result, fragment: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert fragment in lines[0], lines[0]


# -- one rule for a noise scale ---------------------------------------------------------


@pytest.mark.parametrize("value", [-1, -1e-300, math.inf, math.nan, 1e308])
def test_a_noise_scale_option_and_column_follow_one_rule(value):
    with pytest.raises(VarkitError, match="finite non-negative Laplace scale"):
        check_noise_scale(value, "`delivered_noise_scale`")
    with pytest.raises(VarkitError, match="finite non-negative Laplace scale"):
        vrs_metrics(LOG, _eligible(10, 10), "sex", delivered_noise_scale=value)
    with pytest.raises(VarkitError, match="finite non-negative Laplace scale"):
        simulate_delivery(n_users=50, n_ads=2, n_rounds=2, eligible_noise_scale=value)


def test_a_single_negative_noise_scale_is_rejected_naming_its_row():
    table = pd.concat(
        [
            pd.DataFrame(
                {
                    "ad_id": ["a"],
                    "attribute": ["race"],
                    "group": ["white"],
                    "eligible": [5.0],
                    "noise_scale": [-1.0],
                }
            ),
            _eligible(10, 10),
        ],
        ignore_index=True,
    )
    # the -1 is in a row of another attribute: still an error, on data row 1
    with pytest.raises(VarkitError, match="'noise_scale' .* row 1 holds -1"):
        count_eligible(table, "sex")


def test_negative_eligible_count_names_the_rows_position_in_the_whole_table():
    table = pd.concat(
        [_eligible(10, 10).assign(attribute="race"), _eligible(10, -3)], ignore_index=True
    )
    with pytest.raises(VarkitError, match="negative at row 4"):
        count_eligible(table, "sex")


@pytest.mark.parametrize("option", ["-1", "inf", "nan", "1e308"])
def test_cli_noise_scale_options_give_one_error_line(option, tmp_path):
    _one_error_line(
        _run(
            "vrs",
            impressions_example_path(),
            "--eligible",
            eligible_example_path(),
            "--attribute",
            "sex",
            "--delivered-noise-scale",
            option,
        ),
        "--delivered-noise-scale must be a finite non-negative Laplace scale (at most 1e300)",
    )
    _one_error_line(
        _run("simulate", "--out-dir", str(tmp_path), "--eligible-noise-scale", option),
        "--eligible-noise-scale must be a finite non-negative Laplace scale",
    )


# -- impressions are counts ---------------------------------------------------------


def test_fractional_impressions_are_an_error_naming_column_and_row(tmp_path):
    with pytest.raises(VarkitError, match="'impressions' .*integer counts.*row 2 holds 3.5"):
        vrs_metrics(LOG.assign(impressions=[2, 3.5, 1]), _eligible(10, 10), "sex")
    log = tmp_path / "log.csv"
    LOG.assign(impressions=[2, 3.5, 1]).to_csv(log, index=False)
    elig = tmp_path / "elig.csv"
    _eligible(10, 10).to_csv(elig, index=False)
    _one_error_line(
        _run("vrs", str(log), "--eligible", str(elig), "--attribute", "sex"),
        "column 'impressions' must be a non-negative integer count, but row 2 holds 3.5",
    )


def test_noisy_impressions_may_be_fractional_and_negative():
    rs = vrs_metrics(
        LOG.assign(impressions=[2.5, -0.5, 1.0]),
        _eligible(10, 10),
        "sex",
        delivered_noise_scale=1.0,
        n_resamples=50,
        random_state=0,
    )
    assert 0 <= rs[0].ci_low <= rs[0].estimate <= rs[0].ci_high <= 1


# -- extreme finite counts: no overflow, no NaN, no warning ----------------------------


@pytest.mark.parametrize("scale", [1e308, 1e-300, 1.0])
def test_extreme_eligible_counts_give_the_scale_free_distance(scale):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rs = vrs_metrics(LOG, _eligible(scale, scale), "sex", n_resamples=200, random_state=0)
    r = rs[0]
    # delivered (2/6, 4/6) against eligible (1/2, 1/2): exactly 1/6 at any scale
    assert r.estimate == pytest.approx(1 / 6, rel=1e-12)
    assert 0 <= r.ci_low <= r.estimate <= r.ci_high <= 1


def test_distances_are_exact_under_power_of_two_rescaling():
    assert shuffle_distance([60, 40], [1e308, 1e308]) == 0.1
    tiny = float(np.ldexp(1.0, -1000))  # a power of two near 1e-301: exact scaling
    assert shuffle_distance([60, 40], [tiny, tiny]) == 0.1
    assert shuffle_distance([60, 40], [1e-300, 1e-300]) == pytest.approx(0.1, rel=1e-15)
    assert signed_gaps([1e308, 1e308], [1, 3]).tolist() == [0.25, -0.25]


def test_the_multinomial_limit_for_huge_counts_has_the_multinomial_moments():
    rng = np.random.default_rng(0)
    n, p = 1e20, np.array([0.3, 0.7])
    draws = _multinomial(n, p, 20_000, rng)
    share = draws[:, 0] / draws.sum(axis=1)
    assert np.isfinite(draws).all()
    # Var(share) = p (1 - p) / n for the multinomial
    assert share.var() * n == pytest.approx(0.21, rel=0.05)
    assert np.mean(share) == pytest.approx(0.3, abs=1e-10)


def test_replicate_summary_without_valid_replicates_has_every_key():
    out = summarise_replicates(
        np.array([1.0, 2.0]), np.array([1.0, 1.0]), np.zeros((5, 2)), np.zeros((5, 2))
    )
    assert math.isnan(out["bias_corrected"]) and out["n_valid"] == 0


# -- coverage: n = 0 is said, never a silent NaN --------------------------------------


def test_coverage_with_every_ad_excluded_states_why_and_warns():
    with pytest.warns(VarkitWarning, match="compliance coverage .* undefined"):
        rs = compliance_coverage([0.05, 0.2], [50, 80], min_impressions=1e12, attribute="sex")
    for r in rs:
        assert math.isnan(r.estimate) and r.n == 0
        assert "fewer than min_impressions" in r.details["reason"]
        assert r.details["excluded"]["low_volume"] == 2


def test_weighted_coverage_without_impressions_is_nan_with_a_reason():
    rs = compliance_coverage([0.05, 0.2], [0, 0], random_state=0)
    weighted = rs.select("compliance_coverage", weighting="impressions")[0]
    assert math.isnan(weighted.estimate) and "no impressions" in weighted.details["reason"]
    assert rs.select("compliance_coverage", weighting="ads")[0].estimate == 0.5


@pytest.mark.parametrize("bad", [math.nan, -1.0])
def test_coverage_rejects_a_nan_or_negative_volume_floor(bad):
    with pytest.raises(VarkitError, match="min_impressions"):
        compliance_coverage([0.05], [10], min_impressions=bad)


@pytest.mark.parametrize("n_passing", ["none", "all"])
def test_coverage_when_no_ad_or_every_ad_passes_has_the_exact_bound(n_passing):
    sd = [0.5] * 3 if n_passing == "none" else [0.01] * 3
    r = compliance_coverage(sd, [10, 20, 30], random_state=0)[0]
    # two-sided 95% Clopper-Pearson for 0 (or 3) of 3: scipy.stats.beta.ppf(0.975, 1, 3)
    bound = 0.7075982261787133
    if n_passing == "none":
        assert (r.estimate, r.ci_low) == (0.0, 0.0) and r.ci_high == pytest.approx(bound)
    else:
        assert (r.estimate, r.ci_high) == (1.0, 1.0) and r.ci_low == pytest.approx(1 - bound)
    assert "clopper-pearson" in r.details["interval"]


def test_coverage_interval_has_its_nominal_coverage_for_every_n():
    # exact coverage, summing the binomial pmf over the outcomes whose interval holds p,
    # for tiny to moderate numbers of ads and p from 0 to 1 (zero and all events included)
    from scipy.stats import binom

    from varkit.fairness.coverage import _coverage_interval

    worst, total, cells = 1.0, 0.0, 0
    for n in (1, 2, 3, 5, 10, 30, 60):
        bounds = [_coverage_interval(k, n, 0.95)[:2] for k in range(n + 1)]
        for p in np.linspace(0.0, 1.0, 41):
            pmf = binom.pmf(np.arange(n + 1), n, p)
            held = np.array([low <= p <= high for low, high in bounds])
            coverage = float(pmf @ held)
            worst, total, cells = min(worst, coverage), total + coverage, cells + 1
    # measured: worst 0.856 (Wilson dips below nominal near the ends at small n), mean
    # 0.970; statsmodels' Wilson alone has worst 0.0 (its lower end at 0 of n is a
    # rounding error above 0, so p = 0 is never covered) and mean 0.954
    assert worst > 0.85
    assert total / cells > 0.96


def test_weighted_coverage_interval_holds_its_estimate_and_covers():
    # 40 ads, a few heavy ones failing: the true impression-weighted coverage is known
    rng = np.random.default_rng(5)
    volume = rng.pareto(1.5, 40) * 100 + 10
    truth_pass = rng.random(40) < 0.8
    truth = float(volume @ truth_pass / volume.sum())
    hits = 0
    for rep in range(200):
        take = rng.integers(0, 40, 40)  # a sample of ads from the population
        sd = np.where(truth_pass[take], 0.05, 0.2)
        r = compliance_coverage(sd, volume[take], n_resamples=300, random_state=rep)[1]
        assert r.ci_low <= r.estimate <= r.ci_high
        hits += r.ci_low <= truth <= r.ci_high
    # percentile bootstrap of a ratio over 40 heavy-tailed ads: coverage near 0.95
    assert hits / 200 > 0.85


def test_cli_min_impressions_excluding_every_ad_warns_and_exits_0():
    result = _run(
        "vrs",
        impressions_example_path(),
        "--eligible",
        eligible_example_path(),
        "--attribute",
        "sex",
        "--resamples",
        "0",
        "--min-impressions",
        "1e12",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    assert "warning: compliance coverage for attribute 'sex' is undefined" in result.stderr
    rs = ResultSet.from_json(result.stdout)
    coverage = rs.select("compliance_coverage", weighting="ads")[0]
    assert coverage.n == 0 and "min_impressions" in coverage.details["reason"]


# -- simulate: memory, rounds, out-dir ---------------------------------------------------


def test_simulation_cost_is_linear_in_rounds_and_users():
    # affine in rounds: each round costs the same (ads x users) work, and the budget is
    # spread over the rounds
    work = [simulation_cost(5000, 30, r)[1] for r in (20, 40, 60)]
    assert work[2] - work[1] == pytest.approx(work[1] - work[0], rel=1e-9)
    memory_small, _ = simulation_cost(5000, 30, 20)
    memory_big, _ = simulation_cost(10000, 30, 20)
    assert memory_big < 2.1 * memory_small


def test_simulate_refuses_sizes_it_cannot_hold_or_finish():
    with pytest.raises(VarkitError, match="GiB of memory"):
        simulate_delivery(n_ads=10**9)
    with pytest.raises(VarkitError, match=f"at most {MAX_ROUNDS}"):
        simulate_delivery(n_rounds=10**9)
    with pytest.raises(VarkitError, match="operations"):
        simulate_delivery(n_rounds=MAX_ROUNDS)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--ads", "1000000000"], "GiB of memory"),
        (["--rounds", "1000000000"], "`n_rounds` must be at most"),
        (["--rounds", "9000"], "operations"),
    ],
)
def test_cli_simulate_refuses_huge_sizes_in_one_line(args, fragment, tmp_path):
    _one_error_line(_run("simulate", "--out-dir", str(tmp_path), *args), fragment)


def test_cli_simulate_with_an_empty_or_unwritable_out_dir_is_one_line(tmp_path):
    _one_error_line(_run("simulate", "--out-dir", ""), "--out-dir is empty")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    _one_error_line(
        _run("simulate", "--out-dir", str(blocker / "sub"), "--ads", "2", "--users", "50"),
        "--out-dir",
    )


# -- seeds ------------------------------------------------------------------------------


def _results(output: str) -> list[dict]:
    return json.loads(output)["results"]


def test_vrs_is_reproducible_from_its_seed_and_records_a_drawn_one():
    args = [
        "vrs",
        impressions_example_path(),
        "--eligible",
        eligible_example_path(),
        "--attribute",
        "sex",
        "--resamples",
        "30",
        "--format",
        "json",
    ]
    first, second = _run(*args, "--seed", "7"), _run(*args, "--seed", "7")
    assert first.exit_code == second.exit_code == 0, first.output
    assert _results(first.stdout) == _results(second.stdout)
    assert json.loads(first.stdout)["provenance"]["seed"] == 7
    drawn = _run(*args)
    seed = json.loads(drawn.stdout)["provenance"]["seed"]
    assert isinstance(seed, int)
    again = _run(*args, "--seed", str(seed))
    assert _results(again.stdout) == _results(drawn.stdout)


def test_simulate_is_reproducible_from_its_seed_and_records_a_drawn_one(tmp_path):
    args = ["--ads", "3", "--users", "200", "--rounds", "3", "--format", "json"]
    first = _run("simulate", "--out-dir", str(tmp_path / "a"), *args, "--seed", "4")
    second = _run("simulate", "--out-dir", str(tmp_path / "b"), *args, "--seed", "4")
    assert first.exit_code == second.exit_code == 0, first.output
    assert _results(first.stdout) == _results(second.stdout)
    for name in ("impressions", "eligible", "truth", "trajectory"):
        a = (tmp_path / "a" / f"{name}.csv").read_text()
        assert a == (tmp_path / "b" / f"{name}.csv").read_text()
    drawn = _run("simulate", "--out-dir", str(tmp_path / "c"), *args)
    seed = json.loads(drawn.stdout)["provenance"]["seed"]
    assert isinstance(seed, int)
    again = _run("simulate", "--out-dir", str(tmp_path / "d"), *args, "--seed", str(seed))
    assert _results(again.stdout) == _results(drawn.stdout)


def test_cli_resamples_beyond_memory_is_one_line():
    _one_error_line(
        _run(
            "vrs",
            impressions_example_path(),
            "--eligible",
            eligible_example_path(),
            "--attribute",
            "sex",
            "--resamples",
            "1000000000000",
        ),
        "GiB per ad",
    )


@pytest.mark.parametrize("n_passing", ["none", "all"])
def test_weighted_coverage_when_no_ad_or_every_ad_passes_is_not_a_point(n_passing):
    sd = [0.5] * 3 if n_passing == "none" else [0.01] * 3
    r = compliance_coverage(sd, [10, 10, 10], random_state=0)[1]
    # equal weights: the effective number of ads is 3, so the bound is Clopper-Pearson's
    # for 0 (or 3) of 3, scipy.stats.beta.ppf(0.975, 1, 3)
    bound = 0.7075982261787133
    if n_passing == "none":
        assert (r.estimate, r.ci_low) == (0.0, 0.0) and r.ci_high == pytest.approx(bound)
    else:
        assert (r.estimate, r.ci_high) == (1.0, 1.0) and r.ci_low == pytest.approx(1 - bound)
    assert "effective number of ads" in r.details["interval"]
    unequal = compliance_coverage(sd, [1, 1, 100], random_state=0)[1]
    # one ad holds nearly all impressions: about one effective ad, a wider bound
    assert (unequal.ci_high - unequal.ci_low) > (r.ci_high - r.ci_low)


def test_weighted_coverage_covers_a_small_true_share_with_few_passing_ads():
    # the true weighted coverage is small (2 of 30 ads pass, light ones): many samples of
    # 15 ads hold no passing ad, where the bound must still cover the truth
    rng = np.random.default_rng(11)
    volume = rng.integers(10, 60, 30).astype(float)
    truth_pass = np.zeros(30, bool)
    truth_pass[:2] = True
    truth = float(volume @ truth_pass / volume.sum())
    hits, zero = 0, 0
    for rep in range(200):
        take = rng.integers(0, 30, 15)
        sd = np.where(truth_pass[take], 0.05, 0.2)
        r = compliance_coverage(sd, volume[take], n_resamples=200, random_state=rep)[1]
        zero += r.estimate == 0.0
        hits += r.ci_low <= truth <= r.ci_high
    assert zero > 50  # the edge is exercised
    assert hits / 200 >= 0.9
