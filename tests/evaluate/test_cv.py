import numpy as np
import pytest
from scipy import stats
from scipy.special import logit
from sklearn.datasets import load_iris
from sklearn.dummy import DummyClassifier
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier

from varkit.evaluate import cross_val_ci, holdout, nested_cv, proportion_ci

X, Y = load_iris(return_X_y=True)


def test_holdout_accuracy_interval_is_binomial_interval_of_test_counts():
    r = holdout(GaussianNB(), X, Y, test_size=0.4, interval="clopper-pearson", random_state=0)
    k = round(r.estimate * r.n)
    ref = proportion_ci(k, r.n, method="clopper-pearson")
    assert (r.ci_low, r.ci_high) == (ref.ci_low, ref.ci_high)
    assert r.n == 60 and r.details["n_train"] == 90


def test_cross_val_ci_uses_corrected_variance():
    r = cross_val_ci(GaussianNB(), X, Y, cv=5, n_repeats=2, random_state=0)
    s = np.asarray(r.details["fold_scores"])
    se = np.sqrt((1 / 10 + 30 / 120) * s.var(ddof=1))
    assert r.stderr == pytest.approx(se)
    # accuracy lies in [0, 1]: the t interval is taken on the logit scale (delta method)
    m = r.estimate
    half = stats.t.ppf(0.975, 9) * se / (m * (1 - m))
    assert logit(r.ci_high) - logit(m) == pytest.approx(half)
    assert logit(m) - logit(r.ci_low) == pytest.approx(half)
    naive = cross_val_ci(GaussianNB(), X, Y, cv=5, n_repeats=2, random_state=0, corrected=False)
    assert naive.ci_high - naive.ci_low < r.ci_high - r.ci_low


def test_cross_val_ci_accepts_splitters_and_groups():
    r = cross_val_ci(GaussianNB(), X, Y, cv=KFold(3, shuffle=True, random_state=0))
    assert r.n == 3
    groups = np.arange(150) // 10
    r = cross_val_ci(GaussianNB(), X, Y, cv=3, groups=groups, random_state=0)
    assert r.n == 3


def test_nested_cv_compares_algorithms_on_the_same_outer_folds():
    searches = {
        "knn": GridSearchCV(KNeighborsClassifier(), {"n_neighbors": [1, 7]}, cv=3),
        "dummy": GridSearchCV(DummyClassifier(), {"strategy": ["prior"]}, cv=3),
    }
    rs = nested_cv(searches, X, Y, outer_cv=3, random_state=0)
    assert [r.group.get("model") for r in rs][:2] == ["knn", "dummy"]
    pair = rs.select("accuracy_difference")[0]
    d = np.asarray(rs[0].details["fold_scores"]) - np.asarray(rs[1].details["fold_scores"])
    assert pair.estimate == pytest.approx(d.mean())
    assert pair.method == "corrected-resampled-t"
    assert all(len(r.details["best_params"]) == 3 for r in rs[:2])


def test_bad_arguments():
    with pytest.raises(ValueError, match="`cv`"):
        cross_val_ci(GaussianNB(), X, Y, cv=1)
    with pytest.raises(ValueError, match="`test_size`"):
        holdout(GaussianNB(), X, Y, test_size=1.5)
    with pytest.raises(ValueError, match="empty"):
        nested_cv({}, X, Y)


@pytest.mark.slow
def test_corrected_cv_interval_coverage_and_naive_undercoverage():
    # Target: expected accuracy of GaussianNB trained on n_train = 80 rows of two Gaussian
    # classes, estimated by fitting 300 models and scoring them on 100k rows.
    rng = np.random.default_rng(1)

    def draw(n):
        y = rng.integers(0, 2, n)
        return rng.normal(size=(n, 2)) + np.where(y[:, None] == 1, 0.6, -0.6), y

    X_test, y_test = draw(100_000)
    target = np.mean(
        [np.mean(GaussianNB().fit(*draw(80)).predict(X_test) == y_test) for _ in range(300)]
    )
    reps = 200
    hits = {True: 0, False: 0}
    for rep in range(reps):
        X, y = draw(100)
        for corrected in (True, False):
            r = cross_val_ci(
                GaussianNB(), X, y, cv=5, n_repeats=2, random_state=rep, corrected=corrected
            )
            hits[corrected] += r.ci_low <= target <= r.ci_high
    se = np.sqrt(0.95 * 0.05 / reps)
    # Nadeau-Bengio is known to be slightly conservative; the naive interval is too narrow.
    assert 0.95 - 3 * se < hits[True] / reps < 0.995
    assert hits[False] / reps < 0.9
