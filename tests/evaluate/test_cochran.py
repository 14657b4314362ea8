import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.contingency_tables import cochrans_q as sm_cochrans_q

from varkit.evaluate import cochrans_q


def test_matches_mlxtend_and_statsmodels(reference):
    for case in reference["several_models"]:
        r = cochrans_q(case["y_true"], *case["y_preds"])
        assert r.statistic == pytest.approx(case["statsmodels_cochrans_q"][0])
        assert r.pvalue == pytest.approx(case["statsmodels_cochrans_q"][1], rel=1e-6)
        assert r.statistic == pytest.approx(case["mlxtend_cochrans_q"][0])
        assert r.df == (len(case["y_preds"]) - 1,)


def test_identical_models_give_q_zero_p_one():
    y = np.array([0, 1, 0, 1, 1])
    r = cochrans_q(y, y, y, y)
    assert (r.statistic, r.pvalue) == (0.0, 1.0)


def test_fewer_than_two_models_is_an_error():
    with pytest.raises(ValueError, match="at least 2 models"):
        cochrans_q([0, 1, 1], [0, 1, 1])


def test_twelve_models_on_ten_thousand_rows_is_linear_time():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 10_000)
    preds = [np.where(rng.random(10_000) < 0.7, y, 1 - y) for _ in range(12)]
    start = time.perf_counter()
    r = cochrans_q(y, *preds)
    assert time.perf_counter() - start < 0.5  # mlxtend: ~1.2 s (method note)
    assert 0 <= r.pvalue <= 1


def test_type_one_error_under_equal_accuracy():
    rng = np.random.default_rng(11)
    rejections = 0
    reps = 400
    for _ in range(reps):
        y = rng.integers(0, 2, 200)
        preds = [np.where(rng.random(200) < 0.75, y, 1 - y) for _ in range(4)]
        rejections += cochrans_q(y, *preds).pvalue < 0.05
    se = np.sqrt(0.05 * 0.95 / reps)
    assert abs(rejections / reps - 0.05) < 3 * se
    assert stats.chi2.sf(7.815, 3) == pytest.approx(0.05, abs=1e-4)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 6), st.integers(5, 80))
def test_matches_statsmodels_on_random_correctness(seed, n_models, n):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    y[:2] = [0, 1]
    preds = [np.where(rng.random(n) < rng.uniform(0.3, 0.9), y, 1 - y) for _ in range(n_models)]
    correct = np.column_stack([p == y for p in preds]).astype(int)
    ours = cochrans_q(y, *preds)
    ref = sm_cochrans_q(correct)
    if np.isfinite(ref.statistic):
        assert ours.statistic == pytest.approx(ref.statistic)
        assert ours.pvalue == pytest.approx(ref.pvalue, abs=1e-12)


def test_single_true_class_and_unseen_labels_are_accepted():
    # issue 17: Q depends only on which examples each model gets right, so relabelling
    # the truth (one class here, two classes there) with the same correctness gives the
    # same Q; with two models Q is McNemar's uncorrected chi-square (b - c)^2 / (b + c).
    y_one = [1] * 8
    p1 = [1, 1, 0, 1, 1, 0, 1, 1]
    p2 = [1, 0, 0, 2, 1, 1, 1, 0]  # 2 never occurs in y_true
    r = cochrans_q(y_one, p1, p2)
    y_two = [0, 1] * 4
    same1 = [t if c else 1 - t for t, c in zip(y_two, np.equal(p1, y_one), strict=True)]
    same2 = [t if c else 1 - t for t, c in zip(y_two, np.equal(p2, y_one), strict=True)]
    assert r.statistic == pytest.approx(cochrans_q(y_two, same1, same2).statistic)
    b, c = 3, 1  # model 1 right & 2 wrong: rows 2, 4, 8; model 1 wrong & 2 right: row 6
    assert r.statistic == pytest.approx((b - c) ** 2 / (b + c))


def test_all_right_or_all_wrong_examples_give_q_zero_with_a_reason():
    r = cochrans_q([0, 1, 1, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 1, 1, 0])
    assert (r.statistic, r.pvalue) == (0.0, 1.0) and "Q = 0" in r.details["note"]
