"""Per-ad VRS metrics from delivery and eligible logs, and their coverage across ads.

:func:`vrs_metrics` is the front door: one :class:`~varkit.results.Result` per ad and
attribute (metric ``shuffle_distance``, grouped by ``ad_id`` and ``attribute``) with the
per-ad bootstrap interval, and the signed gaps, largest gap, KL / Jensen-Shannon,
debiased value, noise floor and probability of being under the threshold in ``details``.
:func:`vrs_coverage` turns those into the settlement's compliance coverage.

Examples
--------
>>> from varkit.datasets.fairness import load_impressions_example, load_eligible_example
>>> rs = vrs_metrics(load_impressions_example(), load_eligible_example(), "sex",
...                  n_resamples=200, random_state=0)
>>> r = rs[0]
>>> r.metric, sorted(r.group)
('shuffle_distance', ['ad_id', 'attribute'])
>>> bool(r.ci_low <= r.estimate <= r.ci_high)
True
>>> cov = vrs_coverage(rs, min_impressions=100)
>>> cov[0].metric, cov[0].group["weighting"]
('compliance_coverage', 'ads')
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from varkit.checks import check_confidence
from varkit.errors import VarkitError, VarkitTypeError
from varkit.fairness.counts import (
    DeliveryCounts,
    EligibleCounts,
    check_noise_scale,
    count_delivery,
    count_eligible,
)
from varkit.fairness.coverage import DEFAULT_TOLERANCE, compliance_coverage, passes_threshold
from varkit.fairness.distances import (
    js_distance,
    kl_divergence,
    max_gap,
    shares,
    shuffle_distance,
    signed_gaps,
)
from varkit.fairness.uncertainty import (
    INTERVALS,
    SCHEMES,
    replicate_counts,
    summarise_replicates,
)
from varkit.results import Result, ResultSet

__all__ = ["check_replicate_memory", "vrs_coverage", "vrs_metrics"]

_ESTIMATES = ("plug-in", "debiased")
# Memory one ad's bootstrap may hold: a few (n_resamples, groups + 1) float arrays.
MAX_REPLICATE_BYTES = 2 * 2**30


def check_replicate_memory(n_resamples: int, n_groups: int) -> None:
    """Refuse, in one sentence, a per-ad bootstrap that would not fit in memory.

    Examples
    --------
    >>> check_replicate_memory(10**12, 2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    varkit.errors.VarkitError: `n_resamples`=1000000000000 bootstrap replicates of 2 groups ...
    """
    need = 48.0 * int(n_resamples) * (n_groups + 1)
    if need > MAX_REPLICATE_BYTES:
        raise VarkitError(
            f"`n_resamples`={n_resamples} bootstrap replicates of {n_groups} groups would "
            f"need about {need / 2**30:,.1f} GiB per ad, more than the "
            f"{MAX_REPLICATE_BYTES / 2**30:g} GiB allowed; use fewer (1000 to 10000 is "
            "ample for a 95% interval)."
        )


def _checked_eligible(
    eligible: Any, attribute: Any, drop_groups: Sequence[str], *checks: Any
) -> EligibleCounts:
    """Validate the arguments (``checks``: those of :func:`_validate_vrs` after
    ``attribute``) and count the eligible table for ``attribute``."""
    _validate_vrs(attribute, *checks)
    elig = (
        eligible
        if isinstance(eligible, EligibleCounts)
        else count_eligible(eligible, attribute, drop_groups=drop_groups)
    )
    if elig.attribute != attribute:
        raise VarkitError(f"`eligible` counts attribute {elig.attribute!r}, not {attribute!r}.")
    check_replicate_memory(checks[3], len(elig.groups))
    return elig


def _validate_vrs(
    attribute: Any,
    unit: str,
    threshold: float,
    confidence: float,
    n_resamples: int,
    scheme: str,
    interval: str,
    eligible_sampling: str,
    delivered_noise_scale: float,
    estimate: str,
    device: str,
) -> None:
    if not isinstance(attribute, str) or not attribute:
        raise VarkitTypeError("`attribute` must be a non-empty string such as 'sex' or 'race'.")
    if unit not in ("impressions", "reach"):
        raise VarkitError(f"`unit` must be 'impressions' or 'reach', got {unit!r}.")
    if not 0 <= threshold <= 1:
        raise VarkitError(f"`threshold` must be in [0, 1], got {threshold}.")
    check_confidence(confidence)
    if isinstance(n_resamples, bool) or int(n_resamples) != n_resamples or n_resamples < 0:
        raise VarkitError(f"`n_resamples` must be a non-negative integer, got {n_resamples}.")
    if 0 < n_resamples < 10:
        raise VarkitError(
            f"`n_resamples` must be 0 (no interval) or at least 10, got {n_resamples}."
        )
    if scheme not in SCHEMES:
        raise VarkitError(f"`scheme` must be 'multinomial' or 'poisson', got {scheme!r}.")
    if interval not in INTERVALS:
        raise VarkitError(f"`interval` must be one of {', '.join(INTERVALS)}, got {interval!r}.")
    if eligible_sampling not in ("multinomial", "fixed"):
        raise VarkitError(
            f"`eligible_sampling` must be 'multinomial' or 'fixed', got {eligible_sampling!r}."
        )
    check_noise_scale(delivered_noise_scale, "`delivered_noise_scale`")
    if device not in ("cpu", "gpu", "auto"):
        raise VarkitError(f"`device` must be 'cpu', 'gpu' or 'auto', got {device!r}.")
    if estimate not in _ESTIMATES:
        raise VarkitError(f"`estimate` must be 'plug-in' or 'debiased', got {estimate!r}.")


def _ad_bounds(index: pd.Index) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Row ranges and names of the ads of a table sorted by ad (level 0)."""
    if isinstance(index, pd.MultiIndex):
        codes = np.asarray(index.codes[0])
        levels = index.levels[0]
    else:
        codes, levels = np.arange(len(index)), index
    if len(codes) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), []
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    stops = np.r_[starts[1:], len(codes)]
    return starts, stops, [str(v) for v in levels.take(codes[starts])]


def _flagged(groups: list[str], mask: np.ndarray, row: int, rows: set[int]) -> list[str]:
    """The groups flagged in one row of a boolean (ads, K) mask; ``rows`` has any flag."""
    if row not in rows:
        return []
    return [g for g, flag in zip(groups, mask[row].tolist(), strict=True) if flag]


def vrs_metrics(
    impressions: pd.DataFrame | DeliveryCounts,
    eligible: pd.DataFrame | EligibleCounts,
    attribute: str,
    *,
    unit: str = "impressions",
    threshold: float = 0.10,
    confidence: float = 0.95,
    n_resamples: int = 1000,
    scheme: str = "multinomial",
    interval: str = "projection",
    eligible_sampling: str = "multinomial",
    redraw_membership: bool | None = None,
    delivered_noise_scale: float = 0.0,
    drop_groups: Sequence[str] = ("unknown",),
    estimate: str = "plug-in",
    tolerance: float = DEFAULT_TOLERANCE,
    random_state: int | np.random.Generator | None = None,
    device: str = "cpu",
) -> ResultSet:
    """Shuffle distance of every ad for one attribute, with its per-ad bootstrap interval.

    Parameters
    ----------
    impressions : pandas.DataFrame or DeliveryCounts
        The delivery log (``ad_id``, ``impressions``, a label column named ``attribute`` or
        ``p_<group>`` probabilities, optional ``user_id``), or its counts already reduced
        in chunks (:func:`~varkit.fairness.counts.count_delivery_chunks`). For the per-ad
        bootstrap of a log larger than memory, see
        :func:`~varkit.fairness.chunked.vrs_metrics_chunks`.
    eligible : pandas.DataFrame or EligibleCounts
        The eligible table (``ad_id``, ``attribute``, ``group``, ``eligible``, optional
        ``noise_scale``).
    attribute : str
        ``sex``, ``race`` ... as named in the eligible table.
    unit : {'impressions', 'reach'}, default 'impressions'
        The settlement counts impressions; reach counts unique users (needs ``user_id``).
    threshold : float, default 0.10
        The per-ad bar; ``details["pass"]`` and ``details["p_under"]`` refer to it.
    confidence : float, default 0.95
    n_resamples : int, default 1000
        Bootstrap replicates per ad; 0 gives point metrics only.
    scheme : {'multinomial', 'poisson'}, default 'multinomial'
        Resampling weights of users (or impressions when there are no user ids).
    interval : {'projection', 'percentile', 'basic'}, default 'projection'
        See :mod:`varkit.fairness.uncertainty`; ``projection`` contains 0 when perfect
        delivery cannot be ruled out.
    eligible_sampling : {'multinomial', 'fixed'}, default 'multinomial'
        Whether eligible counts are a sample (redrawn) or a census (fixed).
    redraw_membership : bool, optional
        Redraw soft group memberships in each replicate (default: when they are soft).
    delivered_noise_scale : float, default 0
        Laplace scale of DP noise in the delivered counts; allows negative impressions,
        which are clipped per group, and re-adds the noise in each replicate.
    drop_groups : sequence of str, default ("unknown",)
    estimate : {'plug-in', 'debiased'}, default 'plug-in'
        Which value is the result's ``estimate`` (the other is in ``details``).
    tolerance : float, default 1e-9
        Float tolerance of the pass rule ``SD <= threshold + tolerance``.
    random_state : None, int or numpy.random.Generator
    device : {'cpu', 'gpu', 'auto'}, default 'cpu'
        Where the shared resampling engine sums the resampled users' counts.

    Returns
    -------
    ResultSet
        One ``shuffle_distance`` result per ad, grouped by ``ad_id`` and ``attribute``. An
        ad listed in ``eligible`` with no impressions gets a NaN estimate and its reason.

    Raises
    ------
    ValueError
        For an ad delivered but absent from the eligible table, a label or probability
        column for a group the eligible table does not list, and the input faults of
        :func:`~varkit.fairness.counts.count_delivery` and ``count_eligible``.
    """
    elig = _checked_eligible(
        eligible,
        attribute,
        drop_groups,
        unit,
        threshold,
        confidence,
        n_resamples,
        scheme,
        interval,
        eligible_sampling,
        delivered_noise_scale,
        estimate,
        device,
    )
    if isinstance(impressions, DeliveryCounts):
        counts = impressions
        if counts.attribute != attribute:
            raise VarkitError(
                f"`impressions` counts attribute {counts.attribute!r}, not {attribute!r}."
            )
        extra = sorted(set(counts.groups) - set(elig.groups))
        if extra:
            raise VarkitError(
                f"`impressions` has group {extra[0]!r}, which the eligible table does not "
                f"list for {attribute!r}."
            )
    else:
        counts = count_delivery(
            impressions,
            attribute,
            groups=elig.groups,
            drop_groups=drop_groups,
            allow_negative=delivered_noise_scale > 0,
            # point metrics in impressions need per-ad sums only; skipping the per-user
            # reduction (a sort of every (ad, user) pair) makes them several times faster
            by_user=bool(n_resamples) or unit == "reach",
        )
    groups = elig.groups
    if not counts.table.index.get_level_values(0).is_monotonic_increasing:
        counts = dataclasses.replace(counts, table=counts.table.sort_index())
    units_table = counts.unit_table(unit).reindex(columns=list(groups), fill_value=0.0)
    impressions_per_row = counts.table["impressions"].to_numpy()
    starts, stops, delivered_ads = _ad_bounds(units_table.index)
    unknown_ads = sorted(set(delivered_ads) - set(elig.counts.index))
    if unknown_ads:
        raise VarkitError(
            f"`impressions` has ad {unknown_ads[0]!r}, which is not in the eligible table "
            f"for {attribute!r} ({len(unknown_ads)} such ads)."
        )
    rng = np.random.default_rng(random_state)
    values = units_table.to_numpy()
    redraw = counts.soft if redraw_membership is None else bool(redraw_membership)
    clustered = counts.by_user
    method = (
        f"bootstrap-{'users' if clustered else 'impressions'}-{interval}"
        if n_resamples
        else "plug-in"
    )
    # Every ad's point metrics at once (one pass per quantity over an (ads, K) array);
    # only the Result objects and the per-ad bootstrap are built in the loop below.
    position = pd.Index(delivered_ads).get_indexer(elig.counts.index)
    n_groups = len(groups)
    d_raw = np.zeros((len(position), n_groups))
    ad_impressions = np.zeros(len(position))
    n_rows_ad = np.zeros(len(position), dtype=np.int64)
    seen = position >= 0
    if len(delivered_ads):
        row_sums = np.add.reduceat(values, starts, axis=0) if len(values) else values
        d_raw[seen] = row_sums[position[seen]]
        ad_impressions[seen] = np.add.reduceat(impressions_per_row, starts)[position[seen]]
        n_rows_ad[seen] = (stops - starts)[position[seen]]
    e_raw = elig.counts.to_numpy(dtype=float)
    e_noise = elig.noise_scale.to_numpy(dtype=float)
    d_clip, e_clip = np.maximum(d_raw, 0.0), np.maximum(e_raw, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        d_shares, e_shares = shares(d_clip), shares(e_clip)
        gap_all = signed_gaps(d_clip, e_clip)
        sd_all = np.atleast_1d(shuffle_distance(d_clip, e_clip))
        max_gap_all = np.atleast_1d(max_gap(d_clip, e_clip))
        kl_all = np.atleast_1d(kl_divergence(d_clip, e_clip))
        js_all = np.atleast_1d(js_distance(d_clip, e_clip))
    # Per-ad values become plain Python lists in bulk here, so the loop below only
    # assembles dicts: converting NumPy scalars ad by ad cost more than the metrics did.
    ad_names = [str(ad) for ad in elig.counts.index.tolist()]
    seen_list = seen.tolist()
    e_noise_max = e_noise.max(axis=1).tolist()
    e_negative, d_negative = e_raw < 0, d_raw < 0
    e_any_negative: set[int] = set(np.flatnonzero(e_negative.any(axis=1)).tolist())
    d_any_negative: set[int] = set(np.flatnonzero(d_negative.any(axis=1)).tolist())
    impressions_list = ad_impressions.tolist()
    n_rows_list = n_rows_ad.tolist()
    # Python ints: an ad's impressions may exceed int64 (rows of up to 2**53 each)
    units_list = n_rows_list if clustered else [round(v) for v in d_clip.sum(axis=1).tolist()]
    d_shares_list, e_shares_list = d_shares.tolist(), e_shares.tolist()
    gaps_list, max_gap_list = gap_all.tolist(), max_gap_all.tolist()
    kl_list, js_list, sd_list = kl_all.tolist(), js_all.tolist(), sd_all.tolist()
    pass_list = passes_threshold(sd_all, threshold, tolerance).tolist()
    group_names = list(groups)
    membership = "soft" if counts.soft else "hard"
    results = []
    for i, ad in enumerate(ad_names):
        label = {"ad_id": ad, "attribute": attribute}
        details: dict[str, Any] = {
            "unit": unit,
            "membership": membership,
            "threshold": threshold,
            "tolerance": tolerance,
            "groups": list(group_names),
            "eligible_noise_scale": e_noise_max[i],
            "eligible_clipped_groups": _flagged(group_names, e_negative, i, e_any_negative),
        }
        if not seen_list[i]:
            results.append(
                Result(
                    "shuffle_distance",
                    float("nan"),
                    method="none",
                    n=0,
                    group=label,
                    details={
                        **details,
                        "impressions": 0.0,
                        "pass": False,
                        "reason": "no delivered impressions",
                    },
                )
            )
            continue
        details.update(
            impressions=impressions_list[i],
            n_users=n_rows_list[i] if clustered else None,
            delivered_noise_scale=delivered_noise_scale,
            delivered_clipped_groups=_flagged(group_names, d_negative, i, d_any_negative),
            delivered_shares=dict(zip(group_names, d_shares_list[i], strict=True)),
            eligible_shares=dict(zip(group_names, e_shares_list[i], strict=True)),
            gaps=dict(zip(group_names, gaps_list[i], strict=True)),
            max_gap=max_gap_list[i],
            kl_eligible_delivered=kl_list[i],
            js_distance=js_list[i],
        )
        if details["eligible_clipped_groups"] or details["delivered_clipped_groups"]:
            details["adjustment"] = "negative noisy counts clipped to 0, shares renormalised"
        sd = sd_list[i]
        n_units = units_list[i]
        if not math.isfinite(sd):
            details.update({"pass": False, "reason": "no mass on one side after clipping"})
            results.append(
                Result(
                    "shuffle_distance", sd, method="none", n=n_units, group=label, details=details
                )
            )
            continue
        if n_resamples == 0:
            details["pass"] = pass_list[i]
            results.append(
                Result(
                    "shuffle_distance", sd, method=method, n=n_units, group=label, details=details
                )
            )
            continue
        rows_slice = slice(int(starts[position[i]]), int(stops[position[i]]))
        rows = values[rows_slice]
        unit_rows = (
            impressions_per_row[rows_slice]
            if unit == "impressions"
            else (impressions_per_row[rows_slice] > 0).astype(float)
        )
        d_star, e_star = replicate_counts(
            rows,
            e_clip[i],
            units=unit_rows,
            clustered=clustered,
            redraw_membership=redraw and clustered,
            eligible_sampling=eligible_sampling,
            eligible_noise=e_noise[i],
            delivered_noise=delivered_noise_scale,
            n_resamples=int(n_resamples),
            scheme=scheme,
            random_state=rng,
            device=device,
        )
        summary = summarise_replicates(
            d_clip[i],
            e_clip[i],
            d_star,
            e_star,
            confidence=confidence,
            threshold=threshold,
            tolerance=tolerance,
            interval=interval,
        )
        chosen = summary["debiased"] if estimate == "debiased" else sd
        details.update(
            plug_in=sd,
            debiased=summary["debiased"],
            bias_corrected=summary["bias_corrected"],
            noise_floor=summary["noise_floor"],
            p_under=summary["p_under"],
            n_resamples=int(n_resamples),
            n_valid_resamples=summary["n_valid"],
            scheme=scheme,
            redraw_membership=redraw and clustered,
            eligible_sampling=eligible_sampling,
            estimate=estimate,
        )
        details["pass"] = bool(passes_threshold(chosen, threshold, tolerance))
        results.append(
            Result(
                "shuffle_distance",
                chosen,
                min(summary["ci_low"], chosen),
                max(summary["ci_high"], chosen),
                confidence,
                method,
                n=n_units,
                stderr=summary["stderr"],
                group=label,
                details=details,
            )
        )
    return ResultSet(tuple(results))


def vrs_coverage(
    results: ResultSet,
    *,
    threshold: float | None = None,
    min_impressions: float = 0,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    random_state: int | np.random.Generator | None = None,
) -> ResultSet:
    """Compliance coverage per attribute of the ads in a :func:`vrs_metrics` result set.

    Parameters
    ----------
    results : ResultSet
        ``shuffle_distance`` results of :func:`vrs_metrics` (one or several attributes).
    threshold : float, optional
        Default: the threshold the per-ad results were computed with.
    min_impressions : float, default 0
    confidence : float, default 0.95
    n_resamples : int, default 2000
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    ResultSet
        For each attribute, the results of
        :func:`~varkit.fairness.coverage.compliance_coverage`.
    """
    if not isinstance(results, ResultSet):
        raise VarkitTypeError(f"`results` must be a ResultSet, got {type(results).__name__}.")
    per_ad = [r for r in results if r.metric == "shuffle_distance" and "ad_id" in r.group]
    if not per_ad:
        raise VarkitError("`results` holds no per-ad shuffle_distance results.")
    out: list[Result] = []
    for attribute in dict.fromkeys(r.group.get("attribute", "") for r in per_ad):
        ads = [r for r in per_ad if r.group.get("attribute", "") == attribute]
        bar = ads[0].details.get("threshold", 0.10) if threshold is None else threshold
        tolerance = ads[0].details.get("tolerance", DEFAULT_TOLERANCE)
        p_under = [r.details.get("p_under", float("nan")) for r in ads]
        out.extend(
            compliance_coverage(
                [r.estimate for r in ads],
                [r.details.get("impressions", 0.0) for r in ads],
                threshold=float(bar),
                min_impressions=min_impressions,
                confidence=confidence,
                tolerance=float(tolerance),
                p_under=None if all(np.isnan(p_under)) else p_under,
                attribute=attribute,
                n_resamples=n_resamples,
                random_state=random_state,
            )
        )
    return ResultSet(tuple(out), results.provenance)
