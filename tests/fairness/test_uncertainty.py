"""Per-ad bootstrap: the low-volume bias and its removal, the noise floor, coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest

from varkit.fairness.metrics import vrs_metrics
from varkit.fairness.simulate import simulate_ad_logs
from varkit.fairness.uncertainty import replicate_counts, summarise_replicates


def _mc_floor(n_sims: int) -> float:
    return 0.95 - 3 * math.sqrt(0.95 * 0.05 / n_sims)


def _perfect_delivery_runs(n_impressions: int, n_sims: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    eligible = np.array([1e6, 1e6])
    out = []
    for _ in range(n_sims):
        delivered = rng.multinomial(n_impressions, [0.5, 0.5]).astype(float)
        d_star, e_star = replicate_counts(
            delivered,
            eligible,
            clustered=False,
            eligible_sampling="fixed",
            n_resamples=400,
            random_state=rng,
        )
        s = summarise_replicates(delivered, eligible, d_star, e_star)
        out.append((s["estimate"], s["debiased"], s["noise_floor"], s["ci_low"] == 0.0))
    return np.array(out)


def test_plug_in_bias_at_100_impressions_and_debiasing_removes_most_of_it():
    runs = _perfect_delivery_runs(100, 400, seed=3)
    plug_in, debiased, floor, ci_has_zero = runs.T
    # Exact E[SD_hat] at n=100, p=.5 is 0.0398 (shared/methods/fairness.md, section 1.5).
    exact = sum(math.comb(100, k) * 0.5**100 * abs(k / 100 - 0.5) for k in range(101))
    assert exact == pytest.approx(0.0398, abs=1e-4)
    se = plug_in.std() / math.sqrt(len(plug_in))
    assert plug_in.mean() == pytest.approx(exact, abs=3 * se)
    assert floor.mean() == pytest.approx(exact, abs=0.003)  # the noise floor estimates it
    assert debiased.mean() < 0.5 * plug_in.mean()  # most of the bias is gone
    assert ci_has_zero.mean() >= _mc_floor(400)  # the interval keeps 0 when it must


def test_debiased_value_is_close_to_the_plug_in_at_high_volume():
    rng = np.random.default_rng(5)
    delivered = rng.multinomial(100_000, [0.65, 0.35]).astype(float)
    eligible = np.array([50_000.0, 50_000.0])
    d_star, e_star = replicate_counts(delivered, eligible, clustered=False, random_state=rng)
    s = summarise_replicates(delivered, eligible, d_star, e_star)
    assert s["debiased"] == pytest.approx(s["estimate"], abs=1e-3)
    assert s["p_under"] == 0.0


def test_poisson_and_multinomial_schemes_agree():
    rows = np.random.default_rng(0).poisson(2.0, size=(300, 2)).astype(float)
    eligible = np.array([400.0, 600.0])
    ses = []
    for scheme in ("multinomial", "poisson"):
        d, e = replicate_counts(rows, eligible, scheme=scheme, n_resamples=3000, random_state=1)
        ses.append(summarise_replicates(rows.sum(0), eligible, d, e)["stderr"])
    assert ses[0] == pytest.approx(ses[1], rel=0.1)


def test_laplace_noise_is_readded_to_eligible_replicates():
    eligible = np.array([50.0, 50.0])
    _, e_plain = replicate_counts(
        [[10.0, 10.0]], eligible, eligible_sampling="fixed", n_resamples=4000, random_state=0
    )
    _, e_noisy = replicate_counts(
        [[10.0, 10.0]],
        eligible,
        eligible_sampling="fixed",
        eligible_noise=5.0,
        n_resamples=4000,
        random_state=0,
    )
    assert e_plain.std(axis=0).max() == 0.0
    # Laplace(b) has standard deviation b * sqrt(2)
    assert e_noisy[:, 0].std() == pytest.approx(5.0 * math.sqrt(2), rel=0.05)


def test_soft_label_redraw_widens_the_replicates():
    imp, elig, _ = simulate_ad_logs([0.6, 0.4], [0.5, 0.5], n_users=400, soft=True, random_state=2)
    fixed = vrs_metrics(
        imp, elig, "race", redraw_membership=False, n_resamples=500, random_state=0
    )[0]
    redrawn = vrs_metrics(
        imp, elig, "race", redraw_membership=True, n_resamples=500, random_state=0
    )[0]
    assert redrawn.stderr > fixed.stderr


def _coverage_rate(n_sims, seed, **kwargs):
    rng = np.random.default_rng(seed)
    hits = 0
    truth = None
    for _ in range(n_sims):
        imp, elig, truth = simulate_ad_logs(random_state=rng, **kwargs)
        r = vrs_metrics(imp, elig, "race", n_resamples=300, random_state=rng)[0]
        hits += r.ci_low <= truth <= r.ci_high
    return hits / n_sims


@pytest.mark.slow
def test_cluster_bootstrap_interval_covers_a_two_group_gap():
    rate = _coverage_rate(
        120,
        11,
        delivered_shares=[0.58, 0.42],
        eligible_shares=[0.5, 0.5],
        n_users=150,
        mean_frequency=3.0,
        n_eligible=5000,
    )
    assert rate >= _mc_floor(120)


@pytest.mark.slow
@pytest.mark.parametrize(
    "kwargs",
    [
        {"delivered_shares": [0.5, 0.5], "eligible_shares": [0.5, 0.5], "n_users": 150},
        {"delivered_shares": [0.62, 0.38], "eligible_shares": [0.5, 0.5], "n_users": 300},
        {
            "delivered_shares": [0.4, 0.3, 0.2, 0.1],
            "eligible_shares": [0.3, 0.3, 0.3, 0.1],
            "n_users": 200,
            "soft": True,
        },
        {
            "delivered_shares": [0.6, 0.4],
            "eligible_shares": [0.5, 0.5],
            "n_users": 200,
            "n_eligible": 800,
            "noise_scale": 20.0,
        },
    ],
)
def test_interval_coverage_across_designs(kwargs):
    rate = _coverage_rate(400, 17, mean_frequency=3.0, **kwargs)
    assert rate >= _mc_floor(400)
