"""vrs_metrics: hand-computed per-ad values, noisy counts, chunked logs, adjustments."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from varkit.fairness.counts import count_delivery, count_delivery_chunks
from varkit.fairness.metrics import vrs_coverage, vrs_metrics
from varkit.fairness.simulate import simulate_delivery


def _eligible(rows):
    return pd.DataFrame(rows, columns=["ad_id", "attribute", "group", "eligible", "noise_scale"])


def test_hand_computed_ads_and_details():
    imp = pd.DataFrame(
        {
            "ad_id": ["a", "a", "b", "b"],
            "impressions": [60, 40, 30, 70],
            "sex": ["female", "male", "female", "male"],
        }
    )
    elig = _eligible(
        [
            ("a", "sex", "female", 500, 0),
            ("a", "sex", "male", 500, 0),
            ("b", "sex", "female", 50, 0),
            ("b", "sex", "male", 50, 0),
        ]
    )
    rs = vrs_metrics(imp, elig, "sex", n_resamples=0)
    a, b = rs
    assert a.estimate == 0.1 and a.details["pass"] is True  # exactly at the bar
    assert b.estimate == 0.2 and b.details["pass"] is False
    assert b.details["gaps"] == {"female": -0.2, "male": 0.2}
    assert a.group == {"ad_id": "a", "attribute": "sex"}
    assert b.details["kl_eligible_delivered"] == pytest.approx(
        0.5 * math.log(0.5 / 0.3) + 0.5 * math.log(0.5 / 0.7)
    )


def test_noisy_eligible_counts_are_clipped_and_recorded():
    imp = pd.DataFrame({"ad_id": ["a"] * 3, "impressions": [5, 3, 2], "race": ["w", "b", "h"]})
    elig = _eligible(
        [("a", "race", "w", 60, 4), ("a", "race", "b", 45, 4), ("a", "race", "h", -3, 4)]
    )
    r = vrs_metrics(imp, elig, "race", n_resamples=50, random_state=0)[0]
    assert r.details["eligible_clipped_groups"] == ["h"]
    assert "clipped" in r.details["adjustment"]
    assert r.details["eligible_shares"]["h"] == 0.0
    # d = (.5, .3, .2), e = (60/105, 45/105, 0)
    assert r.details["plug_in"] == pytest.approx(
        0.5 * (abs(0.5 - 60 / 105) + abs(0.3 - 45 / 105) + 0.2)
    )
    assert r.details["eligible_noise_scale"] == 4.0


def test_ad_without_impressions_is_reported_not_dropped():
    imp = pd.DataFrame({"ad_id": ["a"], "impressions": [5], "sex": ["female"]})
    elig = _eligible(
        [
            ("a", "sex", "female", 5, 0),
            ("a", "sex", "male", 5, 0),
            ("z", "sex", "female", 5, 0),
            ("z", "sex", "male", 5, 0),
        ]
    )
    rs = vrs_metrics(imp, elig, "sex", n_resamples=20, random_state=0)
    z = rs.select(ad_id="z")[0]
    assert math.isnan(z.estimate) and z.details["reason"] == "no delivered impressions"
    cov = vrs_coverage(rs)
    assert cov[0].details["excluded"]["no_estimate"] == 1


def test_group_delivered_but_never_eligible_is_an_error():
    imp = pd.DataFrame({"ad_id": ["a"], "impressions": [5], "sex": ["nonbinary"]})
    elig = _eligible([("a", "sex", "female", 5, 0), ("a", "sex", "male", 5, 0)])
    with pytest.raises(ValueError, match="'nonbinary'"):
        vrs_metrics(imp, elig, "sex")


def test_chunked_counts_give_the_one_shot_results():
    sim = simulate_delivery(n_users=800, n_ads=5, n_rounds=4, random_state=4)
    log = sim.impressions
    chunks = [log.iloc[i : i + 500] for i in range(0, len(log), 500)]
    one_shot = vrs_metrics(log, sim.eligible, "race", n_resamples=100, random_state=9)
    groups = sorted(sim.eligible.query("attribute == 'race'")["group"].unique())
    counts = count_delivery_chunks(chunks, "race", groups=groups)
    chunked = vrs_metrics(counts, sim.eligible, "race", n_resamples=100, random_state=9)
    for x, y in zip(one_shot, chunked, strict=True):
        assert x.estimate == pytest.approx(y.estimate, abs=1e-12)
        assert x.ci_high == pytest.approx(y.ci_high, abs=1e-9)
    assert count_delivery(log, "race", groups=groups).table.shape == counts.table.shape


def test_delivered_dp_noise_allows_negative_impressions():
    imp = pd.DataFrame(
        {"ad_id": ["a", "a", "a"], "impressions": [50.0, 48.0, -2.0], "race": ["w", "b", "h"]}
    )
    elig = _eligible(
        [("a", "race", "w", 50, 0), ("a", "race", "b", 50, 0), ("a", "race", "h", 1, 0)]
    )
    with pytest.raises(ValueError, match="negative"):
        vrs_metrics(imp, elig, "race")
    r = vrs_metrics(imp, elig, "race", delivered_noise_scale=3.0, n_resamples=50, random_state=1)[0]
    assert r.details["delivered_clipped_groups"] == ["h"]


def test_controller_lowers_the_true_sex_distance_in_the_simulator():
    off = simulate_delivery(n_users=1500, n_ads=10, n_rounds=8, random_state=12)
    on = simulate_delivery(n_users=1500, n_ads=10, n_rounds=8, controller=True, random_state=12)
    mean = {
        name: sim.truth.query("attribute == 'sex'")["true_shuffle_distance"].mean()
        for name, sim in (("off", off), ("on", on))
    }
    assert mean["on"] < mean["off"]


def test_invalid_arguments():
    imp = pd.DataFrame({"ad_id": ["a"], "impressions": [5], "sex": ["female"]})
    elig = _eligible([("a", "sex", "female", 5, 0), ("a", "sex", "male", 5, 0)])
    with pytest.raises(ValueError, match="`unit`"):
        vrs_metrics(imp, elig, "sex", unit="clicks")
    with pytest.raises(ValueError, match="`n_resamples`"):
        vrs_metrics(imp, elig, "sex", n_resamples=3)
    with pytest.raises(TypeError, match="`attribute`"):
        vrs_metrics(imp, elig, 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="user_id"):
        vrs_metrics(imp, elig, "sex", unit="reach")
    assert np.isfinite(vrs_metrics(imp, elig, "sex", n_resamples=0)[0].estimate)
