import numpy as np
import pytest

from varkit.evaluate import cochrans_q, mcnemar, mcnemar_table


def test_table_layout_follows_raschka_fig19():
    y = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
    m1 = np.array([0, 1, 0, 0, 0, 1, 1, 0, 0, 0])
    m2 = np.array([0, 0, 1, 1, 0, 1, 1, 0, 0, 0])
    # both right: 0,4,5,6 ; m1 right m2 wrong: 2,3 ; m1 wrong m2 right: 1 ; both wrong: 7,8,9
    assert mcnemar_table(y, m1, m2).tolist() == [[4, 2], [1, 3]]


def test_fagerland_2013_example_exact_midp_chi2():
    # b = 1, c = 7: exact p = 2 * 9/256, mid-p = 10/256, chi2 = 36/8 (p .034).
    table = [[0, 1], [7, 0]]
    assert mcnemar(table, method="exact").pvalue == pytest.approx(18 / 256)
    assert mcnemar(table, method="mid-p").pvalue == pytest.approx(10 / 256)
    r = mcnemar(table, method="chi2")
    assert r.statistic == pytest.approx(4.5)
    assert r.pvalue == pytest.approx(0.0339, abs=1e-4)


def test_matches_mlxtend_and_statsmodels(reference):
    for case in reference["mcnemar"]:
        table = case["table"]
        b, c = table[0][1], table[1][0]
        exact = mcnemar(table, method="exact")
        assert exact.pvalue == pytest.approx(case["statsmodels_exact"][1])
        assert exact.pvalue == pytest.approx(case["mlxtend_exact_p"])
        chi2 = mcnemar(table, method="chi2")
        assert (chi2.statistic, chi2.pvalue) == pytest.approx(tuple(case["mlxtend_chi2"]))
        corrected = mcnemar(table, method="chi2-corrected")
        if b != c:
            assert corrected.statistic == pytest.approx(case["mlxtend_chi2_corrected"][0])
            assert corrected.pvalue == pytest.approx(case["statsmodels_chi2_corrected"][1])
        else:
            # mlxtend/statsmodels: 1/(b+c) = .1667, p = .683; the clipped correction gives 0, p 1.
            assert case["mlxtend_chi2_corrected"][1] < 1
            assert (corrected.statistic, corrected.pvalue) == (0.0, 1.0)


@pytest.mark.parametrize("method", ["exact", "mid-p", "chi2", "chi2-corrected"])
def test_no_disagreement_gives_p_one(method):
    r = mcnemar([[40, 0], [0, 10]], method=method)
    assert r.pvalue == 1.0
    assert r.statistic == 0.0


def test_estimate_is_accuracy_difference():
    r = mcnemar([[50, 7], [19, 4]])
    assert r.estimate == pytest.approx((7 - 19) / 80)
    assert r.details["b"] == 7 and r.details["c"] == 19


def test_cochrans_q_with_two_models_equals_uncorrected_mcnemar():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 300)
    p1 = np.where(rng.random(300) < 0.8, y, 1 - y)
    p2 = np.where(rng.random(300) < 0.7, y, 1 - y)
    chi2 = mcnemar(mcnemar_table(y, p1, p2), method="chi2")
    q = cochrans_q(y, p1, p2)
    assert q.statistic == pytest.approx(chi2.statistic)
    assert q.pvalue == pytest.approx(chi2.pvalue)


def test_midp_is_between_half_and_full_exact():
    rng = np.random.default_rng(0)
    for _ in range(50):
        b, c = (int(v) for v in rng.integers(0, 30, 2))
        exact = mcnemar([[5, b], [c, 5]], method="exact").pvalue
        midp = mcnemar([[5, b], [c, 5]], method="mid-p").pvalue
        assert midp <= exact + 1e-12
        assert 0.0 <= midp <= 1.0


@pytest.mark.parametrize(
    ("table", "error"),
    [
        ([[1, 2, 3], [4, 5, 6]], "2x2"),
        ([[1, -2], [3, 4]], "non-negative"),
        ([[1, 2.5], [3, 4]], "whole"),
    ],
)
def test_bad_tables_are_rejected(table, error):
    with pytest.raises(ValueError, match=error):
        mcnemar(table)


def test_table_input_checks():
    with pytest.raises(ValueError, match="rows"):
        mcnemar_table([0, 1, 1], [0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="missing"):
        mcnemar_table([0.0, 1.0, np.nan], [0, 1, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="`method`"):
        mcnemar([[1, 2], [3, 4]], method="fisher")


def test_table_accepts_labels_absent_from_truth_and_a_single_true_class():
    # issue 17: a model may predict a class missing from the test fold, and every test
    # example may be positive; the table only counts right/wrong.
    assert mcnemar_table([0, 1, 1], [0, 2, 1], [0, 1, 1]).tolist() == [[2, 0], [1, 0]]
    assert mcnemar_table([1, 1, 1], [0, 1, 1], [1, 1, 0]).tolist() == [[1, 1], [1, 0]]


def test_no_discordant_pairs_gives_p_one_with_a_reason():
    for method in ("exact", "mid-p", "chi2", "chi2-corrected"):
        r = mcnemar([[7, 0], [0, 3]], method=method)
        assert (r.statistic, r.pvalue) == (0.0, 1.0)
        assert "never disagree" in r.details["note"]
