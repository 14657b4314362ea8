"""Intervals of mean CV scores that stay inside the score's range (accuracy in [0, 1]).

A t interval ``mean +- t se`` of fold accuracies runs past 1 when the mean is near 1
(issue 14: [0.52, 1.21]). For a score in [0, 1] the interval is built on the logit
scale (delta method, ``se_logit = se / (m (1 - m))``) and mapped back, so it lies in
(0, 1) by construction and shrinks towards the bound the way a binomial interval does.
When the folds leave no spread to work with (every fold the same score, or a mean of
exactly 0 or 1) the t interval is a point; the interval is then Clopper-Pearson's of the
pooled test predictions (``round(m n)`` of the ``n`` distinct test rows), and ``details``
say so. Scores with only one bound (r2 <= 1, ``neg_*`` <= 0) and differences of bounded
scores are clipped to their range, with the clipping stated in ``details``.
"""

from __future__ import annotations

import math
from typing import Any

from scipy import stats
from scipy.special import expit, logit

from varkit.gpu.intervals import clip_interval
from varkit.results import Result

__all__ = ["UNIT_SCORINGS", "bounded_mean_interval", "bounded_t_result", "score_range"]

# scikit-learn scorers whose values lie in [0, 1] (sklearn.metrics.get_scorer_names).
_UNIT_PREFIXES = (
    "accuracy",
    "balanced_accuracy",
    "top_k_accuracy",
    "average_precision",
    "roc_auc",
    "f1",
    "precision",
    "recall",
    "jaccard",
)
UNIT_SCORINGS = _UNIT_PREFIXES


def score_range(name: str) -> tuple[float, float]:
    """The range of a scikit-learn scoring name (``(-inf, inf)`` when unknown)."""
    if any(name == p or name.startswith(p + "_") for p in _UNIT_PREFIXES):
        return 0.0, 1.0
    if name == "matthews_corrcoef":
        return -1.0, 1.0
    if name in ("r2", "explained_variance") or name.startswith("d2_"):
        return -math.inf, 1.0
    if name.startswith("neg_"):
        return -math.inf, 0.0
    return -math.inf, math.inf


def bounded_mean_interval(
    mean: float,
    se: float,
    df: float,
    confidence: float,
    bounds: tuple[float, float],
    *,
    n_rows: int | None = None,
) -> tuple[float, float, dict[str, Any]]:
    """Interval of a mean score with standard error ``se`` on ``df`` degrees of freedom.

    Parameters
    ----------
    mean, se, df, confidence
        The mean of the fold scores, its (corrected) standard error, t degrees of freedom
        and the level.
    bounds : (float, float)
        The score's range (:func:`score_range`); for differences of two scores, the range
        of the difference.
    n_rows : int, optional
        Distinct test rows behind the mean, for the Clopper-Pearson fallback of a [0, 1]
        score with no spread.

    Returns
    -------
    (low, high, details)
        ``details`` name the construction (``interval``) and any clipping (``truncated``).

    Examples
    --------
    >>> low, high, d = bounded_mean_interval(0.95, 0.04, 9, 0.95, (0.0, 1.0))
    >>> bool(0.7 < low < 0.95 < high < 1.0), d["interval"]
    (True, 'logit-t')
    >>> low, high, d = bounded_mean_interval(1.0, 0.0, 9, 0.95, (0.0, 1.0), n_rows=60)
    >>> round(low, 4), high, d["interval"]
    (0.9404, 1.0, 'clopper-pearson')
    """
    lo, hi = bounds
    tq = float(stats.t.ppf(0.5 + confidence / 2, df))
    details: dict[str, Any] = {}
    if (lo, hi) == (0.0, 1.0):
        if se > 0 and 0.0 < mean < 1.0:
            centre = float(logit(mean))
            half = tq * se / (mean * (1.0 - mean))
            details["interval"] = "logit-t"
            low, high = float(expit(centre - half)), float(expit(centre + half))
            return min(low, mean), max(high, mean), details
        if n_rows is not None and n_rows > 0:
            k = min(max(round(mean * n_rows), 0), n_rows)
            alpha = 1.0 - confidence
            low = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2, k, n_rows - k + 1))
            high = 1.0 if k == n_rows else float(stats.beta.ppf(1 - alpha / 2, k + 1, n_rows - k))
            details["interval"] = "clopper-pearson"
            details["interval_note"] = (
                f"every value is {mean:.6g} (no spread for a t interval): "
                f"Clopper-Pearson interval of {k} of {n_rows} pooled test predictions"
            )
            return min(low, mean), max(high, mean), details
    half = tq * se
    details["interval"] = "t"
    if se == 0:
        details["interval_note"] = "every value is the same: the t interval is a point"
    low, high = clip_interval(mean - half, mean + half, bounds, details, reason="the score's range")
    return low, high, details


def bounded_t_result(
    result: Result,
    bounds: tuple[float, float],
    *,
    n_rows: int | None = None,
    keep_test: bool = False,
) -> tuple[Result, dict[str, Any]]:
    """A t result of a mean (its estimate, stderr, df and confidence) with the interval
    rebuilt inside ``bounds`` by :func:`bounded_mean_interval`.

    Without ``keep_test`` the statistic, p-value and alternative are dropped: the mean of
    scores is reported, not tested against 0. Returns the result, its ``details``
    unchanged, and the interval's details for the caller to merge.

    Examples
    --------
    >>> t = Result(metric="accuracy", estimate=0.95, stderr=0.04, df=(9.0,), ci_low=0.86,
    ...            ci_high=1.04, confidence=0.95, statistic=23.75, pvalue=0.0)
    >>> r, d = bounded_t_result(t, (0.0, 1.0))
    >>> bool(r.ci_high < 1.0), r.pvalue, d["interval"]
    (True, None, 'logit-t')
    """
    if result.df is None or result.confidence is None:
        raise ValueError("`result` must be a t result, with df and confidence.")
    low, high, details = bounded_mean_interval(
        result.estimate,
        float(result.stderr or 0.0),
        result.df[0],
        result.confidence,
        bounds,
        n_rows=n_rows,
    )
    if keep_test:
        return result.replace(ci_low=low, ci_high=high), details
    no_test = {"statistic": None, "pvalue": None, "alternative": None}
    return result.replace(ci_low=low, ci_high=high, **no_test), details
