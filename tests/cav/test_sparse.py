"""Sparse control variates: identities with the one-stratum case, pooling, coverage."""

import numpy as np
import pytest

from varkit.cav import SparseControlVariates, control_variate_estimate, sparse_control_variates


def _stratified(n, rng):
    """Strata k = 0..3; Z = Y W depends linearly on a zero-mean control within a stratum."""
    k = rng.integers(0, 4, n)
    h = np.where(k[:, None] > 0, rng.standard_normal((n, 2)), 0.0)
    y = np.clip(
        0.3 + 0.1 * k + (0.05 * k)[:, None].T[0] * h[:, 0] + 0.05 * rng.standard_normal(n), 0, 1
    )
    w = np.full(n, 0.5)
    return y, w, k, h  # E[Y W] = 0.5 * E[clip(...)] ~ 0.5 * (0.3 + 0.15)


def test_single_stratum_same_sample_equals_weighted_cv():
    rng = np.random.default_rng(0)
    y, w, _, h = _stratified(500, rng)
    a = sparse_control_variates(y, w, np.ones(500), h, crossfit=None)
    b = control_variate_estimate(y, h, weights=w, crossfit=None)
    assert a.estimate == pytest.approx(b.estimate)
    assert a.stderr == pytest.approx(b.stderr)
    assert a.method == "scv-same-sample"


def test_estimate_is_size_weighted_mean_of_stratum_estimates():
    rng = np.random.default_rng(1)
    y, w, k, h = _stratified(800, rng)
    r = sparse_control_variates(y, w, k, h, random_state=0)
    strata = r.details["strata"]
    assert r.estimate == pytest.approx(sum(s["n"] * s["estimate"] for s in strata) / 800)
    assert strata[0]["dropped_controls"] == ["control_0", "control_1"]  # zero in k = 0
    assert r.details["variance_reduction_factor"] > 1
    assert set(r.details["tests_required"]) == {"scv", "is"}


def test_small_stratum_is_pooled_and_reported():
    rng = np.random.default_rng(2)
    y, w, k, h = _stratified(400, rng)
    k[:3] = 9  # a stratum of 3 tests cannot fit 2 controls with 2 folds
    h[:3] = rng.standard_normal((3, 2))
    r = sparse_control_variates(y, w, k, h, random_state=0)
    assert [s["stratum"] for s in r.details["strata"]][-1] == "3-9"
    assert "pooled with" in r.details["pooled"][0]


def test_pool_above_merges_high_strata():
    rng = np.random.default_rng(3)
    y, w, k, h = _stratified(400, rng)
    r = sparse_control_variates(y, w, k, h, pool_above=1, random_state=0)
    assert [s["stratum"] for s in r.details["strata"]] == ["0", "1", "2-3"]


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"n_critical": np.full(50, 1.5)}, "whole numbers"),
        ({"n_critical": np.ones(49)}, "`n_critical` has 49 values"),
        ({"weight": -np.ones(50)}, "`weight` must be at least 0"),
        ({"crash": np.full(50, 1.2)}, "`crash` must be at most 1"),
        ({"pool_above": -1}, "`pool_above` must be"),
    ],
)
def test_bad_input_raises_one_sentence(change, match):
    args = {
        "crash": np.zeros(50),
        "weight": np.ones(50),
        "n_critical": np.ones(50),
        "controls": np.random.default_rng(0).standard_normal((50, 2)),
    }
    args.update(change)
    with pytest.raises(ValueError, match=match):
        sparse_control_variates(**args)


def test_estimator_class_follows_sklearn_contract():
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError

    rng = np.random.default_rng(4)
    y, w, k, h = _stratified(300, rng)
    est = SparseControlVariates(regression="ridge", random_state=0)
    assert clone(est).get_params()["regression"] == "ridge"
    with pytest.raises(NotFittedError):
        est.n_required()
    est.fit(y, w, k, h)
    assert est.result_.method == "scv-crossfit" and set(est.coef_) == {"0", "1", "2", "3"}
    assert est.n_required(rhw=0.3).estimate > 0


def test_crossfit_scv_covers_and_is_unbiased_on_stratified_problem():
    rng = np.random.default_rng(5)
    reps, n = 300, 200
    truth = None
    big = _stratified(2_000_000, np.random.default_rng(99))
    truth = float(np.mean(big[0] * big[1]))
    est, hits = np.empty(reps), 0
    for i in range(reps):
        y, w, k, h = _stratified(n, rng)
        r = sparse_control_variates(y, w, k, h, random_state=rng)
        est[i] = r.estimate
        hits += r.ci_low <= truth <= r.ci_high
    assert abs(est.mean() - truth) < 3 * est.std(ddof=1) / np.sqrt(reps) + 1e-4
    assert abs(hits / reps - 0.95) <= 3 * np.sqrt(0.95 * 0.05 / reps)
