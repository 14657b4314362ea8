"""Looney's F-test: do L classifiers have the same accuracy on one test set?"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

from varkit.evaluate._inputs import check_predictions, correct_matrix
from varkit.results import Result

__all__ = ["ftest"]


def ftest(y_true: Any, *y_preds: Any, names: Sequence[str] | None = None) -> Result:
    """Looney's F-test of equal accuracy of L >= 2 models on the same test examples.

    Parameters
    ----------
    y_true, *y_preds, names
        As in :func:`~varkit.evaluate.cochrans_q`: the true labels, the predicted labels
        of each model (at least two) and optional model names for ``details``.

    Returns
    -------
    Result
        ``metric='ftest'``, ``estimate`` and ``statistic`` F, ``df=(L - 1, (L - 1)(n - 1))``.

    Notes
    -----
    Looney (1988) via Raschka (2018): a two-way (models x examples) ANOVA of the
    0/1 correctness matrix, with ``ACC`` the mean accuracy and ``L_i`` the number of models
    right on example i::

        SSA  = n sum_j ACC_j^2 - n L ACC^2
        SSB  = (1 / L) sum_i L_i^2 - L n ACC^2
        SST  = L n ACC (1 - ACC),   SSAB = SST - SSA - SSB
        F    = [SSA / (L - 1)] / [SSAB / ((L - 1)(n - 1))]

    The p-value uses the same denominator degrees of freedom ``(L - 1)(n - 1)`` as the
    statistic (mlxtend uses ``(L - 1) n`` in the p-value). O(n L): ``sum_i L_i^2`` comes
    from row sums, not from the 2^L patterns mlxtend enumerates. When ``SSAB = 0``, F is
    0 with p = 1 if the accuracies are equal too, else infinite with p = 0.

    References
    ----------
    Looney, S. W. (1988). A statistical technique for comparing the accuracies of several
    classifiers. Pattern Recognition Letters 8(1), 5-9.

    Examples
    --------
    >>> y = [0, 1, 1, 0, 1, 0, 1, 1, 0, 0]
    >>> r = ftest(y, [0, 1, 1, 0, 1, 0, 1, 0, 0, 1],
    ...              [1, 1, 0, 0, 1, 1, 1, 1, 0, 0],
    ...              [0, 1, 1, 0, 1, 0, 1, 1, 0, 0])
    >>> round(r.statistic, 4), r.df
    (1.4651, (2.0, 18.0))
    """
    truth, preds, labels = check_predictions(y_true, y_preds, min_models=2, names=names)
    correct = correct_matrix(truth, preds).astype(np.int64)
    n, n_models = correct.shape
    accuracy = correct.mean(axis=0)
    mean_acc = float(accuracy.mean())
    ssa = n * float(np.sum(accuracy**2)) - n * n_models * mean_acc**2
    ssb = float(np.sum(correct.sum(axis=1) ** 2)) / n_models - n_models * n * mean_acc**2
    sst = n_models * n * mean_acc * (1.0 - mean_acc)
    ssab = sst - ssa - ssb
    df1, df2 = n_models - 1, (n_models - 1) * (n - 1)
    # Sums of squares of 0/1 data: round-off below 1e-12 of max(SST, 1) is zero.
    tol = 1e-12 * max(sst, 1.0)
    ssa = 0.0 if abs(ssa) < tol else ssa
    ssab = 0.0 if abs(ssab) < tol else ssab
    extra: dict[str, str] = {}
    if ssab == 0.0 or df2 == 0:
        f, pvalue = (0.0, 1.0) if ssa == 0.0 else (float("inf"), 0.0)
        extra["note"] = "no interaction variance (SSAB = 0): " + (
            "equal accuracies, F = 0, p = 1" if ssa == 0.0 else "F is infinite, p = 0"
        )
    else:
        f = (ssa / df1) / (ssab / df2)
        pvalue = float(stats.f.sf(f, df1, df2))
    return Result(
        metric="ftest",
        estimate=f,
        method="looney-f",
        n=n,
        statistic=f,
        pvalue=pvalue,
        df=(float(df1), float(df2)),
        details={
            "models": labels,
            "accuracy": {name: float(a) for name, a in zip(labels, accuracy, strict=True)},
            "ssa": ssa,
            "ssb": ssb,
            "ssab": ssab,
            **extra,
        },
    )
