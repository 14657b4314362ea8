"""Range-respecting intervals of mean CV scores (varkit/evaluate/_bounded.py, issue 14)."""

import math

import numpy as np
import pytest
from scipy import stats

from varkit.evaluate._bounded import bounded_mean_interval, score_range


def test_score_range_of_scikit_learn_scorers():
    assert score_range("accuracy") == (0.0, 1.0)
    assert score_range("balanced_accuracy") == (0.0, 1.0)
    assert score_range("roc_auc_ovr") == (0.0, 1.0)
    assert score_range("f1_macro") == (0.0, 1.0)
    assert score_range("r2") == (-math.inf, 1.0)
    assert score_range("neg_log_loss") == (-math.inf, 0.0)
    assert score_range("matthews_corrcoef") == (-1.0, 1.0)
    assert score_range("my_score") == (-math.inf, math.inf)


@pytest.mark.parametrize(
    ("k", "n_test", "p"),
    [(10, 30, 0.5), (10, 30, 0.9), (10, 30, 0.98), (10, 30, 1.0), (10, 30, 0.02), (3, 5, 0.8),
     (5, 10, 0.95), (5, 10, 0.0)],
)  # fmt: skip
def test_unit_score_interval_covers_and_stays_in_0_1(k, n_test, p):
    # k independent folds of n_test rows each: fold accuracy = Binomial(n_test, p) / n_test,
    # so se = s / sqrt(k) is the right standard error and coverage should be near 95 %.
    rng = np.random.default_rng(14)
    hits = 0
    reps = 400
    for _ in range(reps):
        scores = rng.binomial(n_test, p, size=k) / n_test
        m = float(scores.mean())
        se = math.sqrt(scores.var(ddof=1) / k)
        low, high, _ = bounded_mean_interval(m, se, k - 1, 0.95, (0.0, 1.0), n_rows=k * n_test)
        assert 0.0 <= low <= m <= high <= 1.0
        hits += low <= p <= high
    assert hits / reps >= 0.92


def test_perfect_folds_get_the_clopper_pearson_bound():
    low, high, details = bounded_mean_interval(1.0, 0.0, 9, 0.95, (0.0, 1.0), n_rows=60)
    # Clopper-Pearson at 60 of 60: lower bound (alpha/2)^(1/n)
    assert low == pytest.approx(0.025 ** (1 / 60))
    assert high == 1.0
    assert details["interval"] == "clopper-pearson" and "60 of 60" in details["interval_note"]
    low, high, _ = bounded_mean_interval(0.0, 0.0, 9, 0.95, (0.0, 1.0), n_rows=60)
    assert (low, high) == (0.0, pytest.approx(1 - 0.025 ** (1 / 60)))


def test_logit_interval_is_the_delta_method_on_the_logit_scale():
    m, se = 0.9, 0.05
    low, high, details = bounded_mean_interval(m, se, 9, 0.95, (0.0, 1.0))
    half = stats.t.ppf(0.975, 9) * se / (m * (1 - m))
    assert math.log(high / (1 - high)) - math.log(m / (1 - m)) == pytest.approx(half)
    assert math.log(m / (1 - m)) - math.log(low / (1 - low)) == pytest.approx(half)
    assert details == {"interval": "logit-t"}


def test_one_sided_ranges_are_clipped_and_say_so():
    low, high, details = bounded_mean_interval(0.95, 0.1, 4, 0.95, (-math.inf, 1.0))
    assert high == 1.0 and low < 0.95
    assert "ci_high clipped from" in details["truncated"]
    low, high, details = bounded_mean_interval(0.95, 0.1, 4, 0.95, (-2.0, 2.0))
    assert "truncated" not in details and high > 1.0
