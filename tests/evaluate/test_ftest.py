import numpy as np
import pytest
from scipy import stats

from varkit.evaluate import ftest


def test_statistic_matches_mlxtend_and_pvalue_uses_consistent_df(reference):
    for case in reference["several_models"]:
        r = ftest(case["y_true"], *case["y_preds"])
        f_ref, p_ref = case["mlxtend_ftest"]
        assert r.statistic == pytest.approx(f_ref)
        n, n_models = len(case["y_true"]), len(case["y_preds"])
        assert r.df == (n_models - 1, (n_models - 1) * (n - 1))
        if f_ref > 0:
            # mlxtend computes p with df2 = (L - 1) n; the statistic's df2 is (L - 1)(n - 1).
            assert p_ref == pytest.approx(stats.f.sf(f_ref, n_models - 1, (n_models - 1) * n))
            assert r.pvalue == pytest.approx(
                stats.f.sf(f_ref, n_models - 1, (n_models - 1) * (n - 1))
            )


def test_ftest_equals_two_way_anova_of_correctness_matrix():
    # Looney's F is the models-by-examples ANOVA without replication on 0/1 data.
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 40)
    preds = [np.where(rng.random(40) < q, y, 1 - y) for q in (0.6, 0.7, 0.9)]
    x = np.column_stack([p == y for p in preds]).astype(float)
    n, k = x.shape
    grand = x.mean()
    ss_models = n * np.sum((x.mean(axis=0) - grand) ** 2)
    ss_rows = k * np.sum((x.mean(axis=1) - grand) ** 2)
    ss_error = np.sum((x - grand) ** 2) - ss_models - ss_rows
    f = (ss_models / (k - 1)) / (ss_error / ((k - 1) * (n - 1)))
    assert ftest(y, *preds).statistic == pytest.approx(f)


def test_degenerate_cases():
    y = np.array([0, 1, 0, 1])
    assert ftest(y, y, y).pvalue == 1.0
    r = ftest(y, y, 1 - y)
    assert r.statistic == float("inf") and r.pvalue == 0.0


def test_single_true_class_gives_the_f_of_the_same_correctness_pattern():
    # issue 17: F is an ANOVA of the 0/1 correctness matrix, so a one-class truth gives
    # the F of any two-class relabelling with the same right/wrong pattern.
    y_one = np.ones(10, dtype=int)
    preds = [
        np.array([1, 1, 0, 1, 1, 0, 1, 1, 1, 0]),
        np.array([1, 0, 0, 1, 1, 1, 1, 0, 1, 1]),
        np.array([1, 1, 1, 1, 3, 1, 1, 1, 0, 1]),  # 3 never occurs in y_true
    ]
    r = ftest(y_one, *preds)
    y_two = np.array([0, 1] * 5)
    relabelled = [np.where(p == y_one, y_two, 1 - y_two) for p in preds]
    ref = ftest(y_two, *relabelled)
    assert r.statistic == pytest.approx(ref.statistic)
    assert r.pvalue == pytest.approx(ref.pvalue)


def test_identical_models_give_f_zero_with_a_reason():
    r = ftest([0, 1, 1, 0], [0, 1, 0, 0], [0, 1, 0, 0], [0, 1, 0, 0])
    assert (r.statistic, r.pvalue) == (0.0, 1.0) and "SSAB = 0" in r.details["note"]
