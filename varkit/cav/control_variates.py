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

from collections.abc import Sequence
from dataclasses import dataclass, field
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
    check_confidence,
)
from varkit.cav.estimators import mean_result
from varkit.results import Result

__all__ = ["control_variate_estimate"]

FITS = ("ols", "ridge", "lasso")


def check_fit(fit: Any) -> str:
    if fit not in FITS:
        raise ValueError(f"`fit` must be one of {', '.join(FITS)}, got {fit!r}.")
    return str(fit)


def check_crossfit(crossfit: Any) -> int | None:
    """``None`` means same-sample fitting; otherwise an integer number of folds >= 2."""
    if crossfit is None:
        return None
    if isinstance(crossfit, bool) or not isinstance(crossfit, (int, np.integer)):
        raise TypeError("`crossfit` must be an integer number of folds (>= 2) or None.")
    if crossfit < 2:
        raise ValueError(f"`crossfit` must be at least 2 folds (or None), got {crossfit}.")
    return int(crossfit)


def make_rng(random_state: Any) -> np.random.Generator:
    """One generator from None, an int or a Generator (scikit-learn convention)."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or isinstance(random_state, (int, np.integer)):
        return np.random.default_rng(random_state)
    raise TypeError("`random_state` must be None, an integer or a numpy Generator.")


def min_tests(n_controls: int, crossfit: int | None) -> int:
    """Fewest tests that leave every fit with more rows than coefficients (+1 for a residual)."""
    if n_controls == 0:
        return 2 if crossfit is None else crossfit
    need = n_controls + 2
    if crossfit is None:
        return need
    return int(np.ceil(need * crossfit / (crossfit - 1)))


def fit_coefficients(z: FloatArray, h: FloatArray, fit: str) -> tuple[float, FloatArray]:
    """Intercept and slopes of the regression of ``z`` on the columns of ``h``."""
    if h.shape[1] == 0:
        return float(z.mean()), np.zeros(0)
    if fit == "ols":
        design = np.column_stack([np.ones(z.size), h])
        coef = np.asarray(np.linalg.lstsq(design, z, rcond=None)[0], dtype=np.float64)
        return float(coef[0]), coef[1:]
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


@dataclass
class Adjustment:
    """Per-test adjusted values ``z - beta^T (h - m)`` and the coefficients used."""

    adjusted: FloatArray
    intercepts: list[float] = field(default_factory=list)
    coefficients: list[list[float]] = field(default_factory=list)
    fold_sizes: list[int] = field(default_factory=list)


def regression_adjust(
    z: FloatArray,
    centred: FloatArray,
    *,
    fit: str,
    crossfit: int | None,
    rng: np.random.Generator,
) -> Adjustment:
    """Adjust ``z`` by controls already centred at their known means.

    Same-sample (``crossfit=None``): one fit on all rows. Cross-fitted: rows are split at
    random into ``crossfit`` folds; each fold is adjusted with coefficients fitted on the
    others, so its adjustment has mean zero given those coefficients.
    """
    if crossfit is None:
        intercept, beta = fit_coefficients(z, centred, fit)
        return Adjustment(z - centred @ beta, [intercept], [beta.tolist()], [z.size])
    folds = np.array_split(rng.permutation(z.size), crossfit)
    out = Adjustment(np.empty_like(z))
    for fold in folds:
        train = np.ones(z.size, dtype=bool)
        train[fold] = False
        intercept, beta = fit_coefficients(z[train], centred[train], fit)
        out.adjusted[fold] = z[fold] - centred[fold] @ beta
        out.intercepts.append(intercept)
        out.coefficients.append(beta.tolist())
        out.fold_sizes.append(int(fold.size))
    return out


def constant_columns(h: FloatArray) -> NDArray[np.bool_]:
    """Boolean mask of columns with zero variance (they carry no information)."""
    return np.asarray(np.ptp(h, axis=0) == 0, dtype=bool)


def control_labels(names: Sequence[str] | None, d: int) -> list[str]:
    if names is None:
        return [f"control_{j}" for j in range(d)]
    labels = [str(n) for n in names]
    if len(labels) != d:
        raise ValueError(f"`control_names` has {len(labels)} names but there are {d} controls.")
    return labels


def _validate_cv(
    y: Any,
    controls: Any,
    control_means: Any,
    weights: Any,
    fit: Any,
    crossfit: Any,
    confidence: Any,
    control_names: Any,
) -> tuple[FloatArray, FloatArray, FloatArray, str, int | None, float, list[str]]:
    values = as_vector(y, "y")
    if weights is not None:
        values = values * as_weight(weights, None, values.size)
    h = as_controls(controls, values.size)
    means = as_control_means(control_means, h.shape[1])
    names = control_labels(control_names, h.shape[1])
    return (
        values,
        h - means,
        means,
        check_fit(fit),
        check_crossfit(crossfit),
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
        Number of folds for cross-fitting. ``None`` fits the coefficients on the same tests
        they adjust: that estimate is **biased** (O(1/n), large when events are rare) and its
        interval can under-cover; it is kept for comparison with the papers.
    confidence : float, default 0.95
        Level of the normal interval.
    control_names : sequence of str, optional
        Labels of the controls in ``details``.
    metric : str, default 'mean'
        The ``metric`` of the Result (``crash_rate`` from the CAV front ends).
    random_state : None, int or numpy Generator
        Fold assignment.

    Returns
    -------
    Result
        ``method`` is ``cv-crossfit`` or ``cv-same-sample``. ``details``:
        ``relative_half_width``, ``per_test_variance``, ``plain_estimate`` and
        ``plain_stderr`` (no controls), ``variance_reduction_factor`` (per-test variance
        without controls over with them), ``coefficients`` (one list per fold),
        ``fold_sizes``, ``controls`` (names used) and ``dropped_controls`` (zero variance).

    Notes
    -----
    Cross-fitted: ``mu_hat = (1/n) sum_i (Z_i - beta_{-f(i)}^T (h_i - m))`` and
    ``stderr^2`` is the sample variance of the adjusted values over n; given the fold
    coefficients the adjusted values are independent with mean ``mu``.
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
    z, centred, means, fit_, folds, level, names = _validate_cv(
        y, controls, control_means, weights, fit, crossfit, confidence, control_names
    )
    keep = ~constant_columns(centred)
    dropped = [{"control": names[j], "reason": "zero variance"} for j in np.flatnonzero(~keep)]
    centred = centred[:, keep]
    used = [names[j] for j in np.flatnonzero(keep)]
    need = min_tests(len(used), folds)
    if z.size < need:
        raise ValueError(
            f"`controls` has {len(used)} usable columns, which needs at least {need} tests "
            f"with crossfit={folds}, but there are {z.size}."
        )
    adj = regression_adjust(z, centred, fit=fit_, crossfit=folds, rng=make_rng(random_state))
    plain_var = float(np.var(z, ddof=1))
    details: dict[str, Any] = {
        "fit": fit_,
        "crossfit": folds,
        "controls": used,
        "dropped_controls": dropped,
        "coefficients": adj.coefficients,
        "intercepts": adj.intercepts,
        "fold_sizes": adj.fold_sizes,
        "plain_estimate": float(z.mean()),
        "plain_stderr": float(np.sqrt(plain_var / z.size)),
        "weighted": weights is not None,
    }
    if folds is None:
        details["bias_warning"] = (
            "coefficients fitted on the same tests bias the estimate; use crossfit."
        )
    result = mean_result(
        adj.adjusted,
        method="cv-crossfit" if folds else "cv-same-sample",
        confidence=level,
        details=details,
        ddof_extra=0 if folds else len(used),
    )
    vr = (
        plain_var / result.details["per_test_variance"]
        if result.details["per_test_variance"] > 0
        else float("inf")
    )
    return result.replace(
        metric=metric, details={**result.details, "variance_reduction_factor": vr}
    )
