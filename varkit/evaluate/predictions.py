"""Compare several models' predictions on one test set: the `evaluate compare` workflow."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from varkit.errors import VarkitTypeError
from varkit.evaluate._inputs import check_predictions, co_correct, correct_matrix
from varkit.evaluate.bootstrap_metrics import paired_bootstrap_difference
from varkit.evaluate.cochran import cochrans_q_from_counts
from varkit.evaluate.mcnemar import mcnemar, pair_table
from varkit.evaluate.multiple import adjust_pvalues
from varkit.evaluate.proportion import proportion_ci
from varkit.results import Result, ResultSet

__all__ = ["compare_from_counts", "compare_predictions", "model_pairs"]


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
) -> ResultSet:
    """The results of :func:`compare_predictions` from the counts of a test set.

    ``co_correct`` (L, L) counts the examples each pair of models both get right (the
    diagonal: each model's correct count; :func:`varkit.evaluate._inputs.co_correct`),
    ``differences`` holds one paired-bootstrap result per pair of :func:`model_pairs`.
    Accuracies, McNemar tables and Cochran's Q are functions of these counts, which
    add over the parts of a partitioned test set (``varkit.engine``), so the in-memory
    and partitioned comparisons share everything after the sums.

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
            mcnemar(pair_table(co_correct, i, j, n), method=mcnemar_method).replace(group=group)
        )
    adjusted = list(adjust_pvalues(tests, method=correction))
    for k, test in enumerate(adjusted):
        results.append(test)
        if k < len(differences):
            results.append(differences[k])
    if len(labels) >= 3:
        results.append(cochrans_q_from_counts(co_correct, n, labels))
    return ResultSet(tuple(results), {"function": "varkit.evaluate.compare_predictions"})


def compare_predictions(
    y_true: Any,
    predictions: Mapping[str, Any],
    *,
    interval: str = "wilson",
    mcnemar_method: str = "exact",
    correction: str = "holm",
    n_resamples: int = 9999,
    confidence: float = 0.95,
    random_state: Any = None,
    device: str = "auto",
    scheme: str = "multinomial",
    row_ids: Any = None,
) -> ResultSet:
    """Accuracy of each model, pairwise McNemar tests and paired bootstrap differences.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True labels of the test set.
    predictions : mapping of str to array-like of shape (n,)
        Predicted labels of each model (at least two).
    interval : str
        Binomial interval of each accuracy (:func:`proportion_ci`).
    mcnemar_method : str
        Method of the pairwise McNemar tests (:func:`mcnemar`).
    correction : str
        Multiple-comparison adjustment of the pairwise McNemar p-values
        (:func:`adjust_pvalues`).
    n_resamples, confidence, random_state, device
        Paired bootstrap of each accuracy difference (BCa on the engine).
    scheme : {'multinomial', 'poisson'}
        Resampling of the paired bootstrap; ``poisson`` (with ``row_ids``, the log's
        stable row ids) gives the intervals of the partitioned comparison
        (:func:`varkit.evaluate.logs.compare_log`, ``varkit evaluate compare --engine dask``).
    row_ids : array-like of int, optional
        Non-negative row ids keying the Poisson weights (default: positions 0..n-1).

    Returns
    -------
    ResultSet
        ``accuracy`` per model; per pair ``mcnemar`` (adjusted p-value, raw in details) and
        ``accuracy_difference`` (paired bootstrap interval); ``cochrans_q`` over all models
        when there are three or more.

    Examples
    --------
    >>> from varkit.datasets.evaluate import load_predictions_example
    >>> log = load_predictions_example()
    >>> rs = compare_predictions(log["y_true"], {m: log[m] for m in ("forest", "baseline")},
    ...                          n_resamples=999, random_state=0, device="cpu")
    >>> [r.metric for r in rs]
    ['accuracy', 'accuracy', 'mcnemar', 'accuracy_difference']
    """
    if not isinstance(predictions, Mapping):
        raise VarkitTypeError("`predictions` must map model names to predicted labels.")
    names = [str(k) for k in predictions]
    truth, preds, names = check_predictions(
        y_true, list(predictions.values()), min_models=2, names=names
    )
    correct = correct_matrix(truth, preds)
    differences = [
        paired_bootstrap_difference(
            truth,
            preds[i],
            preds[j],
            names=(names[i], names[j]),
            n_resamples=n_resamples,
            confidence=confidence,
            random_state=random_state,
            device=device,
            scheme=scheme,
            row_ids=row_ids,
        )
        for i, j in model_pairs(names)
    ]
    return compare_from_counts(
        co_correct(correct),
        truth.size,
        names,
        differences,
        interval=interval,
        mcnemar_method=mcnemar_method,
        correction=correction,
        confidence=confidence,
    )
