"""Confidence intervals for a proportion (accuracy) and the z-test of two proportions."""

from __future__ import annotations

import math

from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from varkit.checks import check_alternative, check_confidence, one_sided
from varkit.errors import VarkitError
from varkit.evaluate._inputs import check_count, finite_float
from varkit.results import Result

__all__ = ["proportion_ci", "proportion_difference"]

# varkit name -> statsmodels name
_METHODS = {
    "normal": "normal",
    "wilson": "wilson",
    "clopper-pearson": "beta",
    "jeffreys": "jeffreys",
    "agresti-coull": "agresti_coull",
}


def _validate_proportion_ci(
    k: object, n: object, method: object, confidence: object, alternative: object
) -> tuple[int, int, str, float, str]:
    n_ = check_count("n", n, minimum=1)
    k_ = check_count("k", k)
    if k_ > n_:
        raise VarkitError(f"`k` ({k_}) must not exceed `n` ({n_}).")
    if method not in _METHODS:
        raise VarkitError(f"`method` must be one of {', '.join(_METHODS)}, got {method!r}.")
    return k_, n_, str(method), check_confidence(confidence), check_alternative(alternative)


def _two_sided_level(confidence: float, alternative: str) -> float:
    """The level of the equal-tailed interval whose one end is the bound at ``confidence``
    (each method's intervals are equal-tailed, so that end is the one-sided bound)."""
    return confidence if alternative == "two-sided" else 2.0 * confidence - 1.0


def proportion_ci(
    k: int,
    n: int,
    *,
    method: str = "wilson",
    confidence: float = 0.95,
    alternative: str = "two-sided",
    metric: str = "accuracy",
) -> Result:
    """Confidence interval for a binomial proportion, e.g. accuracy = k correct of n.

    Parameters
    ----------
    k, n : int
        Successes (correct predictions) and trials (test examples), ``0 <= k <= n``.
    method : {'wilson', 'clopper-pearson', 'jeffreys', 'normal', 'agresti-coull'}
        Interval. ``normal`` is the Wald interval of Raschka (2018), clipped to
        [0, 1]; Wilson and Jeffreys are recommended by Brown, Cai & DasGupta (2001);
        Clopper-Pearson is exact (conservative).
    confidence : float
        Level of the interval.
    alternative : {'two-sided', 'less', 'greater'}
        ``less``: an upper bound, the interval [0, high]; ``greater``: a lower bound,
        [low, 1] (scipy's convention). The bound is the end of the equal-tailed interval
        at level ``2 * confidence - 1``, so its one tail holds ``1 - confidence``.
    metric : str
        Name written into the result.

    Returns
    -------
    Result
        ``estimate = k / n`` with ``stderr = sqrt(p (1 - p) / n)``.

    Notes
    -----
    The bounds come from :func:`statsmodels.stats.proportion.proportion_confint`. Two edge
    fixes follow Brown, Cai & DasGupta (2001): the Jeffreys lower bound is 0
    when ``k = 0`` and the upper bound is 1 when ``k = n``; every bound is clipped to [0, 1].

    References
    ----------
    Raschka, S. (2018). Model evaluation, model selection, and algorithm selection in machine
    learning. arXiv:1811.12808.
    Brown, L. D., Cai, T. T. & DasGupta, A. (2001). Interval estimation for a binomial
    proportion. Statistical Science 16(2), 101-133.

    Examples
    --------
    >>> r = proportion_ci(81, 100, method="wilson")
    >>> round(r.ci_low, 4), round(r.ci_high, 4)
    (0.7222, 0.8749)
    >>> import numpy as np
    >>> counts = np.random.default_rng(0).binomial(50, 0.3, size=400)
    >>> cover = [proportion_ci(int(x), 50).ci_low <= 0.3 <= proportion_ci(int(x), 50).ci_high
    ...          for x in counts]
    >>> bool(0.92 < np.mean(cover) <= 1.0)
    True
    >>> upper = proportion_ci(0, 50, method="clopper-pearson", alternative="less")
    >>> upper.ci_low, round(upper.ci_high, 4)
    (0.0, 0.0582)
    """
    k, n, method, confidence, alternative = _validate_proportion_ci(
        k, n, method, confidence, alternative
    )
    level = _two_sided_level(confidence, alternative)
    low, high = proportion_confint(k, n, alpha=1.0 - level, method=_METHODS[method])
    low, high = float(low), float(high)
    details: dict[str, object] = {"successes": k, "trials": n}
    # at 0 (n) successes every method's bound on that side is exactly 0 (1); statsmodels'
    # Wilson gives 0.9999999999999999 at n of n, below the estimate 1
    low = 0.0 if k == 0 else low
    high = 1.0 if k == n else high
    if method == "normal" and k in (0, n):
        # The Wald interval collapses to a point at 0 or n successes: the open side gets
        # the exact (Clopper-Pearson) bound instead, never a zero-width interval.
        exact_low, exact_high = proportion_confint(k, n, alpha=1.0 - level, method="beta")
        if k == 0:
            low, high = 0.0, float(exact_high)
        else:
            low, high = float(exact_low), 1.0
        details["edge"] = (
            f"{k} of {n}: the Wald interval is a point; the open bound is Clopper-Pearson's"
        )
    elif method == "normal":
        # statsmodels clips the Wald interval silently; compute the raw bounds to say so
        half = float(stats.norm.ppf(0.5 + level / 2)) * math.sqrt(k * (n - k) / n**3)
        low, high = k / n - half, k / n + half
    clipped = []
    if low < 0.0:
        clipped.append(f"ci_low clipped from {low:.6g} to 0")
    if high > 1.0:
        clipped.append(f"ci_high clipped from {high:.6g} to 1")
    if clipped:
        details["truncated"] = "; ".join(clipped)
    low, high = min(max(low, 0.0), 1.0), min(max(high, 0.0), 1.0)
    low, high = one_sided(low, high, alternative, (0.0, 1.0))
    p = k / n
    return Result(
        metric=metric,
        estimate=p,
        ci_low=low,
        ci_high=high,
        confidence=confidence,
        method=method,
        n=n,
        alternative=alternative,
        stderr=math.sqrt(p * (1.0 - p) / n),
        details=details,
    )


def _validate_proportion_difference(
    p1: object, p2: object, n1: object, n2: object, alternative: object, confidence: object
) -> tuple[float, float, int, int, str, float]:
    values = []
    for name, value in (("p1", p1), ("p2", p2)):
        v = finite_float(name, value)
        if not 0.0 <= v <= 1.0:
            raise VarkitError(f"`{name}` must be a proportion in [0, 1], got {v}.")
        values.append(v)
    n1_ = check_count("n1", n1, minimum=1)
    n2_ = n1_ if n2 is None else check_count("n2", n2, minimum=1)
    return (
        values[0],
        values[1],
        n1_,
        n2_,
        check_alternative(alternative),
        check_confidence(confidence),
    )


def proportion_difference(
    p1: float,
    p2: float,
    n1: int,
    n2: int | None = None,
    *,
    alternative: str = "two-sided",
    confidence: float = 0.95,
    pooled: bool = False,
) -> Result:
    """z-test and Wald interval for the difference of two independent proportions.

    Parameters
    ----------
    p1, p2 : float
        The two proportions (e.g. accuracies).
    n1, n2 : int
        Their sample sizes; ``n2`` defaults to ``n1``.
    alternative : {'two-sided', 'less', 'greater'}
        Alternative hypothesis about ``p1 - p2``.
    confidence : float
        Level of the Wald interval of ``p1 - p2``; one-sided (to -1 or to 1) when
        ``alternative`` is.
    pooled : bool
        Use the pooled variance under H0 for the test statistic (the interval always uses
        the unpooled variance).

    Returns
    -------
    Result
        ``metric='proportion_difference'``, estimate ``p1 - p2``, z statistic and p-value.

    Notes
    -----
    Raschka (2018): ``z = (p1 - p2) / sqrt(p1 (1 - p1) / n1 + p2 (1 - p2) / n2)``.
    Written by hand because statsmodels' two-sample functions take counts, not proportions.
    The test assumes independent samples; two models scored on the *same* test set are
    paired, and :func:`varkit.evaluate.mcnemar` is the right test there (Dietterich 1998).
    Unlike ``mlxtend.evaluate.proportion_difference`` (which returns the lower-tail
    probability ``Phi(z)``), the p-value follows ``alternative``.

    Examples
    --------
    >>> r = proportion_difference(0.92, 0.84, 100)
    >>> round(r.statistic, 4), round(r.pvalue, 4)
    (1.7541, 0.0794)
    """
    p1, p2, n1, n2, alternative, confidence = _validate_proportion_difference(
        p1, p2, n1, n2, alternative, confidence
    )
    diff = p1 - p2
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    if pooled:
        pool = (p1 * n1 + p2 * n2) / (n1 + n2)
        se_test = math.sqrt(pool * (1 - pool) * (1 / n1 + 1 / n2))
    else:
        se_test = se
    if se_test > 0:
        z = diff / se_test
    else:
        z = 0.0 if diff == 0 else math.copysign(math.inf, diff)
    if alternative == "two-sided":
        pvalue = float(2 * stats.norm.sf(abs(z)))
    elif alternative == "greater":
        pvalue = float(stats.norm.sf(z))
    else:
        pvalue = float(stats.norm.cdf(z))
    zq = float(stats.norm.ppf(0.5 + _two_sided_level(confidence, alternative) / 2))
    details: dict[str, object] = {"p1": p1, "p2": p2, "n1": n1, "n2": n2}
    if se > 0:
        low, high = diff - zq * se, diff + zq * se
        details["interval"] = "wald"
        if low < -1.0 or high > 1.0:
            details["truncated"] = f"Wald interval [{low:.6g}, {high:.6g}] clipped to [-1, 1]"
        low, high = max(low, -1.0), min(high, 1.0)
    else:
        # Both proportions are 0 or 1: the Wald interval is a point. Newcombe's hybrid
        # score interval (1998, method 10) from the Wilson intervals stays honest there.
        low, high = _newcombe(p1, n1, p2, n2, zq)
        details["interval"] = "newcombe-wilson"
        details["edge"] = "both proportions are 0 or 1: Wald is a point, Newcombe's is used"
    low, high = one_sided(low, high, alternative, (-1.0, 1.0))
    return Result(
        metric="proportion_difference",
        estimate=diff,
        ci_low=min(low, diff),
        ci_high=max(high, diff),
        confidence=confidence,
        method="z-test-pooled" if pooled else "z-test",
        n=n1 + n2,
        stderr=se,
        statistic=z,
        pvalue=min(pvalue, 1.0),
        alternative=alternative,
        details=details,
    )


def _wilson(p: float, n: int, z: float) -> tuple[float, float]:
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(centre - half, 0.0), min(centre + half, 1.0)


def _newcombe(p1: float, n1: int, p2: float, n2: int, z: float) -> tuple[float, float]:
    """Newcombe (1998) method 10: ``d - sqrt((p1 - l1)^2 + (u2 - p2)^2)`` and
    ``d + sqrt((u1 - p1)^2 + (p2 - l2)^2)`` with Wilson bounds ``l, u``; in [-1, 1].

    Newcombe, R. G. (1998). Interval estimation for the difference between independent
    proportions: comparison of eleven methods. Statistics in Medicine 17, 873-890.
    """
    l1, u1 = _wilson(p1, n1, z)
    l2, u2 = _wilson(p2, n2, z)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return max(low, -1.0), min(high, 1.0)
