import numpy as np
import pandas as pd
import pytest

from varkit.datasets.evaluate import load_predictions_example, make_predictions_example
from varkit.evaluate import cochrans_q, compare_predictions, compare_scores


def test_bundled_example_is_reproducible():
    assert make_predictions_example().equals(load_predictions_example())


def test_compare_predictions_pieces_agree_with_the_functions():
    log = load_predictions_example()
    models = {m: log[m] for m in ("forest", "logistic", "baseline")}
    rs = compare_predictions(log["y_true"], models, n_resamples=500, random_state=0, device="cpu")
    q = cochrans_q(log["y_true"], *models.values())
    assert rs.select("cochrans_q")[0].statistic == pytest.approx(q.statistic)
    assert len(rs.select("mcnemar")) == 3


def test_compare_scores_matches_rows_by_repeat_and_fold_and_counts_dropped():
    log = pd.DataFrame(
        {
            "model": ["a"] * 4 + ["b"] * 3,
            "repeat": [0, 0, 1, 1, 0, 0, 1],
            "fold": [0, 1, 0, 1, 1, 0, 0],
            "score": [0.8, 0.7, 0.9, 0.6, 0.6, 0.7, 0.8],
        }
    )
    rs = compare_scores(log)
    pair = rs.select("score_difference")[0]
    # matched splits (0,0), (0,1), (1,0): differences .1, .1, .1; (1,1) dropped
    assert pair.estimate == pytest.approx(0.1)
    assert pair.details["excluded_splits"] == {"not_scored_for_every_model": 1}
    assert pair.method == "resampled-t" and pair.details["corrected"] is False


def test_compare_scores_two_models_across_datasets_uses_wilcoxon():
    rng = np.random.default_rng(0)
    rows = [
        {"dataset": f"d{d}", "model": m, "fold": f, "score": s + rng.normal(scale=0.01)}
        for d in range(6)
        for f in range(3)
        for m, s in (("a", 0.8), ("b", 0.7))
    ]
    rs = compare_scores(pd.DataFrame(rows))
    assert any(r.method == "wilcoxon-signed-rank" for r in rs)


def _log(**extra):
    rows = [
        {"model": m, "fold": f, "score": 0.7 + 0.01 * f + (0.05 if m == "a" else 0.0)}
        for m in ("a", "b")
        for f in range(4)
    ]
    frame = pd.DataFrame(rows)
    for key, value in extra.items():
        frame[key] = value
    return frame


def test_duplicate_split_rows_are_an_error_naming_the_rows():
    log = pd.concat([_log(), _log().iloc[[1]]], ignore_index=True)
    with pytest.raises(ValueError, match=r"model='a', fold=1\): rows 2, 9"):
        compare_scores(log)


@pytest.mark.parametrize("bad", [0, -3, 2.5])
def test_set_sizes_must_be_positive_integers(bad):
    log = _log(n_train=80.0, n_test=20.0)
    log.loc[2, "n_train"] = bad
    with pytest.raises(ValueError, match="column 'n_train' .* row 3"):
        compare_scores(log)


def test_all_equal_scores_give_friedman_zero_without_warnings():
    import warnings

    log = pd.DataFrame(
        [
            {"model": m, "dataset": d, "fold": f, "score": 0.8}
            for m in "abc"
            for d in ("x", "y")
            for f in range(3)
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rs = compare_scores(log)
    friedman = rs.select("friedman")[0]
    assert (friedman.statistic, friedman.pvalue) == (0.0, 1.0)
    pair = rs.select("score_difference")[0]
    assert pair.pvalue == 1.0 and "zero variance" in pair.details["zero_variance"]
