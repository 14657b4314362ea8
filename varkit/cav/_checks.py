"""Argument checks shared by the crash-rate estimators (one sentence per problem)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from varkit.errors import VarkitError, VarkitTypeError

FloatArray = NDArray[np.float64]


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
        raise VarkitError(f"`{name}` holds a non-finite value at position {bad[0]}.")
    if low is not None and np.any(array < low):
        where = int(np.flatnonzero(array < low)[0])
        raise VarkitError(
            f"`{name}` must be at least {low:g}, got {array[where]:g} at position {where}."
        )
    if high is not None and np.any(array > high):
        where = int(np.flatnonzero(array > high)[0])
        raise VarkitError(
            f"`{name}` must be at most {high:g}, got {array[where]:g} at position {where}."
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
        w = as_vector(weight, "weight", low=0.0)
        name = "weight"
    else:
        lw = as_vector(log_weight, "log_weight")
        if np.any(lw > 700.0):
            raise VarkitError("`log_weight` above 700 overflows a float; rescale the weights.")
        w = np.exp(lw)
        name = "log_weight"
    if w.size != n:
        raise VarkitError(f"`{name}` has {w.size} values but `crash` has {n}.")
    return w


def as_controls(controls: Any, n: int, name: str = "controls") -> FloatArray:
    """A finite (n, d) float matrix of control variates (a 1-D input is one control)."""
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
        raise VarkitError(
            f"`{name}` holds a non-finite value at row {bad[0][0]}, column {bad[0][1]}."
        )
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
    return means


def check_pooling(pool_above: Any, crashes_per_control: Any) -> tuple[int | None, float]:
    """``pool_above`` (None or an integer >= 0) and ``crashes_per_control`` (a number >= 0)."""
    if pool_above is not None and (
        isinstance(pool_above, bool)
        or not isinstance(pool_above, (int, np.integer))
        or pool_above < 0
    ):
        raise VarkitError(
            f"`pool_above` must be a non-negative integer or None, got {pool_above!r}."
        )
    if (
        isinstance(crashes_per_control, bool)
        or not isinstance(crashes_per_control, (int, float, np.integer, np.floating))
        or not np.isfinite(crashes_per_control)
        or crashes_per_control < 0
    ):
        raise VarkitError(
            f"`crashes_per_control` must be a non-negative number, got {crashes_per_control!r}."
        )
    return (None if pool_above is None else int(pool_above)), float(crashes_per_control)


def z_value(confidence: float) -> float:
    """Two-sided normal quantile z_{1-(1-confidence)/2}."""
    return float(stats.norm.ppf(0.5 + confidence / 2.0))


def relative_half_width(estimate: float, stderr: float, confidence: float) -> float:
    """Half-width of the normal interval over the estimate (inf when the estimate is 0)."""
    if estimate == 0.0:  # no crash seen: the relative precision is unknown, not perfect
        return float("inf")
    return float(z_value(confidence) * stderr / abs(estimate))
