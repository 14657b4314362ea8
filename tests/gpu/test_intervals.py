"""Interval formulas: BCa's acceleration and bias correction, percentile and basic."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from scipy.special import ndtri

from varkit.gpu import bootstrap
from varkit.gpu.intervals import bca_levels, interval

RNG = np.random.default_rng(3)
X = RNG.lognormal(size=12)
Y = RNG.exponential(size=9)
W = RNG.uniform(0.5, 2.0, size=12)


def _textbook_acceleration(loo: list[np.ndarray]) -> float:
    """a from explicit leave-one-out values, one array per independent sample.

    One sample: a = sum (m - t_i)^3 / (6 [sum (m - t_i)^2]^(3/2)), m the mean of the t_i
    (Efron & Tibshirani 1993, Eq. 14.15). Several samples: the same with the empirical
    influence values l_ji = (n_j - 1)(m_j - t_ji) weighted by n_j^-3 and n_j^-2
    (Davison & Hinkley 1997, Sec. 3.2.1 and 5.3.2; the form scipy.stats.bootstrap uses).
    """
    if len(loo) == 1:
        d = loo[0].mean() - loo[0]
        return float(np.sum(d**3) / (6.0 * np.sum(d**2) ** 1.5))
    num = den = 0.0
    for t in loo:
        n = t.size
        infl = (n - 1) * (t.mean() - t)
        num += np.sum(infl**3) / n**3
        den += np.sum(infl**2) / n**2
    return float(num / (6.0 * den**1.5))


def _loo(values: np.ndarray, func: Callable[[np.ndarray], float]) -> np.ndarray:
    return np.array([func(np.delete(values, i)) for i in range(values.size)])


def _acceleration(data: object, statistic: object, **kwargs: object) -> float:
    r = bootstrap(
        data, statistic, n_resamples=200, method="bca", random_state=0, device="cpu", **kwargs
    )  # type: ignore[arg-type]
    return float(r.details["acceleration"])


def test_acceleration_of_the_mean_equals_the_textbook_formula() -> None:
    expected = _textbook_acceleration([_loo(X, np.mean)])
    assert expected > 0.05  # skewed data: a is far from zero
    assert _acceleration(X, "mean") == pytest.approx(expected, rel=1e-10)


def test_acceleration_of_a_ratio_and_a_weighted_mean() -> None:
    rows = np.arange(X.size)
    ratio = _loo(rows, lambda keep: X[keep].sum() / W[keep].sum())
    weighted = _loo(rows, lambda keep: np.sum(X[keep] * W[keep]) / W[keep].sum())
    assert _acceleration((X, W), "ratio") == pytest.approx(
        _textbook_acceleration([ratio]), rel=1e-10
    )
    assert _acceleration((X, W), "weighted_mean") == pytest.approx(
        _textbook_acceleration([weighted]), rel=1e-10
    )


def test_acceleration_of_a_paired_and_an_unpaired_mean_difference() -> None:
    x2 = X[::-1] * 0.7
    paired = _loo(X - x2, np.mean)
    assert _acceleration((X, x2), "mean_difference", paired=True) == pytest.approx(
        _textbook_acceleration([paired]), rel=1e-10
    )
    drop_x = _loo(X, lambda keep: keep.mean() - Y.mean())
    drop_y = _loo(Y, lambda keep: X.mean() - keep.mean())
    assert _acceleration((X, Y), "mean_difference") == pytest.approx(
        _textbook_acceleration([drop_x, drop_y]), rel=1e-10
    )


def test_acceleration_with_clusters_leaves_out_one_cluster_at_a_time() -> None:
    labels = np.array([0, 0, 1, 1, 1, 2, 3, 3, 4, 4, 5, 5])
    loo = np.array([X[labels != g].mean() for g in range(6)])
    assert _acceleration(X, "mean", clusters=labels) == pytest.approx(
        _textbook_acceleration([loo]), rel=1e-10
    )


def test_acceleration_of_a_callable_uses_explicit_leave_one_out() -> None:
    def trimmed(x: np.ndarray, axis: int = -1) -> np.ndarray:
        s = np.sort(x, axis=axis)
        return s[..., 1:-1].mean(axis=axis)

    assert _acceleration(X, trimmed) == pytest.approx(
        _textbook_acceleration([_loo(X, trimmed)]), rel=1e-10
    )


def test_bias_correction_counts_ties_half() -> None:
    # z0 = Phi^-1(P*(theta* < theta_hat) + P*(theta* = theta_hat) / 2), as scipy.
    reps = np.array([1.0, 2.0, 3.0, 3.0, 4.0, 5.0, 6.0, 7.0])
    _, _, z0, _ = bca_levels(reps, 3.0, [np.array([1.0, 2.0, 3.0])], 0.05)
    assert z0 == pytest.approx(float(ndtri((2 + 1) / 8)), rel=1e-12)


def test_bca_with_no_bias_and_no_acceleration_is_the_percentile_interval() -> None:
    reps = np.linspace(-3.0, 3.0, 1001)  # symmetric about the estimate 0: z0 = 0
    symmetric = [np.array([-1.0, 0.0, 1.0])]  # a = 0
    bca = interval(reps, 0.0, method="bca", confidence=0.9, jackknife=symmetric)
    pct = interval(reps, 0.0, method="percentile", confidence=0.9)
    assert bca[2] == {"bias_correction_z0": 0.0, "acceleration": 0.0}
    np.testing.assert_allclose(bca[:2], pct[:2], rtol=1e-12)


def test_basic_interval_reflects_the_percentile_interval_about_the_estimate() -> None:
    reps = np.random.default_rng(0).gamma(2.0, size=999)
    lo, hi, _ = interval(reps, 1.7, method="percentile", confidence=0.95)
    blo, bhi, _ = interval(reps, 1.7, method="basic", confidence=0.95)
    assert (blo, bhi) == pytest.approx((2 * 1.7 - hi, 2 * 1.7 - lo), rel=1e-12)


def test_bca_without_jackknife_is_an_error() -> None:
    with pytest.raises(ValueError, match="jackknife"):
        interval(np.arange(10.0), 5.0, method="bca", confidence=0.95)
