"""When can testing stop? Tests needed for a target relative half-width, and the running
estimate and relative half-width as tests accumulate.

The NDE/NADE line of work stops testing when the relative half-width
``z_{1-alpha/2} stderr / mu_hat`` of the normal interval drops below a threshold (0.3 at
90% confidence in Feng et al., Nat. Commun. 12:748, 2021, Fig. 3). With per-test variance
``sigma^2`` the stderr after n tests is ``sigma/sqrt(n)``, so the threshold is met at
``n = (z sigma / (rhw mu))^2``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from varkit.cav._checks import (
    as_crash,
    as_weight,
    relative_half_width,
    z_value,
)
from varkit.checks import check_confidence
from varkit.errors import VarkitError, VarkitTypeError
from varkit.results import Result, ResultSet, make_provenance

__all__ = ["n_required", "running_estimate", "tests_required"]

METHODS = ("nde", "is", "cv", "scv")


def tests_required(
    per_test_variance: float, estimate: float, rhw: float, confidence: float
) -> float:
    """``ceil((z sigma / (rhw mu))^2)``; inf when the estimate is zero."""
    if estimate == 0.0 or not math.isfinite(per_test_variance):
        return float("inf")
    return float(math.ceil(z_value(confidence) ** 2 * per_test_variance / (rhw * estimate) ** 2))


def _validate_n_required(result: Any, rhw: Any, confidence: Any) -> tuple[float, float, float]:
    if not isinstance(result, Result):
        raise VarkitTypeError(f"`result` must be a varkit Result, got {type(result).__name__}.")
    if result.stderr is None or result.n is None or result.n < 1:
        raise VarkitError("`result` needs a standard error and a number of tests `n`.")
    if isinstance(rhw, bool) or not isinstance(rhw, (int, float)) or not rhw > 0:
        raise VarkitError(f"`rhw` must be a positive number, got {rhw!r}.")
    per_test = result.details.get("per_test_variance", result.stderr**2 * result.n)
    return float(per_test), float(rhw), check_confidence(confidence)


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
        details["warning"] = "no crash observed yet: the number of tests needed is unknown."
    return Result(
        metric="tests_required",
        estimate=needed,
        method=result.method,
        n=result.n,
        group=result.group,
        details=details,
    )


def _checkpoints(checkpoints: Any, n: int) -> np.ndarray:
    if checkpoints is None:
        checkpoints = 50
    if isinstance(checkpoints, (int, np.integer)) and not isinstance(checkpoints, bool):
        if checkpoints < 1:
            raise VarkitError(f"`checkpoints` must be positive, got {checkpoints}.")
        grid = np.unique(np.geomspace(2, n, int(checkpoints)).round().astype(int))
        return grid[grid >= 2]
    grid = np.asarray(checkpoints)
    if grid.ndim != 1 or grid.size == 0 or not np.issubdtype(grid.dtype, np.integer):
        raise VarkitTypeError("`checkpoints` must be an integer or a 1-D sequence of integers.")
    if grid.min() < 2 or grid.max() > n:
        raise VarkitError(f"`checkpoints` must lie between 2 and the number of tests ({n}).")
    return np.unique(grid)


def running_estimate(
    crash: Any,
    weight: Any = None,
    *,
    log_weight: Any = None,
    n_critical: Any = None,
    controls: Any = None,
    method: str = "is",
    checkpoints: int | Sequence[int] | None = None,
    confidence: float = 0.9,
    row_ids: Any = None,
    **options: Any,
) -> ResultSet:
    """Estimate and relative half-width after the first n tests, for growing n.

    Parameters
    ----------
    crash, weight, log_weight, n_critical, controls
        As for the estimator named by ``method`` (tests in the order they were run).
    method : {'nde', 'is', 'cv', 'scv'}, default 'is'
        ``nde`` ignores weights; ``cv`` uses ``controls`` and ``weight``; ``scv`` also needs
        ``n_critical``.
    checkpoints : int or sequence of int, optional
        Numbers of tests at which to evaluate: an int asks for that many log-spaced points
        (default 50); ``range(2, n + 1)`` gives every test.
    confidence : float, default 0.9
        Level of the intervals and of the relative half-width.
    row_ids : array-like of int, optional
        Stable id of each test, keying the cross-fitting folds of ``cv``/``scv`` (default
        the position); a test keeps its fold at every checkpoint.
    **options
        Passed on to the control-variate estimator (``fit``, ``crossfit``, ``random_state``,
        ``control_means`` ...).

    Returns
    -------
    ResultSet
        One ``crash_rate`` Result per checkpoint, ``group={"tests": "<n>"}``; the provenance
        lists checkpoints skipped because the method cannot run on so few tests yet.

    Examples
    --------
    >>> from varkit.cav import running_estimate
    >>> rs = running_estimate([0, 1, 0, 0, 1, 0, 0, 0], method="nde", checkpoints=[4, 8])
    >>> [(r.n, r.estimate) for r in rs]
    [(4, 0.25), (8, 0.25)]
    """
    if method not in METHODS:
        raise VarkitError(f"`method` must be one of {', '.join(METHODS)}, got {method!r}.")
    y = as_crash(crash)
    level = check_confidence(confidence)
    grid = _checkpoints(checkpoints, y.size)
    results: list[Result] = []
    skipped: list[dict[str, Any]] = []
    if method in ("nde", "is"):
        z = y if method == "nde" else y * as_weight(weight, log_weight, y.size)
        # Prefix sums give every checkpoint in one pass.
        s1, s2 = np.cumsum(z), np.cumsum(z * z)
        for n in grid:
            mean = s1[n - 1] / n
            var = max(0.0, (s2[n - 1] - n * mean**2) / (n - 1))
            se = math.sqrt(var / n)
            half = z_value(level) * se
            results.append(
                Result(
                    "crash_rate",
                    mean,
                    mean - half,
                    mean + half,
                    level,
                    "nde" if method == "nde" else "importance-sampling",
                    n=int(n),
                    stderr=se,
                    group={"tests": str(n)},
                    details={
                        "relative_half_width": relative_half_width(mean, se, level),
                        "per_test_variance": var,
                    },
                )
            )
    else:
        from varkit.cav.control_variates import control_variate_estimate
        from varkit.cav.sparse import sparse_control_variates

        w = (
            as_weight(weight, log_weight, y.size)
            if (weight is not None or log_weight is not None)
            else None
        )
        h = np.asarray(controls)
        k = None if n_critical is None else np.asarray(n_critical)
        ids = np.arange(y.size) if row_ids is None else np.asarray(row_ids)
        # The full run goes first, so that bad input raises; a prefix too short for the
        # method is skipped and listed.
        for n in grid[::-1]:
            try:
                if method == "cv":
                    r = control_variate_estimate(
                        y[:n],
                        h[:n],
                        weights=None if w is None else w[:n],
                        confidence=level,
                        metric="crash_rate",
                        row_ids=ids[:n],
                        **options,
                    )
                else:
                    if w is None or k is None:
                        raise VarkitError("method 'scv' needs `weight` and `n_critical`.")
                    r = sparse_control_variates(
                        y[:n], w[:n], k[:n], h[:n], confidence=level, row_ids=ids[:n], **options
                    )
            except ValueError as exc:
                if n == grid[-1]:
                    raise
                skipped.append({"tests": int(n), "reason": str(exc)})
                continue
            results.append(r.replace(group={"tests": str(n)}))
        results.reverse()
        skipped.reverse()
    prov = make_provenance(function="varkit.cav.running_estimate", method=method)
    prov["skipped_checkpoints"] = skipped
    return ResultSet(tuple(results), prov)
