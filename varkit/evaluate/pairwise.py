"""The pairwise comparison of models on one test set from its counts.

Accuracies, McNemar tables and Cochran's Q are functions of the co-correct counts of a
test set, which add over its parts; the in-memory comparison
(:func:`varkit.evaluate.compare_predictions`) and the partitioned one
(:mod:`varkit.evaluate.logs`) share everything after the sums.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from varkit.evaluate.cochran import cochrans_q_from_counts
from varkit.evaluate.mcnemar import mcnemar, pair_table
from varkit.evaluate.multiple import adjust_pvalues
from varkit.evaluate.proportion import proportion_ci
from varkit.results import Result, ResultSet

__all__ = ["compare_from_counts", "model_pairs"]


def model_pairs(names: Sequence[str]) -> list[tuple[int, int]]:
    """The pairs ``(i, j)``, ``i < j``, in the order the comparison reports them."""
    return [(i, j) for i in range(len(names)) for j in range(i + 1, len(names))]


def compare_from_counts(
    co_correct: np.ndarray,
    n: int,
    names: Sequence[str],
    differences: Sequence[Result],
    *,
    interval: str = "wilson",
    mcnemar_method: str = "exact",
    correction: str = "holm",
    confidence: float = 0.95,
    alternative: str = "two-sided",
) -> ResultSet:
    """The results of :func:`compare_predictions` from the counts of a test set.

    ``co_correct`` (L, L) counts the examples each pair of models both get right (the
    diagonal: each model's correct count; :func:`varkit.evaluate._inputs.co_correct`),
    ``differences`` holds one paired-bootstrap result per pair of :func:`model_pairs`.
    Accuracies, McNemar tables and Cochran's Q are functions of these counts, which
    add over the parts of a partitioned test set (``varkit.engine``), so the in-memory
    and partitioned comparisons share everything after the sums. ``alternative`` is that
    of each pair's McNemar test (``greater``: the pair's first model is more accurate).

    Examples
    --------
    >>> import numpy as np
    >>> rs = compare_from_counts(np.array([[8, 6], [6, 7]]), 10, ["a", "b"], [])
    >>> [r.metric for r in rs], rs[2].details["table"]
    (['accuracy', 'accuracy', 'mcnemar'], [[6, 2], [1, 1]])
    """
    labels = [str(name) for name in names]
    results: list[Result] = []
    for j, name in enumerate(labels):
        acc = proportion_ci(int(co_correct[j, j]), n, method=interval, confidence=confidence)
        results.append(acc.replace(group={"model": name}))
    tests: list[Result] = []
    for i, j in model_pairs(labels):
        group = {
            "comparison": f"{labels[i]}-{labels[j]}",
            "model_1": labels[i],
            "model_2": labels[j],
        }
        tests.append(
            mcnemar(
                pair_table(co_correct, i, j, n), method=mcnemar_method, alternative=alternative
            ).replace(group=group)
        )
    adjusted = list(adjust_pvalues(tests, method=correction))
    for k, test in enumerate(adjusted):
        results.append(test)
        if k < len(differences):
            results.append(differences[k])
    if len(labels) >= 3:
        results.append(cochrans_q_from_counts(co_correct, n, labels))
    return ResultSet(tuple(results), {"function": "varkit.evaluate.compare_predictions"})
