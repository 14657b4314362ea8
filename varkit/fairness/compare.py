"""VRS on vs off: paired change in shuffle distance, and who the change came from.

For a paired experiment (the same ads delivered with and without the controller, to
the same user base) :func:`compare_delivery` reports

* per ad and pooled (the unweighted mean over the ads delivered in both arms) the change
  in shuffle distance ``SD_on - SD_off``;
* a **leveling-down decomposition**: with the under-served group of each ad (most
  negative gap ``d_k - e_k`` with the controller off) and its over-served group (most
  positive gap), the ratio ``U / O`` of their impressions moves by
  ``log(U_on / U_off) - log(O_on / O_off)``: the first term is the part of the change
  that came from the under-served group getting more, the second from the over-served
  group getting fewer (leveling down, Imana et al., FAccT 2025, arXiv 2506.16560). Both
  are reported pooled over ads, in impressions and in reach (unique users);
* the change in total reach and, when both logs have a ``cost`` column (spend per row),
  the change in cost per unique user by group.

Intervals come from one **paired bootstrap over users**: every replicate gives each
user id one Poisson(1) weight, applied to that user's rows in every ad and in both arms,
so the dependence between the arms (and between ads sharing users) is kept. The ads are
held fixed (the estimand is the change for these ads); the eligible counts are the same
in both arms, so they are held fixed too. Percentile intervals, widened to hold the
estimate when they miss it (noted in ``details``).

Examples
--------
>>> from varkit.fairness.simulate import simulate_paired
>>> on, off = simulate_paired(n_users=400, n_ads=4, n_rounds=4, random_state=0)
>>> rs = compare_delivery(on.impressions, off.impressions, on.eligible, attribute="sex",
...                       n_resamples=50, random_state=0)
>>> rs[0].metric, rs[0].group
('shuffle_distance_change', {'attribute': 'sex', 'ad_id': 'pooled'})
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from varkit.checks import check_confidence, resolve_seed
from varkit.errors import VarkitError
from varkit.fairness.counts import count_delivery, count_eligible, log_columns
from varkit.fairness.distances import shuffle_distance
from varkit.fairness.front_door import Table, _read_eligible, _read_log
from varkit.io import Column
from varkit.results import Result, ResultSet, make_provenance

__all__ = ["compare_delivery"]

# Bound on the (replicates x users) weights held at once.
_BATCH_CELLS = 1 << 23


@dataclass(frozen=True)
class _Arm:
    """One arm's per-(ad, user) rows: impressions, reach and spend by group."""

    ad: np.ndarray  # each row's ad number
    user: np.ndarray  # each row's user number (shared across arms)
    impressions: np.ndarray  # (rows, K) group impressions
    reach: np.ndarray  # (rows, K) group memberships of the reached user
    spend: np.ndarray | None  # (rows, K) spend by group

    def sums(self, weights: np.ndarray, n_ads: int, what: str) -> np.ndarray:
        """(B, ads, K) weighted sums of ``what`` per ad; ``weights`` is (B, users)."""
        values = getattr(self, what)
        out = np.zeros((len(weights), n_ads, values.shape[1]))
        w = weights[:, self.user]  # (B, rows)
        for a in range(n_ads):
            rows = self.ad == a
            out[:, a, :] = w[:, rows] @ values[rows]
        return out


def _arm(
    log: pd.DataFrame,
    attribute: str,
    groups: Sequence[str],
    drop_groups: Sequence[str],
    ads: pd.Index,
    users: pd.Index,
) -> _Arm:
    counts = count_delivery(log, attribute, groups=groups, drop_groups=drop_groups)
    table = counts.table.reindex(columns=["impressions", *groups], fill_value=0.0)
    ad_ids = table.index.get_level_values(0).astype(str)
    user_ids = table.index.get_level_values(1).astype(str)
    keep = ads.get_indexer(ad_ids) >= 0
    impressions = table[list(groups)].to_numpy()[keep]
    reach = counts.unit_table("reach").reindex(columns=list(groups), fill_value=0.0)
    spend = None
    if "cost" in log.columns:
        cost = log.assign(ad_id=log["ad_id"].astype(str), user_id=log["user_id"].astype(str))
        per_row = cost.groupby(["ad_id", "user_id"])["cost"].sum()
        pairs = pd.MultiIndex.from_arrays([ad_ids, user_ids])
        total = per_row.reindex(pairs).to_numpy(float)
        volume = table["impressions"].to_numpy()
        share = impressions / np.where(volume[keep] > 0, volume[keep], 1.0)[:, None]
        spend = share * np.nan_to_num(total[keep])[:, None]
    return _Arm(
        ads.get_indexer(ad_ids[keep]),
        users.get_indexer(user_ids[keep]),
        impressions,
        reach.to_numpy()[keep],
        spend,
    )


def _interval(
    estimate: float, reps: np.ndarray, confidence: float, details: dict[str, Any]
) -> tuple[float, float]:
    reps = reps[np.isfinite(reps)]
    if reps.size < 2 or not np.isfinite(estimate):
        return float("nan"), float("nan")
    alpha = (1 - confidence) / 2
    low, high = (float(v) for v in np.quantile(reps, [alpha, 1 - alpha]))
    if not low <= estimate <= high:
        details["widened"] = f"percentile interval [{low:.6g}, {high:.6g}] widened"
        low, high = min(low, estimate), max(high, estimate)
    return low, high


def _result(
    metric: str,
    estimate: float,
    reps: np.ndarray,
    group: dict[str, str],
    confidence: float,
    n: int,
    details: dict[str, Any],
) -> Result:
    details = dict(details)
    low, high = _interval(estimate, reps, confidence, details)
    if not np.isfinite(low):
        return Result(
            metric, estimate, confidence=confidence, method="none", n=n, group=group,
            details=details,
        )  # fmt: skip
    finite = reps[np.isfinite(reps)]
    return Result(
        metric,
        estimate,
        low,
        high,
        confidence,
        "paired-bootstrap-users-percentile",
        n=n,
        stderr=float(finite.std(ddof=1)),
        group=group,
        details=details,
    )


def _log_ratio(on: np.ndarray, off: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((on > 0) & (off > 0), np.log(on / off), np.nan)


def _role_sums(totals: np.ndarray, role: np.ndarray) -> np.ndarray:
    """Sum over ads of each ad's ``role`` group: (..., ads, K) -> (...)."""
    picked = totals[..., np.arange(role.size), role]
    return picked.sum(axis=-1)


def _verdict(under: Result, over: Result) -> str:
    """What closed the gap, from the intervals of the two log changes."""
    gained = under.ci_low is not None and under.ci_low > 0
    lost = over.ci_high is not None and over.ci_high < 0
    if gained and lost:
        return "both: the under-served group gained and the over-served group lost"
    if lost:
        return "leveling down: the over-served group lost, the under-served did not gain"
    if gained:
        return "leveling up: the under-served group gained, the over-served did not lose"
    return "inconclusive: neither change is distinguishable from 0"


def _decomposition(
    point: dict[str, np.ndarray],
    reps: dict[str, np.ndarray],
    role: dict[str, np.ndarray],
    label: dict[str, str],
    settings: dict[str, Any],
) -> list[Result]:
    """Pooled log changes of the under- and over-served groups, by unit, with a verdict."""
    out: list[Result] = []
    n_ads = settings["n_ads"]
    for unit in ("impressions", "reach"):
        by_role = {}
        for name, groups in role.items():
            estimate = float(
                _log_ratio(
                    _role_sums(point[f"on_{unit}"], groups),
                    _role_sums(point[f"off_{unit}"], groups),
                )
            )
            replicate = _log_ratio(
                _role_sums(reps[f"on_{unit}"], groups), _role_sums(reps[f"off_{unit}"], groups)
            )
            by_role[name] = _result(
                "log_change",
                estimate,
                replicate,
                {**label, "unit": unit, "role": name},
                settings["confidence"],
                n_ads,
                {"definition": f"log(sum over ads of the {name} group's {unit}, on / off)"},
            )
        under, over = by_role["under-served"], by_role["over-served"]
        shift = under.estimate - over.estimate
        share = -over.estimate / shift if shift else float("nan")
        decomposition = {
            "ratio_shift": shift,
            "from_under_served": under.estimate,
            "from_over_served": -over.estimate,
            "over_served_share": share,
            "verdict": _verdict(under, over),
            "roles": "groups under- and over-served per ad with the controller off",
        }
        out.extend(r.replace(details={**r.details, **decomposition}) for r in (under, over))
    return out


def _changes(
    point: dict[str, np.ndarray],
    reps: dict[str, np.ndarray],
    label: dict[str, str],
    groups: Sequence[str],
    settings: dict[str, Any],
) -> list[Result]:
    """Total reach change and cost per unique user by group (with spend)."""
    confidence, n_ads = settings["confidence"], settings["n_ads"]
    out = [
        _result(
            "reach_change",
            float(point["on_reach"].sum() / point["off_reach"].sum() - 1),
            reps["on_reach"].sum(axis=(1, 2)) / reps["off_reach"].sum(axis=(1, 2)) - 1,
            {**label, "ad_id": "pooled"},
            confidence,
            n_ads,
            {"definition": "unique (ad, user) pairs reached, on / off - 1"},
        )
    ]
    if "on_spend" not in point:
        return out
    for k, group in enumerate(groups):

        def per_user(arm: str, values: dict[str, np.ndarray], k: int = k) -> Any:
            spend = values[f"{arm}_spend"][..., k].sum(axis=-1)
            reach = values[f"{arm}_reach"][..., k].sum(axis=-1)
            with np.errstate(divide="ignore", invalid="ignore"):
                return spend / reach

        estimate = float(per_user("on", point) / per_user("off", point) - 1)
        out.append(
            _result(
                "cost_per_unique_user_change",
                estimate,
                per_user("on", reps) / per_user("off", reps) - 1,
                {**label, "group": group},
                confidence,
                n_ads,
                {
                    "cost_per_unique_user_on": float(per_user("on", point)),
                    "cost_per_unique_user_off": float(per_user("off", point)),
                },
            )
        )
    return out


def _replicates(
    on: _Arm, off: _Arm, n_users: int, n_ads: int, n_resamples: int, seed: int
) -> dict[str, np.ndarray]:
    """Paired replicate sums: the same Poisson(1) weight per user in both arms."""
    rng = np.random.default_rng(seed)
    what = ["impressions", "reach"] + (["spend"] if on.spend is not None else [])
    parts: dict[str, list[np.ndarray]] = {f"{a}_{w}": [] for a in ("on", "off") for w in what}
    batch = max(1, _BATCH_CELLS // max(n_users, 1))
    for start in range(0, n_resamples, batch):
        weights = rng.poisson(1.0, size=(min(batch, n_resamples - start), n_users)).astype(float)
        for arm_name, arm in (("on", on), ("off", off)):
            for w in what:
                parts[f"{arm_name}_{w}"].append(arm.sums(weights, n_ads, w))
    return {key: np.concatenate(value) for key, value in parts.items()}


def compare_delivery(
    on: Table | Sequence[str],
    off: Table | Sequence[str],
    eligible: Table,
    *,
    attribute: str,
    confidence: float = 0.95,
    n_resamples: int = 1000,
    drop_groups: Sequence[str] = ("unknown",),
    random_state: int | np.random.Generator | None = None,
) -> ResultSet:
    """VRS on vs off for the same ads: change in shuffle distance and where it came from.

    Parameters
    ----------
    on, off : pandas.DataFrame, path, glob or list of paths
        The delivery logs with and without the controller (``ad_id``, ``user_id``,
        ``impressions``, the attribute's label or ``p_<group>`` columns; optional
        ``cost``, the spend of each row). The same user ids mean the same users.
    eligible : pandas.DataFrame or path
        The eligible table, shared by both arms.
    attribute : str
    confidence : float, default 0.95
    n_resamples : int, default 1000
        Paired bootstrap replicates (at least 10; see the module docstring).
    drop_groups : sequence of str, default ('unknown',)
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    ResultSet
        ``shuffle_distance_change`` pooled (``ad_id`` 'pooled': the unweighted mean of
        ``SD_on - SD_off`` over the ads delivered in both arms) and per ad (with both
        distances in ``details``); ``log_change`` of the under- and over-served groups'
        impressions and reach (``group`` ``unit`` and ``role``; the decomposition and its
        verdict in ``details``); ``reach_change`` (total, ``on / off - 1``); with a
        ``cost`` column, ``cost_per_unique_user_change`` per group.

    Examples
    --------
    >>> from varkit.fairness.simulate import simulate_paired
    >>> on, off = simulate_paired(n_users=400, n_ads=4, n_rounds=4, random_state=0)
    >>> rs = compare_delivery(on.impressions, off.impressions, on.eligible,
    ...                       attribute="race", n_resamples=50, random_state=0)
    >>> [r.group.get("role") for r in rs.select("log_change", unit="impressions")]
    ['under-served', 'over-served']
    """
    check_confidence(confidence)
    if isinstance(n_resamples, bool) or int(n_resamples) != n_resamples or n_resamples < 10:
        raise VarkitError(f"`n_resamples` must be an integer of at least 10, got {n_resamples}.")
    seed = resolve_seed(random_state)
    columns = [*log_columns(attribute), Column("cost", "float", required=False)]
    logs = {name: _read_log(log, columns) for name, log in (("on", on), ("off", off))}
    for name, log in logs.items():
        if "user_id" not in log.columns:
            raise VarkitError(
                f"`{name}` needs a `user_id` column: the paired bootstrap resamples users."
            )
    elig = count_eligible(_read_eligible(eligible), attribute, drop_groups=drop_groups)
    groups = list(elig.groups)
    delivered = [set(logs[name]["ad_id"].astype(str)) for name in ("on", "off")]
    both = [str(a) for a in elig.counts.index if str(a) in delivered[0] & delivered[1]]
    if not both:
        raise VarkitError("`on` and `off` share no delivered ad of the eligible table.")
    if ("cost" in logs["on"].columns) != ("cost" in logs["off"].columns):
        raise VarkitError("`cost` must be in both logs or in neither.")
    ads = pd.Index(both)
    users = pd.Index(pd.unique(pd.concat([logs[n]["user_id"].astype(str) for n in ("on", "off")])))
    arm_on, arm_off = (
        _arm(logs[name], attribute, groups, drop_groups, ads, users) for name in ("on", "off")
    )
    ones = np.ones((1, len(users)))
    point = {
        f"{name}_{w}": arm.sums(ones, len(ads), w)[0]
        for name, arm in (("on", arm_on), ("off", arm_off))
        for w in ("impressions", "reach", "spend")
        if getattr(arm, w) is not None
    }
    reps = _replicates(arm_on, arm_off, len(users), len(ads), int(n_resamples), seed)
    e = elig.counts.loc[both].to_numpy(float)
    label = {"attribute": attribute}
    settings = {"confidence": confidence, "n_ads": len(ads)}
    results = _distance_changes(point, reps, e, ads, label, settings)
    gaps_off = point["off_impressions"] / point["off_impressions"].sum(1, keepdims=True)
    gaps_off = gaps_off - e / e.sum(1, keepdims=True)
    role = {"under-served": gaps_off.argmin(axis=1), "over-served": gaps_off.argmax(axis=1)}
    results += _decomposition(point, reps, role, label, settings)
    results += _changes(point, reps, label, groups, settings)
    excluded = len(elig.counts) - len(both)
    results = [r.replace(details={**r.details, "ads_not_in_both_arms": excluded}) for r in results]
    provenance = make_provenance(
        function="varkit.fairness.compare_delivery",
        inputs=[os.fspath(x) for x in (on, off, eligible) if isinstance(x, (str, os.PathLike))],
        seed=seed,
        device="cpu",
    )
    return ResultSet(tuple(results), provenance)


def _distance_changes(
    point: dict[str, np.ndarray],
    reps: dict[str, np.ndarray],
    e: np.ndarray,
    ads: pd.Index,
    label: dict[str, str],
    settings: dict[str, Any],
) -> list[Result]:
    """Pooled and per-ad ``SD_on - SD_off`` with paired percentile intervals."""
    sd = {
        arm: np.asarray(shuffle_distance(point[f"{arm}_impressions"], e)) for arm in ("on", "off")
    }
    sd_star = {
        arm: np.asarray(shuffle_distance(reps[f"{arm}_impressions"], e[None, :, :]))
        for arm in ("on", "off")
    }
    change, change_star = sd["on"] - sd["off"], sd_star["on"] - sd_star["off"]
    confidence, n_ads = settings["confidence"], settings["n_ads"]
    out = [
        _result(
            "shuffle_distance_change",
            float(change.mean()),
            np.nanmean(change_star, axis=1),
            {**label, "ad_id": "pooled"},
            confidence,
            n_ads,
            {
                "pooled": "unweighted mean over the ads delivered in both arms",
                "mean_on": float(sd["on"].mean()),
                "mean_off": float(sd["off"].mean()),
                "unit": "impressions",
            },
        )
    ]
    for a, ad in enumerate(ads):
        out.append(
            _result(
                "shuffle_distance_change",
                float(change[a]),
                change_star[:, a],
                {**label, "ad_id": str(ad)},
                confidence,
                1,
                {"on": float(sd["on"][a]), "off": float(sd["off"][a]), "unit": "impressions"},
            )
        )
    return out
