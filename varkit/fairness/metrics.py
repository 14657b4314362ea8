"""Per-ad VRS metrics from delivery and eligible logs, and their coverage across ads.

:func:`vrs_metrics` computes, in memory, one :class:`~varkit.results.Result` per ad and
attribute (metric ``shuffle_distance``, grouped by ``ad_id`` and ``attribute``) with the
per-ad bootstrap interval, and the signed gaps, largest gap, KL / Jensen-Shannon,
debiased value, noise floor and probability of being under the threshold in ``details``.
:func:`vrs_coverage` turns those into the settlement's compliance coverage. The front
door :func:`varkit.fairness.vrs` reads files and chooses the engine; every engine ends
here, in :func:`ad_results`: the chunked one hands it each range of ads, the partitioned
one (:mod:`varkit.fairness.logs`) its merged per-ad sums and replicate sums.

The computation splits where the math does: the options are checked once
(:class:`VrsOptions`), the delivered rows are laid out by ad (:class:`AdRows`), every
ad's point metrics are computed at once (:class:`PointMetrics`), and each ad's result is
its point metrics plus, when bootstrapped, the summary of its replicates
(:class:`AdReplicates`, drawn by :class:`RowBootstrap` in memory).

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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
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
from varkit.fairness.misclassification import (
    Calibration,
    check_misclassification,
    corrected_shares,
)
from varkit.fairness.uncertainty import (
    INTERVALS,
    NOISES,
    SCHEMES,
    replicate_counts,
    summarise_replicates,
)
from varkit.results import Result, ResultSet

__all__ = [
    "AdReplicates",
    "AdRows",
    "Correction",
    "PointMetrics",
    "RowBootstrap",
    "VrsOptions",
    "ad_results",
    "check_replicate_memory",
    "check_delivered_ads",
    "checked_eligible",
    "vrs_coverage",
    "vrs_metrics",
    "vrs_of_counts",
]

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


@dataclass(frozen=True)
class VrsOptions:
    """The options of one VRS computation, shared by every engine (see :func:`vrs_metrics`).

    Examples
    --------
    >>> VrsOptions("sex", n_resamples=0).check().n_resamples
    0
    >>> VrsOptions("sex", unit="days").check()
    Traceback (most recent call last):
    ...
    varkit.errors.VarkitError: `unit` must be 'impressions' or 'reach', got 'days'.
    """

    attribute: str
    unit: str = "impressions"
    threshold: float = 0.10
    confidence: float = 0.95
    n_resamples: int = 1000
    scheme: str = "multinomial"
    interval: str = "projection"
    eligible_sampling: str = "multinomial"
    redraw_membership: bool | None = None
    delivered_noise_scale: float = 0.0
    drop_groups: Sequence[str] = ("unknown",)
    estimate: str = "plug-in"
    tolerance: float = DEFAULT_TOLERANCE
    device: str = "cpu"
    noise: str = "laplace"

    @classmethod
    def from_keywords(cls, attribute: str, keywords: Mapping[str, Any]) -> VrsOptions:
        """The options of ``attribute`` given as keyword arguments (names checked).

        Examples
        --------
        >>> VrsOptions.from_keywords("sex", {"n_resamples": 0}).n_resamples
        0
        >>> VrsOptions.from_keywords("sex", {"resamples": 0})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        varkit.errors.VarkitTypeError: `resamples` is not an option of vrs_metrics ...
        """
        known = [f.name for f in dataclasses.fields(cls) if f.name != "attribute"]
        unknown = sorted(set(keywords) - set(known))
        if unknown:
            raise VarkitTypeError(
                f"`{unknown[0]}` is not an option of vrs_metrics (they are: {', '.join(known)})."
            )
        return cls(attribute, **keywords)

    def keywords(self) -> dict[str, Any]:
        """The options but the attribute, as keyword arguments of a method.

        Examples
        --------
        >>> VrsOptions("sex", n_resamples=0).keywords()["n_resamples"]
        0
        """
        fields = dataclasses.fields(self)
        return {f.name: getattr(self, f.name) for f in fields if f.name != "attribute"}

    def check(self) -> VrsOptions:
        """Raise one precise error for the first invalid option; return the options."""
        _validate_vrs(self)
        return self


def _validate_vrs(options: VrsOptions) -> None:
    attribute, n_resamples = options.attribute, options.n_resamples
    if not isinstance(attribute, str) or not attribute:
        raise VarkitTypeError("`attribute` must be a non-empty string such as 'sex' or 'race'.")
    if options.unit not in ("impressions", "reach"):
        raise VarkitError(f"`unit` must be 'impressions' or 'reach', got {options.unit!r}.")
    if not 0 <= options.threshold <= 1:
        raise VarkitError(f"`threshold` must be in [0, 1], got {options.threshold}.")
    check_confidence(options.confidence)
    if isinstance(n_resamples, bool) or int(n_resamples) != n_resamples or n_resamples < 0:
        raise VarkitError(f"`n_resamples` must be a non-negative integer, got {n_resamples}.")
    if 0 < n_resamples < 10:
        raise VarkitError(
            f"`n_resamples` must be 0 (no interval) or at least 10, got {n_resamples}."
        )
    if options.scheme not in SCHEMES:
        raise VarkitError(f"`scheme` must be 'multinomial' or 'poisson', got {options.scheme!r}.")
    if options.interval not in INTERVALS:
        raise VarkitError(
            f"`interval` must be one of {', '.join(INTERVALS)}, got {options.interval!r}."
        )
    if options.eligible_sampling not in ("multinomial", "fixed"):
        raise VarkitError(
            "`eligible_sampling` must be 'multinomial' or 'fixed', got "
            f"{options.eligible_sampling!r}."
        )
    check_noise_scale(options.delivered_noise_scale, "`delivered_noise_scale`")
    if options.device not in ("cpu", "gpu", "auto"):
        raise VarkitError(f"`device` must be 'cpu', 'gpu' or 'auto', got {options.device!r}.")
    if options.estimate not in _ESTIMATES:
        raise VarkitError(f"`estimate` must be 'plug-in' or 'debiased', got {options.estimate!r}.")
    if options.noise not in NOISES:
        raise VarkitError(f"`noise` must be 'laplace' or 'gaussian', got {options.noise!r}.")


def checked_eligible(
    eligible: pd.DataFrame | EligibleCounts, options: VrsOptions
) -> EligibleCounts:
    """Check ``options`` and count the eligible table for their attribute (validation once).

    Examples
    --------
    >>> from varkit.datasets.fairness import load_eligible_example
    >>> checked_eligible(load_eligible_example(), VrsOptions("sex")).groups
    ('female', 'male')
    """
    options.check()
    attribute = options.attribute
    elig = (
        eligible
        if isinstance(eligible, EligibleCounts)
        else count_eligible(eligible, attribute, drop_groups=options.drop_groups)
    )
    if elig.attribute != attribute:
        raise VarkitError(f"`eligible` counts attribute {elig.attribute!r}, not {attribute!r}.")
    check_replicate_memory(options.n_resamples, len(elig.groups))
    return elig


def _delivery_counts(
    impressions: pd.DataFrame | DeliveryCounts, elig: EligibleCounts, options: VrsOptions
) -> DeliveryCounts:
    """The delivered counts of ``impressions`` for the eligible table's groups."""
    attribute = options.attribute
    if not isinstance(impressions, DeliveryCounts):
        return count_delivery(
            impressions,
            attribute,
            groups=elig.groups,
            drop_groups=options.drop_groups,
            allow_negative=options.delivered_noise_scale > 0,
            # point metrics in impressions need per-ad sums only; skipping the per-user
            # reduction (a sort of every (ad, user) pair) makes them several times faster
            by_user=bool(options.n_resamples) or options.unit == "reach",
        )
    if impressions.attribute != attribute:
        raise VarkitError(
            f"`impressions` counts attribute {impressions.attribute!r}, not {attribute!r}."
        )
    extra = sorted(set(impressions.groups) - set(elig.groups))
    if extra:
        raise VarkitError(
            f"`impressions` has group {extra[0]!r}, which the eligible table does not "
            f"list for {attribute!r}."
        )
    return impressions


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


@dataclass(frozen=True)
class AdRows:
    """Delivered rows (users, or ads without user ids) in the unit, grouped by ad.

    ``values`` holds each row's group counts in the unit, ``impressions`` its impressions;
    rows ``starts[j]:stops[j]`` are those of the delivered ad ``ads[j]``. They are what
    the per-ad bootstrap resamples; their per-ad sums are the point metrics' inputs.

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame({"ad_id": ["b", "a", "b"], "user_id": ["u", "v", "w"],
    ...                     "impressions": [1, 2, 3], "sex": ["male", "male", "female"]})
    >>> rows = AdRows.of(count_delivery(log, "sex"), ("female", "male"))
    >>> rows.ads, rows.starts.tolist(), rows.stops.tolist()
    (['a', 'b'], [0, 1], [1, 3])
    """

    values: np.ndarray
    impressions: np.ndarray
    starts: np.ndarray
    stops: np.ndarray
    ads: list[str]
    by_user: bool
    soft: bool

    @classmethod
    def of(cls, counts: DeliveryCounts, groups: Sequence[str], unit: str = "impressions") -> AdRows:
        """The rows of ``counts`` (sorted by ad here if they are not) for ``groups``."""
        if not counts.table.index.get_level_values(0).is_monotonic_increasing:
            counts = dataclasses.replace(counts, table=counts.table.sort_index())
        units_table = counts.unit_table(unit).reindex(columns=list(groups), fill_value=0.0)
        starts, stops, ads = _ad_bounds(units_table.index)
        return cls(
            units_table.to_numpy(),
            counts.table["impressions"].to_numpy(),
            starts,
            stops,
            ads,
            counts.by_user,
            counts.soft,
        )


@dataclass(frozen=True)
class PointMetrics:
    """Every eligible ad's point metrics, computed at once over (ads, K) arrays.

    One pass per quantity over all ads; only the Result objects and the per-ad bootstrap
    are built ad by ad (:func:`ad_results`). Per-ad values are plain Python lists, made
    in bulk: converting NumPy scalars ad by ad cost more than the metrics did.

    Examples
    --------
    >>> from varkit.datasets.fairness import load_impressions_example, load_eligible_example
    >>> options = VrsOptions("sex", n_resamples=0)
    >>> elig = checked_eligible(load_eligible_example(), options)
    >>> rows = AdRows.of(count_delivery(load_impressions_example(), "sex"), elig.groups)
    >>> points = PointMetrics.of(rows, elig)
    >>> len(points.ad_names), round(points.sd[0], 4) == round(vrs_metrics(
    ...     load_impressions_example(), elig, "sex", n_resamples=0)[0].estimate, 4)
    (12, True)
    """

    ad_names: list[str]
    position: np.ndarray  # each eligible ad's delivered-ad number in the rows; -1: none
    d_clip: np.ndarray  # (ads, K) delivered counts, negatives clipped
    e_clip: np.ndarray  # (ads, K) eligible counts, negatives clipped
    e_noise: np.ndarray  # (ads, K) Laplace scales of the eligible counts
    seen: list[bool]
    sd: list[float]
    n_units: list[int]
    passes: list[bool]
    per_ad: dict[str, list[Any]]  # the details' per-ad values, by name
    groups: list[str]
    membership: str
    clustered: bool
    e_clipped: list[list[str]]
    d_clipped: list[list[str]]

    @classmethod
    def of(
        cls,
        rows: AdRows,
        elig: EligibleCounts,
        *,
        threshold: float = 0.10,
        tolerance: float = DEFAULT_TOLERANCE,
    ) -> PointMetrics:
        """Point metrics of the eligible ads from their delivered ``rows``."""
        position = pd.Index(rows.ads).get_indexer(elig.counts.index)
        n_ads, n_groups = len(position), len(elig.groups)
        d_raw = np.zeros((n_ads, n_groups))
        ad_impressions = np.zeros(n_ads)
        n_rows_ad = np.zeros(n_ads, dtype=np.int64)
        seen = position >= 0
        if len(rows.ads):
            values = rows.values
            row_sums = np.add.reduceat(values, rows.starts, axis=0) if len(values) else values
            d_raw[seen] = row_sums[position[seen]]
            ad_impressions[seen] = np.add.reduceat(rows.impressions, rows.starts)[position[seen]]
            n_rows_ad[seen] = (rows.stops - rows.starts)[position[seen]]
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
        groups = list(elig.groups)
        n_rows_list = n_rows_ad.tolist()
        clustered = rows.by_user
        return cls(
            ad_names=[str(ad) for ad in elig.counts.index.tolist()],
            position=position,
            d_clip=d_clip,
            e_clip=e_clip,
            e_noise=e_noise,
            seen=seen.tolist(),
            sd=sd_all.tolist(),
            # Python ints: an ad's impressions may exceed int64 (rows of up to 2**53 each)
            n_units=(n_rows_list if clustered else [round(v) for v in d_clip.sum(axis=1).tolist()]),
            passes=passes_threshold(sd_all, threshold, tolerance).tolist(),
            per_ad={
                "eligible_noise_scale": e_noise.max(axis=1).tolist(),
                "impressions": ad_impressions.tolist(),
                "n_users": n_rows_list if clustered else [None] * n_ads,
                "delivered_shares": d_shares.tolist(),
                "eligible_shares": e_shares.tolist(),
                "gaps": gap_all.tolist(),
                "max_gap": max_gap_all.tolist(),
                "kl_eligible_delivered": kl_all.tolist(),
                "js_distance": js_all.tolist(),
            },
            groups=groups,
            membership="soft" if rows.soft else "hard",
            clustered=clustered,
            e_clipped=_clipped_groups(groups, e_raw < 0),
            d_clipped=_clipped_groups(groups, d_raw < 0),
        )

    def details(self, i: int, options: VrsOptions) -> dict[str, Any]:
        """The ``details`` every ad's result has, delivered or not."""
        out = {
            "unit": options.unit,
            "membership": self.membership,
            "threshold": options.threshold,
            "tolerance": options.tolerance,
            "groups": list(self.groups),
            "eligible_noise_scale": self.per_ad["eligible_noise_scale"][i],
            "eligible_clipped_groups": self.e_clipped[i],
        }
        if options.noise != "laplace":  # (Laplace, the default, is not written)
            out.update(noise=options.noise, noise_scale_is="standard deviation sigma")
        return out

    def delivered_details(self, i: int, options: VrsOptions) -> dict[str, Any]:
        """The point metrics in the ``details`` of a delivered ad."""
        values = {name: column[i] for name, column in self.per_ad.items()}
        by_group = ("delivered_shares", "eligible_shares", "gaps")
        return {
            "impressions": values["impressions"],
            "n_users": values["n_users"],
            "delivered_noise_scale": options.delivered_noise_scale,
            "delivered_clipped_groups": self.d_clipped[i],
            **{name: dict(zip(self.groups, values[name], strict=True)) for name in by_group},
            "max_gap": values["max_gap"],
            "kl_eligible_delivered": values["kl_eligible_delivered"],
            "js_distance": values["js_distance"],
        }


def _clipped_groups(groups: list[str], negative: np.ndarray) -> list[list[str]]:
    """Per ad, the groups whose (noisy) count was negative and is clipped to 0."""
    flagged: set[int] = set(np.flatnonzero(negative.any(axis=1)).tolist())
    return [_flagged(groups, negative, i, flagged) for i in range(len(negative))]


@dataclass(frozen=True)
class AdReplicates:
    """One ad's bootstrap replicates of its delivered and eligible counts, and their kind.

    ``clustered``: users (True) or impressions were resampled; ``details``: what the
    engine adds to the result's ``details`` (after the summary of the replicates).

    Examples
    --------
    >>> import numpy as np
    >>> reps = AdReplicates(np.ones((20, 2)), np.ones((20, 2)), clustered=True,
    ...                     scheme="poisson")
    >>> reps.delivered.shape, reps.redraw_membership
    ((20, 2), False)
    """

    delivered: np.ndarray  # (B, K)
    eligible: np.ndarray  # (B, K)
    clustered: bool
    scheme: str
    redraw_membership: bool = False
    details: Mapping[str, Any] = field(default_factory=dict)


#: Draws ad ``i``'s replicates given every ad's point metrics.
Draw = Callable[[PointMetrics, int], AdReplicates]


@dataclass(frozen=True)
class RowBootstrap:
    """The in-memory per-ad bootstrap: resample each ad's rows (users, or impressions).

    Called ad by ad in the eligible table's order with one generator, so a seed gives
    the same replicates whether the ads come all at once or range by range.

    Examples
    --------
    >>> import numpy as np
    >>> from varkit.datasets.fairness import load_impressions_example, load_eligible_example
    >>> options = VrsOptions("sex", n_resamples=50)
    >>> elig = checked_eligible(load_eligible_example(), options)
    >>> rows = AdRows.of(count_delivery(load_impressions_example(), "sex"), elig.groups)
    >>> draw = RowBootstrap(rows, options, np.random.default_rng(0))
    >>> draw(PointMetrics.of(rows, elig), 0).delivered.shape
    (50, 2)
    """

    rows: AdRows
    options: VrsOptions
    rng: np.random.Generator

    def __call__(self, points: PointMetrics, i: int) -> AdReplicates:
        rows, options = self.rows, self.options
        clustered = rows.by_user
        wanted = options.redraw_membership
        redraw = (rows.soft if wanted is None else bool(wanted)) and clustered
        j = points.position[i]
        rows_slice = slice(int(rows.starts[j]), int(rows.stops[j]))
        per_row = rows.impressions[rows_slice]
        d_star, e_star = replicate_counts(
            rows.values[rows_slice],
            points.e_clip[i],
            units=per_row if options.unit == "impressions" else (per_row > 0).astype(float),
            clustered=clustered,
            redraw_membership=redraw,
            eligible_sampling=options.eligible_sampling,
            eligible_noise=points.e_noise[i],
            delivered_noise=options.delivered_noise_scale,
            n_resamples=int(options.n_resamples),
            scheme=options.scheme,
            random_state=self.rng,
            device=options.device,
            noise=options.noise,
        )
        return AdReplicates(d_star, e_star, clustered, options.scheme, redraw)


def ad_results(
    points: PointMetrics,
    options: VrsOptions,
    draw: Draw | None,
    correction: Correction | None = None,
) -> ResultSet:
    """One ``shuffle_distance`` result per eligible ad: its point metrics, and its interval.

    ``draw`` gives an ad's replicates (None: point metrics only); ``correction`` corrects
    estimated memberships (:class:`Correction`, in memory only). Every engine finishes
    here, so the results' fields are written in one place.

    Examples
    --------
    >>> from varkit.datasets.fairness import load_impressions_example, load_eligible_example
    >>> options = VrsOptions("sex", n_resamples=0)
    >>> elig = checked_eligible(load_eligible_example(), options)
    >>> log = load_impressions_example()
    >>> rows = AdRows.of(count_delivery(log, "sex", by_user=False), elig.groups)
    >>> rs = ad_results(PointMetrics.of(rows, elig), options, None)
    >>> rs == vrs_metrics(log, elig, "sex", n_resamples=0)
    True
    """
    return ResultSet(
        tuple(_ad_result(points, i, options, draw, correction) for i in range(len(points.ad_names)))
    )


def _ad_result(
    points: PointMetrics,
    i: int,
    options: VrsOptions,
    draw: Draw | None,
    correction: Correction | None,
) -> Result:
    label = {"ad_id": points.ad_names[i], "attribute": options.attribute}
    details = points.details(i, options)
    if not points.seen[i]:
        details.update({"impressions": 0.0, "pass": False, "reason": "no delivered impressions"})
        return Result(
            "shuffle_distance", float("nan"), method="none", n=0, group=label, details=details
        )
    details.update(points.delivered_details(i, options))
    if details["eligible_clipped_groups"] or details["delivered_clipped_groups"]:
        details["adjustment"] = "negative noisy counts clipped to 0, shares renormalised"
    sd, n_units = points.sd[i], points.n_units[i]
    if not math.isfinite(sd):
        details.update({"pass": False, "reason": "no mass on one side after clipping"})
        return Result(
            "shuffle_distance", sd, method="none", n=n_units, group=label, details=details
        )
    if draw is None:
        details["pass"] = points.passes[i]
        result = Result(
            "shuffle_distance", sd, method="plug-in", n=n_units, group=label, details=details
        )
        return result if correction is None else correction.result(result, points, i, None, options)
    reps = draw(points, i)
    summary = _summary(points.d_clip[i], points.e_clip[i], reps.delivered, reps.eligible, options)
    chosen, estimates = _estimates(summary, sd, options)
    details.update(
        **estimates,
        n_resamples=int(options.n_resamples),
        n_valid_resamples=summary["n_valid"],
        scheme=reps.scheme,
        redraw_membership=reps.redraw_membership,
        eligible_sampling=options.eligible_sampling,
        estimate=options.estimate,
        **reps.details,
    )
    details["pass"] = bool(passes_threshold(chosen, options.threshold, options.tolerance))
    method = f"bootstrap-{'users' if reps.clustered else 'impressions'}-{options.interval}"
    result = _interval_result(label, chosen, summary, method, n_units, details, options)
    return result if correction is None else correction.result(result, points, i, reps, options)


def _summary(
    delivered: np.ndarray,
    eligible: np.ndarray,
    delivered_star: np.ndarray,
    eligible_star: np.ndarray,
    options: VrsOptions,
) -> dict[str, Any]:
    """:func:`~varkit.fairness.uncertainty.summarise_replicates` with the options'."""
    return summarise_replicates(
        delivered,
        eligible,
        delivered_star,
        eligible_star,
        confidence=options.confidence,
        threshold=options.threshold,
        tolerance=options.tolerance,
        interval=options.interval,
    )


def _estimates(summary: dict[str, Any], sd: float, options: VrsOptions) -> tuple[float, dict]:
    """The reported estimate (plug-in or debiased) and the estimates' details."""
    chosen = summary["debiased"] if options.estimate == "debiased" else sd
    return chosen, {
        "plug_in": sd,
        "debiased": summary["debiased"],
        "bias_corrected": summary["bias_corrected"],
        "noise_floor": summary["noise_floor"],
        "p_under": summary["p_under"],
    }


def _interval_result(
    label: dict[str, str],
    chosen: float,
    summary: dict[str, Any],
    method: str,
    n_units: int | None,
    details: dict[str, Any],
    options: VrsOptions,
) -> Result:
    return Result(
        "shuffle_distance",
        chosen,
        min(summary["ci_low"], chosen),
        max(summary["ci_high"], chosen),
        options.confidence,
        method,
        n=n_units,
        stderr=summary["stderr"],
        group=label,
        details=details,
    )


@dataclass(frozen=True)
class Correction:
    """Misclassification correction of estimated memberships, with its calibration error.

    ``matrix`` is the calibration sample's ``M`` (rows true groups, columns estimated
    ones); ``replicates`` holds one bootstrap ``M`` per replicate (the calibration rows
    redrawn within each true group), so replicate ``b`` of every ad is corrected with
    ``replicates[b]``: the interval carries the calibration's sampling error beside the
    users', labels' and eligible counts'. Only :func:`vrs_of_counts` (the memory engine)
    builds one.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> frame = pd.DataFrame({"race": ["a", "a", "b", "b"], "p_a": [0.9, 0.7, 0.2, 0.3],
    ...                       "p_b": [0.1, 0.3, 0.8, 0.7]})
    >>> correction = Correction.of(frame, VrsOptions("race", n_resamples=10), ("a", "b"),
    ...                            np.random.default_rng(0))
    >>> correction.matrix.round(2).tolist(), correction.replicates.shape
    ([[0.8, 0.2], [0.25, 0.75]], (10, 2, 2))
    """

    matrix: np.ndarray
    replicates: np.ndarray | None
    n_rows: int

    @classmethod
    def of(
        cls,
        calibration: pd.DataFrame | Calibration,
        options: VrsOptions,
        groups: Sequence[str],
        rng: np.random.Generator,
    ) -> Correction:
        """The correction of ``options.attribute`` from a calibration sample."""
        sample = (
            calibration
            if isinstance(calibration, Calibration)
            else Calibration.of(calibration, options.attribute, groups)
        )
        if tuple(sample.groups) != tuple(groups):
            raise VarkitError(
                f"`calibration` has groups {', '.join(sample.groups)}, not the eligible "
                f"table's {', '.join(groups)}."
            )
        matrix = check_misclassification(sample.matrix, len(groups), "`calibration`")
        replicates = (
            sample.replicates(int(options.n_resamples), rng) if options.n_resamples else None
        )
        return cls(matrix, replicates, len(sample.labels))

    def result(
        self,
        uncorrected: Result,
        points: PointMetrics,
        i: int,
        reps: AdReplicates | None,
        options: VrsOptions,
    ) -> Result:
        """Ad ``i``'s corrected result, the uncorrected one kept in ``details``."""
        groups = points.groups
        d_hat = corrected_shares(points.d_clip[i], self.matrix)
        e_hat = corrected_shares(points.e_clip[i], self.matrix)
        sd = float(shuffle_distance(d_hat, e_hat))
        before = uncorrected.details
        kept = ("delivered_shares", "eligible_shares", "gaps", "max_gap", "p_under")
        details = dict(before)
        details["uncorrected"] = {
            "estimate": uncorrected.estimate,
            "ci_low": uncorrected.ci_low,
            "ci_high": uncorrected.ci_high,
            "method": uncorrected.method,
            **{name: before[name] for name in kept if name in before},
        }
        gaps = d_hat - e_hat
        details.update(
            correction="misclassification",
            calibration_rows=self.n_rows,
            delivered_shares=dict(zip(groups, d_hat.tolist(), strict=True)),
            eligible_shares=dict(zip(groups, e_hat.tolist(), strict=True)),
            gaps=dict(zip(groups, gaps.tolist(), strict=True)),
            max_gap=float(np.abs(gaps).max()),
            kl_eligible_delivered=float(kl_divergence(d_hat, e_hat)),
            js_distance=float(js_distance(d_hat, e_hat)),
        )
        method = f"{uncorrected.method}-misclassification-corrected"
        if reps is None or self.replicates is None:
            details["pass"] = bool(passes_threshold(sd, options.threshold, options.tolerance))
            return Result(
                "shuffle_distance",
                sd,
                method=method,
                n=uncorrected.n,
                group=dict(uncorrected.group),
                details=details,
            )
        d_star = corrected_shares(reps.delivered, self.replicates)
        e_star = corrected_shares(reps.eligible, self.replicates)
        summary = _summary(d_hat, e_hat, d_star, e_star, options)
        chosen, estimates = _estimates(summary, sd, options)
        details.update(**estimates, n_valid_resamples=summary["n_valid"])
        details["pass"] = bool(passes_threshold(chosen, options.threshold, options.tolerance))
        group = dict(uncorrected.group)
        return _interval_result(group, chosen, summary, method, uncorrected.n, details, options)


def check_delivered_ads(rows: AdRows, elig: EligibleCounts) -> None:
    """Refuse delivered ads that the eligible table does not list."""
    unknown_ads = sorted(set(rows.ads) - set(elig.counts.index))
    if unknown_ads:
        raise VarkitError(
            f"`impressions` has ad {unknown_ads[0]!r}, which is not in the eligible table "
            f"for {elig.attribute!r} ({len(unknown_ads)} such ads)."
        )


def vrs_of_counts(
    impressions: pd.DataFrame | DeliveryCounts,
    elig: EligibleCounts,
    options: VrsOptions,
    random_state: int | np.random.Generator | None,
    calibration: pd.DataFrame | Calibration | None = None,
) -> ResultSet:
    """:func:`vrs_metrics` with its options checked and the eligible table counted."""
    counts = _delivery_counts(impressions, elig, options)
    if calibration is not None and not counts.soft:
        raise VarkitError(
            f"`calibration` corrects estimated memberships (p_<group> columns), but "
            f"`impressions` holds hard labels in its {options.attribute!r} column."
        )
    rows = AdRows.of(counts, elig.groups, options.unit)
    check_delivered_ads(rows, elig)
    rng = np.random.default_rng(random_state)
    # The calibration's replicates come from a child stream: the uncorrected results
    # (kept in the details) are those of the same seed without calibration.
    correction = None
    if calibration is not None:
        correction = Correction.of(calibration, options, elig.groups, rng.spawn(1)[0])
        if options.redraw_membership is None:
            # Memberships are not posteriors within an audience selected on the true
            # group, so a label redrawn from them is not a draw of its true group; the
            # corrected shares vary with the users drawn (and M), which the user
            # bootstrap resamples. (Redrawing doubled the intervals' width in simulation.)
            options = dataclasses.replace(options, redraw_membership=False)
    points = PointMetrics.of(rows, elig, threshold=options.threshold, tolerance=options.tolerance)
    draw = RowBootstrap(rows, options, rng) if options.n_resamples else None
    return ad_results(points, options, draw, correction)


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
    noise: str = "laplace",
    calibration: pd.DataFrame | None = None,
) -> ResultSet:
    """Shuffle distance of every ad for one attribute, with its per-ad bootstrap interval.

    The in-memory method behind :func:`varkit.fairness.vrs` (which also reads files and
    globs, runs on other engines and adds the compliance coverage).

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
        Scale of DP noise in the delivered counts (see ``noise``); allows negative
        impressions, which are clipped per group, and re-adds the noise in each replicate.
    drop_groups : sequence of str, default ("unknown",)
    estimate : {'plug-in', 'debiased'}, default 'plug-in'
        Which value is the result's ``estimate`` (the other is in ``details``).
    tolerance : float, default 1e-9
        Float tolerance of the pass rule ``SD <= threshold + tolerance``.
    random_state : None, int or numpy.random.Generator
    device : {'cpu', 'gpu', 'auto'}, default 'cpu'
        Where the shared resampling engine sums the resampled users' counts.
    noise : {'laplace', 'gaussian'}, default 'laplace'
        The DP mechanism of ``delivered_noise_scale`` and the eligible ``noise_scale``:
        each scale is the Laplace ``b`` or the Gaussian standard deviation sigma, and
        noise of that law is re-added in each replicate. ``'gaussian'`` is written to
        the results' ``details["noise"]``; to get a scale from a privacy budget (and the
        sensitivity it assumes) see :func:`~varkit.fairness.uncertainty.dp_noise_scale`.
    calibration : pandas.DataFrame, optional
        For an estimated attribute (``p_<group>`` memberships, e.g. BISG race): a
        calibration sample, one row per person with the true group in a column named
        ``attribute`` and the ``p_<group>`` memberships the log would give them. Soft
        counts measure ``M^T s_true`` (:mod:`varkit.fairness.misclassification`), which
        pulls every distance towards 0; with a calibration each ad's delivered and
        eligible shares are corrected by ``M`` (NNLS) before the distance is taken, each
        bootstrap replicate with the ``M`` of a resample of the calibration rows (within
        each true group), so the interval carries the calibration's error too; soft
        memberships are then not redrawn unless ``redraw_membership=True``. The
        result is the corrected one (method ``...-misclassification-corrected``); the
        uncorrected estimate, interval, method and shares are kept in
        ``details["uncorrected"]``. It assumes the memberships depend on delivery and
        eligibility only through the true group (non-differential misclassification);
        a controller that steers on the memberships themselves breaks that.

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

    Examples
    --------
    Two ads, one delivered like its eligible audience and one skewed towards men:

    >>> import pandas as pd
    >>> log = pd.DataFrame({"ad_id": ["a", "a", "b", "b"], "impressions": [50, 50, 20, 80],
    ...                     "sex": ["female", "male", "female", "male"]})
    >>> eligible = pd.DataFrame({"ad_id": ["a", "a", "b", "b"], "attribute": ["sex"] * 4,
    ...                          "group": ["female", "male"] * 2, "eligible": [500] * 4})
    >>> rs = vrs_metrics(log, eligible, "sex", n_resamples=0)
    >>> [(r.group["ad_id"], round(r.estimate, 2), r.details["pass"]) for r in rs]
    [('a', 0.0, True), ('b', 0.3, False)]
    """
    options = VrsOptions(
        attribute=attribute,
        unit=unit,
        threshold=threshold,
        confidence=confidence,
        n_resamples=n_resamples,
        scheme=scheme,
        interval=interval,
        eligible_sampling=eligible_sampling,
        redraw_membership=redraw_membership,
        delivered_noise_scale=delivered_noise_scale,
        drop_groups=drop_groups,
        estimate=estimate,
        tolerance=tolerance,
        device=device,
        noise=noise,
    )
    elig = checked_eligible(eligible, options)
    return vrs_of_counts(impressions, elig, options, random_state, calibration)


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

    Examples
    --------
    >>> from varkit.datasets.fairness import load_impressions_example, load_eligible_example
    >>> per_ad = vrs_metrics(load_impressions_example(), load_eligible_example(), "sex",
    ...                      n_resamples=0)
    >>> cover = vrs_coverage(per_ad, min_impressions=100, random_state=0)
    >>> [(r.metric, r.group["weighting"]) for r in cover][:2]
    [('compliance_coverage', 'ads'), ('compliance_coverage', 'impressions')]
    >>> cover[0].n <= len(per_ad)
    True
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
