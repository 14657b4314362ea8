"""Regression control variates, fitted on the same tests or cross-fitted.

A control variate ``h(x)`` has a known mean ``m`` under the distribution the tests were
drawn from; ``Z - beta^T (h - m)`` keeps the mean of ``Z`` and, for a good ``beta``, has a
smaller variance. The estimate is the intercept of the regression of ``Z`` on ``h - m``
("regression sampling"; Owen, *Monte Carlo theory, methods and examples*, 2013, Sec. 8.9,
Eq. 8.34). Fitting ``beta`` on the tests it adjusts biases the estimate by O(1/n), which is
not negligible when crashes are rare; cross-fitting (coefficients for one fold fitted on
the other folds) removes that bias because ``E[h - m] = 0`` for every fold whatever its
``beta``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.linear_model import LassoCV, RidgeCV

from varkit.cav._checks import (
    FloatArray,
    as_control_means,
    as_controls,
    as_vector,
    as_weight,
    check_magnitude,
    is_integer,
)
from varkit.cav.estimators import rate_edges, sums_result
from varkit.cav.moments import (
    Cells,
    cell_moments,
    fit_folds,
    fold_ids,
    screen_controls,
    total,
    training_shortfall,
)
from varkit.checks import check_confidence, resolve_seed
from varkit.errors import VarkitError, VarkitTypeError
from varkit.results import Result

__all__ = ["FITS", "control_variate_estimate"]

#: How control-variate coefficients are fitted: least squares, ridge or lasso.
FITS = ("ols", "ridge", "lasso")


def check_fit(fit: Any) -> str:
    if fit not in FITS:
        raise VarkitError(f"`fit` must be one of {', '.join(FITS)}, got {fit!r}.")
    return str(fit)


def check_crossfit(crossfit: Any) -> int | None:
    """``None`` means same-sample fitting; otherwise an integer number of folds >= 2."""
    if crossfit is None:
        return None
    if not is_integer(crossfit):
        raise VarkitTypeError("`crossfit` must be an integer number of folds (>= 2) or None.")
    if crossfit < 2:
        raise VarkitError(f"`crossfit` must be at least 2 folds (or None), got {crossfit}.")
    return int(crossfit)


def check_folds_fit(crossfit: int | None, n: int) -> None:
    """More cross-fitting folds than tests is an error (most folds would be empty)."""
    if crossfit is not None and crossfit > n:
        raise VarkitError(
            f"`crossfit` asks for {crossfit} folds but there are only {n} tests; use at most "
            f"{n} folds (2 to 10 is usual)."
        )


def fold_seed(random_state: Any) -> int:
    """The integer seed of the fold assignment from None, an int or a Generator."""
    if isinstance(random_state, np.random.Generator) or random_state is None:
        return resolve_seed(random_state)
    if is_integer(random_state):
        return resolve_seed(int(random_state))
    raise VarkitTypeError("`random_state` must be None, an integer or a numpy Generator.")


def as_row_ids(row_ids: Any, n: int) -> NDArray[np.uint64]:
    """Row ids keying the folds: ``0..n-1`` by default, else n distinct non-negative ints."""
    if row_ids is None:
        return np.arange(n, dtype=np.uint64)
    ids = np.asarray(row_ids)
    if ids.shape != (n,):
        raise VarkitError(f"`row_ids` must have one value per test ({n}), got shape {ids.shape}.")
    if not np.issubdtype(ids.dtype, np.integer) or (ids.size and ids.min() < 0):
        raise VarkitError("`row_ids` must be non-negative integers.")
    return ids.astype(np.uint64)


def fit_coefficients(z: FloatArray, h: FloatArray, fit: str) -> tuple[float, FloatArray]:
    """Intercept and slopes of a penalised regression of ``z`` on the columns of ``h``.

    Ridge and lasso need the rows (cross-validated penalty); OLS is fitted from the sums
    (:func:`varkit.cav.moments.ols_from_moments`).
    """
    if h.shape[1] == 0:
        return float(z.mean()), np.zeros(0)
    # Penalised fits need comparable column scales; coefficients go back to the raw scale.
    centre, scale = h.mean(axis=0), h.std(axis=0)
    scale[scale == 0] = 1.0
    hs = (h - centre) / scale
    if fit == "ridge":
        model: Any = RidgeCV(alphas=np.logspace(-6, 6, 25)).fit(hs, z)
    else:
        model = LassoCV(cv=3, alphas=30, max_iter=5000).fit(hs, z)
    beta = np.asarray(model.coef_, dtype=np.float64) / scale
    return float(model.intercept_ - beta @ centre), beta


def row_fitter(
    z: FloatArray,
    h: FloatArray,
    fold: NDArray[np.int64],
    rows: NDArray[np.bool_],
    columns: NDArray[np.intp],
    fit: str,
) -> Callable[[int | None], tuple[float, FloatArray]] | None:
    """The penalised fit of one stratum's fold from its rows (None for OLS: sums suffice)."""
    if fit == "ols":
        return None

    def fitter(f: int | None) -> tuple[float, FloatArray]:
        train = rows if f is None else rows & (fold != f)
        return fit_coefficients(z[train], h[np.ix_(train, columns)], fit)

    return fitter


def control_labels(names: Sequence[str] | None, d: int) -> list[str]:
    if names is None:
        return [f"control_{j}" for j in range(d)]
    labels = [str(n) for n in names]
    if len(labels) != d:
        raise VarkitError(f"`control_names` has {len(labels)} names but there are {d} controls.")
    return labels


def _validate_cv(
    y: Any,
    controls: Any,
    *,
    control_means: Any,
    weights: Any,
    fit: Any,
    crossfit: Any,
    confidence: Any,
    control_names: Any,
    rate: bool,
) -> tuple[FloatArray, FloatArray | None, FloatArray, str, int | None, float, list[str]]:
    # a crash rate's outcomes are crash indicators or probabilities; any number otherwise
    values = as_vector(y, "y", **({"low": 0.0, "high": 1.0} if rate else {}))
    if not rate:
        check_magnitude(values, "y")
    w = None if weights is None else as_weight(weights, None, values.size)
    h = as_controls(controls, values.size)
    means = as_control_means(control_means, h.shape[1])
    names = control_labels(control_names, h.shape[1])
    folds = check_crossfit(crossfit)
    check_folds_fit(folds, values.size)
    return (
        values,
        w,
        h - means,
        check_fit(fit),
        folds,
        check_confidence(confidence),
        names,
    )


def control_variate_estimate(
    y: Any,
    controls: Any,
    *,
    control_means: Any = 0.0,
    weights: Any = None,
    fit: str = "ols",
    crossfit: int | None = 2,
    confidence: float = 0.95,
    control_names: Sequence[str] | None = None,
    metric: str = "mean",
    random_state: Any = None,
    row_ids: Any = None,
) -> Result:
    """Mean of ``y`` (times ``weights``) with regression control variates.

    Parameters
    ----------
    y : array-like of shape (n,)
        Outcome of each test (a crash indicator, or any number).
    controls : array-like of shape (n, d)
        Control variates: functions of each test whose mean under the sampling
        distribution is known.
    control_means : float or array-like of shape (d,), default 0
        Their known means.
    weights : array-like of shape (n,), optional
        Importance weights ``p/q``; the estimated quantity is then ``E_q[y W] = E_p[y]``
        and ``control_means`` are means under q.
    fit : {'ols', 'ridge', 'lasso'}, default 'ols'
        Regression for the coefficients (``numpy.linalg.lstsq``; scikit-learn ``RidgeCV``
        or ``LassoCV`` on standardised controls).
    crossfit : int or None, default 2
        Number of folds for cross-fitting (at most the number of tests). ``None`` fits the
        coefficients on the same tests they adjust: that estimate is **biased** (O(1/n),
        large when events are rare) and its interval can under-cover; it is kept for
        comparison with the papers.
    confidence : float, default 0.95
        Level of the normal interval.
    control_names : sequence of str, optional
        Labels of the controls in ``details``.
    metric : str, default 'mean'
        The ``metric`` of the Result (``crash_rate`` from the CAV front ends). A
        ``crash_rate`` needs ``y`` in [0, 1] and keeps the estimate and interval there: no
        crash gives the exact zero-crash bound, and clipping is stated in ``details``
        (:mod:`varkit.cav.intervals`).
    random_state : None, int or numpy Generator
        Seed of the fold assignment.
    row_ids : array-like of int, optional
        Stable id of each test (default its position): the fold of a test is a hash of
        (seed, row id) (:func:`varkit.cav.moments.fold_ids`), so a partitioned log
        (:mod:`varkit.cav.logs`) gets the same folds.

    Returns
    -------
    Result
        ``method`` is ``cv-crossfit`` or ``cv-same-sample``. ``details``:
        ``relative_half_width``, ``per_test_variance``, ``plain_estimate`` and
        ``plain_stderr`` (no controls), ``variance_reduction_factor`` (per-test variance
        without controls over with them), ``coefficients`` (one list per fold),
        ``fold_sizes``, ``controls`` (names used), ``dropped_controls`` (each with its
        reason: zero variance, near-constant, or a mean the tests contradict;
        :func:`varkit.cav.moments.screen_controls`), ``fold_dropped`` (per fit, what its
        training tests screened out besides) and
        ``seed`` (of the folds; drawn when ``random_state`` is None).

    Notes
    -----
    Cross-fitted: ``mu_hat = (1/n) sum_i (Z_i - beta_{-f(i)}^T (h_i - m))`` and
    ``stderr^2`` is the sample variance of the adjusted values over n; given the fold
    coefficients the adjusted values are independent with mean ``mu``. Folds are keyed on
    the row ids (binomial sizes). Everything is computed from per-fold sums
    (:mod:`varkit.cav.moments`), the adjusted values included.
    Same-sample: the OLS intercept, with the residual variance divided by ``n - d - 1``.

    Examples
    --------
    >>> import numpy as np
    >>> from varkit.cav import control_variate_estimate
    >>> rng = np.random.default_rng(0)
    >>> u = rng.random(2000)
    >>> r = control_variate_estimate(np.exp(u), u, control_means=0.5, random_state=0)
    >>> abs(r.estimate - (np.e - 1)) < 3 * r.stderr, r.details["variance_reduction_factor"] > 30
    (True, True)
    >>> def covered():   # 95% coverage over 200 replications of E[exp(U)] = e - 1
    ...     u = rng.random(200)
    ...     r = control_variate_estimate(np.exp(u), u, control_means=0.5, random_state=rng)
    ...     return r.ci_low <= np.e - 1 <= r.ci_high
    >>> bool(0.9 <= np.mean([covered() for _ in range(200)]) <= 1)
    True
    """
    rate = metric == "crash_rate"
    y_, w, centred, fit_, folds, level, names = _validate_cv(
        y,
        controls,
        control_means=control_means,
        weights=weights,
        fit=fit,
        crossfit=crossfit,
        confidence=confidence,
        control_names=control_names,
        rate=rate,
    )
    z = y_ if w is None else y_ * w
    ids = as_row_ids(row_ids, z.size)
    seed = fold_seed(random_state)
    fold = fold_ids(ids, seed, folds)
    cells = cell_moments(z, y_, np.zeros(z.size, np.int64), centred, fold, w)
    fitter = row_fitter(
        z,
        centred,
        fold,
        np.ones(z.size, bool),
        screen_controls(total(cells.values(), len(names)), np.arange(len(names)))[0],
        fit_,
    )
    result = cv_from_cells(
        cells,
        names,
        fit=fit_,
        crossfit=folds,
        confidence=level,
        metric=metric,
        weighted=weights is not None,
        fitter=fitter,
    )
    return result.replace(details={**result.details, "seed": seed})


def cv_from_cells(
    cells: Cells,
    names: Sequence[str],
    *,
    fit: str,
    crossfit: int | None,
    confidence: float,
    metric: str = "crash_rate",
    weighted: bool = True,
    fitter: Callable[[int | None], tuple[float, FloatArray]] | None = None,
) -> Result:
    """Regression control variates from the per-fold sums (one stratum, level 0)."""
    folds = {f: m for (_, f), m in cells.items()}
    whole = total(folds.values(), len(names))
    check_folds_fit(crossfit, whole.n)
    columns, dropped = screen_controls(whole, np.arange(len(names)), names)
    used = [names[int(j)] for j in columns]
    n_varying = int(np.count_nonzero(whole.varying))
    short = training_shortfall(folds, n_varying, crossfit)
    if short is not None:
        raise VarkitError(
            f"`controls` has {n_varying} usable columns, which needs at least {short[1]} "
            f"tests in each fit with crossfit={crossfit}, but one fit has {short[0]} of the "
            f"{whole.n} tests."
        )
    adj = fit_folds(folds, columns, crossfit, fitter, names)
    plain = sums_result(
        whole.n, whole.zbar, whole.czz, method="", confidence=confidence, details={}
    )
    plain_var = plain.details["per_test_variance"]
    details: dict[str, Any] = {
        "fit": fit,
        "crossfit": crossfit,
        "controls": used,
        "dropped_controls": dropped,
        "coefficients": adj.coefficients,
        "intercepts": adj.intercepts,
        "fold_sizes": adj.fold_sizes,
        "fold_dropped": adj.screened,
        "plain_estimate": plain.estimate,
        "plain_stderr": plain.stderr,
        "weighted": weighted,
    }
    if crossfit is None:
        details["bias_warning"] = (
            "coefficients fitted on the same tests bias the estimate; use crossfit."
        )
    result = sums_result(
        adj.n,
        adj.mean,
        adj.m2,
        method="cv-crossfit" if crossfit else "cv-same-sample",
        confidence=confidence,
        details=details,
        ddof_extra=0 if crossfit else len(used),
        # a crash rate stays in [0, 1], with the exact zero/all-crash edges
        edges=rate_edges(whole) if metric == "crash_rate" else None,
    )
    cv_var = result.details["per_test_variance"]
    vr = plain_var / cv_var if cv_var > 0 else float("inf")
    return result.replace(
        metric=metric, details={**result.details, "variance_reduction_factor": vr}
    )
