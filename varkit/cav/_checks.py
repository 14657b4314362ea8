"""Argument checks shared by the crash-rate estimators (one sentence per problem)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from varkit.errors import VarkitError, VarkitTypeError

FloatArray = NDArray[np.float64]

# A likelihood ratio above 1e100 says p puts 1e100 times the mass of q on one test: no
# usable testing distribution does that, and above ~1e154 the sum of squared weights
# that every standard error needs overflows a float. Controls get the same cap.
MAX_WEIGHT = 1e100
MAX_LOG_WEIGHT = math.log(MAX_WEIGHT)
MAX_MAGNITUDE = 1e100

# The crash-rate methods, listed once: crude Monte Carlo (naturalistic driving), importance
# sampling, regression control variates, sparse control variates stratified by n_critical.
METHODS = ("nde", "is", "cv", "scv", "learned")


def check_method(method: Any) -> str:
    """One of :data:`METHODS`; the error names ``method`` and lists them."""
    if method not in METHODS:
        raise VarkitError(f"`method` must be one of {', '.join(METHODS)}, got {method!r}.")
    return str(method)


def is_integer(value: Any) -> bool:
    """An int (numpy's too) that is not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def is_finite_number(value: Any) -> bool:
    """A finite int or float (numpy's too) that is not a bool (nor an int past a float)."""
    if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _first(mask: NDArray[np.bool_]) -> int | None:
    """The position of the first True, or None."""
    return int(np.argmax(mask)) if np.any(mask) else None


def as_vector(
    values: Any, name: str, *, low: float | None = None, high: float | None = None
) -> FloatArray:
    """A finite 1-D float array, optionally bounded; raises one sentence naming ``name``."""
    if isinstance(values, (str, bytes)):
        raise VarkitTypeError(f"`{name}` must be a 1-D array of numbers, got a string.")
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise VarkitTypeError(f"`{name}` must be a 1-D array of numbers.") from None
    if array.ndim != 1:
        raise VarkitError(f"`{name}` must be 1-D, got an array with {array.ndim} dimensions.")
    if array.size == 0:
        raise VarkitError(f"`{name}` is empty.")
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        raise VarkitError(f"`{name}` holds a non-finite value in row {bad[0] + 1}.")
    where = None if low is None else _first(array < low)
    if where is not None:
        raise VarkitError(
            f"`{name}` must be at least {low:g}, got {array[where]:g} in row {where + 1}."
        )
    where = None if high is None else _first(array > high)
    if where is not None:
        raise VarkitError(
            f"`{name}` must be at most {high:g}, got {array[where]:g} in row {where + 1}."
        )
    return array


def as_crash(crash: Any) -> FloatArray:
    """Crash outcomes: 0/1 indicators or crash probabilities in [0, 1]."""
    return as_vector(crash, "crash", low=0.0, high=1.0)


def as_weight(weight: Any, log_weight: Any, n: int) -> FloatArray:
    """Likelihood ratios p/q from ``weight`` or ``log_weight`` (exactly one of them)."""
    if weight is not None and log_weight is not None:
        raise VarkitError("give either `weight` or `log_weight`, not both.")
    if weight is None and log_weight is None:
        raise VarkitError("importance sampling needs `weight` or `log_weight`.")
    if weight is not None:
        w = check_weights(as_vector(weight, "weight", low=0.0), "weight")
        name = "weight"
    else:
        w = check_weights(as_vector(log_weight, "log_weight"), "log_weight")
        name = "log_weight"
    if w.size != n:
        raise VarkitError(f"`{name}` has {w.size} values but `crash` has {n}.")
    return w


def _row(rows: Any, where: int) -> str:
    """'row N' (1-based position) or the caller's own label for position ``where``."""
    return f"row {where + 1}" if rows is None else str(rows[where])


def check_weights(values: FloatArray, column: str, rows: Any = None) -> FloatArray:
    """Likelihood ratios from the finite values of a ``weight`` or ``log_weight`` column.

    ``weight`` must lie in [0, MAX_WEIGHT]; ``log_weight`` at most log(MAX_WEIGHT) (230),
    and is exponentiated (a very negative one underflows to a weight of 0, as it should).
    ``rows`` labels positions in messages (default 'row N', 1-based).
    """
    if column == "log_weight":
        where = _first(values > MAX_LOG_WEIGHT)
        if where is not None:
            raise VarkitError(
                f"`log_weight` must be at most {MAX_LOG_WEIGHT:.4g} (a likelihood ratio of "
                f"{MAX_WEIGHT:g}), got {values[where]:g} in {_row(rows, where)}; no usable "
                "testing distribution has such weights."
            )
        with np.errstate(under="ignore"):
            return np.exp(values)
    where = _first(values < 0)
    if where is not None:
        raise VarkitError(
            f"`weight` must be at least 0, got {values[where]:g} in {_row(rows, where)}."
        )
    where = _first(values > MAX_WEIGHT)
    if where is not None:
        raise VarkitError(
            f"`weight` must be at most {MAX_WEIGHT:g} (a likelihood ratio p/q), got "
            f"{values[where]:g} in {_row(rows, where)}; no usable testing distribution has "
            "such weights, and their squares overflow a float."
        )
    return values


def require_unit_weights(values: FloatArray, column: str, method: str, rows: Any = None) -> None:
    """Refuse a log whose weights are not all 1 for a method that ignores weights."""
    unit = 0.0 if column == "log_weight" else 1.0
    where = _first(values != unit)
    if where is not None:
        raise VarkitError(
            f"`{column}` is not {unit:g} in every test ({_row(rows, where)} holds "
            f"{values[where]:g}): method {method} ignores weights and would estimate the "
            "testing distribution's crash rate; use importance sampling (method 'is', or "
            "'cv'/'scv' with the weights)."
        )


def check_magnitude(values: FloatArray, name: str, rows: Any = None, columns: Any = None) -> None:
    """Refuse values beyond MAX_MAGNITUDE, whose cross-products would overflow.

    ``columns`` names the columns of a 2-D ``values`` (default: column 1, 2, ...).
    """
    big = np.abs(values) > MAX_MAGNITUDE
    if np.any(big):
        where = np.argwhere(big)[0]
        label = _row(rows, int(where[0]))
        column = ""
        if values.ndim == 2:
            j = int(where[1])
            column = f", column {j + 1}" if columns is None else f", column '{columns[j]}'"
        raise VarkitError(
            f"`{name}` must lie within ±{MAX_MAGNITUDE:g}, got "
            f"{float(values[tuple(where)]):g} in {label}{column}; rescale it."
        )


def as_controls(controls: Any, n: int, name: str = "controls") -> FloatArray:
    """A finite (n, d) float matrix of control variates (a 1-D input is one control)."""
    names = [str(c) for c in controls.columns] if hasattr(controls, "columns") else None
    try:
        matrix = np.asarray(controls, dtype=np.float64)
    except (TypeError, ValueError):
        raise VarkitTypeError(f"`{name}` must be a numeric array of shape (n, d).") from None
    if matrix.ndim == 1:
        matrix = matrix[:, None]
    if matrix.ndim != 2:
        raise VarkitError(f"`{name}` must be 2-D (n, d), got {matrix.ndim} dimensions.")
    if matrix.shape[0] != n:
        raise VarkitError(f"`{name}` has {matrix.shape[0]} rows but the outcome has {n}.")
    if matrix.shape[1] == 0:
        raise VarkitError(f"`{name}` has no columns.")
    bad = np.argwhere(~np.isfinite(matrix))
    if bad.size:
        column = bad[0][1] + 1 if names is None else repr(names[bad[0][1]])
        raise VarkitError(
            f"`{name}` holds a non-finite value in row {bad[0][0] + 1}, column {column}."
        )
    check_magnitude(matrix, name, columns=names)
    return matrix


def as_control_means(control_means: Any, d: int) -> FloatArray:
    """Known means of the controls: a scalar for all of them or one per column."""
    means = np.asarray(control_means, dtype=np.float64)
    if means.ndim == 0:
        means = np.full(d, float(means))
    if means.shape != (d,):
        raise VarkitError(
            f"`control_means` must be a scalar or have {d} values, got shape {means.shape}."
        )
    if not np.all(np.isfinite(means)):
        raise VarkitError("`control_means` must be finite.")
    if np.any(np.abs(means) > MAX_MAGNITUDE):
        raise VarkitError(f"`control_means` must lie within ±{MAX_MAGNITUDE:g}.")
    return means


def check_pooling(pool_above: Any, crashes_per_control: Any) -> tuple[int | None, float]:
    """``pool_above`` (None or an integer >= 0) and ``crashes_per_control`` (a number >= 0)."""
    if pool_above is not None and (not is_integer(pool_above) or pool_above < 0):
        raise VarkitError(
            f"`pool_above` must be a non-negative integer or None, got {pool_above!r}."
        )
    if not is_finite_number(crashes_per_control) or crashes_per_control < 0:
        raise VarkitError(
            f"`crashes_per_control` must be a non-negative number, got {crashes_per_control!r}."
        )
    return (None if pool_above is None else int(pool_above)), float(crashes_per_control)


def z_value(confidence: float) -> float:
    """Two-sided normal quantile z_{1-(1-confidence)/2}."""
    return float(stats.norm.ppf(0.5 + confidence / 2.0))


def check_rhw(rhw: Any, name: str = "target_rhw") -> float:
    """A relative half-width: a finite positive number."""
    if not is_finite_number(rhw) or rhw <= 0:
        raise VarkitError(f"`{name}` must be a finite positive number, got {rhw!r}.")
    return float(rhw)


def relative_half_width(estimate: float, stderr: float, confidence: float) -> float:
    """Half-width of the normal interval over the estimate (inf when the estimate is 0)."""
    if estimate == 0.0:  # no crash seen: the relative precision is unknown, not perfect
        return float("inf")
    # z * stderr / |estimate| in logs: a subnormal estimate must not overflow
    if stderr == 0.0:
        return 0.0
    if not math.isfinite(stderr):
        return float("inf")
    log_rhw = math.log(z_value(confidence)) + math.log(stderr) - math.log(abs(estimate))
    return math.exp(log_rhw) if log_rhw < 700.0 else float("inf")
