"""Post-hoc pairwise tests against scikit-posthocs 0.17.1 (fixtures/make_posthoc.py)."""

from __future__ import annotations

import itertools
import json
import pathlib
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest

from varkit.errors import VarkitError
from varkit.evaluate import (
    cd_cliques,
    critical_difference,
    friedman_nemenyi,
    pairwise_wilcoxon,
    plot_critical_difference,
    posthoc_conover_friedman,
    posthoc_dunn,
    posthoc_quade,
    posthoc_siegel_friedman,
    pvalue_matrix,
)
from varkit.results import ResultSet

matplotlib.use("Agg")

REFERENCE = json.loads((pathlib.Path(__file__).with_name("fixtures") / "posthoc.json").read_text())
BLOCK_CASES = {case["name"]: case for case in REFERENCE["blocks"]}
DUNN_CASES = {case["name"]: case for case in REFERENCE["dunn"]}
ADJUSTMENTS = ["none", "holm", "bonferroni", "bh"]

# scikit-posthocs' name -> the varkit call
BLOCK_TESTS = {
    "posthoc_conover_friedman": posthoc_conover_friedman,
    "posthoc_siegel_friedman": posthoc_siegel_friedman,
    "posthoc_quade": posthoc_quade,
    "posthoc_quade_normal": lambda s, **kw: posthoc_quade(s, dist="normal", **kw),
    "posthoc_wilcoxon": pairwise_wilcoxon,
}


def as_matrix(values: list[list[float | None]]) -> np.ndarray:
    return np.array([[np.nan if v is None else v for v in row] for row in values], dtype=float)


def assert_matches(ours: pd.DataFrame, reference: np.ndarray, *, raw: bool = True) -> None:
    """Equal to 1e-10 where scikit-posthocs is finite. Where it gives NaN (a 0/0 pair), the
    raw p-value is 1; an adjusted one is some p-value (scikit-posthocs' NaN spreads over
    the whole family under the step-up adjustments, varkit adjusts the 1)."""
    got = ours.to_numpy()
    finite = np.isfinite(reference)
    np.testing.assert_allclose(got[finite], reference[finite], rtol=1e-10, atol=1e-13)
    if raw:
        assert np.all(got[~finite] == 1.0)
    assert np.all((got >= 0) & (got <= 1))


@pytest.mark.parametrize("adjust", ADJUSTMENTS)
@pytest.mark.parametrize("test", list(BLOCK_TESTS))
@pytest.mark.parametrize("case", list(BLOCK_CASES))
def test_block_tests_match_scikit_posthocs(case, test, adjust):
    scores = BLOCK_CASES[case]["scores"]
    reference = as_matrix(BLOCK_CASES[case]["pvalues"][adjust][test])
    p_adjust = None if adjust == "none" else adjust
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the degenerate cases must not warn
        rs = BLOCK_TESTS[test](scores, p_adjust=p_adjust)
    assert_matches(pvalue_matrix(rs), reference, raw=p_adjust is None)
    if p_adjust is not None:
        raw = as_matrix(BLOCK_CASES[case]["pvalues"]["none"][test])
        got = pvalue_matrix(r.replace(pvalue=r.details["pvalue_raw"]) for r in rs)
        assert_matches(got, raw)
        assert {r.details["pvalue_adjustment"] for r in rs} == {p_adjust}


@pytest.mark.parametrize("adjust", ADJUSTMENTS)
@pytest.mark.parametrize("case", list(DUNN_CASES))
def test_dunn_matches_scikit_posthocs(case, adjust):
    samples = DUNN_CASES[case]["samples"]
    reference = as_matrix(DUNN_CASES[case]["pvalues"][adjust])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rs = posthoc_dunn(samples, p_adjust=None if adjust == "none" else adjust)
    assert_matches(pvalue_matrix(rs), reference, raw=adjust == "none")
    assert all(r.n == sum(len(s) for s in samples) for r in rs)
    named = posthoc_dunn(dict(zip("abcd", samples, strict=False)), p_adjust=None)
    assert list(pvalue_matrix(named).index) == list("abcd")[: len(samples)]


@pytest.mark.parametrize("adjust", ADJUSTMENTS)
def test_wilcoxon_matches_the_scikit_posthocs_docstring_example(adjust):
    case = REFERENCE["wilcoxon_doc"]
    rs = pairwise_wilcoxon(case["scores"], p_adjust=None if adjust == "none" else adjust)
    assert_matches(pvalue_matrix(rs), as_matrix(case["pvalues"][adjust]))


def test_pairs_are_labelled_like_friedman_nemenyi_and_estimates_are_rank_differences():
    scores = np.array(BLOCK_CASES["random_rounded"]["scores"])
    names = ["a", "b", "c", "d"]
    nemenyi = friedman_nemenyi(scores, models=names)
    avg = {r.group["model"]: r.estimate for r in nemenyi.select("average_rank")}
    conover = posthoc_conover_friedman(scores, names=names)
    siegel = posthoc_siegel_friedman(scores, names=names)
    expected_pairs = [f"{a}-{b}" for a, b in itertools.combinations(names, 2)]
    for rs in (conover, siegel):
        assert [r.group["comparison"] for r in rs] == expected_pairs
        for r in rs:
            assert r.estimate == pytest.approx(avg[r.group["model_1"]] - avg[r.group["model_2"]])
    # Siegel-Castellan's z is the Nemenyi statistic on the normal instead of the range
    nemenyi_z = [r.statistic for r in nemenyi.select("rank_difference")]
    assert [r.statistic for r in siegel] == pytest.approx(nemenyi_z, rel=1e-12)
    assert all(r.df == (19.0 * 3.0,) for r in conover)  # (n - 1)(k - 1), n = 20, k = 4
    quade_t = posthoc_quade(scores, names=names)
    assert all(r.df == (19.0 * 3.0,) for r in quade_t)


def test_the_direction_flips_the_estimates_only():
    scores = BLOCK_CASES["random_ties"]["scores"]
    for test in (posthoc_conover_friedman, posthoc_siegel_friedman, posthoc_quade):
        up, down = test(scores), test(scores, higher_is_better=False)
        assert [r.estimate for r in up] == pytest.approx([-r.estimate for r in down])
        assert [r.pvalue for r in up] == pytest.approx([r.pvalue for r in down], rel=1e-12)


def test_a_dataframe_names_the_models_and_names_overrides_it():
    frame = pd.DataFrame(BLOCK_CASES["doc"]["scores"], columns=["rf", "lr", "svm"])
    matrix = pvalue_matrix(posthoc_conover_friedman(frame))
    assert list(matrix.index) == list(matrix.columns) == ["rf", "lr", "svm"]
    assert np.allclose(matrix.to_numpy(), matrix.to_numpy().T)
    renamed = posthoc_siegel_friedman(frame, names=["x", "y", "z"])
    assert [r.group["comparison"] for r in renamed] == ["x-y", "x-z", "y-z"]
    arrays = posthoc_quade(frame.to_numpy())
    assert arrays[0].group["model_1"] == "model_1"


def test_all_scores_equal_gives_statistic_zero_and_p_one():
    scores = BLOCK_CASES["all_equal"]["scores"]
    for test in BLOCK_TESTS.values():
        for p_adjust in (None, "holm"):
            rs = test(scores, p_adjust=p_adjust)
            assert all((r.statistic, r.pvalue, r.estimate) == (0.0, 1.0, 0.0) for r in rs)
    for test in (posthoc_conover_friedman, posthoc_quade):
        assert "ties all models" in test(scores)[0].details["note"]
    dunn = posthoc_dunn(DUNN_CASES["all_equal"]["samples"])
    assert all((r.statistic, r.pvalue) == (0.0, 1.0) for r in dunn)
    assert "all values are equal" in dunn[0].details["note"]
    # an ordinary input has no notes, also on a pair whose ranks happen to be equal
    ordinary = posthoc_conover_friedman([[1, 2, 3], [2, 1, 3], [1, 2, 0], [2, 1, 0], [1, 1, 3]])
    assert ordinary[0].statistic == 0.0 and ordinary[1].statistic > 0
    assert all("note" not in r.details for r in ordinary)


def test_the_same_ranking_everywhere_leaves_no_residual_variance():
    scores = BLOCK_CASES["same_order_every_block"]["scores"]  # models 2 and 3 always tie
    for test in (posthoc_conover_friedman, posthoc_quade):
        rs = test(scores)
        tied = rs.select(comparison="model_2-model_3")[0]
        assert (tied.statistic, tied.pvalue) == (0.0, 1.0)
        assert "equal rank sums" in tied.details["note"]
        others = [r for r in rs if r.group["comparison"] != "model_2-model_3"]
        assert all(r.statistic == np.inf and r.pvalue == 0.0 for r in others)
        assert "infinite" in others[0].details["note"]
        assert ResultSet.from_json(rs.to_json()) == rs


def test_two_models_give_one_pair():
    scores = BLOCK_CASES["two_models"]["scores"]
    for test in BLOCK_TESTS.values():
        rs = test(scores)
        assert len(rs) == 1 and 0.0 < rs[0].pvalue <= 1.0
        assert pvalue_matrix(rs).shape == (2, 2)
    assert len(posthoc_dunn(DUNN_CASES["two_samples"]["samples"])) == 1


def test_wilcoxon_one_sided_p_values_halve_the_two_sided_one():
    rng = np.random.default_rng(5)
    scores = rng.normal(size=(15, 3)) + [0.0, 0.6, 0.2]  # continuous: no ties, no zeros
    two = pairwise_wilcoxon(scores, p_adjust=None)
    greater = pairwise_wilcoxon(scores, p_adjust=None, alternative="greater")
    less = pairwise_wilcoxon(scores, p_adjust=None, alternative="less")
    for t, g, lo in zip(two, greater, less, strict=True):
        assert t.pvalue == pytest.approx(min(1.0, 2 * min(g.pvalue, lo.pvalue)))
        assert g.alternative == "greater"
        d = scores[:, int(t.group["model_1"][-1]) - 1] - scores[:, int(t.group["model_2"][-1]) - 1]
        assert t.estimate == pytest.approx(np.median(d))
    holm = pairwise_wilcoxon(scores)  # Holm by default
    assert [r.details["pvalue_raw"] for r in holm] == [r.pvalue for r in two]


def test_pvalue_matrix_reads_friedman_nemenyi_and_marks_missing_pairs():
    scores = BLOCK_CASES["random_rounded"]["scores"]
    rs = friedman_nemenyi(scores, models=["a", "b", "c", "d"])
    matrix = pvalue_matrix(rs)
    assert list(matrix.index) == ["a", "b", "c", "d"]
    assert matrix.loc["b", "d"] == rs.select(comparison="b-d")[0].pvalue
    partial = pvalue_matrix(r for r in rs if r.group.get("comparison") != "a-b")
    assert np.isnan(partial.loc["a", "b"]) and np.isnan(partial.loc["b", "a"])
    assert pvalue_matrix([]).shape == (0, 0)


def test_cd_cliques_by_hand():
    # sorted ranks 1.0, 1.5, 2.6, 3.0, 4.5 with CD 1.1
    ranks = [3.0, 1.0, 4.5, 1.5, 2.6]
    assert cd_cliques(ranks, 1.1) == [(1, 3), (3, 4), (4, 0)]
    assert cd_cliques(ranks, 0.1) == []
    assert cd_cliques(ranks, 1.5) == [(1, 3), (3, 4, 0), (0, 2)]
    assert cd_cliques(ranks, 10.0) == [(1, 3, 4, 0, 2)]
    assert cd_cliques([2.0, 1.0], 1.0) == [(1, 0)]  # a difference of exactly CD: no significance
    with pytest.raises(VarkitError, match="`cd`"):
        cd_cliques(ranks, -1.0)
    with pytest.raises(VarkitError, match="`avg_ranks`"):
        cd_cliques([1.0, np.nan], 1.0)


def test_cd_cliques_join_exactly_the_pairs_nemenyi_does_not_separate():
    rng = np.random.default_rng(11)
    for _ in range(20):
        k, n = int(rng.integers(3, 9)), int(rng.integers(5, 30))
        scores = rng.random((n, k)) + rng.random(k) * 0.5
        rs = friedman_nemenyi(scores)
        avg = [r.estimate for r in rs.select("average_rank")]
        cd = critical_difference(k, n)
        cliques = cd_cliques(avg, cd)
        joined = {frozenset(p) for c in cliques for p in itertools.combinations(c, 2)}
        for r in rs.select("rank_difference"):
            pair = frozenset(int(r.group[m].split("_")[1]) - 1 for m in ("model_1", "model_2"))
            assert (pair in joined) == (not r.details["significant"])
        order = np.argsort(avg, kind="stable")
        for c in cliques:  # maximal: the next model in rank order is beyond the CD
            end = int(np.flatnonzero(order == c[-1])[0])
            if end + 1 < k:
                assert avg[order[end + 1]] - avg[c[0]] > cd


def test_plot_critical_difference_draws_names_cd_and_cliques():
    scores = np.array(BLOCK_CASES["random_rounded"]["scores"])
    names = ["alpha", "beta", "gamma", "delta"]
    fig = plot_critical_difference(scores, names=names)
    assert isinstance(fig, matplotlib.figure.Figure)
    (ax,) = fig.axes
    texts = [t.get_text() for t in ax.texts]
    assert sorted(t for t in texts if t in names) == sorted(names)
    avg = [r.estimate for r in friedman_nemenyi(scores, models=names).select("average_rank")]
    cd = critical_difference(4, 20)
    assert any(t.startswith(f"CD = {cd:.2f}") for t in texts)
    thick = [c for c in ax.collections if max(c.get_linewidths(), default=0) > 3]
    assert len(thick) == len(cd_cliques(avg, cd)) > 0
    # drawing into a given axes returns that axes' figure
    other = matplotlib.figure.Figure()
    target = other.subplots()
    assert plot_critical_difference(scores[:, :2], ax=target) is other


def test_bad_inputs_name_the_parameter():
    good = BLOCK_CASES["doc"]["scores"]
    cases = [
        (lambda: posthoc_conover_friedman([[1.0, 2.0]]), "at least 2 data sets and 2 models"),
        (lambda: posthoc_quade([[1.0], [2.0]]), "at least 2 data sets and 2 models"),
        (lambda: posthoc_siegel_friedman([[1.0, np.nan], [2.0, 3.0]]), "NaN"),
        (lambda: posthoc_conover_friedman(good, p_adjust="fdr_bh"), "`p_adjust`"),
        (lambda: posthoc_conover_friedman(good, names=["a", "b"]), "model names"),
        (lambda: posthoc_conover_friedman(good, names=["a", "a", "b"]), "distinct"),
        (lambda: posthoc_quade(good, dist="tukey"), "`dist`"),
        (lambda: pairwise_wilcoxon(good, zero_method="none"), "`zero_method`"),
        (lambda: pairwise_wilcoxon(good, alternative="bigger"), "`alternative`"),
        (lambda: posthoc_dunn([[1.0, 2.0]]), "at least 2 samples"),
        (lambda: posthoc_dunn([[1.0, 2.0], []]), "item 2"),
        (lambda: posthoc_dunn([[1.0, 2.0], [np.inf]]), "item 2"),
        (lambda: posthoc_dunn([[1.0], [2.0]], names=["a"]), "`names`"),
        (lambda: posthoc_dunn("abc"), "`samples`"),
        (lambda: plot_critical_difference(good, alpha=1.5), "`alpha`"),
        (lambda: plot_critical_difference(good, alpha="0.05"), "`alpha`"),
    ]
    for call, message in cases:
        with pytest.raises(VarkitError, match=message):
            call()
