"""Crude Monte Carlo (NDE) and importance-sampling (NADE) estimates of a crash rate.

Both are sample means of one value per test, ``Y_i`` for the naturalistic driving
environment and ``Y_i W_i`` with ``W_i = p(x_i)/q(x_i)`` for importance sampling, with the
normal interval ``mean ± z sd/sqrt(n)`` that the NDE/NADE papers use (Feng et al., Nat.
Commun. 12:748, 2021, Methods, "Unbiasedness" and "Relative half-width").
"""

from __future__ import annotations

from typing import Any

import numpy as np

from varkit.cav._checks import (
    FloatArray,
    as_crash,
    as_weight,
    relative_half_width,
    z_value,
)
from varkit.cav.moments import Moments, cell_moments, total
from varkit.checks import check_confidence
from varkit.errors import VarkitError
from varkit.results import Result

__all__ = [
    "importance_sampling_estimate",
    "is_from_moments",
    "nde_estimate",
    "nde_from_moments",
    "sums_result",
]


def log_moments(z: FloatArray, crash: FloatArray, w: FloatArray | None = None) -> Moments:
    """The sums of a whole log without strata or controls."""
    n = z.size
    cells = cell_moments(
        z, crash, np.zeros(n, np.int64), np.zeros((n, 0)), np.zeros(n, np.int64), w
    )
    return total(cells.values(), 0)


def nde_from_moments(m: Moments, confidence: float) -> Result:
    """The NDE estimate from the moments of ``Y`` (``zbar``, ``czz``) and the crash count."""
    details: dict[str, Any] = {"n_crashes": m.crashes}
    if m.crashes == 0:
        details["warning"] = "no crash observed: the normal interval is degenerate."
    return sums_result(m.n, m.zbar, m.czz, method="nde", confidence=confidence, details=details)


def is_from_moments(m: Moments, confidence: float) -> Result:
    """The importance-sampling estimate from the sums of ``Z = Y W`` and of ``W``."""
    details: dict[str, Any] = {
        "n_crashes": m.crashes,
        "effective_sample_size": m.sw**2 / m.sww if m.sw > 0 else 0.0,
        "mean_weight": m.sw / m.n,
    }
    if m.crashes == 0:
        details["warning"] = "no crash observed: the normal interval is degenerate."
    return sums_result(
        m.n, m.zbar, m.czz, method="importance-sampling", confidence=confidence, details=details
    )


def mean_result(
    values: FloatArray,
    *,
    method: str,
    confidence: float,
    details: dict[str, Any],
    ddof_extra: int = 0,
) -> Result:
    """A crash-rate Result from per-test values whose mean is the estimate.

    ``ddof_extra`` counts fitted coefficients beyond the mean (regression control variates
    fitted on the same tests), so the variance divides by ``n - 1 - ddof_extra``.
    """
    estimate = float(values.mean())
    centred = values - estimate
    return sums_result(
        values.size,
        estimate,
        float(centred @ centred),
        method=method,
        confidence=confidence,
        details=details,
        ddof_extra=ddof_extra,
    )


def sums_result(
    n: int,
    mean: float,
    m2: float,
    *,
    method: str,
    confidence: float,
    details: dict[str, Any],
    ddof_extra: int = 0,
) -> Result:
    """A crash-rate Result from the count, mean and centred sum of squares of the values.

    The one place the estimate, its standard error ``sqrt(s^2/n)`` and the normal interval
    are computed, for values in memory and for sums merged over partitions
    (:mod:`varkit.cav.moments`). ``s^2 = m2 / (n - 1 - ddof_extra)`` with
    ``m2 = sum (v - vbar)^2``.
    """
    estimate = mean
    dof = n - 1 - ddof_extra
    if dof >= 1:
        per_test_var = max(0.0, m2 / dof)
        stderr = float(np.sqrt(per_test_var / n))
    else:
        per_test_var = float("inf")
        stderr = float("inf")
    half = z_value(confidence) * stderr
    out = {
        "relative_half_width": relative_half_width(estimate, stderr, confidence),
        "per_test_variance": per_test_var,
    }
    out.update(details)
    return Result(
        metric="crash_rate",
        estimate=estimate,
        ci_low=estimate - half,
        ci_high=estimate + half,
        confidence=confidence,
        method=method,
        n=n,
        stderr=stderr,
        details=out,
    )


def _validate_nde(crash: Any, confidence: Any) -> tuple[FloatArray, float]:
    y = as_crash(crash)
    if y.size < 2:
        raise VarkitError("`crash` needs at least 2 tests to estimate a standard error.")
    return y, check_confidence(confidence)


def nde_estimate(crash: Any, *, confidence: float = 0.95) -> Result:
    """Crash rate from tests drawn in the naturalistic driving environment (crude Monte Carlo).

    Parameters
    ----------
    crash : array-like of shape (n,)
        Crash indicator (0/1) or crash probability in [0, 1] of each test.
    confidence : float, default 0.95
        Level of the normal interval.

    Returns
    -------
    Result
        ``metric="crash_rate"``, ``method="nde"``; ``details`` holds
        ``relative_half_width`` (z·stderr/estimate, inf without crashes), ``per_test_variance``
        and ``n_crashes``.

    Notes
    -----
    ``mu_hat = (1/n) sum Y_i`` with ``stderr = s/sqrt(n)``; for 0/1 outcomes
    ``s^2 = n/(n-1) mu_hat (1 - mu_hat)``. With no crash the normal interval collapses to
    [0, 0]; ``details["warning"]`` says so (use a Clopper-Pearson bound for zero counts).

    Examples
    --------
    >>> import numpy as np
    >>> from varkit.cav import nde_estimate
    >>> r = nde_estimate(np.r_[np.ones(10), np.zeros(990)], confidence=0.9)
    >>> round(r.estimate, 4), r.n, r.details["n_crashes"]
    (0.01, 1000, 10)
    >>> rng = np.random.default_rng(0)   # 95% intervals over 200 simulated campaigns
    >>> runs = [nde_estimate(rng.random(4000) < 0.02) for _ in range(200)]
    >>> bool(0.9 <= np.mean([r.ci_low <= 0.02 <= r.ci_high for r in runs]) <= 1.0)
    True
    """
    y, level = _validate_nde(crash, confidence)
    return nde_from_moments(log_moments(y, y), level)


def _validate_is(
    crash: Any, weight: Any, log_weight: Any, confidence: Any
) -> tuple[FloatArray, FloatArray, float]:
    y = as_crash(crash)
    if y.size < 2:
        raise VarkitError("`crash` needs at least 2 tests to estimate a standard error.")
    w = as_weight(weight, log_weight, y.size)
    return y, w, check_confidence(confidence)


def importance_sampling_estimate(
    crash: Any,
    weight: Any = None,
    *,
    log_weight: Any = None,
    confidence: float = 0.95,
) -> Result:
    """Crash rate from tests drawn from an importance-sampling testing distribution q.

    Parameters
    ----------
    crash : array-like of shape (n,)
        Crash indicator (0/1) or crash probability in [0, 1] of each test.
    weight : array-like of shape (n,), optional
        Likelihood ratio ``p(x)/q(x)`` of each test (non-negative, finite).
    log_weight : array-like of shape (n,), optional
        ``log p(x) - log q(x)`` instead of ``weight``.
    confidence : float, default 0.95
        Level of the normal interval.

    Returns
    -------
    Result
        ``method="importance-sampling"``; ``details`` holds ``relative_half_width``,
        ``per_test_variance``, ``n_crashes``, ``effective_sample_size`` (Kish,
        ``(sum W)^2 / sum W^2``) and ``mean_weight`` (close to 1 when q covers p).

    Notes
    -----
    ``mu_hat = (1/n) sum Y_i W_i`` is unbiased when q > 0 wherever ``p Y > 0``
    (Feng et al. 2021, Methods, Eq. 6); ``stderr = sd(Y W)/sqrt(n)``.

    Examples
    --------
    >>> import numpy as np
    >>> from varkit.cav import importance_sampling_estimate
    >>> r = importance_sampling_estimate([1, 0, 1, 0], weight=[0.1, 2.0, 0.3, 1.6])
    >>> round(r.estimate, 4), r.details["n_crashes"]
    (0.1, 2)
    >>> # p = Bernoulli(0.01) sampled from q = Bernoulli(0.5): 95% coverage over 200 runs
    >>> rng = np.random.default_rng(1)
    >>> def run():
    ...     y = rng.random(500) < 0.5
    ...     return importance_sampling_estimate(y, np.where(y, 0.02, 1.98))
    >>> bool(0.9 <= np.mean([(r := run()).ci_low <= 0.01 <= r.ci_high for _ in range(200)]) <= 1)
    True
    """
    y, w, level = _validate_is(crash, weight, log_weight, confidence)
    return is_from_moments(log_moments(y * w, y, w), level)
