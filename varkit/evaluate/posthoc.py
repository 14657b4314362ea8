"""Post-hoc pairwise tests after Friedman, Quade or Kruskal-Wallis, and the CD diagram.

The names are scikit-posthocs' (:func:`posthoc_conover_friedman`,
:func:`posthoc_siegel_friedman`, :func:`posthoc_quade`, :func:`posthoc_dunn`) and so are the
statistics, checked against scikit-posthocs 0.17.1 on its documented examples; the block
tests take ``scores`` with rows = data sets (blocks) and columns = models, as
:func:`~varkit.evaluate.friedman_nemenyi` does. :func:`pairwise_wilcoxon` is the pairwise
signed-rank test with Holm's adjustment (Benavoli, Corani & Mangili 2016).
:func:`plot_critical_difference` draws Demsar's (2006, Fig. 1) critical-difference diagram.

Every test returns a :class:`~varkit.results.ResultSet` with one result per pair of models
(``group``: ``comparison``, ``model_1``, ``model_2``); ``p_adjust`` takes the methods of
:func:`~varkit.evaluate.adjust_pvalues` (the raw p-value stays in ``details``), and
:func:`pvalue_matrix` gives the symmetric matrix scikit-posthocs returns.

References
----------
Benavoli, A., Corani, G. & Mangili, F. (2016). Should we really use post-hoc tests based
on mean-ranks? JMLR 17.
Conover, W. J. (1999). Practical Nonparametric Statistics, 3rd ed. Wiley.
Demsar, J. (2006). Statistical comparisons of classifiers over multiple data sets. JMLR 7.
Dunn, O. J. (1964). Multiple comparisons using rank sums. Technometrics 6, 241-252.
Glantz, S. A. (2012). Primer of Biostatistics, 7th ed. McGraw-Hill.
Quade, D. (1979). Using weighted rankings in the analysis of complete blocks with additive
block effects. JASA 74, 680-683.
Siegel, S. & Castellan, N. J. (1988). Nonparametric Statistics for the Behavioral Sciences.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats

from varkit.checks import check_alternative
from varkit.errors import VarkitError, VarkitTypeError
from varkit.evaluate.multiple import (
    _CORRECTIONS,
    adjust_pvalues,
    critical_difference,
    friedman_ranks,
    score_table,
)
from varkit.results import Result, ResultSet

# in the order of this module
__all__ = [
    "posthoc_conover_friedman",
    "posthoc_siegel_friedman",
    "posthoc_quade",
    "posthoc_dunn",
    "pairwise_wilcoxon",
    "pvalue_matrix",
    "cd_cliques",
    "plot_critical_difference",
    "critical_difference_figure",
]

_TIED_NOTE = "every data set ties all models: statistic 0 and p = 1"
_EQUAL_NOTE = "no residual variance and equal rank sums: statistic 0 and p = 1"
_SAME_ORDER_NOTE = (
    "every data set ranks the models alike (no residual variance): the statistic is "
    "infinite and p = 0"
)


def _check_p_adjust(p_adjust: str | None) -> str | None:
    if p_adjust is not None and p_adjust not in _CORRECTIONS:
        raise VarkitError(
            f"`p_adjust` must be None or one of {', '.join(_CORRECTIONS)}, got {p_adjust!r}."
        )
    return p_adjust


def _ratio(difference: np.ndarray, scale: Any) -> np.ndarray:
    """``|difference| / scale``; 0 where the difference is 0 (also over a zero scale: no
    evidence), inf where only the scale is 0 (no residual variance left)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.abs(difference) / scale
    return np.where(difference == 0, 0.0, out)


# the metric of each test's pairs (the others: rank_difference)
_METRICS = {"posthoc_quade": "weighted_rank_difference", "pairwise_wilcoxon": "median_difference"}


def _notes(differences: np.ndarray, *, all_tied: bool, no_residual: bool) -> np.ndarray:
    """Why a pair's statistic is 0 or infinite where its formula reads 0/0 or x/0."""
    note = np.full(differences.shape, "", dtype=object)
    if all_tied:
        note[:] = _TIED_NOTE
    elif no_residual:
        note[:] = np.where(differences == 0, _EQUAL_NOTE, _SAME_ORDER_NOTE)
    return note


def _pairwise(
    names: Sequence[str],
    columns: dict[str, Any],
    p_adjust: str | None,
    function: str,
    **common: Any,
) -> ResultSet:
    """One Result per pair ``i < j`` (row-major order) from per-pair arrays.

    ``columns`` holds ``estimate``, ``statistic``, ``pvalue`` and optionally ``note``;
    ``common`` holds the Result fields that every pair shares (two-sided by default).
    """
    common.setdefault("alternative", "two-sided")
    common["metric"] = _METRICS.get(function, "rank_difference")
    notes = columns.get("note")
    out = []
    for p, (i, j) in enumerate(itertools.combinations(range(len(names)), 2)):
        details = {} if notes is None or not notes[p] else {"note": str(notes[p])}
        out.append(
            Result(
                estimate=float(columns["estimate"][p]),
                statistic=float(columns["statistic"][p]),
                pvalue=float(min(columns["pvalue"][p], 1.0)),
                group={
                    "comparison": f"{names[i]}-{names[j]}",
                    "model_1": names[i],
                    "model_2": names[j],
                },
                details=details,
                **common,
            )
        )
    provenance = {"function": f"varkit.evaluate.{function}", "p_adjust": p_adjust}
    if p_adjust is not None:
        out = list(adjust_pvalues(out, method=p_adjust))
    return ResultSet(tuple(out), provenance)


def _block_ranks(
    scores: Any, names: Sequence[str] | None, p_adjust: str | None, higher_is_better: bool
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The checked table, its within-data-set ranks and the model names."""
    table, labels = score_table(scores, names=names)
    _check_p_adjust(p_adjust)
    return table, friedman_ranks(table, higher_is_better=higher_is_better), labels


def _pair_differences(values: np.ndarray) -> np.ndarray:
    """``values[i] - values[j]`` for every pair ``i < j``."""
    first, second = np.triu_indices(len(values), 1)
    return np.asarray(values[first] - values[second], dtype=float)


def posthoc_conover_friedman(
    scores: Any,
    *,
    names: Sequence[str] | None = None,
    p_adjust: str | None = None,
    higher_is_better: bool = True,
) -> ResultSet:
    """Conover's pairwise test after a Friedman test, on the t distribution.

    Parameters
    ----------
    scores : array-like or DataFrame of shape (n_datasets, n_models)
        One score per (data set, model); a DataFrame's columns name the models.
    names : sequence of str, optional
        Model names (default: the DataFrame's columns, else ``model_1`` ...).
    p_adjust : str or None
        None for raw p-values, or a method of :func:`~varkit.evaluate.adjust_pvalues`
        (``holm``, ``bonferroni``, ``bh`` ...).
    higher_is_better : bool
        Rank 1 goes to the highest score; only the sign of ``estimate`` depends on it.

    Returns
    -------
    ResultSet
        One ``rank_difference`` per pair: ``estimate`` the difference of average ranks
        (model_1 minus model_2), ``statistic`` ``|t|`` with ``df = (n - 1)(k - 1)``.

    Notes
    -----
    Conover (1999, sec. 5.8): with ``R_j`` the rank sums, ``A_1`` the sum of squared
    ranks, ``S^2 = (A_1 - n k (k + 1)^2 / 4) / (k - 1)`` and ``T_2`` the Friedman statistic
    ``sum_j (R_j - n (k + 1) / 2)^2 / S^2``, ``t = |R_i - R_j| / sqrt(2 n (k - 1) S^2
    (1 - T_2 / (n (k - 1))) / ((n - 1)(k - 1)))``, as scikit-posthocs computes it. Where
    every data set ties all models (``S^2 = 0``) the result is ``t = 0, p = 1``, where
    every data set ranks the models alike the residual variance is zero and ``t = inf,
    p = 0`` for the pairs whose ranks differ (scikit-posthocs returns NaN for 0/0).

    Examples
    --------
    >>> x = [[31, 27, 24], [31, 28, 31], [45, 29, 46], [21, 18, 48], [42, 36, 46],
    ...      [32, 17, 40]]
    >>> rs = posthoc_conover_friedman(x, names=["a", "b", "c"])
    >>> [round(r.pvalue, 4) for r in rs]  # scikit-posthocs' docstring example
    [0.0233, 0.4295, 0.0057]
    """
    table, ranks, labels = _block_ranks(scores, names, p_adjust, higher_is_better)
    n, k = table.shape
    differences = _pair_differences(ranks.sum(axis=0))
    s2 = (np.sum(ranks**2) - k * n * (k + 1.0) ** 2 / 4.0) / (k - 1.0)
    df = (n - 1.0) * (k - 1.0)
    b = 1.0
    if s2 == 0:  # every data set ties all models: T_2 would be 0/0
        t = np.zeros_like(differences)
    else:
        t2 = np.sum((ranks.sum(axis=0) - n * (k + 1.0) / 2.0) ** 2) / s2
        a = s2 * 2.0 * n * (k - 1.0) / df
        b = max(1.0 - t2 / (n * (k - 1.0)), 0.0)
        t = _ratio(differences, math.sqrt(a) * math.sqrt(b))
    note = _notes(differences, all_tied=s2 == 0, no_residual=b == 0)
    columns = {"estimate": differences / n, "statistic": t, "note": note}
    columns["pvalue"] = 2.0 * stats.t.sf(t, df)
    return _pairwise(
        labels,
        columns,
        p_adjust,
        "posthoc_conover_friedman",
        n=n,
        df=(df,),
        method="conover-friedman",
    )


def posthoc_siegel_friedman(
    scores: Any,
    *,
    names: Sequence[str] | None = None,
    p_adjust: str | None = None,
    higher_is_better: bool = True,
) -> ResultSet:
    """Siegel and Castellan's pairwise test after a Friedman test (Dunn-type z).

    Parameters
    ----------
    scores, names, p_adjust, higher_is_better
        As for :func:`posthoc_conover_friedman`.

    Returns
    -------
    ResultSet
        One ``rank_difference`` per pair: the difference of average ranks and
        ``|z| = |Rbar_i - Rbar_j| / sqrt(k (k + 1) / (6 n))`` on the normal distribution
        (Siegel & Castellan 1988; Demsar 2006, sec. 3.2.2 uses the same z).

    Examples
    --------
    >>> x = [[31, 27, 24], [31, 28, 31], [45, 29, 46], [21, 18, 48], [42, 36, 46],
    ...      [32, 17, 40]]
    >>> [round(r.pvalue, 4) for r in posthoc_siegel_friedman(x)]
    [0.0606, 0.5637, 0.0141]
    """
    table, ranks, labels = _block_ranks(scores, names, p_adjust, higher_is_better)
    n, k = table.shape
    differences = _pair_differences(ranks.mean(axis=0))
    z = np.abs(differences) / math.sqrt(k * (k + 1.0) / (6.0 * n))
    columns = {"estimate": differences, "statistic": z, "pvalue": 2.0 * stats.norm.sf(z)}
    return _pairwise(
        labels, columns, p_adjust, "posthoc_siegel_friedman", n=n, method="siegel-friedman"
    )


def posthoc_quade(
    scores: Any,
    *,
    names: Sequence[str] | None = None,
    dist: str = "t",
    p_adjust: str | None = None,
    higher_is_better: bool = True,
) -> ResultSet:
    """Quade's pairwise test for complete blocks, weighting each data set by its range.

    Parameters
    ----------
    scores, names, p_adjust, higher_is_better
        As for :func:`posthoc_conover_friedman`.
    dist : {'t', 'normal'}
        scikit-posthocs' two versions: the t statistic on the weighted centred ranks
        (Conover 1999, sec. 5.8, the default) or a z statistic on the weighted rank sums.

    Returns
    -------
    ResultSet
        One ``weighted_rank_difference`` per pair: ``estimate`` the difference of the
        range-weighted average ranks, ``statistic`` ``|t|`` (``df = (b - 1)(k - 1)``) or
        ``|z|``.

    Notes
    -----
    Data set ``i`` gets weight ``Q_i``, the rank of its range ``max - min`` among the data
    sets; ``S_ij = Q_i (R_ij - (k + 1) / 2)``, ``A = sum S_ij^2``, ``S_j = sum_i S_ij``,
    ``B = sum_j S_j^2 / b`` and ``t = |S_i - S_j| / sqrt(2 b (A - B) / ((b - 1)(k - 1)))``
    (Conover 1999; Quade 1979). As for Conover's test, ties everywhere give ``t = 0,
    p = 1`` and no residual variance gives ``t = inf, p = 0`` (scikit-posthocs: NaN).

    Examples
    --------
    >>> x = [[31, 27, 24], [31, 28, 31], [45, 29, 46], [21, 18, 48], [42, 36, 46],
    ...      [32, 17, 40]]
    >>> [round(r.pvalue, 4) for r in posthoc_quade(x)]
    [0.0468, 0.1706, 0.0038]
    """
    table, ranks, labels = _block_ranks(scores, names, p_adjust, higher_is_better)
    if dist not in ("t", "normal"):
        raise VarkitError(f"`dist` must be 't' or 'normal', got {dist!r}.")
    b, k = table.shape
    weights = stats.rankdata(np.ptp(table, axis=1))
    centred = (ranks - (k + 1.0) / 2.0) * weights[:, None]
    s = centred.sum(axis=0)
    differences = _pair_differences(s)
    weight_sum = b * (b + 1.0) / 2.0
    residual = max(np.sum(centred**2) - np.sum(s**2) / b, 0.0)
    all_tied = not np.any(centred)
    note = _notes(differences, all_tied=all_tied, no_residual=dist == "t" and residual == 0)
    common: dict[str, Any] = {}
    if dist == "t":
        statistic = _ratio(differences, math.sqrt(2.0 * b * residual / ((b - 1.0) * (k - 1.0))))
        df = (b - 1.0) * (k - 1.0)
        pvalue = 2.0 * stats.t.sf(statistic, df)
        common["df"] = (df,)
    else:
        total = b * k
        scale = math.sqrt(k * (k + 1.0) * (2.0 * total + 1.0) * (k - 1.0))
        scale /= math.sqrt(18.0 * total * (total + 1.0))
        statistic = np.abs(differences) / weight_sum / scale
        pvalue = 2.0 * stats.norm.sf(statistic)
    columns = {"estimate": differences / weight_sum, "statistic": statistic, "note": note}
    columns["pvalue"] = pvalue
    return _pairwise(
        labels, columns, p_adjust, "posthoc_quade", n=b, method=f"quade-{dist}", **common
    )


def _samples(samples: Any, names: Sequence[str] | None) -> tuple[list[np.ndarray], list[str]]:
    """Check a list of 1-D samples and name them (a mapping's keys name its samples)."""
    if isinstance(samples, Mapping):
        names = list(samples) if names is None else names
        samples = list(samples.values())
    if isinstance(samples, (str, bytes)) or not isinstance(samples, Iterable):
        raise VarkitTypeError("`samples` must be a list of 1-D samples.")
    arrays = []
    for position, sample in enumerate(samples, start=1):
        try:
            array = np.asarray(sample, dtype=float)
        except (TypeError, ValueError):
            raise VarkitTypeError(f"`samples` item {position} is not numeric.") from None
        if array.ndim != 1 or array.size == 0:
            raise VarkitError(f"`samples` item {position} must be a non-empty 1-D sample.")
        if not np.all(np.isfinite(array)):
            raise VarkitError(f"`samples` item {position} contains NaN or infinite values.")
        arrays.append(array)
    if len(arrays) < 2:
        raise VarkitError("`samples` must hold at least 2 samples.")
    labels = (
        [str(m) for m in names]
        if names is not None
        else [f"sample_{j + 1}" for j in range(len(arrays))]
    )
    if len(labels) != len(arrays) or len(set(labels)) != len(arrays):
        raise VarkitError(f"`names` must be {len(arrays)} distinct names, got {len(labels)}.")
    return arrays, labels


def posthoc_dunn(
    samples: Any,
    *,
    names: Sequence[str] | None = None,
    p_adjust: str | None = None,
) -> ResultSet:
    """Dunn's pairwise test of mean ranks after a Kruskal-Wallis test, tie-corrected.

    Parameters
    ----------
    samples : list or dict of 1-D array-like
        Independent samples (of any sizes), one per group; a dict's keys name them.
    names : sequence of str, optional
        Group names (default: the dict's keys, else ``sample_1``, ``sample_2`` ...).
    p_adjust : str or None
        None for raw p-values, or a method of :func:`~varkit.evaluate.adjust_pvalues`.

    Returns
    -------
    ResultSet
        One ``rank_difference`` per pair: ``estimate`` the difference of mean ranks in the
        pooled ranking (lowest value rank 1), ``statistic`` ``|z|``.

    Notes
    -----
    ``z = |Rbar_i - Rbar_j| / sqrt((N (N + 1) / 12 - sum(t^3 - t) / (12 (N - 1)))
    (1 / n_i + 1 / n_j))`` with ``t`` the sizes of the groups of tied values (Dunn 1964;
    tie correction of Glantz 2012), as scikit-posthocs computes it. All values equal
    gives ``z = 0, p = 1`` (scikit-posthocs: NaN).

    Examples
    --------
    >>> x = [[1, 2, 3, 5, 1], [12, 31, 54, 62, 12], [10, 12, 6, 74, 11]]
    >>> [round(r.pvalue, 4) for r in posthoc_dunn(x, p_adjust="holm")]
    [0.0053, 0.0553, 0.3558]
    """
    arrays, labels = _samples(samples, names)
    _check_p_adjust(p_adjust)
    sizes = np.array([a.size for a in arrays], dtype=float)
    pooled = stats.rankdata(np.concatenate(arrays))
    total = pooled.size
    bounds = np.cumsum(sizes).astype(int)[:-1]
    mean_ranks = np.array([part.mean() for part in np.split(pooled, bounds)])
    _, tie_sizes = np.unique(pooled, return_counts=True)
    ties = np.sum(tie_sizes.astype(float) ** 3 - tie_sizes) / (12.0 * (total - 1))
    variance = max(total * (total + 1.0) / 12.0 - ties, 0.0)
    first, second = np.triu_indices(len(arrays), 1)
    differences = _pair_differences(mean_ranks)
    z = _ratio(differences, np.sqrt(variance * (1.0 / sizes[first] + 1.0 / sizes[second])))
    columns = {"estimate": differences, "statistic": z, "pvalue": 2.0 * stats.norm.sf(z)}
    if variance == 0:
        columns["note"] = np.full(differences.shape, "all values are equal: z = 0 and p = 1")
    return _pairwise(labels, columns, p_adjust, "posthoc_dunn", n=total, method="dunn")


def pairwise_wilcoxon(
    scores: Any,
    *,
    names: Sequence[str] | None = None,
    p_adjust: str | None = "holm",
    zero_method: str = "wilcox",
    alternative: str = "two-sided",
) -> ResultSet:
    """Wilcoxon signed-rank test for every pair of models across data sets, Holm-adjusted.

    Parameters
    ----------
    scores, names
        As for :func:`posthoc_conover_friedman`: rows are data sets, columns models.
    p_adjust : str or None
        A method of :func:`~varkit.evaluate.adjust_pvalues` (default ``holm``), or None.
    zero_method : {'wilcox', 'pratt', 'zsplit'}
        How :func:`scipy.stats.wilcoxon` treats data sets where two models score the same.
    alternative : {'two-sided', 'less', 'greater'}
        ``greater``: model_1 tends to score higher than model_2.

    Returns
    -------
    ResultSet
        One ``median_difference`` per pair: ``estimate`` the median of model_1's minus
        model_2's scores, ``statistic`` (the smaller signed-rank sum, or ``R+`` one-sided)
        and ``pvalue`` from :func:`scipy.stats.wilcoxon` with its default method: exact
        without ties or zeros, an exact permutation test with them up to 13 data sets
        (a second or so per pair), else the normal approximation. Two models that score
        the same everywhere get ``p = 1``.

    Examples
    --------
    >>> x = [[1, 35, 10], [2, 31, 6], [3, 75, 9], [4, 40, 6], [5, 21, 1]]
    >>> [round(r.pvalue, 4) for r in pairwise_wilcoxon(x, p_adjust=None)]
    [0.0625, 0.25, 0.0625]
    """
    table, labels = score_table(scores, names=names)
    _check_p_adjust(p_adjust)
    alternative = check_alternative(alternative)
    if zero_method not in ("wilcox", "pratt", "zsplit"):
        raise VarkitError(
            f"`zero_method` must be one of wilcox, pratt, zsplit, got {zero_method!r}."
        )
    first, second = np.triu_indices(table.shape[1], 1)
    columns: dict[str, list[Any]] = {"estimate": [], "statistic": [], "pvalue": [], "note": []}
    for i, j in zip(first, second, strict=True):
        d = table[:, i] - table[:, j]
        columns["estimate"].append(float(np.median(d)))
        if np.all(d == 0):
            # scipy gives p = 1 here too, after a 0/0 warning; the models do not differ
            columns["statistic"].append(0.0)
            columns["pvalue"].append(1.0)
            columns["note"].append("the two models score the same on every data set: p = 1")
            continue
        result = stats.wilcoxon(
            table[:, i], table[:, j], zero_method=zero_method, alternative=alternative
        )
        columns["statistic"].append(float(result.statistic))
        columns["pvalue"].append(float(result.pvalue))
        columns["note"].append("")
    method = "wilcoxon-signed-rank"
    n = table.shape[0]
    return _pairwise(
        labels, columns, p_adjust, "pairwise_wilcoxon", n=n, method=method, alternative=alternative
    )


def pvalue_matrix(results: Iterable[Result]) -> Any:
    """The symmetric matrix of pairwise p-values, as scikit-posthocs returns it.

    Parameters
    ----------
    results : iterable of Result
        Pairwise results labelled ``model_1`` and ``model_2`` (from the tests of this
        module or :func:`~varkit.evaluate.friedman_nemenyi`); others are skipped.

    Returns
    -------
    pandas.DataFrame
        Models in the order they first appear, 1 on the diagonal; NaN for a pair that has
        no result.

    Examples
    --------
    >>> x = [[1, 35, 10], [2, 31, 6], [3, 75, 9], [4, 40, 6], [5, 21, 1]]
    >>> pvalue_matrix(pairwise_wilcoxon(x, names=["a", "b", "c"], p_adjust=None))
            a       b       c
    a  1.0000  0.0625  0.2500
    b  0.0625  1.0000  0.0625
    c  0.2500  0.0625  1.0000
    """
    import pandas as pd

    pairs = [
        r
        for r in results
        if isinstance(r, Result) and "model_1" in r.group and "model_2" in r.group
    ]
    order: dict[str, int] = {}
    for r in pairs:
        for key in ("model_1", "model_2"):
            order.setdefault(r.group[key], len(order))
    matrix = np.full((len(order), len(order)), np.nan)
    np.fill_diagonal(matrix, 1.0)
    for r in pairs:
        i, j = order[r.group["model_1"]], order[r.group["model_2"]]
        p = math.nan if r.pvalue is None else r.pvalue
        matrix[i, j] = matrix[j, i] = p
    return pd.DataFrame(matrix, index=list(order), columns=list(order))


def cd_cliques(avg_ranks: Sequence[float], cd: float) -> list[tuple[int, ...]]:
    """Groups of models whose average ranks lie within one critical difference.

    The thick lines of Demsar's (2006, Fig. 1) diagram: maximal runs of models, in rank
    order, whose highest and lowest average ranks differ by at most ``cd`` (no pair in
    the run differs significantly by the Nemenyi test); runs of one model are left out.

    Parameters
    ----------
    avg_ranks : sequence of float
        The average rank of each model.
    cd : float
        The critical difference (:func:`~varkit.evaluate.critical_difference`).

    Returns
    -------
    list of tuple of int
        Each clique as the models' indices in ``avg_ranks``, best rank first; cliques in
        the order of their best rank.

    Examples
    --------
    >>> cd_cliques([1.2, 3.5, 2.0, 2.6], cd=1.0)
    [(0, 2), (2, 3), (3, 1)]
    """
    ranks = np.asarray(avg_ranks, dtype=float)
    if ranks.ndim != 1 or not np.all(np.isfinite(ranks)):
        raise VarkitError("`avg_ranks` must be a 1-D sequence of finite numbers.")
    if not (math.isfinite(cd) and cd >= 0):
        raise VarkitError(f"`cd` must be a finite non-negative number, got {cd}.")
    order = np.argsort(ranks, kind="stable")
    sorted_ranks = ranks[order]
    cliques: list[tuple[int, ...]] = []
    last_end = 0
    for start in range(len(order)):
        end = int(np.searchsorted(sorted_ranks, sorted_ranks[start] + cd, side="right")) - 1
        if end > start and end > last_end:
            cliques.append(tuple(int(m) for m in order[start : end + 1]))
            last_end = end
    return cliques


def plot_critical_difference(
    scores: Any,
    *,
    names: Sequence[str] | None = None,
    alpha: float = 0.05,
    higher_is_better: bool = True,
    ax: Any = None,
) -> Any:
    """Demsar's (2006, Fig. 1) critical-difference diagram of average ranks.

    Parameters
    ----------
    scores, names
        As for :func:`posthoc_conover_friedman`: rows are data sets, columns models.
    alpha : float
        Level of the Nemenyi critical difference.
    higher_is_better : bool
        Rank 1 (the left end of the axis) goes to the highest score.
    ax : matplotlib Axes, optional
        Where to draw; by default a new figure (built without pyplot).

    Returns
    -------
    matplotlib.figure.Figure
        The average ranks on an axis (best on the left), the critical difference as a bar
        above it, and models that do not differ significantly joined by thick lines
        (:func:`cd_cliques`).

    Examples
    --------
    >>> s = [[0.9, 0.8, 0.7], [0.85, 0.8, 0.6], [0.95, 0.9, 0.8], [0.7, 0.75, 0.5]]
    >>> fig = plot_critical_difference(s, names=["a", "b", "c"])
    >>> sorted(t.get_text() for t in fig.axes[0].texts if t.get_text() in "abc")
    ['a', 'b', 'c']
    """
    table, labels = score_table(scores, names=names)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha <= 0.5:
        raise VarkitError(f"`alpha` must be a number in (0, 0.5], got {alpha!r}.")
    n, k = table.shape
    avg = friedman_ranks(table, higher_is_better=higher_is_better).mean(axis=0)
    cd = critical_difference(k, n, alpha=alpha)
    return critical_difference_figure(dict(zip(labels, avg, strict=True)), cd, alpha=alpha, ax=ax)


def critical_difference_figure(
    average_ranks: Mapping[str, float], cd: float, *, alpha: float = 0.05, ax: Any = None
) -> Any:
    """The critical-difference diagram of given average ranks and critical difference
    (e.g. from :func:`friedman_nemenyi`'s ``average_rank`` and ``rank_difference``
    results, as the HTML report draws it); :func:`plot_critical_difference` computes both
    from the scores.

    Examples
    --------
    >>> fig = critical_difference_figure({"a": 1.25, "b": 1.75, "c": 3.0}, 1.66)
    >>> sorted(t.get_text() for t in fig.axes[0].texts if t.get_text() in "abc")
    ['a', 'b', 'c']
    """
    labels = [str(name) for name in average_ranks]
    if len(labels) < 2:
        raise VarkitError("`average_ranks` must hold at least two models.")
    avg = np.asarray(list(average_ranks.values()), dtype=float)
    cd = float(cd)
    if not (np.all(np.isfinite(avg)) and math.isfinite(cd) and cd > 0):
        raise VarkitError("`average_ranks` and `cd` must be finite, `cd` positive.")
    cliques = cd_cliques(avg.tolist(), cd)
    layout = _cd_layout(labels, len(cliques))
    if ax is None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=layout["size"])
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    _draw_cd(ax, avg, labels, cd, cliques, alpha=alpha)
    return ax.figure


def _cd_layout(labels: Sequence[str], n_cliques: int) -> dict[str, Any]:
    """Sizes of the diagram: inches per rank and the label margins, from the longest name."""
    k = len(labels)
    axis_inches = max(3.0, 0.7 * (k - 1))
    per_rank = axis_inches / (k - 1)
    # 9-point text is about 0.07 inch per character
    margin = 0.6 + 0.07 * max(len(str(m)) for m in labels)
    depth = 0.25 * (n_cliques + 1)
    rows = (k + 1) // 2
    height = 1.2 + depth + 0.3 * (rows + 1)
    return {
        "size": (axis_inches + 2 * margin, 0.6 * height + 0.2),
        "xlim": (1 - margin / per_rank, k + margin / per_rank),
        "ylim": (-(depth + 0.3 * (rows + 1)), 1.2),
        "end": 0.3 / per_rank,
        "gap": 0.06 / per_rank,
        "depth": depth,
    }


def _draw_cd(
    ax: Any,
    avg: np.ndarray,
    labels: Sequence[str],
    cd: float,
    cliques: list[tuple[int, ...]],
    *,
    alpha: float,
) -> None:
    """Draw the diagram in data coordinates: x = rank (1 to k), y = 0 the axis, down = more."""
    k = len(labels)
    layout = _cd_layout(labels, len(cliques))
    order = np.argsort(avg, kind="stable")
    ax.set_axis_off()
    ax.hlines(0, 1, k, color="black", linewidth=1)
    for tick in range(1, k + 1):
        ax.vlines(tick, 0, 0.12, color="black", linewidth=1)
        ax.text(tick, 0.18, str(tick), ha="center", va="bottom", fontsize=8)
    ax.hlines(0.75, 1, 1 + cd, color="black", linewidth=1.2)
    ax.vlines([1, 1 + cd], 0.68, 0.82, color="black", linewidth=1.2)
    ax.text(1 + cd / 2, 0.88, f"CD = {cd:.2f} ({alpha:g})", ha="center", va="bottom", fontsize=8)
    half = (k + 1) // 2
    gap = layout["gap"]
    for position, model in enumerate(order):
        on_left = position < half
        row = position if on_left else k - 1 - position
        y = -(layout["depth"] + 0.3 * (row + 1))
        end = 1 - layout["end"] if on_left else k + layout["end"]
        side = -1 if on_left else 1
        ax.plot([avg[model], avg[model], end], [0, y, y], color="black", linewidth=0.8)
        ax.text(
            end + side * gap,
            y,
            str(labels[model]).replace("$", r"\$"),
            ha="right" if on_left else "left",
            va="center",
            fontsize=9,
        )
        ax.text(
            end - side * gap,
            y + 0.03,
            f"{avg[model]:.2f}",
            ha="left" if on_left else "right",
            va="bottom",
            fontsize=7,
        )
    for level, clique in enumerate(cliques, start=1):
        low, high = avg[list(clique)].min(), avg[list(clique)].max()
        ax.hlines(-0.25 * level, low - 0.03, high + 0.03, color="black", linewidth=3.5)
    ax.set_xlim(*layout["xlim"])
    ax.set_ylim(*layout["ylim"])
