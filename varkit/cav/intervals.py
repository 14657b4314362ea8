"""Crash-rate intervals that stay in [0, 1]: exact Clopper-Pearson bounds, the zero- and
all-crash edges of importance sampling, and the truncation of normal intervals.

A crash rate lives in [0, 1]. The normal interval ``mean ± z stderr`` of the NDE/NADE
papers does not: with no crash it collapses to [0, 0], with a crash or two it dips below
0, and a weighted mean can pass 1. Here:

* **NDE** (tests drawn from p, 0/1 outcomes) gets the exact Clopper-Pearson interval
  (Clopper and Pearson 1934, Biometrika 26:404), ``beta.ppf(alpha/2, k, n-k+1)`` to
  ``beta.ppf(1-alpha/2, k+1, n-k)``; with ``k = 0`` the upper bound is
  ``1 - (alpha/2)^(1/n)`` (one-sided ``1 - alpha^(1/n)``: 0.058 for n = 50 at 95%), and
  with ``k = n`` the lower bound is ``(alpha/2)^(1/n)`` and the upper bound 1.
* **Importance sampling** (and the control-variate estimators built on it) with no crash:
  ``mu = E_q[Y W] <= W_max P_q(Y > 0)``, so the exact bound on the testing
  distribution's crash probability times a bound ``W_max`` on the likelihood ratio is an
  honest upper bound; with every test a crash, ``mu = E_q[W] - E_q[(1 - Y) W]
  >= 1 - W_max P_q(Y < 1)`` (``E_q[W] = 1`` when q covers p). ``W_max`` is the
  proposal's known bound when given (``1/eps`` for a defensive mixture: 2 for the
  simulator's default proposal), else the largest weight in the log, and at least 1
  (``E_q[W] = 1`` forces ``sup W >= 1``). With ``W_max = 1`` (an NDE log) these are the
  Clopper-Pearson edges.
* Anything else that leaves [0, 1] is clipped, and ``details["truncated"]`` says so.

Examples
--------
>>> low, high = clopper_pearson(0, 50, 0.95, "less")
>>> low, round(high, 3)            # 1 - 0.05**(1/50)
(0.0, 0.058)
>>> [round(b, 4) for b in clopper_pearson(50, 50, 0.95)]   # (0.025**(1/50), 1)
[0.9289, 1.0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from varkit.checks import ALTERNATIVES, check_alternative

__all__ = [
    "ALTERNATIVES",
    "RateEdges",
    "bound_rate",
    "check_alternative",
    "clopper_pearson",
    "no_event_upper",
]


def _tail(confidence: float, alternative: str) -> float:
    """The probability left out on each bounded side."""
    alpha = 1.0 - confidence
    return alpha / 2.0 if alternative == "two-sided" else alpha


def no_event_upper(n: int, confidence: float, alternative: str = "two-sided") -> float:
    """Exact upper bound on an event probability after ``n`` trials without an event.

    ``1 - (alpha/2)^(1/n)`` two-sided, ``1 - alpha^(1/n)`` one-sided ('less'); computed as
    ``-expm1(log(a)/n)`` so that it keeps its digits for large n.
    """
    if alternative == "greater":
        return 1.0
    return float(-math.expm1(math.log(_tail(confidence, alternative)) / n))


def clopper_pearson(
    k: float, n: int, confidence: float, alternative: str = "two-sided"
) -> tuple[float, float]:
    """Clopper-Pearson interval for ``k`` events in ``n`` trials.

    A fractional ``k`` (crash probabilities instead of 0/1 outcomes) uses the same beta
    quantiles, the continuous extension of the binomial tail; it is exact for integers.
    """
    tail = _tail(confidence, alternative)
    k = min(max(float(k), 0.0), float(n))
    low, high = 0.0, 1.0
    if alternative != "less" and k > 0:
        low = float(stats.beta.ppf(tail, k, n - k + 1))
    if alternative != "greater" and k < n:
        high = float(stats.beta.ppf(1.0 - tail, k + 1, n - k))
    return low, high


@dataclass(frozen=True)
class RateEdges:
    """What :func:`bound_rate` needs besides the normal interval.

    Attributes
    ----------
    n : int
        Tests.
    crashes : int
        Tests with ``Y > 0``.
    full : int
        Tests with ``Y = 1``.
    weight_bound : float
        ``W_max`` (module docstring), already at least 1.
    weight_source : str
        Where ``weight_bound`` came from, for ``details``.
    alternative : str
        ``two-sided``, ``less`` or ``greater``.
    """

    n: int
    crashes: int
    full: int
    weight_bound: float = 1.0
    weight_source: str = "all weights are 1"
    alternative: str = "two-sided"


def bound_rate(
    estimate: float,
    ci_low: float,
    ci_high: float,
    confidence: float,
    edges: RateEdges,
    details: dict[str, Any],
) -> tuple[float, float, float]:
    """A crash-rate estimate and interval in [0, 1], with the zero/all-crash edges.

    ``details`` receives ``zero_crash_bound`` / ``all_crash_bound`` (what bound was used
    and why) and ``truncated`` (each clipped value, from and to) where they apply.
    """
    alt = edges.alternative
    if alt == "less":
        ci_low = 0.0
    elif alt == "greater":
        ci_high = 1.0
    if edges.n > 0 and edges.crashes == 0:
        upper = no_event_upper(edges.n, confidence, alt)
        high = min(1.0, edges.weight_bound * upper)
        details["zero_crash_bound"] = {
            "ci_high": high,
            "testing_crash_upper": upper,
            "weight_bound": edges.weight_bound,
            "weight_bound_source": edges.weight_source,
            "why": (
                "no crash observed (or only crashes of weight 0, which carry no mass "
                "under p): the rate is at most the weight bound times the exact "
                "(Clopper-Pearson) upper bound on the testing distribution's crash "
                "probability, mu = E_q[Y W] <= W_max P_q(crash)."
            ),
        }
        return 0.0, 0.0, high
    out = {"estimate": estimate, "ci_low": ci_low, "ci_high": ci_high}
    if edges.n > 0 and edges.full == edges.n:
        upper = no_event_upper(edges.n, confidence, "less" if alt != "two-sided" else alt)
        low = max(0.0, 1.0 - edges.weight_bound * upper) if alt != "less" else 0.0
        details["all_crash_bound"] = {
            "ci_low": min(low, ci_low),
            "testing_no_crash_upper": upper,
            "weight_bound": edges.weight_bound,
            "weight_bound_source": edges.weight_source,
            "why": (
                "every test crashed: the rate is at least 1 minus the weight bound times the "
                "exact (Clopper-Pearson) upper bound on the testing distribution's "
                "probability of no crash, mu = 1 - E_q[(1 - Y) W] >= 1 - W_max P_q(no crash)."
            ),
        }
        out["ci_low"], out["ci_high"] = min(low, ci_low), 1.0
    clipped = []
    for name in ("estimate", "ci_low", "ci_high"):
        value = out[name]
        fixed = float(np.clip(value, 0.0, 1.0)) if not math.isnan(value) else value
        if fixed != value:
            clipped.append(f"{name} clipped from {value:.6g} to {fixed:g}")
            out[name] = fixed
    if clipped:
        previous = details.get("truncated")
        text = "; ".join(clipped) + " (a crash rate lies in [0, 1])"
        details["truncated"] = text if previous is None else f"{previous}; {text}"
    return out["estimate"], out["ci_low"], out["ci_high"]
