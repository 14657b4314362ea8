"""Several models or data sets: multiple-comparison corrections, Friedman with Nemenyi."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests

from varkit.checks import check_confidence
from varkit.errors import VarkitError, VarkitTypeError
from varkit.results import Result, ResultSet

__all__ = ["adjust_pvalues", "critical_difference", "friedman_nemenyi"]

# varkit name -> statsmodels name
_CORRECTIONS = {
    "bonferroni": "bonferroni",
    "holm": "holm",
    "sidak": "sidak",
    "holm-sidak": "holm-sidak",
    "hochberg": "simes-hochberg",
    "hommel": "hommel",
    "bh": "fdr_bh",
    "by": "fdr_by",
}


def holm(pvalues: np.ndarray) -> np.ndarray:
    """Holm's (1979) step-down adjusted p-values, as statsmodels' ``multipletests`` gives.

    Computed here because statsmodels' Holm branch calls ``gc.collect()``, which takes
    about a quarter of a second in a process that has imported scipy and pandas.

    Examples
    --------
    >>> holm(np.array([0.01, 0.04, 0.03])).round(2).tolist()
    [0.03, 0.06, 0.06]
    """
    order = np.argsort(pvalues)
    steps = np.maximum.accumulate(pvalues[order] * np.arange(pvalues.size, 0, -1))
    adjusted = np.empty_like(steps)
    adjusted[order] = np.minimum(steps, 1.0)
    return adjusted


def adjust_pvalues(results: Iterable[Result], *, method: str = "holm") -> ResultSet:
    """Adjust the p-values of a family of tests (statsmodels ``multipletests``).

    Parameters
    ----------
    results : iterable of Result
        The tests of one family (e.g. all pairwise McNemar tests); results without a
        p-value pass through unchanged.
    method : {'holm', 'bonferroni', 'sidak', 'holm-sidak', 'hochberg', 'hommel', 'bh', 'by'}
        Family-wise error (Holm 1979 and others) or false discovery rate (``bh``:
        Benjamini-Hochberg 1995; ``by``: Benjamini-Yekutieli 2001).

    Returns
    -------
    ResultSet
        The same results with adjusted ``pvalue``; ``details`` gain ``pvalue_raw`` and
        ``pvalue_adjustment``.

    Examples
    --------
    >>> rs = adjust_pvalues([Result("t", 0.0, pvalue=p) for p in (0.01, 0.04, 0.03)])
    >>> [round(r.pvalue, 2) for r in rs]
    [0.03, 0.06, 0.06]
    """
    if method not in _CORRECTIONS:
        raise VarkitError(f"`method` must be one of {', '.join(_CORRECTIONS)}, got {method!r}.")
    items = list(results)
    for item in items:
        if not isinstance(item, Result):
            raise VarkitTypeError(f"`results` must hold Result objects, got {type(item).__name__}.")
    tested = [i for i, r in enumerate(items) if r.pvalue is not None and not math.isnan(r.pvalue)]
    if tested:
        raw = np.array([items[i].pvalue for i in tested], dtype=float)
        if method == "holm":
            adjusted = holm(raw)
        else:
            adjusted = multipletests(raw, method=_CORRECTIONS[method])[1]
        for i, p_raw, p_adj in zip(tested, raw, adjusted, strict=True):
            items[i] = items[i].replace(
                pvalue=float(p_adj),
                details={
                    **items[i].details,
                    "pvalue_raw": float(p_raw),
                    "pvalue_adjustment": method,
                    "family_size": len(tested),
                },
            )
    return ResultSet(tuple(items), {"function": "varkit.evaluate.adjust_pvalues"})


def score_table(
    scores: Any, *, names: Sequence[str] | None = None, min_models: int = 2
) -> tuple[np.ndarray, list[str]]:
    """Check a (data sets x models) table of scores and name its models.

    The one validation of the block-design tests of this package (Friedman, Nemenyi, the
    post-hoc tests of :mod:`varkit.evaluate.posthoc`): a DataFrame's column names name the
    models unless ``names`` does; otherwise they are ``model_1``, ``model_2`` ...

    Examples
    --------
    >>> score_table([[0.9, 0.8], [0.7, 0.6]])[1]
    ['model_1', 'model_2']
    """
    frame_names = None
    if names is None and hasattr(scores, "columns") and hasattr(scores, "to_numpy"):
        frame_names = [str(c) for c in scores.columns]
    try:
        table = np.asarray(scores, dtype=float)
    except (TypeError, ValueError):
        raise VarkitTypeError("`scores` must be a numeric (data sets x models) table.") from None
    if table.ndim != 2 or table.shape[0] < 2 or table.shape[1] < min_models:
        raise VarkitError(
            "`scores` must be a (data sets x models) table with at least 2 data sets and "
            f"{min_models} models."
        )
    if not np.all(np.isfinite(table)):
        raise VarkitError("`scores` contains NaN or infinite values.")
    k = table.shape[1]
    if names is not None:
        labels = [str(m) for m in names]
    else:
        labels = frame_names or [f"model_{j + 1}" for j in range(k)]
    if len(labels) != k:
        raise VarkitError(f"got {len(labels)} model names for {k} score columns.")
    if len(set(labels)) != k:
        raise VarkitError("model names must be distinct.")
    return table, labels


def friedman_ranks(table: np.ndarray, *, higher_is_better: bool = True) -> np.ndarray:
    """Ranks of the models within each data set (row); ties get average ranks.

    Rank 1 goes to the highest score when ``higher_is_better``, else to the lowest.

    Examples
    --------
    >>> friedman_ranks(np.array([[0.9, 0.7, 0.9]])).tolist()
    [[1.5, 3.0, 1.5]]
    """
    return np.asarray(stats.rankdata(-table if higher_is_better else table, axis=1))


def critical_difference(n_models: int, n_datasets: int, *, alpha: float = 0.05) -> float:
    """Nemenyi critical difference of average ranks (Demsar 2006).

    ``CD = q_alpha sqrt(k (k + 1) / (6 N))`` with ``q_alpha`` the studentized range
    quantile (infinite df) divided by sqrt(2).

    Examples
    --------
    >>> round(critical_difference(4, 14), 3)  # Demsar (2006): CD = 1.25
    1.254
    """
    if n_models < 2 or n_datasets < 1:
        raise VarkitError("need at least 2 models and 1 data set for a critical difference.")
    q = float(stats.studentized_range.ppf(1 - alpha, n_models, np.inf)) / math.sqrt(2)
    return q * math.sqrt(n_models * (n_models + 1) / (6.0 * n_datasets))


def friedman_nemenyi(
    scores: Any,
    *,
    models: Sequence[str] | None = None,
    alpha: float = 0.05,
    higher_is_better: bool = True,
) -> ResultSet:
    """Friedman test across data sets with Nemenyi post-hoc comparisons (Demsar 2006).

    Parameters
    ----------
    scores : array-like of shape (n_datasets, n_models)
        One score per (data set, model); ranks are taken within each data set (ties get
        average ranks).
    models : sequence of str, optional
        Model names.
    alpha : float
        Level of the critical difference.
    higher_is_better : bool
        Rank 1 goes to the highest score (accuracy) or to the lowest (error).

    Returns
    -------
    ResultSet
        ``friedman`` (chi-square with tie correction, from
        :func:`scipy.stats.friedmanchisquare`; ``details`` add the Iman-Davenport F and its
        p-value, Demsar 2006), one ``average_rank`` per model, and one ``rank_difference``
        per pair with the Nemenyi p-value and the critical difference in ``details``.

    Examples
    --------
    >>> s = [[0.9, 0.8, 0.7], [0.85, 0.8, 0.6], [0.95, 0.9, 0.8], [0.7, 0.75, 0.5]]
    >>> rs = friedman_nemenyi(s, models=["a", "b", "c"])
    >>> round(rs[0].statistic, 3), [r.estimate for r in rs.select("average_rank")]
    (6.5, [1.25, 1.75, 3.0])
    """
    table, names = score_table(scores, names=models, min_models=3)
    check_confidence(1 - alpha)
    n, k = table.shape
    ranks = friedman_ranks(table, higher_is_better=higher_is_better)
    avg = ranks.mean(axis=0)
    details: dict[str, Any] = {}
    if np.all(ranks == ranks[:, :1]):
        # Every data set ties all models: the tie-corrected statistic is 0/0. The ranks
        # carry no evidence against equal performance, so chi2 = 0 and p = 1 (Conover
        # 1999, sec. 5.8: with ties the statistic measures the spread of the rank sums,
        # here zero); scipy would return NaN with a RuntimeWarning.
        chi2, p = 0.0, 1.0
        details["note"] = (
            "every data set ties all models: Friedman chi2 = 0 and p = 1 (no rank spread)"
        )
    else:
        result = stats.friedmanchisquare(*table.T)
        chi2, p = float(result.statistic), float(result.pvalue)
    f_denominator = n * (k - 1) - chi2
    if f_denominator > 0:
        iman = (n - 1) * chi2 / f_denominator
        iman_p = float(stats.f.sf(iman, k - 1, (k - 1) * (n - 1)))
    else:
        # chi2 = n (k - 1): every data set ranks the models the same way (no ties), the
        # Iman-Davenport F is infinite and its p-value 0 (Iman & Davenport 1980).
        iman, iman_p = math.inf, 0.0
        details["iman_davenport_note"] = "identical rankings in every data set: F is infinite"
    cd = critical_difference(k, n, alpha=alpha)
    out = [
        Result(
            metric="friedman",
            estimate=chi2,
            method="friedman-chi2",
            n=n,
            statistic=chi2,
            pvalue=float(p),
            df=(float(k - 1),),
            details={
                "iman_davenport_f": iman,
                "iman_davenport_pvalue": iman_p,
                "models": names,
                **details,
            },
        )
    ]
    out += [
        Result(
            metric="average_rank",
            estimate=float(r),
            method="friedman-ranks",
            n=n,
            group={"model": m},
        )
        for m, r in zip(names, avg, strict=True)
    ]
    se = math.sqrt(k * (k + 1) / (6.0 * n))
    for i in range(k):
        for j in range(i + 1, k):
            diff = float(avg[i] - avg[j])
            q = abs(diff) / se * math.sqrt(2)
            out.append(
                Result(
                    metric="rank_difference",
                    estimate=diff,
                    method="nemenyi",
                    n=n,
                    statistic=abs(diff) / se,
                    pvalue=float(stats.studentized_range.sf(q, k, np.inf)),
                    alternative="two-sided",
                    group={
                        "comparison": f"{names[i]}-{names[j]}",
                        "model_1": names[i],
                        "model_2": names[j],
                    },
                    details={
                        "critical_difference": cd,
                        "alpha": alpha,
                        "significant": abs(diff) > cd,
                    },
                )
            )
    return ResultSet(tuple(out), {"function": "varkit.evaluate.friedman_nemenyi"})
