"""Compare several models' predictions on one test set: the `evaluate compare` workflow."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from varkit.evaluate._inputs import check_predictions, correct_matrix
from varkit.evaluate.bootstrap_metrics import paired_bootstrap_difference
from varkit.evaluate.cochran import cochrans_q
from varkit.evaluate.mcnemar import _table, mcnemar
from varkit.evaluate.multiple import adjust_pvalues
from varkit.evaluate.proportion import proportion_ci
from varkit.results import Result, ResultSet

__all__ = ["compare_predictions"]


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
        raise TypeError("`predictions` must map model names to predicted labels.")
    names = [str(k) for k in predictions]
    truth, preds, names = check_predictions(
        y_true, list(predictions.values()), min_models=2, names=names
    )
    correct = correct_matrix(truth, preds)
    n = truth.size
    results: list[Result] = []
    for j, name in enumerate(names):
        acc = proportion_ci(int(correct[:, j].sum()), n, method=interval, confidence=confidence)
        results.append(acc.replace(group={"model": name}))
    tests: list[Result] = []
    differences: list[Result] = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            group = {
                "comparison": f"{names[i]}-{names[j]}",
                "model_1": names[i],
                "model_2": names[j],
            }
            tests.append(
                mcnemar(_table(correct[:, [i, j]]), method=mcnemar_method).replace(group=group)
            )
            differences.append(
                paired_bootstrap_difference(
                    truth,
                    preds[i],
                    preds[j],
                    names=(names[i], names[j]),
                    n_resamples=n_resamples,
                    confidence=confidence,
                    random_state=random_state,
                    device=device,
                )
            )
    adjusted = list(adjust_pvalues(tests, method=correction))
    for test, diff in zip(adjusted, differences, strict=True):
        results.extend([test, diff])
    if len(names) >= 3:
        results.append(cochrans_q(truth, *preds, names=names))
    return ResultSet(tuple(results), {"function": "varkit.evaluate.compare_predictions"})
