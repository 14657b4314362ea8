"""Clopper-Pearson intervals for epsilon: exact binomial intervals joined by a union bound."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from statsmodels.stats.proportion import proportion_confint

from varkit.privacy.bounds import _epsilon, _epsilon_range_over_box
from varkit.privacy.counts import (
    AttackCounts,
    epsilon_result,
    validate_bound,
    validate_confidence,
    validate_counts,
    validate_delta,
)
from varkit.results import Result

__all__ = ["clopper_pearson_epsilon"]


def _validate_clopper_pearson(
    fp: Any, fn: Any, tn: Any, tp: Any, delta: Any, confidence: Any, bound: Any
) -> tuple[AttackCounts, float, float, str]:
    return (
        validate_counts(fp, fn, tn, tp),
        validate_delta(delta),
        validate_confidence(confidence),
        validate_bound(bound),
    )


def rate_alpha(confidence: float, bound: str) -> float:
    """The level ``alpha`` of each rate's two-sided interval, for an epsilon interval.

    Two-sided: ``(1 - confidence) / 2`` per rate, so the union bound over the two rates
    leaves ``1 - confidence``; lower bound: ``1 - confidence`` per rate (see Notes of
    :func:`clopper_pearson_epsilon`).
    """
    alpha = 1.0 - confidence
    return alpha / 2.0 if bound == "two-sided" else alpha


def rate_intervals(
    counts: Mapping[str, Any], alpha: float
) -> tuple[tuple[Any, Any], tuple[Any, Any]]:
    """Two-sided Clopper-Pearson intervals at level ``1 - alpha`` for FPR and for FNR.

    ``counts`` maps ``fp``, ``fn``, ``tn``, ``tp`` to integers or to arrays of them (one
    entry per threshold); returns ``((fpr_lo, fpr_hi), (fnr_lo, fnr_hi))`` as arrays.
    """
    fpr_lo, fpr_hi = proportion_confint(counts["fp"], counts["fp"] + counts["tn"], alpha, "beta")
    fnr_lo, fnr_hi = proportion_confint(counts["fn"], counts["fn"] + counts["tp"], alpha, "beta")
    return (np.asarray(fpr_lo), np.asarray(fpr_hi)), (np.asarray(fnr_lo), np.asarray(fnr_hi))


def clopper_pearson_epsilon(
    *,
    fp: int,
    fn: int,
    tn: int,
    tp: int,
    delta: float = 0.0,
    confidence: float = 0.95,
    bound: str = "two-sided",
) -> Result:
    """Confidence interval (or lower bound) for the epsilon an attack demonstrates.

    Exact Clopper-Pearson intervals for FPR (from the non-members) and FNR (from the
    members) are joined by a union bound into a rectangle that holds the true rates with
    probability at least ``confidence``; the interval is the range of
    :func:`~varkit.privacy.epsilon_from_rates` over that rectangle (Jagielski et al. 2020;
    Nasr et al. 2021; privacy-estimates ``binomial_proportion.compute_eps_lo_hi``).

    Parameters
    ----------
    fp, fn, tn, tp : int
        The attack's confusion counts; at least one member and one non-member.
    delta : float, default 0
        The delta of (epsilon, delta)-DP, in [0, 1).
    confidence : float, default 0.95
        Confidence level in (0, 1).
    bound : {'two-sided', 'lower'}, default 'two-sided'
        ``'two-sided'`` gives each rate a two-sided interval at ``1 - alpha/2`` (``alpha/4``
        per tail). ``'lower'`` gives each rate a two-sided interval at ``1 - alpha``
        (``alpha/2`` per tail, privacy-estimates' ``compute_eps_lo``) and reports
        ``[ci_low, inf)``.

    Returns
    -------
    Result
        ``metric='epsilon'``, ``method='clopper-pearson'``; ``estimate`` is epsilon at the
        observed rates (``inf`` when FP or FN is 0 and the attack beats chance); ``ci_high``
        is ``inf`` whenever the rectangle touches FPR = 0 or FNR = 0 (a zero count),
        because no finite epsilon is then ruled out. ``details`` holds the counts and
        the rate intervals.

    Notes
    -----
    Two-sided coverage is at least ``confidence`` by the union bound over the four tails.
    For ``'lower'`` a miss needs a rate's upper tail to fail (at most ``alpha`` over the two
    rates) or the whole rectangle to land on the far side of the chance line from the
    truth (lower tails, at most another ``alpha``, and negligible unless the true epsilon
    is near 0). The worst-case guarantee is therefore ``1 - 2 alpha`` and the typical one
    ``1 - alpha``; ``tests/privacy/test_coverage.py`` measures it, including at epsilon 0.
    The intervals are conservative: the rectangle's corners are worst cases.

    Examples
    --------
    >>> from varkit.privacy import clopper_pearson_epsilon
    >>> r = clopper_pearson_epsilon(fp=10, fn=400, tn=990, tp=600, confidence=0.95)
    >>> print(r.method, round(r.ci_low, 3), round(r.ci_high, 3))
    clopper-pearson 3.359 4.997
    >>> clopper_pearson_epsilon(fp=0, fn=500, tn=1000, tp=500).ci_high
    inf
    """
    counts, delta, confidence, bound = _validate_clopper_pearson(
        fp, fn, tn, tp, delta, confidence, bound
    )
    alpha = rate_alpha(confidence, bound)
    (fpr_lo, fpr_hi), (fnr_lo, fnr_hi) = rate_intervals(counts.as_dict(), alpha)
    fpr_ci, fnr_ci = (float(fpr_lo), float(fpr_hi)), (float(fnr_lo), float(fnr_hi))
    low_arr, high_arr = _epsilon_range_over_box(*fpr_ci, *fnr_ci, delta)
    low, high = float(low_arr), float(high_arr)
    estimate = float(_epsilon(np.float64(counts.fpr), np.float64(counts.fnr), delta))
    if bound == "lower":
        high = math.inf
    return epsilon_result(
        counts,
        estimate=estimate,
        interval=(low, high),
        confidence=confidence,
        method="clopper-pearson",
        delta=delta,
        bound=bound,
        details={
            "fpr": counts.fpr,
            "fnr": counts.fnr,
            "fpr_interval": list(fpr_ci),
            "fnr_interval": list(fnr_ci),
            "rate_confidence": 1.0 - alpha,
        },
    )
