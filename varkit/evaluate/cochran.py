"""Cochran's Q: do L classifiers have the same accuracy on one test set?"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

from varkit.evaluate._inputs import check_predictions, co_correct, correct_matrix
from varkit.results import Result

__all__ = ["cochrans_q", "cochrans_q_from_counts"]


def cochrans_q(y_true: Any, *y_preds: Any, names: Sequence[str] | None = None) -> Result:
    """Cochran's Q test of equal accuracy of L >= 2 models on the same test examples.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True labels.
    *y_preds : array-like of shape (n,)
        Predicted labels of each model (at least two).
    names : sequence of str, optional
        Model names for ``details`` (``model_1`` ... by default).

    Returns
    -------
    Result
        ``metric='cochrans_q'``, ``estimate`` and ``statistic`` Q, ``df=(L - 1,)``,
        p-value from the chi-square distribution, per-model accuracies in ``details``.

    Notes
    -----
    Raschka (2018), with ``G_j`` the number of examples model j gets right and
    ``L_i`` the number of models right on example i::

        Q = (L - 1) (L sum_j G_j^2 - T^2) / (L T - sum_i L_i^2),   T = sum_j G_j

    computed from the (n, L) correctness matrix in O(n L) (mlxtend enumerates all 2^L
    patterns). With two models Q equals McNemar's uncorrected chi-square. When every
    example is right for all models or wrong for all, the denominator is 0; the models are
    then indistinguishable on this test set and Q = 0, p = 1.

    Examples
    --------
    >>> y = [0, 1, 1, 0, 1, 0, 1, 1, 0, 0]
    >>> r = cochrans_q(y, [0, 1, 1, 0, 1, 0, 1, 0, 0, 1],
    ...                   [1, 1, 0, 0, 1, 1, 1, 1, 0, 0],
    ...                   [0, 1, 1, 0, 1, 0, 1, 1, 0, 0])
    >>> round(r.statistic, 4), round(r.pvalue, 4)
    (2.8, 0.2466)
    """
    truth, preds, labels = check_predictions(y_true, y_preds, min_models=2, names=names)
    return cochrans_q_from_counts(co_correct(correct_matrix(truth, preds)), truth.size, labels)


def cochrans_q_from_counts(co_correct: np.ndarray, n: int, names: Sequence[str]) -> Result:
    """Cochran's Q from the (L, L) co-correct counts of a test set of ``n`` examples.

    ``co_correct[j, k]`` counts the examples models j and k both get right (the
    diagonal: ``G_j``). Every sum in Q is a sum of these counts: ``T`` is the trace and
    ``sum_i L_i^2 = sum_i (sum_j c_ij)^2 = sum_{j,k} co_correct[j, k]``, so the counts of
    the parts of a partitioned test set add up to the same Q. :func:`cochrans_q` calls
    this function.

    Examples
    --------
    >>> r = cochrans_q_from_counts(np.array([[8, 5, 8], [5, 7, 7], [8, 7, 10]]), 10, "abc")
    >>> round(r.statistic, 4), round(r.pvalue, 4)
    (2.8, 0.2466)
    """
    counts = np.asarray(co_correct, dtype=np.int64)
    n_models = counts.shape[0]
    labels = [str(name) for name in names]
    per_model = np.diag(counts)
    total = int(per_model.sum())
    denominator = n_models * total - int(counts.sum())
    numerator = (n_models - 1) * (n_models * int(np.sum(per_model**2)) - total**2)
    extra: dict[str, str] = {}
    if denominator == 0:
        q, pvalue = 0.0, 1.0
        extra["note"] = "every example is right for all models or wrong for all: Q = 0, p = 1"
    else:
        q = numerator / denominator
        pvalue = float(stats.chi2.sf(q, n_models - 1))
    return Result(
        metric="cochrans_q",
        estimate=q,
        method="cochrans-q",
        n=n,
        statistic=q,
        pvalue=pvalue,
        df=(float(n_models - 1),),
        details={
            "models": labels,
            "accuracy": {name: float(g / n) for name, g in zip(labels, per_model, strict=True)},
            **extra,
        },
    )
