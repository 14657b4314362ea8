"""Bootstrap intervals of a metric on one test set, and of the paired difference of two models.

Resampling runs on the shared engine :func:`varkit.gpu.bootstrap` (NumPy/numba or CuPy).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from varkit.errors import VarkitError
from varkit.evaluate._inputs import check_predictions, correct_matrix
from varkit.gpu import BootstrapOptions, bootstrap, bootstrap_result, check_bootstrap_options
from varkit.gpu.intervals import acceleration_from_moments
from varkit.results import Result

__all__ = [
    "accuracy_difference_from_sums",
    "bootstrap_metric",
    "paired_bootstrap_difference",
    "poisson_options",
]


def _metric_name(metric: Any) -> str:
    if metric == "accuracy":
        return "accuracy"
    if not callable(metric):
        raise VarkitError(
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
    truth, preds, _ = check_predictions(
        y_true, [y_pred], min_models=1, label_checks=metric != "accuracy"
    )
    settings = dict(locals())
    result = _bootstrap_models(truth, preds, metric, statistic_name=name, settings=settings)
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
    scheme: str = "multinomial",
    row_ids: Any = None,
) -> Result:
    """Paired bootstrap interval of ``metric(model 1) - metric(model 2)`` on one test set.

    Rows (test examples) are resampled together, so the correlation of the two models'
    errors is kept (Raschka 2018; Efron & Tibshirani 1993). For accuracy the
    difference is the mean of ``correct1 - correct2`` per row and takes the engine's fast
    path. ``scheme`` and ``row_ids`` are those of :func:`varkit.gpu.bootstrap`
    (``scheme='poisson'`` with the log's row ids gives the interval of the partitioned
    ``varkit evaluate compare --engine dask``; accuracy only).

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
        y_true,
        [y_pred1, y_pred2],
        min_models=2,
        names=list(names),
        label_checks=metric != "accuracy",
    )
    settings = dict(locals())
    result = _bootstrap_models(truth, preds, metric, statistic_name="statistic", settings=settings)
    return _as_difference(result, name, labels[0], labels[1])


_ENGINE_SETTINGS = ("n_resamples", "method", "confidence", "random_state", "device")


def _bootstrap_models(
    truth: np.ndarray,
    preds: list[np.ndarray],
    metric: Any,
    *,
    statistic_name: str,
    settings: dict[str, Any],
) -> Result:
    """The engine's bootstrap of one model's metric, or of the difference of two models'.

    Accuracy takes the fast path (the mean of the 0/1 correctness, or of its paired
    difference); a callable metric is evaluated on index resamples of the label codes.
    ``settings`` holds the public keywords (``scheme`` and ``row_ids`` where given; the
    row ids key the Poisson weights of accuracy only).
    """
    engine = {k: settings[k] for k in _ENGINE_SETTINGS}
    engine["scheme"] = settings.get("scheme", "multinomial")
    if metric == "accuracy":
        correct = correct_matrix(truth, preds).astype(float)
        data = correct[:, 0] if len(preds) == 1 else correct[:, 0] - correct[:, 1]
        return bootstrap(data, "mean", row_ids=settings.get("row_ids"), **engine)

    def statistic(yt: Any, *predicted: Any) -> float:
        values = [float(metric(yt, p)) for p in predicted]
        return values[0] if len(values) == 1 else values[0] - values[1]

    statistic.__name__ = statistic_name
    return bootstrap(tuple(_codes(truth, preds)), statistic, paired=True, **engine)


def _as_difference(result: Result, name: str, a: str, b: str) -> Result:
    return result.replace(
        metric=f"{name}_difference",
        group={"comparison": f"{a}-{b}", "model_1": a, "model_2": b},
        details={**result.details, "paired": True},
    )


def poisson_options(
    n_resamples: Any, confidence: Any, random_state: Any, device: Any
) -> BootstrapOptions:
    """The checked settings of the Poisson bootstrap of an accuracy difference from sums.

    :func:`~varkit.evaluate.logs.compare_log` draws the sums' weights with them and
    :func:`accuracy_difference_from_sums` builds the interval with them, so both check here.

    Examples
    --------
    >>> opts = poisson_options(500, 0.9, 7, "cpu")
    >>> opts.scheme, opts.method, opts.n_resamples, opts.seed
    ('poisson', 'bca', 500, 7)
    """
    return check_bootstrap_options(
        n_resamples=n_resamples,
        confidence=confidence,
        scheme="poisson",
        device=device,
        random_state=random_state,
    )


def accuracy_difference_from_sums(
    sums: np.ndarray,
    table: np.ndarray,
    *,
    names: tuple[str, str] = ("model_1", "model_2"),
    n_resamples: int,
    confidence: float = 0.95,
    random_state: Any = None,
    device: str = "auto",
    details: dict[str, Any] | None = None,
) -> Result:
    """The Poisson-bootstrap BCa interval of an accuracy difference from sums over rows.

    The finish of :func:`paired_bootstrap_difference` with ``scheme='poisson'`` when the
    sums come from elsewhere (the partitions of a log, added).

    Parameters
    ----------
    sums : ndarray, shape (B, 3)
        Per replicate ``b``: ``sum_i w_ib c_i1``, ``sum_i w_ib c_i2`` and ``sum_i w_ib``,
        with ``c_ij`` model j's 0/1 correctness on row i and ``w_ib`` the engine's Poisson
        weight keyed on (seed, row id, b).
    table : ndarray, shape (2, 2)
        The McNemar table (:func:`~varkit.evaluate.mcnemar_table`) of the two models.

    Returns
    -------
    Result
        As :func:`paired_bootstrap_difference` (``scheme='poisson'``).

    Notes
    -----
    The replicate ``(S_1 - S_2) / S_w`` is the engine's mean of ``d_i = c_i1 - c_i2``
    under the weights; every sum is a whole number, so it is bit-identical to the
    engine's, in any summation order. The closed-form jackknife of the mean takes three
    values, ``(D - d) / (n - 1)`` for ``d`` in {1, -1, 0} on ``b``, ``c`` and
    ``n - b - c`` rows (``D = b - c``, the table's discordant cells), so BCa's
    acceleration comes from the table's mergeable moments
    (:func:`varkit.gpu.intervals.acceleration_from_moments`; Efron & Tibshirani 1993,
    Eq. 14.15) and needs no second pass.

    Examples
    --------
    >>> import numpy as np
    >>> from varkit.gpu import counter_rng as crng
    >>> y = np.array([0, 1] * 100)
    >>> p1, p2 = np.array([0, 1] * 90 + [1, 0] * 10), np.array([0, 1] * 70 + [1, 0] * 30)
    >>> c = np.column_stack([p1 == y, p2 == y, np.ones(200)]).astype(float)
    >>> w = crng.poisson_weights(crng.replicate_keys(7, 0, 500), crng.unit_offsets(
    ...     np.arange(200, dtype=np.uint64)))
    >>> table = np.array([[140, 40], [0, 20]])
    >>> r = accuracy_difference_from_sums(w @ c, table, n_resamples=500, random_state=7,
    ...                                   device="cpu")
    >>> m = paired_bootstrap_difference(y, p1, p2, n_resamples=500, random_state=7,
    ...                                 device="cpu", scheme="poisson")
    >>> bool(np.allclose([r.ci_low, r.ci_high], [m.ci_low, m.ci_high], rtol=1e-12))
    True
    """
    opts = poisson_options(n_resamples, confidence, random_state, device)
    sums = np.asarray(sums, dtype=np.float64)
    if sums.shape != (opts.n_resamples, 3):
        raise VarkitError(f"`sums` must have shape ({opts.n_resamples}, 3), got {sums.shape}.")
    counts = np.asarray(table, dtype=np.int64)
    b, c, n = int(counts[0, 1]), int(counts[1, 0]), int(counts.sum())
    estimate = (b - c) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        replicates = (sums[:, 0] - sums[:, 1]) / sums[:, 2]
        values = (b - c - np.array([1.0, -1.0, 0.0])) / (n - 1)
    weights = np.array([b, c, n - b - c], dtype=np.float64)
    keep = np.isfinite(values) & (weights > 0)
    dev = values[keep] - estimate
    w = weights[keep]
    moments = np.array([w.sum(), w @ dev, w @ dev**2, w @ dev**3])
    result = bootstrap_result(
        replicates,
        name="mean",
        estimate=estimate,
        options=opts,
        n_units=n,
        details={"n_rows": n, **(details or {})},
        acceleration=acceleration_from_moments([moments]),
    )
    return _as_difference(result, "accuracy", str(names[0]), str(names[1]))
