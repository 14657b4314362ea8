"""Bootstrap estimates of prediction error: out-of-bag, .632 and .632+ (Efron & Tibshirani 1997)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone, is_classifier
from sklearn.utils import _safe_indexing

from varkit.checks import check_confidence
from varkit.errors import VarkitError, VarkitTypeError
from varkit.evaluate._bounded import bounded_mean_interval
from varkit.evaluate._fitting import check_xy, seed_estimators
from varkit.evaluate._inputs import check_count
from varkit.gpu.splits import seeds
from varkit.progress import tracked
from varkit.results import Result

__all__ = ["bootstrap_632_score", "combine_632", "no_information_rate"]

_METHODS = ("oob", ".632", ".632+")
_LOSSES = ("auto", "zero-one", "squared")


def _loss(kind: str, y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    if kind == "zero-one":
        return (y != pred).astype(float)
    return (y.astype(float) - pred.astype(float)) ** 2


def no_information_rate(y: Any, y_pred: Any, *, loss: str = "zero-one") -> float:
    """The no-information error rate gamma (Efron & Tibshirani 1997).

    ``gamma = (1/n^2) sum_i sum_j L(y_i, yhat_j)``: the loss when inputs and outputs are
    independent. For 0-1 loss it is ``sum_k p_k (1 - q_k)`` with ``p_k`` and ``q_k`` the
    class frequencies of y and of the predictions, O(n + K); for squared error
    it is ``mean(y^2) - 2 mean(y) mean(yhat) + mean(yhat^2)``, O(n). mlxtend builds all n^2
    pairs.

    Examples
    --------
    >>> no_information_rate([0, 0, 1, 1], [0, 1, 1, 1])
    0.5
    >>> no_information_rate([0, 0, 0, 1], [0, 0, 0, 0])
    0.25
    """
    y_arr, pred = np.asarray(y), np.asarray(y_pred)
    if loss == "squared":
        yf, pf = y_arr.astype(float), pred.astype(float)
        return float(np.mean(yf**2) - 2 * yf.mean() * pf.mean() + np.mean(pf**2))
    _, codes = np.unique(np.concatenate([y_arr, pred]), return_inverse=True)
    n_classes = int(codes.max()) + 1
    p = np.bincount(codes[: y_arr.size], minlength=n_classes) / y_arr.size
    q = np.bincount(codes[y_arr.size :], minlength=n_classes) / pred.size
    return float(np.sum(p * (1.0 - q)))


def combine_632(
    err_bar: float, err1: float, gamma: float, method: str
) -> tuple[float, float, float]:
    """Estimate, weight of ``Err1`` and clipped ``R'`` from the three error rates.

    Efron & Tibshirani (1997): ``Err1' = min(Err1, gamma)``;
    ``R' = (Err1' - err) / (gamma - err)`` when ``Err1' > err`` and ``gamma > err``, else 0;
    ``w = .632 / (1 - .368 R')``; ``Err.632+ = (1 - w) err + w Err1'``. This equals the
    paper's .632+ formula whenever ``Err1 <= gamma``; when ``Err1 > gamma`` it gives
    ``gamma`` (R' = 1), the cap the paper intends, where that formula read literally mixes
    the uncapped ``Err1`` into ``Err.632`` and can exceed ``gamma``.

    Examples
    --------
    >>> [round(v, 4) for v in combine_632(0.0, 0.2, 0.5, ".632+")]
    [0.1482, 0.7411, 0.4]
    """
    if method == "oob":
        return err1, 1.0, 0.0
    if method == ".632":
        return 0.368 * err_bar + 0.632 * err1, 0.632, 0.0
    err1_capped = min(err1, gamma)
    if err1_capped > err_bar and gamma > err_bar:
        relative = min(max((err1_capped - err_bar) / (gamma - err_bar), 0.0), 1.0)
    else:
        relative = 0.0
    weight = 0.632 / (1.0 - 0.368 * relative)
    return (1.0 - weight) * err_bar + weight * err1_capped, weight, relative


def _oob_losses(
    estimator: Any, X: Any, y: np.ndarray, seed: int, loss: str
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = y.size
    train = rng.integers(0, n, size=n)
    in_bag = np.zeros(n, dtype=bool)
    in_bag[train] = True
    oob = np.flatnonzero(~in_bag)
    if oob.size == 0:
        return oob, np.empty(0)
    y_train = y[train]
    fitted = clone(estimator).fit(_safe_indexing(X, train), y_train)
    pred = np.asarray(fitted.predict(_safe_indexing(X, oob)))
    return oob, _loss(loss, y[oob], pred)


def _validate_632(
    estimator: Any, X: Any, y: Any, method: Any, n_splits: Any, loss: Any, confidence: Any
) -> tuple[Any, np.ndarray, str, int, str, float]:
    if not hasattr(estimator, "fit") or not hasattr(estimator, "predict"):
        raise VarkitTypeError("`estimator` must be a scikit-learn estimator with fit and predict.")
    if method not in _METHODS:
        raise VarkitError(f"`method` must be one of {', '.join(_METHODS)}, got {method!r}.")
    if loss not in _LOSSES:
        raise VarkitError(f"`loss` must be one of {', '.join(_LOSSES)}, got {loss!r}.")
    X, y_arr, _ = check_xy(X, y)
    kind = ("zero-one" if is_classifier(estimator) else "squared") if loss == "auto" else loss
    if kind == "zero-one" and np.unique(y_arr).size < 2:
        raise VarkitError("`y` holds a single class; need at least two.")
    return (
        X,
        y_arr,
        str(method),
        check_count("n_splits", n_splits, minimum=2),
        kind,
        check_confidence(confidence),
    )


def bootstrap_632_score(
    estimator: Any,
    X: Any,
    y: Any,
    *,
    method: str = ".632+",
    n_splits: int = 200,
    loss: str = "auto",
    confidence: float = 0.95,
    random_state: Any = None,
    n_jobs: int | None = None,
) -> Result:
    """Out-of-bag, .632 or .632+ bootstrap estimate of a model's prediction error.

    Parameters
    ----------
    estimator : scikit-learn estimator
        Unfitted model; cloned for the full-data fit and for every bootstrap sample.
    X, y : array-like
        Data.
    method : {'.632+', '.632', 'oob'}
        Estimator of Efron & Tibshirani (1997): ``oob`` is the leave-one-out bootstrap
        ``Err^(1)``, ``.632`` is ``.368 err + .632 Err^(1)`` and
        ``.632+`` is their .632+ rule.
    n_splits : int
        Number of bootstrap samples B.
    loss : {'auto', 'zero-one', 'squared'}
        0-1 loss (classifiers, the default for them) or squared error (regressors).
    confidence : float
        Level of the (approximate, normal) interval.
    random_state : None, int or numpy Generator
        Seed of the bootstrap samples.
    n_jobs : int or None
        Parallel model fits (joblib).

    Returns
    -------
    Result
        ``metric='error_rate'`` (0-1 loss) or ``'mse'``; ``details`` hold ``err_bar``
        (apparent error of the full-data fit), ``err1``, the no-information rate ``gamma``,
        the relative overfitting rate ``R`` and the weight ``w``.

    Notes
    -----
    Efron & Tibshirani (1997), with ``err`` the apparent error of the model fit on all
    the data, ``Err^(1) = (1/n) sum_i (sum_b I_i^b Q_i^b / sum_b I_i^b)`` (the average,
    over examples, of the loss of the models whose bootstrap sample left that example
    out), ``gamma`` the no-information rate (:func:`no_information_rate`)::

        Err1' = min(Err1, gamma)
        R'    = (Err1' - err) / (gamma - err) if Err1' > err and gamma > err, else 0
        w     = .632 / (1 - .368 R'),   Err.632+ = (1 - w) err + w Err1'

    so R' lies in [0, 1], the weight in [.632, 1] and the estimate below gamma when the
    apparent error is (see :func:`combine_632`). mlxtend differs: it averages per-round
    scores, uses each bootstrap model's error on all rows as the "training error",
    neither caps Err1 nor clips R, and builds the no-information rate from n^2 pairs.
    Examples never left out (probability about ``0.368^B``) are excluded and counted in
    ``details``.

    The interval is approximate: ``estimate +- z SE`` with ``SE = sd(c_i) / sqrt(n)`` over
    the per-example terms ``c_i = (1 - w) err_i + w E_i`` (apparent loss ``err_i``,
    leave-one-out bootstrap loss ``E_i``, ``w`` the weight of ``Err1``), treated as
    independent. In simulation (Gaussian naive Bayes, two Gaussian classes, n = 100) it
    covered the expected error 94 % of the time at 95 %. It does not account for the
    estimator's bias: for 1-nearest-neighbour, where .632 and .632+ are biased down, it
    under-covers badly (48 % for .632+ in the same simulation).

    References
    ----------
    Efron, B. & Tibshirani, R. (1997). Improvements on cross-validation: the .632+
    bootstrap method. Journal of the American Statistical Association 92(438), 548-560.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.naive_bayes import GaussianNB
    >>> X, y = load_iris(return_X_y=True)
    >>> r = bootstrap_632_score(GaussianNB(), X, y, n_splits=50, random_state=0)
    >>> r.metric, 0.0 < r.estimate < 0.1, r.ci_low < r.estimate < r.ci_high
    ('error_rate', True, True)
    """
    X, y_arr, method, n_splits, kind, confidence = _validate_632(
        estimator, X, y, method, n_splits, loss, confidence
    )
    n = y_arr.size
    # a random model is refitted with seeds drawn from random_state (reproducible)
    (estimator,) = seed_estimators([estimator], random_state)
    full = clone(estimator).fit(X, y_arr)
    full_pred = np.asarray(full.predict(X))
    err_bar = float(_loss(kind, y_arr, full_pred).mean())
    gamma = no_information_rate(y_arr, full_pred, loss=kind)

    tasks = [
        delayed(_oob_losses)(estimator, X, y_arr, seed, kind)
        for seed in seeds(random_state, n_splits)
    ]
    loss_sum = np.zeros(n)
    count = np.zeros(n)
    fits = Parallel(n_jobs=n_jobs, return_as="generator")(tasks)
    for oob, losses in tracked(fits, len(tasks), "bootstrap fits"):
        np.add.at(loss_sum, oob, losses)
        count[oob] += 1
    used = count > 0
    per_example = loss_sum[used] / count[used]
    err1 = float(per_example.mean())

    estimate, weight, relative = combine_632(err_bar, err1, gamma, method)
    # The estimate is (nearly) a mean over examples of (1 - w) apparent_i + w E_i; its
    # spread over examples gives the standard error (scaling sd(E_i) by w alone gave 73 %
    # coverage in simulation, this 94 %).
    apparent = _loss(kind, y_arr, full_pred)[used]
    composite = (1.0 - weight) * apparent + weight * per_example
    se = float(composite.std(ddof=1)) / math.sqrt(per_example.size)
    # An error rate lies in [0, 1]: a normal interval on the logit scale, and an exact
    # (Clopper-Pearson) one when every error is 0 (a perfect fit) or 1; an MSE is >= 0.
    low, high, interval = bounded_mean_interval(
        estimate,
        se,
        math.inf,
        confidence,
        (0.0, 1.0) if kind == "zero-one" else (0.0, math.inf),
        n_rows=int(used.sum()),
    )
    return Result(
        metric="error_rate" if kind == "zero-one" else "mse",
        estimate=estimate,
        ci_low=low,
        ci_high=high,
        confidence=confidence,
        method={"oob": "bootstrap-oob", ".632": "bootstrap-632", ".632+": "bootstrap-632+"}[method],
        n=n,
        stderr=se,
        details={
            "err_bar": err_bar,
            "err1": err1,
            "gamma": gamma,
            "R": relative,
            "weight": weight,
            "n_splits": n_splits,
            "loss": kind,
            "excluded_rows": {"never_out_of_bag": int(n - used.sum())},
            **interval,
        },
    )
