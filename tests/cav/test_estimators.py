"""NDE and importance-sampling estimates against hand-derived identities."""

import numpy as np
import pytest
from scipy import stats

from varkit.cav import importance_sampling_estimate, nde_estimate


def test_nde_normal_stderr_and_exact_clopper_pearson_interval():
    n, k = 2000, 7
    y = np.r_[np.ones(k), np.zeros(n - k)]
    r = nde_estimate(y, confidence=0.9)
    p = k / n
    se = np.sqrt(p * (1 - p) / (n - 1))  # s^2 = n/(n-1) p(1-p), stderr = s/sqrt(n)
    z = stats.norm.ppf(0.95)
    assert r.estimate == pytest.approx(p)
    assert r.stderr == pytest.approx(se)
    # Clopper-Pearson's defining identities: P(X >= k | low) = P(X <= k | high) = alpha/2
    assert stats.binom.sf(k - 1, n, r.ci_low) == pytest.approx(0.05, rel=1e-9)
    assert stats.binom.cdf(k, n, r.ci_high) == pytest.approx(0.05, rel=1e-9)
    assert r.details["interval"] == "clopper-pearson"
    assert r.details["relative_half_width"] == pytest.approx(z * se / p)
    assert r.n == n and r.method == "nde" and r.metric == "crash_rate"


@pytest.mark.parametrize("n", [2, 5, 50, 1000])
@pytest.mark.parametrize("confidence", [0.9, 0.95])
def test_nde_zero_and_all_crashes_get_the_exact_bounds(n, confidence):
    alpha = 1 - confidence
    zero = nde_estimate(np.zeros(n), confidence=confidence)
    assert (zero.estimate, zero.ci_low) == (0, 0)
    assert zero.ci_high == pytest.approx(1 - (alpha / 2) ** (1 / n), rel=1e-12)
    one_sided = nde_estimate(np.zeros(n), confidence=confidence, alternative="less")
    assert one_sided.ci_high == pytest.approx(1 - alpha ** (1 / n), rel=1e-12)
    assert one_sided.alternative == "less"
    every = nde_estimate(np.ones(n), confidence=confidence)
    assert (every.estimate, every.ci_high) == (1, 1)
    assert every.ci_low == pytest.approx((alpha / 2) ** (1 / n), rel=1e-12)


def test_nde_zero_crashes_in_50_tests_at_95_one_sided_is_0058():
    # the figure: 1 - 0.05**(1/50) = 0.0582
    assert round(nde_estimate(np.zeros(50), alternative="less").ci_high, 3) == 0.058


def test_nde_without_crashes_warns_and_has_infinite_rhw():
    r = nde_estimate(np.zeros(50))
    assert r.estimate == 0 and r.details["relative_half_width"] == np.inf
    assert "no crash" in r.details["warning"]


def test_is_with_unit_weights_has_the_nde_estimate_and_stderr():
    # the interval differs: normal (clipped) for IS, exact for NDE
    rng = np.random.default_rng(3)
    y = (rng.random(300) < 0.1).astype(float)
    a = importance_sampling_estimate(y, np.ones(300))
    b = nde_estimate(y)
    assert (a.estimate, a.stderr) == pytest.approx((b.estimate, b.stderr))
    assert a.details["effective_sample_size"] == pytest.approx(300)


def test_is_hand_computed_and_log_weight_equivalent():
    y = [1, 0, 1, 0]
    w = np.array([0.1, 2.0, 0.3, 1.6])
    r = importance_sampling_estimate(y, w)
    z = np.array([0.1, 0.0, 0.3, 0.0])
    assert r.estimate == pytest.approx(0.1)
    assert r.stderr == pytest.approx(np.std(z, ddof=1) / 2)
    assert r.details["effective_sample_size"] == pytest.approx(w.sum() ** 2 / (w**2).sum())
    r2 = importance_sampling_estimate(y, log_weight=np.log(w))
    assert r2.estimate == pytest.approx(r.estimate) and r2.stderr == pytest.approx(r.stderr)


def test_is_float_crash_probabilities_allowed():
    r = importance_sampling_estimate([0.2, 0.5], [1.0, 0.5])
    assert r.estimate == pytest.approx((0.2 + 0.25) / 2)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"crash": [0, 2], "weight": [1, 1]}, "`crash` must be at most 1"),
        ({"crash": [0, np.nan], "weight": [1, 1]}, "`crash` holds a non-finite"),
        ({"crash": [0, 1], "weight": [1, -1]}, "`weight` must be at least 0"),
        ({"crash": [0, 1], "weight": [1, np.inf]}, "`weight` holds a non-finite"),
        ({"crash": [0, 1], "weight": [1, 1, 1]}, "`weight` has 3 values"),
        ({"crash": [0, 1]}, "needs `weight` or `log_weight`"),
        ({"crash": [0, 1], "weight": [1, 1], "log_weight": [0, 0]}, "not both"),
        ({"crash": [], "weight": []}, "`crash` is empty"),
        ({"crash": [0, 1], "weight": [1, 1], "confidence": 1.5}, "`confidence` must be between"),
    ],
)
def test_is_bad_input_raises_one_sentence(kwargs, match):
    with pytest.raises(ValueError, match=match):
        importance_sampling_estimate(**kwargs)


def test_is_interval_covers_at_nominal_rate():
    # p = Bernoulli(0.01) sampled from q = Bernoulli(0.2); 600 replications, 95% intervals.
    rng = np.random.default_rng(11)
    reps, n, mu = 600, 400, 0.01
    hits = 0
    for _ in range(reps):
        y = rng.random(n) < 0.2
        r = importance_sampling_estimate(y, np.where(y, mu / 0.2, (1 - mu) / 0.8))
        hits += r.ci_low <= mu <= r.ci_high
    cover = hits / reps
    assert abs(cover - 0.95) <= 3 * np.sqrt(0.95 * 0.05 / reps)
