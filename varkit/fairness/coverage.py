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
from varkit.errors import VarkitError, note
from varkit.results import Result, ResultSet

__all__ = ["compliance_coverage", "passes_threshold"]

DEFAULT_TOLERANCE = 1e-9
# More ad-bootstrap replicates than this add nothing to a percentile interval but time.
MAX_RESAMPLES = 10**7


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
    if not np.isfinite(volume).all():
        position = int(np.flatnonzero(~np.isfinite(volume))[0])
        raise VarkitError(
            f"`impressions` must be finite, but ad {position + 1} holds {volume[position]}."
        )
    if ((sd < 0) | (sd > 1)).any():
        raise VarkitError("`shuffle_distance` has a value outside [0, 1].")
    if not 0 <= threshold <= 1:
        raise VarkitError(f"`threshold` must be in [0, 1], got {threshold}.")
    if not min_impressions >= 0:  # NaN too
        raise VarkitError(f"`min_impressions` must be non-negative, got {min_impressions}.")
    check_confidence(confidence)
    if not 0 <= tolerance < 1:
        raise VarkitError(f"`tolerance` must be in [0, 1), got {tolerance}.")
    if (
        isinstance(n_resamples, bool)
        or not isinstance(n_resamples, (int, np.integer))
        or not 1 <= n_resamples <= MAX_RESAMPLES
    ):
        raise VarkitError(
            f"`n_resamples` must be an integer from 1 to {MAX_RESAMPLES}, got {n_resamples!r}."
        )
    return sd, volume


def _coverage_interval(n_pass: int, n: int, confidence: float) -> tuple[float, float, dict]:
    """Wilson interval for ``n_pass`` of ``n`` ads; exact (Clopper-Pearson) when none or all
    pass.

    At 0 (or ``n``) passes the Clopper-Pearson bound ``1 - (alpha/2)^(1/n)`` replaces
    Wilson's, which is not exact there and, computed in floats, can put its lower end a
    rounding error above an estimate of 0. ``tests/fairness/test_edges.py`` computes the
    exact coverage of the result for n = 1 to 60.
    """
    alpha = 1.0 - confidence
    if n_pass == 0:
        high = float(-np.expm1(np.log(alpha / 2.0) / n))
        return 0.0, high, {"interval": "clopper-pearson upper bound at 0 passing ads"}
    if n_pass == n:
        low = float(np.exp(np.log(alpha / 2.0) / n))
        return low, 1.0, {"interval": "clopper-pearson lower bound when every ad passes"}
    low, high = proportion_confint(n_pass, n, alpha=alpha, method="wilson")
    return float(low), float(high), {}


# Bound on the (resamples x ads) multinomial counts held at once by the ad bootstrap.
_BATCH_CELLS = 1 << 22


def _ad_bootstrap(
    w: np.ndarray, x_pass: np.ndarray, x_sd: np.ndarray, n_resamples: int, rng: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Replicates of the weighted coverage and the two mean distances, resampling ads.

    Batched so that memory is O(batch x ads) whatever ``n_resamples`` and the number
    of ads; replicates with no weight are NaN (dropped by the caller).
    """
    n_ads = x_sd.size
    out = np.empty((3, n_resamples))
    batch = max(1, _BATCH_CELLS // n_ads)
    for start in range(0, n_resamples, batch):
        stop = min(n_resamples, start + batch)
        counts = rng.multinomial(n_ads, np.full(n_ads, 1.0 / n_ads), size=stop - start)
        weighted = counts * w
        total = weighted.sum(axis=1)
        safe = np.where(total > 0, total, 1.0)
        out[0, start:stop] = np.where(total > 0, weighted @ x_pass / safe, np.nan)
        out[1, start:stop] = counts @ x_sd / n_ads
        out[2, start:stop] = np.where(total > 0, weighted @ x_sd / safe, np.nan)
    return out[0], out[1], out[2]


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
        ``compliance_coverage`` per ad (Wilson interval, ads as the sampling units, exact
        Clopper-Pearson when no ad or every ad passes) and
        impression-weighted (percentile bootstrap over ads), then ``mean_shuffle_distance``
        unweighted and impression-weighted (percentile bootstrap over ads).

    References
    ----------
    Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
    inference. JASA 22, 209-212.

    Examples
    --------
    Two of three ads pass, but the largest one fails:

    >>> rs = compliance_coverage([0.02, 0.08, 0.15], [400, 250, 900], attribute="sex",
    ...                          random_state=0)
    >>> [(r.metric, r.group["weighting"], round(r.estimate, 3)) for r in rs]
    ... # doctest: +NORMALIZE_WHITESPACE
    [('compliance_coverage', 'ads', 0.667), ('compliance_coverage', 'impressions', 0.419),
     ('mean_shuffle_distance', 'ads', 0.083), ('mean_shuffle_distance', 'impressions', 0.105)]
    >>> round(rs[0].ci_low, 3), round(rs[0].ci_high, 3)   # Wilson, three ads
    (0.208, 0.939)
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
        return _undefined(common, label, confidence, int(low_volume.sum()), min_impressions)
    low, high, boundary = _coverage_interval(n_pass, n_qual, confidence)
    results = [
        Result(
            "compliance_coverage",
            n_pass / n_qual,
            low,
            high,
            confidence,
            "wilson",
            n=n_qual,
            stderr=float(np.sqrt(n_pass * (n_qual - n_pass) / n_qual**3)),
            group={**label, "weighting": "ads"},
            details={**common, **boundary},
        )
    ]
    # Bootstrap over ads: the ads are the sampling units of every cross-ad summary.
    results.extend(
        _ad_bootstrap_results(
            volume[qualifying],
            passed[qualifying].astype(float),
            sd[qualifying],
            common=common,
            label=label,
            confidence=confidence,
            n_resamples=int(n_resamples),
            rng=np.random.default_rng(random_state),
        )
    )
    return ResultSet(tuple(results))


def _undefined(
    common: dict[str, Any],
    label: dict[str, str],
    confidence: float,
    n_low_volume: int,
    min_impressions: float,
) -> ResultSet:
    """No ad to take a share of: NaN results, with the reason stated and warned about."""
    if n_low_volume:
        reason = (
            f"no qualifying ads: all {n_low_volume} ads with an estimate have "
            f"fewer than min_impressions={min_impressions:g} impressions"
        )
    else:
        reason = "no qualifying ads: no ad has a shuffle-distance estimate"
    scope = f" for attribute {label['attribute']!r}" if label else ""
    note(common, f"compliance coverage{scope} is undefined ({reason}).")
    return ResultSet(
        tuple(
            Result(
                metric,
                float("nan"),
                confidence=confidence,
                method="none",
                n=0,
                group={**label, "weighting": weighting},
                details={**common, "reason": reason},
            )
            for metric in ("compliance_coverage", "mean_shuffle_distance")
            for weighting in ("ads", "impressions")
        )
    )


_QUANTILES = ("q10", "q25", "q50", "q75", "q90")


def _ad_bootstrap_results(
    w: np.ndarray,
    x_pass: np.ndarray,
    x_sd: np.ndarray,
    *,
    common: dict[str, Any],
    label: dict[str, str],
    confidence: float,
    n_resamples: int,
    rng: np.random.Generator,
) -> list[Result]:
    """The impression-weighted coverage and both mean distances, percentile bootstrap
    over the qualifying ads (weights ``w``, pass indicators, distances)."""
    keys = [
        ("compliance_coverage", "impressions"),
        ("mean_shuffle_distance", "ads"),
        ("mean_shuffle_distance", "impressions"),
    ]
    w_sum = float(w.sum())
    replicates = _ad_bootstrap(w, x_pass, x_sd, n_resamples, rng)
    point = {
        keys[0]: float(w @ x_pass / w_sum) if w_sum > 0 else float("nan"),
        keys[1]: float(x_sd.mean()),
        keys[2]: float(w @ x_sd / w_sum) if w_sum > 0 else float("nan"),
    }
    quantiles = np.quantile(x_sd, [0.1, 0.25, 0.5, 0.75, 0.9])
    results = []
    for key, reps in zip(keys, replicates, strict=True):
        metric, weighting = key
        reps = reps[np.isfinite(reps)]
        details = dict(common)
        if metric == "mean_shuffle_distance":
            details["quantiles"] = {q: float(v) for q, v in zip(_QUANTILES, quantiles, strict=True)}
        estimate = point[key]
        group = {**label, "weighting": weighting}
        if not np.isfinite(estimate) or reps.size == 0:
            details["reason"] = "the qualifying ads have no impressions to weight by"
            results.append(
                Result(
                    metric,
                    float("nan"),
                    confidence=confidence,
                    method="none",
                    n=len(x_sd),
                    group=group,
                    details=details,
                )
            )
            continue
        low, high = _percentile_interval(metric, estimate, reps, w, confidence, details)
        results.append(
            Result(
                metric,
                estimate,
                low,
                high,
                confidence,
                "bootstrap-percentile-ads",
                n=len(x_sd),
                stderr=float(reps.std(ddof=1)) if reps.size > 1 else None,
                group=group,
                details=details,
            )
        )
    return results


def _percentile_interval(
    metric: str,
    estimate: float,
    reps: np.ndarray,
    w: np.ndarray,
    confidence: float,
    details: dict[str, Any],
) -> tuple[float, float]:
    """The percentile interval of the replicates, with its two repairs noted in ``details``."""
    alpha = (1 - confidence) / 2
    low, high = (float(v) for v in np.quantile(reps, [alpha, 1 - alpha]))
    if metric == "compliance_coverage" and estimate in (0.0, 1.0) and low == high:
        # no (every) ad passes: every ad resample repeats it. Clopper-Pearson on the
        # Kish effective number of ads, (sum w)^2 / sum w^2, bounds the weighted share
        # (Korn & Graubard 1998, Survey Methodology 24:193-201); exact for equal weights
        n_eff = float(w.sum()) ** 2 / float(w @ w)
        bound = float(-np.expm1(np.log(alpha) / n_eff))
        low, high = (0.0, bound) if estimate == 0.0 else (1.0 - bound, 1.0)
        details["interval"] = (
            f"{'no' if estimate == 0.0 else 'every'} qualifying ad passes: "
            f"Clopper-Pearson on the effective number of ads ({n_eff:.4g}), "
            "Korn & Graubard (1998)"
        )
    if not low <= estimate <= high:
        # a percentile interval of a skewed ratio can miss its own point estimate
        details["widened"] = (
            f"percentile interval [{low:.6g}, {high:.6g}] widened to hold the estimate "
            f"{estimate:.6g}"
        )
        low, high = min(low, estimate), max(high, estimate)
    return low, high
