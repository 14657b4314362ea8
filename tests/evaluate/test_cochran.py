import time

import numpy as np
import pytest
from scipy import stats

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
