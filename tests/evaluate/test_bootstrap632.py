import itertools

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LinearRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier

from varkit.evaluate import bootstrap_632_score
from varkit.evaluate.bootstrap632 import combine_632, no_information_rate


def test_no_information_rate_equals_all_pairs_definition():
    # Efron & Tibshirani (1997): mean loss over all n^2 (y_i, yhat_j) pairs.
    rng = np.random.default_rng(0)
    y, yhat = rng.integers(0, 4, 60), rng.integers(0, 5, 60)
    pairs = np.mean([a != b for a, b in itertools.product(y, yhat)])
    assert no_information_rate(y, yhat) == pytest.approx(pairs)
    yr, pr = rng.normal(size=40), rng.normal(size=40)
    pairs = np.mean([(a - b) ** 2 for a, b in itertools.product(yr, pr)])
    assert no_information_rate(yr, pr, loss="squared") == pytest.approx(pairs)


def test_no_information_rate_is_linear_time_on_20k_rows():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 20_000)
    assert no_information_rate(y, y) == pytest.approx(1 - np.sum((np.bincount(y) / 2e4) ** 2))


def test_combine_632_hand_values_and_clipping():
    est, w, r = combine_632(0.0, 0.2, 0.5, ".632+")
    assert r == pytest.approx(0.4)
    assert w == pytest.approx(0.632 / (1 - 0.368 * 0.4))
    assert est == pytest.approx(0.632 * 0.2 + 0.2 * 0.368 * 0.632 * 0.4 / (1 - 0.368 * 0.4))
    # Err1 above gamma: capped, R' = 1, the estimate is gamma.
    assert combine_632(0.0, 0.6, 0.5, ".632+") == pytest.approx((0.5, 1.0, 1.0))
    # Err1 below the apparent error: R' = 0, .632+ = .632.
    assert combine_632(0.3, 0.2, 0.5, ".632+")[0] == pytest.approx(0.368 * 0.3 + 0.632 * 0.2)
    # gamma at or below the apparent error: no division by zero, R' = 0.
    assert combine_632(0.5, 0.6, 0.5, ".632+")[2] == 0.0
    assert combine_632(0.1, 0.3, 0.5, ".632") == pytest.approx(
        (0.368 * 0.1 + 0.632 * 0.3, 0.632, 0)
    )


def test_632_plus_fixes_632_on_pure_noise_with_1nn():
    # Efron & Tibshirani (1997): 1-NN on labels independent of X has err = 0 and
    # true error 1/2; .632 is biased down to about .316, .632+ is close to 1/2.
    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 2))
    y = rng.permutation(np.repeat([0, 1], 60))
    nn = KNeighborsClassifier(n_neighbors=1)
    plus = bootstrap_632_score(nn, X, y, method=".632+", n_splits=60, random_state=0)
    plain = bootstrap_632_score(nn, X, y, method=".632", n_splits=60, random_state=0)
    assert plus.details["err_bar"] == 0.0
    assert plain.estimate == pytest.approx(0.632 * plus.details["err1"])
    assert abs(plus.estimate - 0.5) < 0.06
    assert plain.estimate < 0.37
    assert plus.estimate <= plus.details["gamma"] + 1e-12


def test_oob_is_err1_and_interval_and_details():
    X, y = load_iris(return_X_y=True)
    r = bootstrap_632_score(GaussianNB(), X, y, method="oob", n_splits=40, random_state=1)
    assert r.estimate == r.details["err1"]
    assert r.metric == "error_rate" and r.method == "bootstrap-oob"
    assert 0 <= r.ci_low < r.estimate < r.ci_high <= 1
    assert r.details["excluded_rows"] == {"never_out_of_bag": 0}
    again = bootstrap_632_score(GaussianNB(), X, y, method="oob", n_splits=40, random_state=1)
    assert again == r


def test_regression_uses_squared_error():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 2))
    y = X @ [1.0, -1.0] + rng.normal(scale=0.5, size=80)
    r = bootstrap_632_score(LinearRegression(), X, y, n_splits=30, random_state=0)
    assert r.metric == "mse"
    assert 0.15 < r.estimate < 0.45  # noise variance 0.25 plus estimation error


def test_bad_arguments():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="`method`"):
        bootstrap_632_score(GaussianNB(), X, y, method="0.632")
    with pytest.raises(ValueError, match="`n_splits`"):
        bootstrap_632_score(GaussianNB(), X, y, n_splits=1)
    with pytest.raises(ValueError, match="single class"):
        bootstrap_632_score(GaussianNB(), X, np.zeros(150))
    with pytest.raises(TypeError, match="`estimator`"):
        bootstrap_632_score(object(), X, y)


@pytest.mark.slow
def test_632_plus_interval_coverage_for_naive_bayes():
    # Expected error of GaussianNB on two unit-variance Gaussians at +-0.6 (n = 100),
    # estimated with a 100k-row test set; the interval should cover it about 95 %.
    rng = np.random.default_rng(0)

    def draw(n):
        y = rng.integers(0, 2, n)
        return rng.normal(size=(n, 2)) + np.where(y[:, None] == 1, 0.6, -0.6), y

    X_test, y_test = draw(100_000)
    reps = 200
    errors, intervals = [], []
    for rep in range(reps):
        X, y = draw(100)
        errors.append(np.mean(GaussianNB().fit(X, y).predict(X_test) != y_test))
        r = bootstrap_632_score(GaussianNB(), X, y, n_splits=40, random_state=rep)
        intervals.append((r.ci_low, r.ci_high))
    expected = np.mean(errors)
    cover = np.mean([lo <= expected <= hi for lo, hi in intervals])
    assert abs(cover - 0.95) < 3 * np.sqrt(0.95 * 0.05 / reps)


@pytest.mark.parametrize("method", ["oob", ".632", ".632+"])
def test_perfect_fit_gets_an_exact_upper_bound_not_zero(method):
    from sklearn.tree import DecisionTreeClassifier

    y = np.array([0, 1] * 40)
    X = np.column_stack([y, np.zeros_like(y)])
    r = bootstrap_632_score(
        DecisionTreeClassifier(), X, y, method=method, n_splits=20, random_state=0
    )
    n_used = 80 - r.details["excluded_rows"]["never_out_of_bag"]
    assert r.estimate == 0.0 and r.ci_low == 0.0
    assert r.ci_high == pytest.approx(1 - 0.025 ** (1 / n_used))  # Clopper-Pearson, 0 of n
    assert r.details["interval"] == "clopper-pearson"
