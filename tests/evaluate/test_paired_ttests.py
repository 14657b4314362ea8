import numpy as np
import pytest
from scipy import stats
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.naive_bayes import GaussianNB
from sklearn.tree import DecisionTreeClassifier

from varkit.evaluate import (
    combined_ftest_5x2cv,
    corrected_resampled_ttest,
    five_by_two_cv,
    paired_ttest_5x2cv,
    paired_ttest_kfold_cv,
    paired_ttest_resampled,
)
from varkit.evaluate._fitting import score_splits
from varkit.evaluate.paired_ttests import five_by_two_statistics
from varkit.gpu.splits import holdout_splits


def _models():
    # The estimators of fixtures/make_reference_values.py.
    return GaussianNB(), DecisionTreeClassifier(random_state=1, max_depth=3)


@pytest.mark.parametrize("data", ["iris", "breast_cancer"])
def test_five_by_two_reproduces_mlxtend_with_mlxtend_seeding(reference, data):
    X, y = (load_iris if data == "iris" else load_breast_cancer)(return_X_y=True)
    rs = five_by_two_cv(*_models(), X, y, random_state=1, split_seeding="mlxtend")
    ref = reference["model_tests"]
    assert (rs[0].statistic, rs[0].pvalue) == pytest.approx(ref[f"{data}_5x2cv_t_seed1"])
    assert (rs[1].statistic, rs[1].pvalue) == pytest.approx(ref[f"{data}_5x2cv_f_seed1"])


def test_resampled_and_kfold_reproduce_mlxtend(reference):
    X, y = load_breast_cancer(return_X_y=True)
    ref = reference["model_tests"]
    r = paired_ttest_resampled(
        *_models(), X, y, n_rounds=10, random_state=1, split_seeding="mlxtend"
    )
    assert (r.statistic, r.pvalue) == pytest.approx(ref["breast_cancer_resampled_t_seed1_rounds10"])
    r = paired_ttest_kfold_cv(*_models(), X, y, cv=10, random_state=1, split_seeding="mlxtend")
    assert (r.statistic, r.pvalue) == pytest.approx(ref["breast_cancer_kfold_t_cv10_shuffle_seed1"])


def test_estimators_are_cloned_not_fitted_in_place():
    X, y = load_iris(return_X_y=True)
    lr, dt = _models()
    paired_ttest_5x2cv(lr, dt, X, y, random_state=0)
    assert not hasattr(lr, "theta_") and not hasattr(dt, "tree_")


def test_one_set_of_fits_serves_both_5x2_tests():
    X, y = load_iris(return_X_y=True)
    rs = five_by_two_cv(*_models(), X, y, random_state=3)
    assert rs[0] == paired_ttest_5x2cv(*_models(), X, y, random_state=3)
    assert rs[1] == combined_ftest_5x2cv(*_models(), X, y, random_state=3)
    t, f = five_by_two_statistics(rs[0].details["differences"])
    assert (rs[0].statistic, rs[1].statistic) == (t, f)
    assert rs[1].df == (10.0, 5.0) and rs[0].df == (5.0,)


def test_five_by_two_formulas_by_hand():
    p = np.array([[0.04, 0.02], [0.01, 0.03], [0.00, 0.02], [0.05, 0.01], [0.02, 0.02]])
    s2 = ((p - p.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    t, f = five_by_two_statistics(p)
    assert t == pytest.approx(0.04 / np.sqrt(s2.mean()))  # Dietterich (1998)
    assert f == pytest.approx((p**2).sum() / (2 * s2.sum()))  # Alpaydin (1999)


def test_corrected_t_is_nadeau_bengio_formula():
    d = np.array([0.03, -0.01, 0.02, 0.04, 0.00, 0.01, 0.02])
    r = corrected_resampled_ttest(d, n_train=200, n_test=100, confidence=0.9)
    se = np.sqrt((1 / 7 + 100 / 200) * d.var(ddof=1))
    assert r.statistic == pytest.approx(d.mean() / se)
    assert r.pvalue == pytest.approx(2 * stats.t.sf(d.mean() / se, 6))
    assert r.ci_low == pytest.approx(d.mean() - stats.t.ppf(0.95, 6) * se)
    greater = corrected_resampled_ttest(d, n_train=200, n_test=100, alternative="greater")
    assert greater.pvalue == pytest.approx(r.pvalue / 2)


def test_corrected_pvalue_is_larger_than_plain():
    X, y = load_breast_cancer(return_X_y=True)
    plain = paired_ttest_resampled(*_models(), X, y, n_rounds=10, random_state=0)
    corr = paired_ttest_resampled(*_models(), X, y, n_rounds=10, random_state=0, corrected=True)
    assert corr.estimate == plain.estimate
    assert corr.pvalue > plain.pvalue
    assert corr.ci_high - corr.ci_low > plain.ci_high - plain.ci_low


def test_groups_keep_groups_out_of_both_sides():
    X, y = load_iris(return_X_y=True)
    groups = np.arange(len(y)) // 5
    r = paired_ttest_kfold_cv(*_models(), X, y, cv=5, groups=groups, random_state=0)
    assert r.n == 5
    splits = holdout_splits(
        y, n_rounds=3, test_size=0.3, stratify=True, groups=groups, random_state=0
    )
    for train, test in splits:
        assert not set(groups[train]) & set(groups[test])


def test_regressors_default_to_r2_and_n_jobs_gives_same_result():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = X @ [1.0, 0.5, 0.0] + rng.normal(size=120)
    a = paired_ttest_kfold_cv(LinearRegression(), Ridge(alpha=50), X, y, cv=5, random_state=0)
    b = paired_ttest_kfold_cv(
        LinearRegression(), Ridge(alpha=50), X, y, cv=5, random_state=0, n_jobs=2
    )
    assert a.metric == "r2_difference"
    assert a == b


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"split_seeding": "sklearn"}, "split_seeding"),
        ({"alternative": "up"}, "alternative"),
        ({"cv": 1}, "cv"),
    ],
)
def test_bad_arguments(kwargs, error):
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match=error):
        paired_ttest_kfold_cv(*_models(), X, y, **kwargs)


def test_bad_data():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="same number of rows"):
        paired_ttest_5x2cv(*_models(), X[:-1], y)
    with pytest.raises(ValueError, match="single class"):
        paired_ttest_5x2cv(*_models(), X, np.zeros(len(y)))
    with pytest.raises(ValueError, match="missing"):
        paired_ttest_5x2cv(*_models(), X, np.where(y == 0, np.nan, y))
    with pytest.raises(TypeError, match="estimator1"):
        paired_ttest_5x2cv("rf", LogisticRegression(), X, y)
    with pytest.raises(ValueError, match="at least 2"):
        corrected_resampled_ttest([0.1], n_train=10, n_test=5)


class _OneFeatureNB(ClassifierMixin, BaseEstimator):
    """Nearest class mean on one column: two columns equally informative = equal accuracy."""

    def __init__(self, column=0):
        self.column = column

    def fit(self, X, y):
        x = X[:, self.column]
        self.classes_ = np.unique(y)
        self.means_ = np.array([x[y == c].mean() for c in self.classes_])
        return self

    def predict(self, X):
        x = X[:, self.column][:, None]
        return self.classes_[np.argmin(np.abs(x - self.means_), axis=1)]


@pytest.mark.slow
def test_type_one_error_corrected_vs_plain_resampled_t():
    # Two algorithms of equal true accuracy; Nadeau & Bengio (2003): the plain
    # resampled t rejects far above 5 %, the corrected one near 5 %.
    rng = np.random.default_rng(2024)
    reps, n, rounds = 150, 120, 15
    reject_plain = reject_corrected = 0
    for _ in range(reps):
        y = rng.integers(0, 2, n)
        X = y[:, None] + rng.normal(scale=1.2, size=(n, 2))
        splits = holdout_splits(
            y, n_rounds=rounds, test_size=1 / 3, stratify=True, random_state=rng
        )
        scores = score_splits(
            [_OneFeatureNB(0), _OneFeatureNB(1)], X, y, splits, scoring="accuracy", n_jobs=None
        )
        d = scores[:, 0] - scores[:, 1]
        n_test = len(splits[0][1])
        corr = corrected_resampled_ttest(d, n_train=n - n_test, n_test=n_test)
        t_plain = d.mean() / np.sqrt(d.var(ddof=1) / rounds)
        reject_plain += 2 * stats.t.sf(abs(t_plain), rounds - 1) < 0.05
        reject_corrected += corr.pvalue < 0.05
    se = np.sqrt(0.05 * 0.95 / reps)
    assert reject_plain / reps > 0.15
    assert reject_corrected / reps < 0.05 + 3 * se


@pytest.mark.parametrize("test_size", [None, "0.3", 0.0, 1.0, float("nan")])
def test_resampled_test_size_must_be_a_fraction(test_size):
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="`test_size`"):
        paired_ttest_resampled(GaussianNB(), GaussianNB(), X, y, test_size=test_size)


def test_kfold_with_more_folds_than_class_members_is_an_error():
    X, y = load_iris(return_X_y=True)
    keep = np.r_[0:50, 50:53, 100:150]  # class 1 has 3 members
    with pytest.raises(ValueError, match="class 1 has 3"):
        paired_ttest_kfold_cv(GaussianNB(), GaussianNB(), X[keep], y[keep], cv=5)
