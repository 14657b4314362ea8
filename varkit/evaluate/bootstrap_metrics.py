"""Bootstrap intervals of a metric on one test set, and of the paired difference of two models.

Resampling runs on the shared engine :func:`varkit.gpu.bootstrap` (NumPy/numba or CuPy).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from varkit.evaluate._inputs import check_predictions, correct_matrix
from varkit.gpu import bootstrap
from varkit.results import Result

__all__ = ["bootstrap_metric", "paired_bootstrap_difference"]


def _metric_name(metric: Any) -> str:
    if metric == "accuracy":
        return "accuracy"
    if not callable(metric):
        raise ValueError(
            f"`metric` must be 'accuracy' or a callable metric(y_true, y_pred), got {metric!r}."
        )
    return str(getattr(metric, "__name__", "metric"))


def _codes(y_true: np.ndarray, preds: list[np.ndarray]) -> list[np.ndarray]:
    """Labels as float codes, so that any label type goes through the engine."""
    _, inverse = np.unique(np.concatenate([y_true, *preds]), return_inverse=True)
    return [part.astype(float) for part in np.split(inverse, len(preds) + 1)]


def bootstrap_metric(
    y_true: Any,
    y_pred: Any,
    *,
    metric: str | Callable[[Any, Any], float] = "accuracy",
    n_resamples: int = 9999,
    method: str = "bca",
    confidence: float = 0.95,
    random_state: Any = None,
    device: str = "auto",
) -> Result:
    """Bootstrap interval of a metric of one model's predictions on a test set.

    ``metric='accuracy'`` takes the engine's fast path (the mean of the 0/1 correctness
    vector); a callable ``metric(y_true, y_pred)`` is evaluated on index resamples and
    receives the labels as float codes ``0, 1, ...`` of the sorted labels (so ``pos_label=1``
    is the larger of two labels).

    Examples
    --------
    >>> y = [0, 1] * 50
    >>> p = [0, 1] * 40 + [1, 0] * 10
    >>> r = bootstrap_metric(y, p, n_resamples=2000, random_state=0, device="cpu")
    >>> r.estimate, bool(r.ci_low < 0.8 < r.ci_high)
    (0.8, True)
    """
    name = _metric_name(metric)
    truth, preds, _ = check_predictions(y_true, [y_pred], min_models=1)
    if metric == "accuracy":
        data = correct_matrix(truth, preds)[:, 0].astype(float)
        result = bootstrap(
            data,
            "mean",
            n_resamples=n_resamples,
            method=method,
            confidence=confidence,
            random_state=random_state,
            device=device,
        )
    else:
        func = metric  # type: ignore[assignment]
        labels = _codes(truth, preds)

        def statistic(yt: Any, yp: Any) -> float:
            return float(func(yt, yp))  # type: ignore[operator]

        statistic.__name__ = name
        result = bootstrap(
            tuple(labels),
            statistic,
            paired=True,
            n_resamples=n_resamples,
            method=method,
            confidence=confidence,
            random_state=random_state,
            device=device,
        )
    return result.replace(metric=name)


def paired_bootstrap_difference(
    y_true: Any,
    y_pred1: Any,
    y_pred2: Any,
    *,
    metric: str | Callable[[Any, Any], float] = "accuracy",
    names: tuple[str, str] = ("model_1", "model_2"),
    n_resamples: int = 9999,
    method: str = "bca",
    confidence: float = 0.95,
    random_state: Any = None,
    device: str = "auto",
) -> Result:
    """Paired bootstrap interval of ``metric(model 1) - metric(model 2)`` on one test set.

    Rows (test examples) are resampled together, so the correlation of the two models'
    errors is kept (Raschka 2018; Efron & Tibshirani 1993). For accuracy the
    difference is the mean of ``correct1 - correct2`` per row and takes the engine's fast
    path.

    Returns
    -------
    Result
        ``metric='<metric>_difference'``, ``group={'comparison': 'a-b', ...}``.

    Examples
    --------
    >>> y = [0, 1] * 100
    >>> p1 = [0, 1] * 90 + [1, 0] * 10
    >>> p2 = [0, 1] * 70 + [1, 0] * 30
    >>> r = paired_bootstrap_difference(y, p1, p2, n_resamples=2000, random_state=0,
    ...                                 device="cpu")
    >>> round(r.estimate, 2), bool(r.ci_low > 0)
    (0.2, True)
    """
    name = _metric_name(metric)
    truth, preds, labels = check_predictions(
        y_true, [y_pred1, y_pred2], min_models=2, names=list(names)
    )
    if metric == "accuracy":
        correct = correct_matrix(truth, preds).astype(float)
        result = bootstrap(
            correct[:, 0] - correct[:, 1],
            "mean",
            n_resamples=n_resamples,
            method=method,
            confidence=confidence,
            random_state=random_state,
            device=device,
        )
    else:
        func = metric
        coded = _codes(truth, preds)

        def statistic(yt: Any, a: Any, b: Any) -> float:
            return float(func(yt, a)) - float(func(yt, b))  # type: ignore[operator]

        result = bootstrap(
            tuple(coded),
            statistic,
            paired=True,
            n_resamples=n_resamples,
            method=method,
            confidence=confidence,
            random_state=random_state,
            device=device,
        )
    a, b = labels
    return result.replace(
        metric=f"{name}_difference",
        group={"comparison": f"{a}-{b}", "model_1": a, "model_2": b},
        details={**result.details, "paired": True},
    )
