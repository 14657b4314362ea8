"""Auditing epsilon with one training run (Steinke, Nasr and Jagielski, NeurIPS 2023).

``m`` canaries are each included in the training set, or not, by an independent fair
coin; one model is trained; an attack guesses "included" or "excluded" for ``r`` of them
and abstains on the rest. If training is (epsilon, delta)-DP, the number of right
guesses cannot be much larger than that of ``r`` guesses each right with probability
``e^eps / (1 + e^eps)`` (randomized response), so many right guesses rule out small
epsilons: :func:`one_run_audit` turns the counts into a lower bound on epsilon, and
:func:`audit_one_run` reads a canary log, makes the guesses from the attack's scores and
calls it.
"""

from __future__ import annotations

import math
import numbers
import os
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import bdtrc, expit, gammaln, xlog1py, xlogy

from varkit.checks import check_confidence
from varkit.errors import VarkitError, VarkitTypeError
from varkit.privacy.counts import validate_delta
from varkit.privacy.logs import read_canary_log
from varkit.results import Result, ResultSet, make_provenance

__all__ = ["audit_one_run", "one_run_audit", "one_run_p_value"]

_METHOD = "one-run-steinke2023"
_XTOL = 1e-9


def _whole(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise VarkitTypeError(f"`{name}` must be an integer >= {low}, got {value!r}.")
    if value < low:
        raise VarkitError(f"`{name}` must be an integer >= {low}, got {value}.")
    return int(value)


def _validate_counts(n_canaries: Any, n_guesses: Any, n_correct: Any) -> tuple[int, int, int]:
    m = _whole("n_canaries", n_canaries, 1)
    r = _whole("n_guesses", n_guesses, 0)
    v = _whole("n_correct", n_correct, 0)
    if r > m:
        raise VarkitError(f"`n_guesses` ({r}) must not exceed `n_canaries` ({m}).")
    if v > r:
        raise VarkitError(f"`n_correct` ({v}) must not exceed `n_guesses` ({r}).")
    return m, r, v


def one_run_p_value(m: int, r: int, v: int, epsilon: float, delta: float) -> float:
    """P[at least ``v`` of ``r`` guesses right] under (epsilon, delta)-DP, ``m`` canaries.

    With ``W ~ Binomial(r, e^eps / (1 + e^eps))``: ``P[W >= v] + 2 m delta alpha``, where
    ``alpha = max_{1 <= i <= v} P[v - i <= W < v] / i`` (the paper's bound for
    delta > 0), capped at 1. Inputs are trusted (see :func:`one_run_audit`).
    """
    if v == 0:
        return 1.0
    q = float(expit(epsilon))
    tail = float(bdtrc(v - 1, r, q))  # P[W >= v]
    if delta == 0.0:
        return min(tail, 1.0)
    # P[v - i <= W <= v - 1] for i = 1..v: the pmf summed down from v - 1
    k = np.arange(v - 1, -1, -1)
    log_pmf = gammaln(r + 1) - gammaln(k + 1) - gammaln(r - k + 1) + xlogy(k, q)
    window = np.cumsum(np.exp(log_pmf + xlog1py(r - k, -q)))
    i = np.arange(1, v + 1)
    alpha = float(np.max(window / i))
    return min(tail + 2.0 * m * delta * alpha, 1.0)


def _lower_bound(m: int, r: int, v: int, delta: float, level: float) -> float:
    """The largest epsilon whose p-value is at most ``level`` (0 if none is)."""
    if one_run_p_value(m, r, v, 0.0, delta) > level:
        return 0.0

    def gap(eps: float) -> float:
        return one_run_p_value(m, r, v, eps, delta) - level

    low, high = 0.0, 1.0
    while gap(high) <= 0.0:  # the p-value tends to 1 as epsilon grows (v <= r)
        low, high = high, 2.0 * high
    return float(brentq(gap, low, high, xtol=_XTOL))


def one_run_audit(
    *, n_canaries: int, n_guesses: int, n_correct: int, delta: float = 0.0, confidence: float = 0.95
) -> Result:
    """Lower bound on epsilon from one training run's canary guesses (Steinke et al. 2023).

    Each of ``n_canaries`` canaries was included in training by an independent fair
    coin; the attack guessed on ``n_guesses`` of them (abstaining on the rest) and got
    ``n_correct`` right. The bound is the largest epsilon that the counts reject at level
    ``1 - confidence``: with ``W ~ Binomial(r, e^eps / (1 + e^eps))``, ``r`` guesses
    and ``v`` right, epsilon is rejected when

    ``P[W >= v] + 2 m delta max_{1 <= i <= v} P[v - i <= W < v] / i <= 1 - confidence``.

    For delta = 0 this is the paper's main theorem (Section 3: under epsilon-DP the
    number of right guesses, given the number of guesses, is stochastically dominated
    by ``W``); the delta term is their bound for (epsilon, delta)-DP as their Appendix D
    procedure computes it (``p_value_DP_audit``, and ``get_eps_audit``'s search for the
    largest rejected epsilon, here by Brent's method to 1e-9 instead of bisection).

    Parameters
    ----------
    n_canaries : int
        ``m``, the number of canaries randomized (guessed on or not), >= 1.
    n_guesses : int
        ``r``, the number of guesses (canaries not abstained on), in [0, m].
    n_correct : int
        ``v``, the number of right guesses, in [0, r].
    delta : float, default 0
        The delta of (epsilon, delta)-DP, in [0, 1).
    confidence : float, default 0.95
        The bound holds with probability at least ``confidence``.

    Returns
    -------
    Result
        ``metric='epsilon'``, ``method='one-run-steinke2023'``, ``alternative='greater'``:
        ``estimate == ci_low`` is the lower bound (0 when no epsilon is rejected, e.g. for
        guesses no better than chance) and ``ci_high`` is ``inf``. ``n`` is the number
        of canaries; ``details`` hold the counts, delta and the guesses' accuracy.

    Notes
    -----
    The guarantee needs the inclusion coins to be fair and independent of everything
    the attack used to choose where to guess, and the guesses to be made before the
    coins are looked at. Abstaining is free: guessing only on the most confident
    canaries raises the bound. With every guess right the bound grows only like
    ``log(r)`` in the number of guesses, and delta > 0 lowers it, the more so the more
    canaries there are (the ``2 m delta`` term).

    References
    ----------
    T. Steinke, M. Nasr and M. Jagielski, "Privacy auditing with one (1) training run",
    NeurIPS 2023, arXiv:2305.08846.

    Examples
    --------
    100 guesses, all right, on 1000 canaries: with delta = 0 the bound solves
    ``q^100 = 0.05`` for ``q = e^eps / (1 + e^eps)``, i.e. ``eps = logit(0.05^(1/100))``:

    >>> import math
    >>> from varkit.privacy import one_run_audit
    >>> r = one_run_audit(n_canaries=1000, n_guesses=100, n_correct=100)
    >>> q = 0.05 ** (1 / 100)
    >>> round(r.ci_low, 6) == round(math.log(q / (1 - q)), 6), r.ci_high
    (True, inf)
    >>> round(r.ci_low, 3)
    3.493

    Guesses at chance demonstrate nothing:

    >>> one_run_audit(n_canaries=1000, n_guesses=200, n_correct=100, delta=1e-5).ci_low
    0.0
    """
    m, r, v = _validate_counts(n_canaries, n_guesses, n_correct)
    delta = validate_delta(delta)
    confidence = check_confidence(confidence)
    bound = _lower_bound(m, r, v, delta, 1.0 - confidence)
    counts = {"n_canaries": m, "n_guesses": r, "n_correct": v, "accuracy": v / r if r else math.nan}
    result = Result("epsilon", bound, ci_low=bound, ci_high=math.inf, confidence=confidence, n=m)
    return result.replace(
        method=_METHOD,
        alternative="greater",
        details={**counts, "delta": delta, "bound": "lower"},
    )


def _guesses(score: Any, n_guesses: int) -> tuple[Any, Any]:
    """Masks of the canaries guessed "included" (top scores) and "excluded" (bottom).

    ``ceil(k/2)`` top and ``floor(k/2)`` bottom scores, as in the paper; canaries tied
    with the first one left out at either end are abstained on, so that the guesses
    depend on the scores only and never on the log's row order.
    """
    k_top, k_bottom = (n_guesses + 1) // 2, n_guesses // 2
    ordered = np.sort(score)
    m = score.size
    # strictly beyond the first score left out: k_bottom < m always, k_top = m only for m = 1
    top = score > ordered[m - k_top - 1] if k_top < m else np.ones(m, dtype=bool)
    bottom = score < ordered[k_bottom]
    return top, bottom


def audit_one_run(
    log: pd.DataFrame | str | os.PathLike[str],
    *,
    n_guesses: int,
    included_col: str = "included",
    score_col: str = "score",
    id_col: str = "canary_id",
    delta: float = 0.0,
    confidence: float = 0.95,
) -> ResultSet:
    """One-run audit of a canary log: guess on the extreme scores, bound epsilon.

    The attack guesses "included" for the ``ceil(k/2)`` highest scores and "excluded"
    for the ``floor(k/2)`` lowest, abstains on the rest (as Steinke et al. 2023 do),
    counts the right guesses and calls :func:`one_run_audit` with every row of the log
    as a canary.

    Parameters
    ----------
    log : DataFrame, str or path-like
        One row per canary of the single training run: a DataFrame, a CSV or Parquet
        file, or a glob of them (read in name order, as one table).
    n_guesses : int
        ``k``, the number of guesses, in [1, number of canaries]. Canaries tied in score
        with one left out at either end are abstained on, so fewer guesses may be made
        (``details['n_guesses']``).
    included_col, score_col, id_col : str, optional
        The 0/1 column saying whether each canary was trained on (default
        ``'included'``), the attack's score, higher meaning included (default
        ``'score'``), and an optional canary id column (default ``'canary_id'``; when
        present, every id must be unique).
    delta, confidence : float
        As in :func:`one_run_audit`.

    Returns
    -------
    ResultSet
        One :func:`one_run_audit` result, with ``details`` also holding the guesses made
        on each side and the score thresholds; the provenance names the function and
        the files read.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from varkit.privacy import audit_one_run
    >>> rng = np.random.default_rng(0)
    >>> included = rng.integers(0, 2, 1000)
    >>> log = pd.DataFrame({"included": included, "score": included + rng.normal(0, 0.3, 1000)})
    >>> rs = audit_one_run(log, n_guesses=100, delta=1e-5)
    >>> r = rs[0]
    >>> r.details["n_correct"], r.details["n_guesses"], round(r.ci_low, 2)
    (100, 100, 3.47)
    """
    data = read_canary_log(log, included_col=included_col, score_col=score_col, id_col=id_col)
    m = data.score.size
    k = _whole("n_guesses", n_guesses, 1)
    if k > m:
        raise VarkitError(f"`n_guesses` ({k}) must not exceed the number of canaries ({m}).")
    top, bottom = _guesses(data.score, k)
    correct = int((top & data.included).sum() + (bottom & ~data.included).sum())
    made = int(top.sum() + bottom.sum())
    result = one_run_audit(
        n_canaries=m, n_guesses=made, n_correct=correct, delta=delta, confidence=confidence
    )
    details = {
        **result.details,
        "n_guesses_asked": k,
        "guessed_included": int(top.sum()),
        "guessed_excluded": int(bottom.sum()),
        "score_direction": "higher score means included",
    }
    provenance = make_provenance(
        function="varkit.privacy.audit_one_run", inputs=data.inputs, device="cpu"
    )
    return ResultSet((result.replace(details=details),), provenance=provenance)
