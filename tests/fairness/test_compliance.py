"""compliance_report: Poisson-binomial shares of the log's ads, stages, months, CLI."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy.stats import binom

import varkit.fairness.compliance as compliance
from varkit.cli.main import cli
from varkit.errors import VarkitError
from varkit.fairness import (
    compliance_report,
    plot_compliance,
    poisson_binomial_pmf,
    share_interval,
)


def sex_log(deltas, rng, n_users=300, months=None):
    """Ads whose population female share is 0.5 + delta against an eligible 50/50:
    each ad's true shuffle distance is its delta (known), users cluster impressions."""
    n_ads = len(deltas)
    ad = np.repeat(np.arange(n_ads), n_users)
    female = rng.random(ad.size) < 0.5 + np.repeat(deltas, n_users)
    ids = np.array([f"ad_{i:03d}" for i in range(n_ads)])
    log = pd.DataFrame(
        {
            "ad_id": ids[ad],
            "user_id": np.arange(ad.size).astype(str),
            "impressions": 1 + rng.poisson(rng.exponential(1.0, size=ad.size)),
            "sex": np.where(female, "female", "male"),
        }
    )
    if months is not None:
        log["date"] = rng.choice(months, size=ad.size)
    elig = pd.DataFrame(
        {
            "ad_id": np.repeat(ids, 2),
            "attribute": "sex",
            "group": ["female", "male"] * n_ads,
            "eligible": 1e6,
        }
    )
    return log, elig


def test_poisson_binomial_matches_the_binomial_and_brute_force():
    assert np.allclose(poisson_binomial_pmf([0.37] * 12), binom.pmf(range(13), 12, 0.37))
    p = np.array([0.1, 0.5, 0.8, 0.95, 0.3])
    brute = np.zeros(6)
    for outcome in itertools.product((0, 1), repeat=5):
        x = np.array(outcome)
        brute[x.sum()] += np.prod(np.where(x, p, 1 - p))
    assert np.allclose(poisson_binomial_pmf(p), brute)
    with pytest.raises(VarkitError, match="`p`"):
        poisson_binomial_pmf([1.2])


def test_share_interval_covers_a_count_of_calibrated_bernoullis_at_nominal():
    # Given calibrated probabilities the passing count is Poisson-binomial: the
    # interval's coverage of the realised share is nominal (discreteness: at least).
    rng = np.random.default_rng(11)
    hits, widths = 0, []
    n_sims = 1500
    for _ in range(n_sims):
        p = rng.beta(0.4, 0.4, size=120)
        truth = (rng.random(120) < p).mean()
        _, low, high, _ = share_interval(p, confidence=0.9)
        hits += low <= truth <= high
        widths.append(high - low)
    assert 0.9 <= hits / n_sims <= 0.95
    # far from the bar (p near 0 or 1) the interval is narrow, unlike a Wilson one
    certain = share_interval(np.r_[np.ones(80), np.zeros(40)], confidence=0.9)
    assert certain[1] == certain[2] == pytest.approx(2 / 3)


def test_normal_approximation_agrees_with_the_exact_law(monkeypatch):
    p = np.random.default_rng(2).uniform(size=3000)
    exact = share_interval(p)
    monkeypatch.setattr(compliance, "MAX_EXACT_ADS", 100)
    approx = share_interval(p)
    assert approx[3] == "poisson-binomial-normal"
    assert approx[1] == pytest.approx(exact[1], abs=1e-3)
    assert approx[2] == pytest.approx(exact[2], abs=1e-3)


def test_report_covers_the_true_share_of_the_logs_ads():
    rng = np.random.default_rng(5)
    deltas = rng.uniform(0, 0.3, size=120)
    log, elig = sex_log(deltas, rng)
    rs = compliance_report(
        log, elig, attributes=("sex",), tiers=(0, 600), n_resamples=100, random_state=1
    )
    share = rs.select("compliance_share", tier="0")[0]
    truth = float(np.mean(deltas <= 0.10))
    assert share.ci_low <= truth <= share.ci_high
    assert abs(share.estimate - truth) < 0.05
    assert share.n == 120 and share.group == {"attribute": "sex", "tier": "0"}
    upper = rs.select("compliance_share", tier="600")[0]
    assert upper.n + upper.details["excluded"]["low_volume"] == 120
    assert set(share.details["distance_quantiles"]) == {"q10", "q25", "q50", "q75", "q90"}
    weighted = share.details["impression_weighted"]
    assert weighted["ci_low"] <= weighted["estimate"] <= weighted["ci_high"]
    stage = rs.select("compliance_stage", tier="0")[0]
    assert stage.details["target"] == 0.917 and stage.details["verdict"] == "fail"


def race_log(delta, n_ads, rng, n_users=300):
    """Four groups, eligible (0.4, 0.3, 0.2, 0.1), delivered (0.4 + delta, 0.3 - delta,
    0.2, 0.1): every ad's true shuffle distance is ``delta``."""
    shares = np.array([0.4 + delta, 0.3 - delta, 0.2, 0.1])
    ad = np.repeat(np.arange(n_ads), n_users)
    groups = np.array(["a", "b", "c", "d"])
    ids = np.array([f"ad_{i:03d}" for i in range(n_ads)])
    log = pd.DataFrame(
        {
            "ad_id": ids[ad],
            "user_id": np.arange(ad.size).astype(str),
            "impressions": 1 + rng.poisson(rng.exponential(1.0, size=ad.size)),
            "race": groups[rng.choice(4, size=ad.size, p=shares)],
        }
    )
    elig = pd.DataFrame(
        {
            "ad_id": np.repeat(ids, 4),
            "attribute": "race",
            "group": np.tile(groups, n_ads),
            "eligible": np.tile([4e5, 3e5, 2e5, 1e5], n_ads),
        }
    )
    return log, elig


def test_ads_piling_under_the_bar_read_higher_than_point_decisions():
    # Every ad's true race distance is 0.08 (bar 0.10). The plug-in distance of four
    # groups is biased upward (the noise of the groups without a gap adds to it), so
    # point decisions read the share far too low; the per-ad probabilities, recentred on
    # the debiased distance, much less. (Both stay below the truth, 1: an ad within
    # about one standard error of the bar cannot be told from one just over it.)
    rng = np.random.default_rng(8)
    log, elig = race_log(0.08, 40, rng)
    share = compliance_report(
        log, elig, attributes=("race",), tiers=(0,), n_resamples=100, random_state=2
    )[0]
    point = share.details["point_decisions"]["share"]
    assert share.estimate > point + 0.05
    assert share.details["distance_quantiles"]["q50"] > 0.08  # the plug-in's upward bias


def test_months_stage_verdicts_and_plot():
    rng = np.random.default_rng(3)
    months = ["2023-05-03", "2023-06-10"]
    log, elig = sex_log(np.r_[np.zeros(10), np.full(2, 0.3)], rng, n_users=200, months=months)
    rs = compliance_report(
        log,
        elig,
        attributes=("sex",),
        tiers=(0,),
        bars=(0.05, 0.10),
        targets={"sex": 0.5},
        n_resamples=50,
        random_state=0,
    )
    months = rs.select("compliance_share", month="2023-06")
    assert len(months) == 2 and {r.group["bar"] for r in months} == {"0.05", "0.1"}
    stage = rs.select("compliance_stage")
    assert len(stage) == 1 and stage[0].details["verdict"] == "pass"
    fig = plot_compliance(rs)
    assert [ax.get_title() for ax in fig.axes] == ["sex"]


def test_bad_options():
    log, elig = sex_log([0.0], np.random.default_rng(0), n_users=20)
    with pytest.raises(VarkitError, match="`n_resamples`"):
        compliance_report(log, elig, attributes=("sex",), n_resamples=0)
    with pytest.raises(VarkitError, match="`bars`"):
        compliance_report(log, elig, attributes=("sex",), bars=(1.5,))


def test_cli_compliance(tmp_path):
    log, elig = sex_log(np.r_[np.zeros(10), np.full(3, 0.3)], np.random.default_rng(1))
    log.to_csv(tmp_path / "log.csv", index=False)
    elig.to_csv(tmp_path / "elig.csv", index=False)
    args = ["fairness", "compliance", str(tmp_path / "log.csv"), "--eligible"]
    args += [str(tmp_path / "elig.csv"), "--attribute", "sex", "--tier", "0", "--resamples"]
    args += ["20", "--seed", "1", "--target", "sex=0.5", "--format", "json"]
    result = CliRunner().invoke(cli, [*args, "--plot", str(tmp_path / "c.png")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "c.png").stat().st_size > 0
    bad = CliRunner().invoke(cli, [*args[:-4], "--target", "sex:0.5"])
    assert bad.exit_code == 2 and "--target" in bad.output
    # a target out of range names the option the user typed, not the API's `targets`
    out_of_range = CliRunner().invoke(cli, [*args[:-4], "--target", "sex=2"])
    assert out_of_range.exit_code == 2
    assert (
        out_of_range.output.startswith("error: --target") and "`targets`" not in out_of_range.output
    )
