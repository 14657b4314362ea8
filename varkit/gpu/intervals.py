"""Confidence intervals from bootstrap replicates: percentile, basic and BCa.

The formulas and conventions follow ``scipy.stats.bootstrap`` (linear interpolation
between order statistics; the "mean" percentile-of-score for the BCa bias correction) so
that the two agree to Monte Carlo error, with one change: the jackknife values come from
the caller, in closed form for statistics of sums.

References
----------
Efron, B. & Tibshirani, R. (1993). *An Introduction to the Bootstrap*, ch. 13-14
(Eq. 14.9-14.15 for BCa) and 15.4.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.special import ndtr, ndtri

from varkit.checks import one_sided
from varkit.errors import VarkitError

__all__ = [
    "INTERVAL_METHODS",
    "acceleration_from_moments",
    "bca_levels",
    "clip_interval",
    "interval",
    "jackknife_acceleration",
    "jackknife_moments",
]

#: The bootstrap interval methods: percentile, basic (reverse percentile) and BCa.
INTERVAL_METHODS = ("percentile", "basic", "bca")


def jackknife_acceleration(jackknife: Sequence[np.ndarray]) -> float:
    """BCa's acceleration from leave-one-out statistics, one array per independent sample.

    The acceleration sums over samples as in scipy (Efron & Tibshirani 1993, Eq. 14.15).
    """
    deviations = []
    for values in jackknife:
        n = float(values.size)
        deviations.append((n, (n - 1.0) * (values.mean() - values)))
    # the ratio is scale-free: dividing u by its largest magnitude keeps u^3 and the
    # 1.5th power of the sum of u^2 finite for statistics as large as 1e300
    largest = max((float(np.max(np.abs(u))) for _, u in deviations if u.size), default=0.0)
    if not largest > 0 or not np.isfinite(largest):
        return 0.0
    num = 0.0
    den = 0.0
    for n, u in deviations:
        u = u / largest
        u2 = u * u
        num += float(np.dot(u2, u)) / n**3
        den += float(u2.sum()) / n**2
    return num / (6.0 * den**1.5) if den > 0 else 0.0


def jackknife_moments(values: np.ndarray, shift: float) -> np.ndarray:
    """``[count, sum d, sum d^2, sum d^3]`` of ``d = values - shift``: mergeable by adding.

    Partitions of the data add their moments; :func:`acceleration_from_moments` then gives
    the acceleration of the whole jackknife. ``shift`` (the estimate) keeps the sums of
    small deviations free of cancellation.

    Examples
    --------
    >>> v = np.array([1.0, 2.0, 4.0, 8.0])
    >>> m = jackknife_moments(v[:1], 3.0) + jackknife_moments(v[1:], 3.0)
    >>> bool(np.isclose(acceleration_from_moments([m]), jackknife_acceleration([v])))
    True
    """
    d = np.asarray(values, dtype=np.float64) - shift
    return np.array([d.size, d.sum(), np.dot(d, d), np.dot(d * d, d)])


def acceleration_from_moments(moments: Sequence[np.ndarray]) -> float:
    """:func:`jackknife_acceleration` from the merged :func:`jackknife_moments` per sample.

    With ``m`` the mean deviation, ``sum (d - m)^2 = S2 - n m^2`` and ``sum (d - m)^3 =
    S3 - 3 m S2 + 2 n m^3``; ``u = (n - 1)(mean - v) = -(n - 1)(d - m)``.
    """
    num = 0.0
    den = 0.0
    for count, s1, s2, s3 in moments:
        n = float(count)
        if n == 0:
            continue
        m = s1 / n
        c2 = max(s2 - n * m * m, 0.0)
        c3 = s3 - 3.0 * m * s2 + 2.0 * n * m**3
        num += -((n - 1.0) ** 3) * c3 / n**3
        den += (n - 1.0) ** 2 * c2 / n**2
    return num / (6.0 * den**1.5) if den > 0 else 0.0


def bca_levels(
    replicates: np.ndarray,
    estimate: float,
    jackknife: Sequence[np.ndarray] | None,
    alpha: float,
    *,
    acceleration: float | None = None,
) -> tuple[float, float, float, float]:
    """BCa's adjusted percentile levels, with the bias correction z0 and acceleration a.

    ``jackknife`` holds one array of leave-one-out statistics per independent sample; the
    acceleration sums over samples as in scipy (Efron & Tibshirani 1993, Eq. 14.15). A
    precomputed ``acceleration`` (from partitioned data) replaces the jackknife.
    """
    below = np.count_nonzero(replicates < estimate) + np.count_nonzero(replicates <= estimate)
    z0 = float(ndtri(below / (2.0 * replicates.size)))
    if acceleration is not None:
        accel = float(acceleration)
    elif jackknife is not None:
        accel = jackknife_acceleration(jackknife)
    else:
        raise VarkitError("the BCa interval needs the jackknife values or the acceleration.")
    z_lo, z_hi = float(ndtri(alpha)), float(ndtri(1.0 - alpha))
    lo = float(ndtr(z0 + (z0 + z_lo) / (1.0 - accel * (z0 + z_lo))))
    hi = float(ndtr(z0 + (z0 + z_hi) / (1.0 - accel * (z0 + z_hi))))
    return lo, hi, z0, accel


def interval(
    replicates: np.ndarray,
    estimate: float,
    *,
    method: str,
    confidence: float,
    jackknife: Sequence[np.ndarray] | None = None,
    acceleration: float | None = None,
    alternative: str = "two-sided",
) -> tuple[float, float, dict[str, float]]:
    """The interval at ``confidence`` and BCa's diagnostics.

    A one-sided ``alternative`` puts all of ``1 - confidence`` in one tail and returns the
    open end as -inf (``less``) or inf (``greater``); the caller moves it to the
    statistic's own bound where it has one.

    Examples
    --------
    >>> reps = np.linspace(0.0, 1.0, 101)
    >>> [round(v, 12) for v in interval(reps, 0.5, method="percentile", confidence=0.9)[:2]]
    [0.05, 0.95]
    >>> [round(v, 12) for v in interval(reps, 0.6, method="basic", confidence=0.9)[:2]]
    [0.25, 1.15]
    >>> [round(v, 12) for v in interval(reps, 0.5, method="percentile", confidence=0.9,
    ...                                 alternative="less")[:2]]
    [-inf, 0.9]
    """
    # each end's tail: half of 1 - confidence, or all of it at the one closed end
    alpha = (1.0 - confidence) / (2.0 if alternative == "two-sided" else 1.0)
    extra: dict[str, float] = {}
    if method == "bca":
        if jackknife is None and acceleration is None:
            raise VarkitError("the BCa interval needs the jackknife values.")
        lo_level, hi_level, z0, accel = bca_levels(
            replicates, estimate, jackknife, alpha, acceleration=acceleration
        )
        extra = {"bias_correction_z0": z0, "acceleration": accel}
        levels = [lo_level, hi_level]
    else:
        levels = [alpha, 1.0 - alpha]
    if not all(np.isfinite(levels)):
        return float("nan"), float("nan"), extra
    lo, hi = np.percentile(replicates, [100.0 * v for v in levels])
    if method == "basic":
        lo, hi = 2.0 * estimate - hi, 2.0 * estimate - lo
    lo, hi = one_sided(float(lo), float(hi), alternative)
    return lo, hi, extra


def clip_interval(
    low: float,
    high: float,
    bounds: tuple[float, float],
    details: dict[str, Any],
    *,
    reason: str,
) -> tuple[float, float]:
    """The interval ``[low, high]`` clipped to ``bounds``, the clipping stated in ``details``.

    ``details["truncated"]`` names each end that moved and ``reason`` (what the bounds
    are: the range of the statistic, of the score).

    Examples
    --------
    >>> details = {}
    >>> clip_interval(-0.1, 0.4, (0.0, 1.0), details, reason="the range of the statistic")
    (0.0, 0.4)
    >>> details["truncated"]
    'ci_low clipped from -0.1 to 0 (the range of the statistic)'
    """
    lo, hi = bounds
    clipped = []
    if low < lo:
        clipped.append(f"ci_low clipped from {low:.6g} to {lo:g}")
        low = lo
    if high > hi:
        clipped.append(f"ci_high clipped from {high:.6g} to {hi:g}")
        high = hi
    if clipped:
        details["truncated"] = "; ".join(clipped) + f" ({reason})"
    return low, high
