import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.dummy import DummyClassifier
from sklearn.exceptions import NotFittedError
from sklearn.naive_bayes import GaussianNB
from sklearn.tree import DecisionTreeClassifier

from varkit.evaluate import ModelComparison, five_by_two_cv

X, Y = load_iris(return_X_y=True)


def _models():
    return {
        "nb": GaussianNB(),
        "tree": DecisionTreeClassifier(max_depth=2, random_state=0),
        "dummy": DummyClassifier(),
    }


def test_refuses_to_report_before_fit_and_clones():
    mc = ModelComparison(_models())
    with pytest.raises(NotFittedError):
        mc.summary()
    assert clone(mc).get_params()["cv"] == "5x2"


def test_5x2_pairs_match_the_function_and_holm_adjusts():
    mc = ModelComparison(_models(), cv="5x2", random_state=4).fit(X, Y)
    rs = five_by_two_cv(_models()["nb"], _models()["tree"], X, Y, random_state=4)
    pair = mc.results_.select("accuracy_difference", comparison="nb-tree")
    assert [r.statistic for r in pair] == pytest.approx([r.statistic for r in rs])
    # one family per test: the 3 pairs' t-tests, and the 3 pairs' combined F-tests
    assert all(r.details["family_size"] == 3 for r in pair)
    assert all(r.pvalue >= r.details["pvalue_raw"] for r in pair)
    assert mc.scores_.shape == (10, 3)


def test_two_models_5x2_pvalues_are_not_adjusted_against_each_other():
    # a single pair is a family of one per test: the 5x2cv t and F p-values equal the
    # unadjusted ones of five_by_two_cv (Holm over {t, F} would double the smaller one)
    models = {"nb": GaussianNB(), "tree": DecisionTreeClassifier(max_depth=2, random_state=0)}
    mc = ModelComparison(models, cv="5x2", random_state=4).fit(X, Y)
    rs = five_by_two_cv(models["nb"], models["tree"], X, Y, random_state=4)
    pair = mc.results_.select("accuracy_difference")
    assert [r.pvalue for r in pair] == pytest.approx([r.pvalue for r in rs], rel=1e-12)


def test_repeated_kfold_uses_corrected_t():
    mc = ModelComparison(
        _models(), cv="repeated-kfold", n_splits=5, n_repeats=2, random_state=0
    ).fit(X, Y)
    pair = mc.results_.select("accuracy_difference", comparison="nb-dummy")[0]
    d = mc.scores_[:, 0] - mc.scores_[:, 2]
    se = np.sqrt((1 / 10 + 30 / 120) * d.var(ddof=1))
    assert pair.statistic == pytest.approx(d.mean() / se)
    assert pair.method == "corrected-resampled-t"


def test_bad_parameters():
    with pytest.raises(ValueError, match="`estimators`"):
        ModelComparison({"nb": GaussianNB()}).fit(X, Y)
    with pytest.raises(ValueError, match="`cv`"):
        ModelComparison(_models(), cv="loo").fit(X, Y)


def test_same_random_state_refits_random_models_identically():
    from sklearn.ensemble import RandomForestClassifier

    models = {"rf": RandomForestClassifier(n_estimators=5), "tree": DecisionTreeClassifier()}
    first = ModelComparison(models, cv="kfold", n_splits=3, random_state=7).fit(X, Y)
    again = ModelComparison(models, cv="kfold", n_splits=3, random_state=7).fit(X, Y)
    np.testing.assert_array_equal(first.scores_, again.scores_)
    # the user's estimators are not changed (seeds go to clones)
    assert models["rf"].random_state is None


def test_accuracy_intervals_stay_in_0_1_even_for_perfect_models():
    # a feature equal to the label: every fold is scored 1.0
    y = np.array([0, 1] * 30)
    X1 = np.column_stack([y, np.zeros_like(y)])
    mc = ModelComparison(
        {"tree": DecisionTreeClassifier(), "dummy": DummyClassifier()},
        cv="kfold",
        n_splits=5,
        random_state=0,
    ).fit(X1, y)
    tree = mc.results_.select("accuracy", model="tree")[0]
    assert tree.estimate == 1.0 and tree.ci_high == 1.0
    assert tree.ci_low == pytest.approx(0.025 ** (1 / 60))  # Clopper-Pearson, 60 of 60
    for r in mc.results_.select("accuracy"):
        assert 0.0 <= r.ci_low <= r.estimate <= r.ci_high <= 1.0


def test_more_folds_than_rows_or_class_members_is_an_error():
    models = {"nb": GaussianNB(), "dummy": DummyClassifier()}
    with pytest.raises(ValueError, match="200 folds need at least 200 rows, got 150"):
        ModelComparison(models, cv="kfold", n_splits=200).fit(X, Y)
    keep = np.r_[0:50, 50:52, 100:150]
    with pytest.raises(ValueError, match="class 1 has 2"):
        ModelComparison(models, cv="kfold", n_splits=3).fit(X[keep], Y[keep])


def test_fit_warnings_are_reissued_once_and_listed_in_details():
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    models = {"lr": LogisticRegression(max_iter=1), "nb": GaussianNB()}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mc = ModelComparison(models, cv="kfold", n_splits=3, random_state=0).fit(X, Y)
    convergence = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert len(convergence) == 1 and "lr: " in str(convergence[0].message)
    assert "(3 of 3 splits)" in str(convergence[0].message)
    lr = mc.results_.select("accuracy", model="lr")[0]
    assert lr.details["fit_warnings"][0].startswith("ConvergenceWarning: lr: ")
