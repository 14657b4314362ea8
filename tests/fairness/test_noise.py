"""DP noise models: the Gaussian mechanism beside Laplace, its scale from a budget, coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest

from varkit.fairness import dp_noise_scale, simulate_ad_logs, vrs_metrics
from varkit.fairness.uncertainty import replicate_counts


def test_dp_noise_scale_follows_the_laplace_and_classical_gaussian_mechanisms():
    # Dwork & Roth (2014) Thm 3.6: b = sensitivity / epsilon
    assert dp_noise_scale(0.5) == 2.0
    assert dp_noise_scale(2.0, sensitivity=3.0) == 1.5
    # Thm A.1: sigma = sensitivity sqrt(2 ln(1.25 / delta)) / epsilon
    expected = 2.0 * math.sqrt(2 * math.log(1.25e5)) / 0.5
    assert dp_noise_scale(0.5, delta=1e-5, sensitivity=2.0, noise="gaussian") == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"epsilon": 1.0, "delta": 1e-5, "noise": "gaussian"},
            "`epsilon` must be positive and below 1",
        ),
        ({"epsilon": 0.5, "noise": "gaussian"}, "`delta` is required"),
        ({"epsilon": 0.5, "delta": 1e-5}, "`delta` applies to noise='gaussian'"),
        ({"epsilon": 0.5, "delta": 1.5, "noise": "gaussian"}, "`delta` must be positive"),
        ({"epsilon": 0.0}, "`epsilon` must be positive"),
        ({"epsilon": 1.0, "sensitivity": -1}, "`sensitivity` must be positive"),
        ({"epsilon": 1.0, "noise": "uniform"}, "`noise` must be 'laplace' or 'gaussian'"),
    ],
)
def test_dp_noise_scale_refuses_bad_budgets(kwargs, message):
    with pytest.raises(ValueError, match=message):
        dp_noise_scale(**kwargs)


def test_gaussian_replicate_noise_has_the_stated_standard_deviation():
    eligible = np.array([1e4, 1e4])
    kwargs = dict(eligible_sampling="fixed", eligible_noise=20.0, n_resamples=20_000)
    _, gauss = replicate_counts(
        np.ones((1, 2)), eligible, noise="gaussian", random_state=0, **kwargs
    )
    _, laplace = replicate_counts(np.ones((1, 2)), eligible, random_state=0, **kwargs)
    # N(0, 20^2) has sd 20; Laplace(b = 20) has sd 20 sqrt(2) and excess kurtosis 3
    assert gauss.std(axis=0) == pytest.approx([20.0, 20.0], rel=0.03)
    assert laplace.std(axis=0) == pytest.approx([20 * math.sqrt(2)] * 2, rel=0.03)
    kurtosis = ((gauss - 1e4) ** 4).mean(axis=0) / gauss.var(axis=0) ** 2 - 3
    assert np.abs(kurtosis).max() < 0.2


def test_the_default_laplace_noise_is_unchanged_by_the_noise_option():
    imp, elig, _ = simulate_ad_logs(
        [0.6, 0.4], [0.5, 0.5], n_ads=3, noise_scale=5.0, random_state=4
    )
    default = vrs_metrics(imp, elig, "race", n_resamples=50, random_state=1)
    named = vrs_metrics(imp, elig, "race", n_resamples=50, random_state=1, noise="laplace")
    assert default == named
    assert "noise" not in default[0].details
    gauss = vrs_metrics(imp, elig, "race", n_resamples=50, random_state=1, noise="gaussian")
    assert gauss[0].details["noise"] == "gaussian"
    assert gauss[0].estimate == default[0].estimate and gauss[0].ci_high != default[0].ci_high


def test_gaussian_noise_intervals_cover_at_nominal_and_ignoring_the_noise_does_not():
    # 200 ads, true distance 0.1; eligible counts of 500 users with N(0, 30^2) noise,
    # as large as their sampling noise. One impression per user, so the log needs no
    # user ids (impressions resampled: fast). Measured: coverage 0.980 with
    # noise="gaussian" (0.963 with 300 ads), 0.800 with the noise ignored (scale 0), 0.995
    # read as Laplace b = 30 (twice the variance: wider).
    sigma = 30.0
    imp, elig, truth = simulate_ad_logs(
        [0.6, 0.4],
        [0.5, 0.5],
        n_ads=200,
        n_users=400,
        mean_frequency=1.0,
        n_eligible=500,
        noise_scale=sigma,
        noise="gaussian",
        random_state=1,
    )
    imp = imp.drop(columns="user_id")

    def coverage_and_width(table, **kwargs):
        rs = vrs_metrics(imp, table, "race", n_resamples=150, random_state=2, **kwargs)
        cover = np.mean([r.ci_low <= truth <= r.ci_high for r in rs])
        return cover, np.mean([r.ci_high - r.ci_low for r in rs])

    floor = 0.95 - 3 * math.sqrt(0.95 * 0.05 / 200)
    gaussian, width = coverage_and_width(elig, noise="gaussian")
    assert gaussian >= floor
    assert coverage_and_width(elig.assign(noise_scale=0.0))[0] < floor
    assert coverage_and_width(elig)[1] > 1.1 * width  # Laplace b = sigma: twice the variance


def test_gaussian_noise_gives_the_same_results_in_chunks_as_in_memory():
    from varkit.fairness import vrs

    imp, elig, _ = simulate_ad_logs(
        [0.6, 0.4], [0.5, 0.5], n_ads=3, noise_scale=5.0, noise="gaussian", random_state=4
    )
    kwargs = dict(n_resamples=40, random_state=3, noise="gaussian")
    memory = vrs(imp, elig, "race", **kwargs)
    chunks = vrs(imp, elig, "race", engine="chunks", rows_per_partition=150, **kwargs)
    assert chunks.results == memory.results
    assert memory[0].details["noise"] == "gaussian"
