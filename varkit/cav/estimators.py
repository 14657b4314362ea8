"""Crude Monte Carlo (NDE) and importance-sampling (NADE) estimates of a crash rate.

Both are sample means of one value per test, ``Y_i`` for the naturalistic driving
environment and ``Y_i W_i`` with ``W_i = p(x_i)/q(x_i)`` for importance sampling. The
standard error and relative half-width are those of the normal interval
``mean ± z sd/sqrt(n)`` that the NDE/NADE papers use (Feng et al., Nat. Commun. 12:748,
2021, Methods, "Unbiasedness" and "Relative half-width"). The interval of NDE is the exact
Clopper-Pearson one; that of importance sampling is the normal one kept in [0, 1], with
exact bounds when no test crashed or every test did (:mod:`varkit.cav.intervals`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from varkit.cav._checks import (
    FloatArray,
    as_crash,
    as_weight,
    is_finite_number,
    relative_half_width,
    z_value,
)
from varkit.cav.intervals import (
    RateEdges,
    bound_rate,
    check_alternative,
    clopper_pearson,
)
from varkit.cav.moments import Moments, cell_moments, total
from varkit.checks import check_confidence
from varkit.errors import VarkitError
from varkit.results import Result

__all__ = [
    "check_weight_bound",
    "importance_sampling_estimate",
    "is_from_moments",
    "nde_estimate",
    "nde_from_moments",
    "rate_edges",
    "sums_result",
]


def norm_quantile(confidence: float) -> float:
    """One-sided normal quantile z_{confidence}."""
    return float(stats.norm.ppf(confidence))


def log_moments(z: FloatArray, crash: FloatArray, w: FloatArray | None = None) -> Moments:
    """The sums of a whole log without strata or controls."""
    n = z.size
    cells = cell_moments(
        z, crash, np.zeros(n, np.int64), np.zeros((n, 0)), np.zeros(n, np.int64), w
    )
    return total(cells.values(), 0)


def weight_bound_of(m: Moments, weight_bound: float | None) -> tuple[float, str]:
    """``W_max`` for the zero/all-crash edges (:mod:`varkit.cav.intervals`) and its source."""
    if weight_bound is not None:
        if m.wmax > weight_bound * (1.0 + 1e-12):
            raise VarkitError(
                f"`weight_bound` is {weight_bound:g} but the log has a weight of "
                f"{m.wmax:g}: a bound on the likelihood ratio must hold for every test."
            )
        return weight_bound, "weight_bound given (the proposal's bound on p/q)"
    if m.wmax <= 1.0:
        return 1.0, (
            "every weight is at most 1, and sup p/q >= 1 because E_q[p/q] = 1"
            if m.sw != m.n or m.wmax < 1.0
            else "all weights are 1"
        )
    return m.wmax, (
        "the largest weight in the log (assumed: no untested scenario has a larger "
        "likelihood ratio; give weight_bound, e.g. 1/eps for a defensive mixture, to state "
        "the proposal's own bound)"
    )


def check_weight_bound(weight_bound: Any) -> float | None:
    """None, or a finite number >= 1 (``E_q[p/q] = 1`` forces ``sup p/q >= 1``)."""
    if weight_bound is None:
        return None
    if not is_finite_number(weight_bound) or weight_bound < 1:
        raise VarkitError(
            f"`weight_bound` must be a finite number of at least 1 (a bound on p/q, whose "
            f"mean under q is 1), got {weight_bound!r}."
        )
    return float(weight_bound)


def rate_edges(
    m: Moments, weight_bound: float | None = None, alternative: str = "two-sided"
) -> RateEdges:
    """The zero/all-crash edges of a log's sums.

    The zero edge is "no test with ``Y W > 0``" (``Z >= 0``, so ``sum Z = 0`` says it):
    crashes whose weight is 0 carry no mass under p, and bound the rate no better than
    no crash at all.
    """
    bound, source = weight_bound_of(m, weight_bound)
    events = m.crashes if m.zbar > 0 else 0
    return RateEdges(m.n, events, m.full, bound, source, alternative)


def nde_from_moments(m: Moments, confidence: float, alternative: str = "two-sided") -> Result:
    """The NDE estimate: the mean of ``Y`` with its exact Clopper-Pearson interval.

    ``stderr`` and ``relative_half_width`` are those of the normal interval (the stopping
    rule's); the interval itself is exact for 0/1 outcomes (:func:`clopper_pearson`).
    """
    details: dict[str, Any] = {"n_crashes": m.crashes}
    binary = m.crashes == m.full
    count = float(m.full) if binary else m.sz
    details["interval"] = (
        "clopper-pearson"
        if binary
        else "clopper-pearson at the fractional count sum(crash) (crash holds "
        "probabilities: the continuous extension of the binomial bounds, exact for 0/1)"
    )
    if m.crashes == 0:
        details["warning"] = "no crash observed: the upper bound is the exact zero-crash bound."
    normal = sums_result(m.n, m.zbar, m.czz, method="nde", confidence=confidence, details=details)
    low, high = clopper_pearson(count, m.n, confidence, alternative)
    estimate = min(max(m.zbar, 0.0), 1.0)
    return normal.replace(
        estimate=estimate,
        ci_low=min(low, estimate),
        ci_high=max(high, estimate),
        alternative=None if alternative == "two-sided" else alternative,
    )


def is_from_moments(
    m: Moments,
    confidence: float,
    alternative: str = "two-sided",
    weight_bound: float | None = None,
) -> Result:
    """The importance-sampling estimate from the sums of ``Z = Y W`` and of ``W``."""
    details: dict[str, Any] = {
        "n_crashes": m.crashes,
        "effective_sample_size": m.sw * (m.sw / m.sww) if m.sww > 0 else 0.0,
        "mean_weight": m.sw / m.n,
    }
    if weight_bound is not None:
        # W <= 1/eps: a set no test fell in has q-probability < ln(1/alpha)/n at 1 - alpha
        # (the zero-event bound), so p-probability < (1/eps) ln(1/alpha)/n
        details["unsampled_mass_bound"] = weight_bound * math.log(1.0 / (1.0 - confidence)) / m.n
    if m.crashes == 0:
        details["warning"] = (
            "no crash observed: the upper bound is the zero-crash bound in "
            "details['zero_crash_bound']."
        )
    return sums_result(
        m.n,
        m.zbar,
        m.czz,
        method="importance-sampling",
        confidence=confidence,
        details=details,
        edges=rate_edges(m, weight_bound, alternative),
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
    edges: RateEdges | None = None,
) -> Result:
    """A crash-rate Result from the count, mean and centred sum of squares of the values.

    The one place the estimate, its standard error ``sqrt(s^2/n)`` and the normal interval
    are computed, for values in memory and for sums merged over partitions
    (:mod:`varkit.cav.moments`). ``s^2 = m2 / (n - 1 - ddof_extra)`` with
    ``m2 = sum (v - vbar)^2``.

    With ``edges`` (a crash rate) the estimate and interval are kept in [0, 1], the
    zero- and all-crash edges get their exact bounds and ``edges.alternative`` picks a
    one-sided interval (:func:`varkit.cav.intervals.bound_rate`, which states in
    ``details`` what it changed); without, the plain normal interval (any mean).
    """
    estimate = mean
    dof = n - 1 - ddof_extra
    if dof >= 1:
        per_test_var = max(0.0, m2 / dof)
        stderr = float(np.sqrt(per_test_var / n))
    else:
        per_test_var = float("inf")
        stderr = float("inf")
    alternative = "two-sided" if edges is None else edges.alternative
    quantile = z_value(confidence) if alternative == "two-sided" else norm_quantile(confidence)
    half = quantile * stderr if stderr > 0 else 0.0  # inf * 0 would be NaN
    out = {
        "relative_half_width": relative_half_width(estimate, stderr, confidence),
        "per_test_variance": per_test_var,
    }
    out.update(details)
    low, high = estimate - half, estimate + half
    if edges is not None:
        estimate, low, high = bound_rate(estimate, low, high, confidence, edges, out)
    return Result(
        metric="crash_rate",
        estimate=estimate,
        ci_low=low,
        ci_high=high,
        confidence=confidence,
        method=method,
        n=n,
        stderr=stderr,
        alternative=None if alternative == "two-sided" else alternative,
        details=out,
    )


def _validate_nde(crash: Any, confidence: Any, alternative: Any) -> tuple[FloatArray, float, str]:
    y = as_crash(crash)
    if y.size < 2:
        raise VarkitError("`crash` needs at least 2 tests to estimate a standard error.")
    return y, check_confidence(confidence), check_alternative(alternative)


def nde_estimate(crash: Any, *, confidence: float = 0.95, alternative: str = "two-sided") -> Result:
    """Crash rate from tests drawn in the naturalistic driving environment (crude Monte Carlo).

    Parameters
    ----------
    crash : array-like of shape (n,)
        Crash indicator (0/1) or crash probability in [0, 1] of each test.
    confidence : float, default 0.95
        Level of the interval.
    alternative : {'two-sided', 'less', 'greater'}, default 'two-sided'
        'less' gives the one-sided upper bound [0, high] (what a gate "at most" needs),
        'greater' the lower bound [low, 1].

    Returns
    -------
    Result
        ``metric="crash_rate"``, ``method="nde"``, the exact Clopper-Pearson interval;
        ``details`` holds ``interval``, ``relative_half_width`` (z·stderr/estimate of the
        normal interval, the stopping rule's; inf without crashes), ``per_test_variance``
        and ``n_crashes``.

    Notes
    -----
    ``mu_hat = (1/n) sum Y_i``; the interval is Clopper and Pearson's (1934) exact one,
    ``[beta.ppf(a, k, n-k+1), beta.ppf(1-a, k+1, n-k)]`` with ``a = alpha/2`` (``alpha``
    one-sided), so no crash in n tests gives the upper bound ``1 - a^(1/n)`` and n crashes
    the lower bound ``a^(1/n)``. ``stderr = s/sqrt(n)`` with
    ``s^2 = n/(n-1) mu_hat (1 - mu_hat)`` for 0/1 outcomes. Crash probabilities use the
    beta quantiles at the fractional count (``details["interval"]`` says so).

    Examples
    --------
    >>> import numpy as np
    >>> from varkit.cav import nde_estimate
    >>> r = nde_estimate(np.r_[np.ones(10), np.zeros(990)], confidence=0.9)
    >>> round(r.estimate, 4), r.n, r.details["n_crashes"]
    (0.01, 1000, 10)
    >>> round(nde_estimate(np.zeros(50), alternative="less").ci_high, 3)  # 1 - 0.05**(1/50)
    0.058
    >>> rng = np.random.default_rng(0)   # 95% intervals over 200 simulated campaigns
    >>> runs = [nde_estimate(rng.random(4000) < 0.02) for _ in range(200)]
    >>> bool(0.9 <= np.mean([r.ci_low <= 0.02 <= r.ci_high for r in runs]) <= 1.0)
    True
    """
    y, level, alt = _validate_nde(crash, confidence, alternative)
    return nde_from_moments(log_moments(y, y), level, alt)


def _validate_is(
    crash: Any, weight: Any, log_weight: Any, confidence: Any, alternative: Any, weight_bound: Any
) -> tuple[FloatArray, FloatArray, float, str, float | None]:
    y = as_crash(crash)
    if y.size < 2:
        raise VarkitError("`crash` needs at least 2 tests to estimate a standard error.")
    w = as_weight(weight, log_weight, y.size)
    return (
        y,
        w,
        check_confidence(confidence),
        check_alternative(alternative),
        check_weight_bound(weight_bound),
    )


def importance_sampling_estimate(
    crash: Any,
    weight: Any = None,
    *,
    log_weight: Any = None,
    confidence: float = 0.95,
    alternative: str = "two-sided",
    weight_bound: float | None = None,
) -> Result:
    """Crash rate from tests drawn from an importance-sampling testing distribution q.

    Parameters
    ----------
    crash : array-like of shape (n,)
        Crash indicator (0/1) or crash probability in [0, 1] of each test.
    weight : array-like of shape (n,), optional
        Likelihood ratio ``p(x)/q(x)`` of each test (non-negative, at most 1e100).
    log_weight : array-like of shape (n,), optional
        ``log p(x) - log q(x)`` instead of ``weight`` (at most log(1e100)).
    confidence : float, default 0.95
        Level of the interval.
    alternative : {'two-sided', 'less', 'greater'}, default 'two-sided'
        'less' gives the one-sided upper bound [0, high], 'greater' [low, 1].
    weight_bound : float, optional
        A known bound on ``p/q`` over all scenarios (``1/eps`` for a defensive mixture
        ``q = eps p + (1 - eps) q~``; 2 for ``OvertakingScenario()``). Used only when no
        test crashed, or every test did; default the largest weight in the log.

    Returns
    -------
    Result
        ``method="importance-sampling"``; ``details`` holds ``relative_half_width``,
        ``per_test_variance``, ``n_crashes``, ``effective_sample_size`` (Kish,
        ``(sum W)^2 / sum W^2``), ``mean_weight`` (close to 1 when q covers p), and where
        they apply ``zero_crash_bound``, ``all_crash_bound`` and ``truncated``.

    Notes
    -----
    ``mu_hat = (1/n) sum Y_i W_i`` is unbiased when q > 0 wherever ``p Y > 0``
    (Feng et al. 2021, Methods, Eq. 6); ``stderr = sd(Y W)/sqrt(n)`` and the interval is
    the normal one clipped to [0, 1]. Without a crash it would collapse to [0, 0]; the
    upper bound is then ``W_max`` times the exact bound on the crash probability under q
    (``mu = E_q[Y W] <= W_max P_q(Y > 0)``; :mod:`varkit.cav.intervals`).

    Examples
    --------
    >>> import numpy as np
    >>> from varkit.cav import importance_sampling_estimate
    >>> r = importance_sampling_estimate([1, 0, 1, 0], weight=[0.1, 2.0, 0.3, 1.6])
    >>> round(r.estimate, 4), r.details["n_crashes"]
    (0.1, 2)
    >>> r = importance_sampling_estimate(np.zeros(50), np.full(50, 0.9), weight_bound=2)
    >>> round(r.ci_high, 4)    # 2 * (1 - 0.025**(1/50))
    0.1422
    >>> # p = Bernoulli(0.01) sampled from q = Bernoulli(0.5): 95% coverage over 200 runs
    >>> rng = np.random.default_rng(1)
    >>> def run():
    ...     y = rng.random(500) < 0.5
    ...     return importance_sampling_estimate(y, np.where(y, 0.02, 1.98))
    >>> bool(0.9 <= np.mean([(r := run()).ci_low <= 0.01 <= r.ci_high for _ in range(200)]) <= 1)
    True
    """
    y, w, level, alt, bound = _validate_is(
        crash, weight, log_weight, confidence, alternative, weight_bound
    )
    return is_from_moments(log_moments(y * w, y, w), level, alt, bound)
