"""A settlement-style compliance report: the share of the log's ads under the bar.

The 2023 DOJ-Meta settlement states its targets as "variance <= 10% for X% of those
advertisements" (91.7% for sex, 81.0% for estimated race/ethnicity by 31 Dec 2023;
``shared/methods/fairness.md`` section 2). The estimand is therefore the share of *the
ads in the log* whose true shuffle distance is at most the bar, not the pass rate of a
hypothetical superpopulation of ads: nothing is uncertain about which ads are in the
log, only whether each of them passes. So the interval comes from each ad's own
uncertainty about passing:

* ``p_a``, the probability that ad ``a`` meets the bar, from its bootstrap replicates
  recentred on its debiased distance (``details["p_under"]`` of
  :func:`~varkit.fairness.metrics.vrs_metrics`; the recentring removes the upward bias
  of the plug-in distance, so ads just under the bar are not pushed over it);
* the number of passing ads is a sum of independent Bernoulli(``p_a``): a
  **Poisson-binomial** count. Its exact distribution is computed by convolution
  (:func:`poisson_binomial_pmf`, ``O(n^2)``) up to ``MAX_EXACT_ADS`` ads; beyond that a
  normal approximation with the Poisson-binomial variance ``sum p_a (1 - p_a)`` is used
  (its error in the quantiles is of order ``1/sqrt(sum p(1-p))``, Volkova 1996), and
  ``details["interval"]`` says which.

The share is ``mean(p_a)`` and its interval the Poisson-binomial quantiles over ``n``.
Unlike a Wilson interval over point decisions, it is narrow when every ad is far from
the bar (``p_a`` near 0 or 1) and wide when many sit on it. It treats the ``p_a`` as
calibrated: it is exact when they are (``tests/fairness/test_compliance.py``), and it
covers less than nominal when many ads sit within about one standard error of the bar
on the same side: each such ad's probability is then pulled towards 1/2 and those
biases add up, which no per-ad probability avoids. With several groups (race) the
recentring still reads such a pile much higher than point decisions on the upward-biased
plug-in distance (40 ads at a true 0.08: 0.71 against 0.60, truth 1); with two groups
(sex), whose plug-in distance is unbiased away from 0, the mean probability reads a pile
a little lower than point decisions (60 ads at a true 0.07: 0.79 against 0.88). The
point-decision share and its Wilson interval are reported beside it for comparison.

Examples
--------
>>> import numpy as np
>>> pmf = poisson_binomial_pmf([0.5, 0.5])
>>> pmf.tolist()
[0.25, 0.5, 0.25]
>>> est, low, high, how = share_interval(np.array([1.0] * 9 + [0.5]), confidence=0.95)
>>> est, low, high, how
(0.95, 0.9, 1.0, 'poisson-binomial-exact')
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm
from statsmodels.stats.proportion import proportion_confint

from varkit.checks import check_confidence, resolve_seed
from varkit.errors import VarkitError, VarkitTypeError
from varkit.fairness.counts import log_columns
from varkit.fairness.coverage import DEFAULT_TOLERANCE, passes_threshold
from varkit.fairness.front_door import Table, _read_calibration, _read_eligible, _read_log
from varkit.fairness.metrics import VrsOptions, checked_eligible, vrs_of_counts
from varkit.io import Column
from varkit.results import Result, ResultSet, make_provenance

__all__ = [
    "DEFAULT_TARGETS",
    "MAX_EXACT_ADS",
    "compliance_report",
    "plot_compliance",
    "poisson_binomial_pmf",
    "share_interval",
]

#: Targets announced for 31 Dec 2023 (DOJ press release, 9 Jan 2023), at the 10% bar.
DEFAULT_TARGETS: Mapping[str, float] = {"sex": 0.917, "race": 0.810}
#: Above this many ads the Poisson-binomial is approximated by a normal law.
MAX_EXACT_ADS = 5000
_QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
_TIER_NOTE = (
    "the settlement's qualifying-volume rule is not public: the impression tiers are "
    "varkit's choice (ads with at least `tier` impressions)"
)


def poisson_binomial_pmf(p: Sequence[float] | np.ndarray) -> np.ndarray:
    """The distribution of a sum of independent Bernoulli(``p_i``): exact, by convolution.

    Returns the probabilities of 0, 1, ..., n successes (``O(n^2)`` operations).

    Examples
    --------
    Equal probabilities give the binomial law:

    >>> from scipy.stats import binom
    >>> import numpy as np
    >>> bool(np.allclose(poisson_binomial_pmf([0.3] * 5), binom.pmf(range(6), 5, 0.3)))
    True
    """
    probs = np.asarray(p, dtype=float).ravel()
    if probs.size and not ((probs >= 0) & (probs <= 1)).all():
        raise VarkitError("`p` must hold probabilities in [0, 1].")
    pmf = np.zeros(probs.size + 1)
    pmf[0] = 1.0
    for i, q in enumerate(probs.tolist()):
        # after i ads, pmf[: i + 1] is the law of their count; add ad i
        pmf[1 : i + 2] = pmf[1 : i + 2] * (1.0 - q) + pmf[: i + 1] * q
        pmf[0] *= 1.0 - q
    return pmf


def share_interval(
    p: np.ndarray, *, confidence: float = 0.95, weights: np.ndarray | None = None
) -> tuple[float, float, float, str]:
    """Share of ads passing and its interval, from each ad's probability of passing.

    Unweighted: ``mean(p)`` and the Poisson-binomial quantiles over ``n`` (exact up to
    ``MAX_EXACT_ADS`` ads, then normal). Weighted (e.g. by impressions): ``sum w p / sum
    w`` with the normal approximation of variance ``sum w^2 p (1 - p) / (sum w)^2``,
    clipped to [0, 1].

    Returns
    -------
    (estimate, ci_low, ci_high, method)

    Examples
    --------
    >>> import numpy as np
    >>> share_interval(np.array([1.0, 1.0, 0.0]))[:3]   # every ad certain: no width
    (0.6666666666666666, 0.6666666666666666, 0.6666666666666666)
    >>> share_interval(np.array([0.5, 0.5]), weights=np.array([1.0, 3.0]))[3]
    'poisson-binomial-normal-weighted'
    """
    check_confidence(confidence)
    probs = np.asarray(p, dtype=float).ravel()
    n = probs.size
    if n == 0:
        return float("nan"), float("nan"), float("nan"), "none"
    alpha = 1.0 - confidence
    if weights is not None:
        w = np.asarray(weights, dtype=float).ravel()
        total = float(w.sum())
        if total <= 0:
            return float("nan"), float("nan"), float("nan"), "none"
        estimate = float(w @ probs / total)
        se = float(np.sqrt((w**2 * probs * (1 - probs)).sum()) / total)
        z = float(norm.ppf(1 - alpha / 2))
        low, high = max(0.0, estimate - z * se), min(1.0, estimate + z * se)
        return estimate, low, high, "poisson-binomial-normal-weighted"
    estimate = float(probs.mean())
    if n <= MAX_EXACT_ADS:
        cdf = np.cumsum(poisson_binomial_pmf(probs))
        # smallest k with P(K <= k) >= alpha/2, and with P(K <= k) >= 1 - alpha/2
        low_k = int(np.searchsorted(cdf, alpha / 2 - 1e-12))
        high_k = int(np.searchsorted(cdf, 1 - alpha / 2 - 1e-12))
        low, high, method = low_k / n, min(high_k, n) / n, "poisson-binomial-exact"
    else:
        se = float(np.sqrt((probs * (1 - probs)).sum()) / n)
        z = float(norm.ppf(1 - alpha / 2))
        low, high = max(0.0, estimate - z * se), min(1.0, estimate + z * se)
        method = "poisson-binomial-normal"
    return estimate, min(low, estimate), max(high, estimate), method


def _verdict(low: float, high: float, target: float) -> str:
    """pass: the whole interval at or above the target; fail: all below; else inconclusive."""
    if not np.isfinite(low):
        return "inconclusive"
    if low >= target:
        return "pass"
    if high < target:
        return "fail"
    return "inconclusive"


def _check_report_options(
    attributes: Sequence[str],
    tiers: Sequence[float],
    bars: Sequence[float],
    targets: Mapping[str, float],
    n_resamples: int,
) -> None:
    if isinstance(attributes, str) or not attributes:
        raise VarkitTypeError("`attributes` must be a non-empty sequence of names.")
    if not tiers or any(not (np.isfinite(t) and t >= 0) for t in tiers):
        raise VarkitError(f"`tiers` must be non-negative impression counts, got {tiers!r}.")
    if not bars or any(not 0 <= b <= 1 for b in bars):
        raise VarkitError(f"`bars` must be distances in [0, 1], got {bars!r}.")
    for name, target in targets.items():
        if not 0 <= target <= 1:
            raise VarkitError(f"`targets` for {name!r} must be a share in [0, 1], got {target}.")
    if isinstance(n_resamples, bool) or int(n_resamples) != n_resamples or n_resamples < 10:
        raise VarkitError(
            "`n_resamples` must be at least 10: each ad's probability of passing comes "
            f"from its bootstrap replicates, got {n_resamples}."
        )


def _per_ad_table(per_ad: ResultSet) -> pd.DataFrame:
    """Distance, impressions and probability of passing of every ad (one bar's run)."""
    return pd.DataFrame(
        {
            "ad_id": [r.group["ad_id"] for r in per_ad],
            "estimate": [r.estimate for r in per_ad],
            "debiased": [r.details.get("debiased", np.nan) for r in per_ad],
            "impressions": [float(r.details.get("impressions", 0.0)) for r in per_ad],
            "p": [r.details.get("p_under", np.nan) for r in per_ad],
            "stderr": [np.nan if r.stderr is None else r.stderr for r in per_ad],
        }
    )


def _share_result(
    table: pd.DataFrame,
    bar: float,
    tier: float,
    group: dict[str, str],
    confidence: float,
    tolerance: float,
) -> Result:
    """One ``compliance_share``: the ads of ``table`` with at least ``tier`` impressions."""
    has_estimate = np.isfinite(table["estimate"].to_numpy()) & np.isfinite(table["p"].to_numpy())
    in_tier = has_estimate & (table["impressions"].to_numpy() >= tier)
    ads = table[in_tier]
    n = len(ads)
    details: dict[str, Any] = {
        "bar": bar,
        "tier": tier,
        "tier_rule": _TIER_NOTE,
        "n_ads": len(table),
        "excluded": {
            "low_volume": int((has_estimate & ~in_tier).sum()),
            "no_estimate": int((~has_estimate).sum()),
        },
        "estimand": "share of the log's ads in the tier whose distance is at most the bar",
    }
    if n == 0:
        details["reason"] = "no ad in the tier has an estimate"
        return Result(
            "compliance_share",
            float("nan"),
            confidence=confidence,
            method="none",
            n=0,
            group=group,
            details=details,
        )
    p = ads["p"].to_numpy()
    estimate, low, high, method = share_interval(p, confidence=confidence)
    weighted = share_interval(p, confidence=confidence, weights=ads["impressions"].to_numpy())
    n_pass = int(passes_threshold(ads["estimate"].to_numpy(), bar, tolerance).sum())
    w_low, w_high = proportion_confint(n_pass, n, alpha=1 - confidence, method="wilson")
    details.update(
        interval=method,
        expected_passing_ads=float(p.sum()),
        uncertain_ads=int(((p > 0.025) & (p < 0.975)).sum()),
        impression_weighted={
            "estimate": weighted[0],
            "ci_low": weighted[1],
            "ci_high": weighted[2],
            "method": weighted[3],
        },
        point_decisions={
            "share": n_pass / n,
            "n_pass": n_pass,
            "wilson": [float(w_low), float(w_high)],
            "note": "plug-in distance <= bar, a binomial over ads: for comparison only",
        },
        distance_quantiles={
            f"q{round(100 * q)}": float(v)
            for q, v in zip(_QUANTILES, np.quantile(ads["estimate"], _QUANTILES), strict=True)
        },
        debiased_quantiles={
            f"q{round(100 * q)}": float(v)
            for q, v in zip(_QUANTILES, np.nanquantile(ads["debiased"], _QUANTILES), strict=True)
        },
    )
    se = float(np.sqrt((p * (1 - p)).sum()) / n)
    return Result(
        "compliance_share",
        estimate,
        low,
        high,
        confidence,
        method,
        n=n,
        stderr=se,
        group=group,
        details=details,
    )


def _stage_result(share: Result, target: float) -> Result:
    """The stage row: the measured share against the target, with the verdict."""
    low, high = share.ci_low, share.ci_high
    verdict = _verdict(
        float("nan") if low is None else low, float("nan") if high is None else high, target
    )
    return share.replace(
        metric="compliance_stage",
        details={
            "target": target,
            "verdict": verdict,
            "rule": "pass if the interval lies at or above the target, fail if below it, "
            "else inconclusive",
            "bar": share.details["bar"],
            "tier": share.details["tier"],
        },
    )


def _months(log: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """The log's calendar months (``YYYY-MM``) and their rows, when it has dates."""
    if "date" not in log.columns:
        return []
    dates = pd.to_datetime(log["date"], errors="coerce")
    if dates.isna().any():
        row = int(np.flatnonzero(dates.isna().to_numpy())[0])
        raise VarkitError(f"`date` of row {row + 1} is not a date: {log['date'].iloc[row]!r}.")
    month = dates.dt.strftime("%Y-%m")
    return [(str(m), log[month == m]) for m in sorted(month.unique())]


def _attribute_results(
    log: pd.DataFrame,
    eligible: pd.DataFrame,
    attribute: str,
    settings: dict[str, Any],
    seed: int,
    label: dict[str, str],
) -> list[Result]:
    """The share rows of one attribute (and window) per tier and bar."""
    out = []
    tiers, bars, several = settings["tiers"], settings["bars"], len(settings["bars"]) > 1
    for bar in bars:
        options = VrsOptions(attribute, threshold=bar, **settings["options"])
        elig = checked_eligible(eligible, options)
        sample = settings["calibration"] if attribute == settings["calibrated"] else None
        # the same seed for every bar: the same replicates, judged against each bar
        table = _per_ad_table(vrs_of_counts(log, elig, options, seed, sample))
        for tier in tiers:
            group = {"attribute": attribute, "tier": f"{tier:g}", **label}
            if several:
                group["bar"] = f"{bar:g}"
            out.append(
                _share_result(
                    table, bar, tier, group, options.confidence, settings["options"]["tolerance"]
                )
            )
    return out


def compliance_report(
    impressions: Table | Sequence[str],
    eligible: Table,
    *,
    attributes: Sequence[str] = ("sex", "race"),
    tiers: Sequence[float] = (300, 1000),
    bars: Sequence[float] = (0.10,),
    targets: Mapping[str, float] = DEFAULT_TARGETS,
    target_bar: float = 0.10,
    confidence: float = 0.95,
    n_resamples: int = 1000,
    unit: str = "impressions",
    drop_groups: Sequence[str] = ("unknown",),
    tolerance: float = DEFAULT_TOLERANCE,
    calibration: Table | None = None,
    calibrated_attribute: str = "race",
    monthly: bool = True,
    random_state: int | np.random.Generator | None = None,
) -> ResultSet:
    """Share of the log's ads whose shuffle distance is at most the bar, per attribute and
    impression tier, with the settlement-stage verdicts and (with dates) per month.

    Parameters
    ----------
    impressions : pandas.DataFrame, path, glob or list of paths
        The delivery log, as for :func:`~varkit.fairness.vrs`; an optional ``date``
        column gives the monthly rows.
    eligible : pandas.DataFrame or path
        The eligible table (every attribute in ``attributes``).
    attributes : sequence of str, default ('sex', 'race')
    tiers : sequence of float, default (300, 1000)
        Impression tiers: a tier's share counts the ads with at least that many
        impressions. The settlement's qualifying-volume rule is not public; these
        defaults are varkit's (``details["tier_rule"]`` says so).
    bars : sequence of float, default (0.10,)
        Per-ad bars on the shuffle distance.
    targets : mapping of str to float, default DEFAULT_TARGETS
        Target shares by attribute (91.7% sex, 81.0% race: the figures for 31 Dec 2023),
        judged at ``target_bar``.
    target_bar : float, default 0.10
        The bar the targets refer to; no stage rows when it is not among ``bars``. Each
        bar's per-ad probabilities come from one run of the per-ad bootstrap with the
        same seed (the same replicates), so the cost grows with the number of bars.
    confidence : float, default 0.95
    n_resamples : int, default 1000
        Bootstrap replicates per ad (at least 10): each ad's probability of passing.
    unit, drop_groups, tolerance
        As for :func:`~varkit.fairness.metrics.vrs_metrics`.
    calibration : pandas.DataFrame or path, optional
        A calibration sample of ``calibrated_attribute`` (see ``vrs_metrics``): that
        attribute's distances are corrected for misclassification.
    calibrated_attribute : str, default 'race'
    monthly : bool, default True
        With a ``date`` column, also the shares of each calendar month's delivery (each
        ad's distance and tier from that month's impressions alone).
    random_state : None, int or numpy.random.Generator
        The seed drawn from it is in the provenance; every run uses it.

    Returns
    -------
    ResultSet
        ``compliance_share`` per (attribute, tier[, bar]): the estimate is the mean of the
        ads' probabilities of passing, the interval the Poisson-binomial one (see the
        module docstring), ``n`` the ads in the tier; ``details`` hold the
        impression-weighted share, the point-decision share with its Wilson interval,
        the low-volume exclusions and the distance quantiles. Then ``compliance_stage``
        per (attribute, tier) with a target (``details["target"]``,
        ``details["verdict"]``: pass / fail / inconclusive on the interval), and with
        dates the ``compliance_share`` rows of each month (``group["month"]``).

    Examples
    --------
    >>> from varkit.datasets.fairness import eligible_example_path, impressions_example_path
    >>> rs = compliance_report(impressions_example_path(), eligible_example_path(),
    ...                        tiers=(100,), n_resamples=50, monthly=False, random_state=0)
    >>> [(r.metric, r.group["attribute"], r.group["tier"]) for r in rs][:3]
    [('compliance_share', 'sex', '100'), ('compliance_share', 'race', '100'), \
('compliance_stage', 'sex', '100')]
    >>> rs[2].details["verdict"] in ("pass", "fail", "inconclusive")
    True
    """
    _check_report_options(attributes, tiers, bars, targets, n_resamples)
    check_confidence(confidence)
    seed = resolve_seed(random_state)
    columns = [*log_columns(attributes[0]), Column("date", "label", required=False)]
    columns += [Column(a, "label", required=False) for a in attributes[1:]]
    log = _read_log(impressions, columns)
    table = _read_eligible(eligible)
    settings = {
        "tiers": [float(t) for t in tiers],
        "bars": [float(b) for b in bars],
        "options": {
            "confidence": confidence,
            "n_resamples": int(n_resamples),
            "unit": unit,
            "drop_groups": drop_groups,
            "tolerance": tolerance,
        },
        "calibration": None
        if calibration is None
        else _read_calibration(calibration, calibrated_attribute),
        "calibrated": calibrated_attribute,
    }
    shares: list[Result] = []
    for attribute in attributes:
        shares.extend(_attribute_results(log, table, attribute, settings, seed, {}))
    stages = [
        _stage_result(r, float(targets[r.group["attribute"]]))
        for r in shares
        if r.group["attribute"] in targets and abs(r.details["bar"] - target_bar) <= 1e-12
    ]
    monthly_rows: list[Result] = []
    for month, part in _months(log) if monthly else []:
        for attribute in attributes:
            monthly_rows.extend(
                _attribute_results(part, table, attribute, settings, seed, {"month": month})
            )
    provenance = make_provenance(
        function="varkit.fairness.compliance_report",
        inputs=[os.fspath(x) for x in (impressions, eligible) if isinstance(x, (str, os.PathLike))],
        seed=seed,
        device="cpu",
    )
    return ResultSet(tuple(shares + stages + monthly_rows), provenance)


def plot_compliance(results: ResultSet, *, targets: Mapping[str, float] | None = None) -> Any:
    """Plot a :func:`compliance_report`: the share per month with its band (or per tier).

    One panel per attribute; each tier is a line (months, with the interval as a band)
    or, without monthly rows, a point with its interval; the targets of the stage rows
    (or ``targets``) are dashed lines. Needs matplotlib; returns the figure.

    Examples
    --------
    >>> from varkit.datasets.fairness import eligible_example_path, impressions_example_path
    >>> rs = compliance_report(impressions_example_path(), eligible_example_path(),
    ...                        tiers=(100,), n_resamples=20, random_state=0)
    >>> fig = plot_compliance(rs)
    >>> [ax.get_title() for ax in fig.axes]
    ['sex', 'race']
    """
    from matplotlib.figure import Figure

    shares = [r for r in results if r.metric == "compliance_share"]
    if not shares:
        raise VarkitError("`results` holds no compliance_share results.")
    goal = dict(targets or {})
    for r in results:
        if r.metric == "compliance_stage":
            goal.setdefault(r.group["attribute"], r.details["target"])
    attributes = list(dict.fromkeys(r.group["attribute"] for r in shares))
    fig = Figure(figsize=(5 * len(attributes), 3.5))
    axes = fig.subplots(1, len(attributes), squeeze=False)[0]
    monthly = any("month" in r.group for r in shares)
    for ax, attribute in zip(axes, attributes, strict=True):
        rows = [r for r in shares if r.group["attribute"] == attribute]
        rows = [r for r in rows if ("month" in r.group) == monthly]
        for key in dict.fromkeys((r.group["tier"], r.group.get("bar", "")) for r in rows):
            line = [r for r in rows if (r.group["tier"], r.group.get("bar", "")) == key]
            label = f">= {key[0]} impressions" + (f", bar {key[1]}" if key[1] else "")
            x = [r.group.get("month", label) for r in line]
            y = np.array([r.estimate for r in line], dtype=float)
            lo = np.array([np.nan if r.ci_low is None else r.ci_low for r in line], dtype=float)
            hi = np.array([np.nan if r.ci_high is None else r.ci_high for r in line], dtype=float)
            if monthly:
                (drawn,) = ax.plot(x, y, marker="o", label=label)
                ax.fill_between(x, lo, hi, alpha=0.2, color=drawn.get_color())
            else:
                ax.errorbar(x, y, yerr=[y - lo, hi - y], fmt="o", capsize=4, label=label)
        if attribute in goal:
            ax.axhline(goal[attribute], linestyle="--", color="grey", label="target")
        ax.set_title(attribute)
        ax.set_ylim(0, 1.02)
        ax.set_ylabel("share of ads at or under the bar")
        ax.legend(fontsize="small")
    return fig
