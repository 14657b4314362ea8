"""Compliance coverage: the share of qualifying ads whose shuffle distance is under the bar.

The 2023 DOJ-Meta settlement counts **ads**: "variance <= 10% for 91.7% of ads (sex) and
81.0% (estimated race/ethnicity)" (DOJ press release, 9 Jan 2023; ``shared/methods/
fairness.md`` sections 1.3 and 2). An unweighted per-ad share can be met while the largest
campaigns fail, so the impression-weighted share is reported beside it (Imana et al.,
FAccT 2025, arXiv 2506.16560).

Pass rule: ``SD <= threshold + tolerance``. The shuffle distance is computed by exact
cross-multiplication (see :func:`varkit.fairness.distances.shuffle_distance`), so an ad at
exactly 10 points reads 0.1 and passes; ``tolerance`` (default 1e-9, stated in
``details``) absorbs the rounding of soft (probability) counts.

Examples
--------
>>> rs = compliance_coverage([0.05, 0.10, 0.2, 0.01], [500, 300, 900, 20],
...                          min_impressions=100, attribute="sex")
>>> r = rs[0]
>>> round(r.estimate, 4), r.n, r.details["excluded"]
(0.6667, 3, {'low_volume': 1, 'no_estimate': 0})
>>> round(rs[1].estimate, 4)                # impression-weighted: (500 + 300) / 1700
0.4706
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from statsmodels.stats.proportion import proportion_confint

from varkit.checks import check_confidence
from varkit.errors import VarkitError
from varkit.results import Result, ResultSet

__all__ = ["compliance_coverage", "passes_threshold"]

DEFAULT_TOLERANCE = 1e-9


def passes_threshold(
    shuffle_distance: Any, threshold: float = 0.10, tolerance: float = DEFAULT_TOLERANCE
) -> np.ndarray:
    """``SD <= threshold + tolerance`` elementwise; NaN never passes.

    Examples
    --------
    >>> passes_threshold([0.1, 0.10000000000000003, 0.1000001, float("nan")]).tolist()
    [True, True, False, False]
    """
    values = np.asarray(shuffle_distance, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.asarray(values <= threshold + tolerance)


def _validate_coverage(
    shuffle_distance: Any,
    impressions: Any,
    threshold: float,
    min_impressions: float,
    confidence: float,
    tolerance: float,
    n_resamples: int,
) -> tuple[np.ndarray, np.ndarray]:
    sd = np.asarray(shuffle_distance, dtype=float).ravel()
    volume = np.asarray(impressions, dtype=float).ravel()
    if sd.size == 0:
        raise VarkitError("`shuffle_distance` is empty.")
    if volume.shape != sd.shape:
        raise VarkitError(
            f"`impressions` has {volume.size} values but `shuffle_distance` has {sd.size}."
        )
    if np.isnan(volume).any():
        raise VarkitError("`impressions` has a missing value.")
    if ((sd < 0) | (sd > 1)).any():
        raise VarkitError("`shuffle_distance` has a value outside [0, 1].")
    if not 0 <= threshold <= 1:
        raise VarkitError(f"`threshold` must be in [0, 1], got {threshold}.")
    if min_impressions < 0:
        raise VarkitError(f"`min_impressions` must be non-negative, got {min_impressions}.")
    check_confidence(confidence)
    if tolerance < 0:
        raise VarkitError(f"`tolerance` must be non-negative, got {tolerance}.")
    if int(n_resamples) < 1:
        raise VarkitError("`n_resamples` must be a positive integer.")
    return sd, volume


def compliance_coverage(
    shuffle_distance: Sequence[float] | np.ndarray,
    impressions: Sequence[float] | np.ndarray,
    *,
    threshold: float = 0.10,
    min_impressions: float = 0,
    confidence: float = 0.95,
    tolerance: float = DEFAULT_TOLERANCE,
    p_under: Sequence[float] | np.ndarray | None = None,
    attribute: str | None = None,
    n_resamples: int = 2000,
    random_state: int | np.random.Generator | None = None,
) -> ResultSet:
    """Share of qualifying ads at or under the threshold, per ad and impression-weighted.

    Parameters
    ----------
    shuffle_distance : array_like
        One shuffle distance per ad (NaN for an ad without an estimate: excluded, counted).
    impressions : array_like
        Each ad's delivered impressions: the volume rule and the weights.
    threshold : float, default 0.10
        The settlement's bar; an ad at exactly the threshold passes.
    min_impressions : float, default 0
        Ads with fewer impressions do not qualify (they are counted in
        ``details["excluded"]["low_volume"]``). The plug-in shuffle distance of a perfectly
        delivered ad is about 0.04 at 100 impressions, so a volume floor matters.
    confidence : float, default 0.95
    tolerance : float, default 1e-9
        Added to the threshold to absorb float rounding of soft counts.
    p_under : array_like, optional
        Per-ad bootstrap probability of being under the threshold; its mean over
        qualifying ads is reported as ``details["expected_coverage"]``, and the share of
        ads whose pass/fail is uncertain (0.025 < p < 0.975) as ``details["uncertain_ads"]``.
    attribute : str, optional
        Label put in ``group``.
    n_resamples : int, default 2000
        Bootstrap resamples of ads for the weighted coverage and the mean distances.
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    ResultSet
        ``compliance_coverage`` per ad (Wilson interval, ads as the sampling units) and
        impression-weighted (percentile bootstrap over ads), then ``mean_shuffle_distance``
        unweighted and impression-weighted (percentile bootstrap over ads).

    References
    ----------
    Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
    inference. JASA 22, 209-212.
    """
    sd, volume = _validate_coverage(
        shuffle_distance,
        impressions,
        threshold,
        min_impressions,
        confidence,
        tolerance,
        n_resamples,
    )
    no_estimate = np.isnan(sd)
    low_volume = ~no_estimate & (volume < min_impressions)
    qualifying = ~no_estimate & ~low_volume
    n_qual = int(qualifying.sum())
    passed = passes_threshold(sd, threshold, tolerance) & qualifying
    n_pass = int(passed.sum())
    label = {"attribute": attribute} if attribute is not None else {}
    common: dict[str, Any] = {
        "threshold": threshold,
        "tolerance": tolerance,
        "min_impressions": min_impressions,
        "n_ads": int(sd.size),
        "n_qualifying": n_qual,
        "n_pass": n_pass,
        "excluded": {"low_volume": int(low_volume.sum()), "no_estimate": int(no_estimate.sum())},
    }
    if p_under is not None:
        prob = np.asarray(p_under, dtype=float).ravel()[qualifying]
        if n_qual:
            common["expected_coverage"] = float(np.nanmean(prob))
            common["uncertain_ads"] = int(((prob > 0.025) & (prob < 0.975)).sum())
    if n_qual == 0:
        nan = float("nan")
        return ResultSet(
            tuple(
                Result(
                    metric,
                    nan,
                    confidence=confidence,
                    method="none",
                    n=0,
                    group={**label, "weighting": weighting},
                    details={**common, "reason": "no qualifying ads"},
                )
                for metric in ("compliance_coverage", "mean_shuffle_distance")
                for weighting in ("ads", "impressions")
            )
        )
    low, high = proportion_confint(n_pass, n_qual, alpha=1 - confidence, method="wilson")
    results = [
        Result(
            "compliance_coverage",
            n_pass / n_qual,
            float(low),
            float(high),
            confidence,
            "wilson",
            n=n_qual,
            stderr=float(np.sqrt(n_pass * (n_qual - n_pass) / n_qual**3)),
            group={**label, "weighting": "ads"},
            details=common,
        )
    ]
    # Bootstrap over ads: the ads are the sampling units of every cross-ad summary.
    rng = np.random.default_rng(random_state)
    w = volume[qualifying]
    x_pass = passed[qualifying].astype(float)
    x_sd = sd[qualifying]
    counts = rng.multinomial(n_qual, np.full(n_qual, 1.0 / n_qual), size=int(n_resamples))
    alpha = (1 - confidence) / 2
    weighted_counts = counts * w
    total_w = weighted_counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        replicates = {
            ("compliance_coverage", "impressions"): weighted_counts @ x_pass / total_w,
            ("mean_shuffle_distance", "ads"): counts @ x_sd / n_qual,
            ("mean_shuffle_distance", "impressions"): weighted_counts @ x_sd / total_w,
        }
    w_sum = w.sum()
    point = {
        ("compliance_coverage", "impressions"): float(w @ x_pass / w_sum) if w_sum > 0 else 0.0,
        ("mean_shuffle_distance", "ads"): float(x_sd.mean()),
        ("mean_shuffle_distance", "impressions"): float(w @ x_sd / w_sum) if w_sum > 0 else 0.0,
    }
    quantiles = np.quantile(x_sd, [0.1, 0.25, 0.5, 0.75, 0.9])
    for (metric, weighting), reps in replicates.items():
        reps = reps[np.isfinite(reps)]
        details = dict(common)
        if metric == "mean_shuffle_distance":
            details["quantiles"] = {
                q: float(v)
                for q, v in zip(("q10", "q25", "q50", "q75", "q90"), quantiles, strict=True)
            }
        results.append(
            Result(
                metric,
                point[(metric, weighting)],
                float(np.quantile(reps, alpha)),
                float(np.quantile(reps, 1 - alpha)),
                confidence,
                "bootstrap-percentile-ads",
                n=n_qual,
                stderr=float(reps.std(ddof=1)) if reps.size > 1 else None,
                group={**label, "weighting": weighting},
                details=details,
            )
        )
    return ResultSet(tuple(results))
