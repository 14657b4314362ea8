"""Per-ad VRS shuffle distance over a partitioned impression log, Poisson bootstrap by user.

Each partition is reduced by :func:`varkit.fairness.count_delivery` to per-(ad, user)
group counts; it then emits, per ad, the group totals and the ``(B, K)`` sums of those
counts under Poisson(1) weights keyed on (seed, **user id**, replicate). A user whose rows
fall in several partitions gets the same weight in each, so the sums add up to the
in-memory cluster (user) bootstrap of the whole log, whatever the partitioning. Without
user ids only the per-ad totals are summed and the impressions are resampled at the end
(``Poisson(d_k)``, :func:`varkit.fairness.replicate_counts`).

Everything after the sums is the in-memory code: the point metrics and result fields of
:func:`varkit.fairness.vrs_metrics` (on the merged per-ad counts), the eligible redraw
and noise of :func:`~varkit.fairness.replicate_counts`, and
:func:`~varkit.fairness.summarise_replicates`.

Limits (stated in each result's ``details``): impressions as the unit (reach needs each
user's total over all partitions), soft memberships are not redrawn per replicate, and a
user's weight is shared by the ads it saw (the joint user bootstrap; each ad's interval
is the same in distribution).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from numba import prange

from varkit.checks import resolve_seed
from varkit.engine.reduce import LogSource, map_reduce
from varkit.errors import VarkitError
from varkit.fairness import (
    DeliveryCounts,
    count_delivery,
    count_eligible,
    replicate_counts,
    summarise_replicates,
    vrs_metrics,
)
from varkit.fairness.counts import check_noise_scale
from varkit.fairness.coverage import DEFAULT_TOLERANCE, passes_threshold
from varkit.fairness.uncertainty import _laplace
from varkit.fairness.vrs import check_replicate_memory
from varkit.gpu import _numba_kernels as nk
from varkit.gpu import counter_rng as crng
from varkit.gpu.backend import resolve_device
from varkit.gpu.kernel_cache import cached_njit
from varkit.gpu.replicates import replicate_sums
from varkit.gpu.statistics import LinearProblem
from varkit.io import Column
from varkit.results import Result, ResultSet

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


@cached_njit(parallel=True, fastmath={"reassoc", "contract", "nsz"})
def _segment_poisson_sums(z, offsets, keys, segment, n_segments):  # type: ignore[no-untyped-def]
    """out[s, b, k] = sum over rows i of segment s of W(i, b) z[i, k] (counter_rng weights).

    The engine's kernel sums all rows; per-ad sums in one pass need segments. Rows must
    be sorted by segment. Parallel over segments; within one, each replicate's weights
    go to a small buffer (branch-free, so LLVM vectorises the hash) and then into K dot
    products over the segment's rows, which stay in cache across replicates.
    """
    n_rows, n_cols = z.shape
    n_reps = keys.shape[0]
    out = np.zeros((n_segments, n_reps, n_cols))
    bounds = np.zeros(n_segments + 1, dtype=np.int64)
    for i in range(n_rows):
        bounds[segment[i] + 1] += 1
    for s in range(n_segments):
        bounds[s + 1] += bounds[s]
    z_cols = np.ascontiguousarray(z.T)
    for s in prange(n_segments):
        lo, hi = bounds[s], bounds[s + 1]
        weights = np.empty(hi - lo)
        for b in range(n_reps):
            key = keys[b]
            for i in range(lo, hi):
                weights[i - lo] = nk._poisson_weight(
                    np.uint32(nk._mix64(key + offsets[i]) >> nk._S32)
                )
            for k in range(n_cols):
                acc = 0.0
                for i in range(lo, hi):
                    acc += weights[i - lo] * z_cols[k, i]
                out[s, b, k] = acc
    return out


def _per_ad_replicates(
    members: np.ndarray, users: Any, ads: np.ndarray, seed: int, n_resamples: int, device: str
) -> np.ndarray:
    """(n_ads, B, K) Poisson sums of the per-(ad, user) rows, weights keyed on the user."""
    offsets = crng.unit_offsets(user_keys(users))
    # rows are sorted by ad (count_delivery's table), so factorize's codes are sorted too
    codes, uniques = pd.factorize(ads, sort=False)
    backend = resolve_device(device)
    if not backend.is_gpu:
        keys = crng.replicate_keys(seed, 0, n_resamples)
        return np.asarray(
            _segment_poisson_sums(
                np.ascontiguousarray(members), offsets, keys, codes.astype(np.int64), len(uniques)
            )
        )
    # on a GPU, one engine call per ad (the engine's fused kernel)
    out = np.zeros((len(uniques), n_resamples, members.shape[1]))
    for j in range(len(uniques)):
        rows = np.flatnonzero(codes == j)
        problem = LinearProblem(
            name="group_counts",
            z=np.ascontiguousarray(members[rows]),
            bounds=np.array([0, rows.size], dtype=np.int64),
            unit_ids=user_keys(np.asarray(users)[rows]),
            samples=np.zeros(rows.size, dtype=np.int64),
            combine=lambda s: s,
            n_rows=rows.size,
        )
        out[j] = replicate_sums(
            problem, scheme="poisson", seed=seed, n_resamples=n_resamples, backend=backend
        )
    return out


def ad_partials(
    frame: pd.DataFrame,
    attribute: str,
    groups: tuple[str, ...],
    drop_groups: Sequence[str],
    seed: int,
    n_resamples: int,
    device: str,
) -> AdPartial:
    """One piece's per-ad totals and Poisson replicate sums (the map step), and its info."""
    counts = count_delivery(
        frame, attribute, groups=groups, drop_groups=drop_groups, by_user=n_resamples > 0
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
        replicates = _per_ad_replicates(members, users, ads, seed, n_resamples, device)
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


def _validate_vrs_log(
    unit: str, scheme: str, n_resamples: int, delivered_noise_scale: float
) -> None:
    check_noise_scale(delivered_noise_scale, "`delivered_noise_scale`")
    if unit != "impressions":
        raise VarkitError("the dask engine counts impressions; `unit`='reach' needs pandas.")
    if scheme != "poisson":
        raise VarkitError("the dask engine uses Poisson weights; use scheme='poisson'.")
    if 0 < n_resamples < 10:
        raise VarkitError(
            f"`n_resamples` must be 0 (no interval) or at least 10, got {n_resamples}."
        )


def vrs_log(
    source: str | LogSource,
    eligible: pd.DataFrame,
    attribute: str,
    *,
    threshold: float = 0.10,
    confidence: float = 0.95,
    n_resamples: int = 1000,
    interval: str = "projection",
    eligible_sampling: str = "multinomial",
    delivered_noise_scale: float = 0.0,
    drop_groups: Sequence[str] = ("unknown",),
    estimate: str = "plug-in",
    unit: str = "impressions",
    scheme: str = "poisson",
    random_state: int | None = None,
    device: str = "cpu",
    engine: str = "dask",
    client: Any = None,
) -> ResultSet:
    """:func:`varkit.fairness.vrs_metrics` for a partitioned log (Poisson user bootstrap).

    Parameters are those of ``vrs_metrics``; ``source`` is a path, glob or
    :class:`~varkit.engine.reduce.LogSource` of the impressions log, ``engine`` is
    ``'dask'`` (``client`` for a cluster) or ``'chunks'`` (one process).

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
    _validate_vrs_log(unit, scheme, n_resamples, delivered_noise_scale)
    elig = count_eligible(eligible, attribute, drop_groups=drop_groups)
    groups = elig.groups
    check_replicate_memory(n_resamples, len(groups))
    seed = resolve_seed(random_state)
    if not isinstance(source, LogSource):
        source = LogSource(source)
    columns = [
        Column("ad_id", "label"),
        # counts, unless DP noise made them real numbers (as in ``varkit fairness vrs``)
        Column("impressions", "count" if delivered_noise_scale == 0 else "float"),
        Column("user_id", "label", required=False),
        Column(attribute, "label", required=False),
        Column("p_", "probability", required=False, prefix=True),
    ]
    merged, _ = map_reduce(
        source,
        columns,
        ad_partials,
        merge_ad_partials,
        args=(attribute, groups, tuple(drop_groups), seed, int(n_resamples), device),
        engine=engine,
        client=client,
    )
    info = merged.info
    position = {str(ad): j for j, ad in enumerate(merged.ads)}
    table = pd.DataFrame(
        merged.totals,
        index=pd.Index(merged.ads, dtype=object, name="ad_id"),
        columns=["impressions", *groups],
    )
    counts = DeliveryCounts(attribute, groups, table, bool(info["soft"]), info)
    point = vrs_metrics(
        counts,
        elig,
        attribute,
        threshold=threshold,
        confidence=confidence,
        n_resamples=0,
        delivered_noise_scale=delivered_noise_scale,
        estimate="plug-in",
        drop_groups=drop_groups,
    )
    if n_resamples == 0:
        return point
    rng = np.random.default_rng(seed)
    e_all = np.maximum(elig.counts.to_numpy(dtype=float), 0.0)
    e_noise = elig.noise_scale.to_numpy(dtype=float)
    out: list[Result] = []
    for i, result in enumerate(point):
        j = position.get(result.group["ad_id"])
        if j is None or not np.isfinite(result.estimate):
            out.append(result)
            continue
        total = merged.totals[j]
        sums = None if merged.sums is None else merged.sums[j]
        n_rows = int(merged.rows[j])
        d_clip = np.maximum(total[1:], 0.0)
        if sums is None:  # no user ids: resample impressions from the totals
            d_star, e_star = replicate_counts(
                d_clip[None, :],
                e_all[i],
                clustered=False,
                eligible_sampling=eligible_sampling,
                eligible_noise=e_noise[i],
                delivered_noise=delivered_noise_scale,
                n_resamples=int(n_resamples),
                scheme="poisson",
                random_state=rng,
            )
        else:
            _, e_star = replicate_counts(
                np.zeros((1, len(groups))),
                e_all[i],
                clustered=False,
                eligible_sampling=eligible_sampling,
                eligible_noise=e_noise[i],
                n_resamples=int(n_resamples),
                scheme="poisson",
                random_state=rng,
            )
            d_star = sums.copy()
            if delivered_noise_scale > 0:
                d_star += _laplace(np.asarray(delivered_noise_scale), d_star.shape, rng)
            d_star = np.maximum(d_star, 0.0)
        out.append(
            _with_interval(
                result,
                d_clip,
                e_all[i],
                d_star,
                e_star,
                n_rows,
                sums is not None,
                confidence=confidence,
                threshold=threshold,
                interval=interval,
                estimate=estimate,
                eligible_sampling=eligible_sampling,
                n_resamples=int(n_resamples),
                soft=counts.soft,
            )
        )
    return ResultSet(tuple(out))


def _with_interval(
    result: Result,
    d_clip: np.ndarray,
    e_clip: np.ndarray,
    d_star: np.ndarray,
    e_star: np.ndarray,
    n_rows: int,
    clustered: bool,
    *,
    confidence: float,
    threshold: float,
    interval: str,
    estimate: str,
    eligible_sampling: str,
    n_resamples: int,
    soft: bool,
) -> Result:
    # The same fields as the end of vrs_metrics' per-ad loop (that loop cannot take
    # replicates computed elsewhere; see the scale-out report).
    tolerance = float(result.details.get("tolerance", DEFAULT_TOLERANCE))
    summary = summarise_replicates(
        d_clip,
        e_clip,
        d_star,
        e_star,
        confidence=confidence,
        threshold=threshold,
        tolerance=tolerance,
        interval=interval,
    )
    sd = result.estimate
    chosen = summary["debiased"] if estimate == "debiased" else sd
    details = dict(result.details)
    details.update(
        plug_in=sd,
        debiased=summary["debiased"],
        bias_corrected=summary["bias_corrected"],
        noise_floor=summary["noise_floor"],
        p_under=summary["p_under"],
        n_resamples=n_resamples,
        n_valid_resamples=summary["n_valid"],
        scheme="poisson-users" if clustered else "poisson",
        redraw_membership=False,
        eligible_sampling=eligible_sampling,
        estimate=estimate,
        n_log_rows=n_rows,
    )
    if soft and clustered:
        details["note"] = "soft memberships are not redrawn by the dask engine"
    details["pass"] = bool(passes_threshold(chosen, threshold, tolerance))
    return result.replace(
        estimate=chosen,
        ci_low=min(summary["ci_low"], chosen),
        ci_high=max(summary["ci_high"], chosen),
        confidence=confidence,
        method=f"bootstrap-{'users' if clustered else 'impressions'}-{interval}",
        stderr=summary["stderr"],
        details=details,
    )
