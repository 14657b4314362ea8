"""Compliance coverage: the exact boundary, the volume rule, weighting, its interval."""

from __future__ import annotations

import math

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint

from varkit.errors import VarkitWarning
from varkit.fairness.coverage import compliance_coverage, passes_threshold
from varkit.fairness.distances import shuffle_distance


def test_ad_exactly_at_the_threshold_passes():
    # 10 points off computed from counts (naive float sum would give 0.10000000000000003)
    sd = shuffle_distance(np.array([2, 8]), np.array([3, 7]))
    assert passes_threshold(sd, 0.10)
    rs = compliance_coverage([sd, 0.1000001], [1000, 1000])
    assert rs[0].estimate == 0.5
    assert rs[0].details["n_pass"] == 1


def test_min_impressions_rule_excludes_and_counts():
    rs = compliance_coverage(
        [0.05, 0.10, 0.2, 0.01, float("nan")], [500, 300, 900, 20, 800], min_impressions=100
    )
    ads, weighted = rs[0], rs[1]
    assert ads.group == {"weighting": "ads"} and weighted.group == {"weighting": "impressions"}
    assert ads.n == 3 and ads.estimate == pytest.approx(2 / 3)
    assert ads.details["excluded"] == {"low_volume": 1, "no_estimate": 1}
    # impression-weighted: (500 + 300) / (500 + 300 + 900)
    assert weighted.estimate == pytest.approx(800 / 1700)


def test_unweighted_interval_is_wilson():
    rng = np.random.default_rng(1)
    sd = rng.uniform(0, 0.2, size=57)
    rs = compliance_coverage(sd, np.full(57, 1000.0))
    n_pass = int((sd <= 0.1).sum())
    low, high = proportion_confint(n_pass, 57, alpha=0.05, method="wilson")
    assert (rs[0].ci_low, rs[0].ci_high) == pytest.approx((low, high))
    assert rs[0].method == "wilson"


def test_mean_distances_and_quantiles():
    rs = compliance_coverage([0.1, 0.3], [100, 300], random_state=0)
    means = rs.select("mean_shuffle_distance")
    assert means[0].estimate == pytest.approx(0.2)
    assert means[1].estimate == pytest.approx((0.1 * 100 + 0.3 * 300) / 400)
    assert means[0].details["quantiles"]["q50"] == pytest.approx(0.2)


def test_expected_coverage_from_per_ad_probabilities():
    rs = compliance_coverage([0.05, 0.12], [500, 500], p_under=[0.9, 0.4])
    assert rs[0].details["expected_coverage"] == pytest.approx(0.65)
    assert rs[0].details["uncertain_ads"] == 2


def test_no_qualifying_ads_reports_nan_not_crash():
    # the reason now says why no ad qualifies, and a warning says so too (issue 14)
    with pytest.warns(VarkitWarning, match="undefined"):
        rs = compliance_coverage([0.05], [10], min_impressions=100)
    assert all(math.isnan(r.estimate) and r.n == 0 for r in rs)
    assert rs[0].details["reason"].startswith("no qualifying ads: all 1 ads")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"shuffle_distance": [1.2], "impressions": [1]}, "outside"),
        ({"shuffle_distance": [0.1], "impressions": [1, 2]}, "has 2 values"),
        ({"shuffle_distance": [0.1], "impressions": [1], "threshold": 2}, "threshold"),
        ({"shuffle_distance": [0.1], "impressions": [1], "min_impressions": -1}, "min_imp"),
    ],
)
def test_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        compliance_coverage(**kwargs)


def test_weighted_coverage_interval_covers_in_simulation():
    # Ads drawn from a population with known impression-weighted pass share.
    rng = np.random.default_rng(7)
    n_sims, n_ads, hits = 300, 80, 0
    truth = None
    pop_sd = rng.uniform(0, 0.2, size=200_000)
    pop_w = rng.lognormal(6, 1, size=200_000)
    truth = float((pop_w * (pop_sd <= 0.1)).sum() / pop_w.sum())
    for _ in range(n_sims):
        idx = rng.integers(0, pop_sd.size, size=n_ads)
        r = compliance_coverage(pop_sd[idx], pop_w[idx], n_resamples=400, random_state=rng)[1]
        hits += r.ci_low <= truth <= r.ci_high
    rate = hits / n_sims
    assert rate >= 0.95 - 3 * math.sqrt(0.95 * 0.05 / n_sims)


def test_unweighted_coverage_interval_covers_in_simulation():
    rng = np.random.default_rng(11)
    n_sims, n_ads, truth, hits = 400, 60, 0.817, 0
    for _ in range(n_sims):
        sd = np.where(rng.random(n_ads) < truth, 0.05, 0.15)
        r = compliance_coverage(sd, np.full(n_ads, 500.0), n_resamples=10, random_state=rng)[0]
        hits += r.ci_low <= truth <= r.ci_high
    assert hits / n_sims >= 0.95 - 3 * math.sqrt(0.95 * 0.05 / n_sims)
