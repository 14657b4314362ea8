"""McNemar's test of two classifiers on one test set (Dietterich 1998; Raschka 2018)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from varkit.checks import check_alternative
from varkit.errors import VarkitError, VarkitTypeError
from varkit.evaluate._inputs import check_predictions, correct_matrix
from varkit.results import Result

__all__ = ["mcnemar", "mcnemar_table", "pair_table"]

_METHODS = ("exact", "mid-p", "chi2", "chi2-corrected")


def mcnemar_table(y_true: Any, y_pred1: Any, y_pred2: Any) -> np.ndarray:
    """The 2x2 McNemar table of two models' predictions on one test set.

    Parameters
    ----------
    y_true, y_pred1, y_pred2 : array-like of shape (n,)
        True labels and the two models' predicted labels.

    Returns
    -------
    numpy.ndarray of int, shape (2, 2)
        ``[[both right, 1 right & 2 wrong], [1 wrong & 2 right, both wrong]]`` (the layout of
        Raschka 2018; ``b = table[0, 1]``, ``c = table[1, 0]``). A table is input
        data for :func:`mcnemar`, not an estimate, so it is an array and not a Result.

    Examples
    --------
    >>> y = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
    >>> m1 = [0, 1, 0, 0, 0, 1, 1, 0, 0, 0]
    >>> m2 = [0, 0, 1, 1, 0, 1, 1, 0, 0, 0]
    >>> mcnemar_table(y, m1, m2).tolist()
    [[4, 2], [1, 3]]
    """
    truth, preds, _ = check_predictions(y_true, [y_pred1, y_pred2], min_models=2)
    return _table(correct_matrix(truth, preds))


def _table(correct: np.ndarray) -> np.ndarray:
    right1, right2 = correct[:, 0], correct[:, 1]
    return np.array(
        [
            [np.sum(right1 & right2), np.sum(right1 & ~right2)],
            [np.sum(~right1 & right2), np.sum(~right1 & ~right2)],
        ],
        dtype=np.int64,
    )


def pair_table(co_correct: np.ndarray, i: int, j: int, n: int) -> np.ndarray:
    """The McNemar table of models i and j from the co-correct counts of a test set.

    ``co_correct[i, j]`` counts the examples both models get right and ``co_correct[i, i]``
    those model i gets right (:func:`varkit.evaluate._inputs.co_correct`), so the counts of
    a partitioned test set, added over its parts, give the same table as the whole set.

    Examples
    --------
    >>> import numpy as np
    >>> co = np.array([[6, 4], [4, 7]])
    >>> pair_table(co, 0, 1, 10).tolist()
    [[4, 2], [3, 1]]
    """
    both = int(co_correct[i, j])
    right_i, right_j = int(co_correct[i, i]), int(co_correct[j, j])
    return np.array(
        [[both, right_i - both], [right_j - both, n - right_i - right_j + both]], dtype=np.int64
    )


def _validate_mcnemar(table: Any, method: Any) -> np.ndarray:
    if method not in _METHODS:
        raise VarkitError(f"`method` must be one of {', '.join(_METHODS)}, got {method!r}.")
    array = np.asarray(table)
    if array.shape != (2, 2):
        raise VarkitError(f"`table` must be a 2x2 table of counts, got shape {array.shape}.")
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise VarkitTypeError("`table` must hold numbers (counts).")
    if not np.all(np.isfinite(array)) or np.any(array < 0) or np.any(array != np.round(array)):
        raise VarkitError("`table` must hold non-negative whole counts.")
    return array.astype(np.int64)


def _one_sided_pvalue(b: int, c: int, method: str, alternative: str) -> float:
    """P-value of ``b > c`` (``greater``: model 1 more accurate) or ``b < c`` (``less``)."""
    n = b + c
    if method in ("exact", "mid-p"):
        # the upper tail P(X >= b) for `greater`, the lower P(X <= b) for `less`
        tail = (
            stats.binom.sf(b - 1, n, 0.5)
            if alternative == "greater"
            else stats.binom.cdf(b, n, 0.5)
        )
        return float(tail - (0.5 * stats.binom.pmf(b, n, 0.5) if method == "mid-p" else 0.0))
    excess = abs(b - c) - (1 if method == "chi2-corrected" else 0)
    z = math.copysign(max(excess, 0), b - c) / math.sqrt(n)
    return float(stats.norm.sf(z) if alternative == "greater" else stats.norm.cdf(z))


def mcnemar(table: Any, *, method: str = "exact", alternative: str = "two-sided") -> Result:
    """McNemar's test that two models have the same error rate on one test set.

    Parameters
    ----------
    table : array-like of shape (2, 2)
        Counts in the layout of :func:`mcnemar_table`; only the discordant cells
        ``b = table[0, 1]`` and ``c = table[1, 0]`` enter the test.
    method : {'exact', 'mid-p', 'chi2', 'chi2-corrected'}
        ``exact``: two-sided binomial test of ``b`` out of ``b + c`` at 1/2.
        ``mid-p``: exact p minus the point probability (Fagerland, Lydersen & Laake 2013),
        closer to nominal size and still valid in their study.
        ``chi2``: ``(b - c)^2 / (b + c)`` on 1 df (Raschka 2018).
        ``chi2-corrected``: Edwards' ``(|b - c| - 1)^2 / (b + c)`` with the correction
        clipped at zero, so ``b = c`` gives 0 and p = 1 (statsmodels and mlxtend give
        ``1 / (b + c)``).
    alternative : {'two-sided', 'less', 'greater'}
        ``greater``: model 1 is more accurate (``b > c``); ``less``: it is less accurate.
        One-sided p-values are the binomial tail of ``b`` (mid-p: minus half the point
        probability) or, for the chi-square methods, the normal tail of the signed
        ``z = (b - c) / sqrt(b + c)`` (with the correction, ``|b - c| - 1`` for ``|b - c|``).

    Returns
    -------
    Result
        ``metric='mcnemar'``, ``estimate`` the accuracy difference ``(b - c) / n``
        (model 1 minus model 2), the statistic and two-sided p-value. When the models never
        disagree (``b + c = 0``) the statistic is 0 and p = 1 (mlxtend and statsmodels give
        p = 0 for the corrected chi-square there).

    References
    ----------
    Dietterich, T. G. (1998). Approximate statistical tests for comparing supervised
    classification learning algorithms. Neural Computation 10(7), 1895-1923.
    Fagerland, M. W., Lydersen, S. & Laake, P. (2013). The McNemar test for binary
    matched-pairs data: mid-p and asymptotic are better than exact conditional.
    BMC Medical Research Methodology 13, 91.

    Examples
    --------
    >>> r = mcnemar([[9945, 25], [15, 15]], method="chi2-corrected")
    >>> round(r.statistic, 4), round(r.pvalue, 4)
    (2.025, 0.1547)
    >>> mcnemar([[10, 0], [0, 5]]).pvalue
    1.0
    >>> round(mcnemar([[50, 9], [2, 39]], alternative="greater").pvalue, 4)  # P(X >= 9 | 11)
    0.0327
    """
    counts = _validate_mcnemar(table, method)
    alternative = check_alternative(alternative)
    b, c = int(counts[0, 1]), int(counts[1, 0])
    n = int(counts.sum())
    discordant = b + c
    df: tuple[float, ...] | None = None
    if discordant == 0:
        statistic, pvalue = 0.0, 1.0
        df = (1.0,) if method.startswith("chi2") else None
    elif method in ("exact", "mid-p"):
        statistic = float(min(b, c))
        # binomtest's two-sided p at 1/2 is min(1, 2 P(X <= min(b, c))) by symmetry.
        pvalue = float(stats.binomtest(b, discordant, 0.5).pvalue)
        if method == "mid-p":
            # Fagerland et al. (2013): 2 P(X <= min) - P(X = min); equals 1 when b = c.
            pvalue = 2 * float(stats.binom.cdf(statistic, discordant, 0.5)) - float(
                stats.binom.pmf(statistic, discordant, 0.5)
            )
    else:
        excess = abs(b - c)
        if method == "chi2-corrected":
            excess = max(excess - 1, 0)
        statistic = excess**2 / discordant
        df = (1.0,)
        pvalue = float(stats.chi2.sf(statistic, 1))
    if discordant and alternative != "two-sided":
        pvalue = _one_sided_pvalue(b, c, method, alternative)
    return Result(
        metric="mcnemar",
        estimate=(b - c) / n if n else 0.0,
        method=f"mcnemar-{method}",
        n=n,
        statistic=statistic,
        pvalue=min(max(pvalue, 0.0), 1.0),
        df=df,
        alternative=alternative,
        details={
            "b": b,
            "c": c,
            "table": counts,
            "n_discordant": discordant,
            **(
                {"note": "the models never disagree (b = c = 0): no evidence, statistic 0, p = 1"}
                if discordant == 0
                else {}
            ),
        },
    )
