"""When can testing stop? Tests needed for a target relative half-width.

The NDE/NADE line of work stops testing when the relative half-width
``z_{1-alpha/2} stderr / mu_hat`` of the normal interval drops below a threshold (0.3 at
90% confidence in Feng et al., Nat. Commun. 12:748, 2021, Fig. 3). With per-test variance
``sigma^2`` the stderr after n tests is ``sigma/sqrt(n)``, so the threshold is met at
``n = (z sigma / (rhw mu))^2``.
"""

from __future__ import annotations

import math
from typing import Any

from varkit.cav._checks import check_rhw, z_value
from varkit.checks import check_confidence
from varkit.errors import VarkitError, VarkitTypeError
from varkit.results import Result

__all__ = ["MAX_TESTS", "gain_over_is", "n_required", "tests_required"]

# More tests than this is "never" (a billion tests a second for 30 billion years); the
# count is reported as inf, with the reason in details, rather than as a huge float.
MAX_TESTS = 1e27


def tests_required(
    per_test_variance: float, estimate: float, rhw: float, confidence: float
) -> float:
    """``ceil((z sigma / (rhw mu))^2)``; inf when the estimate is zero.

    Computed in logs, so that an extreme ``rhw`` (1e-300, 1e308) or a tiny estimate
    neither overflows nor divides by zero; above ``MAX_TESTS`` the answer is inf.
    """
    if estimate == 0.0 or not math.isfinite(per_test_variance):
        return float("inf")
    if per_test_variance <= 0.0:
        return 0.0
    log_n = 2.0 * (
        math.log(z_value(confidence)) - math.log(rhw) - math.log(abs(estimate))
    ) + math.log(per_test_variance)
    if log_n > math.log(MAX_TESTS):
        return float("inf")
    return float(max(1, math.ceil(math.exp(log_n))))


def gain_over_is(
    method: str,
    per_test_var: float,
    estimate: float,
    is_var: float,
    is_estimate: float,
    target: tuple[float, float],
) -> dict[str, Any]:
    """The ``details`` that put an estimator beside importance sampling on the same tests.

    ``variance_reduction_factor`` (per-test variance of importance sampling over the
    method's), ``target`` and ``tests_required`` for both at ``target = (rhw, confidence)``.

    Examples
    --------
    >>> gain_over_is("scv", 1e-6, 1e-3, 4e-6, 1e-3, (0.3, 0.9))["variance_reduction_factor"]
    4.0
    """
    rhw, level = target
    return {
        "variance_reduction_factor": is_var / per_test_var if per_test_var > 0 else float("inf"),
        "target": {"rhw": rhw, "confidence": level},
        "tests_required": {
            method: tests_required(per_test_var, estimate, rhw, level),
            "is": tests_required(is_var, is_estimate, rhw, level),
        },
    }


def _validate_n_required(result: Any, rhw: Any, confidence: Any) -> tuple[float, float, float]:
    if not isinstance(result, Result):
        raise VarkitTypeError(f"`result` must be a varkit Result, got {type(result).__name__}.")
    if result.stderr is None or result.n is None or result.n < 1:
        raise VarkitError("`result` needs a standard error and a number of tests `n`.")
    target = check_rhw(rhw, "rhw")
    per_test = result.details.get("per_test_variance")
    if per_test is None:
        per_test = result.stderr * (result.stderr * result.n)
    return float(per_test), target, check_confidence(confidence, "target_confidence")


def n_required(result: Result, rhw: float = 0.3, confidence: float = 0.9) -> Result:
    """Number of tests the method behind ``result`` needs to reach a relative half-width.

    Parameters
    ----------
    result : Result
        A crash-rate estimate with ``stderr`` and ``n`` (any estimator of this package).
    rhw : float, default 0.3
        Target relative half-width of the normal interval.
    confidence : float, default 0.9
        Level of that interval.

    Returns
    -------
    Result
        ``metric="tests_required"``, ``estimate`` = tests needed in total (inf when no
        crash was seen); ``details`` holds ``tests_remaining`` and the inputs.

    Examples
    --------
    >>> from varkit.cav import n_required, nde_estimate
    >>> r = nde_estimate([1] * 10 + [0] * 990)
    >>> n_required(r, rhw=0.3, confidence=0.9).estimate   # ~ (1.645/0.3)^2 (1-p)/p
    2980.0
    """
    per_test, target, level = _validate_n_required(result, rhw, confidence)
    needed = tests_required(per_test, result.estimate, target, level)
    assert result.n is not None
    details: dict[str, Any] = {
        "rhw": target,
        "confidence": level,
        "per_test_variance": per_test,
        "crash_rate": result.estimate,
        "tests_done": result.n,
        "tests_remaining": max(0.0, needed - result.n),
    }
    if not math.isfinite(needed):
        details["warning"] = (
            "no crash observed yet: the number of tests needed is unknown."
            if result.estimate == 0.0
            else f"more than {MAX_TESTS:g} tests would be needed (reported as inf)."
        )
    return Result(
        metric="tests_required",
        estimate=needed,
        method=result.method,
        n=result.n,
        group=result.group,
        details=details,
    )
