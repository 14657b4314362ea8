import numpy as np
import pytest
from scipy import stats

from varkit.evaluate import adjust_pvalues, critical_difference, friedman_nemenyi
from varkit.results import Result


def test_holm_and_bonferroni_by_hand():
    raw = [0.01, 0.04, 0.03, 0.20]
    family = [Result("t", 0.0, pvalue=p) for p in raw]
    holm = [r.pvalue for r in adjust_pvalues(family, method="holm")]
    # Holm (1979): sorted p * (m - i + 1), running max, capped at 1.
    assert holm == pytest.approx([0.04, 0.09, 0.09, 0.20])
    bonf = [r.pvalue for r in adjust_pvalues(family, method="bonferroni")]
    assert bonf == pytest.approx([0.04, 0.16, 0.12, 0.80])
    bh = [r.pvalue for r in adjust_pvalues(family, method="bh")]
    assert bh == pytest.approx([0.04, 0.05333333, 0.05333333, 0.20])


def test_holm_is_statsmodels_holm_without_its_garbage_collection():
    from statsmodels.stats.multitest import multipletests

    from varkit.evaluate.multiple import holm

    rng = np.random.default_rng(3)
    for m in (1, 2, 7, 40):
        raw = np.round(rng.random(m) ** 3, 2)  # ties and values near 0
        assert holm(raw).tolist() == multipletests(raw, method="holm")[1].tolist()


def test_results_without_pvalues_pass_through():
    rs = adjust_pvalues([Result("accuracy", 0.9), Result("t", 0.0, pvalue=0.02)])
    assert rs[0].pvalue is None and rs[1].details["pvalue_raw"] == 0.02


def test_critical_difference_matches_demsar_table5():
    # Demsar (2006), Nemenyi critical values: q_0.05 = 1.960, 2.343, 2.569, 2.728 for k = 2..5.
    for k, q in [(2, 1.960), (3, 2.343), (4, 2.569), (5, 2.728)]:
        assert critical_difference(k, 6) == pytest.approx(q * np.sqrt(k * (k + 1) / 36), abs=2e-3)
    assert critical_difference(4, 14) == pytest.approx(1.25, abs=0.005)  # Demsar's example


def test_friedman_statistic_is_rank_formula_and_iman_davenport():
    rng = np.random.default_rng(0)
    scores = rng.random((14, 4)) + np.array([0.0, 0.3, 0.05, 0.3])
    rs = friedman_nemenyi(scores)
    ranks = stats.rankdata(-scores, axis=1).mean(axis=0)
    n, k = scores.shape
    chi2 = 12 * n / (k * (k + 1)) * (np.sum(ranks**2) - k * (k + 1) ** 2 / 4)  # Demsar 2006
    assert rs[0].statistic == pytest.approx(chi2)
    ff = (n - 1) * chi2 / (n * (k - 1) - chi2)  # Demsar 2006
    assert rs[0].details["iman_davenport_f"] == pytest.approx(ff)
    # Demsar's worked example: chi2 = 9.28 with N = 14, k = 4 gives F_F = 3.69.
    assert 13 * 9.28 / (14 * 3 - 9.28) == pytest.approx(3.69, abs=0.005)
    pairs = rs.select("rank_difference")
    assert len(pairs) == 6
    assert all(
        (abs(r.estimate) > r.details["critical_difference"]) == r.details["significant"]
        for r in pairs
    )


def test_nemenyi_pvalue_at_the_critical_difference_is_alpha():
    k, n = 4, 14
    cd = critical_difference(k, n)
    se = np.sqrt(k * (k + 1) / (6 * n))
    assert stats.studentized_range.sf(cd / se * np.sqrt(2), k, np.inf) == pytest.approx(0.05)


def test_bad_inputs():
    with pytest.raises(ValueError, match="at least 2 data sets and 3 models"):
        friedman_nemenyi([[1, 2], [3, 4]])
    with pytest.raises(ValueError, match="NaN"):
        friedman_nemenyi([[1, 2, np.nan], [3, 4, 5]])
    with pytest.raises(ValueError, match="`method`"):
        adjust_pvalues([], method="fdr")


def test_friedman_with_all_scores_tied_is_zero_with_a_reason_and_no_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rs = friedman_nemenyi(np.full((4, 3), 0.8), models=["a", "b", "c"])
    friedman = rs.select("friedman")[0]
    assert (friedman.statistic, friedman.pvalue) == (0.0, 1.0)
    assert "tie" in friedman.details["note"]
    assert friedman.details["iman_davenport_f"] == 0.0
    assert friedman.details["iman_davenport_pvalue"] == 1.0
    assert all(r.pvalue == 1.0 for r in rs.select("rank_difference"))


def test_friedman_with_some_data_sets_tied_matches_scipy():
    table = np.array([[0.8, 0.8, 0.8], [0.9, 0.7, 0.6], [0.85, 0.8, 0.7]])
    chi2 = stats.friedmanchisquare(*table.T).statistic
    assert friedman_nemenyi(table)[0].statistic == pytest.approx(chi2)
