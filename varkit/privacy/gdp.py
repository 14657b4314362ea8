"""Gaussian-DP auditing: an interval for mu from an attack's trade-off point, and epsilon(delta).

A mechanism is mu-GDP (Dong, Roth & Su 2022, "Gaussian Differential Privacy", JRSS-B,
Def. 2.6) when every test between neighbouring datasets has
``FNR >= Phi(Phi^-1(1 - FPR) - mu)``. An attack with rates (FPR, FNR) therefore shows

    mu >= Phi^-1(1 - FPR) - Phi^-1(FNR) = -(Phi^-1(FPR) + Phi^-1(FNR)),

and its mirror image (guesses flipped) shows ``+(Phi^-1(FPR) + Phi^-1(FNR))``, so the mu an
attack demonstrates is ``|U|`` with ``U = Phi^-1(FPR) + Phi^-1(FNR)`` (0 exactly on the
chance line FPR + FNR = 1). Unlike epsilon, this is one smooth expression: no maximum over
two directions, and so no bias where FPR = FNR. For a Gaussian mechanism (member scores
N(mu, 1) against N(0, 1)) every threshold gives exactly ``|U| = mu``.

Posterior: FPR and FNR get the independent Beta posteriors of
:class:`~varkit.privacy.EpsilonPosterior` (Jeffreys priors), and the CDF of U,
``P(U <= u) = E[G_FPR(Phi(u - Phi^-1(FNR)))]``, is a one-dimensional integral in the
quantile space of the more concentrated rate (the same tanh-sinh rule). The interval for
mu comes from the equal-tailed interval [u_lo, u_hi] of U: ``[min |u|, max |u|]`` over it,
with lower end 0 when it contains 0, the chance line (so a random attack's lower bound is
0 in about 1 - t of runs by construction).

epsilon(delta) of a mu-GDP mechanism (Dong, Roth & Su 2022, Cor. 2.13):
``delta(eps) = Phi(-eps/mu + mu/2) - e^eps Phi(-eps/mu - mu/2)``, decreasing in eps and
increasing in mu, solved for eps; the epsilon interval is the map of the mu interval.
This extrapolates from one trade-off point to the whole curve *assuming* the mechanism is
Gaussian-DP (true of DP-SGD's Gaussian noise in the limit of many steps; Nasr et al. 2023,
"Tight Auditing of Differentially Private Machine Learning", USENIX Security): tighter than
the epsilon of the operating point when the assumption holds, not a proof when it does not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import optimize, special
from scipy.optimize import elementwise

from varkit.errors import VarkitError
from varkit.privacy.bayes import _NODES, _WEIGHTS, PRIORS, _betaincinv
from varkit.privacy.counts import (
    AttackCounts,
    validate_bound,
    validate_confidence,
    validate_counts,
    validate_delta,
)
from varkit.results import Result, ResultSet

__all__ = ["gdp_audit", "gdp_epsilon"]

_U_MAX = 80.0  # |Phi^-1(p)| < 38.5 for every double p in (0, 1): |U| < 77


def _u_cdf(u: Any, px: tuple[float, float], py: tuple[float, float]) -> Any:
    """P(Phi^-1(FPR) + Phi^-1(FNR) <= u) for a 1-D array u (FNR ~ Beta(px), FPR ~ Beta(py))."""

    def spread(p: tuple[float, float]) -> float:
        z = special.ndtri(special.betaincinv(*p, np.array([0.16, 0.84])))
        return float(z[1] - z[0])

    # integrate over the rate whose probit is more concentrated; the other's CDF is smooth
    pa, pb = (px, py) if spread(px) <= spread(py) else (py, px)
    za = special.ndtri(_betaincinv(*pa, _NODES))
    inner = special.betainc(*pb, special.ndtr(np.asarray(u, float)[:, None] - za[None, :]))
    return np.clip(inner @ _WEIGHTS, 0.0, 1.0)


def _u_quantiles(q: Any, px: tuple[float, float], py: tuple[float, float]) -> Any:
    q = np.asarray(q, dtype=float)
    lo, hi = np.full(q.shape, -_U_MAX), np.full(q.shape, _U_MAX)
    res = elementwise.find_root(
        lambda u, target: _u_cdf(u, px, py) - target,
        (lo, hi),
        args=(q,),
        tolerances={"xatol": 1e-10, "xrtol": 1e-12},
    )
    return res.x


def _delta_of(eps: float, mu: float) -> float:
    """delta(eps) of a mu-GDP mechanism, the second term in log space (no overflow)."""
    first = special.ndtr(-eps / mu + mu / 2.0)
    second = math.exp(eps + special.log_ndtr(-eps / mu - mu / 2.0))
    return float(first - second)


def _epsilon_of_mu(mu: float, delta: float) -> float:
    if mu <= 0.0 or _delta_of(0.0, mu) <= delta:
        return 0.0
    if delta == 0.0 or math.isinf(mu):
        return math.inf
    # at eps = mu^2/2 - mu Phi^-1(delta) the first term alone is delta
    high = mu * mu / 2.0 - mu * float(special.ndtri(delta)) + 1.0
    return float(optimize.brentq(lambda e: _delta_of(e, mu) - delta, 0.0, high, xtol=1e-12))


def gdp_epsilon(mu: float, delta: float) -> float:
    """The epsilon at ``delta`` of a mu-Gaussian-DP mechanism.

    Parameters
    ----------
    mu : float
        The GDP parameter, >= 0.
    delta : float
        In [0, 1); at 0 a mechanism with mu > 0 has no finite epsilon.

    Returns
    -------
    float
        The smallest eps >= 0 with ``Phi(-eps/mu + mu/2) - e^eps Phi(-eps/mu - mu/2) <=
        delta`` (Dong, Roth & Su 2022, Cor. 2.13; Balle & Wang 2018, Thm. 8, for the
        Gaussian mechanism with noise 1/mu).

    Examples
    --------
    >>> from varkit.privacy import gdp_epsilon
    >>> round(gdp_epsilon(1.0, 1e-5), 4)   # the Gaussian mechanism with noise 1
    4.3772
    >>> gdp_epsilon(0.0, 1e-5), gdp_epsilon(1.0, 0.0)
    (0.0, inf)
    """
    if isinstance(mu, bool) or not isinstance(mu, (int, float)) or math.isnan(mu) or mu < 0:
        raise VarkitError(f"`mu` must be a number >= 0, got {mu!r}.")
    return _epsilon_of_mu(float(mu), validate_delta(delta))


def _validate_gdp(
    fp: Any, fn: Any, tn: Any, tp: Any, delta: Any, confidence: Any, bound: Any
) -> tuple[AttackCounts, tuple[float, ...], float, str]:
    counts = validate_counts(fp, fn, tn, tp)
    deltas_in = [delta] if isinstance(delta, (int, float)) else list(delta)
    if not deltas_in:
        raise VarkitError("`delta` must hold at least one value.")
    deltas = tuple(validate_delta(d) for d in deltas_in)
    return counts, deltas, validate_confidence(confidence), validate_bound(bound)


def gdp_audit(
    *,
    fp: int,
    fn: int,
    tn: int,
    tp: int,
    delta: float | Sequence[float] = 1e-5,
    confidence: float = 0.95,
    bound: str = "two-sided",
) -> ResultSet:
    """Gaussian-DP audit of an attack's counts: an interval for mu and epsilon(delta).

    Parameters
    ----------
    fp, fn, tn, tp : int
        The attack's counts, as in :func:`~varkit.privacy.bayesian_epsilon`; FPR and FNR
        get independent Jeffreys Beta(1/2, 1/2) priors.
    delta : float or sequence of float, default 1e-5
        One epsilon result per delta (0 gives an infinite epsilon for any mu > 0).
    confidence : float, default 0.95
    bound : {'two-sided', 'lower'}, default 'two-sided'
        ``'lower'``: ``[lower end, inf)`` with the lower end from U's equal-tailed
        interval at ``1 - 2 alpha`` (miss probability ``alpha`` on the side of 0).

    Returns
    -------
    ResultSet
        A ``metric='gdp_mu'`` result (estimate: ``|median of U|``), then one
        ``metric='epsilon'``, ``method='gdp-bayes-jeffreys'`` result per delta, the mu
        result mapped through :func:`gdp_epsilon`. ``details`` hold the counts,
        ``u_interval`` and ``lower_bound_reaches_random`` (U's interval contains 0).

    Notes
    -----
    See the module docstring: the mu interval is a function of a credible interval of
    one smooth quantity, so it has none of the tie bias of epsilon, and its coverage is
    measured on a Gaussian mechanism in ``tests/privacy/test_gdp.py``. The epsilon is
    only as good as the assumption that the mechanism is Gaussian-DP.

    Examples
    --------
    >>> from varkit.privacy import gdp_audit
    >>> mu, eps = gdp_audit(fp=80, fn=80, tn=420, tp=420)
    >>> print(mu)
    gdp_mu = 1.987 [1.802, 2.176] (95% gdp-bayes-jeffreys, n=1000)
    >>> round(eps.ci_low, 2), eps.details["delta"]
    (8.8, 1e-05)
    >>> gdp_audit(fp=250, fn=250, tn=250, tp=250)[0].ci_low   # a random attack
    0.0
    """
    counts, deltas, confidence, bound = _validate_gdp(fp, fn, tn, tp, delta, confidence, bound)
    a0, b0 = PRIORS["jeffreys"]
    px, py = (counts.fn + a0, counts.tp + b0), (counts.fp + a0, counts.tn + b0)
    alpha = 1.0 - confidence
    tail = alpha / 2.0 if bound == "two-sided" else alpha
    u_lo, u_med, u_hi = (float(u) for u in _u_quantiles([tail, 0.5, 1.0 - tail], px, py))
    reaches_random = u_lo <= 0.0 <= u_hi
    low = 0.0 if reaches_random else min(abs(u_lo), abs(u_hi))
    high = max(abs(u_lo), abs(u_hi)) if bound == "two-sided" else math.inf
    details = {
        **counts.as_dict(),
        "bound": bound,
        "u_interval": (u_lo, u_hi),
        "lower_bound_reaches_random": reaches_random,
    }
    alternative = "two-sided" if bound == "two-sided" else "greater"
    n = counts.n_members + counts.n_nonmembers
    mu = Result("gdp_mu", abs(u_med), low, high, confidence, "gdp-bayes-jeffreys", n=n)
    mu = mu.replace(alternative=alternative, details=details)
    epsilons = [
        mu.replace(
            metric="epsilon",
            estimate=_epsilon_of_mu(mu.estimate, d),
            ci_low=_epsilon_of_mu(low, d),
            ci_high=_epsilon_of_mu(high, d),
            group={"delta": f"{d:g}"},
            details={**mu.details, "delta": d, "gdp_mu": mu.estimate},
        )
        for d in deltas
    ]
    return ResultSet((mu, *epsilons))
