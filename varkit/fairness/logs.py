"""Per-ad VRS shuffle distance over a partitioned impression log, Poisson bootstrap by user.

The map step: each partition is reduced by :func:`varkit.fairness.count_delivery` to
per-(ad, user) group counts, and gives per ad the group totals and the ``(B, K)`` sums of
those counts under Poisson(1) weights keyed on (seed, **user id**, replicate)
(:func:`varkit.gpu.segments.segment_poisson_sums`). A user whose rows fall in several
partitions gets the same weight in each, so the sums add up to the in-memory cluster
(user) bootstrap of the whole log, whatever the partitioning. Without user ids only the
per-ad totals are summed and the impressions are resampled at the end (``Poisson(d_k)``,
:func:`varkit.fairness.replicate_counts`). The reduce step adds the partials ad by ad
(:func:`merge_ad_partials`); :func:`varkit.engine.map_reduce` runs both.

These sums are all this module computes. The merged per-ad totals are a
:class:`~varkit.fairness.DeliveryCounts` and go through the in-memory code of
:mod:`varkit.fairness.metrics` (the point metrics, and :func:`~varkit.fairness.metrics.
ad_results`, which writes every engine's results); each ad's replicate sums become its
:class:`~varkit.fairness.metrics.AdReplicates`, with the eligible redraw and noise of
:func:`~varkit.fairness.replicate_counts`.

Limits (stated in each result's ``details``): impressions as the unit (reach needs each
user's total over all partitions), soft memberships are not redrawn per replicate, and a
user's weight is shared by the ads it saw (the joint user bootstrap; each ad's interval
is the same in distribution).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from varkit.checks import resolve_seed
from varkit.engine import LogSource, map_reduce
from varkit.errors import VarkitError
from varkit.fairness.counts import DeliveryCounts, count_delivery, log_columns
from varkit.fairness.metrics import (
    AdReplicates,
    AdRows,
    PointMetrics,
    VrsOptions,
    ad_results,
    check_delivered_ads,
    checked_eligible,
)
from varkit.fairness.uncertainty import _dp_noise, replicate_counts
from varkit.gpu.segments import segment_poisson_sums
from varkit.results import ResultSet

__all__ = ["AdPartial", "ad_partials", "merge_ad_partials", "user_keys", "vrs_log"]


class AdPartial(NamedTuple):
    """Per-ad sums of a part of the log, ads sorted; added by :func:`merge_ad_partials`.

    Arrays rather than a dict of per-ad lists: a partial crosses the network as a few
    contiguous buffers (pickle protocol 5), and two partials add with one vectorised
    scatter per array.
    """

    ads: np.ndarray  # (A,) object, sorted ad ids (text)
    totals: np.ndarray  # (A, K + 1): impressions, then per-group totals
    sums: np.ndarray | None  # (A, B, K) Poisson replicate sums, or None
    rows: np.ndarray  # (A,) int64 log rows per ad
    info: dict[str, Any]


def user_keys(values: Any) -> np.ndarray:
    """Stable 64-bit keys of user ids (the text of the id, hashed by pandas' SipHash).

    Text, so that user ``12`` read as a number from Parquet and as text from a CSV get
    the same key, and the same key in every process. The text is hashed as a pandas
    string array (no Python objects per id: about 3x faster than an object array, same
    keys).

    Examples
    --------
    >>> bool((user_keys([12, 7]) == user_keys(["12", "7"])).all())
    True
    >>> import pandas as pd
    >>> ids = pd.Index(["12", "7"], dtype=object)
    >>> bool((user_keys(ids) == pd.util.hash_array(ids.to_numpy())).all())
    True
    """
    text = pd.Index(values)
    if text.dtype != "str":
        if pd.api.types.infer_dtype(text, skipna=False) == "string":  # Python str objects
            text = text.astype("str")
        else:  # numbers (or a mix): their text as NumPy writes it
            text = pd.Index(np.asarray(values).astype(str), dtype="str")
    return np.asarray(pd.util.hash_array(text.array), dtype=np.uint64)


def ad_partials(
    frame: pd.DataFrame, options: VrsOptions, groups: tuple[str, ...], seed: int
) -> AdPartial:
    """One piece's per-ad totals and Poisson replicate sums (the map step), and its info."""
    n_resamples = int(options.n_resamples)
    counts = count_delivery(
        frame,
        options.attribute,
        groups=groups,
        drop_groups=options.drop_groups,
        allow_negative=options.delivered_noise_scale > 0,
        by_user=n_resamples > 0,
    )
    table = counts.table.reindex(columns=["impressions", *groups], fill_value=0.0)
    ads = np.asarray(table.index.get_level_values(0)).astype(str)
    totals = table.groupby(ads, sort=True).sum()
    index = np.asarray(totals.index, dtype=object)
    rows_per_ad = frame["ad_id"].astype(str).value_counts()
    replicates = None
    if n_resamples > 0 and counts.by_user:
        users = table.index.get_level_values(1)
        members = table[list(groups)].to_numpy(dtype=np.float64)
        # rows are sorted by ad (count_delivery's table), so factorize's codes are too
        codes, uniques = pd.factorize(ads, sort=False)
        replicates = segment_poisson_sums(
            members,
            user_keys(users),
            codes,
            len(uniques),
            seed=seed,
            n_resamples=n_resamples,
            device=options.device,
        )
    info = dict(counts.info, soft=counts.soft, by_user=counts.by_user)
    return AdPartial(
        index,
        totals.to_numpy(dtype=np.float64),
        replicates,
        rows_per_ad.reindex(index, fill_value=0).to_numpy(dtype=np.int64),
        info,
    )


def _scatter_add(union: np.ndarray, parts: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    out = np.zeros((union.size, *parts[0][1].shape[1:]), dtype=parts[0][1].dtype)
    for ads, values in parts:
        out[np.searchsorted(union, ads)] += values
    return out


def merge_ad_partials(a: AdPartial, b: AdPartial) -> AdPartial:
    """Add two partials ad by ad (the reduce step), vectorised over ads."""
    if a.info["soft"] != b.info["soft"] or a.info["by_user"] != b.info["by_user"]:
        raise VarkitError(
            "`impressions` files must all have user_id (or none) and the same kind of labels."
        )
    info = {
        k: a.info[k] + b.info[k] for k in ("n_rows", "dropped_impressions", "renormalised_rows")
    }
    info.update(soft=a.info["soft"], by_user=a.info["by_user"])
    if a.ads.size == b.ads.size and bool(np.all(a.ads == b.ads)):  # the same ads: no scatter
        sums = None if a.sums is None or b.sums is None else a.sums + b.sums
        return AdPartial(a.ads, a.totals + b.totals, sums, a.rows + b.rows, info)
    union = np.union1d(a.ads, b.ads).astype(object)
    sums = None
    if a.sums is not None and b.sums is not None:
        sums = _scatter_add(union, [(a.ads, a.sums), (b.ads, b.sums)])
    return AdPartial(
        union,
        _scatter_add(union, [(a.ads, a.totals), (b.ads, b.totals)]),
        sums,
        _scatter_add(union, [(a.ads, a.rows), (b.ads, b.rows)]),
        info,
    )


def _check_log_options(options: VrsOptions) -> None:
    """What the partitioned engine cannot do (before the options every engine checks)."""
    if options.unit != "impressions":
        raise VarkitError("the dask engine counts impressions; `unit`='reach' needs pandas.")
    if options.scheme != "poisson":
        raise VarkitError("the dask engine uses Poisson weights; use scheme='poisson'.")
    if options.redraw_membership:
        raise VarkitError(
            "the dask engine does not redraw soft memberships; `redraw_membership` needs "
            "the memory or chunks engine."
        )


def vrs_log(
    source: str | Sequence[str] | LogSource,
    eligible: pd.DataFrame,
    attribute: str,
    *,
    engine: str = "dask",
    client: Any = None,
    random_state: int | np.random.Generator | None = None,
    **options: Any,
) -> ResultSet:
    """:func:`varkit.fairness.vrs_metrics` for a partitioned log (Poisson user bootstrap).

    The method of :func:`varkit.fairness.vrs` with ``engine="dask"``.

    Parameters
    ----------
    source : str, list of str or LogSource
        A path, glob or :class:`~varkit.engine.LogSource` of the impressions log.
    eligible : pandas.DataFrame
        The eligible table.
    attribute : str
    engine : {'dask', 'chunks'}, default 'dask'
        ``'dask'`` (``client`` for a cluster) or ``'chunks'`` (the pieces one by one in
        this process); the same results.
    client : distributed.Client, optional
    random_state : None, int or numpy.random.Generator
    **options
        The options of ``vrs_metrics``, with ``scheme='poisson'`` (the default here),
        ``unit='impressions'`` and soft memberships not redrawn.

    Returns
    -------
    ResultSet
        One ``shuffle_distance`` result per ad, as ``vrs_metrics``. The same seed gives
        the same intervals for any partitioning, engine and cluster.

    Examples
    --------
    >>> import os, tempfile
    >>> from varkit.datasets.fairness import load_impressions_example, load_eligible_example
    >>> path = os.path.join(tempfile.mkdtemp(), "imp.csv")
    >>> load_impressions_example().to_csv(path, index=False)
    >>> rs = vrs_log(path, load_eligible_example(), "sex", n_resamples=100,
    ...              random_state=0, engine="chunks")
    >>> rs[0].metric, rs[0].details["scheme"]
    ('shuffle_distance', 'poisson-users')
    """
    checked = VrsOptions.from_keywords(attribute, {"scheme": "poisson", **options})
    _check_log_options(checked)
    elig = checked_eligible(eligible, checked)
    seed = resolve_seed(random_state)
    if not isinstance(source, LogSource):
        source = LogSource(source)
    merged, _ = map_reduce(
        source,
        log_columns(attribute, checked.delivered_noise_scale),
        ad_partials,
        merge_ad_partials,
        args=(checked, elig.groups, seed),
        engine=engine,
        client=client,
    )
    table = pd.DataFrame(
        merged.totals,
        index=pd.Index(merged.ads, dtype=object, name="ad_id"),
        columns=["impressions", *elig.groups],
    )
    counts = DeliveryCounts(attribute, elig.groups, table, bool(merged.info["soft"]), merged.info)
    rows = AdRows.of(counts, elig.groups)
    check_delivered_ads(rows, elig)
    points = PointMetrics.of(rows, elig, threshold=checked.threshold, tolerance=checked.tolerance)
    if not checked.n_resamples:
        return ad_results(points, checked, None)
    draw = SumsBootstrap(merged, checked, np.random.default_rng(seed))
    return ad_results(points, checked, draw)


@dataclass(frozen=True)
class SumsBootstrap:
    """Each ad's replicates from the merged partials: its Poisson sums over users, or a
    Poisson redraw of its impressions when the log has no user ids; eligible counts
    redrawn (and noised) as in memory.

    Examples
    --------
    >>> import numpy as np
    >>> partial = AdPartial(np.array(["a"], dtype=object), np.array([[3.0, 1.0, 2.0]]),
    ...                     None, np.array([3]), {"soft": False})
    >>> draw = SumsBootstrap(partial, VrsOptions("sex", n_resamples=10, scheme="poisson"),
    ...                      np.random.default_rng(0))
    >>> elig = pd.DataFrame({"ad_id": ["a", "a"], "attribute": ["sex", "sex"],
    ...                      "group": ["female", "male"], "eligible": [50, 50]})
    >>> counts = DeliveryCounts("sex", ("female", "male"), pd.DataFrame(
    ...     [[3.0, 1.0, 2.0]], index=pd.Index(["a"], name="ad_id"),
    ...     columns=["impressions", "female", "male"]), False)
    >>> points = PointMetrics.of(AdRows.of(counts, ("female", "male")),
    ...                          checked_eligible(elig, draw.options))
    >>> reps = draw(points, 0)
    >>> reps.delivered.shape, reps.scheme, reps.details["n_log_rows"]
    ((10, 2), 'poisson', 3)
    """

    merged: AdPartial
    options: VrsOptions
    rng: np.random.Generator

    @cached_property
    def position(self) -> dict[str, int]:
        """Each merged ad's row in the partial."""
        return {str(ad): j for j, ad in enumerate(self.merged.ads)}

    def __call__(self, points: PointMetrics, i: int) -> AdReplicates:
        options, rng = self.options, self.rng
        j = self.position[points.ad_names[i]]
        total = self.merged.totals[j]
        sums = None if self.merged.sums is None else self.merged.sums[j]
        d_clip = np.maximum(total[1:], 0.0)
        noise = options.delivered_noise_scale
        common: dict[str, Any] = dict(
            clustered=False,
            eligible_sampling=options.eligible_sampling,
            eligible_noise=points.e_noise[i],
            n_resamples=int(options.n_resamples),
            scheme="poisson",
            random_state=rng,
            noise=options.noise,
        )
        if sums is None:  # no user ids: resample impressions from the totals
            d_star, e_star = replicate_counts(
                d_clip[None, :], points.e_clip[i], delivered_noise=noise, **common
            )
        else:
            _, e_star = replicate_counts(np.zeros((1, d_clip.size)), points.e_clip[i], **common)
            d_star = sums.copy()
            if noise > 0:
                d_star += _dp_noise(options.noise, np.asarray(noise), d_star.shape, rng)
            d_star = np.maximum(d_star, 0.0)
        clustered = sums is not None
        details: dict[str, Any] = {"n_log_rows": int(self.merged.rows[j])}
        if self.merged.info["soft"] and clustered:
            details["note"] = "soft memberships are not redrawn by the dask engine"
        return AdReplicates(
            d_star,
            e_star,
            clustered=clustered,
            scheme="poisson-users" if clustered else "poisson",
            details=details,
        )
