"""Regression control variates: closed-form identities, cross-fitting, coverage."""

import numpy as np
import pytest
import statsmodels.api as sm

from varkit.cav import control_variate_estimate
from varkit.cav.moments import fold_ids


def _data(n=400, seed=0):
    rng = np.random.default_rng(seed)
    u = rng.random((n, 2))
    y = np.exp(u[:, 0]) + u[:, 1] ** 2 + 0.1 * rng.standard_normal(n)
    return y, u  # E[y] = e - 1 + 1/3, E[u] = 0.5


def test_same_sample_equals_ols_intercept_on_centred_controls():
    y, u = _data()
    r = control_variate_estimate(y, u, control_means=0.5, crossfit=None)
    ols = sm.OLS(y, sm.add_constant(u - 0.5)).fit()
    assert r.estimate == pytest.approx(ols.params[0])
    # residual variance with n - d - 1 degrees of freedom, over n
    assert r.stderr == pytest.approx(np.sqrt(ols.ssr / (len(y) - 3) / len(y)))
    assert r.method == "cv-same-sample" and "bias" in r.details["bias_warning"]
    assert r.details["coefficients"][0] == pytest.approx(ols.params[1:])


def test_single_control_coefficient_is_cov_over_var():
    y, u = _data()
    h = u[:, 0]
    r = control_variate_estimate(y, h, control_means=0.5, crossfit=None)
    beta = np.cov(y, h)[0, 1] / np.var(h, ddof=1)  # c* = Cov(Y,h)/Var(h)
    assert r.details["coefficients"][0][0] == pytest.approx(beta)
    assert r.estimate == pytest.approx(y.mean() - beta * (h.mean() - 0.5))


def test_crossfit_adjusts_each_fold_with_the_other_folds_coefficients():
    y, u = _data(n=101)
    r = control_variate_estimate(y, u, control_means=0.5, crossfit=2, random_state=5)
    fold = fold_ids(np.arange(101), seed=5, crossfit=2)  # keyed on (seed, row id)
    adjusted = np.empty(101)
    for k in range(2):
        this, other = np.flatnonzero(fold == k), np.flatnonzero(fold != k)
        design = np.column_stack([np.ones(other.size), u[other] - 0.5])
        beta = np.linalg.lstsq(design, y[other], rcond=None)[0][1:]
        adjusted[this] = y[this] - (u[this] - 0.5) @ beta
    assert r.estimate == pytest.approx(adjusted.mean(), rel=1e-12)
    assert r.stderr == pytest.approx(np.std(adjusted, ddof=1) / np.sqrt(101), rel=1e-10)
    assert r.details["fold_sizes"] == np.bincount(fold).tolist()
    assert r.method == "cv-crossfit"


def test_folds_follow_row_ids_not_positions():
    y, u = _data(n=200)
    order = np.random.default_rng(0).permutation(200)
    a = control_variate_estimate(y, u, control_means=0.5, random_state=3)
    b = control_variate_estimate(
        y[order], u[order], control_means=0.5, random_state=3, row_ids=order
    )
    assert b.estimate == pytest.approx(a.estimate, rel=1e-12)
    assert b.stderr == pytest.approx(a.stderr, rel=1e-10)


def test_fold_ids_are_balanced_and_seeded():
    folds = fold_ids(np.arange(100_000), seed=1, crossfit=3)
    counts = np.bincount(folds, minlength=3)
    # multinomial: each count within 4 standard deviations of n/3
    assert np.all(np.abs(counts - 100_000 / 3) < 4 * np.sqrt(100_000 * 2 / 9))
    assert not np.array_equal(folds, fold_ids(np.arange(100_000), seed=2, crossfit=3))


def test_weights_multiply_the_outcome():
    y, u = _data()
    w = np.linspace(0.5, 1.5, y.size)
    a = control_variate_estimate(y, u, control_means=0.5, weights=w, crossfit=None)
    b = control_variate_estimate(y * w, u, control_means=0.5, crossfit=None)
    assert a.estimate == pytest.approx(b.estimate) and a.details["weighted"]


def test_zero_variance_control_is_dropped_and_reported():
    y, u = _data()
    h = np.column_stack([u, np.zeros(len(y))])
    r = control_variate_estimate(y, h, control_means=[0.5, 0.5, 0.0], control_names=["a", "b", "c"])
    assert r.details["dropped_controls"] == [{"control": "c", "reason": "zero variance"}]
    assert r.details["controls"] == ["a", "b"]


@pytest.mark.parametrize("fit", ["ridge", "lasso"])
def test_penalised_fits_agree_with_ols_on_a_clean_problem(fit):
    y, u = _data(n=600)
    ols = control_variate_estimate(y, u, control_means=0.5, random_state=1)
    pen = control_variate_estimate(y, u, control_means=0.5, fit=fit, random_state=1)
    assert pen.estimate == pytest.approx(ols.estimate, abs=2 * ols.stderr)
    assert pen.details["variance_reduction_factor"] > 5


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"fit": "tree"}, "`fit` must be one of"),
        ({"crossfit": 1}, "`crossfit` must be at least 2"),
        ({"control_means": [0.5, 0.5, 0.5]}, "`control_means` must be a scalar or have 2"),
        ({"weights": -np.ones(400)}, "`weight` must be at least 0"),
    ],
)
def test_bad_arguments_raise(kwargs, match):
    y, u = _data()
    with pytest.raises(ValueError, match=match):
        control_variate_estimate(y, u, **kwargs)


def test_too_few_tests_for_the_controls_raises():
    with pytest.raises(ValueError, match="needs at least"):
        control_variate_estimate([1.0, 2.0, 3.0], [[1, 2], [2, 1], [3, 5]])


@pytest.mark.slow
def test_crossfit_is_unbiased_and_covers_on_a_skewed_problem():
    # Y = exp(3U) is skewed; E[Y] = (e^3 - 1)/3, control U with mean 1/2.
    rng = np.random.default_rng(2)
    truth, reps, n = (np.exp(3) - 1) / 3, 800, 60
    est, hits = np.empty(reps), 0
    for i in range(reps):
        u = rng.random(n)
        r = control_variate_estimate(np.exp(3 * u), u, control_means=0.5, random_state=rng)
        est[i] = r.estimate
        hits += r.ci_low <= truth <= r.ci_high
    assert abs(est.mean() - truth) < 3 * est.std(ddof=1) / np.sqrt(reps)
    assert abs(hits / reps - 0.95) <= 3 * np.sqrt(0.95 * 0.05 / reps)
